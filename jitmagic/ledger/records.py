"""The records a tracked function keeps: `Stats` (counts) and `CacheEntry` (one per miss).

Plain frozen data with readable reprs and no back-reference to the function that made
them, so the same objects serve tests, terminals, notebooks, graphs and the dashboard.
Hits are counted per function, not per entry: knowing which entry a hit used would mean
building a signature on every call, which the hit-path budget (≤ 1.10× bare `jax.jit`)
does not allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jitmagic.ledger import hooks
from jitmagic.ledger.reasons import Change
from jitmagic.ledger.signature import Signature


@dataclass(frozen=True)
class SourceMap:
    """Where the traced Python came from: a notebook cell or a plain function."""

    source_file: str | None = None
    line_offset: int = 0
    cell_source: str | None = None
    is_cell: bool = False
    dialect: str = "api"  # how the user built it: "api", "%jit" or "%%jitcell" (fixes say so)
    # a cell's function rebuilt from edited cell source, optionally autocond-rewritten (to
    # trace a suggested fix): rebuild(text, autocond=False)
    rebuild: Callable[..., Callable[..., Any]] | None = field(
        default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FailedCall:
    """A call whose trace raised: everything a diagnosis needs to re-trace it."""

    fun: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    static_argnums: tuple[int, ...]
    static_argnames: tuple[str, ...]
    jit_kwargs: dict[str, Any]
    source: SourceMap


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


@dataclass(frozen=True, eq=False)
class CacheEntry:
    """One cache miss: what was compiled, why, and what it cost.

    `name` and `source` say which function it belongs to and where its code came from,
    so a graph or a check needs nothing but the entry.
    """

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
    changes: tuple[Change, ...] = field(default=(), repr=False)  # the reason, structured
    name: str = field(default="", repr=False)
    source: SourceMap = field(default_factory=SourceMap, repr=False)
    jaxpr: Any = field(default=None, repr=False)  # ClosedJaxpr from JAX's trace cache
    out_names: tuple[str, ...] = field(default=(), repr=False)

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
        return hooks.call("draw_entry", self, **options)

    def __str__(self) -> str:
        return f"#{self.index} ({self.signature}) {self.reason} [{self.kind}; {self.timings()}]"

    def __repr__(self) -> str:
        return f"CacheEntry(#{self.index}, {self.signature}, reason={self.reason!r})"
