"""`jitmagic.watcher()`: every top-level compile of any jitted function, while active.

    with jitmagic.watcher() as w:
        train(...)
    w.table()            # per function: compiles, time, last reason, call sites

or `w = jitmagic.watcher(); w.start(); ...; w.stop()`. The newest `keep` records are
kept (`compiles`); counts and seconds stay exact for all (`count`, `functions()`).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from jitmagic.watcher import listen
from jitmagic.watcher.record import CompileRecord, FunctionSummary
from jitmagic.watcher.table import SORTS, WatchTable

DEFAULT_KEEP = 1000


class Watch:
    """The compiles seen while active: a ring of records plus exact per-function totals."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise ValueError(f"keep must be a positive int (records kept), got {keep!r}")
        self._records: deque[CompileRecord] = deque(maxlen=keep)
        self._functions: dict[Any, FunctionSummary] = {}
        self._lock = threading.Lock()
        self.count = 0  # every compile seen, kept or not

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Watch:
        listen.add(self)
        return self

    def stop(self) -> Watch:
        listen.remove(self)
        return self

    @property
    def active(self) -> bool:
        return self in listen._watches

    def __enter__(self) -> Watch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ fed by listen
    def _add(self, record: CompileRecord) -> None:
        with self._lock:
            self._records.append(record)
            self.count += 1
            summary = self._functions.get(record.key)
            if summary is None:
                summary = self._functions[record.key] = FunctionSummary(
                    record.name, record.defined_at, key=record.key, internal=record.internal)
            summary.add(record)

    def _linked(self, record: CompileRecord) -> None:
        """A tracked function's ledger entry arrived: its reason is the ledger's."""
        with self._lock:
            summary = self._functions.get(record.key)
            if summary is not None and summary.last_seq == record.seq:
                summary.last_reason = record.reason

    # ------------------------------------------------------------------ reading
    @property
    def compiles(self) -> list[CompileRecord]:
        """The kept records, oldest first."""
        with self._lock:
            return list(self._records)

    @property
    def dropped(self) -> int:
        """Records no longer kept (still counted in `count` and `functions()`)."""
        return self.count - len(self._records)

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._records[-1].seq if self._records else 0

    def since(self, seq: int) -> list[CompileRecord]:
        """The kept records newer than `seq` (a cell's compiles)."""
        with self._lock:
            return [r for r in self._records if r.seq > seq]

    def functions(self, include_internal: bool = True) -> list[FunctionSummary]:
        """Exact per-function totals, in order of first compile."""
        with self._lock:
            return [s for s in self._functions.values() if include_internal or not s.internal]

    def by_name(self, name: str) -> list[CompileRecord]:
        return [r for r in self.compiles if r.name == name]

    @property
    def total_compile_s(self) -> float:
        """Seconds spent tracing, lowering and compiling, over every compile seen."""
        with self._lock:
            return sum(s.total_s for s in self._functions.values())

    def table(self, sort: str = "compile") -> WatchTable:
        """Per function: compiles, time, last reason, call sites (text and HTML)."""
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        return WatchTable(self.functions(), sort=sort, dropped=self.dropped)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._functions.clear()
            self.count = 0

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return self.table()._repr_mimebundle_()

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return (f"<Watch {state}: {self.count} compiles of {len(self._functions)} functions, "
                f"{self.total_compile_s:.2f} s>")


def watch(keep: int = DEFAULT_KEEP) -> Watch:
    """A new, started `Watch` (use it as a context manager, or call `.stop()`)."""
    return Watch(keep).start()
