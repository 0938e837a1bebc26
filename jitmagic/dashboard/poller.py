"""The one thread that keeps displayed dashboards live, and the cell-end refresh.

The ledger is not observable per call (a hit must cost what a bare `jax.jit` costs),
so nothing is *notified*: a single daemon thread polls every registered view at most
every `INTERVAL_S` (≤ 10 Hz) and each view re-publishes only when a number changed.
It keeps polling while the kernel is busy, so numbers climb during a loop and the tick
after the last call shows the exact ledger. Messages sent from that thread carry the
kernel's latest request as parent, which nbclient ignores once the cell is done; so a
`post_run_cell` hook also refreshes synchronously at each cell's end, inside the cell's
request, and saved notebooks keep the exact final numbers. One view per key: showing
a new one under a key closes the old one, so re-running a cell never stacks observers.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

INTERVAL_S = 0.1


class Live(Protocol):
    """What the poller drives: a view that can refresh itself and be closed."""

    def refresh(self) -> bool: ...
    def close(self) -> None: ...


class _Poller:
    """One daemon thread for all dashboards: refresh each one at most every `interval` s."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        self.ticks = 0
        self._lock = threading.Lock()
        self._boards: dict[str, Live] = {}
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, key: str, board: Live) -> None:
        """Show `board` under `key`, closing the one it replaces (re-run cells never stack)."""
        with self._lock:
            old = self._boards.get(key)
            self._boards[key] = board
            if self.thread is None or not self.thread.is_alive():
                self._stop = threading.Event()
                self.thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="jitmagic-dashboard", daemon=True
                )
                self.thread.start()
        if old is not None and old is not board:
            old.close()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.ticks += 1
            self.refresh_all()

    def refresh_all(self) -> int:
        with self._lock:
            boards = list(self._boards.items())
        changed = 0
        for key, board in boards:
            try:
                changed += board.refresh()
            except Exception:  # a closed or broken view must not kill the thread
                with self._lock:
                    if self._boards.get(key) is board:
                        del self._boards[key]
        return changed

    def count(self) -> int:
        with self._lock:
            return len(self._boards)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            thread, self.thread = self.thread, None
            self._stop.set()
            self._boards.clear()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


POLLER = _Poller()
def after_cell(result: Any = None) -> None:
    """The `post_run_cell` hook (`jitmagic.session` installs it): exact numbers at cell end."""
    flush()
    with POLLER._lock:
        boards = list(POLLER._boards.values())
    for board in boards:
        update = getattr(board, "update_static", None)
        if update is not None:
            update()


def flush() -> int:
    """Refresh every displayed dashboard now, from the caller's thread; returns how many changed."""
    return POLLER.refresh_all()


def dashboard_count() -> int:
    """How many dashboards are polled (one per key: re-running a cell keeps it at one)."""
    return POLLER.count()


def poller_thread() -> threading.Thread | None:
    """The shared polling thread, if it is running (for tests and `%unload_ext`)."""
    return POLLER.thread


def shutdown() -> None:
    """Stop the polling thread and forget every dashboard."""
    POLLER.shutdown()
