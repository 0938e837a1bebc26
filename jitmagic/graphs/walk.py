"""Walking a jaxpr into a drawable model (`_graphmodel`), following the fold plan.

Mutable naming state (node and cluster counters) lives in one ``Walker`` per drawing,
apart from its settings, as in JAX's own printer; ids come from counters, never
``id()``, so the DOT is deterministic and golden-testable. Nested jaxprs become
clusters until ``depth`` or the node budget, then one summary node with the op count.
Edges into and out of a nested jaxpr carry the operand's role from ``eqn_roles``
(``carry: f32[]``, ``xs: f32[] (slice of f32[5])``, ``operand: f32[3]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.fold import is_long_range, plan_eqns
from jitmagic.graphs.model import (
    TIMES,
    Cluster,
    Node,
    Roles,
    SubWiring,
    count_eqns,
    eqn_params_text,
    eqn_roles,
    fmt_value,
    short_aval,
    sub_wiring,
    subjaxprs,
)
from jitmagic.ledger import jaxcompat as _jaxcompat

_CALL_PRIMS = ("jit", "pjit", "closed_call", "core_call")


@dataclass
class Src:
    """Where a var's value is drawn: node id, eqn position in its jaxpr, ghost name."""

    node: str
    pos: int
    name: str


class Walker:
    """Mutable naming state of one drawing (counters), apart from its settings."""

    def __init__(self, *, depth: int, max_nodes: int, show_shapes: bool, ghosts: bool,
                 statics: Mapping[str, object], where: tuple[str | None, int]) -> None:
        self.depth, self.max_nodes, self.show_shapes = depth, max_nodes, show_shapes
        self.ghosts, self.statics, self.where = ghosts, statics, where
        self.n_nodes = self.n_clusters = 0
        self.edges: list[tuple[str, str, str, str]] = []
        self.labels: dict[Any, str] = {}  # var -> its role label (``carry: f32[]``)
        self.static_node: str | None = None
        self.stats = {"folded": 0, "fold_runs": 0, "elided": 0, "collapsed": 0, "not_drawn": 0,
                      "ghosts": 0}

    def node(self, cl: Cluster, kind: str, label: str, tooltip: str = "") -> str:
        nid = f"n{self.n_nodes}"
        self.n_nodes += 1
        cl.items.append(Node(nid, kind, label, tooltip))
        return nid

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
            ghost = self.node(cl, "ghost", f"↪ {src.name}", f"{src.name}, drawn above")
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

    def walk(self, jaxpr: Jaxpr, consts: Sequence[Any], env: dict[Any, Src], cl: Cluster,
             level: int) -> None:
        """Draw a jaxpr's eqns into ``cl``; ``env`` already holds its invars."""
        for k, v in enumerate(jaxpr.constvars):
            shown = fmt_value(consts[k]) if k < len(consts) else ""
            nid = self.node(cl, "const", f"const {short_aval(v)}", shown)
            env[v] = Src(nid, -1, f"const{k}")
        for kind, a, b, reps in plan_eqns(jaxpr):
            if self.n_nodes > self.max_nodes:
                rest = sum(1 + sum(count_eqns(j) for _, j, _ in subjaxprs(e))
                           for e in jaxpr.eqns[a:])
                self.stats["not_drawn"] += rest
                self.span(jaxpr, a, len(jaxpr.eqns), env, cl,
                          f"... {rest} more ops not drawn (max_nodes={self.max_nodes})")
                return
            if kind == "eqn":
                self.eqn(jaxpr.eqns[a], a, env, cl, level)
            elif kind == "fold":
                self.fold(jaxpr, a, b, reps, env, cl, level)
            else:
                prims = list(dict.fromkeys(e.primitive.name for e in jaxpr.eqns[a:b]))
                self.stats["elided"] += b - a
                self.span(jaxpr, a, b, env, cl,
                          f"... {b - a} elementwise ops ...\n{', '.join(prims[:4])}")

    def fold(self, jaxpr: Jaxpr, s: int, e: int, reps: int, env: dict[Any, Src], cl: Cluster,
             level: int) -> None:
        """Draw the first block of a repeated run; later blocks' vars alias its nodes."""
        p = e - s
        box = self.cluster(cl, "fold", f"{TIMES}{reps}  block of {p} ops, repeated {reps} times "
                                       f"(first shown)")
        for i in range(s, e):
            self.eqn(jaxpr.eqns[i], i, env, box, level)
        for j in range(e, s + p * reps):
            first = jaxpr.eqns[s + (j - s) % p]
            for v, w in zip(jaxpr.eqns[j].outvars, first.outvars, strict=True):
                if w in env:
                    env[v] = Src(env[w].node, j, env[w].name)
        self.stats["folded"] += p * (reps - 1)
        self.stats["fold_runs"] += 1

    def span(self, jaxpr: Jaxpr, a: int, b: int, env: dict[Any, Src], cl: Cluster,
             label: str) -> None:
        """Eqns ``[a, b)`` as one node fed by (at most 8 of) their outside operands."""
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
        for eqn in jaxpr.eqns[a:b]:
            for v in eqn.outvars:
                env[v] = Src(nid, b - 1, "...")

    def eqn(self, eqn: Any, i: int, env: dict[Any, Src], cl: Cluster, level: int) -> None:
        """One eqn: a plain node, an inlined trivial call, a nested cluster, or a summary."""
        subs = subjaxprs(eqn)
        inner = subs[0][1] if len(subs) == 1 else None
        if (inner is not None and eqn.primitive.name in _CALL_PRIMS and len(inner.eqns) == 1
                and not subs[0][2] and len(inner.invars) == len(eqn.invars)
                and list(inner.eqns[0].outvars) == list(inner.outvars)
                and not subjaxprs(inner.eqns[0])):
            sub_in = dict(zip(inner.invars, eqn.invars, strict=True))
            operands = [v if isinstance(v, Literal) else sub_in.get(v, v)
                        for v in inner.eqns[0].invars]
            via = f"\n(in {eqn.primitive.name} {eqn.params.get('name', '')})".rstrip()
            self.plain(inner.eqns[0], operands, eqn.outvars, i, env, cl, via,
                       tip=self.tooltip(inner.eqns[0], eqn))
            return
        if not subs:
            self.plain(eqn, eqn.invars, eqn.outvars, i, env, cl)
            return
        n_inner = sum(count_eqns(j) for _, j, _ in subs)
        if level < self.depth and self.n_nodes + n_inner <= self.max_nodes:
            self.nested(eqn, i, env, cl, level, subs)
            return
        self.stats["collapsed"] += 1
        self.plain(eqn, eqn.invars, eqn.outvars, i, env, cl, f"\n[{n_inner} ops inside]",
                   "summary", roles=eqn_roles(eqn))

    def plain(self, eqn: Any, operands: Sequence[Any], outs: Sequence[Any], i: int,
              env: dict[Any, Src], cl: Cluster, suffix: str = "", kind: str = "eqn",
              tip: str = "", roles: Roles | None = None) -> None:
        params = eqn_params_text(eqn)
        label = eqn.primitive.name + (f"\n{params}" if params else "") + suffix
        nid = self.node(cl, kind, label, tip or self.tooltip(eqn))
        for j, v in enumerate(operands):
            role = roles.operands[j] if roles else ""
            self.use(v, nid, env, cl, i, self.role_label(role, v) if role else None)
        self.results(eqn, outs, nid, i, env, roles)

    def results(self, eqn: Any, outs: Sequence[Any], nid: str, i: int, env: dict[Any, Src],
                roles: Roles | None) -> None:
        """Bind an eqn's results to its node; role-named results keep their role label."""
        for k, v in enumerate(outs):
            env[v] = Src(nid, i, eqn.primitive.name)
            if roles and roles.results[k]:
                self.labels[v] = self.role_label(roles.results[k], v)

    def nested(self, eqn: Any, i: int, env: dict[Any, Src], cl: Cluster, level: int,
               subs: list[tuple[str, Jaxpr, list[Any]]]) -> None:
        """A cluster per nested eqn; its op node gathers the results of every sub-jaxpr."""
        params = eqn_params_text(eqn)
        box = self.cluster(cl, "nested", f"{eqn.primitive.name} {params}".strip())
        op = self.node(box, "op", eqn.primitive.name + (f"\n{params}" if params else ""),
                       self.tooltip(eqn))
        roles, fed = eqn_roles(eqn), set[int]()
        for name, sub, consts in subs:
            wiring = sub_wiring(roles, name, eqn.invars, sub)
            inner_cl = self.cluster(box, "branch", wiring.label) if len(subs) > 1 else box
            inner_env = self.bind(eqn.invars, sub, wiring, roles, env, inner_cl)
            fed.update(j for j in wiring.ins if j is not None)
            self.walk(sub, consts, inner_env, inner_cl, level + 1)
            if not sub.eqns:
                self.pass_through(sub, inner_env, inner_cl)
            for ov, role in zip(sub.outvars, wiring.outs, strict=True):
                self.use(ov, op, inner_env, inner_cl, len(sub.eqns), self.out_label(role, ov))
        for j, v in enumerate(eqn.invars):
            if j not in fed:
                role = roles.operands[j] if roles else ""
                self.use(v, op, env, cl, i, self.role_label(role, v) if role else None)
        self.results(eqn, eqn.outvars, op, i, env, roles)

    def bind(self, outer: Sequence[Any], sub: Jaxpr, wiring: SubWiring, roles: Roles | None,
             env: dict[Any, Src], cl: Cluster) -> dict[Any, Src]:
        """A sub-jaxpr's env: each invar drawn where its outer operand is (or a port node),
        labelled with the operand's role, so edges into the body read ``carry: f32[]``."""
        inner_env: dict[Any, Src] = {}
        for k, iv in enumerate(sub.invars):
            j = wiring.ins[k]
            ov = outer[j] if j is not None else None
            if ov is None:
                port = self.node(cl, "port", f"{wiring.label}.in{k}", short_aval(iv))
                inner_env[iv] = Src(port, -1, f"{wiring.label}.in{k}")
            elif isinstance(ov, Literal):
                inner_env[iv] = Src(self.literal(ov, cl), -1, fmt_value(ov.val))
            else:
                inner_env[iv] = Src(env[ov].node, -1, env[ov].name)
            if roles and j is not None and roles.operands[j]:
                self.labels[iv] = self.role_label(roles.operands[j], iv, ov)
        return inner_env

    def pass_through(self, sub: Jaxpr, inner_env: dict[Any, Src], cl: Cluster) -> None:
        """An eqn-less sub-jaxpr (an identity branch) as a note its values flow through,
        so its cluster is drawn (Graphviz drops empty clusters) and the reader sees it."""
        nid = self.node(cl, "pass", "no ops:\nvalues pass through")
        for v in dict.fromkeys(v for v in sub.outvars if not isinstance(v, Literal)):
            self.use(v, nid, inner_env, cl, None)
            inner_env[v] = Src(nid, -1, inner_env[v].name)

