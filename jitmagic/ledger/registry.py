"""Every live tracked function, for `%jitstats`: a weak set, so nothing is kept alive.

Also how many tracked functions of one piece of code were built (and compiled) at one
place, for the "new `jitmagic.jit` per call" warning: weak on both code objects, so a
redefined function or a re-run cell starts from nothing, and `events.reset()` (a fresh
process, for tests) clears it.
"""

from __future__ import annotations

import itertools
import threading
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


# (id(code), id(site)) -> weak references to both, and counts per (line, options). Keyed by
# identity: code objects compare by value, and a re-run cell compiles to an equal one.
_builds: dict[tuple[int, int], tuple[weakref.ref, weakref.ref, dict[Any, int]]] = {}
_builds_lock = threading.RLock()  # a weakref callback may run (GC) while it is held


def count_build(code: Any, site: Any, detail: Any) -> int:
    """One more compiled tracked function of `code` built by the code `site` (with `detail`:
    line and options); returns how many so far."""
    key = (id(code), id(site))
    with _builds_lock:
        held = _builds.get(key)
        if held is None or held[0]() is not code or held[1]() is not site:
            def drop(_: Any) -> None:
                with _builds_lock:
                    _builds.pop(key, None)
            held = _builds[key] = (weakref.ref(code, drop), weakref.ref(site, drop), {})
        counts = held[2]
        counts[detail] = counts.get(detail, 0) + 1
        return counts[detail]


def build_count() -> int:
    """How many (code, site) pairs are counted (their code objects are alive)."""
    return len(_builds)


def forget_builds() -> None:
    """Forget every build count (`events.reset()`: back to a fresh process)."""
    with _builds_lock:
        _builds.clear()
