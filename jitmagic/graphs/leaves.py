"""A step's inputs and outputs: one node per pytree leaf, or per argument when many.

A transformer's params and optimizer state are 114 leaves in, 114 out: a node each
makes a picture thousands of points wide and minutes to lay out. Past ``MANY_LEAVES``
the leaves of one argument (``params``, ``opt``, ``out[0]``) share a node that lists how
many there are; uses still name the leaf (``↪ params['blocks'][0]['qkv'] #1``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jax.extend.core import Literal

from jitmagic.graphs.draw import Src
from jitmagic.graphs.model import Cluster, short_aval
from jitmagic.graphs.walk import Walker

MANY_LEAVES = 16
_TOP = re.compile(r"out\[\d+\]|[^\[.]+")


def argument_of(leaf: str) -> str:
    """The argument a leaf path belongs to: ``params['w']`` -> ``params``."""
    m = _TOP.match(leaf)
    return m.group(0) if m else leaf


def _groups(names: Sequence[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for k, name in enumerate(names):
        out.setdefault(argument_of(name), []).append(k)
    return out


def _label(arg: str, idx: list[int], names: Sequence[str]) -> tuple[str, str]:
    if len(idx) == 1:
        return names[idx[0]], ""
    return f"{arg}\n{len(idx)} leaves", "\n".join(names[k] for k in idx[:40])


def draw_inputs(walker: Walker, root: Cluster, names: Sequence[str], invars: Sequence[Any],
                env: dict[Any, Src]) -> None:
    """Input nodes; every leaf keeps its own name for the ghosts that use it."""
    if len(names) <= MANY_LEAVES:
        for name, v in zip(names, invars, strict=True):
            env[v] = Src(walker.node(root, "input", name, short_aval(v)), -1, name)
        return
    for arg, idx in _groups(names).items():
        label, tip = _label(arg, idx, names)
        nid = walker.node(root, "input", label, tip or short_aval(invars[idx[0]]))
        for k in idx:
            env[invars[k]] = Src(nid, -1, names[k])


def draw_outputs(walker: Walker, root: Cluster, names: Sequence[str], outvars: Sequence[Any],
                 env: dict[Any, Src], end: int) -> None:
    """Output nodes; grouped ones take one edge (or ghost) per distinct producer."""
    if len(names) <= MANY_LEAVES:
        for name, v in zip(names, outvars, strict=True):
            walker.use(v, walker.node(root, "output", name, short_aval(v)), env, root, None)
        return
    for arg, idx in _groups(names).items():
        label, tip = _label(arg, idx, names)
        nid = walker.node(root, "output", label, tip or short_aval(outvars[idx[0]]))
        seen: set[str] = set()
        for k in idx:
            v = outvars[k]
            src = None if isinstance(v, Literal) else env[v].node
            if src is None or src not in seen:
                walker.use(v, nid, env, root, end)
                seen.add(src or "")
