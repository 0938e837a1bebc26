"""Jaxpr graphs: ClosedJaxpr -> drawable model -> folded plan -> DOT -> picture.

Named `graphs` so that importing it never shadows the function `jitmagic.graph`.

Owns: the model and jaxpr inspectors (model.py), planning big graphs (fold.py), what each
eqn of a step is for (phases.py: forward/backward/update, user functions, named scopes),
drawing primitives and numbered ghosts (draw.py), walking a jaxpr into the model (walk.py),
the top level as phase and scope clusters within a budget (phased.py), pytree inputs and
outputs (leaves.py), emitting DOT (dot.py), diffs (diff.py; unify.py merges two graphs of
one structure), naming inputs/outputs and assembling a graph (build.py), rendering DOT to
a picture (render.py; vizjs.py and static/ for the in-page Viz.js), the fitted,
hover-linked HTML view (view.py), collapsing clusters (collapse.py), the zoom/pan/collapse
explorer widget (explore.py, static/explore.js), and the glue that draws a tracked
function's call or ledger entry (ledger.py).

May import: jax, numpy, anywidget (render.py and explore.py only) and `jitmagic.ledger`.
Never IPython or the dashboard.

Package API: `graph`, `build_graph`, `diff_graphs`, `JaxprGraph`, `graph_of_entry`,
`graph_of_call`.
"""
