"""jitmagic: see what `jax.jit` does, in the notebook.

`%load_ext jitmagic` adds `%jit`, `%%jitcell`, `%jaxpr` and `%jitstats`;
`jitmagic.jit` is `jax.jit` with a ledger of calls, hits, misses and why.
The layout (one subpackage per concept) is described in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import Any

from jitmagic.about import Info, describe
from jitmagic.api import graph as graph
from jitmagic.api import jit as jit
from jitmagic.diagnose.budget import max_compiles as max_compiles
from jitmagic.errors import RecompileLimitError as RecompileLimitError
from jitmagic.errors import RecompileWarning as RecompileWarning
from jitmagic.errors import SideEffectWarning as SideEffectWarning
from jitmagic.errors import StaleStaticWarning as StaleStaticWarning
from jitmagic.errors import TracingPrintWarning as TracingPrintWarning
from jitmagic.ledger.records import CacheEntry as CacheEntry
from jitmagic.ledger.records import Stats as Stats
from jitmagic.ledger.registry import tracked_functions as tracked_functions
from jitmagic.ledger.tracked import TrackedFunction as TrackedFunction
from jitmagic.watcher import Watch as Watch
from jitmagic.watcher import watch as watch

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)


def info() -> Info:
    """Versions, the hit-path forwarder (C or pure Python) and the graph route."""
    return describe(__version__)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jitmagic`: register the magics and attach the session's hooks."""
    from jitmagic import session

    session.attach(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext jitmagic`: remove the magics, listeners, dashboards and timers."""
    from jitmagic import session

    session.detach(ipython)
