"""Statics changed in place between calls: `jax.jit` returns the result of the old value.

What JAX 0.10.2 does (probe: `tests/diagnose/test_stale.py` runs each case against bare
`jax.jit`): a static argument mutated in place after a call is never re-traced. If its hash
follows its content (a hashable dict, an array wrapped by its bytes), the call adds a
dispatch entry but JAX reuses the old trace: no trace, no compile. If its hash does not
change (identity hash, a hash cached at construction or over some fields), the call is a
plain cache hit. Either way the result is the one compiled for the old value, silently.

So after each miss, statics of a mutable type are snapshotted. The ledger hands us the
dispatch-only calls, the first `FIRST_HITS` hits after a miss, and one hit in `EVERY`
after that (`Forwarder.watch_hits`, two integer tests per hit in C); each compares the
statics it was called with against their snapshots and warns once per argument.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import threading
import types
import warnings
from typing import Any

import numpy as np

from jitmagic.errors import StaleStaticWarning

FIRST_HITS = 8  # hits checked after each miss (the usual place of the mistake)
EVERY = 1024  # then one call in EVERY: a late mutation is still caught, cheaply
_MAX_LEAVES = 2_000  # a snapshot is bounded: deep or huge statics are cut off
_MAX_DEPTH = 6
_ARRAY_BYTES = 1 << 20  # larger arrays are sampled (strided) rather than hashed whole
_ATOMS = (type(None), bool, int, float, complex, str, bytes, range, enum.Enum, np.generic,
          np.dtype, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
          types.ModuleType)


def is_mutable(value: Any, depth: int = 0) -> bool:
    """Could `value` change in place (so a snapshot is worth keeping)?"""
    if isinstance(value, _ATOMS) or depth > _MAX_DEPTH:
        return False
    if type(value) in (tuple, frozenset) or _is_namedtuple(value):
        return any(is_mutable(v, depth + 1) for v in value)
    params = getattr(type(value), "__dataclass_params__", None)
    if dataclasses.is_dataclass(value) and params is not None and params.frozen:
        return any(is_mutable(getattr(value, f.name), depth + 1)
                   for f in dataclasses.fields(value))
    return not _is_jax_array(value)


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _is_jax_array(value: Any) -> bool:
    return type(value).__module__.startswith(("jax", "jaxlib")) and hasattr(value, "shape")


def snapshot(value: Any, path: str) -> dict[str, str]:
    """The state of `value` as {path: text of a leaf}, e.g. {"cfg.v[0]": "1"}.

    Runs inside the user's call, so an object that cannot be read (a property or `repr`
    that raises) gives what was read so far, never an error.
    """
    out: dict[str, str] = {}
    try:
        _flatten(value, path, out, 0)
    except Exception as err:
        out[f"{path} (unreadable)"] = type(err).__name__
    return out


def _flatten(value: Any, path: str, out: dict[str, str], depth: int) -> None:
    if len(out) >= _MAX_LEAVES or depth > _MAX_DEPTH:
        return
    if isinstance(value, np.ndarray):
        out[path] = _array_text(value)
    elif isinstance(value, _ATOMS) or _is_jax_array(value):
        out[path] = _repr(value, 80)
    elif isinstance(value, dict):
        out[path] = f"{type(value).__name__} of {len(value)}"
        for key, item in list(value.items()):
            _flatten(item, f"{path}[{key!r}]", out, depth + 1)
    elif isinstance(value, (list, tuple)):
        out[path] = f"{type(value).__name__} of {len(value)}"
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{i}]", out, depth + 1)
    elif isinstance(value, (set, frozenset)):
        out[path] = _repr(sorted(map(repr, value)), 200)
    else:
        _flatten_object(value, path, out, depth)


def _flatten_object(value: Any, path: str, out: dict[str, str], depth: int) -> None:
    fields = dict(getattr(value, "__dict__", {}))
    for slot in getattr(type(value), "__slots__", ()):
        if hasattr(value, slot):
            fields[slot] = getattr(value, slot)
    if not fields:
        out[path] = _repr(value, 200)
        return
    out[path] = type(value).__name__
    for name, item in fields.items():
        _flatten(item, f"{path}.{name}", out, depth + 1)


def _repr(value: Any, limit: int) -> str:
    try:
        return repr(value)[:limit]
    except Exception as err:
        return f"(unreadable: {type(err).__name__})"


def _array_text(a: np.ndarray) -> str:
    if a.size <= 8:
        return np.array2string(a, separator=", ")
    data = a.ravel()
    if a.nbytes > _ARRAY_BYTES:
        data = data[:: max(1, a.nbytes // _ARRAY_BYTES)]
    digest = hashlib.blake2b(np.ascontiguousarray(data).tobytes(), digest_size=8).hexdigest()
    return f"{a.dtype}{list(a.shape)} (content {digest})"


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """`cfg.v[0]: 1 -> 100` for each leaf that differs (added or gone leaves too)."""
    keys = list(dict.fromkeys([*before, *after]))
    return [f"{k}: {before.get(k, '(absent)')} -> {after.get(k, '(absent)')}"
            for k in keys if before.get(k) != after.get(k)]


@dataclasses.dataclass
class _Watched:
    """One mutable static of one entry: the object JAX keyed on and its state then."""

    name: str
    value: Any
    state: dict[str, str]


class StaleStatics:
    """Snapshots of an entry's mutable statics, compared on the calls the ledger watches."""

    def __init__(self, stacklevel: int) -> None:
        self._watched: dict[int, list[_Watched]] = {}  # entry index -> its mutable statics
        self._lock = threading.Lock()
        self._stacklevel = stacklevel
        self.reported: set[tuple[int, str]] = set()  # (entry index, name), said once

    def on_miss(self, fn: Any, entry: Any) -> None:
        """Snapshot the new entry's mutable statics; watch the next hits if there are any."""
        found = [_Watched(name, value, snapshot(value, name))
                 for name, value in entry.signature.statics.items() if is_mutable(value)]
        kept = {e.index for e in fn.entries}
        with self._lock:
            for index in [i for i in self._watched if i not in kept or i == entry.index]:
                del self._watched[index]  # evicted (or cleared and re-used) entries
            if found:
                self._watched[entry.index] = found
            watching = bool(self._watched)
        fn.watch_hits(FIRST_HITS, EVERY) if watching else fn.watch_hits(0, 0)

    def on_hit(self, fn: Any, args: tuple, kwargs: dict) -> None:
        """Warn for each static of this call that differs from its snapshot (once each)."""
        passed = {id(v) for v in (*args, *kwargs.values())}
        with self._lock:
            stale = [(index, w, changes) for index, watched in self._watched.items()
                     for w in watched if id(w.value) in passed
                     and (index, w.name) not in self.reported
                     and (changes := changed_paths(w.state, snapshot(w.value, w.name)))]
            self.reported.update((index, w.name) for index, w, _ in stale)
        for _, w, changes in stale:
            warnings.warn(stale_words(fn, w.name, w.value, changes), StaleStaticWarning,
                          stacklevel=self._stacklevel)


def stale_words(fn: Any, name: str, value: Any, changes: list[str]) -> str:
    """The warning: the function, the argument, what changed, the fix in the user's words."""
    option = "static_argnames" if fn.source.dialect == "api" else "--static"
    shown = "; ".join(changes[:3]) + ("; ..." if len(changes) > 3 else "")
    return (f"jitmagic: `{fn.__name__}` returned a STALE result: static argument `{name}` "
            f"({type(value).__name__}) was changed in place after it was compiled ({shown}), "
            "and JAX reused the compilation for its old value (no recompile).\n  Fix: pass an "
            "immutable value (a tuple, a frozen dataclass) and build a new one to change it; "
            f"or, if `{name}` is array data, drop it from {option} so it is traced.")
