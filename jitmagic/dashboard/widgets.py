"""Live ipywidgets view of one function's ledger (`Dashboard`) and of all (`StatsBoard`).

tqdm.notebook style: widgets are built once and mutated in place; the entry table
touches only rows that changed or were appended. Nothing here runs on the call path:
`_poller` refreshes displayed views at ≤ 10 Hz from one daemon thread and at each
cell's end. Every view also ships static `text/plain` and `text/html` (`_ledgerview`),
so plain IPython, nbconvert, saved notebooks and GitHub never show "model not found".
"""

from __future__ import annotations

import html
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from jitmagic.dashboard.poller import POLLER
from jitmagic.dashboard.poller import dashboard_count as dashboard_count
from jitmagic.dashboard.poller import flush as flush
from jitmagic.dashboard.poller import poller_thread as poller_thread
from jitmagic.dashboard.poller import shutdown as shutdown
from jitmagic.dashboard.views import (
    HIT_NOTE,
    SORT_KEYS,
    board_html,
    board_text,
    churn_notes,
    entry_cells,
    graph_bundle,
    percent,
    stats_html,
    stats_text,
)

MAX_ROWS = 50
SNAPSHOT_NOTE = "(static copy as of the end of the last cell that changed it)"
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_GRID = "display:grid;grid-template-columns:15em 5em 5em 6.5em 9em 1fr;gap:0 .6em"
_HEADER = ("signature", "trace ms", "lower ms", "compile ms", "kind", "miss reason")


def show_dashboard(tracked: Any, key: str) -> Dashboard:
    """Display a live dashboard for `tracked`, replacing the last one shown under `key`."""
    from IPython.display import display

    board = Dashboard(tracked, key=key)
    POLLER.add(key, board)  # also without a frontend, where display() only prints
    board.handle = display(board, display_id=True)
    return board


def _bundle(view: w.Widget, plain: str, page: str) -> dict[str, Any]:
    """The widget view plus static text and HTML for viewers without the widget's model."""
    data = view._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    return {_WIDGET_MIME: data[_WIDGET_MIME], "text/plain": plain, "text/html": page}


