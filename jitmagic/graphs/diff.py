"""Two graphs of one function, compared: what differs, in a picture that fits a cell.

Nodes are matched by ``(kind, label, shapes on their edges)`` in emission order (a
longest-common-subsequence match), so the same function traced with two static values
differs exactly in the static box and the literals the static became, and a new input
shape marks the nodes whose operands or results changed shape.

Side by side, two train-step graphs made a 7,000 px wide picture. So when the two
graphs have one structure (a new static value, a new batch size) they are drawn as ONE
graph with the changes written ``A → B`` in place (`unify`); otherwise the entries are
stacked (A above B). Either way, once a graph is big only the differing nodes (for a
dimension substitution: its causes) are drawn, with one level of context (their direct
neighbours); the footer says how many were left out and, in plain words, what changed.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from jitmagic.graphs.dot import GHOST_NOTE, body, to_dot
from jitmagic.graphs.model import Cluster, Model, Node, stack_edges
from jitmagic.graphs.render import JaxprGraph
from jitmagic.graphs.unify import ARROW, Unified, unify

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


def _account(u: Unified, a: JaxprGraph, b: JaxprGraph) -> str:
    """What changed between two graphs of one structure, in plain words."""
    n_a, n_b = a.info.get("n_eqns"), b.info.get("n_eqns")
    same = f"same {n_a} eqns" if n_a is not None and n_a == n_b else "same structure"
    if u.substitution:
        subs = ", ".join(f"{k} {ARROW} {v}" for k, v in u.substitution.items())
        causes = f" (from {', '.join(dict.fromkeys(u.causes))})" if u.causes else ""
        return f"{same}; every shape change is {subs}{causes}"
    nodes = u.model.nodes()
    what = dict.fromkeys(ln for n in nodes if n.id in u.hot
                         for ln in n.label.split("\n") if ARROW in ln)
    if not (what or u.changed_edges):
        return f"{same}; nothing differs"
    shown = ", ".join(list(what)[:3]) + (", ..." if len(what) > 3 else "")
    edges = f"{u.changed_edges} edge shape(s) change" if u.changed_edges else ""
    return f"{same}; " + "; ".join(t for t in (shown, edges) if t)


def _unified(u: Unified, a: JaxprGraph, b: JaxprGraph) -> JaxprGraph:
    """One graph for two of one structure: changes ``A → B`` in place, causes red."""
    small = len(u.model.nodes()) <= CONTEXT_FROM
    shown, left = _shown(u.model, u.hot, small)
    account = _account(u, a, b)
    notes = [account, f"{len(u.hot)} node(s) differ (red)" + (
        f"; {u.follow} eqn label(s) only repeat the shape change" if u.follow else "")]
    if left:
        notes.append(f"{left} matching node(s) not drawn: only differences and their "
                     "neighbours")
    if any(n.kind == "ghost" for n in shown.nodes()):
        notes.append(GHOST_NOTE)
    ma, mb = a.model, b.model
    model = replace(shown, notes=notes, title=f"{ma.title} vs {mb.title}")
    lines = body(model, "", u.hot, f"A: {ma.title or 'first'}\nB: {mb.title or 'second'}")
    summary = f"JaxprGraph diff {ma.title!r} vs {mb.title!r}: {account}"
    return JaxprGraph(to_dot(model, lines), summary, "A:\n" + a.text + "\nB:\n" + b.text,
                      len(shown.nodes()),
                      {"differing_nodes": len(u.hot), "not_drawn_same": left, "unified": True,
                       "changed_edges": u.changed_edges, "substitution": u.substitution,
                       "causes": u.causes, "a": a.info, "b": b.info}, model)


def diff_graphs(a: JaxprGraph, b: JaxprGraph) -> JaxprGraph:
    """One merged graph when A and B share a structure, else A above B; changes red."""
    ma, mb = a.model, b.model
    u = unify(ma, mb)
    if u is not None:
        return _unified(u, a, b)
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
                       "unified": False, "a": a.info, "b": b.info}, model)
