"""What to warn about, or stop, after a cache miss: static hygiene, prints, churn, budgets.

Runs only on the miss path (never on a hit), as the `checks` a `TrackedFunction` is built
with (see `jitmagic.api.jit`); it reads the function's public ledger only. Warnings point
at the user's call: the frames between it and `warnings.warn` are
`TrackedFunction._on_miss` and the methods here (the C forwarder adds no frame; the
pure-Python fallback adds `EXTRA_FRAMES`).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from jitmagic.diagnose import (
    budget,
    churn,
    compiletime,
    hygiene,
    leaks,
    libraries,
    rebuilt,
    stale,
)
from jitmagic.errors import (
    RecompileLimitError,
    RecompileWarning,
    SideEffectWarning,
    TracingPrintWarning,
)
from jitmagic.ledger.forward import EXTRA_FRAMES
from jitmagic.ledger.records import CacheEntry

# user call -> _on_miss -> after_miss -> warn; one more for helpers called by after_miss
_FROM_AFTER_MISS = 3 + EXTRA_FRAMES
_FROM_HELPER = 4 + EXTRA_FRAMES


def validate_max_compiles(value: Any) -> int | None:
    """`max_compiles` must be None or an int >= 0: checked when the function is built."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"max_compiles must be an int >= 0 (or None), got {value!r}")
    return value


class MissChecks:
    """Per-function state of the post-miss checks."""

    def __init__(self, max_compiles: int | None = None,
                 site: tuple[Any, int] | None = None) -> None:
        self.max_compiles = validate_max_compiles(max_compiles)
        self.rebuilds = rebuilt.Rebuilds(site, stacklevel=_FROM_HELPER)
        self.churn = churn.ChurnMonitor(stacklevel=_FROM_HELPER)
        self.stale = stale.StaleStatics(stacklevel=_FROM_HELPER)
        self.compile_share = compiletime.CompileShare(stacklevel=_FROM_HELPER)
        self.print_noted = False
        self._fingerprints: dict[int, dict[str, tuple[Any, ...]]] = {}  # entry index -> statics
        self._lock = threading.Lock()

    def after_hit(self, fn: Any, args: tuple, kwargs: dict) -> None:
        """A hit the ledger was asked to watch: statics changed in place since their miss."""
        self.stale.on_hit(fn, args, kwargs)

    def after_miss(self, fn: Any, entry: CacheEntry) -> None:
        """All checks for one recorded miss of the tracked function `fn`."""
        entries = fn.entries
        self.stale.on_miss(fn, entry)
        for problem in self.static_problems(entries, entry):
            warnings.warn(f"jitmagic: {problem}", RecompileWarning, stacklevel=_FROM_AFTER_MISS)
        if entry.traced and not self.print_noted:
            self.print_noted = True
            self._note_prints(fn)
        if entry.traced:
            self._note_side_effects(fn, entry)
            self.rebuilds.on_first_compile(fn)
        stats = fn.stats
        budget.note_compile(fn)  # a budget overrun is raised before any churn warning
        if self.max_compiles is not None and stats.misses > self.max_compiles:
            raise RecompileLimitError(
                f"{fn.__name__} compiled {stats.misses} times, more than "
                f"--max-compiles {self.max_compiles}.\n{fn.ledger_text()}",
                ledger=fn,
            )
        self.churn.on_miss(entry.call_index, churn.churn_keys(entry.changes),
                           churn.distinct_values(entries), stats.compile_seconds, fn.__name__)
        said = self.compile_share.on_miss(fn, entry, quiet=self.churn.warnings_issued > 0)
        self.churn.mark_said(said)

    def _note_prints(self, fn: Any) -> None:
        """A Python print in the body ran once, while tracing: say so (once per function).

        A print of constants only (``print("compiling")``) is a trace counter on purpose:
        the ledger already counts traces, so say where, rather than "use jax.debug.print".
        """
        cell_source = fn.source.cell_source
        if cell_source is not None:
            calls = hygiene.print_calls_in_source(cell_source, kinds=True)
        else:
            calls = hygiene.print_calls(fn.__wrapped__, kinds=True)
        values = [n for n, constant in calls if not constant]
        counters = [n for n, constant in calls if constant]
        if values:
            where = ", ".join(str(n) for n in values)
            warnings.warn(
                f"jitmagic: `print` (line {where}) in {fn.__name__} runs only while JAX "
                "traces it, not on every call; use jax.debug.print to print runtime values.",
                TracingPrintWarning, stacklevel=_FROM_HELPER,
            )
        elif counters:
            where = ", ".join(str(n) for n in counters)
            count = {"api": f"{fn.__name__}.stats.misses", "%jit": "%jitstats"}.get(
                fn.source.dialect, "%jitstats")
            warnings.warn(
                f"jitmagic: `print` (line {where}) in {fn.__name__} prints once per trace, so it "
                f"counts compiles; jitmagic counts them already: {count} (and says why each "
                "one happened).", TracingPrintWarning, stacklevel=_FROM_HELPER,
            )

    def _note_side_effects(self, fn: Any, entry: CacheEntry) -> None:
        """Tracers left in globals/cells/self, and flax.nnx changes lost (after a trace)."""
        for what, line in leaks.find_leaks(fn.__wrapped__):
            warnings.warn(leaks.leak_words(fn.__name__, what, line), SideEffectWarning,
                          stacklevel=_FROM_HELPER)
        nnx_args = [a.name for a in entry.signature.args if "_pytree__state" in a.treedef]
        words = libraries.nnx_mutation_warning(fn.__wrapped__, nnx_args) if nnx_args else None
        if words:
            warnings.warn(words, SideEffectWarning, stacklevel=_FROM_HELPER)

    def static_problems(self, entries: list[CacheEntry], entry: CacheEntry) -> list[str]:
        """Statics that break the cache: bad hash/eq now, or mutated since they were keyed."""
        problems = hygiene.check_static_hygiene(entry.signature.statics)
        with self._lock:
            self._fingerprints[entry.index] = hygiene.static_fingerprints(
                entry.signature.statics)
            kept = {e.index for e in entries}
            for index in [i for i in self._fingerprints if i not in kept]:
                del self._fingerprints[index]  # evicted entries are not checked any more
            for old in entries:
                before = {name: print_ for name, print_ in
                          self._fingerprints.get(old.index, {}).items()
                          if (old.index, name) not in self.stale.reported}  # said on a hit
                if old is entry or not before:
                    continue
                found = hygiene.check_mutated_after_call(
                    before, hygiene.static_fingerprints(old.signature.statics))
                if found:
                    self._fingerprints[old.index] = {}  # reported once
                    problems += found
        return problems
