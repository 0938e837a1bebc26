"""Showing the live dashboards from the magics: IPython's `display`, live only in a kernel.

The dashboard package never imports IPython; this glue hands it `display` and says whether
updates can replace the shown view in place (a terminal would print every update).
"""

from __future__ import annotations

from typing import Any

from IPython.core.display_functions import display

from jitmagic.ledger.registry import tracked_functions


def in_kernel(shell: Any) -> bool:
    """A Jupyter kernel (not a terminal, which would print every live update)."""
    return getattr(shell, "kernel", None) is not None


def show_dashboard(shell: Any, tracked: Any, key: str) -> None:
    """The live dashboard of `tracked`, replacing the one last shown under `key`."""
    from jitmagic.dashboard.live import show_dashboard as show

    show(tracked, key=key, display=display, live=in_kernel(shell))


def show_stats(shell: Any, sort: str) -> None:
    """The live `%jitstats` table of every tracked function."""
    from jitmagic.dashboard.live import show_stats as show

    show(tracked_functions(), display, sort=sort, live=in_kernel(shell))
