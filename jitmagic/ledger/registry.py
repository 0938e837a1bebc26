"""Every live tracked function, for `%jitstats`: a weak set, so nothing is kept alive."""

from __future__ import annotations

import itertools
import weakref
from typing import Any

_serials = itertools.count()
_registry: weakref.WeakSet[Any] = weakref.WeakSet()


def register(fun: Any) -> int:
    """Add a new tracked function; returns its serial (creation order)."""
    _registry.add(fun)
    return next(_serials)


def forget(fun: Any) -> None:
    """Drop a replaced function from `%jitstats` (its object may live on in user code)."""
    _registry.discard(fun)


def tracked_functions() -> list[Any]:
    """Every live tracked function, oldest first (what `%jitstats` shows)."""
    return sorted(_registry, key=lambda f: f.serial)
