"""ClosedJaxpr -> graph model -> DOT text. Pure: no IPython, no rendering.

Walking is separate from emitting (as in torchview): ``_Walker`` turns a jaxpr into a
model of clusters, nodes and edges with ids from counters, so the DOT is deterministic
and golden-testable; ``_dot`` writes it. Nested jaxprs are found generically in eqn
params (any ClosedJaxpr/Jaxpr or tuple of them), like JAX's own ``jaxprs_in_params``.

Big graphs stay drawable by structure (JAX_FACTS §8): long-range uses become small
"ghost" nodes instead of long edges, runs of identical blocks fold into one "xN" cluster,
long unary chains are elided, nested jaxprs collapse past ``depth`` or the node budget,
and whatever does not fit ``max_nodes`` becomes one "not drawn" node. The picture's
footer says what was folded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

from jitmagic import _jaxcompat
from jitmagic._render import JaxprGraph

GHOST_MIN_EQNS = 60  # below this many eqns every use is a real edge
GHOST_SPAN = 3  # a use more than this many eqns after its producer becomes a ghost
_TIMES = "\u00d7"  # the multiplication sign of "x1000" badges
_CALL_PRIMS = ("jit", "pjit", "closed_call", "core_call")
_NOISY = frozenset({
    "jaxpr", "in_shardings", "out_shardings", "in_layouts", "out_layouts", "donated_invars",
    "ctx_mesh", "keep_unused", "inline", "compiler_options_kvs", "sharding", "out_sharding",
    "precision", "accumulation_type", "algorithm", "preferred_element_type", "weak_type",
    "linear", "unroll", "_split_transpose", "jvp_jaxpr_fun", "jvp_jaxpr_thunk", "num_consts",
    "bwd", "fwd_jaxpr_thunk", "out_trees", "symbolic_zeros", "policy", "prevent_cse",
    "differentiated", "mesh", "in_specs", "out_specs", "check_vma", "auto", "manual_axes",
    "jaxpr_name", "resource_env", "out_dtype", "cond_nconsts", "body_nconsts", "num_carry",
})


def _short_aval(var: Any) -> str:
    aval = getattr(var, "aval", None)
    return aval.str_short(short_dtypes=True) if hasattr(aval, "str_short") else str(aval)


def _fmt_value(val: Any) -> str:
    """A literal or param value, short: ``0.0``, ``(0,)``, ``float32``."""
    if isinstance(val, np.ndarray | np.generic) or hasattr(val, "dtype"):
        arr = np.asarray(val)
        return repr(arr.item()) if arr.ndim == 0 else f"array{arr.shape}"
    if isinstance(val, set | frozenset):
        return "{" + ",".join(sorted(map(str, val))) + "}"
    text = str(getattr(val, "name", val)) if hasattr(val, "itemsize") else repr(val)
    return text if len(text) <= 28 else text[:25] + "..."


def eqn_params_text(eqn: Any) -> str:
    """The few meaningful params of an eqn: short, non-default, not a jaxpr."""
    shown = []
    for key, val in eqn.params.items():
        if key in _NOISY or val is None or val is False or val == () or _jaxprs_of(val):
            continue
        if key == "dimension_numbers" and eqn.primitive.name == "dot_general":
            (lc, rc), (lb, _) = val
            batch = f" batch={tuple(lb)}" if lb else ""
            shown.append(f"contract={tuple(lc)}x{tuple(rc)}{batch}")
            continue
        shown.append(f"{key}={_fmt_value(val)}")
    return " ".join(shown[:3])


def _jaxprs_of(val: Any) -> list[tuple[Jaxpr, list[Any]]]:
    """(jaxpr, consts) pairs held by one param value: ClosedJaxpr, open Jaxpr, or a tuple."""
    if isinstance(val, ClosedJaxpr):
        return [(val.jaxpr, list(val.consts))]
    if isinstance(val, Jaxpr):
        return [(val, [])]
    if isinstance(val, tuple | list) and val and all(
            isinstance(v, ClosedJaxpr | Jaxpr) for v in val):
        return [pair for v in val for pair in _jaxprs_of(v)]
    return []


def subjaxprs(eqn: Any) -> list[tuple[str, Jaxpr, list[Any]]]:
    """Every nested jaxpr of an eqn, labelled by its param (``branches[1]``, ``body_jaxpr``)."""
    found = []
    for key, val in eqn.params.items():
        pairs = _jaxprs_of(val)
        multi = len(pairs) > 1 or isinstance(val, tuple | list)
        found += [(f"{key}[{i}]" if multi else key, j, c) for i, (j, c) in enumerate(pairs)]
    return found


def count_eqns(jaxpr: Jaxpr) -> int:
    """Eqns including those of nested jaxprs."""
    return sum(1 + sum(count_eqns(j) for _, j, _ in subjaxprs(e)) for e in jaxpr.eqns)


@dataclass
class Node:
    """One drawn node; ``kind`` picks its style, ``key`` is what diffs compare."""

    id: str
    kind: str
    label: str
    tooltip: str = ""


@dataclass
class Cluster:
    """A labelled group: the root, a nested jaxpr, a branch, or a fold ("xN")."""

    id: str
    kind: str
    label: str
    items: list[Node | Cluster] = field(default_factory=list)


@dataclass
class Model:
    """What a graph draws: the root cluster, edges ``(src, dst, label, style)``, notes."""

    root: Cluster
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rankdir: str = "TB"
    title: str = ""

    def nodes(self, cluster: Cluster | None = None) -> list[Node]:
        """All nodes in emission order."""
        out: list[Node] = []
        for item in (cluster or self.root).items:
            out += self.nodes(item) if isinstance(item, Cluster) else [item]
        return out


@dataclass
class _Src:
    """Where a var's value is drawn: node id, eqn position in its jaxpr, ghost name."""

    node: str
    pos: int
    name: str


