"""Attribute JAX's global compile events to the call that caused them.

`jax.monitoring` events are global and carry only a `fun_name`, but tracing,
lowering and compiling happen synchronously on the calling thread. So one
listener appends each event to a per-thread log, and the miss path of a tracked
function drains its own thread's log. A hit fires no event, so this costs the
hot path nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from jax import monitoring

from jitmagic.ledger import registry

TRACE = "/jax/core/compile/jaxpr_trace_duration"
LOWER = "/jax/core/compile/jaxpr_to_mlir_module_duration"
COMPILE = "/jax/core/compile/backend_compile_duration"
PERSISTENT_HIT = "/jax/compilation_cache/cache_hits"
PERSISTENT_MISS = "/jax/compilation_cache/cache_misses"
_LOG_LIMIT = 256

_local = threading.local()
_installed = False
_suspended = False  # `%unload_ext` suspends until the next `%load_ext`
_install_lock = threading.Lock()


@dataclass
class CompileEvents:
    """What JAX reported doing for one function during one call."""

    trace_s: float = 0.0
    lower_s: float = 0.0
    compile_s: float = 0.0
    compiled: bool = False
    persistent_hit: bool = False
    persistent_miss: bool = False
    names: list[str] = field(default_factory=list)


def _log() -> deque:
    log = getattr(_local, "log", None)
    if log is None:
        log = _local.log = deque(maxlen=_LOG_LIMIT)
    return log


def _on_duration(event: str, duration_secs: float, **kwargs: str | int) -> None:
    if event in (TRACE, LOWER, COMPILE):
        _log().append((event, duration_secs, kwargs.get("fun_name")))


def _on_event(event: str, **kwargs: str | int) -> None:
    if event in (PERSISTENT_HIT, PERSISTENT_MISS):
        _log().append((event, 0.0, None))


def install() -> None:
    """Register the listeners once per process (idempotent; not while suspended)."""
    global _installed
    with _install_lock:
        if not _installed and not _suspended:
            monitoring.register_event_duration_secs_listener(_on_duration)
            monitoring.register_event_listener(_on_event)
            _installed = True


def suspend() -> None:
    """Remove the listeners and keep them off until `resume()` (`%unload_ext`)."""
    global _suspended
    _suspended = True
    uninstall()


def resume() -> None:
    """Allow the listeners again (`%load_ext`)."""
    global _suspended
    _suspended = False
    install()


def uninstall() -> None:
    """Remove the listeners."""
    global _installed
    with _install_lock:
        if _installed:
            monitoring.unregister_event_duration_listener(_on_duration)
            monitoring.unregister_event_listener(_on_event)
            _installed = False


def reset() -> None:
    """Back to a fresh process: no listeners, none suspended, no jit builds counted (for
    test isolation)."""
    global _suspended
    uninstall()
    _suspended = False
    registry.forget_builds()


def is_installed() -> bool:
    return _installed


def drain(fun_name: str) -> CompileEvents:
    """Take this thread's logged events; sum those that belong to `fun_name`."""
    log = _log()
    out = CompileEvents()
    jit_name = f"jit({fun_name})"
    persistent = None  # a cache lookup belongs to the backend compile that follows it
    while log:
        event, seconds, name = log.popleft()
        if event == TRACE and name == fun_name:
            out.trace_s += seconds
        elif event == LOWER and name == jit_name:
            out.lower_s += seconds
        elif event in (PERSISTENT_HIT, PERSISTENT_MISS):
            persistent = event
        elif event == COMPILE:
            if name == jit_name:
                out.compile_s += seconds
                out.compiled = True
                out.persistent_hit |= persistent == PERSISTENT_HIT
                out.persistent_miss |= persistent == PERSISTENT_MISS
            persistent = None
    return out
