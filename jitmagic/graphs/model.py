"""What a jaxpr graph is made of: the drawable model and small jaxpr inspectors.

Shared by the planner (`_graphfold`), the walker (`_graphwalk`) and the emitter
(`_graphdot`), so each of those depends on this module only, never on each other's
internals. Nested jaxprs are found generically in eqn params (any ClosedJaxpr/Jaxpr
or tuple of them), like JAX's own ``jaxprs_in_params``, so a new primitive with a
sub-jaxpr is drawn as a cluster without a hand-kept list. What its operands *mean*
(scan's consts/carry/xs, while's carry, cond's index/operands) cannot be found
generically: a small registry keyed by primitive name (``ROLE_RULES``, like JAX's
``pp_eqn_rules``) names them and wires each sub-jaxpr exactly; other primitives fall
back to the generic wiring guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr

TIMES = "\u00d7"  # the multiplication sign of "x1000" badges
_NOISY = frozenset({
    "jaxpr", "in_shardings", "out_shardings", "in_layouts", "out_layouts", "donated_invars",
    "ctx_mesh", "keep_unused", "inline", "compiler_options_kvs", "sharding", "out_sharding",
    "precision", "accumulation_type", "algorithm", "preferred_element_type", "weak_type",
    "linear", "unroll", "_split_transpose", "jvp_jaxpr_fun", "jvp_jaxpr_thunk", "num_consts",
    "bwd", "fwd_jaxpr_thunk", "out_trees", "symbolic_zeros", "policy", "prevent_cse",
    "differentiated", "mesh", "in_specs", "out_specs", "check_vma", "auto", "manual_axes",
    "jaxpr_name", "resource_env", "out_dtype", "cond_nconsts", "body_nconsts", "num_carry",
    "ft_in", "ft_out",
})


def short_aval(var: Any) -> str:
    """JAX's short type of a var: ``f32[3,4]``."""
    aval: Any = getattr(var, "aval", None)  # a jax.core.AbstractValue, or None
    return aval.str_short(short_dtypes=True) if hasattr(aval, "str_short") else str(aval)


def fmt_value(val: Any) -> str:
    """A literal or param value, short: ``0.0``, ``(0,)``, ``float32``."""
    if isinstance(val, np.ndarray | np.generic) or hasattr(val, "dtype"):
        arr = np.asarray(val)
        if arr.ndim:
            return f"array{arr.shape}"
        # the dtype's own shortest round trip: f32 0.01 prints "0.01", not 0.00999999977...
        return str(arr[()]) if arr.dtype.kind in "fc" else repr(arr.item())
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
        shown.append(f"{key}={fmt_value(val)}")
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


@dataclass(frozen=True)
class SubWiring:
    """One sub-jaxpr of a nested eqn: the eqn operand behind each of its invars (``None``:
    none), the role of each of its outvars, and the label of its cluster."""

    ins: tuple[int | None, ...]
    outs: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Roles:
    """What the operands and results of a nested eqn mean (``carry``, ``xs``, ``index``)."""

    operands: tuple[str, ...]
    results: tuple[str, ...]
    subs: dict[str, SubWiring]


def scan_counts(params: dict[str, Any]) -> tuple[int, int]:
    """(consts, carry) operand counts of a scan: params in JAX 0.10, `ft_in` groups in 0.12."""
    if "num_consts" in params:
        return params["num_consts"], params["num_carry"]
    consts, carry, _ = params["ft_in"].unpack()
    return len(consts), len(carry)


def _scan_roles(eqn: Any) -> Roles:
    """Invars and body invars: consts + carry + xs; results and body outvars: carry + ys."""
    (nc, nk), n = scan_counts(eqn.params), len(eqn.invars)
    res = ("carry",) * nk + ("ys",) * (len(eqn.outvars) - nk)
    ops = ("const",) * nc + ("carry",) * nk + ("xs",) * (n - nc - nk)
    return Roles(ops, res, {"jaxpr": SubWiring(tuple(range(n)), res, "body")})


def _while_roles(eqn: Any) -> Roles:
    """Invars: cond consts + body consts + carry; each jaxpr takes its consts + carry."""
    cc, bc, n = eqn.params["cond_nconsts"], eqn.params["body_nconsts"], len(eqn.invars)
    carry = tuple(range(cc + bc, n))
    res = ("carry",) * len(eqn.outvars)
    return Roles(("const",) * (cc + bc) + ("carry",) * (n - cc - bc), res, {
        "cond_jaxpr": SubWiring((*range(cc), *carry), ("pred",), "cond_fun"),
        "body_jaxpr": SubWiring((*range(cc, cc + bc), *carry), res, "body_fun")})


