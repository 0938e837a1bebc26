"""One function's dashboard as text and as HTML: the same view live, saved and printed.

The HTML is the dashboard itself (not a fallback): it is displayed once and replaced in
place while the ledger changes, so what a saved notebook holds is what was last shown, in
JupyterLab, Notebook 7, nbconvert and GitHub alike. One row per entry, on one line: the
number, the miss reason, the signature (the first entry in full, later ones only by what
differs, see `signatures.py`) with an expander, then right-aligned timings. Rows are flex
boxes with fixed bases, so on a narrow page they wrap into stacked cards with the miss
reason still first. Colours come from JupyterLab's theme variables (dark theme aware).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from jitmagic.dashboard.signatures import (
    WEAK_NOTE,
    Part,
    compact,
    compact_text,
    full_lines,
    has_weak,
    join_parts,
)
from jitmagic.dashboard.views import MUTED, NUM, churn_notes, kind_text, ms, percent
from jitmagic.ledger.records import CacheEntry

JAXPR_CHARS = 3000
COLUMNS = ("#", "miss reason", "signature", "trace ms", "lower ms", "XLA compile ms", "kind")
JIT_TIME = "jit time (trace + lower + compile)"
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;min-width:0"
# A row is two flex groups: who (number, reason, signature) and the timings. On a wide page
# both share one line (the signature takes what is left, cut with an ellipsis); below ~42em
# the timings wrap under it, so each entry becomes a two-line card, the reason still first.
_ROW = ("display:flex;flex-wrap:wrap;align-items:baseline;column-gap:1.2em;padding:.15em 0;"
        "list-style:none;cursor:pointer")
_BORDER = "border-top:1px solid var(--jp-border-color2,#e0e0e0)"
_WHO = "display:flex;align-items:baseline;column-gap:.8em;flex:1 1 22em;min-width:0"
_TIMES = "display:flex;align-items:baseline;column-gap:.6em;flex:0 0 auto;margin-left:auto"
_NUMBER = "flex:0 0 3em;font-weight:bold;white-space:nowrap"
_REASON = "flex:0 1 {ch}ch;max-width:45%;" + _ONE_LINE  # one basis for all rows: aligned
_SIGNATURE = f"flex:1 1 12em;{_ONE_LINE}"
_CUT = "overflow:hidden;text-overflow:ellipsis"
_TIME_CELLS = (f"flex:0 0 4.4em;{NUM};{_CUT}", f"flex:0 0 4.4em;{NUM};{_CUT}",
               f"flex:0 0 7.4em;{NUM};{_CUT}", f"flex:0 0 4.8em;{_ONE_LINE}")
# Narrow pages (a container query, so it follows the output's width, not the window's): the
# reason cell takes the whole line and wraps, so all of it is readable in the card. Inline
# styles keep the wide layout where the <style> is stripped (GitHub); hence !important.
_NARROW_CSS = (
    "<style>.jitmagic-dashboard{container-type:inline-size}"
    "@container (max-width:720px){.jitmagic-dashboard .jm-who{flex-wrap:wrap}"
    ".jitmagic-dashboard .jm-who>span:nth-child(2){flex:1 1 calc(100% - 4em)!important;"
    "max-width:none!important;white-space:normal!important;overflow:visible!important;"
    "overflow-wrap:anywhere}}</style>")
_MARK = "background:rgba(255,166,0,.32);color:inherit;padding:0 .15em"  # both themes
_HELP = (
    "Each row is one compiled cache entry: why it missed, then its signature. The first "
    "entry shows every argument; later ones show what differs from their nearest entry "
    "(marked) and summarise the rest as 'same as #n'; ▸ opens an entry's full signature "
    "and jaxpr. trace / lower / XLA compile ms are JAX's own phase times for that miss; "
    f"{JIT_TIME} in the header is their sum over all misses. Hits are counted per "
    "function, not per entry (counting them per entry would slow every call). Draw graphs "
    "with %jaxpr f(args) or compare two entries with %jaxpr f --diff i j."
)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _weak(text: str) -> str:
    """Escaped text whose `~` (weak type) carries its explanation as a tooltip."""
    return _esc(text).replace("~", f"<abbr title='{_esc(WEAK_NOTE)}'>~</abbr>")


def summary_text(stats: Any, entries: Sequence[CacheEntry]) -> str:
    last = f", {entries[-1].total_ms:.1f} ms last" if entries else ""
    return (f"{stats.name}: calls {stats.calls} · hits {stats.hits} · misses {stats.misses} · "
            f"hit ratio {percent(stats.hit_ratio)} · "
            f"{JIT_TIME} {ms(stats.compile_seconds)} ms total{last}")


def _times(entry: CacheEntry) -> tuple[str, ...]:
    return ms(entry.trace_s), ms(entry.lower_s), ms(entry.compile_s), kind_text(entry)


def board_text(tracked: Any) -> str:
    """The dashboard as plain text: summary, churn, one line per retained entry."""
    stats, entries = tracked.stats, tracked.entries
    lines = [summary_text(stats, entries)]
    lines += [f"  ⚠ churn: {note}" for note in churn_notes(entries, stats.compile_seconds)]
    if entries:
        lines.append("  " + " | ".join(COLUMNS))
    for i, e in enumerate(entries):
        sig = compact_text(e, entries[:i])
        lines.append(" | ".join((f"  #{e.index}", e.reason, sig, *_times(e))))
    if stats.evicted:
        lines.append(f"  ({stats.evicted} older entries evicted; counted in the totals)")
    if has_weak(entries):
        lines.append(f"  ({WEAK_NOTE})")
    return "\n".join(lines)


def _bar(ratio: float) -> str:
    color = "#4caf50" if ratio >= 0.9 else "#ff9800" if ratio >= 0.5 else "#f44336"
    return ("<span style='display:inline-block;width:6em;height:.7em;vertical-align:middle;"
            "background:var(--jp-layout-color3,#ddd)'><span style='display:block;"
            f"width:{ratio:.0%};height:100%;background:{color}'></span></span>")


def _counter(caption: str, cls: str, value: str, long: bool = False) -> str:
    """A label and its number that never part; a long label may wrap, its last word and the
    number held together by a no-break space. The trailing space lets the header wrap."""
    outer = "margin-right:.9em" + ("" if long else ";white-space:nowrap")
    return (f"<span style='{outer}'><span style='{MUTED}'>{caption}</span>&nbsp;"
            f"<span class='{cls}'>{_esc(value)}</span></span> ")


def _head(stats: Any, entries: Sequence[CacheEntry]) -> str:
    last = f" · {entries[-1].total_ms:.1f} ms last" if entries else ""
    return (f"<div><b style='margin-right:.9em'>{_esc(stats.name)}</b> "
            + _counter("calls", "jm-calls", str(stats.calls))
            + _counter("hits", "jm-hits", str(stats.hits))
            + _counter("misses", "jm-misses", str(stats.misses))
            + f"<span style='white-space:nowrap;margin-right:.9em'><span style='{MUTED}'>"
            f"hit ratio</span> {_bar(stats.hit_ratio)} <span class='jm-ratio'>"
            f"{percent(stats.hit_ratio)}</span></span> "
            + _counter(JIT_TIME, "jm-compile", f"{ms(stats.compile_seconds)} ms total{last}",
                       long=True)
            + "</div>")


def _part(part: Part) -> str:
    text = _weak(part.text)
    if part.changed:
        return f"<mark class='jm-changed' style='{_MARK}'>{text}</mark>"
    if part.same:
        return f"<span class='jm-same' style='{MUTED}'>{text}</span>"
    return text


def _expanded(entry: CacheEntry) -> str:
    """What opening a row shows, across the whole width: reason, every leaf, the jaxpr."""
    text = "(no jaxpr captured)" if entry.jaxpr is None else str(entry.jaxpr)
    if len(text) > JAXPR_CHARS:
        text = text[:JAXPR_CHARS] + "\n…"
    return (f"<div class='jm-full' style='padding:0 0 .3em 3em'><div><b>miss reason:</b> "
            f"{_esc(entry.reason)}</div><pre style='margin:.2em 0;white-space:pre-wrap'>"
            f"{_weak(chr(10).join(full_lines(entry)))}</pre><details><summary>jaxpr</summary>"
            f"<pre>{_esc(text)}</pre></details></div>")


def _spans(styles: Sequence[str], cells: Sequence[str], titles: Sequence[str]) -> str:
    return "".join(
        f"<span style='{style}' title='{_esc(title)}'>{cell}</span>" if title else
        f"<span style='{style}'>{cell}</span>"
        for style, cell, title in zip(styles, cells, [*titles, *[""] * len(cells)],
                                      strict=False))


def _line(cells: Sequence[str], reason_ch: int, reason: str = "", kind: str = "") -> str:
    """The seven cells as the two groups of a row (who, then the timings); the reason and
    kind, cut on narrow pages, are whole in their tooltips."""
    who = _spans((_NUMBER, _REASON.format(ch=reason_ch), _SIGNATURE), cells[:3], ("", reason))
    times = _spans(_TIME_CELLS, cells[3:], ("", "", "", kind))
    return (f"<span class='jm-who' style='{_WHO}'>{who}</span>"
            f"<span class='jm-times' style='{_TIMES}'>{times}</span>")


def _entry_row(entry: CacheEntry, earlier: Sequence[CacheEntry], reason_ch: int) -> str:
    """One entry: a `<details>` whose summary is the one-line row (click to expand)."""
    parts = compact(entry, earlier)
    cells = (f"▸ #{entry.index}", f"<span class='jm-reason'>{_esc(entry.reason)}</span>",
             f"<span class='jm-sig'>{join_parts(parts, [_part(p) for p in parts])}</span>",
             *(_esc(t) for t in _times(entry)))
    return (f"<details class='jm-row' style='{_BORDER}'><summary style='{_ROW}'>"
            f"{_line(cells, reason_ch, entry.reason, kind_text(entry))}</summary>"
            f"{_expanded(entry)}</details>")


def entry_rows(entries: Sequence[CacheEntry], compile_seconds: float,
               max_rows: int = 50) -> str:
    """Churn notes and the entry table (the last `max_rows`); cache it per entry set.

    Each row compares its entry with every earlier one, so this is the costly part: the
    live view rebuilds it only when an entry was added or evicted, not on every hit.
    """
    churn = "".join(
        "<div class='jm-churn' style='color:var(--jp-warn-color0,#b35900)'>"
        f"<b>⚠ churn:</b> {_esc(n)}</div>" for n in churn_notes(entries, compile_seconds))
    if not entries:
        return churn
    first = max(0, len(entries) - max_rows)
    reason_ch = min(34, max(len(COLUMNS[1]), *(len(e.reason) for e in entries[first:])) + 1)
    rows = "".join(_entry_row(e, entries[:i], reason_ch) for i, e in enumerate(entries)
                   if i >= first)
    hidden = (f"<small style='{MUTED}'>{first} earlier entries not shown</small>"
              if first else "")
    header = (f"<div class='jm-header' style='{_ROW};cursor:default;{MUTED}'>"
              f"{_line([f'<small>{c}</small>' for c in COLUMNS], reason_ch)}</div>")
    return churn + header + rows + hidden


def board_html(tracked: Any, rows: str | None = None) -> str:
    """The dashboard as HTML: counters, churn, one line per entry, help."""
    stats, entries = tracked.stats, tracked.entries
    rows = entry_rows(entries, stats.compile_seconds) if rows is None else rows
    evicted = (f"<small>{stats.evicted} older entries evicted (counted in the totals) "
               "</small>" if stats.evicted else "")
    legend = (f" <small>{_weak('~')} {_esc(WEAK_NOTE[2:])}</small>" if has_weak(entries)
              else "")
    return (f"<div class='jitmagic-dashboard' style='line-height:1.5'>{_NARROW_CSS}"
            f"{_head(stats, entries)}"
            f"{rows}<div style='{MUTED}'>{evicted}"
            f"<details style='display:inline-block'><summary><small>help</small></summary>"
            f"<small>{_esc(_HELP)}</small></details>{legend}</div></div>")
