"""The mutable state and primitives of one drawing: nodes, clusters, edges, ghosts.

Ids come from counters, never ``id()``, so the DOT is deterministic and golden-testable.
A use far from its producer becomes a numbered ghost (``↪ select_n #3``) whose source
node carries the same ``#3``, and which keeps the source's id in ``ref`` so the page can
highlight both on hover. `walk.Walker` builds on these to walk jaxprs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.fold import is_long_range
from jitmagic.graphs.model import Cluster, Node, fmt_value, short_aval
from jitmagic.ledger import jaxcompat as _jaxcompat


class Place:
    """Which cluster eqns ``[a, b)`` of the jaxpr being walked go in, and what they are
    called; this default puts all in one. `phased.Scopes` puts them in scope clusters."""

    def __init__(self, cl: Cluster) -> None:
        self.cl = cl

    def at(self, a: int, b: int) -> Cluster:
        return self.cl

    def name(self, a: int, b: int) -> str:
        return ""


@dataclass
class Src:
    """Where a var's value is drawn: node id, eqn position in its jaxpr, ghost name."""

    node: str
    pos: int
    name: str


class Drawing:
    """Mutable naming state of one drawing (counters), apart from its settings."""

    def __init__(self, *, depth: int, max_nodes: int, show_shapes: bool, ghosts: bool,
                 statics: Mapping[str, object], where: tuple[str | None, int]) -> None:
        self.depth, self.max_nodes, self.show_shapes = depth, max_nodes, show_shapes
        self.ghosts, self.statics, self.where = ghosts, statics, where
        self.n_nodes = self.n_clusters = 0
        self.limit = max_nodes  # the node count past which the rest of a jaxpr is one node
        self.by_id: dict[str, Node] = {}
        self.numbers: dict[str, int] = {}  # node id -> its "#k", once a ghost points at it
        self.edges: list[tuple[str, str, str, str]] = []
        self.labels: dict[Any, str] = {}  # var -> its role label (``carry: f32[]``)
        self.static_node: str | None = None
        self.stats = {"folded": 0, "fold_runs": 0, "elided": 0, "collapsed": 0, "not_drawn": 0,
                      "ghosts": 0, "coarse": 0}

    def node(self, cl: Cluster, kind: str, label: str, tooltip: str = "", ref: str = "") -> str:
        nid = f"n{self.n_nodes}"
        self.n_nodes += 1
        self.by_id[nid] = Node(nid, kind, label, tooltip, ref)
        cl.items.append(self.by_id[nid])
        return nid

    def nodes_in(self, cl: Cluster) -> list[Node]:
        """Every node under a cluster."""
        out: list[Node] = []
        for item in cl.items:
            out += self.nodes_in(item) if isinstance(item, Cluster) else [item]
        return out

    def number(self, nid: str) -> str:
        """The ``#k`` of a node a ghost points at; its label gets the same ``#k``."""
        if nid not in self.numbers:
            self.numbers[nid] = len(self.numbers) + 1
            node = self.by_id[nid]
            head, sep, rest = node.label.partition("\n")
            node.label = f"{head} #{self.numbers[nid]}{sep}{rest}"
        return f"#{self.numbers[nid]}"

    def cluster(self, parent: Cluster, kind: str, label: str) -> Cluster:
        self.n_clusters += 1
        sub = Cluster(f"c{self.n_clusters}", kind, label)
        parent.items.append(sub)
        return sub

    def edge(self, src: str, dst: str, var: Any = None, style: str = "",
             label: str | None = None) -> None:
        if label is None:
            label = self.labels.get(var) if var is not None else ""
        if label is None:
            label = short_aval(var) if self.show_shapes else ""
        self.edges.append((src, dst, label, style))

    def role_label(self, role: str, var: Any, whole: Any = None) -> str:
        """``carry: f32[]``; ``xs: f32[] (slice of f32[5])`` when the outer value is bigger."""
        if not self.show_shapes:
            return role
        text, outer = f"{role}: {short_aval(var)}", short_aval(whole) if whole else ""
        return f"{text} (slice of {outer})" if outer and outer != short_aval(var) else text

    def literal(self, lit: Any, cl: Cluster) -> str:
        """A small literal node; yellow and linked to the static box when it is a static."""
        text = fmt_value(lit.val)
        for name, value in self.statics.items():
            if (isinstance(value, int | float) and np.ndim(lit.val) == 0 and self.static_node
                    and np.asarray(lit.val).item() == value):
                nid = self.node(cl, "static_lit", text, f"the static {name} = {value!r}")
                self.edges.append((self.static_node, nid, name, "static"))
                return nid
        return self.node(cl, "literal", text, short_aval(lit))

    def out_label(self, role: str, v: Any) -> str | None:
        """A sub-jaxpr result's label: its own role, never the role of the invar it passes on."""
        if role:
            return self.role_label(role, v)
        if v in self.labels:
            return short_aval(v) if self.show_shapes else ""
        return None

    def use(self, v: Any, dst: str, env: dict[Any, Src], cl: Cluster, pos: int | None,
            label: str | None = None) -> None:
        """Draw one operand: literal node, edge from its producer, or a ghost near ``dst``."""
        if isinstance(v, Literal):
            self.edge(self.literal(v, cl), dst, label=label)
            return
        src = env[v]
        if self.ghosts and pos is not None and is_long_range(pos, src.pos):
            self.stats["ghosts"] += 1
            name = f"{src.name} {self.number(src.node)}"
            tip = f"{name}: {self.by_id[src.node].tooltip or src.name}".strip()
            ghost = self.node(cl, "ghost", f"↪ {name}", f"{tip}\n(drawn above)", src.node)
            self.edge(ghost, dst, v, label=label)
        else:
            self.edge(src.node, dst, v, label=label)

    def tooltip(self, eqn: Any, site: Any = None) -> str:
        """Primitive, result types and the user line (of ``site`` when given)."""
        head = f"{eqn.primitive.name} -> {', '.join(short_aval(v) for v in eqn.outvars)}"
        frame = _jaxcompat.user_source_line((site or eqn).source_info)
        if frame is None:
            return head
        file, line, func = frame
        if self.where[0] is not None and file == self.where[0]:
            return f"{head}\ncell line {line - self.where[1]}"
        return f"{head}\n{file}:{line} ({func})"


    def span(self, jaxpr: Jaxpr, a: int, b: int, env: dict[Any, Src], cl: Cluster,
             label: str, name: str = "") -> None:
        """Eqns ``[a, b)`` as one node fed by (at most 8 of) their outside operands;
        ghosts of its results say ``name`` (default: its label's first line)."""
        made: set[Any] = set()
        ext: dict[Any, None] = {}
        for eqn in jaxpr.eqns[a:b]:
            ext.update((v, None) for v in eqn.invars
                       if not isinstance(v, Literal) and v not in made and v in env)
            made.update(eqn.outvars)
        more = f"\n(+{len(ext) - 8} more inputs)" if len(ext) > 8 else ""
        nid = self.node(cl, "span", label + more)
        for v in list(ext)[:8]:
            self.use(v, nid, env, cl, a)
        name = name or label.split("\n")[0].strip(". ")
        for eqn in jaxpr.eqns[a:b]:
            for v in eqn.outvars:
                env[v] = Src(nid, b - 1, name)
