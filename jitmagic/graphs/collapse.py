"""Collapsing clusters of a drawn model: a phase or a function becomes one node.

A real train step is three stories (forward, backward, update); reading one is easier with
the others folded away. Collapsing works on the finished `Model`, so it needs no retrace:
the cluster is replaced by one ``collapsed`` node whose id is the cluster's id (the page
can expand it again by that id), edges into or out of the cluster are re-pointed at that
node, and edges inside it disappear. Clusters are named by id (``c3``, what the explorer
sends) or by their label's first word (``backward``, ``update``, ``_block``: what a user
types).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from jitmagic.graphs.model import Cluster, Edge, Model, Node


class UnknownCluster(ValueError):
    """A name given to ``collapse`` that no cluster of the graph has."""


def _name_of(cl: Cluster) -> str:
    """A cluster's short name: its label's first word (``backward: loss -> gradients``)."""
    head = cl.label.split("\n")[0]
    return head.split(":")[0].split(" ")[0].strip()


def clusters(model: Model) -> list[Cluster]:
    """Every cluster under the root, outermost first."""
    out: list[Cluster] = []

    def walk(cl: Cluster) -> None:
        for item in cl.items:
            if isinstance(item, Cluster):
                out.append(item)
                walk(item)

    walk(model.root)
    return out


def resolve(model: Model, names: Iterable[str]) -> list[str]:
    """The ids of the clusters ``names`` mean; an unknown name raises, listing the known."""
    every = clusters(model)
    ids: list[str] = []
    for name in names:
        hits = [c.id for c in every if name in (c.id, _name_of(c))]
        if not hits:
            known = sorted({_name_of(c) for c in every} - {""})
            raise UnknownCluster(f"no cluster named {name!r} in this graph; it has: "
                             f"{', '.join(known) or '(no clusters)'}")
        ids += [h for h in hits if h not in ids]
    return ids


def _summary(cl: Cluster, inside: int) -> Node:
    head = cl.label.split("\n")[0] or cl.kind
    return Node(cl.id, "collapsed", f"\u25b8 {head}\n({inside} nodes collapsed)",
                f"{cl.label}\n{inside} nodes inside (the explorer expands it on a click)")


def collapse(model: Model, ids: Iterable[str]) -> Model:
    """A copy of ``model`` with each cluster in ``ids`` drawn as one node.

    Ghosts stand for long edges; once a side of one is a single node the edge is short, so
    it is drawn for real: a ghost inside a collapsed cluster becomes an edge from its source
    into the summary, and a ghost of a hidden value becomes an edge out of the summary.
    """
    wanted = set(ids)
    moved = {n.id: cl.id for cl in reversed(clusters(model)) if cl.id in wanted
             for n in model.nodes(cl)}  # inner first, so an outer collapsed cluster wins
    if not moved:
        return model
    ghosts = [n for n in model.nodes() if n.kind == "ghost" and n.ref]
    extra = [(moved.get(g.ref, g.ref), moved[g.id], "", "") for g in ghosts if g.id in moved]
    moved.update((g.id, moved[g.ref]) for g in ghosts if g.ref in moved and g.id not in moved)

    def rebuild(cl: Cluster) -> Cluster:
        items: list[Node | Cluster] = []
        for item in cl.items:
            if isinstance(item, Cluster):
                items.append(_summary(item, len(model.nodes(item))) if item.id in wanted
                             else rebuild(item))
            elif item.id not in moved:  # ghosts of hidden values are edges now
                items.append(item)
        return replace(cl, items=items)

    return replace(model, root=rebuild(model.root), edges=_edges(model.edges + extra, moved))


def _edges(edges: list[Edge], moved: dict[str, str]) -> list[Edge]:
    """Edges re-pointed at the summaries; inside and duplicate edges dropped."""
    out: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for src, dst, label, style in edges:
        s, d = moved.get(src, src), moved.get(dst, dst)
        key = (s, d, style)
        if s == d or key in seen:
            continue
        seen.add(key)
        out.append((s, d, label, style))
    return out
