"""Extension points: what the ledger offers (`entry.graph()`, `f.dashboard()`) but others draw.

The ledger is the bottom layer: it must not import `graph` or `dashboard`, yet its
records offer `.graph()` and a tracked function offers `.dashboard()`. The providers
register themselves here (`jitmagic.api` does it once, lazily importing the drawing
code on first use), so the arrows still point one way: graph -> ledger, never back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

HOOKS = ("draw_entry", "draw_call", "dashboard")
_providers: dict[str, Callable[..., Any]] = {}


def provide(name: str, fn: Callable[..., Any]) -> None:
    """Register the provider of hook `name` (one of `HOOKS`)."""
    if name not in HOOKS:
        raise ValueError(f"unknown hook {name!r}; known: {', '.join(HOOKS)}")
    _providers[name] = fn


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run the provider of `name`; a clear error when none is registered."""
    try:
        provider = _providers[name]
    except KeyError:
        raise RuntimeError(
            f"jitmagic: nothing provides {name!r}; import jitmagic (not only jitmagic.ledger)"
        ) from None
    return provider(*args, **kwargs)


# Observers of recorded misses (the compile watch links a tracked function's compile to
# its ledger entry). Called on the miss path only, after the entry is recorded; an
# observer's failure never reaches the user's call.
_miss_observers: list[Callable[[Any, Any], None]] = []


def observe_misses(observer: Callable[[Any, Any], None]) -> None:
    """Call `observer(tracked_function, entry)` after every recorded miss (idempotent)."""
    if observer not in _miss_observers:
        _miss_observers.append(observer)


def unobserve_misses(observer: Callable[[Any, Any], None]) -> None:
    if observer in _miss_observers:
        _miss_observers.remove(observer)


def notify_miss(fun: Any, entry: Any) -> None:
    """Tell every observer about a recorded miss of `fun` (a tracked function)."""
    for observer in tuple(_miss_observers):
        with contextlib.suppress(Exception):  # an observer's bug must not cost the user the call
            observer(fun, entry)