# ---- planning: which eqns are drawn one by one, folded, or elided ---------------------------

FOLD_MAX_PERIOD = 64
FOLD_MIN_REPS = 3
FOLD_MIN_SAVED = 6  # fold only when it hides at least this many eqns
ELIDE_MIN = 8  # unary chains at least this long keep only their ends


def _tokens(jaxpr: Jaxpr) -> tuple[np.ndarray, np.ndarray]:
    """Two ints per eqn: same op, params, types and relative wiring (exact); same but for
    where non-literal operands come from (relaxed, lets a fold start at a loop's first pass).
    """
    where: dict[Any, int] = {v: -1 - k for k, v in enumerate([*jaxpr.constvars, *jaxpr.invars])}
    intern: dict[tuple[Any, ...], int] = {}
    toks = np.empty((2, len(jaxpr.eqns)), dtype=np.int64)
    for i, eqn in enumerate(jaxpr.eqns):
        refs = []
        for v in eqn.invars:
            if isinstance(v, Literal):
                refs.append(("lit", _fmt_value(v.val)))
            else:
                pos = where.get(v, -10**9)
                refs.append(("in", pos) if pos < 0 else ("back", i - pos))
        sub = tuple(count_eqns(j) for _, j, _ in subjaxprs(eqn))
        key = (eqn.primitive.name, eqn_params_text(eqn), sub,
               tuple(_short_aval(v) for v in [*eqn.invars, *eqn.outvars]))
        loose = tuple(r if r[0] == "lit" else "var" for r in refs)
        toks[0, i] = intern.setdefault((*key, tuple(refs)), len(intern))
        toks[1, i] = intern.setdefault((*key, loose), len(intern))
        for v in eqn.outvars:
            where[v] = i
    return toks[0], toks[1]


