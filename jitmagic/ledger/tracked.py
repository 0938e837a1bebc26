"""TrackedFunction: `jax.jit` with an exact ledger of calls, hits and misses.

The hit path is a C-level forward (see `forward`): count the call, read JAX's dispatch-cache
size before and after, return. Only when the cache grew does Python run (`_on_miss`), and
there a miss is *confirmed* from what JAX did on this thread: the body ran (a trace, counted
by a shim inside the jitted function) or XLA compiled it (a `jax.monitoring` event). A new
dispatch entry without either (a Python float after a weak-typed array) is a hit. Then the
signature is built, diffed against the retained entries to name the reason, and the jaxpr
is taken from JAX's trace cache (no re-trace).

What happens *after* a miss (warnings, budgets) and *on an error* (diagnosis) is
handed in as `checks` and `diagnoser`: the ledger records, other layers judge.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import jax

from jitmagic.ledger import events, hooks, registry
from jitmagic.ledger.capture import capture_jaxpr, persistent_kind
from jitmagic.ledger.forward import EXTRA_FRAMES, Forwarder
from jitmagic.ledger.jaxcompat import cache_size_probe
from jitmagic.ledger.reasons import differences, explain_miss
from jitmagic.ledger.records import CacheEntry, FailedCall, SourceMap, Stats
from jitmagic.ledger.signature import build_signature, function_name, resolve_static

DEFAULT_RETAIN = 128
# a warning raised in _on_miss points at the user's call (the C forwarder adds no frame)
_FROM_ON_MISS = 2 + EXTRA_FRAMES

Diagnoser = Callable[[BaseException, FailedCall], "BaseException | None"]


class MissChecks(Protocol):
    """After every recorded miss (hygiene, churn, budgets), and on the hits `watch_hits`
    asked for or that only added a dispatch entry (`after_hit`); may warn or raise."""

    def after_miss(self, fn: TrackedFunction, entry: CacheEntry) -> None: ...

    def after_hit(self, fn: TrackedFunction, args: tuple, kwargs: dict) -> None: ...


class TrackedFunction(Forwarder):
    """A `jax.jit`-compiled function that records every cache miss and why it happened.

    Call it exactly like the jitted function. `stats` gives exact counts, `entries`
    one `CacheEntry` per miss (signature, reason, trace/lower/compile seconds, jaxpr),
    `clear()` forgets both the records and JAX's cache for this function.
    Build it with `jitmagic.jit`, which also wires in diagnosis and the post-miss checks.
    """

    __wrapped__: Callable[..., Any]  # the user's function (functools.update_wrapper)

    def __init__(
        self,
        fun: Callable,
        *,
        body: Callable | None = None,
        retain: int = DEFAULT_RETAIN,
        source: SourceMap | None = None,
        diagnoser: Diagnoser | None = None,
        checks: MissChecks | None = None,
        **jit_kwargs: Any,
    ) -> None:
        if not callable(fun):
            raise TypeError(f"Expected a callable value, got {fun}")
        if not isinstance(retain, int) or isinstance(retain, bool) or retain < 1:
            raise ValueError(f"retain must be a positive int (entries kept), got {retain!r}")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._fun, self._body = fun, body or fun
        self._name = function_name(fun)
        self._jit_kwargs = dict(jit_kwargs)
        self._retain = retain
        self._source = source or SourceMap()
        self._diagnoser, self._checks = diagnoser, checks
        self._static_argnums, self._static_argnames = resolve_static(
            fun, jit_kwargs.get("static_argnums", ()), jit_kwargs.get("static_argnames", ())
        )
        self._jitted = jax.jit(self._make_shim(self._body), **jit_kwargs)
        self._reset_records()
        events.install()  # once per process; stays off after `%unload_ext`
        super().__init__(
            self._jitted, cache_size_probe(self._jitted), self._on_miss, self._on_error,
            self._on_hit if checks is not None else None,
        )
        functools.update_wrapper(self, fun)
        self.__name__ = self._name
        self.serial = registry.register(self)

    # ------------------------------------------------------------------ tracing shim
    def _make_shim(self, body: Callable) -> Callable:
        """The function JAX actually traces: counts body executions on this thread."""
        local = self._local

        @functools.wraps(body)
        def shim(*args: Any, **kwargs: Any) -> Any:
            local.pending = getattr(local, "pending", 0) + 1
            return body(*args, **kwargs)

        shim.__name__ = self._name  # what JAX's compile events will call it
        shim.__jitmagic_tracked__ = True  # type: ignore[attr-defined]  # the compile watch leaves it to this ledger
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
        found = events.drain(self._name)
        if not traced and not found.compiled:
            # a new dispatch entry, but JAX neither traced nor compiled: a hit (of a
            # weak-typed float, or of a static whose hash changed in place)
            if self._checks is not None:
                self._checks.after_hit(self, args, kwargs)
            return
        try:
            entry = self._record_miss(args, kwargs, traced, found)
        except Exception as err:  # a bug of ours must never cost the user the call's result
            with self._lock:
                self._misses += 1
            warnings.warn(f"jitmagic could not record a cache miss of {self._name} "
                          f"({type(err).__name__}: {err}); the counts stay exact",
                          RuntimeWarning, stacklevel=_FROM_ON_MISS)
            return
        if entry is not None:
            hooks.notify_miss(self, entry)
            if self._checks is not None:
                self._checks.after_miss(self, entry)

    def _on_hit(self, args: tuple, kwargs: dict | None) -> None:
        """A hit `watch_hits` asked for (only set up when there are checks)."""
        self._checks.after_hit(self, args, kwargs or {})  # type: ignore[union-attr]

    def _record_miss(self, args: tuple, kwargs: dict, traced: int,
                     found: events.CompileEvents) -> CacheEntry | None:
        """The ledger entry of a confirmed miss (None when it turns out to be a hit)."""
        signature = build_signature(
            self._fun, args, kwargs, self._static_argnums, self._static_argnames
        )
        if not found.compiled and self._known(signature):
            # the counted trace was left by an enclosing transform (grad, vmap, an outer
            # jit) tracing the body; this call only added a dispatch entry: a hit
            return None
        jaxpr, out_names = self._capture_jaxpr(args, kwargs)
        with self._lock:  # counted last, so a failure above is counted once, by the caller
            earlier = [e.signature for e in self._entries]
            reason = explain_miss(signature, earlier)
            text = reason.text
            if self._evicted and not earlier:
                text += " (older entries were evicted)"
            entry = CacheEntry(
                index=self._misses, call_index=self.calls, signature=signature,
                reason=text, changes=reason.changes, traced=traced > 0,
                compiled=found.compiled, persistent_cache=persistent_kind(found),
                trace_s=found.trace_s, lower_s=found.lower_s, compile_s=found.compile_s,
                name=self._name, source=self._source, jaxpr=jaxpr, out_names=out_names,
            )
            self._compile_seconds += found.trace_s + found.lower_s + found.compile_s
            if len(self._entries) == self._entries.maxlen:
                self._evicted += 1
            self._entries.append(entry)
            self._misses += 1
            self._traces += traced
        return entry

    def _known(self, signature: Any) -> bool:
        with self._lock:
            return any(not differences(e.signature, signature) for e in self._entries)

    def _capture_jaxpr(self, args: tuple, kwargs: dict) -> tuple[Any, tuple[str, ...]]:
        """The entry's ClosedJaxpr and output names, from JAX's trace cache (no re-trace)."""
        found = capture_jaxpr(self._jitted, args, kwargs, self._static_argnums,
                              self._static_argnames, self._source.is_cell)
        self._extra_traces(self._take_traces())
        events.drain(self._name)
        return found

    def _extra_traces(self, n: int) -> None:
        if n:
            with self._lock:
                self._traces += n

    # ------------------------------------------------------------------ error path
    def _on_error(self, exc: BaseException, args: tuple, kwargs: dict | None) -> Any:
        self._take_traces()
        events.drain(self._name)
        if self._diagnoser is None:
            return None
        call = FailedCall(self._fun, args, kwargs or {}, self._static_argnums,
                          self._static_argnames, dict(self._jit_kwargs), self._source)
        diagnosed = self._diagnoser(exc, call)
        self._take_traces()  # diagnosis may trace candidate fixes: not calls of ours
        events.drain(self._name)
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
                name=self._name, calls=calls, hits=calls - misses, misses=misses,
                traces=self._traces, compile_seconds=self._compile_seconds,
                retained=len(self._entries), evicted=self._evicted,
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

    @property
    def static_argnums(self) -> tuple[int, ...]:
        return self._static_argnums

    @property
    def source(self) -> SourceMap:
        """Where the traced code came from (a cell or a function)."""
        return self._source

    def clear(self) -> None:
        """Forget the records and JAX's compiled entries for this function."""
        with self._lock:
            self._jitted.clear_cache()  # type: ignore[attr-defined]  # not in JitWrapped's stub
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
            events.drain(self._name)

    def graph(self, *args: Any, **options: Any) -> Any:
        """The jaxpr graph of the call `self(*args, **kwargs)` (reuses JAX's trace cache).

        Graph options (`depth`, `max_nodes`, `rankdir`, `show_shapes`) are taken out
        of the keyword arguments; everything else is passed to the function.
        """
        return hooks.call("draw_call", self, args, options)

    def rewritten_source(self) -> str:
        """The `autocond` rewrite of the function (what `--show-source` prints)."""
        rewrite = getattr(self._body, "__jitmagic_autocond_source__", None)
        return rewrite or "(no rewrite: autocond is off)"

    def dashboard(self) -> Any:
        """This function's dashboard: an HTML view of its ledger, live where it is shown."""
        return hooks.call("dashboard", self)

    def ledger_text(self) -> str:
        """The ledger as plain text (what `%jitstats` prints in a terminal)."""
        return "\n".join([str(self.stats), *(f"  {e}" for e in self.entries)])

    def __repr__(self) -> str:
        s, static = self.stats, f" static={self._static_argnames}" if self._static_argnames else ""
        counts = f"calls={s.calls} hits={s.hits} misses={s.misses}"
        return f"<TrackedFunction {self._name}{static} {counts}>"
