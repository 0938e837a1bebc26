"""The one set of `jax.monitoring` listeners behind every active `Watch`.

Events fire synchronously on the thread that traces and compiles, so a trace event
starts a pending record on that thread (signature, call site and definition are read
from the stack right then), lowering adds its time, and the backend-compile event
finishes it and hands it to every active watch. A hit fires no event: nothing here
runs on a hit. A tracked function's compile is marked by its shim and linked to its
ledger entry by the ledger's miss notification, so it is counted once.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from jax import monitoring

from jitmagic.ledger import hooks
from jitmagic.ledger.events import COMPILE, LOWER, PERSISTENT_HIT, PERSISTENT_MISS, TRACE
from jitmagic.ledger.jaxcompat import jit_trace_in_progress
from jitmagic.watcher import place, warn
from jitmagic.watcher.history import History
from jitmagic.watcher.record import CompileRecord
from jitmagic.watcher.signing import signature_of

_PENDING_KEPT = 16  # traces awaiting their compile, per thread (a `.trace()` never compiles)

_watches: list[Any] = []
_lock = threading.Lock()
_local = threading.local()
_seq = itertools.count(1)
history = History()


@dataclass
class _Pending:
    """A traced jit awaiting its backend compile on this thread."""

    record: CompileRecord
    warnings: list[str] = field(default_factory=list)
    frame: FrameType | None = None


def _state() -> Any:
    if not hasattr(_local, "pending"):
        _local.pending = {}  # "jit(name)" -> _Pending
        _local.unlinked = deque(maxlen=_PENDING_KEPT)  # tracked records awaiting their entry
        _local.persistent = None
    return _local


def _start(fun_name: str, start: FrameType | None) -> _Pending:
    """A record for the trace now ending: who, where, with what arguments."""
    site, frame = place.call_site(start)
    pending = _Pending(CompileRecord(seq=0, name=fun_name, defined_at=None, call_site=site),
                       frame=frame)
    trace = jit_trace_in_progress()
    record = pending.record
    if trace is None:
        record.key = ("name", fun_name)
        return pending
    if getattr(trace.fun, "__jitmagic_tracked__", False):
        record.tracked = fun_name  # the ledger explains it; `link_miss` fills the rest
        record.defined_at, record.key, _ = place.definition(trace.fun.__wrapped__)
        return pending
    fun, record.signature = signature_of(trace)
    record.defined_at, record.key, record.internal = place.definition(fun)
    if record.internal or record.key is None:  # JAX's eager ops share one wrapper's code
        record.key = ("jax" if record.internal else "name", fun_name)
    identity = None if record.internal else trace.fun
    explained = history.explain(record.key, identity, record.signature)
    record.reason, record.changes = explained.reason, explained.changes
    record.recreated = explained.recreated
    if record.internal:  # keyed on primitive parameters the arguments do not show
        record.reason = f"eager op ({record.signature})" if record.signature else "eager op"
    pending.warnings = warn.due_warnings(record, explained)
    return pending


def _finish(state: Any, jit_name: str, seconds: float, start: FrameType | None) -> None:
    pending = state.pending.pop(jit_name, None)
    if pending is None:  # compiled without a trace event (JAX's trace cache hit)
        name = jit_name[4:-1] if jit_name.startswith("jit(") else jit_name
        pending = _Pending(CompileRecord(seq=0, name=name, defined_at=None,
                                         call_site=place.call_site(start)[0],
                                         reason="compiled again (no re-trace)",
                                         key=("name", name)))
    record = pending.record
    record.compile_s += seconds
    record.persistent_cache, state.persistent = state.persistent, None
    record.seq = next(_seq)
    if record.tracked:
        state.unlinked.append(record)
    for watch in tuple(_watches):
        watch._add(record)
    frame, pending.frame = pending.frame, None
    warn.emit(pending.warnings, frame)


def _on_duration(event: str, duration_secs: float, **kwargs: str | int) -> None:
    if not _watches or event not in (TRACE, LOWER, COMPILE):
        return
    name = kwargs.get("fun_name")
    if not isinstance(name, str):
        return
    state, start = _state(), sys._getframe(1)
    if event == TRACE:
        try:
            pending = _start(name, start)
        except Exception:  # a bug of ours must never break the user's compile
            pending = _Pending(CompileRecord(seq=0, name=name, defined_at=None,
                                             call_site=None, key=("name", name)))
        pending.record.trace_s = duration_secs
        state.pending[f"jit({name})"] = pending
        while len(state.pending) > _PENDING_KEPT:
            state.pending.pop(next(iter(state.pending)))
    elif event == LOWER:
        if name in state.pending:
            state.pending[name].record.lower_s += duration_secs
    else:
        _finish(state, name, duration_secs, start)


def _on_event(event: str, **kwargs: Any) -> None:
    if _watches and event in (PERSISTENT_HIT, PERSISTENT_MISS):
        _state().persistent = "hit" if event == PERSISTENT_HIT else "miss"


def link_miss(fun: Any, entry: Any) -> None:
    """The ledger recorded a miss of tracked `fun`: attach the entry to the watch's record."""
    if not _watches or not entry.compiled:
        return
    state = _state()
    name = getattr(fun, "__name__", "")
    record = next((r for r in reversed(state.unlinked) if r.name == name), None)
    if record is None:
        return
    state.unlinked.remove(record)
    record.entry, record.signature = entry, entry.signature
    record.reason, record.changes = entry.reason, entry.changes
    for watch in tuple(_watches):
        watch._linked(record)


def add(watch: Any) -> None:
    """Start delivering compiles to `watch` (the listeners go in with the first one)."""
    with _lock:
        if watch in _watches:
            return
        if not _watches:
            monitoring.register_event_duration_secs_listener(_on_duration)
            monitoring.register_event_listener(_on_event)
            hooks.observe_misses(link_miss)
        _watches.append(watch)


def remove(watch: Any) -> None:
    """Stop delivering to `watch` (the listeners go with the last one)."""
    with _lock:
        if watch not in _watches:
            return
        _watches.remove(watch)
        if not _watches:
            with contextlib.suppress(Exception):
                monitoring.unregister_event_duration_listener(_on_duration)
                monitoring.unregister_event_listener(_on_event)
            hooks.unobserve_misses(link_miss)


def active() -> int:
    return len(_watches)
