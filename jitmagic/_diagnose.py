"""Tracer errors -> the argument at fault, the user's line, and a fix that was traced.

Only called after ``jax.jit(fun)(*args, **kwargs)`` failed, so it may trace a few more
times: once per candidate argument to find the culprit when JAX does not name it (the
argument is closed over as a concrete value), and once to verify the offered static set
(``jax.jit(...).trace``, never a compile). A fix is called "verified" only if that trace
passed. Wording and fix text are in the second half of this module.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import linecache
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from jitmagic import _hygiene
from jitmagic._errors import with_diagnosis

_JAX_DIR = os.path.dirname(jax.__file__)
_SCALARS = (bool, int, float, complex, str, bytes, type(None))
_ARRAYS = (jax.Array, np.ndarray, np.generic)
_MAX_SEARCH = 12  # candidates tried one by one when JAX does not name the argument


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong and what to do about it.

    Attributes:
        cause: 'bool', 'index', 'shape', 'slice', 'mask', 'concrete', 'numpy', 'non_array',
            'unhashable_static' or 'unknown_static'.
        culprits: the arguments the offending value depends on.
        fix_kind: 'static', 'where', 'while_loop', 'fori_loop', 'size', 'debug_print',
            'astype', 'jnp', 'tuple', 'traced', 'frozen_dataclass', 'hashable', 'argname'.
        fix: the suggested change, written for the user's code.
        verified: the fix was applied and the function traced.
        static: the complete static set of a static fix (what was traced).
        lineno, line: the user's line (cell line for a cell) and its text.
        not_helpful: arguments whose being static does not help (checked by tracing).
        text: the full message shown at the start of ``str(exc)``.
    """

    cause: str
    culprits: tuple[str, ...]
    fix_kind: str
    fix: str
    verified: bool
    static: tuple[str, ...] = ()
    lineno: int | None = None
    line: str | None = None
    not_helpful: tuple[str, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text


def diagnose_error(
    err: BaseException,
    *,
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    static_argnums: tuple[int, ...] = (),
    static_argnames: tuple[str, ...] = (),
    jit_kwargs: dict[str, Any] | None = None,
    source_file: str | None = None,
    line_offset: int = 0,
    cell_source: str | None = None,
) -> BaseException | None:
    """Return a diagnosed copy of ``err`` to raise ``from err``, or None if not ours.

    The copy is an instance of ``type(err)``, its ``str()`` starts with the diagnosis, and
    it has a ``.diagnosis`` (:class:`Diagnosis`).
    """
    cause = classify(err)
    if cause is None or hasattr(err, "diagnosis"):
        return None
    try:
        call = _Call(fun, args, kwargs, static_argnums, static_argnames, jit_kwargs or {})
    except TypeError:  # the arguments do not bind: not a tracing problem
        return None
    where = _Where(fun, source_file, line_offset, cell_source, err)
    diagnosis = _explain(cause, err, call, where)
    return with_diagnosis(err, diagnosis.text, diagnosis)


def classify(err: BaseException) -> str | None:
    """Which of the diagnosed situations ``err`` is (see :class:`Diagnosis`), if any."""
    msg = str(err)
    errors = jax.errors
    if isinstance(err, errors.NonConcreteBooleanIndexError):
        return "mask"
    if isinstance(err, errors.TracerBoolConversionError):
        return "bool"
    if isinstance(err, errors.TracerIntegerConversionError):
        return "index"
    if isinstance(err, errors.TracerArrayConversionError):
        return "numpy"
    if isinstance(err, errors.ConcretizationTypeError):
        return "shape" if "jnp.arange" in msg else "concrete"
    if isinstance(err, TypeError) and msg.startswith("Shapes must be 1D sequences"):
        return "shape"
    if isinstance(err, IndexError) and msg.startswith("Slice entries must be static"):
        return "slice"
    if isinstance(err, TypeError) and "as an abstract array" in msg and " at path " in msg:
        return "non_array"
    if isinstance(err, ValueError) and msg.startswith("Non-hashable static arguments"):
        return "unhashable_static"
    if isinstance(err, ValueError) and "has invalid argnames" in msg:
        return "unknown_static"
    return None


def named_arguments(err: BaseException) -> tuple[str, ...]:
    """Arguments named by JAX's "depends on the value(s) of the argument(s) ..." text."""
    match = re.search(r"depends on the values? of the arguments? (.+?)\.?(?:\n|$)", str(err))
    if not match:
        return ()
    return tuple(n for n in re.split(r",\s*|\s+and\s+", match.group(1)) if n.isidentifier())


def staticable(value: Any) -> tuple[bool, Any]:
    """Can ``value`` be static? Returns (ok, the value to pass: 0-d arrays become scalars)."""
    if isinstance(value, _ARRAYS):
        if np.ndim(value) == 0 and not isinstance(value, jax.core.Tracer):
            return True, np.asarray(value).item()
        return False, None
    try:
        hash(value)
    except TypeError:
        return False, None
    return True, value


class _Call:
    """The failed call, re-traceable with a different static set or concrete arguments."""

    def __init__(
        self,
        fun: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        static_argnums: tuple[int, ...],
        static_argnames: tuple[str, ...],
        jit_kwargs: dict[str, Any],
    ) -> None:
        self.fun = fun
        self.sig = inspect.signature(fun)
        self.arguments = dict(self.sig.bind(*args, **kwargs).arguments)
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.positional = [p.name for p in self.sig.parameters.values() if p.kind in kinds]
        nums = {i % max(len(self.positional), 1) for i in _as_tuple(static_argnums)}
        self.static = frozenset(_as_tuple(static_argnames)) | {
            self.positional[i] for i in nums if i < len(self.positional)
        }
        self.jit_kwargs = {
            k: v for k, v in jit_kwargs.items() if k not in ("static_argnums", "static_argnames")
        }

    @property
    def names(self) -> list[str]:
        return list(self.sig.parameters)

    def trace(
        self, static: frozenset[str] | set[str], replace: dict[str, Any] | None = None
    ) -> BaseException | None:
        """Trace with ``static`` as the static set (and some values replaced); the error."""
        arguments = {**self.arguments, **(replace or {})}
        bound = inspect.BoundArguments(self.sig, arguments)  # type: ignore[arg-type]
        params = self.sig.parameters
        names = tuple(
            n for n in static if n in params and params[n].kind != params[n].POSITIONAL_ONLY
        )
        nums = tuple(i for i, n in enumerate(self.positional) if n in static)
        try:
            jitted = jax.jit(self.fun, static_argnums=nums, static_argnames=names, **self.jit_kwargs)
            jitted.trace(*bound.args, **bound.kwargs)
        except Exception as exc:
            return exc
        return None

    def trace_concrete(self, concrete: set[str]) -> BaseException | None:
        """Trace with the ``concrete`` arguments closed over as constants; the error."""
        dynamic = [
            n for n in self.arguments
            if n not in concrete and n not in self.static and _traceable(self.arguments[n])
        ]
        fixed = dict(self.arguments)

        def probe(*values: Any) -> Any:
            arguments = {**fixed, **dict(zip(dynamic, values, strict=True))}
            bound = inspect.BoundArguments(self.sig, arguments)  # type: ignore[arg-type]
            return self.fun(*bound.args, **bound.kwargs)

        try:
            jax.jit(probe).trace(*(self.arguments[n] for n in dynamic))
        except Exception as exc:
            return exc
        return None

    def search_culprits(self, resolves: Callable[[BaseException | None], bool]) -> tuple[str, ...]:
        """Smallest set of arguments that, made concrete, resolves the error (greedy)."""
        candidates = [
            n for n in self.arguments
            if n not in self.static and _traceable(self.arguments[n])
        ][:_MAX_SEARCH]
        for name in candidates:  # the common case: one argument alone
            if resolves(self.trace_concrete({name})):
                return (name,)
        chosen = set(candidates)
        if not resolves(self.trace_concrete(chosen)):
            return ()
        for name in candidates:
            if resolves(self.trace_concrete(chosen - {name})):
                chosen.discard(name)
        return tuple(n for n in candidates if n in chosen)


def _traceable(value: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(
        isinstance(leaf, (*_ARRAYS, int, float, complex, bool)) for leaf in leaves
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (value,)
    return tuple(value)


def user_line(err: BaseException, fun: Callable[..., Any], filename: str | None) -> int | None:
    """Line of the last traceback frame in the user's file, from ``fun``'s frame on.

    Frames before ``fun`` runs (the call site) and JAX's internals are skipped.
    """
    code = getattr(inspect.unwrap(fun), "__code__", None)
    tb, line, inside = err.__traceback__, None, False
    while tb is not None:
        frame_code = tb.tb_frame.f_code
        inside = inside or frame_code is code
        if inside and frame_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
