"""Two traces of one structure as ONE graph: what changed is written ``A → B`` in place.

A new batch size changes every shape of a train step, so a node-by-node diff marks
nearly everything and two whole graphs end up stacked (2,939×4,613 pt for the MLP step).
But the structure is the same: the nodes pair up one to one (same kind, same label once
numbers are ignored, same edges). Then one graph tells the truth more compactly: labels
that changed read ``lr: 0.01 → 0.1``, shapes merge per dimension (``f32[32→64,784]``),
and when every shape change is one dimension substitution (32 → 64) the footer says so
and only its causes (the inputs, outputs and statics that changed) are marked, so the
picture can be pruned to them and their neighbours.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from jitmagic.graphs.model import Cluster, Model, Node

ARROW = "\u2192"
_TOKEN = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|\binf\b|\bnan\b)|[A-Za-z_]\w*|.", re.S)
_NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan)")


def _tokens(label: str) -> list[str]:
    return _TOKEN.findall(label)


def _skeleton(label: str) -> str:
    """A label with its numbers blanked: what must match for two nodes to pair up."""
    return "".join("#" if _is_number(t) else t for t in _tokens(label))


def _is_number(tok: str) -> bool:
    return _NUMBER.fullmatch(tok) is not None


def merge_label(a: str, b: str, static: bool = False) -> str:
    """``a`` with each differing span written ``old→new``; spaced when it is a whole word.

    A static box's ``lr = 0.01`` line becomes ``lr: 0.01 → 0.1``, like the miss reason.
    """
    if a == b:
        return a
    la, lb = a.split("\n"), b.split("\n")
    if len(la) == len(lb) and len(la) > 1:
        return "\n".join(merge_label(x, y, static) for x, y in zip(la, lb, strict=True))
    ta, tb = _tokens(a), _tokens(b)
    out: list[str] = []
    ops = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        old, new = "".join(ta[i1:i2]), "".join(tb[j1:j2])
        if tag == "equal":
            out.append(old)
            continue
        word = (i1 == 0 or ta[i1 - 1] == " ") and (i2 == len(ta) or ta[i2] == " ")
        out.append(f"{old} {ARROW} {new}" if word else f"{old}{ARROW}{new}")
    merged = "".join(out)
    return merged.replace(" = ", ": ", 1) if static else merged


def _number_pairs(a: str, b: str) -> list[tuple[str, str]] | None:
    """The (old, new) numbers of two labels that differ only in numbers, else ``None``."""
    ta, tb = _tokens(a), _tokens(b)
    if len(ta) != len(tb):
        return None
    pairs = []
    for x, y in zip(ta, tb, strict=True):
        if x != y:
            if not (_is_number(x) and _is_number(y)):
                return None
            pairs.append((x, y))
    return pairs


def _same_number(x: str, y: str) -> bool:
    try:
        return float(x) == float(y)
    except ValueError:
        return False


@dataclass
class Unified:
    """The merged model, what to mark, and the plain-words account of the change."""

    model: Model
    hot: frozenset[str]  # nodes drawn red: the causes (or every changed node)
    changed_nodes: int
    changed_edges: int
    substitution: dict[str, str]  # one consistent dimension change, e.g. {"32": "64"}
    causes: list[str]  # names of the inputs, statics and outputs behind the change
    follow: int  # node labels that only repeat the substitution (shape=(32→64, 128))


def _tree(cl: Cluster) -> tuple:
    """The cluster structure, numbers blanked: two models must share it to be merged."""
    return (cl.kind, _skeleton(cl.label), tuple(
        _tree(i) if isinstance(i, Cluster) else (i.kind, _skeleton(i.label)) for i in cl.items))


def pair_nodes(a: Model, b: Model) -> dict[str, str] | None:
    """B's node id -> A's, when the two models have one structure; else ``None``."""
    na, nb = a.nodes(), b.nodes()
    if len(na) != len(nb) or _tree(a.root)[2] != _tree(b.root)[2]:  # root label: title
        return None
    b2a = {y.id: x.id for x, y in zip(na, nb, strict=True)}
    ea = [(s, d, st) for s, d, _, st in a.edges]
    eb = [(b2a.get(s), b2a.get(d), st) for s, d, _, st in b.edges]
    return b2a if ea == eb else None


def _substitution(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    """One old -> new number map explaining every pair, or ``None`` if there is none."""
    sub: dict[str, str] = {}
    for old, new in pairs:
        if sub.setdefault(old, new) != new or not old.isdigit() or not new.isdigit():
            return None
    return sub if len(set(sub.values())) == len(sub) else None


def _explained(pairs: list[tuple[str, str]] | None, sub: dict[str, str]) -> bool:
    """Whether a node label change only repeats the dimension substitution."""
    return bool(pairs) and all(any(_same_number(o, k) and _same_number(n, v)
                                   for k, v in sub.items()) for o, n in pairs or ())


def _name(node: Node) -> list[str]:
    """What to call a cause: an input's or output's name, a static box's changed names."""
    if node.kind == "static":
        return [ln.split(":")[0] for ln in node.label.split("\n")[1:] if ARROW in ln]
    return [node.label.split(" #")[0]]


def unify(a: Model, b: Model) -> Unified | None:
    """A's model with B's differing labels merged in, or ``None`` when structures differ."""
    b2a = pair_nodes(a, b)
    if b2a is None:
        return None
    by_a = {b2a[n.id]: n for n in b.nodes()}
    edges: list[tuple[str, str, str, str]] = []
    shape_pairs: list[tuple[str, str]] = []
    ends: set[str] = set()
    changed_edges = 0
    for (s, d, la, st), (_, _, lb, _) in zip(a.edges, b.edges, strict=True):
        if la != lb:
            changed_edges += 1
            shape_pairs += _number_pairs(la, lb) or [("", "")]
            ends.update((s, d))
            edges.append((s, d, merge_label(la, lb), "changed"))
        else:
            edges.append((s, d, la, st))
    sub = _substitution(shape_pairs) if shape_pairs else {}
    changed: dict[str, Node] = {}

    def merged(cl: Cluster) -> Cluster:
        items: list[Node | Cluster] = []
        for item in cl.items:
            if isinstance(item, Cluster):
                items.append(merged(item))
                continue
            other = by_a[item.id].label
            if other != item.label:
                item = replace(item, label=merge_label(item.label, other, item.kind == "static"))
                changed[item.id] = item
            items.append(item)
        return replace(cl, items=items)

    original = {n.id: n.label for n in a.nodes()}
    model = replace(a, root=merged(a.root), edges=edges, notes=[])
    nodes = {n.id: n for n in model.nodes()}
    follow = 0
    if sub is not None and shape_pairs:
        # an input used only further down is drawn there as its ghost: the ghost's edge counts
        ends |= {nodes[n].ref for n in ends if nodes[n].ref in nodes}
        hot = {n for n in ends if nodes[n].kind in ("input", "output")}
        for nid in changed:
            if _explained(_number_pairs(original[nid], by_a[nid].label), sub):
                follow += 1  # shape=(32→64, 128): the substitution again, not a cause
            else:
                hot.add(nid)
        hot |= {n.id for n in nodes.values() if n.ref in hot}  # the same value, drawn again
    else:
        hot = set(changed) | ends
    causes = [name for n in nodes.values() if n.id in hot and n.kind in ("input", "static")
              for name in _name(n)]
    causes += [n.label for n in nodes.values() if n.id in hot and n.kind == "output"]
    return Unified(model, frozenset(hot), len(changed), changed_edges, sub or {}, causes,
                   follow)

