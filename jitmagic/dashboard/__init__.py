"""What the ledger looks like: live ipywidgets views, their poller, text/HTML copies.

Owns: the per-function `Dashboard` and the all-functions `StatsBoard` (widgets.py), the
one thread that refreshes displayed views (poller.py), and the pure text/HTML views of
`Stats` and `CacheEntry` that terminals and saved notebooks show (views.py).

May import: ipywidgets, `jitmagic.ledger`, `jitmagic.diagnose` (churn rule) and
`jitmagic.graphs` (an entry's picture). Never IPython itself: the cell-end hook is
installed by `jitmagic.session`.

Package API: `Dashboard`, `StatsBoard`, `show_dashboard`.
"""
