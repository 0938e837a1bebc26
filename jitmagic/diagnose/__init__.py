"""Errors and habits the user can act on: tracer errors explained, statics checked, budgets.

Owns: classifying a failed trace and naming the culprit (explain.py, where.py), re-tracing
to find it and to verify a fix (retrace.py), candidate rewrites of the user's line
(rewrites.py) traced by rebuilding the function with that line changed (patch.py),
choosing and wording the fix (fixes.py) in the user's dialect (dialect.py), leaked tracers
(leaks.py), equinox/flax objects (libraries.py), the `Diagnosis` record and diagnosed JAX
errors (diagnosis.py), static-argument hygiene and churn (hygiene.py, churn.py), compile
budgets (budget.py) and the checks run after every recorded miss (checks.py).

May import: jax, numpy, `jitmagic.errors` and `jitmagic.ledger` (records and signatures).
Never IPython, ipywidgets or graph code.

Package API: `diagnose_error`, `MissChecks`, `max_compiles`.
"""
