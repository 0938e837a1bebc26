"""The ledger as text and static HTML: what a dashboard shows where no widget can live.

Pure functions of `Stats` and `CacheEntry` (no ipywidgets, no IPython), so terminals,
`print(f.dashboard())`, nbconvert, GitHub and the widgets' own cells all say the same
thing. Churn is judged here too, from the retained entries only (never per call).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from jitmagic.diagnose.churn import churn_findings
from jitmagic.graphs.ledger import graph_of_entry
from jitmagic.ledger.records import CacheEntry

HIT_NOTE = "hits are counted per function, not per entry: per-entry hits would slow every call"
JAXPR_CHARS = 3000
SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "misses": lambda s: (-s.misses, -s.compile_seconds, s.name),
    "compile": lambda s: (-s.compile_seconds, -s.misses, s.name),
    "calls": lambda s: (-s.calls, s.name),
    "name": lambda s: (s.name,),
}
_COLUMNS = ("#", "signature", "trace", "lower", "compile ms", "kind", "miss reason")



def percent(ratio: float) -> str:
    """A hit ratio as text; 2002 of 2004 is "99.9%", never a rounded-up "100%"."""
    if abs(ratio * 100 - round(ratio * 100)) < 1e-9:
        return f"{ratio:.0%}"
    return f"{min(max(ratio, 0.001), 0.999):.1%}"

def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def kind_text(entry: Any) -> str:
    """What JAX did for the entry, with persistent-compilation-cache use made visible."""
    if entry.persistent_cache == "hit":
        return "⛁ persistent-cache hit"
    if entry.persistent_cache == "miss":
        return f"{entry.kind} (persistent-cache miss)"
    return entry.kind


def entry_cells(entry: Any) -> tuple[str, ...]:
    """One table row: signature, trace/lower/compile ms, kind, miss reason."""
    return (str(entry.signature), _ms(entry.trace_s), _ms(entry.lower_s), _ms(entry.compile_s),
            kind_text(entry), entry.reason)


def churn_notes(entries: Sequence[CacheEntry], compile_seconds: float) -> list[str]:
    """One line per churning argument, with its one-line fix.

    The same rule as the `RecompileWarning` (`jitmagic.diagnose.churn`), on the entries'
    structured changes.
    """
    return [f.note() for f in churn_findings("", entries, compile_seconds)]


def summary_text(stats: Any, entries: Sequence[Any]) -> str:
    last = f", {entries[-1].total_ms:.1f} ms last" if entries else ""
    return (f"{stats.name}: calls {stats.calls} · hits {stats.hits} · misses {stats.misses} · "
            f"hit ratio {percent(stats.hit_ratio)} · "
            f"compile {_ms(stats.compile_seconds)} ms total{last}")


def board_text(tracked: Any) -> str:
    """The dashboard as plain text: summary, churn, one line per retained entry."""
    stats, entries = tracked.stats, tracked.entries
    lines = [summary_text(stats, entries)]
    lines += [f"  ⚠ churn: {note}" for note in churn_notes(entries, stats.compile_seconds)]
    if entries:
        lines.append("  " + " | ".join(_COLUMNS))
    for e in entries:
        lines.append(f"  #{e.index} | " + " | ".join(entry_cells(e)))
    if stats.evicted:
        lines.append(f"  ({stats.evicted} older entries evicted; counted in the totals)")
    lines.append(f"  ({HIT_NOTE})")
    return "\n".join(lines)


def _bar(ratio: float) -> str:
    color = "#4caf50" if ratio >= 0.9 else "#ff9800" if ratio >= 0.5 else "#f44336"
    return ("<span style='display:inline-block;width:6em;height:.7em;background:#ddd;"
            f"vertical-align:middle'><span style='display:block;width:{ratio:.0%};"
            f"height:100%;background:{color}'></span></span>")


def _jaxpr_details(entry: Any) -> str:
    text = "(no jaxpr captured)" if entry.jaxpr is None else str(entry.jaxpr)
    if len(text) > JAXPR_CHARS:
        text = text[:JAXPR_CHARS] + "\n…"
    return (f"<details><summary>#{entry.index}</summary><pre>{html.escape(text)}</pre>"
            "</details>")


def board_html(tracked: Any) -> str:
    """The dashboard as static HTML (each entry's jaxpr text opens on click)."""
    stats, entries = tracked.stats, tracked.entries
    head = html.escape(summary_text(stats, entries)).replace(
        " · hit ratio", f" · hit ratio {_bar(stats.hit_ratio)}", 1)
    churn = "".join(f"<div style='color:#b35900'><b>⚠ churn:</b> {html.escape(n)}</div>"
                    for n in churn_notes(entries, stats.compile_seconds))
    rows = "".join(
        f"<tr><td>{_jaxpr_details(e)}</td>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in entry_cells(e)) + "</tr>"
        for e in entries)
    head_row = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    evicted = f"{stats.evicted} older entries evicted; " if stats.evicted else ""
    return (f"<div class='jitmagic-dashboard-static'><div>{head}</div>{churn}"
            f"<table><tr>{head_row}</tr>{rows}</table>"
            f"<small>{evicted}{html.escape(HIT_NOTE)}</small></div>")


def graph_bundle(entry: Any) -> dict[str, Any]:
    """A mimebundle of the entry's graph; its jaxpr text when no graph can be drawn."""
    try:
        graph = graph_of_entry(entry)
        bundle = graph._repr_mimebundle_()
        return dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    except Exception as exc:
        text = str(entry.jaxpr) if entry.jaxpr is not None else f"(no jaxpr: {exc})"
        return {"text/plain": f"#{entry.index} ({entry.signature})\n{text}"}


def _stat_rows(functions: Sequence[Any], sort: str) -> list[tuple[str, ...]]:
    pairs = sorted(((f.stats, f) for f in functions), key=lambda p: SORT_KEYS[sort](p[0]))
    rows: list[tuple[str, ...]] = []
    for stats, f in pairs:
        entries = f.entries
        churn = "⚠ churn" if churn_notes(entries, stats.compile_seconds) else ""
        rows.append((stats.name, str(stats.calls), str(stats.hits), str(stats.misses),
                     percent(stats.hit_ratio), _ms(stats.compile_seconds),
                     entries[-1].reason if entries else "", churn))
    return rows


_STAT_COLUMNS = ("function", "calls", "hits", "misses", "hit ratio", "compile ms",
                 "last miss reason", "")


def stats_text(functions: Sequence[Any], sort: str = "misses") -> str:
    """Every tracked function, one line each, sorted by `sort` (`%jitstats` in a terminal)."""
    rows = _stat_rows(functions, sort)
    if not rows:
        return "no tracked functions yet (use %jit, %%jitcell or @jitmagic.jit)"
    lines = [" | ".join(_STAT_COLUMNS[:-1]) + f"   (sorted by {sort})"]
    lines += [" | ".join(r).rstrip(" |") for r in rows]
    return "\n".join(lines)


def stats_html(functions: Sequence[Any], sort: str = "misses") -> str:
    rows = _stat_rows(functions, sort)
    if not rows:
        return "<p>no tracked functions yet (use %jit, %%jitcell or @jitmagic.jit)</p>"
    head = "".join(f"<th>{c}</th>" for c in _STAT_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return (f"<table class='jitmagic-stats-static'><tr>{head}</tr>{body}</table>"
            f"<small>sorted by {sort}; {html.escape(HIT_NOTE)}</small>")
