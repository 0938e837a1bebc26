"""Churn: one function missing the cache again and again for the same reason.

One rule, on the ledger's structured changes (`CacheEntry.changes`), used by the
`RecompileWarning` (`ChurnMonitor`, on the miss path) and by the dashboard's note
(`churn_findings`, from the retained entries): an argument churns when it changed on
at least `limit` of the last `WINDOW` calls (TensorFlow's retracing rule). What each kind
of change means and how to fix it is one row of `CHURN_RULES`.
"""

from __future__ import annotations

import collections
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jitmagic.errors import RecompileWarning
from jitmagic.ledger.reasons import Change
from jitmagic.ledger.records import CacheEntry

WINDOW = 10  # calls looked at by the churn rule (TensorFlow's retracing window)
MAX_WARNINGS = 2  # churn warnings per function
EARLY_SPAN = 3 * WINDOW  # a static changing twice this close is said at once


@dataclass(frozen=True)
class ChurnRule:
    """How often a kind of change may happen before it is churn, and its fix."""

    limit: int
    what: str  # the dashboard's words; "{name}" is the argument
    fix: str
    warn_what: str = ""  # the warning's words, when they differ

    def warning_words(self, name: str) -> str:
        return (self.warn_what or self.what).format(name=name)


CHURN_RULES: dict[str, ChurnRule] = {
    "static": ChurnRule(5, "static `{name}` changed", (
        "if `{name}` is data, drop it from --static / static_argnames so it is traced; "
        "else keep it to a few fixed values"), "static argument `{name}` took a new value"),
    "shape": ChurnRule(6, "the shape of `{name}` changed", (
        "pad `{name}` to a few fixed sizes (bucketing) so shapes repeat")),
    "structure": ChurnRule(6, "the pytree structure of `{name}` changed", (
        "give `{name}` the same structure on every call (same keys, same list length; "
        "pad or stack the varying part into an array)")),
    "passing": ChurnRule(6, "how `{name}` is passed changed", (
        "pass `{name}` the same way on every call (always by keyword, or always by position)")),
}
_KIND_OF_CHANGE = {"static": "static", "structure": "structure", "passing": "passing",
                   "presence": "passing"}  # shape, dtype, weak_type, sharding: "shape"


def churn_keys(changes: Iterable[Change]) -> list[tuple[str, str]]:
    """(argument, churn kind) for each argument a miss changed, once each, in order."""
    keys = [(c.arg, _KIND_OF_CHANGE.get(c.kind, "shape")) for c in changes]
    return list(dict.fromkeys(keys))


def recent_count(calls: Sequence[int], kind: str) -> int | None:
    """How many of the last WINDOW calls changed, if that is churn for `kind` (else None)."""
    if not calls:
        return None
    recent = sum(1 for i in calls if i > calls[-1] - WINDOW)
    return recent if recent >= CHURN_RULES[kind].limit else None


@dataclass(frozen=True)
class ChurnFinding:
    """One churning argument: what changed, how often, at what cost, and the fix."""

    fun: str
    name: str
    kind: str
    recent: int
    span: int  # calls from the first to the last of the recent changes
    distinct: int | None
    compile_seconds: float

    @property
    def fix(self) -> str:
        return CHURN_RULES[self.kind].fix.format(name=self.name)

    def note(self) -> str:
        """The dashboard's line."""
        what = CHURN_RULES[self.kind].what.format(name=self.name)
        count = f"{self.distinct} distinct values, " if self.distinct else ""
        return (f"{what} on {self.recent} of {self.span} calls ({count}"
                f"{self.compile_seconds:.2f} s compiling so far). Fix: {self.fix}.")

    def warning(self) -> str:
        """The `RecompileWarning` text."""
        what = CHURN_RULES[self.kind].warning_words(self.name)
        count = f"{self.distinct} distinct values, " if self.distinct else ""
        return (f"jitmagic: `{self.fun}` keeps recompiling: {what} on {self.recent} of the "
                f"last {WINDOW} calls ({count}{self.compile_seconds:.2f} s compiling so far)."
                f"\n  Fix: {self.fix}.")


