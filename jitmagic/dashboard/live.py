"""Live views that are plain HTML: one display, replaced in place while the ledger changes.

Why not ipywidgets: JupyterLab and Notebook 7 prefer a widget view over the HTML beside it
in the same output and save no widget state by default, so a reopened notebook said
"Error displaying widget: model not found". An HTML display updated with
`update_display_data` is live in every frontend and what a saved notebook holds is the
last view shown. Nothing here runs on the call path: `poller` refreshes displayed views at
≤ 10 Hz from one daemon thread (updates only when a number changed) and each cell's end
re-sends the view from the cell's own request (so nbclient records it too).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from jitmagic.dashboard.board import board_html, board_text, entry_rows
from jitmagic.dashboard.poller import POLLER
from jitmagic.dashboard.views import SORT_KEYS, stats_html, stats_text

Publish = Callable[[dict[str, Any]], Any]


class LiveView:
    """An HTML view, re-published through `publish` whenever its `state()` changes."""

    key = "live"

    def __init__(self, publish: Publish | None = None) -> None:
        self.publish = publish  # e.g. a DisplayHandle's raw update; None: a snapshot only
        self.updates = 0
        self._lock = threading.RLock()
        self._shown: Any = None  # state last published (from any thread)
        self._at_cell_end: Any = None  # state last published from a cell's end

    def state(self) -> Any:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError

    def bundle(self) -> dict[str, Any]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def _send(self, state: Any) -> None:
        self._shown = state
        if self.publish is not None:
            self.publish(self.bundle())
            self.updates += 1

    def refresh(self) -> bool:
        """Publish the view if its numbers changed since the last time; True if sent."""
        with self._lock:
            state = self.state()
            if state == self._shown:
                return False
            self._send(state)
            return self.publish is not None

    def update_static(self) -> bool:
        """At a cell's end: re-publish from the cell's request if anything changed since the
        last cell end (messages from the polling thread may belong to no cell, so nbclient
        would drop them)."""
        with self._lock:
            state = self.state()
            if state == self._at_cell_end or self.publish is None:
                return False
            self._at_cell_end = state
            self._send(state)
            return True

    def close(self) -> None:
        """Stop publishing (the displayed view keeps its last content)."""
        self.publish = None

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        with self._lock:
            self._shown = self._at_cell_end = self.state()
            return self.bundle()


class Dashboard(LiveView):
    """One function's ledger: counters, hit ratio, churn, one line per cache entry."""

    def __init__(self, tracked: Any, key: str | None = None,
                 publish: Publish | None = None) -> None:
        super().__init__(publish)
        self.tracked = tracked
        self.key = key or f"dashboard:{getattr(tracked, '_serial', id(tracked))}"
        self._rows: tuple[Any, str] | None = None

    def state(self) -> Any:
        return self.tracked.stats

    def _ipython_display_(self) -> None:
        """``f.dashboard()`` as a cell's value: live in a kernel, like the magics' dashboard
        (display id, poller, exact numbers at each cell's end); a snapshot in a terminal.
        Only IPython calls this, so importing it here adds nothing to ``import jitmagic``."""
        from IPython import get_ipython
        from IPython.display import display

        show(self, display, live=getattr(get_ipython(), "kernel", None) is not None)

    def rows(self) -> str:
        """The entry rows, rebuilt only when entries were added or evicted."""
        stats = self.tracked.stats
        key = (stats.misses, stats.retained, stats.evicted)
        if self._rows is None or self._rows[0] != key:
            self._rows = key, entry_rows(self.tracked.entries, stats.compile_seconds)
        return self._rows[1]

    def text(self) -> str:
        return board_text(self.tracked)

    def html(self) -> str:
        return board_html(self.tracked, self.rows())


class StatsBoard(LiveView):
    """Every tracked function in one table (`%jitstats`), live like `Dashboard`."""

    key = "jitstats"

    def __init__(self, functions: Iterable[Any], sort: str = "misses",
                 publish: Publish | None = None) -> None:
        if sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {sorted(SORT_KEYS)}, not {sort!r}")
        super().__init__(publish)
        self._refs: list[Callable[[], Any]] = [weakref.ref(f) for f in functions]
        self.sort = sort

    @property
    def functions(self) -> list[Any]:
        return [f for f in (r() for r in self._refs) if f is not None]

    def state(self) -> Any:
        return [f.stats for f in self.functions]

    def text(self) -> str:
        return stats_text(self.functions, self.sort)

    def html(self) -> str:
        return stats_html(self.functions, self.sort)


Display = Callable[..., Any]  # IPython's `display`, passed in by the notebook glue


def show(view: LiveView, display: Display, live: bool = True) -> LiveView:
    """Display `view` once with a display id; when `live`, keep it updated in place.

    `display` is IPython's (the notebook glue passes it, so this package never imports
    IPython). `live` is False outside a kernel (a terminal would print every update), where
    the view is shown once. Showing a view under a key closes the one shown before under it.
    """
    # the bundle, not the view: IPython would call a view's own `_ipython_display_`
    handle = display(view._repr_mimebundle_(), raw=True, display_id=True)
    if live and handle is not None:
        view.publish = lambda bundle: handle.update(bundle, raw=True)
    POLLER.add(view.key, view)
    return view


def show_dashboard(tracked: Any, key: str, display: Display, live: bool = True) -> Dashboard:
    """Display a live dashboard for `tracked`, replacing the last one shown under `key`."""
    board = Dashboard(tracked, key=key)
    show(board, display, live)
    return board


def show_stats(functions: Iterable[Any], display: Display, sort: str = "misses",
               live: bool = True) -> StatsBoard:
    """Display the live `%jitstats` table (one per notebook: a new one replaces the old)."""
    board = StatsBoard(functions, sort=sort)
    show(board, display, live)
    return board
