"""TrackedFunction: `jax.jit` with an exact ledger of calls, hits and misses.

The hit path is a C-level forward (see `_forward`): count the call, read JAX's
dispatch-cache size before and after, return. Only when the cache grew does
Python run (`_on_miss`), and only there is a miss *confirmed* from what JAX
actually did on this thread: the user's body ran (a trace, counted by a shim
inside the jitted function) or XLA compiled it (a `jax.monitoring` event). A new
dispatch entry without either (a Python float after a weak-typed array) is not a
miss. Then the signature is built, diffed against the retained entries to name
the reason, and the entry's jaxpr is taken from JAX's trace cache (no re-trace).
"""

from __future__ import annotations

import functools
import itertools
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax

from . import _events
from ._diagnose import diagnose_error
from ._forward import EXTRA_FRAMES, Forwarder
from ._jaxcompat import cache_size_probe
from ._ledger import CacheEntry, Stats
from ._signature import (
    build_signature,
    differences,
    explain_miss,
    output_names,
    resolve_static,
)
from ._watch import MissWatch

DEFAULT_RETAIN = 128
# a warning raised in _on_miss points at the user's call (the C forwarder adds no frame)
_FROM_ON_MISS = 2 + EXTRA_FRAMES
_serials = itertools.count()
_registry: weakref.WeakSet[TrackedFunction] = weakref.WeakSet()


def forget(fun: TrackedFunction) -> None:
    """Drop a replaced function from `%jitstats` (its object may live on in user code)."""
    _registry.discard(fun)


def tracked_functions() -> list[TrackedFunction]:
    """Every live tracked function, oldest first (what `%jitstats` shows)."""
    return sorted(_registry, key=lambda f: f._serial)


@dataclass(frozen=True)
class SourceMap:
    """Where the traced Python came from: a notebook cell or a plain function."""

    source_file: str | None = None
    line_offset: int = 0
    cell_source: str | None = None
    is_cell: bool = False


