"""jitmagic: see what `jax.jit` does, in the notebook.

`%load_ext jitmagic` adds `%jit`, `%%jitcell`, `%jaxpr` and `%jitstats`;
`jitmagic.jit` is `jax.jit` with a ledger of calls, hits, misses and why.
"""

from __future__ import annotations

from typing import Any

from ._errors import RecompileLimitError as RecompileLimitError
from ._errors import RecompileWarning as RecompileWarning
from ._errors import TracingPrintWarning as TracingPrintWarning
from ._hygiene import max_compiles as max_compiles
from ._ledger import CacheEntry as CacheEntry
from ._ledger import Stats as Stats
from ._tracked import TrackedFunction as TrackedFunction
from ._tracked import jit as jit
from ._tracked import tracked_functions as tracked_functions

__version__ = "0.1.0"


def graph(fun: Any, *args: Any, **kwargs: Any) -> Any:
    """The jaxpr graph of `fun(*args, **kwargs)` (`static_argnames=`, `depth=`, ...)."""
    if isinstance(fun, TrackedFunction):
        return fun.graph(*args, **kwargs)
    from ._graph import graph as draw

    return draw(fun, *args, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jitmagic`: register the magics (and nothing else runs per cell)."""
    from . import _events
    from ._magics import JitMagics

    _events.resume()
    ipython.register_magics(JitMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext jitmagic`: remove the magics, listeners, dashboards and timers."""
    from . import _events
    from ._magics import unregister

    unregister(ipython)
    _events.suspend()
