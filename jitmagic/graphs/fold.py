"""Planning a big jaxpr's drawing by structure: folds, elisions and ghosts.

JAX_FACTS §8 measured that a naive drawing of a few hundred eqns makes Graphviz's
layout explode. These pure functions decide, before anything is drawn, what keeps the
picture small: runs of identical blocks fold into one "xN" cluster, long unary chains
keep only their ends, and long-range uses become per-use "ghost" labels instead of
long edges. The walker (`_graphwalk`) only follows the plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax.extend.core import Jaxpr, Literal

from jitmagic.graphs.model import count_eqns, eqn_params_text, fmt_value, short_aval, subjaxprs

GHOST_MIN_EQNS = 60  # below this many eqns every use is a real edge
GHOST_SPAN = 3  # a use more than this many eqns after its producer becomes a ghost

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
        refs: list[tuple[str, str | int]] = []
        for v in eqn.invars:
            if isinstance(v, Literal):
                refs.append(("lit", fmt_value(v.val)))
            else:
                pos = where.get(v, -10**9)
                refs.append(("in", pos) if pos < 0 else ("back", i - pos))
        sub = tuple(count_eqns(j) for _, j, _ in subjaxprs(eqn))
        key = (eqn.primitive.name, eqn_params_text(eqn), sub,
               tuple(short_aval(v) for v in [*eqn.invars, *eqn.outvars]))
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
            and short_aval(ins[0]) == short_aval(eqn.outvars[0]))


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



def wants_ghosts(n_eqns: int) -> bool:
    """Ghost long-range uses only in graphs big enough for layout to suffer from them."""
    return n_eqns > GHOST_MIN_EQNS


def is_long_range(use_pos: int, src_pos: int) -> bool:
    """A use this far after its producer is drawn as a ghost (when ghosts are wanted)."""
    return use_pos - src_pos > GHOST_SPAN
