"""Re-tracing a failed call: with another static set, or with arguments made concrete.

Used only after ``jax.jit(fun)(*args, **kwargs)`` failed, to find the argument at fault when
JAX does not name it and to verify a fix before offering it. Every attempt is a
``jax.jit(...).trace`` (never a compile), so it costs one Python trace of the body.
"""

from __future__ import annotations

import contextlib
import inspect
import io
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jitmagic.arrays import ARRAY_TYPES, is_array_tree
from jitmagic.ledger.signature import resolve_static

_MAX_SEARCH = 12  # candidate arguments tried, at most

Resolves = Callable[[BaseException | None], bool]


def staticable(value: Any, scalars: bool = False) -> tuple[bool, Any]:
    """Can ``value`` be static? Returns (ok, the value to pass).

    With ``scalars``, a 0-d array counts as its Python scalar (a size passed as an array);
    otherwise arrays are data and never static.
    """
    if isinstance(value, ARRAY_TYPES):
        if scalars and np.ndim(value) == 0:
            try:
                return True, np.asarray(value).item()
            except Exception:  # a tracer from an enclosing transformation
                return False, None
        return False, None
    try:
        hash(value)
    except TypeError:
        return False, None
    return True, value


class Call:
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
        nums, names = resolve_static(fun, static_argnums, static_argnames)
        self.static = frozenset(names) | {
            self.positional[i] for i in nums if i < len(self.positional)
        }
        self.autocond: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None
        self.kw = {
            k: v for k, v in jit_kwargs.items() if k not in ("static_argnums", "static_argnames")
        }

    @property
    def names(self) -> list[str]:
        return list(self.sig.parameters)

    def trace(
        self, static: frozenset[str] | set[str], replace: dict[str, Any] | None = None,
        fun: Callable[..., Any] | None = None,
    ) -> BaseException | None:
        """Trace ``fun`` (default: the failed function) with ``static`` static; the error."""
        arguments = {**self.arguments, **(replace or {})}
        bound = inspect.BoundArguments(self.sig, arguments)
        params = self.sig.parameters
        names = tuple(
            n for n in static if n in params and params[n].kind != params[n].POSITIONAL_ONLY
        )
        nums = tuple(i for i, n in enumerate(self.positional) if n in static)
        try:
            jitted = jax.jit(fun or self.fun, static_argnums=nums, static_argnames=names,
                             **self.kw)
            with quiet():
                jitted.trace(*bound.args, **bound.kwargs)
        except Exception as exc:
            return exc
        return None

    def trace_concrete(self, concrete: set[str]) -> BaseException | None:
        """Trace with the ``concrete`` arguments closed over as constants; the error.

        Closed-over arrays become NumPy arrays: ``x > 0`` on a jax Array would still be
        staged into the trace (omnistaging), on a NumPy array it stays concrete.
        """
        dynamic = [
            n
            for n in self.arguments
            if n not in concrete and n not in self.static and is_array_tree(self.arguments[n])
        ]
        fixed = {
            n: jax.tree_util.tree_map(_host, v) if n in concrete else v
            for n, v in self.arguments.items()
        }

        def probe(*values: Any) -> Any:
            arguments = {**fixed, **dict(zip(dynamic, values, strict=True))}
            bound = inspect.BoundArguments(self.sig, arguments)
            return self.fun(*bound.args, **bound.kwargs)

        try:
            with quiet():
                jax.jit(probe).trace(*(self.arguments[n] for n in dynamic))
        except Exception as exc:
            return exc
        return None

    def search_culprits(self, resolves: Resolves) -> tuple[str, ...]:
        """Smallest set of arguments that, made concrete, resolves the error (greedy)."""
        candidates = [
            n for n in self.arguments if n not in self.static and is_array_tree(self.arguments[n])
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


def quiet() -> contextlib.AbstractContextManager[Any]:
    """Re-traces run the user's body again; its ``print`` output was already shown once."""
    return contextlib.redirect_stdout(io.StringIO())


def _host(leaf: Any) -> Any:
    return np.asarray(leaf) if isinstance(leaf, jax.Array) else leaf


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


def widen(
    call: Call,
    culprits: tuple[str, ...],
    scalars: bool,
    resolves: Resolves,
) -> tuple[str, ...]:
    """Add arguments JAX did not name (it names one tracer of ``zeros((n, m))``)."""

    def attempt(names: tuple[str, ...]) -> bool:
        replace = {n: staticable(call.arguments[n], scalars)[1] for n in names}
        return resolves(call.trace(call.static | set(names), replace))

    if attempt(culprits):
        return culprits
    extra = [
        n
        for n in call.arguments
        if n not in call.static and n not in culprits and staticable(call.arguments[n], scalars)[0]
    ][:_MAX_SEARCH]
    if not extra or not attempt(culprits + tuple(extra)):
        return culprits
    for name in list(extra):
        if attempt(culprits + tuple(n for n in extra if n != name)):
            extra.remove(name)
    return tuple(n for n in call.names if n in culprits or n in extra)
