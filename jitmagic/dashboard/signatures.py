"""One-line signatures: the first entry in full, later ones only by what differs.

A real training step passes a params pytree that is identical from entry to entry; printing
it whole for every entry buries the one leaf that changed. Each later entry is compared with
its nearest earlier entry (the one the miss reason was judged against): arguments that
changed are shown (their changed leaves marked), identical ones are summarised as
`params: 6 leaves, same as #0`. Pure functions of `CacheEntry`; no HTML here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jitmagic.ledger.reasons import differences
from jitmagic.ledger.records import CacheEntry
from jitmagic.ledger.signature import ArgSignature, LeafSignature, Signature

LINE_LEAVES = 12  # leaves of one argument written out on a one-line signature
WEAK_NOTE = ("~ marks a weak type (e.g. ~f32[]): a Python scalar's dtype, which yields to "
             "the dtype it meets; passing an array instead is a different signature")


@dataclass(frozen=True)
class Part:
    """One argument's piece of a one-line signature."""

    text: str
    changed: bool = False  # differs from the nearest entry: highlighted
    same: bool = False  # identical to the nearest entry: shown dimmed, summarised


def nearest(entry: CacheEntry, earlier: Sequence[CacheEntry]) -> CacheEntry | None:
    """The earlier entry with the fewest differences (latest first on ties), as the reason."""
    if not earlier:
        return None
    return min(reversed(earlier), key=lambda e: len(differences(e.signature, entry.signature)))


def _leaf_text(leaf: LeafSignature, arg: str = "") -> str:
    """`[0]['w']: f32[784,128]`: inside `params: {...}` the path drops the repeated name."""
    path = leaf.path[len(arg):] if arg and leaf.path.startswith(arg) else leaf.path
    return f"{path or leaf.path}: {leaf.short}"


def _full(arg: ArgSignature, limit: int = LINE_LEAVES) -> str:
    """The argument on one line; past `limit` leaves the rest is counted (the expander
    lists every leaf), so a pytree of hundreds of leaves stays one short line."""
    if arg.static or (len(arg.leaves) == 1 and arg.leaves[0].path == arg.name):
        return arg.describe()
    shown = [_leaf_text(x, arg.name) for x in arg.leaves[:limit]]
    if len(arg.leaves) > limit:
        shown.append(f"… {len(arg.leaves) - limit} more")
    return f"{arg.name}: {{{', '.join(shown)}}}"


def _same_name(arg: ArgSignature) -> str:
    """How an unchanged argument is summarised: `params: 6 leaves`, `x`, `lr=0.01`."""
    if arg.static:
        return arg.describe()
    n = len(arg.leaves)
    return f"{arg.name}: {n} leaves" if n > 1 else arg.name


def _arg_part(arg: ArgSignature, old: ArgSignature | None, base: int) -> Part:
    """`arg` against the same-named argument of the nearest entry."""
    if old is None or old.static != arg.static or old.passed != arg.passed:
        return Part(_full(arg), changed=True)
    if arg.static:
        if differences(Signature((old,)), Signature((arg,))):
            return Part(_full(arg), changed=True)
        return Part(_same_name(arg), same=True)
    if old.treedef != arg.treedef:
        return Part(_full(arg), changed=True)
    changed = [new for prev, new in zip(old.leaves, arg.leaves, strict=True) if prev != new]
    if not changed:
        return Part(_same_name(arg), same=True)
    if len(arg.leaves) == 1 and arg.leaves[0].path == arg.name:
        return Part(_full(arg), changed=True)
    rest = len(arg.leaves) - len(changed)
    tail = f", {rest} more same as #{base}" if rest else ""
    shown = [_leaf_text(c, arg.name) for c in changed[:LINE_LEAVES]]
    if len(changed) > LINE_LEAVES:
        shown.append(f"… {len(changed) - LINE_LEAVES} more changed")
    return Part(f"{arg.name}: {{{', '.join(shown)}}}{tail}", changed=True)


def compact(entry: CacheEntry, earlier: Sequence[CacheEntry]) -> list[Part]:
    """The entry's one-line parts against its nearest entry: what changed, then one summary
    of what did not (`params: 6 leaves, lr=0.01, same as #0`)."""
    base = nearest(entry, earlier)
    if base is None:
        return [Part(_full(a)) for a in entry.signature.args]
    before = {a.name: a for a in base.signature.args}
    parts = [_arg_part(a, before.get(a.name), base.index) for a in entry.signature.args]
    gone = [Part(f"{name}: not passed", changed=True) for name in before
            if name not in {a.name for a in entry.signature.args}]
    parts += gone
    same = [p.text for p in parts if p.same]
    summary = [Part(f"{', '.join(same)}, same as #{base.index}", same=True)] if same else []
    return [p for p in parts if not p.same] + summary


def compact_text(entry: CacheEntry, earlier: Sequence[CacheEntry]) -> str:
    """The one-line signature as plain text (terminals, `str(board)`)."""
    parts = compact(entry, earlier)
    return join_parts(parts, [p.text for p in parts])


def join_parts(parts: Sequence[Part], texts: Sequence[str]) -> str:
    """The parts' `texts` by commas; the trailing `..., same as #n` summary after a `;`."""
    if len(parts) > 1 and parts[-1].same:
        return ", ".join(texts[:-1]) + "; " + texts[-1]
    return ", ".join(texts)


def full_lines(entry: CacheEntry, limit: int = 2000) -> list[str]:
    """Every argument and leaf of the entry, one per line (what the expander shows)."""
    lines: list[str] = []
    for arg in entry.signature.args:
        if arg.static or (len(arg.leaves) == 1 and arg.leaves[0].path == arg.name):
            lines.append(arg.describe())
            continue
        lines.append(f"{arg.name}: {len(arg.leaves)} leaves")
        lines += [f"  {_leaf_text(leaf, arg.name)}" for leaf in arg.leaves]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more lines"]
    return lines


def has_weak(entries: Sequence[CacheEntry]) -> bool:
    """Whether any entry passes a weak-typed leaf (then the legend explains `~`)."""
    return any(leaf.weak_type for e in entries for leaf in e.signature.leaves)
