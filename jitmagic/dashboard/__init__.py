"""What the ledger looks like: live HTML views, their poller, their text forms.

Owns: the per-function `Dashboard` and the all-functions `StatsBoard` (live.py: one HTML
display each, replaced in place while the ledger changes, so saved notebooks show the last
numbers in every frontend), the one thread that refreshes displayed views (poller.py), and
the pure text/HTML rendering of `Stats` and `CacheEntry` (board.py, signatures.py,
views.py).

May import: `jitmagic.ledger` and `jitmagic.diagnose` (churn rule). Never ipywidgets, and
IPython only inside `Dashboard._ipython_display_` (which only IPython calls, for
`f.dashboard()`): the notebook glue passes IPython's `display` to `live.show`, and the
cell-end hook is installed by `jitmagic.session`.

Package API: `Dashboard`, `StatsBoard`, `show_dashboard`, `show_stats`.
"""
