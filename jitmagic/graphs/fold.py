"""Planning a big jaxpr's drawing by structure: folds, elisions and ghosts.

JAX_FACTS §8 measured that a naive drawing of a few hundred eqns makes Graphviz's
layout explode. These pure functions decide, before anything is drawn, what keeps the
picture small: runs of identical blocks fold into one "xN" cluster, long unary chains
keep only their ends, and long-range uses become per-use "ghost" labels instead of
long edges. The walker (`_graphwalk`) only follows the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.model import count_eqns, eqn_params_text, fmt_value, short_aval, subjaxprs

GHOST_MIN_EQNS = 60  # below this many eqns every use is a real edge
GHOST_SPAN = 3  # a use more than this many eqns after its producer becomes a ghost

FOLD_MAX_PERIOD = 600  # a transformer layer's forward pass is ~80 eqns, its backward ~100
FOLD_MIN_REPS = 3
FOLD_MIN_SAVED = 6  # fold only when it hides at least this many eqns
ELIDE_MIN = 8  # unary chains at least this long keep only their ends


_OUTSIDE = 1 << 40  # "distance" to an input or const: outside every block
WIRE_K = 4  # operands whose wiring is compared exactly (more would cost n x K per period)


@dataclass(frozen=True)
class Wiring:
    """Per eqn: what must match for two eqns a period apart to be "the same step".

    ``key``: op, params, types, which operands are literals (and their values);
    ``dist``: eqns back to the producer of each of the first ``WIRE_K`` operands (``-1``
    for a literal or none, ``_OUTSIDE`` for an input or const); ``loose``: the key alone,
    for pulling a fold back to a loop's first pass (which reads the inputs).
    """

    key: np.ndarray
    dist: np.ndarray
    loose: np.ndarray

    def __getitem__(self, sl: slice) -> Wiring:
        return Wiring(self.key[sl], self.dist[sl], self.loose[sl])


def tokens(jaxpr: Jaxpr) -> Wiring:
    """The wiring table of a jaxpr's eqns (see `Wiring`)."""
    where: dict[Any, int] = {v: -_OUTSIDE for v in [*jaxpr.constvars, *jaxpr.invars]}
    intern: dict[tuple[Any, ...], int] = {}
    n = len(jaxpr.eqns)
    key, dist = np.empty(n, dtype=np.int64), np.full((n, WIRE_K), -1, dtype=np.int64)
    for i, eqn in enumerate(jaxpr.eqns):
        lits: list[str | None] = []
        for k, v in enumerate(eqn.invars):
            if isinstance(v, Literal):
                lits.append(fmt_value(v.val))
                continue
            lits.append(None)
            if k < WIRE_K:
                dist[i, k] = min(i - where.get(v, -_OUTSIDE), _OUTSIDE)
        sub = tuple(count_eqns(j) for _, j, _ in subjaxprs(eqn))
        key[i] = intern.setdefault((eqn.primitive.name, eqn_params_text(eqn), sub, tuple(lits),
                                    tuple(short_aval(v) for v in [*eqn.invars, *eqn.outvars])),
                                   len(intern))
        for v in eqn.outvars:
            where[v] = i
    return Wiring(key, dist, key)


def _repeats(w: Wiring, p: int) -> np.ndarray:
    """``out[j]``: eqn ``j + p`` is eqn ``j`` again: same key, and each operand comes from
    the same eqn of its own block (distance ``< p``, equal) or from outside both blocks."""
    da, db = w.dist[:-p], w.dist[p:]
    ia, ib = da < p, db < p
    wired = np.where(ia & ib, da == db, ~ia & ~ib).all(axis=1)
    return (w.key[p:] == w.key[:-p]) & wired


def find_folds(w: Wiring) -> list[tuple[int, int, int]]:
    """Non-overlapping runs ``(start, period, reps)`` of a block repeated ``reps`` times.

    Vectorised per period (`_repeats`), so thousands of eqns take milliseconds per period.
    A run is pulled back while the loose keys still repeat, so an unrolled loop's
    first pass (which reads the inputs) starts the fold, and the shown block is pass one.
    """
    n = len(w.key)
    cands = []
    for p in range(1, min(FOLD_MAX_PERIOD, n // FOLD_MIN_REPS) + 1):
        eq = np.concatenate([[False], _repeats(w, p), [False]])
        edges = np.flatnonzero(np.diff(eq.astype(np.int8)))
        for s, e in zip(edges[::2], edges[1::2], strict=True):
            reps = (e - s + p) // p
            if reps >= FOLD_MIN_REPS and (reps - 1) * p >= FOLD_MIN_SAVED:
                cands.append(((reps - 1) * p, -p, int(s), p, int(e + p)))
    taken = np.zeros(n, dtype=bool)
    folds = []
    loose = w.loose
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
            and short_aval(ins[0]) == short_aval(eqn.outvars[0]))


def plan_eqns(jaxpr: Jaxpr, lo: int = 0, hi: int | None = None,
              toks: Wiring | None = None) -> list[tuple[str, int, int, int]]:
    """Drawing plan of eqns ``[lo, hi)``: ``("eqn", i, i+1, 1)``, ``("fold", s, s+p, reps)``,
    ``("elide", a, b, 0)``. Folds never leave the range (a phase of a train step)."""
    hi = len(jaxpr.eqns) if hi is None else hi
    plan: list[tuple[str, int, int, int]] = []
    pos = lo
    folds = []
    if hi - lo >= FOLD_MIN_REPS * 2:
        wiring = toks if toks is not None else tokens(jaxpr)
        folds = [(s + lo, p, r) for s, p, r in find_folds(wiring[lo:hi])]
    for s, p, reps in [*folds, (hi, 0, 0)]:
        for a, b in _unary_chains(jaxpr, pos, s) if s - pos >= ELIDE_MIN else []:
            plan += [("eqn", i, i + 1, 1) for i in range(pos, a + 1)]
            plan.append(("elide", a + 1, b - 1, 0))
            pos = b - 1
        plan += [("eqn", i, i + 1, 1) for i in range(pos, s)]
        if reps:
            plan.append(("fold", s, s + p, reps))
        pos = s + p * reps
    return plan



def wants_ghosts(n_eqns: int) -> bool:
    """Ghost long-range uses only in graphs big enough for layout to suffer from them."""
    return n_eqns > GHOST_MIN_EQNS


def is_long_range(use_pos: int, src_pos: int) -> bool:
    """A use this far after its producer is drawn as a ghost (when ghosts are wanted)."""
    return use_pos - src_pos > GHOST_SPAN
