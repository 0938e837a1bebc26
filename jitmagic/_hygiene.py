"""Static-argument hygiene: unhashable or unstable statics, churn, ``print`` in a body, budgets.

Everything here runs on the miss path (or on an error), never per cache hit: a hit must
stay as cheap as a bare ``jax.jit`` call.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import inspect
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import ContextDecorator
from typing import Any

import numpy as np

from jitmagic._errors import RecompileLimitError, RecompileWarning

WINDOW = 10  # calls looked at by the churn rule (TensorFlow's retracing window)
STATIC_CHURN = 5  # a static argument with a new value on >= 5 of the last 10 calls
SHAPE_CHURN = 6  # a shape change on most (> half) of the last 10 calls
MAX_WARNINGS = 2  # churn warnings per function
TRACED = object()  # marker: "drop this argument from the static set" in a suggested fix


class ChurnMonitor:
    """Warns (``RecompileWarning``) when one function keeps missing the cache for one reason.

    The lead calls :meth:`on_miss` on every miss; hits cost nothing. Each argument is warned
    about at most once, and a function at most :data:`MAX_WARNINGS` times.
    """

    def __init__(self, *, stacklevel: int = 3) -> None:
        self._changes: dict[tuple[str, str], collections.deque[int]] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._stacklevel = stacklevel
        self.warnings_issued = 0

    def on_miss(
        self,
        call_index: int,
        changed: list[tuple[str, str]],
        distinct_values: dict[str, int],
        compile_seconds_total: float,
        fun_name: str,
    ) -> None:
        """Record the arguments that changed at call ``call_index`` and warn on churn."""
        with self._lock:
            due = []
            for name, kind in changed:
                window = self._changes.setdefault((name, kind), collections.deque(maxlen=WINDOW))
                window.append(call_index)
                recent = sum(1 for i in window if i > call_index - WINDOW)
                limit = STATIC_CHURN if kind == "static" else SHAPE_CHURN
                if recent >= limit and self._may_warn(name):
                    due.append((name, kind, recent))
        for name, kind, recent in due:
            message = _churn_message(
                fun_name, name, kind, recent, distinct_values.get(name), compile_seconds_total
            )
            warnings.warn(message, RecompileWarning, stacklevel=self._stacklevel)

    def _may_warn(self, name: str) -> bool:
        if name in self._warned or self.warnings_issued >= MAX_WARNINGS:
            return False
        self._warned.add(name)
        self.warnings_issued += 1
        return True


def _churn_message(
    fun: str, name: str, kind: str, recent: int, distinct: int | None, seconds: float
) -> str:
    count = f"{distinct} distinct values, " if distinct else ""
    if kind == "static":
        what = f"static argument `{name}` took a new value on {recent} of the last {WINDOW} calls"
        fix = (
            f"if `{name}` is data, pass it traced (drop it from static_argnames / --static); "
            "if it must be static, use a few fixed values"
        )
    else:
        what = f"the shape of `{name}` changed on {recent} of the last {WINDOW} calls"
        fix = f"pad `{name}` to a few fixed sizes (bucketing) so shapes repeat"
    return (
        f"jitmagic: `{fun}` keeps recompiling: {what} ({count}{seconds:.2f} s compiling so far)."
        f"\n  Fix: {fix}."
    )


# -- unhashable / unstable static values -------------------------------------------------


def unhashable_statics(static_values: dict[str, Any]) -> list[str]:
    """Names of static values that ``hash()`` rejects (JAX's error does not name them)."""
    bad = []
    for name, value in static_values.items():
        try:
            hash(value)
        except TypeError:
            bad.append(name)
    return bad


def type_name(value: Any) -> str:
    """A readable type name: ``jax.Array`` rather than ``ArrayImpl``."""
    if type(value).__module__.startswith(("jax", "jaxlib")) and hasattr(value, "shape"):
        return "jax.Array"
    if isinstance(value, np.ndarray):
        return "numpy.ndarray"
    return type(value).__name__


def hashable_fix(name: str, value: Any) -> tuple[str, str, Any]:
    """Suggest a fix for an unhashable static: ``(kind, text, replacement)``.

    ``replacement`` is the value to try instead, or :data:`TRACED` for "make it traced".
    """
    tname = type_name(value)
    if isinstance(value, list):
        return "tuple", f"pass `{name}` as a tuple: tuple({name})", tuple(value)
    if isinstance(value, set):
        return "tuple", f"pass `{name}` as a frozenset: frozenset({name})", frozenset(value)
    if tname in ("jax.Array", "numpy.ndarray"):
        return "traced", f"`{name}` is an array: make it traced (not static)", TRACED
    if isinstance(value, dict):
        text = f"`{name}` is a dict: make it traced (a pytree), or pass a tuple of its items"
        return "traced", text, TRACED
    if dataclasses.is_dataclass(value):
        return (
            "frozen_dataclass",
            f"declare {tname} with @dataclasses.dataclass(frozen=True) so it is hashable",
            None,
        )
    return "hashable", f"give {tname} __hash__ and __eq__, or make `{name}` traced", TRACED


def check_static_hygiene(static_values: dict[str, Any]) -> list[str]:
    """Warnings for statics whose ``__hash__``/``__eq__`` break JAX's cache (jax #28418)."""
    problems = []
    for name, value in static_values.items():
        try:
            first, second = hash(value), hash(value)
        except TypeError:
            continue  # reported as an error by the diagnosis, not here
        if first != second:
            problems.append(
                f"static argument `{name}` ({type(value).__name__}) hashes differently on "
                "each call: every call will recompile."
            )
        try:
            equal = bool(value == value)
        except Exception as exc:  # eq returning an array or raising
            problems.append(f"static argument `{name}`: `{name} == {name}` fails ({exc}).")
            continue
        if not equal:
            problems.append(
                f"static argument `{name}` is not equal to itself ({value!r}): "
                "it can never hit the cache."
            )
    return problems


def static_fingerprints(static_values: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Snapshot of each static value (hash, plus state for identity-hashed objects)."""
    prints = {}
    for name, value in static_values.items():
        try:
            digest: Any = hash(value)
        except TypeError:
            digest = None
        state = None
        if type(value).__hash__ is object.__hash__ and hasattr(value, "__dict__"):
            state = repr(sorted(vars(value).items(), key=lambda kv: kv[0]))[:10_000]
        prints[name] = (digest, state)
    return prints


def check_mutated_after_call(
    before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]
) -> list[str]:
    """Warnings for statics that changed while JAX's cache still holds them (jax #3701, #4712)."""
    return [
        f"static argument `{name}` was mutated after it was used as a static value: the "
        "cached compilation still uses the old value. Use an immutable value "
        "(tuple, frozen dataclass) for static arguments."
        for name, fingerprint in before.items()
        if name in after and after[name] != fingerprint
    ]


# -- print in a jitted body --------------------------------------------------------------


def print_calls(fun: Callable[..., Any]) -> list[int]:
    """File line numbers of ``print(...)`` calls in ``fun``'s source ([] if unavailable)."""
    try:
        lines, first = inspect.getsourcelines(inspect.unwrap(fun))
    except (OSError, TypeError):
        return []
    return print_calls_in_source("".join(lines), first_line=max(first, 1))


def print_calls_in_source(source: str, first_line: int = 1) -> list[int]:
    """Line numbers of ``print(...)`` calls in ``source`` (whose first line is ``first_line``)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    return sorted(
        node.lineno + first_line - 1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    )


# -- compile budget ----------------------------------------------------------------------


class CompileBudget:
    """Counts compiles against ``limit``; raises ``RecompileLimitError`` past it."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"max_compiles needs a limit >= 0, got {limit}")
        self.limit = limit
        self.count = 0

    def note(self, ledger: Any = None, fun_name: str | None = None) -> None:
        """Count one compile; raise if it is over the limit."""
        error = self._count(ledger, fun_name)
        if error is not None:
            raise error

    def _count(self, ledger: Any, fun_name: str | None) -> RecompileLimitError | None:
        self.count += 1
        if self.count <= self.limit:
            return None
        fun_name = fun_name or getattr(ledger, "__name__", None)
        where = f" (of `{fun_name}`)" if fun_name else ""
        details = getattr(ledger, "ledger_text", None)
        return RecompileLimitError(
            f"jitmagic: compile #{self.count}{where} exceeds the budget of "
            f"max_compiles({self.limit})." + (f"\n{details()}" if callable(details) else ""),
            ledger=ledger,
        )


_ACTIVE: list[CompileBudget] = []
_ACTIVE_LOCK = threading.Lock()


class max_compiles(ContextDecorator):  # lower case: reads like a function in `with`
    """``with jitmagic.max_compiles(n):`` -- at most ``n`` compiles inside, in any thread.

    Nested budgets each count every compile; the innermost exceeded one raises.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._local = threading.local()  # one stack per thread: reentrant, thread-safe decorator

    def _stack(self) -> list[CompileBudget]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @property
    def budget(self) -> CompileBudget | None:
        """The budget this thread opened last (None outside the block)."""
        stack = self._stack()
        return stack[-1] if stack else None

    def __enter__(self) -> CompileBudget:
        budget = CompileBudget(self.n)
        self._stack().append(budget)
        with _ACTIVE_LOCK:
            _ACTIVE.append(budget)
        return budget

    def __exit__(self, *exc: object) -> None:
        budget = self._stack().pop()
        with _ACTIVE_LOCK:
            _ACTIVE.remove(budget)


def active_budgets() -> Iterator[CompileBudget]:
    """The budgets currently open (outermost first)."""
    with _ACTIVE_LOCK:
        return iter(list(_ACTIVE))


def note_compile(ledger: Any = None, fun_name: str | None = None) -> None:
    """Count one compile against every open budget (called by the tracked jit's miss path).

    Every budget counts it; the innermost one over its limit raises.
    """
    with _ACTIVE_LOCK:
        errors = [budget._count(ledger, fun_name) for budget in _ACTIVE]
    for error in reversed(errors):
        if error is not None:
            raise error
