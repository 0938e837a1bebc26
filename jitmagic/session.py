"""Process-wide state, attached by `%load_ext jitmagic` and detached by `%unload_ext`.

What a loaded extension adds to the process, in one place, with symmetric attach/detach
(the ipython-autotime pattern: unload removes exactly what load added):

* the magics (`jitmagic.notebook.magics.JitMagics`);
* the `jax.monitoring` listeners that time compiles (`jitmagic.ledger.events`); plain
  Python use installs them once, lazily, when the first tracked function is built, and
  after a detach they stay off until the next attach;
* the `post_run_cell` hook that gives displayed dashboards their exact final numbers
  (`jitmagic.dashboard.poller.after_cell`), and the poller thread, stopped on detach;
* the compile watch (`jitmagic.notebook.watchmagic`): `%jitwatch`, its `pre_run_cell` /
  `post_run_cell` hooks and its `jax.monitoring` listeners, on unless
  `JitMagics.watch` is False.

The registry of live tracked functions (`jitmagic.ledger.registry`) is a weak set: it
holds nothing alive and needs no detaching.
"""

from __future__ import annotations

import contextlib
from typing import Any

from jitmagic.dashboard import poller
from jitmagic.ledger import events

_attached: set[int] = set()  # id() of shells we attached to
_cell_watches: dict[int, Any] = {}  # id(shell) -> its CellWatch


def attach(shell: Any) -> None:
    """Register the magics, the listeners and the cell-end hook (idempotent per shell)."""
    from jitmagic.notebook.magics import JitMagics

    events.resume()
    magics = JitMagics(shell)
    shell.register_magics(magics)
    if id(shell) not in _attached:
        shell.events.register("post_run_cell", poller.after_cell)
        _attached.add(id(shell))
        _attach_watch(shell, magics)


def _attach_watch(shell: Any, magics: Any) -> None:
    from jitmagic.notebook.watchmagic import CellWatch, WatchMagics

    cells = _cell_watches[id(shell)] = CellWatch(shell)
    shell.register_magics(WatchMagics(shell, cells))
    shell.events.register("pre_run_cell", cells.pre_run_cell)
    shell.events.register("post_run_cell", cells.post_run_cell)
    magics.observe(lambda change: cells.set(change["new"]), names="watch")
    cells.set(magics.watch)


def _detach_watch(shell: Any) -> None:
    from jitmagic.notebook.magics import JitMagics
    from jitmagic.notebook.watchmagic import unregister

    unregister(shell)
    cells = _cell_watches.pop(id(shell), None)
    if cells is not None:
        for name in ("pre_run_cell", "post_run_cell"):
            with contextlib.suppress(ValueError):
                shell.events.unregister(name, getattr(cells, name))
        cells.close()
    shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, JitMagics)]


def detach(shell: Any) -> None:
    """Undo `attach`: magics, cell hook, dashboards and their thread, listeners."""
    from jitmagic.notebook.magics import unregister

    unregister(shell)
    if id(shell) in _attached:
        with contextlib.suppress(ValueError):
            shell.events.unregister("post_run_cell", poller.after_cell)
        _attached.discard(id(shell))
        _detach_watch(shell)
    poller.shutdown()
    events.suspend()


def is_attached(shell: Any) -> bool:
    return id(shell) in _attached
