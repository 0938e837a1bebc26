"""Recompiles too rare for the churn rule that still cost more than the calls themselves.

Three compiles in 5 calls, or in 30, never reach churn's 5-of-10 rule, so a Python-API user
who does not read `f.entries` is told nothing. So once per function, on a recompile (a miss
with a reason) that is the second caused by the same argument, with hits in between, when
the function's compile time is more than the rest of the wall time since its first call,
say so with the reasons the ledger already has. Runs of misses with no hit (a new shape on
every call) are left to the churn rule, which sees them within a few calls; the notebook
magics show a dashboard, so only the Python API (`jitmagic.jit`) is told. The wall time
since the first call bounds the run time of its calls from above (it also counts what the
caller did in between), so the rule errs toward silence; hits are never timed.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

from jitmagic.diagnose.churn import CHURN_RULES, churn_keys
from jitmagic.errors import RecompileWarning
from jitmagic.ledger.records import CacheEntry


class CompileShare:
    """Says once per function that compiling took most of its time so far."""

    def __init__(self, stacklevel: int) -> None:
        self._start: float | None = None
        self._lock = threading.Lock()
        self._stacklevel = stacklevel
        self.said = False

    def on_miss(self, fn: Any, entry: CacheEntry, quiet: bool = False) -> list[str]:
        """After each recorded miss (`quiet`: a churn warning said it already); returns the
        arguments it named, so the churn rule does not say them again."""
        now = time.perf_counter()
        with self._lock:
            if self._start is None:  # the first call started before its own compile
                self._start = now - (entry.trace_s + entry.lower_s + entry.compile_s)
            if self.said or quiet or not entry.changes or fn.source.dialect != "api":
                return []
            if entry.call_index <= fn.stats.misses:  # no hit yet: churn's business
                return []
            culprits = _repeat_culprits(fn.entries, entry)
            recompiles = [e for e in fn.entries if e.changes]
            compile_s = fn.stats.compile_seconds
            elapsed = now - self._start
            if not culprits or compile_s <= elapsed - compile_s:
                return []
            self.said = True
        warnings.warn(dominates_words(fn, entry, recompiles, culprits[0], compile_s, elapsed),
                      RecompileWarning, stacklevel=self._stacklevel)
        return [name for name, _ in culprits]


def _repeat_culprits(entries: list[CacheEntry], entry: CacheEntry) -> list[tuple[str, str]]:
    """(argument, churn kind) this recompile changed that an earlier recompile changed too."""
    earlier = {key for e in entries if e is not entry for key in churn_keys(e.changes)}
    return [key for key in churn_keys(entry.changes) if key in earlier]


def dominates_words(fn: Any, entry: CacheEntry, recompiles: list[CacheEntry],
                    culprit: tuple[str, str], compile_s: float, elapsed: float) -> str:
    """Headline with the cost, the ledger's reasons, and the churn fix for the culprit."""
    compiles = fn.stats.misses
    reasons = "; ".join(dict.fromkeys(e.reason for e in recompiles[-2:]))
    name, kind = culprit
    fix = f"\n  Fix: {CHURN_RULES[kind].fix.format(name=name)}."
    return (f"jitmagic: `{fn.__name__}` spends most of its time compiling: {compiles} compiles "
            f"in {entry.call_index} calls took {compile_s:.2f} s of {elapsed:.2f} s.\n"
            f"  Why: {reasons}.{fix}")
