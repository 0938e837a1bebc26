"""The watch as text and HTML: the per-function table and the one-line cell summary.

Plain display data (`_repr_mimebundle_` with text/plain always), so terminals, tests
and saved notebooks all get the same static copy.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import Any

from jitmagic.watcher.record import CompileRecord, FunctionSummary

SORTS = ("compile", "compiles", "name", "last")
_KEYS = {
    "compile": lambda s: -s.total_s,
    "compiles": lambda s: -s.compiles,
    "name": lambda s: s.name,
    "last": lambda s: -s.last_seq,
}
_HEAD = ("function", "compiles", "time", "last reason", "call sites", "defined at")


def _row(s: FunctionSummary) -> tuple[str, ...]:
    name = s.name + (" [tracked]" if s.tracked else "") + (" [jax op]" if s.internal else "")
    time = f"{s.total_s:.3f} s" + (f" ({s.persistent_hits} from disk cache)"
                                    if s.persistent_hits else "")
    return (name, str(s.compiles), time, s.last_reason, s.sites_text(),
            s.defined_at or "?")


class WatchTable:
    """Per function (user functions first, JAX's own eager ops last)."""

    def __init__(self, functions: Sequence[FunctionSummary], sort: str = "compile",
                 dropped: int = 0) -> None:
        key = _KEYS[sort]
        self.rows = sorted(functions, key=lambda s: (s.internal, key(s)))
        self.dropped = dropped

    def _footer(self) -> str:
        total = sum(s.compiles for s in self.rows)
        seconds = sum(s.total_s for s in self.rows)
        text = f"{total} compiles, {seconds:.3f} s"
        return text + (f" ({self.dropped} older records dropped; counts exact)"
                       if self.dropped else "")

    def __str__(self) -> str:
        if not self.rows:
            return "no compiles seen"
        rows = [_HEAD] + [_row(s) for s in self.rows]
        widths = [min(60, max(len(r[i]) for r in rows)) for i in range(len(_HEAD))]
        lines = ["  ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        return "\n".join([*lines, self._footer()])

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<p>no compiles seen</p>"
        head = "".join(f"<th>{h}</th>" for h in _HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _row(s)) + "</tr>"
                       for s in self.rows)
        return (f'<table class="jitmagic-watch"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table><p>{html.escape(self._footer())}</p>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def __repr__(self) -> str:
        return str(self)


class CellSummary:
    """`compiled 2× in 1.3 s: train_step (batch: f32[32,784] → f32[17,784]), loss (first call)`.

    One line under a cell that compiled; expandable (HTML `<details>`) to the table.
    """

    def __init__(self, records: Sequence[CompileRecord], table: WatchTable) -> None:
        self.records = [r for r in records if not r.internal]
        self.internal = len(records) - len(self.records)
        self.table = table

    def line(self) -> str:
        seconds = sum(r.total_s for r in self.records)
        counts = Counter(r.brief() for r in self.records)  # first-seen order, counted
        parts = [f"{text} ×{n}" if n > 1 else text for text, n in counts.items()]
        shown = ", ".join(parts[:4]) + (f", … ({len(parts) - 4} more)" if len(parts) > 4 else "")
        extra = f" (+{self.internal} jax op compiles)" if self.internal else ""
        return f"compiled {len(self.records)}× in {seconds:.2f} s: {shown}{extra}"

    def __str__(self) -> str:
        return self.line()

    def _repr_html_(self) -> str:
        return (f'<details class="jitmagic-watch-cell"><summary><code>{html.escape(self.line())}'
                f"</code></summary>{self.table._repr_html_()}</details>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": self.line(), "text/html": self._repr_html_()}

    def __repr__(self) -> str:
        return self.line()
