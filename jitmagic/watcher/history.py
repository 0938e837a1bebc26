"""What the watch remembers per function, to say why it compiled: earlier signatures, jit objects.

A function is known by its code identity (see `place.definition`), so a `jax.jit`
re-created in a loop, or a cell re-run, lands in the same group: a compile by a function
object never seen before, with the same code, is a *re-created jit*. Objects are held
weakly; groups are kept for the `MAX_GROUPS` most recently compiled functions.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from jitmagic.ledger.reasons import Change, explain_miss
from jitmagic.ledger.signature import Signature

MAX_GROUPS = 2048
SIGNATURES_KEPT = 32  # earlier signatures a reason is diffed against
UNKNOWN_ARGS = "compiled again (argument types unknown: this JAX's trace could not be read)"


@dataclass
class Group:
    """One function's history: its jit objects and recent signatures."""

    objects: Any = field(default_factory=weakref.WeakSet)
    ids: set[int] = field(default_factory=set)  # for callables that take no weak reference
    jits: int = 0
    compiles: int = 0
    signatures: deque = field(default_factory=lambda: deque(maxlen=SIGNATURES_KEPT))
    warned: set[str] = field(default_factory=set)
    churn_log: dict = field(default_factory=dict)  # (arg, kind) -> recent compile numbers
    epoch: int = 0
    epoch_jits: int = 0  # new jit objects in the current epoch (one notebook cell's run)

    def is_new_object(self, fun: Any) -> bool:
        try:
            if fun in self.objects:
                return False
            self.objects.add(fun)
        except TypeError:
            if id(fun) in self.ids:
                return False
            self.ids.add(id(fun))
        self.jits += 1
        return True


@dataclass(frozen=True)
class Explained:
    reason: str
    changes: tuple[Change, ...]
    recreated: int  # jit objects of this code so far when this one is new, else 0
    compiles: int  # this function's compile number (1-based)
    in_a_row: int  # new jit objects in this epoch: a loop, not re-running a cell
    group: Group


class History:
    """Every watched function's group, most recently compiled last."""

    def __init__(self) -> None:
        self._groups: OrderedDict[Any, Group] = OrderedDict()
        self._lock = threading.Lock()
        self.epoch = 0

    def next_epoch(self) -> None:
        """A new notebook cell: re-creations seen so far were cell re-runs, not a loop."""
        self.epoch += 1

    def explain(self, key: Any, fun: Any, signature: Signature | None) -> Explained:
        """Why `fun` (code identity `key`) compiled for `signature`; records it."""
        with self._lock:
            group = self._groups.pop(key, None) or Group()
            self._groups[key] = group
            while len(self._groups) > MAX_GROUPS:
                self._groups.popitem(last=False)
            first = group.compiles == 0
            new_object = fun is not None and group.is_new_object(fun)
            if group.epoch != self.epoch:
                group.epoch, group.epoch_jits = self.epoch, 0
            group.epoch_jits += new_object
            earlier = list(group.signatures)
            group.compiles += 1
            if signature is not None:
                group.signatures.append(signature)
        if first:
            return Explained("first call", (), 0, group.compiles, group.epoch_jits, group)
        changes: tuple[Change, ...]
        if signature is None:
            text, changes = UNKNOWN_ARGS, ()
        else:
            missed = explain_miss(signature, earlier)
            text, changes = missed.text, missed.changes
        if not new_object:
            return Explained(text, changes, 0, group.compiles, group.epoch_jits, group)
        if changes:
            text = f"{text}; also a re-created jit (#{group.jits})"
        else:
            text = (f"re-created jit: a new function object for the same code (jit "
                    f"#{group.jits}), so nothing compiled for the earlier ones is reused")
        return Explained(text, changes, group.jits, group.compiles, group.epoch_jits, group)

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()
