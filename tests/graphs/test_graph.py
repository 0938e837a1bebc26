"""jaxpr -> graph model -> DOT: names, statics, nested clusters, folding, goldens."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jitmagic.graphs.build import build_graph, diff_graphs, graph
from jitmagic.graphs.model import ROLE_RULES, eqn_roles
from jitmagic.ledger.signature import build_signature

GOLDEN = Path(__file__).parent / "golden"


def tutorial(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


def mlp(params, batch):
    x, y = batch
    for w, b in params:
        x = jnp.tanh(x @ w + b)
    return jnp.mean((x - y) ** 2)


MLP_ARGS = (
    [(jnp.ones((4, 8)), jnp.zeros(8)), (jnp.ones((8, 2)), jnp.zeros(2))],
    (jnp.ones((3, 4)), jnp.zeros((3, 2))),
)


@jax.jit
def inner(a):
    return jnp.sin(a) + 1.0


def mixed(x, n):
    y = lax.cond(x.sum() > 0, lambda v: v * 2.0, lambda v: v - 1.0, x)
    c, ys = lax.scan(lambda c, xi: (c + xi * n, c), 0.0, y)
    z = lax.while_loop(lambda s: s[0] < 10, lambda s: (s[0] + 1, s[1] * 1.5), (0, c))[1]
    w = jax.checkpoint(lambda v: jnp.cos(v) * v)(inner(ys))
    return z + w.sum()


def unrolled(x, y):
    for _ in range(1000):
        x = jnp.sin(x * y + 1.0) - x * 0.5
    return x


def _labels(cluster):
    """Labels of every cluster below ``cluster``."""
    out = []
    for item in cluster.items:
        if hasattr(item, "items"):
            out += [item.label, *_labels(item)]
    return out


def _portable(dot: str) -> str:
    """Drop the file:line part of tooltips and the checkout's path elsewhere: both depend on
    where the repo lives."""
    dot = re.sub(r"\\n[^\"\\]*:\d+ \([^)]*\)\"", '"', dot)
    return dot.replace(f"{Path(__file__).resolve().parents[2]}/", "")


CASES = {
    "tutorial": lambda: graph(tutorial, jnp.array(5.0), threshold=0.0,
                              static_argnames="threshold"),
    "mlp": lambda: graph(mlp, *MLP_ARGS),
    "mixed": lambda: graph(mixed, jnp.ones(3), 2.0),
    "unrolled": lambda: graph(unrolled, jnp.ones(3), jnp.ones(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_dot(name):
    dot = _portable(CASES[name]().source)
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("JITMAGIC_REGEN_GOLDEN"):
        path.write_text(dot, encoding="utf-8")
    assert dot == path.read_text(encoding="utf-8")


def test_dot_is_deterministic_across_builds():
    assert CASES["mixed"]().source == CASES["mixed"]().source


def test_static_value_is_baked_in_and_its_literal_highlighted():
    g = CASES["tutorial"]()
    nodes = {n.kind: n for n in g.model.nodes()}
    assert "threshold = 0.0" in nodes["static"].label
    assert nodes["static_lit"].label == "0.0"
    assert (nodes["static"].id, nodes["static_lit"].id, "threshold", "static") in g.model.edges
    assert [n.label for n in g.model.nodes() if n.kind == "input"] == ["x"]


def test_edges_carry_short_shape_labels_and_params_are_shown():
    g = CASES["mlp"]()
    labels = {e[2] for e in g.model.edges}
    assert {"f32[3,4]", "f32[4,8]", "f32[3,8]", "f32[]"} <= labels
    eqns = [n.label for n in g.model.nodes() if n.kind == "eqn"]
    assert "dot_general\ncontract=(1,)x(0,)" in eqns
    assert "reduce_sum\naxes=(0, 1)" in eqns
    inputs = [n.label for n in g.model.nodes() if n.kind == "input"]
    assert inputs == ["params[0][0]", "params[0][1]", "params[1][0]", "params[1][1]",
                      "batch[0]", "batch[1]"]


def test_nested_jaxprs_become_clusters_found_generically():
    labels = _labels(CASES["mixed"]().model.root)
    for want in ("cond", "branch 0", "branch 1", "scan length=3", "while",
                 "cond_fun", "body_fun", "jit name='inner'", "remat2"):
        assert want in labels


def _wires(g):
    """Edges as ``(source label, destination label, edge label)``."""
    label = {n.id: n.label for n in g.model.nodes()}
    return [(label[s], label[d], lab) for s, d, lab, _ in g.model.edges]


def _cluster(cluster, label):
    """The cluster with this label, searched depth first."""
    for item in cluster.items:
        if hasattr(item, "items"):
            if item.label == label:
                return item
            found = _cluster(item, label)
            if found is not None:
                return found
    return None


def running_sum(xs, w):
    def step(carry, x):
        carry = carry * w + x
        return carry, carry * 2
    return lax.scan(step, 0.0, xs)


def test_scan_edges_name_consts_carry_xs_and_ys():
    wires = _wires(graph(running_sum, jnp.arange(5.0), 3.0))
    assert ("xs", "add", "xs: f32[] (slice of f32[5])") in wires
    assert ("w", "mul", "const: f32[]") in wires
    assert ("0.0", "mul", "carry: f32[]") in wires  # the initial carry, a literal
    assert ("mul", "convert_element_type\nnew_dtype=float32", "f32[]") in wires  # unnamed
    assert ("add", "scan\nlength=5", "carry: f32[]") in wires  # the new carry, per step
    assert ("mul", "scan\nlength=5", "ys: f32[]") in wires  # one row of ys, per step
    assert ("scan\nlength=5", "out[0]", "carry: f32[]") in wires
    assert ("scan\nlength=5", "out[1]", "ys: f32[5]") in wires


def test_collapsed_scan_keeps_its_roles():
    wires = _wires(graph(running_sum, jnp.arange(5.0), 3.0, depth=0))
    op = "scan\nlength=5\n[4 ops inside]"
    assert ("w", op, "const: f32[]") in wires
    assert ("0.0", op, "carry: f32[]") in wires
    assert ("xs", op, "xs: f32[5]") in wires
    assert (op, "out[1]", "ys: f32[5]") in wires


def counted(x, n, m):
    return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * m), (0, x))


def test_while_wires_each_jaxpr_its_own_consts_and_the_carry():
    g = graph(counted, jnp.ones(3), 5, 2.0)
    wires = _wires(g)
    assert not [n for n in g.model.nodes() if n.kind == "port"]  # exact, not guessed
    assert ("n", "lt", "const: i32[]") in wires
    assert ("0", "lt", "carry: i32[]") in wires
    assert ("lt", "while", "pred: bool[]") in wires
    assert ("m", "convert_element_type\nnew_dtype=float32", "const: f32[]") in wires
    assert ("x", "mul", "carry: f32[3]") in wires
    assert ("mul", "while", "carry: f32[3]") in wires
    assert ("while", "out[1]", "carry: f32[3]") in wires
    body = _cluster(g.model.root, "body_fun")
    assert "mul" in [n.label for n in g.model.nodes(body)]
    assert "lt" in [n.label for n in g.model.nodes(_cluster(g.model.root, "cond_fun"))]


def test_cond_branches_are_numbered_and_an_identity_branch_is_drawn():
    g = graph(lambda x, p: lax.cond(p > 0, lambda v: v * 2.0, lambda v: v, x),
              jnp.ones(3), 1.0)
    wires = _wires(g)
    empty = [n.label for n in g.model.nodes(_cluster(g.model.root, "branch 0"))]
    assert empty == ["no ops:\nvalues pass through"]
    assert "mul" in [n.label for n in g.model.nodes(_cluster(g.model.root, "branch 1"))]
    assert ("x", "no ops:\nvalues pass through", "operand: f32[3]") in wires
    assert ("no ops:\nvalues pass through", "cond", "f32[3]") in wires
    assert ("x", "mul", "operand: f32[3]") in wires
    assert ("convert_element_type\nnew_dtype=int32", "cond", "index: i32[]") in wires
    assert ("cond", "out", "f32[3]") in wires


def test_switch_numbers_every_branch():
    def f(i, a, b):
        return lax.switch(i, [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: b], a, b)

    labels = _labels(graph(f, 1, jnp.ones(2), jnp.ones(2)).model.root)
    assert {"branch 0", "branch 1", "branch 2"} <= set(labels)


def test_role_rules_are_a_registry_with_a_generic_fallback():
    assert {"scan", "while", "cond"} <= set(ROLE_RULES)
    eqns = jax.make_jaxpr(running_sum)(jnp.arange(5.0), 3.0).jaxpr.eqns
    scan = next(e for e in eqns if e.primitive.name == "scan")
    assert eqn_roles(scan).operands == ("const", "carry", "xs")
    assert eqn_roles(scan).results == ("carry", "ys")
    counts = ("num_carry", "ft_in")  # JAX 0.10 / 0.12 spelling of the scan's groups
    broken = scan.replace(params={k: v for k, v in scan.params.items() if k not in counts})
    assert eqn_roles(broken) is None  # params not as the rule expects: generic wiring
    jitted = jax.make_jaxpr(lambda x: inner(x) * 2)(jnp.ones(2)).jaxpr.eqns[0]
    assert jitted.primitive.name == "jit"
    assert eqn_roles(jitted) is None


def test_custom_derivatives_and_shard_map_are_clusters():
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(jax.devices()[:1]), ("i",))

    @jax.custom_vjp
    def triple(x):
        return x * 3

    triple.defvjp(lambda x: (x * 3, None), lambda _, g: (g * 3,))

    def f(x):
        y = jax.shard_map(lambda v: jnp.sin(v) * 2, mesh=mesh, in_specs=P("i"),
                          out_specs=P("i"))(x)
        return jax.nn.relu(y) + triple(y)

    labels = _labels(graph(f, jnp.ones(4)).model.root)
    assert "shard_map newly_manual_axes={i}" in labels
    assert {"custom_jvp_call", "custom_vjp_call"} <= set(labels)


def test_depth_zero_collapses_nested_into_summary_nodes():
    g = graph(mixed, jnp.ones(3), 2.0, depth=0)
    summaries = [n.label for n in g.model.nodes() if n.kind == "summary"]
    assert "scan\nlength=3\n[4 ops inside]" in summaries
    assert g.info["collapsed"] == 5
    assert not _labels(g.model.root)
    assert "collapsed: 5 nested" in g.source


def test_unrolled_loop_folds_into_one_block_with_badge():
    g = CASES["unrolled"]()
    assert g.info["n_eqns"] == 5000
    assert g.info["folded"] == 4995
    assert "\u00d71000 block of 5 ops" in _labels(g.model.root)[0]
    assert g.n_nodes < 20
    assert "folded: 1 run(s)" in g.source


def test_past_max_nodes_the_rest_is_one_node_and_said_so():
    def varied(x, y):
        for i in range(150):
            x = (x + float(i)) * y  # a new literal each pass: nothing to fold
        return x

    g = graph(varied, jnp.ones(2), jnp.ones(2), max_nodes=50)
    rest = [n.label for n in g.model.nodes() if n.kind == "span"]
    assert len(rest) == 1
    assert "more ops not drawn (max_nodes=50)" in rest[0]
    assert g.n_nodes < 60
    assert f"not drawn: {g.info['not_drawn']} eqns" in g.source


def test_long_range_uses_become_ghost_nodes():
    def f(x, y):
        for i in range(80):
            x = x * float(i)
        return x + y

    g = graph(f, jnp.ones(2), jnp.ones(2), max_nodes=1000)
    ghosts = [n.label for n in g.model.nodes() if n.kind == "ghost"]
    assert ghosts == ["\u21aa y #1"]  # numbered: the input node says "y #1" too
    assert 'label="y #1"' in g.source


def test_long_unary_chain_is_elided():
    ops = [jnp.sin, jnp.cos, jnp.tanh, jnp.exp, jnp.log1p, jnp.abs, jnp.negative, jnp.sqrt,
           jnp.floor, jnp.ceil, jnp.sign, jnp.expm1]

    def f(x):
        for op in ops:
            x = op(x)
        return x

    g = graph(f, jnp.ones(2))
    spans = [n.label for n in g.model.nodes() if n.kind == "span"]
    assert spans == ["... 10 elementwise ops ...\ncos, tanh, exp, log1p"]
    assert g.info["elided"] == 10


def test_leaf_names_follow_jit_flattening_order():
    params = {"w": jnp.ones(2), "b": jnp.zeros(2)}
    def f(params, batch, scale, mode):
        return params["w"] * batch[0] * scale

    signature = build_signature(f, (params, (jnp.ones(1), jnp.ones(1))),
                                {"scale": 2.0, "mode": "x"}, (3,), ("mode",))
    names = [leaf.path for leaf in signature.leaves]
    assert names == ["params['b']", "params['w']", "batch[0]", "batch[1]", "scale"]

    jaxpr = jax.jit(f, static_argnames="mode").trace(
        params, (jnp.ones(1), jnp.ones(1)), scale=2.0, mode="x").jaxpr
    assert len(jaxpr.jaxpr.invars) == len(names)


def test_pytree_outputs_are_named_by_path():
    g = graph(lambda x: {"loss": x.sum(), "y": x * 2}, jnp.ones(3))
    assert g.info["outputs"] == ["out['loss']", "out['y']"]


def test_tooltip_gives_the_cell_line():
    src = "import jax.numpy as jnp\n\ndef cell(x):\n    y = jnp.sin(x)\n    return y * 2\n"
    ns: dict = {}
    exec(compile(src, "<jitcell-7>", "exec"), ns)
    closed = jax.make_jaxpr(ns["cell"])(jnp.ones(2))
    g = build_graph(closed, in_names=["x"], out_names=["y"], source_file="<jitcell-7>",
                    line_offset=2)
    tips = {n.label: n.tooltip for n in g.model.nodes() if n.kind == "eqn"}
    assert tips["sin"].endswith("cell line 2")
    assert tips["mul"].endswith("cell line 3")


def test_diff_highlights_what_changed_between_two_statics():
    a = graph(tutorial, jnp.array(5.0), threshold=0.0, static_argnames="threshold")
    b = graph(tutorial, jnp.array(5.0), threshold=10.0, static_argnames="threshold")
    d = diff_graphs(a, b)
    assert d.info["unified"]  # one structure: one graph, changes written A → B
    assert d.info["differing_nodes"] == 2  # the static box and the literal it became
    assert "threshold: 0.0 \u2192 10.0" in d.source
    assert 'label="0.0 \u2192 10.0"' in d.source
    assert d.source.count('color="#dc2626" penwidth=2.5') == 2
    assert "subgraph cluster_a_root" not in d.source


def test_repr_is_a_compact_listing_with_user_names():
    text = repr(CASES["tutorial"]())
    assert text.splitlines()[0].startswith("JaxprGraph tutorial: 4 eqns")
    assert "static (baked in): threshold = 0.0" in text
    assert "v1:bool[] = gt x 0.0" in text
