"""Warnings that carry across functions nobody wrapped: churn and jits re-created per call.

Only compiles are visible for an untracked function (a hit fires no event and must stay
free), so the churn rule counts *compiles*: an argument churns when it changed on at
least the rule's limit (`CHURN_RULES`, TensorFlow's 5-of-10 for statics) of the
function's last `WINDOW` compiles. A jit re-created by a loop warns at its
`RECREATED_LIMIT`-th object. At most `MAX_WARNINGS` per function, pointed at the user's line.
"""

from __future__ import annotations

import warnings
from collections import deque
from types import FrameType

from jitmagic.diagnose.churn import CHURN_RULES, MAX_WARNINGS, WINDOW, churn_keys, recent_count
from jitmagic.errors import RecompileWarning
from jitmagic.watcher.history import Explained
from jitmagic.watcher.record import CompileRecord

RECREATED_LIMIT = 3


def _churn_texts(record: CompileRecord, explained: Explained) -> list[tuple[str, str]]:
    """(warned-about key, text) for each argument now churning."""
    group = explained.group
    log = group.churn_log
    out = []
    for name, kind in churn_keys(explained.changes):
        calls = log.setdefault((name, kind), deque(maxlen=WINDOW))
        calls.append(explained.compiles)
        recent = recent_count(list(calls), kind)
        if recent is None:
            continue
        rule = CHURN_RULES[kind]
        out.append((f"churn:{name}", (
            f"jitmagic: `{record.name}` keeps recompiling: {rule.warning_words(name)} on "
            f"{recent} of its last {WINDOW} compiles ({explained.compiles} compiles so far, "
            f"called at {record.call_site}).\n  Fix: {rule.fix.format(name=name)}.")))
    return out


def _recreated_text(record: CompileRecord, times: int) -> str:
    return (f"jitmagic: `{record.name}` (defined at {record.defined_at}) was jitted anew "
            f"and compiled {times} times in a row, called at {record.call_site}: each new "
            "`jax.jit(...)` of a new function object starts with an empty cache.\n"
            "  Fix: create the jitted function once, outside the loop, and call that.")


def due_warnings(record: CompileRecord, explained: Explained) -> list[str]:
    """The warnings this compile triggers (already counted against the function's budget)."""
    if record.internal or record.tracked:
        return []
    candidates = _churn_texts(record, explained)
    if record.recreated and explained.in_a_row >= RECREATED_LIMIT:
        candidates.append(("recreated", _recreated_text(record, explained.in_a_row)))
    group, out = explained.group, []
    for key, text in candidates:
        if key in group.warned or len(group.warned) >= MAX_WARNINGS:
            continue
        group.warned.add(key)
        out.append(text)
    return out


def emit(texts: list[str], frame: FrameType | None) -> None:
    """Issue each text as a `RecompileWarning` attributed to the user's frame."""
    for text in texts:
        if frame is None:
            warnings.warn(text, RecompileWarning, stacklevel=2)
            continue
        module_globals = frame.f_globals
        # No `module_globals=`: Python 3.13 raises ValueError for a namespace whose
        # `__spec__` is None, as IPython's is; linecache finds cells and files anyway.
        warnings.warn_explicit(
            text, RecompileWarning, frame.f_code.co_filename, frame.f_lineno,
            module=module_globals.get("__name__"),
            registry=module_globals.setdefault("__warningregistry__", {}),
        )
