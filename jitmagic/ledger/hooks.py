"""Extension points: what the ledger offers (`entry.graph()`, `f.dashboard()`) but others draw.

The ledger is the bottom layer: it must not import `graph` or `dashboard`, yet its
records offer `.graph()` and a tracked function offers `.dashboard()`. The providers
register themselves here (`jitmagic.api` does it once, lazily importing the drawing
code on first use), so the arrows still point one way: graph -> ledger, never back.
"""

from __future__ import annotations

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