class TrackedFunction(Forwarder):
    """A `jax.jit`-compiled function that records every cache miss and why it happened.

    Call it exactly like the jitted function. `stats` gives exact counts, `entries`
    one `CacheEntry` per miss (signature, reason, trace/lower/compile seconds, jaxpr),
    `clear()` forgets both the records and JAX's cache for this function.
    """

    def __init__(
        self,
        fun: Callable,
        *,
        autocond: bool = False,
        max_compiles: int | None = None,
        retain: int = DEFAULT_RETAIN,
        source: SourceMap | None = None,
        **jit_kwargs: Any,
    ) -> None:
        body = fun
        if autocond:
            from ._autocond import autocond as rewrite

            body = rewrite(fun)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._fun, self._body = fun, body
        self._jit_kwargs = dict(jit_kwargs)
        self._retain = retain
        self._source = source or SourceMap()
        self._static_argnums, self._static_argnames = resolve_static(
            fun, jit_kwargs.get("static_argnums", ()), jit_kwargs.get("static_argnames", ())
        )
        self._jitted = jax.jit(self._make_shim(body), **jit_kwargs)
        self._watch = MissWatch(max_compiles)
        self._reset_records()
        _events.resume()  # a new tracked function wants its timings, even after %unload_ext
        super().__init__(
            self._jitted, cache_size_probe(self._jitted), self._on_miss, self._on_error
        )
        functools.update_wrapper(self, fun)
        self._serial = next(_serials)
        _registry.add(self)

    # ------------------------------------------------------------------ tracing shim
    def _make_shim(self, body: Callable) -> Callable:
        """The function JAX actually traces: counts body executions on this thread."""
        local = self._local

        @functools.wraps(body)
        def shim(*args: Any, **kwargs: Any) -> Any:
            local.pending = getattr(local, "pending", 0) + 1
            return body(*args, **kwargs)

        shim.__name__ = getattr(self._fun, "__name__", "fun")
        return shim

    def _take_traces(self) -> int:
        pending = getattr(self._local, "pending", 0)
        self._local.pending = 0
        return pending

    def _reset_records(self) -> None:
        self._entries: deque[CacheEntry] = deque(maxlen=self._retain)
        self._misses = self._traces = self._evicted = 0
        self._compile_seconds = 0.0

    # ------------------------------------------------------------------ miss path
    def _on_miss(self, args: tuple, kwargs: dict | None) -> None:
        kwargs = kwargs or {}
        traced = self._take_traces()
        events = _events.drain(self.__name__)
        if not traced and not events.compiled:
            return  # a new dispatch entry, but JAX neither traced nor compiled: a hit
        try:
            entry = self._record_miss(args, kwargs, traced, events)
        except Exception as err:  # a bug of ours must never cost the user the call's result
            with self._lock:
                self._misses += 1
            warnings.warn(f"jitmagic could not record a cache miss of {self.__name__} "
                          f"({type(err).__name__}: {err}); the counts stay exact",
                          RuntimeWarning, stacklevel=_FROM_ON_MISS)
            return
        if entry is not None:
            entry.jaxpr, entry.out_names = self._capture_jaxpr(args, kwargs)
            self._watch.after_miss(self, entry)

    def _record_miss(self, args: tuple, kwargs: dict, traced: int,
                     events: _events.CompileEvents) -> CacheEntry | None:
        """The ledger entry of a confirmed miss (None when it turns out to be a hit)."""
        signature = build_signature(
            self._fun, args, kwargs, self._static_argnums, self._static_argnames
        )
        if not events.compiled and self._known(signature):
            # the counted trace was left by an enclosing transform (grad, vmap, an outer
            # jit) tracing the body; this call only added a dispatch entry: a hit
            return None
        with self._lock:  # counted last, so a failure above is counted once, by the caller
            earlier = [e.signature for e in self._entries]
            reason = explain_miss(signature, earlier)
            entry = CacheEntry(
                index=self._misses,
                call_index=self.calls,
                signature=signature,
                reason=reason.text if earlier or not self._evicted
                else reason.text + " (older entries were evicted)",
                changes=reason.changes,
                traced=traced > 0,
                compiled=events.compiled,
                persistent_cache=_persistent(events),
                trace_s=events.trace_s,
                lower_s=events.lower_s,
                compile_s=events.compile_s,
                owner=self,
            )
            self._compile_seconds += events.trace_s + events.lower_s + events.compile_s
            if len(self._entries) == self._entries.maxlen:
                self._evicted += 1
            self._entries.append(entry)
            self._misses += 1
            self._traces += traced
        return entry

    def _known(self, signature: Any) -> bool:
        with self._lock:
            return any(not differences(e.signature, signature) for e in self._entries)

    def _capture_jaxpr(self, args: tuple, kwargs: dict) -> tuple[Any, list[str]]:
        """The entry's ClosedJaxpr and output names, from JAX's trace cache.

        Array leaves are passed abstractly, so donated buffers are never touched.
        """
        try:
            abstract_args = tuple(
                a if i in self._static_argnums else _abstract(a) for i, a in enumerate(args)
            )
            abstract_kwargs = {
                k: v if k in self._static_argnames else _abstract(v) for k, v in kwargs.items()
            }
            traced = self._jitted.trace(*abstract_args, **abstract_kwargs)
            jaxpr, out_names = traced.jaxpr, output_names(traced.out_info, self._source.is_cell)
        except Exception:
            jaxpr, out_names = None, []
        self._extra_traces(self._take_traces())
        _events.drain(self.__name__)
        return jaxpr, out_names

    def _extra_traces(self, n: int) -> None:
        if n:
            with self._lock:
                self._traces += n

    # ------------------------------------------------------------------ error path
    def _on_error(self, exc: BaseException, args: tuple, kwargs: dict | None) -> Any:
        self._take_traces()
        _events.drain(self.__name__)
        diagnosed = diagnose_error(
            exc,
            fun=self._fun,
            args=args,
            kwargs=kwargs or {},
            static_argnums=self._static_argnums,
            static_argnames=self._static_argnames,
            jit_kwargs=self._jit_kwargs,
            source_file=self._source.source_file,
            line_offset=self._source.line_offset,
            cell_source=self._source.cell_source,
        )
        self._take_traces()  # diagnosis may trace candidate fixes: not calls of ours
        _events.drain(self.__name__)
        if diagnosed is not None:
            diagnosed.__cause__ = exc
        return diagnosed

    # ------------------------------------------------------------------ public API
    @property
    def stats(self) -> Stats:
        """Exact counts: hits + misses == calls, always."""
        with self._lock:
            calls, misses = self.calls, self._misses
            return Stats(
                name=self.__name__,
                calls=calls,
                hits=calls - misses,
                misses=misses,
                traces=self._traces,
                compile_seconds=self._compile_seconds,
                retained=len(self._entries),
                evicted=self._evicted,
            )

    @property
    def entries(self) -> list[CacheEntry]:
        """One record per cache miss, oldest first (the newest `retain` are kept)."""
        with self._lock:
            return list(self._entries)

    @property
    def jit_kwargs(self) -> dict[str, Any]:
        return dict(self._jit_kwargs)

    @property
    def static_argnames(self) -> tuple[str, ...]:
        return self._static_argnames

    def clear(self) -> None:
        """Forget the records and JAX's compiled entries for this function."""
        with self._lock:
            self._jitted.clear_cache()
            self.reset_calls()
            self._reset_records()
            self._take_traces()

    def trace(self, *args: Any, **kwargs: Any) -> jax.stages.Traced:
        """`jax.jit(...).trace`: not a call, so it is not counted."""
        return self._quietly(self._jitted.trace, args, kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> jax.stages.Lowered:
        return self._quietly(self._jitted.lower, args, kwargs)

    def eval_shape(self, *args: Any, **kwargs: Any) -> Any:
        return self._quietly(self._jitted.eval_shape, args, kwargs)

    def _quietly(self, method: Callable, args: tuple, kwargs: dict) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            self._extra_traces(self._take_traces())
            _events.drain(self.__name__)

    def graph(self, *args: Any, **options: Any) -> Any:
        """The jaxpr graph of the call `self(*args, **kwargs)` (reuses JAX's trace cache).

        Graph options (`depth`, `max_nodes`, `rankdir`, `show_shapes`) are taken out
        of the keyword arguments; everything else is passed to the function.
        """
        from ._graphing import GRAPH_OPTIONS, graph_of_call

        graph_opts = {k: options.pop(k) for k in list(options) if k in GRAPH_OPTIONS}
        return graph_of_call(self, args, options, **graph_opts)

    def rewritten_source(self) -> str:
        """The `autocond` rewrite of the function (what `--show-source` prints)."""
        return getattr(self._body, "__jitmagic_autocond_source__", None) or (
            "(no rewrite: autocond is off)"
        )

    def dashboard(self) -> Any:
        """A live ipywidgets dashboard of this function's ledger."""
        from ._dashboard import Dashboard

        return Dashboard(self)

    def ledger_text(self) -> str:
        """The ledger as plain text (what `%jitstats` prints in a terminal)."""
        lines = [str(self.stats)]
        lines += [f"  {e}" for e in self.entries]
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.stats
        static = f" static={self._static_argnames}" if self._static_argnames else ""
        return (
            f"<TrackedFunction {self.__name__}{static} "
            f"calls={s.calls} hits={s.hits} misses={s.misses}>"
        )


def _abstract(tree: Any) -> Any:
    """Replace jax.Array leaves by ShapeDtypeStructs: same trace-cache key, no buffers."""

    def leaf(x: Any) -> Any:
        if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer):
            return jax.ShapeDtypeStruct(  # typed PRNG keys have no weak_type
                x.shape, x.dtype, sharding=x.sharding, weak_type=getattr(x, "weak_type", False)
            )
        return x

    return jax.tree_util.tree_map(leaf, tree)


def _persistent(events: _events.CompileEvents) -> str | None:
    if events.persistent_hit:
        return "hit"
    if events.persistent_miss:
        return "miss"
    return None


def jit(fun: Callable | None = None, **kwargs: Any) -> Any:
    """`jax.jit` that keeps a ledger: `@jitmagic.jit`, `@jitmagic.jit(static_argnames=...)`.

    Every `jax.jit` keyword passes through; jitmagic adds `autocond=True` (rewrite a
    Python `if` on a traced value into `lax.cond`), `max_compiles=N` (raise
    `RecompileLimitError` past N compiles) and `retain=N` (entries kept).
    """
    if fun is None:
        return functools.partial(jit, **kwargs)
    return TrackedFunction(fun, **kwargs)
