"""Drawing a step's top-level jaxpr as its story: phase clusters, scope clusters, a budget.

`phases` says what each eqn is for (forward, backward, update) and which user function
or ``jax.named_scope`` made it; this module turns that into nested clusters (a phase,
then one cluster per scope level) and shares the node budget out per phase, so the cap
never hides a whole phase: a phase too big to draw eqn by eqn is drawn as one node per
scope run ("_block · 492 ops"), and a step of any size still yields a picture.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.draw import Place, Src
from jitmagic.graphs.fold import Wiring, plan_eqns, tokens
from jitmagic.graphs.model import TIMES, Cluster, count_eqns, stack_edges, subjaxprs
from jitmagic.graphs.phases import PHASE_TITLES, label_phases, runs, scope_paths
from jitmagic.graphs.walk import Walker

COARSE_GROUPS = 24  # a coarse phase: at most this many scope runs, else coarser scopes
_SPAN_COST = 6  # nodes a coarse group costs: itself plus a few inputs/ghosts


def _shown(name: str) -> str:
    return name.replace("<lambda>", "lambda")


class Scopes(Place):
    """Puts eqns in nested scope clusters under a base cluster (a phase), reusing the open
    ones while consecutive eqns stay in the same scope."""

    def __init__(self, walker: Walker, base: Cluster, paths: Sequence[tuple[str, ...]]) -> None:
        super().__init__(base)
        self.walker, self.paths = walker, paths
        self.stack: list[tuple[tuple[str, ...], Cluster]] = [((), base)]

    def common(self, a: int, b: int) -> tuple[str, ...]:
        first = self.paths[a]
        n = len(first)
        for path in self.paths[a + 1 : b]:
            while n and path[:n] != first[:n]:
                n -= 1
        return first[:n]

    def at(self, a: int, b: int) -> Cluster:
        path = self.common(a, b)
        while path[: len(self.stack[-1][0])] != self.stack[-1][0]:
            self.stack.pop()
        while len(self.stack[-1][0]) < len(path):
            here, cl = self.stack[-1]
            name = path[len(here)]
            self.stack.append((path[: len(here) + 1],
                               self.walker.cluster(cl, "scope", _shown(name))))
        return self.stack[-1][1]

    def name(self, a: int, b: int) -> str:
        """The scope one level below the common one, when the whole range shares it."""
        base = self.common(a, b)
        inner = {p[len(base)] if len(p) > len(base) else None for p in self.paths[a:b]}
        if len(inner) == 1 and None not in inner:
            return _shown(str(inner.pop()))
        return _shown(base[-1]) if base else ""


def estimate(jaxpr: Jaxpr, plan: Sequence[tuple[str, int, int, int]], depth: int) -> int:
    """Roughly the nodes a plan draws: one per eqn, its literals, nested eqns in depth."""
    n = 0
    for kind, a, b, _ in plan:
        for eqn in jaxpr.eqns[a:b] if kind != "elide" else ():
            lits = sum(isinstance(v, Literal) for v in eqn.invars)
            inner = sum(count_eqns(j) for _, j, _ in subjaxprs(eqn)) if depth > 0 else 0
            n += 1 + lits + inner
        n += kind == "elide"
    return n


def _groups(paths: Sequence[tuple[str, ...]], a: int, b: int) -> list[tuple[Any, int, int]]:
    """Runs of eqns by scope, at the deepest scope level that keeps few enough runs."""
    depth = max((len(p) for p in paths[a:b]), default=0)
    while True:
        found = runs([p[:depth] for p in paths], a, b)
        if len(found) <= COARSE_GROUPS or depth == 0:
            return found[:COARSE_GROUPS - 1] + ([("...", found[COARSE_GROUPS - 1][1], b)]
                                                 if len(found) >= COARSE_GROUPS else [])
        depth -= 1


def draw_coarse(walker: Walker, jaxpr: Jaxpr, a: int, b: int, env: dict[Any, Src],
                box: Cluster, paths: Sequence[tuple[str, ...]], folds: dict[int, int]) -> None:
    """A phase as one node per scope run: its name, op count and commonest ops."""
    for key, s, e in _groups(paths, a, b):
        name = " / ".join(map(_shown, key)) if isinstance(key, tuple) and key else "ops"
        common = Counter(eq.primitive.name for eq in jaxpr.eqns[s:e]).most_common(3)
        reps = max((r for i, r in folds.items() if s <= i < e), default=0)
        fold = f" ({TIMES}{reps} repeated block)" if reps else ""
        ops = sum(1 + sum(count_eqns(j) for _, j, _ in subjaxprs(q)) for q in jaxpr.eqns[s:e])
        label = (f"{name} · {ops} ops{fold}\n"
                 + ", ".join(f"{p} {TIMES}{c}" for p, c in common))
        walker.span(jaxpr, s, e, env, box, label, name)
    walker.stats["coarse"] += 1


def _budgets(sizes: list[int], rough: list[int], spare: int) -> list[bool]:
    """Which phases are drawn coarse (costing ``rough``): the biggest first, until the
    drawing fits ``spare`` nodes."""
    coarse = [False] * len(sizes)
    for k in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        cost = sum(r if c else s for c, s, r in zip(coarse, sizes, rough, strict=True))
        if cost <= spare:
            break
        coarse[k] = True
    return coarse


LOOSE = frozenset({"ghost", "literal", "static_lit", "const", "port"})  # placed by their user
# Past this many nodes, stacking skips loose nodes (see `model.stack_edges`): measured on the
# transformer step (407 nodes) `dot` took 0.45 s instead of 1.7 s; on the MLP step (150) the
# layout is 0.1 s either way and the full stacking packs it narrower (1,458 vs 2,032 pt).
LOOSE_FROM = 250


def stack_phases(walker: Walker, root: Cluster, parts: Sequence[Cluster]) -> None:
    """Keep the phases one under the other (see `model.stack_edges`)."""
    gaps = [walker.node(root, "anchor", "") for _ in parts[1:]]
    loose = frozenset(n.id for p in parts for n in walker.nodes_in(p)
                      if n.kind in LOOSE and walker.n_nodes > LOOSE_FROM)
    walker.edges += stack_edges([[n.id for n in walker.nodes_in(p)] for p in parts],
                                walker.edges, gaps, loose)


def draw_root(walker: Walker, jaxpr: Jaxpr, consts: Sequence[Any], env: dict[Any, Src],
              root: Cluster) -> list[Cluster]:
    """The top-level jaxpr: phase clusters (when it was differentiated) and scopes; returns
    the phase clusters (none when there are no phases) for `stack_phases`."""
    walker.consts(jaxpr, consts, env, root)
    labels, paths = label_phases(jaxpr.eqns), scope_paths(jaxpr.eqns)
    wiring: Wiring = tokens(jaxpr)
    parts = runs(labels)
    plans = [plan_eqns(jaxpr, a, b, wiring) for _, a, b in parts]
    sizes = [estimate(jaxpr, plan, walker.depth) for plan in plans]
    spare = walker.max_nodes  # inputs and outputs are always drawn: not in the budget
    costs = [len(_groups(paths, a, b)) * _SPAN_COST for _, a, b in parts]
    coarse = _budgets(sizes, costs, spare)
    boxes = []
    for (phase, a, b), plan, size, rough in zip(parts, plans, sizes, coarse, strict=True):
        box = walker.cluster(root, f"phase_{phase}", PHASE_TITLES[phase]) if phase else root
        boxes.append(box)
        if rough and (phase or len(_groups(paths, a, b)) > 1):
            folds = {s: r for kind, s, _, r in plan if kind == "fold"}
            draw_coarse(walker, jaxpr, a, b, env, box, paths, folds)
            continue
        if phase:  # its share: what it was estimated to need (ghosts are not estimated)
            walker.limit = walker.n_nodes + 2 * max(size, COARSE_GROUPS)
        walker.walk_range(jaxpr, plan, env, Scopes(walker, box, paths), 0)
    walker.limit = walker.max_nodes
    return [b for b in boxes if b is not root]