def distinct_values(entries: Sequence[CacheEntry]) -> dict[str, int]:
    """How many different values (statics) or type signatures (traced) each argument had."""
    seen: dict[str, set[Any]] = {}
    for e in entries:
        for name, value in e.signature.statics.items():
            seen.setdefault(name, set()).add(repr(value))
        for arg in e.signature.args:
            if not arg.static:
                seen.setdefault(arg.name, set()).add(tuple(x.short for x in arg.leaves))
    return {name: len(values) for name, values in seen.items()}


def churn_findings(fun: str, entries: Sequence[CacheEntry],
                   compile_seconds: float) -> list[ChurnFinding]:
    """Every argument churning in the retained entries (the dashboard's view)."""
    calls: dict[tuple[str, str], list[int]] = {}
    for entry in entries:
        for key in churn_keys(entry.changes):
            calls.setdefault(key, []).append(entry.call_index)
    distinct = distinct_values(entries)
    found = []
    for (name, kind), indices in calls.items():
        recent = recent_count(indices, kind)
        if recent is not None:
            span = indices[-1] - indices[-recent] + 1
            found.append(ChurnFinding(fun, name, kind, recent, span, distinct.get(name),
                                      compile_seconds))
    return found


class ChurnMonitor:
    """Warns (``RecompileWarning``) when one function keeps missing the cache for one reason.

    The post-miss checks call :meth:`on_miss` on every miss; hits cost nothing. Each
    argument is warned about at most once, and a function at most :data:`MAX_WARNINGS` times.
    """

    def __init__(self, *, stacklevel: int = 3) -> None:
        self._calls: dict[tuple[str, str], collections.deque[int]] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._stacklevel = stacklevel
        self.warnings_issued = 0

    def on_miss(self, call_index: int, changed: Sequence[tuple[str, str]],
                distinct: dict[str, int], compile_seconds: float, fun: str) -> None:
        """Record the (argument, churn kind) pairs changed at `call_index`; warn on churn.

        Arguments that change together are one warning. A static argument that changes a
        second time within `EARLY_SPAN` calls is said at once (3 compiles in 30 calls never
        reach the 5-of-10 rule), once.
        """
        due: dict[tuple[str, bool], list[ChurnFinding]] = {}
        with self._lock:
            for name, kind in changed:
                calls = self._calls.setdefault((name, kind), collections.deque(maxlen=WINDOW))
                calls.append(call_index)
                recent = recent_count(calls, kind)
                early = recent is None and kind == "static" and len(calls) == 2 and (
                    calls[-1] - calls[-2] <= EARLY_SPAN)
                if recent is not None or early:
                    count = recent or len(calls)
                    due.setdefault((kind, early), []).append(ChurnFinding(
                        fun, name, kind, count, calls[-1] - calls[-count] + 1,
                        distinct.get(name), compile_seconds))
            due = {key: found for key, found in due.items()
                   if self._may_warn([f.name for f in found])}
        for (_, early), found in due.items():
            warnings.warn(group_warning(found, early), RecompileWarning,
                          stacklevel=self._stacklevel)

    def mark_said(self, names: Iterable[str]) -> None:
        """These arguments were warned about elsewhere (compile time): not again here."""
        with self._lock:
            self._warned.update(names)

    def _may_warn(self, names: list[str]) -> bool:
        if set(names) & self._warned or self.warnings_issued >= MAX_WARNINGS:
            return False
        self._warned.update(names)
        self.warnings_issued += 1
        return True


def group_warning(found: list[ChurnFinding], early: bool) -> str:
    """One `RecompileWarning` for arguments of one kind that changed on the same misses."""
    if len(found) == 1 and not early:
        return found[0].warning()
    first = found[0]
    names = "` and `".join(f.name for f in found)
    rule = CHURN_RULES[first.kind]
    what = rule.warning_words(names) if len(found) == 1 else (
        f"{rule.what.format(name=names)} together")
    if early:
        what = f"{what} again ({first.recent} new values within {first.span} calls)"
    else:
        what = f"{what} on {first.recent} of the last {WINDOW} calls"
    return (f"jitmagic: `{first.fun}` keeps recompiling: {what}, each one a compile "
            f"({first.compile_seconds:.2f} s compiling so far).\n  Fix: "
            f"{rule.fix.format(name=names)}.")
