"""The composition root: `jitmagic.jit` builds a `TrackedFunction` with everything wired in.

The ledger records; diagnosis, post-miss checks and `--autocond` are separate layers that
do not know the ledger's insides. This module plugs them together (and registers the
drawing and dashboard hooks the ledger's records offer), so each layer only ever points
down: api -> diagnose / autocond / graph / dashboard -> ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jitmagic.diagnose.checks import MissChecks
from jitmagic.diagnose.explain import diagnose_failed_call
from jitmagic.diagnose.rebuilt import build_site
from jitmagic.ledger import hooks
from jitmagic.ledger.records import SourceMap
from jitmagic.ledger.tracked import DEFAULT_RETAIN, TrackedFunction

_NO_FUN: Any = object()


def _draw_entry(entry: Any, **options: Any) -> Any:
    from jitmagic.graphs.ledger import graph_of_entry

    return graph_of_entry(entry, **options)


def _draw_call(fn: TrackedFunction, args: tuple, kwargs: dict) -> Any:
    from jitmagic.graphs.ledger import draw_call_hook

    return draw_call_hook(fn, args, kwargs)


def _dashboard(fn: TrackedFunction) -> Any:
    from jitmagic.dashboard.live import Dashboard

    return Dashboard(fn)


hooks.provide("draw_entry", _draw_entry)
hooks.provide("draw_call", _draw_call)
hooks.provide("dashboard", _dashboard)


def tracked(
    fun: Callable,
    *,
    autocond: bool = False,
    max_compiles: int | None = None,
    retain: int = DEFAULT_RETAIN,
    source: SourceMap | None = None,
    **jit_kwargs: Any,
) -> TrackedFunction:
    """A `TrackedFunction` of `fun` with diagnosis, checks and (optionally) autocond.

    Every option is validated here, before anything is traced, so a bad one fails at
    once with a readable message rather than at the first compile.
    """
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")
    checks = MissChecks(max_compiles, site=build_site())
    body = None
    if autocond:
        from jitmagic.autocond import autocond as rewrite

        body = rewrite(fun)
    return TrackedFunction(fun, body=body, retain=retain, source=source,
                           diagnoser=_diagnose, checks=checks, **jit_kwargs)


def _autocond(fun: Callable) -> Callable:
    from jitmagic.autocond import autocond as rewrite

    return rewrite(fun)


def _diagnose(err: BaseException, call: Any) -> BaseException | None:
    """The diagnosis, able to check (by tracing) whether `autocond` would fix the call."""
    return diagnose_failed_call(err, call, autocond=_autocond)


def jit(fun: Callable = _NO_FUN, **kwargs: Any) -> Any:
    """`jax.jit` that keeps a ledger: `@jitmagic.jit`, `@jitmagic.jit(static_argnames=...)`.

    Every `jax.jit` keyword passes through; jitmagic adds `autocond=True` (rewrite a
    Python `if` on a traced value into `lax.cond`), `max_compiles=N` (raise
    `RecompileLimitError` past N compiles) and `retain=N` (entries kept).
    """
    if fun is _NO_FUN:
        return lambda f: tracked(f, **kwargs)
    return tracked(fun, **kwargs)


def graph(fun: Any, *args: Any, **kwargs: Any) -> Any:
    """The jaxpr graph of `fun(*args, **kwargs)` (`static_argnames=`, `depth=`, ...)."""
    if isinstance(fun, TrackedFunction):
        return fun.graph(*args, **kwargs)
    from jitmagic.graphs.build import graph as draw

    return draw(fun, *args, **kwargs)
