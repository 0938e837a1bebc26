"""One compile the watch saw (`CompileRecord`) and one function's exact totals (`FunctionSummary`).

Records are plain data: the newest N are kept in a ring, while summaries keep exact
counts for every compile ever seen, so memory stays bounded on a churning loop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jitmagic.ledger.signature import Signature

CALL_SITES_KEPT = 8  # distinct call sites counted per function (the rest as "other")


@dataclass(eq=False)
class CompileRecord:
    """One top-level compile: which function, where it was called, why, and its cost.

    `tracked` names the `jitmagic.jit` function it belongs to; `entry` is then that
    function's ledger entry (the richer record), linked right after the compile.
    """

    seq: int
    name: str
    defined_at: str | None
    call_site: str | None
    signature: Signature | None = None
    reason: str = ""
    trace_s: float = 0.0
    lower_s: float = 0.0
    compile_s: float = 0.0
    persistent_cache: str | None = None  # "hit" / "miss" when the persistent cache is on
    recreated: int = 0  # how many jit objects of this code compiled so far (0: not re-created)
    internal: bool = False  # a jax-internal op (eager `jnp.add` etc.), not user code
    tracked: str | None = None
    entry: Any = field(default=None, repr=False)
    changes: tuple = field(default=(), repr=False)
    key: Any = field(default=None, repr=False)  # the function's code identity

    @property
    def total_s(self) -> float:
        return self.trace_s + self.lower_s + self.compile_s

    def brief(self) -> str:
        """`train_step (batch: f32[32,784] → f32[17,784])`, as the cell line says it.

        A re-created jit is just `(re-created jit)` here, so a loop's N of them repeat
        one text the cell line can count; the table and `str()` keep the full reason.
        """
        if self.recreated and not self.changes:
            return f"{self.name} (re-created jit)"
        return f"{self.name} ({self.reason})" if self.reason else self.name

    def __str__(self) -> str:
        where = f" at {self.call_site}" if self.call_site else ""
        cache = f", persistent-cache {self.persistent_cache}" if self.persistent_cache else ""
        return f"{self.name}{where}: {self.reason or '?'} [{self.total_s * 1e3:.1f} ms{cache}]"


@dataclass
class FunctionSummary:
    """Exact totals for one function (one code identity) across every compile seen."""

    name: str
    defined_at: str | None
    key: Any = None  # the function's code identity
    compiles: int = 0
    trace_s: float = 0.0
    lower_s: float = 0.0
    compile_s: float = 0.0
    last_reason: str = ""
    last_seq: int = 0
    recreated: int = 0
    persistent_hits: int = 0  # compiles loaded from the persistent compilation cache
    internal: bool = False
    tracked: str | None = None
    call_sites: Counter = field(default_factory=Counter)

    @property
    def total_s(self) -> float:
        return self.trace_s + self.lower_s + self.compile_s

    def add(self, record: CompileRecord) -> None:
        self.compiles += 1
        self.trace_s += record.trace_s
        self.lower_s += record.lower_s
        self.compile_s += record.compile_s
        self.last_reason = record.reason
        self.last_seq = record.seq
        self.recreated = max(self.recreated, record.recreated)
        self.persistent_hits += record.persistent_cache == "hit"
        self.tracked = self.tracked or record.tracked
        site = record.call_site or "?"
        if site in self.call_sites or len(self.call_sites) < CALL_SITES_KEPT:
            self.call_sites[site] += 1
        else:
            self.call_sites["other"] += 1

    def sites_text(self, limit: int = 3) -> str:
        top = self.call_sites.most_common(limit)
        text = ", ".join(f"{site} ×{n}" if n > 1 else site for site, n in top)
        return text + (", …" if len(self.call_sites) > limit else "")
