"""The ledger's shared words and the all-functions table (`%jitstats`) as text and HTML.

Pure functions of `Stats` and `CacheEntry` (no IPython), so terminals, nbconvert, GitHub
and live notebooks all say the same thing. Churn is judged here too, from the retained
entries only (never per call). One function's board is in `board.py`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from jitmagic.diagnose.churn import churn_findings
from jitmagic.ledger.records import CacheEntry

HIT_NOTE = "hits are counted per function, not per entry: per-entry hits would slow every call"
SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "misses": lambda s: (-s.misses, -s.compile_seconds, s.name),
    "compile": lambda s: (-s.compile_seconds, -s.misses, s.name),
    "calls": lambda s: (-s.calls, s.name),
    "name": lambda s: (s.name,),
}
MUTED = "color:var(--jp-ui-font-color2,#666)"
NUM = "text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap"


def percent(ratio: float) -> str:
    """A hit ratio as text; 2002 of 2004 is "99.9%", never a rounded-up "100%"."""
    if abs(ratio * 100 - round(ratio * 100)) < 1e-9:
        return f"{ratio:.0%}"
    return f"{min(max(ratio, 0.001), 0.999):.1%}"


def ms(seconds: float) -> str:
    """Seconds as milliseconds with one decimal, the unit of every dashboard column."""
    return f"{seconds * 1e3:.1f}"


def kind_text(entry: Any) -> str:
    """What JAX did for the entry, with persistent-compilation-cache use made visible."""
    if entry.persistent_cache == "hit":
        return "⛁ persistent-cache hit"
    if entry.persistent_cache == "miss":
        return f"{entry.kind} (persistent-cache miss)"
    return entry.kind


def churn_notes(entries: Sequence[CacheEntry], compile_seconds: float) -> list[str]:
    """One line per churning argument, with its one-line fix.

    The same rule as the `RecompileWarning` (`jitmagic.diagnose.churn`), on the entries'
    structured changes.
    """
    return [f.note() for f in churn_findings("", entries, compile_seconds)]


def _stat_rows(functions: Sequence[Any], sort: str) -> list[tuple[str, ...]]:
    pairs = sorted(((f.stats, f) for f in functions), key=lambda p: SORT_KEYS[sort](p[0]))
    rows: list[tuple[str, ...]] = []
    for stats, f in pairs:
        entries = f.entries
        churn = "⚠ churn" if churn_notes(entries, stats.compile_seconds) else ""
        rows.append((stats.name, str(stats.calls), str(stats.hits), str(stats.misses),
                     percent(stats.hit_ratio), ms(stats.compile_seconds),
                     entries[-1].reason if entries else "", churn))
    return rows


_STAT_COLUMNS = ("function", "calls", "hits", "misses", "hit ratio", "jit ms",
                 "last miss reason", "")
_NUMERIC = {1, 2, 3, 4, 5}
STATS_HELP = ("jit ms: time spent in trace + lower + XLA compile, summed over misses; "
              f"{HIT_NOTE}.")


def stats_text(functions: Sequence[Any], sort: str = "misses") -> str:
    """Every tracked function, one line each, sorted by `sort` (`%jitstats` in a terminal)."""
    rows = _stat_rows(functions, sort)
    if not rows:
        return "no tracked functions yet (use %jit, %%jitcell or @jitmagic.jit)"
    table = [_STAT_COLUMNS[:-1], *(r[:-1] for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(_NUMERIC) + 1)]
    lines = [_text_row(table[0], widths) + f"   (sorted by {sort})"]
    lines += [_text_row(r[:-1], widths) + (f" | {r[-1]}" if r[-1] else "") for r in rows]
    return "\n".join(lines)


def _text_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    """Name and numbers padded to their column (numbers right-aligned), the reason last."""
    padded = [c.rjust(widths[i]) if i in _NUMERIC else c.ljust(widths[i]) if i < len(widths)
              else c for i, c in enumerate(cells)]
    return " | ".join(padded).rstrip(" |")


def _td(i: int, text: str, head: bool = False) -> str:
    tag = "th" if head else "td"
    pad = "padding:.2em .8em;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)"
    style = f"{pad};{NUM}" if i in _NUMERIC else f"{pad};text-align:left"
    return f"<{tag} style='{style}'>{html.escape(text)}</{tag}>"


def stats_html(functions: Sequence[Any], sort: str = "misses") -> str:
    """The `%jitstats` table: numbers right-aligned, the hits caveat in the help expander."""
    rows = _stat_rows(functions, sort)
    if not rows:
        return "<p>no tracked functions yet (use %jit, %%jitcell or @jitmagic.jit)</p>"
    head = "".join(_td(i, c, head=True) for i, c in enumerate(_STAT_COLUMNS))
    body = "".join("<tr>" + "".join(_td(i, c) for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return (f"<div class='jitmagic-stats'><table class='jitmagic-stats-static'>"
            f"<tr>{head}</tr>{body}</table>"
            f"<small style='{MUTED}'>sorted by {sort} (<code>%jitstats --sort "
            "misses|compile|calls|name</code>)</small> <details style='display:inline-block;"
            f"{MUTED}'><summary><small>help</small></summary><small>"
            f"{html.escape(STATS_HELP)}</small></details></div>")
