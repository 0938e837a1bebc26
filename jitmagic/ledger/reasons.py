"""Why a call missed: the differences between two signatures, in the user's own names.

JAX keys its cache on static values (by type *and* value, and by whether they were passed
by position or keyword), the pytree structure of the dynamic arguments and each leaf's
shape, dtype, weak type and sharding. `differences` names every one of those that changed;
`explain_miss` picks the nearest earlier signature ("threshold: 0.0 → 10.0 (static)").
To change how a miss reason is worded, edit this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jitmagic.ledger.signature import ArgSignature, LeafSignature, Signature


@dataclass(frozen=True)
class Change:
    """One difference between two signatures, by argument and kind (for churn checks)."""

    arg: str
    kind: str  # static, shape, dtype, weak_type, sharding, structure, passing, presence
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class MissReason:
    """Why a call missed: the changes against the nearest earlier signature."""

    text: str
    changes: tuple[Change, ...] = ()

    def __str__(self) -> str:
        return self.text


def _static_change(old: ArgSignature, new: ArgSignature) -> Change | None:
    a, b = old.static_value, new.static_value
    if type(a) is not type(b):
        return Change(new.name, "static", (
            f"{new.name}: {a!r} ({type(a).__name__}) → {b!r} ({type(b).__name__}) "
            "(static; keyed by type as well as value)"
        ))
    try:
        same = bool(a == b) and hash(a) == hash(b)
    except Exception:
        same = False
    return None if same else Change(new.name, "static", f"{new.name}: {a!r} → {b!r} (static)")


def _leaf_changes(arg: str, old: LeafSignature, new: LeafSignature) -> list[Change]:
    changes = []
    if old.shape != new.shape:
        text = f"{new.path}: {old.short.lstrip('~')} → {new.short.lstrip('~')}"
        changes.append(Change(arg, "shape", text))
    if old.dtype != new.dtype:
        changes.append(Change(arg, "dtype", f"{new.path}: dtype {old.dtype} → {new.dtype}"))
    if old.weak_type != new.weak_type:
        text = f"{new.path}: weak_type changed (Python scalar vs array)"
        changes.append(Change(arg, "weak_type", text))
    if None not in (old.sharding, new.sharding) and old.sharding != new.sharding:
        text = f"{new.path}: sharding {old.sharding} → {new.sharding}"
        changes.append(Change(arg, "sharding", text))
    return changes


def _arg_changes(old: ArgSignature, new: ArgSignature) -> list[Change]:
    if old.static != new.static:
        kind = "static" if new.static else "traced"
        return [Change(new.name, "passing", f"{new.name}: now {kind} (passed {new.passed})")]
    if new.static:
        change = _static_change(old, new)
        return [change] if change else []
    if old.treedef != new.treedef:
        text = f"pytree structure of {new.name} changed: {old.treedef} → {new.treedef}"
        return [Change(new.name, "structure", text)]
    pairs = zip(old.leaves, new.leaves, strict=True)  # same treedef: same leaf count
    return [c for lo, ln in pairs for c in _leaf_changes(new.name, lo, ln)]


def differences(old: Signature, new: Signature) -> list[Change]:
    """Every reason `new` cannot reuse the cache entry made for `old`, in user terms."""
    before = {a.name: a for a in old.args}
    after = {a.name: a for a in new.args}
    changes: list[Change] = []
    for name, arg in after.items():
        prev = before.get(name)
        if prev is None:
            changes.append(Change(name, "presence", f"{name}: newly passed ({arg.passed})"))
        elif prev.passed != arg.passed:
            changes.append(Change(name, "passing", (
                f"{name}: passed {prev.passed} before, {arg.passed} now "
                "(JAX keys on how an argument is passed)"
            )))
        else:
            changes += _arg_changes(prev, arg)
    changes += [Change(name, "presence", f"{name}: no longer passed")
                for name in before if name not in after]
    return changes


def explain_miss(new: Signature, earlier: Sequence[Signature]) -> MissReason:
    """Why a call with `new` missed: its difference to the nearest earlier signature."""
    if not earlier:
        return MissReason("first call")
    best = min((differences(old, new) for old in reversed(earlier)), key=len)
    if not best:
        return MissReason(
            "no change in shapes, dtypes or static values: JAX compiled again (a Python "
            "scalar where a weak-typed array was passed before, or its cache was cleared)"
        )
    return MissReason("; ".join(c.text for c in best), tuple(best))