def _cond_roles(eqn: Any) -> Roles:
    """Invars: the branch index, then the operands every branch takes."""
    n, nb = len(eqn.invars), len(eqn.params["branches"])
    outs = ("",) * len(eqn.outvars)
    return Roles(("index",) + ("operand",) * (n - 1), outs, {
        f"branches[{b}]": SubWiring(tuple(range(1, n)), outs, f"branch {b}") for b in range(nb)})


ROLE_RULES: dict[str, Callable[[Any], Roles]] = {
    "scan": _scan_roles,
    "while": _while_roles,
    "cond": _cond_roles,
}
"""Per-primitive operand roles, like JAX's ``pp_eqn_rules``; absent -> generic wiring."""


def eqn_roles(eqn: Any) -> Roles | None:
    """The roles of a nested eqn, or ``None`` (no rule, or params not as the rule expects)."""
    rule = ROLE_RULES.get(eqn.primitive.name)
    if rule is None:
        return None
    try:
        return rule(eqn)
    except (KeyError, TypeError):
        return None


def _map_invars(outer: Sequence[Any], inner: Sequence[Any]) -> dict[int, int]:
    """Inner invar index -> outer operand index: one to one, or a type-checked suffix.

    The generic guess for primitives without a role rule: covers jit/custom_*/remat/
    shard_map (1:1); anything else gets port nodes instead of guessed wiring.
    """
    if len(inner) == len(outer):
        return {k: k for k in range(len(inner))}
    off = len(outer) - len(inner)
    if off > 0 and all(short_aval(i) == short_aval(outer[off + k]) for k, i in enumerate(inner)):
        return {k: off + k for k in range(len(inner))}
    return {}


def sub_wiring(roles: Roles | None, name: str, outer: Sequence[Any], sub: Jaxpr) -> SubWiring:
    """The role table's wiring of a sub-jaxpr when it fits, else the generic guess."""
    found = roles.subs.get(name) if roles else None
    if (found is not None and len(found.ins) == len(sub.invars)
            and len(found.outs) == len(sub.outvars)
            and all(j is None or j < len(outer) for j in found.ins)):
        return found
    mapping = _map_invars(outer, sub.invars)
    return SubWiring(tuple(mapping.get(k) for k in range(len(sub.invars))),
                     ("",) * len(sub.outvars), name)


@dataclass
class Node:
    """One drawn node; ``kind`` picks its style, ``(kind, label)`` is what diffs compare."""

    id: str
    kind: str
    label: str
    tooltip: str = ""
    ref: str = ""  # a ghost: the id of the node it stands for


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


Edge = tuple[str, str, str, str]


def stack_edges(parts: Sequence[Sequence[str]], edges: Sequence[Edge],
                gaps: Sequence[str], loose: frozenset[str] = frozenset()) -> list[Edge]:
    """Invisible edges that keep parts (node id lists: phases) one under the other.

    Ghosts cut the real edges between phases, and Graphviz puts unconnected clusters side
    by side. Gap node ``gaps[k]`` sits below part k's bottom nodes (no edge to a node of
    the same part) and above part k+1's top nodes. ``loose`` nodes (ghosts, literals) sit
    beside their user, often deep in a part: an invisible edge to them is a long one, whose
    virtual nodes Graphviz routes beside the cluster (a staircase of phases, and most of
    the layout time). So with ``loose`` given, the gap links only to the first real node
    of each chain below it, and from the last quarter of the bottom nodes above it.
    """
    real = [(s, d) for s, d, _, style in edges if style != "invis"]
    out: list[Edge] = []
    for k, gap in enumerate(gaps):
        out += [(n, gap, "", "invis") for n in _bottoms(parts[k], real, loose)]
        out += [(gap, n, "", "invis") for n in _tops(parts[k + 1], real, loose)]
    return out


def _bottoms(part: Sequence[str], real: list[tuple[str, str]], loose: frozenset[str]) -> list[str]:
    inside = set(part)
    feeds = {s for s, d in real if s in inside and d in inside}
    return [n for n in part if n not in feeds and n not in loose]


def _tops(part: Sequence[str], real: list[tuple[str, str]], loose: frozenset[str]) -> list[str]:
    inside = set(part)
    if not loose:
        fed = {d for s, d in real if s in inside and d in inside}
        return [n for n in part if n not in fed]
    producers: dict[str, list[str]] = {}
    for s, d in real:
        if s in inside and d in inside:
            producers.setdefault(d, []).append(s)
    below: set[str] = set()  # nodes already held below the gap, in emission order
    tops = []
    for n in part:
        if n in loose:
            continue
        if not any(p in below for p in producers.get(n, ())):
            tops.append(n)
        below.add(n)
    return tops
