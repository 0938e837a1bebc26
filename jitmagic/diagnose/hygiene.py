"""Static-argument hygiene: unhashable or unstable statics, and ``print`` in a jitted body.

Everything here runs on the miss path (or on an error), never per cache hit: a hit must
stay as cheap as a bare ``jax.jit`` call.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np

TRACED = object()  # marker: "drop this argument from the static set" in a suggested fix


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
    if tname in ("jax.Array", "numpy.ndarray") and np.ndim(value) == 0:
        scalar = np.asarray(value).item()
        kind = type(scalar).__name__
        return "python_scalar", f"pass `{name}` as a Python {kind}: {kind}({name})", scalar
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
            try:
                state = repr(sorted(vars(value).items(), key=lambda kv: kv[0]))[:10_000]
            except Exception as err:
                state = f"(unreadable: {type(err).__name__})"
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


def print_calls(fun: Callable[..., Any], kinds: bool = False) -> list[Any]:
    """File line numbers of ``print(...)`` calls in ``fun``'s source ([] if unavailable).

    With ``kinds``, (line, prints-constants-only) pairs instead.
    """
    try:
        lines, first = inspect.getsourcelines(inspect.unwrap(fun))
    except (OSError, TypeError):
        return []
    return print_calls_in_source("".join(lines), first_line=max(first, 1), kinds=kinds)


def print_calls_in_source(source: str, first_line: int = 1, kinds: bool = False) -> list[Any]:
    """Line numbers of ``print(...)`` calls in ``source`` (whose first line is ``first_line``)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    found = sorted(
        (node.lineno + first_line - 1, _constant_print(node))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    )
    return found if kinds else [line for line, _ in found]


def _constant_print(call: ast.Call) -> bool:
    """``print("compiling")``: only literal text, no value (a deliberate trace counter)."""
    return bool(call.args) and all(
        isinstance(a, ast.Constant) or (isinstance(a, ast.JoinedStr) and all(
            isinstance(v, ast.Constant) for v in a.values))
        for a in call.args)
