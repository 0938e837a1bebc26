"""The records a tracked function keeps: `Stats` (counts) and `CacheEntry` (one per miss).

Plain data with readable reprs, so the same objects serve tests, terminals,
notebooks and the dashboard. Hits are counted per function, not per entry:
knowing which entry a hit used would mean building a signature on every call,
which the hit-path budget (≤ 1.10× bare `jax.jit`) does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._signature import Signature


@dataclass(frozen=True)
class Stats:
    """A consistent snapshot of one function's counters."""

    name: str
    calls: int
    hits: int
    misses: int
    traces: int = 0
    compile_seconds: float = 0.0
    retained: int = 0
    evicted: int = 0

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.calls if self.calls else 0.0

    def __str__(self) -> str:
        return (
            f"{self.name}: calls={self.calls} hits={self.hits} misses={self.misses} "
            f"compile={self.compile_seconds * 1e3:.1f} ms"
        )

    def __repr__(self) -> str:
        return f"Stats(calls={self.calls} hits={self.hits} misses={self.misses})"


@dataclass(eq=False)
class CacheEntry:
    """One cache miss: what was compiled, why, and what it cost."""

    index: int
    call_index: int
    signature: Signature
    reason: str
    traced: bool
    compiled: bool
    persistent_cache: str | None  # "hit" / "miss" when the persistent cache is on
    trace_s: float
    lower_s: float
    compile_s: float
    changes: tuple = field(default=(), repr=False)  # the reason's Change records
    fingerprints: dict = field(default_factory=dict, repr=False)  # statics, to spot mutation
    mutation_reported: bool = field(default=False, repr=False)
    owner: Any = field(default=None, repr=False)
    jaxpr: Any = field(default=None, repr=False)
    out_names: list[str] = field(default_factory=list, repr=False)

    @property
    def kind(self) -> str:
        """What JAX did: a fresh XLA compile, a persistent-cache load, or trace only."""
        if self.persistent_cache == "hit":
            return "persistent-cache hit"
        if self.compiled:
            return "compiled" if self.traced else "compiled (no re-trace)"
        return "traced"

    @property
    def total_ms(self) -> float:
        return (self.trace_s + self.lower_s + self.compile_s) * 1e3

    def timings(self) -> str:
        return (
            f"trace {self.trace_s * 1e3:.1f} ms · lower {self.lower_s * 1e3:.1f} ms · "
            f"compile {self.compile_s * 1e3:.1f} ms"
        )

    def graph(self, **options: Any) -> Any:
        """The jaxpr graph of this entry, from the trace JAX already did for it."""
        from ._graphing import graph_of_entry

        return graph_of_entry(self, **options)

    def __str__(self) -> str:
        return f"#{self.index} ({self.signature}) {self.reason} [{self.kind}; {self.timings()}]"

    def __repr__(self) -> str:
        return f"CacheEntry(#{self.index}, {self.signature}, reason={self.reason!r})"