def _close_tree(widget: w.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def _label(cls: str, value: str = "") -> w.Label:
    label = w.Label(value)
    label.add_class(cls)
    return label


def _pair(caption: str, *values: w.Widget) -> w.HBox:
    """A caption and its value(s), kept together when the counter line wraps."""
    label = w.HTML(f"<span style='color:#666;margin:0 .2em 0 .8em;white-space:nowrap'>"
                   f"{caption}</span>")
    return w.HBox([label, *values], layout=w.Layout(align_items="center"))


class Dashboard:
    """One function's ledger as widgets: counters, hit-ratio bar, one row per cache entry.

    `str()` / `print()` give the same facts as text; `refresh()` is what the poller calls.
    """

    def __init__(self, tracked: Any, key: str | None = None) -> None:
        self.tracked = tracked
        self.key = key or f"dashboard:{getattr(tracked, '_serial', id(tracked))}"
        self.updates = 0
        self._lock = threading.RLock()
        self._shown: Any = None
        self._entry_state: tuple[int, int, int] | None = None
        self._graph_index: int | None = None
        self.handle: Any = None  # the DisplayHandle when shown by show_dashboard
        self._static_stats: Any = None
        self.rows: dict[int, w.HBox] = {}
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.calls, self.hits, self.misses = (_label(f"jm-{n}") for n in ("calls", "hits",
                                                                          "misses"))
        self.ratio = _label("jm-ratio")
        self.ratio_bar = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="9em"))
        self.compile = _label("jm-compile")
        self.churn = w.HTML(layout=w.Layout(display="none"))
        self.churn.add_class("jm-churn")
        self.table = w.VBox()
        self.graph_title = w.HTML()
        self.graph_out = w.Output()
        name = w.HTML(f"<b>{getattr(self.tracked, '__name__', 'jit')}</b>")
        counters = w.HBox([
            name, _pair("calls", self.calls), _pair("hits", self.hits),
            _pair("misses", self.misses), _pair("hit ratio", self.ratio_bar, self.ratio),
            _pair("compile", self.compile),
        ], layout=w.Layout(align_items="center", flex_flow="row wrap"))
        header = w.HTML(
            f"<div style='{_GRID};margin-left:4.6em;font-weight:bold'>"
            + "".join(f"<span style='white-space:nowrap'>{h}</span>" for h in _HEADER)
            + "</div>"
        )
        note = w.HTML(f"<small style='color:#666'>{HIT_NOTE}; click #n for its jaxpr</small>")
        self.widget = w.VBox([counters, self.churn, header, self.table, note,
                              self.graph_title, self.graph_out])
        self.widget.add_class("jitmagic-dashboard")

    def refresh(self) -> bool:
        """Copy the ledger into the widgets if it changed; True when something was sent."""
        with self._lock:
            stats = self.tracked.stats
            if stats == self._shown:
                return False
            self._shown = stats
            self.calls.value, self.hits.value = str(stats.calls), str(stats.hits)
            self.misses.value = str(stats.misses)
            self.ratio_bar.value = stats.hit_ratio
            self.ratio_bar.bar_style = _bar_style(stats.hit_ratio, stats.calls)
            self.ratio.value = percent(stats.hit_ratio)
            if (stats.misses, stats.retained, stats.evicted) != self._entry_state:
                self._entry_state = (stats.misses, stats.retained, stats.evicted)
                self._update_entries(stats)
            self.updates += 1
            return True

    def _update_entries(self, stats: Any) -> None:
        entries = self.tracked.entries
        last = f" · {entries[-1].total_ms:.1f} ms last" if entries else ""
        self.compile.value = f"{stats.compile_seconds * 1e3:.1f} ms total{last}"
        notes = churn_notes(entries, stats.compile_seconds)
        self.churn.value = "<br>".join(f"<b>⚠ churn:</b> {n}" for n in notes)
        self.churn.layout.display = "" if notes else "none"
        shown = entries[-MAX_ROWS:]
        for entry in shown:
            page = _row_html(entry)
            if entry.index not in self.rows:
                self.rows[entry.index] = self._new_row(entry.index, page)
            elif self.rows[entry.index].children[1].value != page:
                self.rows[entry.index].children[1].value = page
        keep = {e.index for e in shown}
        for index in [i for i in self.rows if i not in keep]:
            _close_tree(self.rows.pop(index))
        children = tuple(self.rows[e.index] for e in shown)
        if children != self.table.children:
            self.table.children = children

    def _new_row(self, index: int, page: str) -> w.HBox:
        button = w.Button(description=f"#{index}", tooltip="show this entry's jaxpr graph",
                          layout=w.Layout(width="4em", height="1.8em"))
        button.add_class("jm-entry")
        button.on_click(lambda _b, i=index: self.show_graph(i))
        row = w.HBox([button, w.HTML(page)])
        row.add_class("jm-row")
        return row

    def show_graph(self, index: int) -> None:
        """Show (or, on a second click, hide) the jaxpr graph of entry `index`."""
        with self._lock:
            entry = next((e for e in self.tracked.entries if e.index == index), None)
            if entry is None or self._graph_index == index:
                self._graph_index, self.graph_title.value, self.graph_out.outputs = None, "", ()
                return
            self._graph_index = index
            self.graph_title.value = f"<b>#{index}</b> {_esc(str(entry.signature))}"
            self.graph_out.outputs = (
                {"output_type": "display_data", "data": graph_bundle(entry), "metadata": {}},
            )

    def close(self) -> None:
        _close_tree(self.widget)

    def update_static(self) -> bool:
        """At a cell's end, re-send the display so its static text/HTML copy is current too.

        Saved notebooks, nbconvert and GitHub show that copy, not the widget; re-sending once
        per cell (never from the polling thread) keeps it true at the cost of one re-render.
        """
        if self.handle is None or self.tracked.stats == self._static_stats:
            return False
        self.handle.update(self)
        return True

    def __str__(self) -> str:
        return board_text(self.tracked)

    __repr__ = __str__

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        self.refresh()
        POLLER.add(self.key, self)
        self._static_stats = self.tracked.stats
        page = board_html(self.tracked) + f"<small>{SNAPSHOT_NOTE}</small>"
        return _bundle(self.widget, board_text(self.tracked), page)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _row_html(entry: Any) -> str:
    cells = entry_cells(entry)
    return f"<div style='{_GRID}'>" + "".join(
        f"<span title='{_esc(c)}'>{_esc(c)}</span>" for c in cells) + "</div>"


def _bar_style(ratio: float, calls: int) -> str:
    if not calls:
        return ""
    return "success" if ratio >= 0.9 else "warning" if ratio >= 0.5 else "danger"


class StatsBoard:
    """Every tracked function in one table (`%jitstats`), sortable, live like `Dashboard`."""

    def __init__(self, functions: Iterable[Any], sort: str = "misses") -> None:
        if sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {sorted(SORT_KEYS)}, not {sort!r}")
        self._refs: list[Callable[[], Any]] = [weakref.ref(f) for f in functions]
        self.key = "jitstats"
        self.updates = 0
        self._lock = threading.RLock()
        self._shown: Any = None
        self.sort = w.ToggleButtons(options=list(SORT_KEYS), value=sort, description="sort by")
        self.sort.style.button_width = "6em"
        self.table = w.HTML()
        self.widget = w.VBox([self.sort, self.table])
        self.widget.add_class("jitmagic-stats")
        self.sort.observe(lambda _change: self.refresh(force=True), names="value")
        self.refresh()

    @property
    def functions(self) -> list[Any]:
        return [f for f in (r() for r in self._refs) if f is not None]

    def refresh(self, force: bool = False) -> bool:
        with self._lock:
            functions = self.functions
            state = [f.stats for f in functions]
            if state == self._shown and not force:
                return False
            self._shown = state
            self.table.value = stats_html(functions, self.sort.value)
            self.updates += 1
            return True

    def close(self) -> None:
        _close_tree(self.widget)

    def __str__(self) -> str:
        return stats_text(self.functions, self.sort.value)

    __repr__ = __str__

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        self.refresh()
        POLLER.add(self.key, self)
        functions = self.functions
        return _bundle(self.widget, stats_text(functions, self.sort.value),
                       stats_html(functions, self.sort.value))
