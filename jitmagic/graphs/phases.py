"""What each top-level eqn is for: its phase (forward, backward, update) and its scope.

A train step is read inputs -> loss -> gradients -> new params, so that is how its
graph is grouped. JAX marks every eqn it makes while differentiating in its
``source_info.name_stack`` (public as ``jax.extend.source_info_util.NameStack``): the
text reads ``jvp(...)`` for the forward pass it linearised and ``transpose(jvp(...))``
for the backward pass, with ``jax.named_scope`` names inside
(``transpose(jvp(enc))/inner``). Eqns outside any transform that come after the
backward pass consume the gradients: the update. Scopes are the user's functions (from
the public ``summarize`` of each eqn's user frames, minus the frames every eqn shares:
the traced function and its callers) followed by the named scopes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jax.extend import source_info_util

FORWARD, BACKWARD, UPDATE, BEFORE = "forward", "backward", "update", "before"
PHASE_TITLES = {
    BEFORE: "before the gradient",
    FORWARD: "forward: inputs -> loss",
    BACKWARD: "backward: loss -> gradients (transpose of the forward pass)",
    UPDATE: "update: gradients -> new values",
}
_MAX_FRAMES = 64
_WRAP = re.compile(r"^[A-Za-z_]\w*\((.*)\)$")
_FUNC = re.compile(r"\(([^()]*)\)$")


def name_stack_text(eqn: Any) -> str:
    """The eqn's name stack as JAX prints it (``transpose(jvp(enc))/inner``), or ``""``."""
    return str(getattr(eqn.source_info, "name_stack", ""))


def ad_phase(eqn: Any) -> str | None:
    """``backward`` for transposed eqns, ``forward`` for linearised ones, else ``None``."""
    text = name_stack_text(eqn)
    if "transpose(" in text:
        return BACKWARD
    if re.search(r"\b(jvp|linearize|vjp)\(", text):
        return FORWARD
    return None


def label_phases(eqns: Sequence[Any]) -> list[str]:
    """One phase per eqn, or all ``""`` when nothing was differentiated.

    Untransformed eqns take the phase before them; before the first differentiated eqn
    they are ``before``, after the last backward eqn they are the ``update``.
    """
    marks = [ad_phase(e) for e in eqns]
    if BACKWARD not in marks:
        return [""] * len(eqns)
    last_bwd = max(i for i, m in enumerate(marks) if m == BACKWARD)
    out, prev = [], BEFORE
    for i, mark in enumerate(marks):
        prev = mark or (UPDATE if i > last_bwd else prev)
        out.append(prev)
    return out


def named_scopes(text: str) -> tuple[str, ...]:
    """``jax.named_scope`` names of a name stack text, transforms stripped."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "/" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    names = []
    for part in parts:
        while (m := _WRAP.match(part)) is not None:
            part = m.group(1)
        if part:
            names.append(part)
    return tuple(names)


def user_functions(eqn: Any) -> tuple[str, ...]:
    """The user functions on the eqn's stack when it was made, outermost first."""
    try:
        text = source_info_util.summarize(eqn.source_info, num_frames=_MAX_FRAMES)
    except Exception:  # no traceback, or a frame JAX cannot place
        return ()
    names = []
    for line in text.splitlines():
        m = _FUNC.search(line)
        names.append(m.group(1).replace(".<locals>", "") if m else "?")
    return tuple(names)


def scope_paths(eqns: Sequence[Any]) -> list[tuple[str, ...]]:
    """Per eqn: the user functions below those all eqns share, then its named scopes."""
    chains = [user_functions(e) for e in eqns]
    known = [c for c in chains if c]
    common = 0
    if known:
        shortest = min(len(c) for c in known)
        while common < shortest and len({c[common] for c in known}) == 1:
            common += 1
    return [c[common:] + named_scopes(name_stack_text(e)) if c else
            named_scopes(name_stack_text(e)) for c, e in zip(chains, eqns, strict=True)]


def runs(labels: Sequence[Any], lo: int = 0, hi: int | None = None) -> list[tuple[Any, int, int]]:
    """Maximal runs ``(label, a, b)`` of equal labels in ``labels[lo:hi]``."""
    hi = len(labels) if hi is None else hi
    out: list[tuple[Any, int, int]] = []
    for i in range(lo, hi):
        if out and out[-1][0] == labels[i]:
            out[-1] = (labels[i], out[-1][1], i + 1)
        else:
            out.append((labels[i], i, i + 1))
    return out