def find_folds(toks: np.ndarray, loose: np.ndarray) -> list[tuple[int, int, int]]:
    """Non-overlapping runs ``(start, period, reps)`` of a block repeated ``reps`` times.

    Vectorised per period (``toks[j] == toks[j + p]``), so 5,000 eqns take milliseconds.
    A run is pulled back while the relaxed tokens still repeat, so an unrolled loop's
    first pass (which reads the inputs) starts the fold, and the shown block is pass one.
    """
    n = len(toks)
    cands = []
    for p in range(1, min(FOLD_MAX_PERIOD, n // FOLD_MIN_REPS) + 1):
        eq = np.concatenate([[False], toks[p:] == toks[:-p], [False]])
        edges = np.flatnonzero(np.diff(eq.astype(np.int8)))
        for s, e in zip(edges[::2], edges[1::2], strict=True):
            reps = (e - s + p) // p
            if reps >= FOLD_MIN_REPS and (reps - 1) * p >= FOLD_MIN_SAVED:
                cands.append(((reps - 1) * p, -p, int(s), p, int(e + p)))
    taken = np.zeros(n, dtype=bool)
    folds = []
    for _, _, s, p, end in sorted(cands, reverse=True):
        while s > 0 and not taken[s - 1] and loose[s - 1] == loose[s - 1 + p]:
            s -= 1
        reps = (end - s) // p
        if not taken[s : s + p * reps].any():
            taken[s : s + p * reps] = True
            folds.append((s, p, reps))
    return sorted(folds)


def _unary_chains(jaxpr: Jaxpr, lo: int, hi: int) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b)`` in ``[lo, hi)`` of one-in one-out same-type eqns in a line."""
    uses: dict[Any, int] = {}
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if not isinstance(v, Literal):
                uses[v] = uses.get(v, 0) + 1
    for v in jaxpr.outvars:
        if not isinstance(v, Literal):
            uses[v] = uses.get(v, 0) + 1

    def link(i: int) -> bool:  # eqn i feeds only eqn i+1, both unary
        a, b = jaxpr.eqns[i], jaxpr.eqns[i + 1]
        vars_b = [v for v in b.invars if not isinstance(v, Literal)]
        return (_is_unary(a) and _is_unary(b) and vars_b == [a.outvars[0]]
                and uses.get(a.outvars[0]) == 1)

    chains, start = [], lo
    for i in range(lo, hi):
        if i + 1 >= hi or not link(i):
            if i + 1 - start >= ELIDE_MIN:
                chains.append((start, i + 1))
            start = i + 1
    return chains


def _is_unary(eqn: Any) -> bool:
    ins = [v for v in eqn.invars if not isinstance(v, Literal)]
    return (len(ins) == 1 and len(eqn.outvars) == 1 and not subjaxprs(eqn)
            and _short_aval(ins[0]) == _short_aval(eqn.outvars[0]))


def plan_eqns(jaxpr: Jaxpr) -> list[tuple[str, int, int, int]]:
    """Drawing plan: ``("eqn", i, i+1, 1)``, ``("fold", s, s+p, reps)``, ``("elide", a, b, 0)``."""
    plan: list[tuple[str, int, int, int]] = []
    pos = 0
    folds = find_folds(*_tokens(jaxpr)) if len(jaxpr.eqns) >= FOLD_MIN_REPS * 2 else []
    for s, p, reps in [*folds, (len(jaxpr.eqns), 0, 0)]:
        for a, b in _unary_chains(jaxpr, pos, s) if s - pos >= ELIDE_MIN else []:
            plan += [("eqn", i, i + 1, 1) for i in range(pos, a + 1)]
            plan.append(("elide", a + 1, b - 1, 0))
            pos = b - 1
        plan += [("eqn", i, i + 1, 1) for i in range(pos, s)]
        if reps:
            plan.append(("fold", s, s + p, reps))
        pos = s + p * reps
    return plan


# ---- walking: jaxpr -> model ----------------------------------------------------------------


def _map_invars(outer: Sequence[Any], inner: Sequence[Any]) -> dict[int, int]:
    """Inner invar index -> outer operand index: one to one, or a type-checked suffix.

    Covers jit/scan/custom_*/remat/shard_map (1:1), cond branches and while bodies
    (suffix); anything else gets port nodes instead of guessed wiring.
    """
    if len(inner) == len(outer):
        return {k: k for k in range(len(inner))}
    off = len(outer) - len(inner)
    if off > 0 and all(_short_aval(i) == _short_aval(outer[off + k]) for k, i in enumerate(inner)):
        return {k: off + k for k in range(len(inner))}
    return {}


class _Walker:
    """Mutable naming state of one drawing (counters), apart from its settings."""

    def __init__(self, *, depth: int, max_nodes: int, show_shapes: bool, ghosts: bool,
                 statics: Mapping[str, object], where: tuple[str | None, int]) -> None:
        self.depth, self.max_nodes, self.show_shapes = depth, max_nodes, show_shapes
        self.ghosts, self.statics, self.where = ghosts, statics, where
        self.n_nodes = self.n_clusters = 0
        self.edges: list[tuple[str, str, str, str]] = []
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

    def edge(self, src: str, dst: str, var: Any = None, style: str = "") -> None:
        label = _short_aval(var) if self.show_shapes and var is not None else ""
        self.edges.append((src, dst, label, style))

    def literal(self, lit: Any, cl: Cluster) -> str:
        """A small literal node; yellow and linked to the static box when it is a static."""
        text = _fmt_value(lit.val)
        for name, value in self.statics.items():
            if (isinstance(value, int | float) and np.ndim(lit.val) == 0 and self.static_node
                    and np.asarray(lit.val).item() == value):
                nid = self.node(cl, "static_lit", text, f"the static {name} = {value!r}")
                self.edges.append((self.static_node, nid, name, "static"))
                return nid
        return self.node(cl, "literal", text, _short_aval(lit))

    def use(self, v: Any, dst: str, env: dict[Any, _Src], cl: Cluster, pos: int | None) -> None:
        """Draw one operand: literal node, edge from its producer, or a ghost near ``dst``."""
        if isinstance(v, Literal):
            self.edge(self.literal(v, cl), dst)
            return
        src = env[v]
        if self.ghosts and pos is not None and pos - src.pos > GHOST_SPAN:
            self.stats["ghosts"] += 1
            ghost = self.node(cl, "ghost", f"↪ {src.name}", f"{src.name}, drawn above")
            self.edge(ghost, dst, v)
        else:
            self.edge(src.node, dst, v)

    def tooltip(self, eqn: Any, site: Any = None) -> str:
        """Primitive, result types and the user line (of ``site`` when given)."""
        head = f"{eqn.primitive.name} -> {', '.join(_short_aval(v) for v in eqn.outvars)}"
        frame = _jaxcompat.user_source_line((site or eqn).source_info)
        if frame is None:
            return head
        file, line, func = frame
        if self.where[0] is not None and file == self.where[0]:
            return f"{head}\ncell line {line - self.where[1]}"
        return f"{head}\n{file}:{line} ({func})"

    def walk(self, jaxpr: Jaxpr, consts: Sequence[Any], env: dict[Any, _Src], cl: Cluster,
             level: int) -> None:
        """Draw a jaxpr's eqns into ``cl``; ``env`` already holds its invars."""
        for k, v in enumerate(jaxpr.constvars):
            shown = _fmt_value(consts[k]) if k < len(consts) else ""
            nid = self.node(cl, "const", f"const {_short_aval(v)}", shown)
            env[v] = _Src(nid, -1, f"const{k}")
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

    def fold(self, jaxpr: Jaxpr, s: int, e: int, reps: int, env: dict[Any, _Src], cl: Cluster,
             level: int) -> None:
        """Draw the first block of a repeated run; later blocks' vars alias its nodes."""
        p = e - s
        box = self.cluster(cl, "fold", f"{_TIMES}{reps}  block of {p} ops, repeated {reps} times "
                                       f"(first shown)")
        for i in range(s, e):
            self.eqn(jaxpr.eqns[i], i, env, box, level)
        for j in range(e, s + p * reps):
            first = jaxpr.eqns[s + (j - s) % p]
            for v, w in zip(jaxpr.eqns[j].outvars, first.outvars, strict=True):
                if w in env:
                    env[v] = _Src(env[w].node, j, env[w].name)
        self.stats["folded"] += p * (reps - 1)
        self.stats["fold_runs"] += 1

    def span(self, jaxpr: Jaxpr, a: int, b: int, env: dict[Any, _Src], cl: Cluster,
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
                env[v] = _Src(nid, b - 1, "...")

    def eqn(self, eqn: Any, i: int, env: dict[Any, _Src], cl: Cluster, level: int) -> None:
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
                   "summary")

    def plain(self, eqn: Any, operands: Sequence[Any], outs: Sequence[Any], i: int,
              env: dict[Any, _Src], cl: Cluster, suffix: str = "", kind: str = "eqn",
              tip: str = "") -> None:
        params = eqn_params_text(eqn)
        label = eqn.primitive.name + (f"\n{params}" if params else "") + suffix
        nid = self.node(cl, kind, label, tip or self.tooltip(eqn))
        for v in operands:
            self.use(v, nid, env, cl, i)
        for v in outs:
            env[v] = _Src(nid, i, eqn.primitive.name)

    def nested(self, eqn: Any, i: int, env: dict[Any, _Src], cl: Cluster, level: int,
               subs: list[tuple[str, Jaxpr, list[Any]]]) -> None:
        """A cluster per nested eqn; its op node gathers the results of every sub-jaxpr."""
        params = eqn_params_text(eqn)
        box = self.cluster(cl, "nested", f"{eqn.primitive.name} {params}".strip())
        op = self.node(box, "op", eqn.primitive.name + (f"\n{params}" if params else ""),
                       self.tooltip(eqn))
        fed: set[int] = set()
        for name, sub, consts in subs:
            inner_cl = self.cluster(box, "branch", name) if len(subs) > 1 else box
            inner_env: dict[Any, _Src] = {}
            mapping = _map_invars(eqn.invars, sub.invars)
            for k, iv in enumerate(sub.invars):
                j = mapping.get(k)
                ov = eqn.invars[j] if j is not None else None
                if ov is None:
                    port = self.node(inner_cl, "port", f"{name}.in{k}", _short_aval(iv))
                    inner_env[iv] = _Src(port, -1, f"{name}.in{k}")
                elif isinstance(ov, Literal):
                    inner_env[iv] = _Src(self.literal(ov, inner_cl), -1, _fmt_value(ov.val))
                else:
                    inner_env[iv] = _Src(env[ov].node, -1, env[ov].name)
                if j is not None:
                    fed.add(j)
            self.walk(sub, consts, inner_env, inner_cl, level + 1)
            for ov in sub.outvars:
                self.use(ov, op, inner_env, inner_cl, len(sub.eqns))
        for j, v in enumerate(eqn.invars):
            if j not in fed:
                self.use(v, op, env, cl, i)
        for v in eqn.outvars:
            env[v] = _Src(op, i, eqn.primitive.name)


# ---- emitting: model -> DOT -----------------------------------------------------------------

_NODE_STYLE = {
    "input": 'shape=box style="rounded,filled" fillcolor="#dbeafe" penwidth=1.5',
    "output": 'shape=box style="rounded,filled" fillcolor="#dcfce7" penwidth=1.5',
    "eqn": 'shape=box style="rounded,filled" fillcolor="#f8fafc"',
    "op": 'shape=box style="rounded,filled,bold" fillcolor="#ede9fe"',
    "summary": 'shape=box3d style=filled fillcolor="#e5e7eb"',
    "span": 'shape=box style="dashed,filled" fillcolor="#f3f4f6"',
    "literal": 'shape=plain fontsize=9 fontcolor="#6b7280"',
    "const": 'shape=box style="dashed" fontsize=9 height=0.2',
    "ghost": 'shape=plain fontsize=9 fontcolor="#7c3aed"',
    "port": 'shape=plain fontsize=9 fontcolor="#6b7280"',
    "static": 'shape=note style=filled fillcolor="#fef9c3"',
    "static_lit": 'shape=box style="filled" fillcolor="#fde047" fontsize=9 height=0.2',
}
_CLUSTER_STYLE = {
    "nested": 'style="rounded" color="#8b5cf6"',
    "branch": 'style="rounded,dashed" color="#a78bfa"',
    "fold": 'style="rounded,filled" fillcolor="#fff7ed" color="#f97316" penwidth=2',
    "side": 'style="rounded" color="#9ca3af"',
}
_HILITE = 'color="#dc2626" penwidth=2.5 fillcolor="#fee2e2" style="rounded,filled"'


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _body(model: Model, prefix: str = "", hilite: frozenset[str] = frozenset(),
          root_label: str | None = None) -> list[str]:
    """Clusters, nodes and edges of one model, ids prefixed (so two can share a digraph)."""
    def emit(cl: Cluster, indent: str) -> list[str]:
        out = []
        for item in cl.items:
            if isinstance(item, Cluster):
                out.append(f"{indent}subgraph cluster_{prefix}{item.id} {{")
                out.append(f"{indent}  label={_q(item.label)} {_CLUSTER_STYLE[item.kind]}")
                out += emit(item, indent + "  ")
                out.append(f"{indent}}}")
            else:
                extra = f" {_HILITE}" if item.id in hilite else ""
                tip = f" tooltip={_q(item.tooltip)}" if item.tooltip else ""
                out.append(f"{indent}{prefix}{item.id} [label={_q(item.label)} "
                           f"{_NODE_STYLE[item.kind]}{tip}{extra}]")
        return out

    lines = emit(model.root, "  ")
    if root_label is not None:
        lines = [f"  subgraph cluster_{prefix}root {{", f"    label={_q(root_label)} "
                 f"{_CLUSTER_STYLE['side']}", *["  " + ln for ln in lines], "  }"]
    for src, dst, label, style in model.edges:
        attrs = f"label={_q(label)}" if label else ""
        if style == "static":
            attrs += ' style=dashed color="#ca8a04" fontcolor="#a16207" constraint=false'
        elif (src in hilite) != (dst in hilite):
            attrs += ' color="#dc2626"'
        lines.append(f"  {prefix}{src} -> {prefix}{dst} [{attrs.strip()}]")
    return lines


def to_dot(model: Model, extra: Sequence[str] = ()) -> str:
    """Full DOT text of one model; the footer lists what was folded or left out."""
    footer = "\n".join(model.notes)
    head = [
        f"digraph {_q(model.title or 'jaxpr')} {{",
        f'  graph [rankdir={model.rankdir} fontname="Helvetica" fontsize=10 labelloc=b '
        "nodesep=0.25 ranksep=0.3" + (f" label={_q(footer)}]" if footer else "]"),
        '  node [fontname="Helvetica" fontsize=10 height=0.3 margin="0.08,0.03"]',
        '  edge [fontname="Helvetica" fontsize=8 arrowsize=0.6 color="#6b7280" '
        'fontcolor="#4b5563"]',
    ]
    return "\n".join([*head, *(extra or _body(model)), "}"]) + "\n"


def _notes(stats: Mapping[str, int], max_nodes: int) -> list[str]:
    """Plain-words footer: what the picture does not show one-to-one."""
    notes = []
    if stats["fold_runs"]:
        notes.append(f"folded: {stats['fold_runs']} run(s) of repeated blocks "
                     f"({stats['folded']} eqns hidden; orange {_TIMES}N clusters show one block)")
    if stats["elided"]:
        notes.append(f"elided: {stats['elided']} eqns inside long elementwise chains")
    if stats["collapsed"]:
        notes.append(f"collapsed: {stats['collapsed']} nested jaxpr(s) past depth or budget")
    if stats["not_drawn"]:
        notes.append(f"not drawn: {stats['not_drawn']} eqns past max_nodes={max_nodes}")
    if stats["ghosts"]:
        notes.append("↪ name: a long-range use of a value drawn further up")
    return notes


# ---- public API -----------------------------------------------------------------------------


def _names(names: Sequence[str] | None, n: int, default: str) -> list[str]:
    """User names padded with ``default[k]`` (``out`` alone when there is one output)."""
    given = list(names or [])[:n]
    if not given and n == 1 and default == "out":
        return ["out"]
    return given + [f"{default}[{k}]" for k in range(len(given), n)]


def _listing(jaxpr: Jaxpr, in_names: Sequence[str], out_names: Sequence[str],
             statics: Mapping[str, object], limit: int = 30) -> str:
    """Compact text for terminals: one line per top-level eqn, with the user's names."""
    names: dict[Any, str] = dict(zip(jaxpr.invars, in_names, strict=False))
    names.update({v: f"const{k}" for k, v in enumerate(jaxpr.constvars)})
    fresh = iter(range(1, 1 << 62))

    def nm(v: Any) -> str:
        if isinstance(v, Literal):
            return _fmt_value(v.val)
        if v not in names:
            names[v] = f"v{next(fresh)}"
        return names[v]

    lines = [f"  static (baked in): {k} = {v!r}" for k, v in statics.items()]
    for i, eqn in enumerate(jaxpr.eqns):
        if i == limit:
            lines.append(f"  ... {len(jaxpr.eqns) - limit} more eqns")
            break
        inner = sum(count_eqns(j) for _, j, _ in subjaxprs(eqn))
        outs = " ".join(f"{nm(v)}:{_short_aval(v)}" for v in eqn.outvars)
        params = eqn_params_text(eqn)
        lines.append(f"  {outs} = {eqn.primitive.name}{f'[{params}]' if params else ''} "
                     f"{' '.join(nm(v) for v in eqn.invars)}"
                     + (f"  [{inner} ops inside]" if inner else ""))
    lines.append("  return " + ", ".join(f"{o}={nm(v)}" for o, v in
                                          zip(out_names, jaxpr.outvars, strict=False)))
    return "\n".join(lines)


def build_graph(closed_jaxpr: ClosedJaxpr, *, in_names: Sequence[str],
                out_names: Sequence[str] | None = None,
                statics: Mapping[str, object] | None = None, title: str = "", depth: int = 2,
                max_nodes: int = 400, rankdir: str = "TB", show_shapes: bool = True,
                source_file: str | None = None, line_offset: int = 0) -> JaxprGraph:
    """Draw a ClosedJaxpr: inputs and outputs with the user's names, statics baked in."""
    jaxpr, statics = closed_jaxpr.jaxpr, dict(statics or {})
    total = count_eqns(jaxpr)
    walker = _Walker(depth=depth, max_nodes=max_nodes, show_shapes=show_shapes,
                     ghosts=total > GHOST_MIN_EQNS, statics=statics,
                     where=(source_file, line_offset))
    root = Cluster("root", "root", title)
    if statics:
        body = "\n".join(f"{k} = {v!r}" for k, v in statics.items())
        walker.static_node = walker.node(root, "static", f"baked in (static)\n{body}",
                                         "static arguments: compile-time constants of this trace")
    ins = _names(in_names, len(jaxpr.invars), "in")
    outs = _names(out_names, len(jaxpr.outvars), "out")
    env: dict[Any, _Src] = {}
    for name, v in zip(ins, jaxpr.invars, strict=True):
        env[v] = _Src(walker.node(root, "input", name, _short_aval(v)), -1, name)
    walker.walk(jaxpr, closed_jaxpr.consts, env, root, 0)
    for name, v in zip(outs, jaxpr.outvars, strict=True):
        walker.use(v, walker.node(root, "output", name, _short_aval(v)), env, root, None)
    model = Model(root, walker.edges, _notes(walker.stats, max_nodes), rankdir, title)
    sig = ", ".join(f"{n}: {_short_aval(v)}" for n, v in zip(ins, jaxpr.invars, strict=True))
    res = ", ".join(f"{n}: {_short_aval(v)}" for n, v in zip(outs, jaxpr.outvars, strict=True))
    summary = (f"JaxprGraph {title or 'jaxpr'}: {total} eqns ({len(jaxpr.eqns)} top-level), "
               f"inputs ({_clip(sig)}) -> outputs ({_clip(res)}), depth {depth}, "
               f"{walker.n_nodes} nodes drawn")
    text = _listing(jaxpr, ins, outs, statics)
    if model.notes:
        text += "\n" + "\n".join(f"  # {n}" for n in model.notes)
    info = {"n_eqns": total, "inputs": ins, "outputs": outs, "depth": depth, **walker.stats}
    return JaxprGraph(to_dot(model), summary, text, walker.n_nodes, info, model)


def _clip(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def leaf_names(args: tuple[Any, ...], kwargs: dict[str, Any], param_names: Sequence[str],
               static: set[str]) -> list[str]:
    """User names of the dynamic leaves in jaxpr invar order (``x``, ``params['w']``).

    jit flattens ``(dynamic args, dynamic kwargs)``; dict keys flatten sorted.
    """
    from jax.tree_util import keystr, tree_flatten_with_path

    named = [(param_names[i] if i < len(param_names) else f"args[{i}]", a)
             for i, a in enumerate(args)]
    named += [(k, kwargs[k]) for k in sorted(kwargs)]
    out = []
    for name, value in named:
        if name in static:
            continue
        out += [name + keystr(path) for path, _ in tree_flatten_with_path(value)[0]]
    return out


def graph(fun: Any, *args: Any, static_argnums: int | Sequence[int] = (),
          static_argnames: str | Sequence[str] = (), depth: int = 2, max_nodes: int = 400,
          rankdir: str = "TB", show_shapes: bool = True, **kwargs: Any) -> JaxprGraph:
    """Draw the jaxpr of ``fun(*args, **kwargs)`` under ``jax.jit`` with these statics."""
    import inspect

    import jax
    from jax.tree_util import keystr, tree_flatten_with_path

    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    static = set(names) | {params[i] if i < len(params) else f"args[{i}]" for i in nums}
    traced = jax.jit(fun, static_argnums=nums, static_argnames=names).trace(*args, **kwargs)
    statics = {params[i] if i < len(params) else f"args[{i}]": a for i, a in enumerate(args)
               if i in nums}
    statics.update({k: v for k, v in kwargs.items() if k in static})
    outs = [keystr(p) for p, _ in tree_flatten_with_path(traced.out_info)[0]]
    outs = ["out" + p for p in outs] if len(outs) > 1 or outs != [""] else ["out"]
    return build_graph(traced.jaxpr, in_names=leaf_names(args, kwargs, params, static),
                       out_names=outs, statics=statics,
                       title=getattr(fun, "__name__", "jaxpr"), depth=depth,
                       max_nodes=max_nodes, rankdir=rankdir, show_shapes=show_shapes)


def diff_graphs(a: JaxprGraph, b: JaxprGraph) -> JaxprGraph:
    """Two graphs side by side; nodes (and their edges) that do not match are red."""
    import difflib

    ma, mb = a.model, b.model
    na, nb = ma.nodes(), mb.nodes()
    matcher = difflib.SequenceMatcher(None, [(n.kind, n.label) for n in na],
                                      [(n.kind, n.label) for n in nb], autojunk=False)
    same_a: set[str] = set()
    same_b: set[str] = set()
    for blk in matcher.get_matching_blocks():
        same_a.update(n.id for n in na[blk.a : blk.a + blk.size])
        same_b.update(n.id for n in nb[blk.b : blk.b + blk.size])
    hi_a = frozenset(n.id for n in na) - same_a
    hi_b = frozenset(n.id for n in nb) - same_b
    body = [*_body(ma, "a_", hi_a, f"A: {ma.title or 'first'}"),
            *_body(mb, "b_", hi_b, f"B: {mb.title or 'second'}")]
    n_diff = len(hi_a) + len(hi_b)
    model = Model(Cluster("root", "root", "diff"), [], [f"{n_diff} node(s) differ (red)"],
                  ma.rankdir, f"{ma.title} vs {mb.title}")
    summary = f"JaxprGraph diff {ma.title!r} vs {mb.title!r}: {n_diff} node(s) differ"
    text = "A:\n" + a.text + "\nB:\n" + b.text
    return JaxprGraph(to_dot(model, body), summary, text, a.n_nodes + b.n_nodes,
                      {"differing_nodes": n_diff, "a": a.info, "b": b.info}, model)
