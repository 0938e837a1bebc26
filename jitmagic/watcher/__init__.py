"""The compile watch: every top-level compile in the process seen, placed and explained.

(Named `watcher` so it never shadows the function `jitmagic.watch`.)

Owns: the `jax.monitoring` listeners behind every active watch (listen.py), the records
and exact per-function totals (record.py), where a compile came from (place.py), the
signature of an untracked call (signing.py), why a function compiled again and which
jits were re-created (history.py), cross-function warnings (warn.py), the `Watch`
itself (watch.py) and its text/HTML views (table.py).

May import: jax, numpy, `jitmagic.errors`, `jitmagic.ledger` (signatures, hooks, the
private-JAX compat module) and `jitmagic.diagnose` (the churn rule). Never IPython: the
notebook glue registers a cell-name resolver (`place.add_resolver`).

Package API: `watch`, `Watch`, `CompileRecord`, `FunctionSummary`.
"""

from jitmagic.watcher.record import CompileRecord as CompileRecord
from jitmagic.watcher.record import FunctionSummary as FunctionSummary
from jitmagic.watcher.watch import Watch as Watch
from jitmagic.watcher.watch import watch as watch
