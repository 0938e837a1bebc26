"""Walking a jaxpr into a drawable model (`model`), following the fold plan.

The drawing state and primitives (nodes, edges, ghosts) are `draw.Drawing`; a
`draw.Place` says which cluster eqns go in (`phased.Scopes`: scope clusters). Nested jaxprs become
clusters until ``depth`` or the node budget, then one summary node with the op count.
Edges into and out of a nested jaxpr carry the operand's role from ``eqn_roles``
(``carry: f32[]``, ``xs: f32[] (slice of f32[5])``, ``operand: f32[3]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.draw import Drawing, Place, Src
from jitmagic.graphs.fold import plan_eqns
from jitmagic.graphs.model import (
    TIMES,
    Cluster,
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

_CALL_PRIMS = ("jit", "pjit", "closed_call", "core_call")


class Walker(Drawing):
    """Walks jaxprs into the drawing: eqns, folds, nested jaxprs as clusters."""

    def consts(self, jaxpr: Jaxpr, consts: Sequence[Any], env: dict[Any, Src],
               cl: Cluster) -> None:
        """A small node per const of a jaxpr."""
        for k, v in enumerate(jaxpr.constvars):
            shown = fmt_value(consts[k]) if k < len(consts) else ""
            nid = self.node(cl, "const", f"const {short_aval(v)}", shown)
            env[v] = Src(nid, -1, f"const{k}")

    def walk(self, jaxpr: Jaxpr, consts: Sequence[Any], env: dict[Any, Src], cl: Cluster,
             level: int) -> None:
        """Draw a jaxpr's eqns into ``cl``; ``env`` already holds its invars."""
        self.consts(jaxpr, consts, env, cl)
        self.walk_range(jaxpr, plan_eqns(jaxpr), env, Place(cl), level)

    def walk_range(self, jaxpr: Jaxpr, plan: Sequence[tuple[str, int, int, int]],
                   env: dict[Any, Src], place: Place, level: int) -> None:
        """Draw a plan's eqns where ``place`` puts them, until ``self.limit`` nodes."""
        for kind, a, b, reps in plan:
            if self.n_nodes > self.limit:
                end = plan[-1][1] + (plan[-1][2] - plan[-1][1]) * max(plan[-1][3], 1)
                rest = sum(1 + sum(count_eqns(j) for _, j, _ in subjaxprs(e))
                           for e in jaxpr.eqns[a:end])
                self.stats["not_drawn"] += rest
                self.span(jaxpr, a, end, env, place.at(a, end),
                          f"... {rest} more ops not drawn (max_nodes={self.max_nodes})")
                return
            if kind == "eqn":
                self.eqn(jaxpr.eqns[a], a, env, place.at(a, b), level)
            elif kind == "fold":
                self.fold(jaxpr, a, b, reps, env, place, level)
            else:
                prims = list(dict.fromkeys(e.primitive.name for e in jaxpr.eqns[a:b]))
                self.stats["elided"] += b - a
                self.span(jaxpr, a, b, env, place.at(a, b),
                          f"... {b - a} elementwise ops ...\n{', '.join(prims[:4])}")

    def fold(self, jaxpr: Jaxpr, s: int, e: int, reps: int, env: dict[Any, Src], place: Place,
             level: int) -> None:
        """Draw the first block of a repeated run; later blocks' vars alias its nodes."""
        p = e - s
        end = s + p * reps
        what = place.name(s, end)
        box = self.cluster(place.at(s, end), "fold",
                           f"{TIMES}{reps} {what + ': ' if what else ''}block of {p} ops, "
                           f"repeated {reps} times (first shown)")
        for i in range(s, e):
            self.eqn(jaxpr.eqns[i], i, env, box, level)
        for j in range(e, s + p * reps):
            first = jaxpr.eqns[s + (j - s) % p]
            for v, w in zip(jaxpr.eqns[j].outvars, first.outvars, strict=True):
                if w in env:
                    env[v] = Src(env[w].node, j, env[w].name)
        self.stats["folded"] += p * (reps - 1)
        self.stats["fold_runs"] += 1

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

