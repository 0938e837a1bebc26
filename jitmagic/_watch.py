"""What to warn about, or stop, after a cache miss: static hygiene, prints, churn, budgets.

Runs only on the miss path (never on a hit). Warnings point at the user's call: the frames
between it and `warnings.warn` are `TrackedFunction._on_miss` and the methods here (the C
forwarder adds no frame; the pure-Python fallback adds `EXTRA_FRAMES`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from . import _hygiene
from ._errors import RecompileLimitError, RecompileWarning, TracingPrintWarning
from ._forward import EXTRA_FRAMES

if TYPE_CHECKING:
    from ._ledger import CacheEntry

# user call -> _on_miss -> after_miss -> warn; one more for helpers called by after_miss
_FROM_AFTER_MISS = 3 + EXTRA_FRAMES
_FROM_HELPER = 4 + EXTRA_FRAMES


class MissWatch:
    """Per-function state of the post-miss checks."""

    def __init__(self, max_compiles: int | None) -> None:
        self.max_compiles = max_compiles
        self.churn = _hygiene.ChurnMonitor(stacklevel=_FROM_HELPER)
        self.print_noted = False

    def after_miss(self, fn: Any, entry: CacheEntry) -> None:
        """All checks for one recorded miss of the tracked function `fn`."""
        for problem in static_problems(fn.entries, entry):
            warnings.warn(f"jitmagic: {problem}", RecompileWarning, stacklevel=_FROM_AFTER_MISS)
        if entry.traced and not self.print_noted:
            self.print_noted = True
            self._note_prints(fn)
        changed = {(c.arg, "static" if c.kind == "static" else "shape") for c in entry.changes}
        stats = fn.stats
        self.churn.on_miss(entry.call_index, sorted(changed), distinct_values(fn.entries),
                           stats.compile_seconds, fn.__name__)
        _hygiene.note_compile(fn)
        if self.max_compiles is not None and stats.misses > self.max_compiles:
            raise RecompileLimitError(
                f"{fn.__name__} compiled {stats.misses} times, more than "
                f"--max-compiles {self.max_compiles}.\n{fn.ledger_text()}",
                ledger=fn,
            )

    def _note_prints(self, fn: Any) -> None:
        """A Python print in the body ran once, while tracing: say so (once per function)."""
        cell_source = fn._source.cell_source
        if cell_source is not None:
            lines = _hygiene.print_calls_in_source(cell_source)
        else:
            lines = _hygiene.print_calls(fn.__wrapped__)
        if lines:
            where = ", ".join(str(n) for n in lines)
            warnings.warn(
                f"jitmagic: `print` (line {where}) in {fn.__name__} runs only while JAX "
                "traces it, not on every call; use jax.debug.print to print runtime values.",
                TracingPrintWarning, stacklevel=_FROM_HELPER,
            )


def static_problems(entries: list[CacheEntry], entry: CacheEntry) -> list[str]:
    """Statics that break the cache: bad hash/eq now, or mutated since they were keyed."""
    entry.fingerprints = _hygiene.static_fingerprints(entry.signature.statics)
    problems = _hygiene.check_static_hygiene(entry.signature.statics)
    for old in entries:
        if old is not entry and old.fingerprints and not old.mutation_reported:
            now = _hygiene.static_fingerprints(old.signature.statics)
            found = _hygiene.check_mutated_after_call(old.fingerprints, now)
            old.mutation_reported = bool(found)
            problems += found
    return problems


def distinct_values(entries: list[CacheEntry]) -> dict[str, int]:
    """How many different values (statics) or type signatures (traced) each argument had."""
    seen: dict[str, set] = {}
    for e in entries:
        for name, value in e.signature.statics.items():
            seen.setdefault(name, set()).add(repr(value))
        for arg in e.signature.args:
            if not arg.static:
                seen.setdefault(arg.name, set()).add(tuple(x.short for x in arg.leaves))
    return {name: len(values) for name, values in seen.items()}
