"""Two graphs of one function, compared: what differs, in a picture that fits a cell.

Nodes are matched by ``(kind, label, shapes on their edges)`` in emission order (a
longest-common-subsequence match), so the same function traced with two static values
differs exactly in the static box and the literals the static became, and a new input
shape marks the nodes whose operands or results changed shape.

Side by side, two train-step graphs made a 7,000 px wide picture. So the entries are
stacked (A above B), and once a graph is big only the differing nodes are drawn, with
one level of context (their direct neighbours); the footer says how many were left out.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from jitmagic.graphs.dot import body, to_dot
from jitmagic.graphs.model import Cluster, Model, Node, stack_edges
from jitmagic.graphs.render import JaxprGraph

CONTEXT_FROM = 40  # graphs with more nodes than this show only differences + context


def _diff_keys(model: Model, nodes: list[Node]) -> list[tuple]:
    """What must be equal for two nodes to count as the same: kind, label, edge shapes."""
    edge_labels: dict[str, list[str]] = {}
    for src, dst, label, style in model.edges:
        if style != "invis":
            edge_labels.setdefault(src, []).append("out:" + label)
            edge_labels.setdefault(dst, []).append("in:" + label)
    # ghost numbers depend on drawing order, not on what the value is
    return [(n.kind, n.label.split(" #")[0] if n.kind == "ghost" else n.label,
             tuple(sorted(edge_labels.get(n.id, ())))) for n in nodes]


def _context(model: Model, hot: frozenset[str]) -> set[str]:
    """The differing nodes and their direct neighbours (phase anchors: see `_shown`)."""
    keep = set(hot)
    for src, dst, _, style in model.edges:
        if style != "invis" and (src in hot or dst in hot):
            keep.update((src, dst))
    return keep


def _prune(cl: Cluster, keep: set[str]) -> Cluster | None:
    """A copy of ``cl`` with only the kept nodes; clusters left empty are dropped."""
    items: list[Node | Cluster] = []
    for item in cl.items:
        if isinstance(item, Cluster):
            sub = _prune(item, keep)
            if sub is not None:
                items.append(sub)
        elif item.id in keep:
            items.append(item)
    return replace(cl, items=items) if items else None


def _shown(model: Model, hot: frozenset[str], small: bool) -> tuple[Model, int]:
    """The part of a model the diff draws, and how many nodes it leaves out."""
    if small or not hot:
        return model, 0
    keep = _context(model, hot)
    root = _prune(model.root, keep) or Cluster(model.root.id, model.root.kind, "")
    edges = [e for e in model.edges if e[3] != "invis" and e[0] in keep and e[1] in keep]
    phases = [c for c in root.items if isinstance(c, Cluster) and c.kind.startswith("phase_")]
    gaps = [Node(f"gap{k}", "anchor", "") for k in range(1, len(phases))]
    root.items += gaps  # the kept phases stay stacked, as in the full graph
    edges += stack_edges([[n.id for n in model.nodes(p)] for p in phases], edges,
                         [g.id for g in gaps])
    return replace(model, root=root, edges=edges), len(model.nodes()) - len(keep)


def _stack(a: Model, b: Model) -> list[str]:
    """Invisible edges that put B below A: A's bottom nodes -> a gap -> B's top nodes."""
    a_ids = [f"a_{n.id}" for n in a.nodes()]
    b_ids = [f"b_{n.id}" for n in b.nodes()]
    edges = [(f"a_{s}", f"a_{d}", lb, st) for s, d, lb, st in a.edges]
    edges += [(f"b_{s}", f"b_{d}", lb, st) for s, d, lb, st in b.edges]
    if not a_ids or not b_ids:
        return []
    lines = ['  a_b_gap [shape=point style=invis width=0 height=0 label=""]']
    return lines + [f"  {s} -> {d} [style=invis]" for s, d, _, _ in
                    stack_edges([a_ids, b_ids], edges, ["a_b_gap"])]


def diff_graphs(a: JaxprGraph, b: JaxprGraph) -> JaxprGraph:
    """Entry A above entry B; nodes (and their edges) that do not match are red."""
    ma, mb = a.model, b.model
    na, nb = ma.nodes(), mb.nodes()
    matcher = difflib.SequenceMatcher(None, _diff_keys(ma, na), _diff_keys(mb, nb),
                                      autojunk=False)
    same_a: set[str] = set()
    same_b: set[str] = set()
    for blk in matcher.get_matching_blocks():
        same_a.update(n.id for n in na[blk.a : blk.a + blk.size])
        same_b.update(n.id for n in nb[blk.b : blk.b + blk.size])
    hi_a = frozenset(n.id for n in na) - same_a
    hi_b = frozenset(n.id for n in nb) - same_b
    small = len(na) + len(nb) <= 2 * CONTEXT_FROM
    show_a, left_a = _shown(ma, hi_a, small)
    show_b, left_b = _shown(mb, hi_b, small)
    body_lines = [*body(show_a, "a_", hi_a, f"A: {ma.title or 'first'}"),
                  *body(show_b, "b_", hi_b, f"B: {mb.title or 'second'}"),
                  *_stack(show_a, show_b)]
    n_diff = len(hi_a) + len(hi_b)
    notes = [f"{n_diff} node(s) differ (red)"]
    if left_a + left_b:
        notes.append(f"{left_a + left_b} matching node(s) not drawn: only differences and "
                     "their neighbours")
    model = Model(Cluster("root", "root", "diff"), [], notes, ma.rankdir,
                  f"{ma.title} vs {mb.title}")
    summary = f"JaxprGraph diff {ma.title!r} vs {mb.title!r}: {n_diff} node(s) differ"
    text = "A:\n" + a.text + "\nB:\n" + b.text
    return JaxprGraph(to_dot(model, body_lines), summary, text,
                      len(show_a.nodes()) + len(show_b.nodes()),
                      {"differing_nodes": n_diff, "not_drawn_same": left_a + left_b,
                       "a": a.info, "b": b.info}, model)
