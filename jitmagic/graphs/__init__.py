"""Jaxpr graphs: ClosedJaxpr -> drawable model -> folded plan -> DOT -> picture.

Named `graphs` so that importing it never shadows the function `jitmagic.graph`.

Owns: the model and jaxpr inspectors (model.py), planning big graphs (fold.py), walking a
jaxpr into the model (walk.py), emitting DOT and diffs (dot.py), naming inputs/outputs and
assembling a graph (build.py), rendering DOT to a picture (render.py, static/), and the
glue that draws a tracked function's call or ledger entry (ledger.py).

May import: jax, numpy, graphviz, anywidget (render only) and `jitmagic.ledger`.
Never IPython or the dashboard.

Package API: `graph`, `build_graph`, `diff_graphs`, `JaxprGraph`, `graph_of_entry`,
`graph_of_call`.
"""
