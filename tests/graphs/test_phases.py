"""Train steps drawn as their story: phases, scopes, x6 folds, numbered ghosts, budgets."""

from __future__ import annotations

import itertools
import os
import re
from functools import cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from realmodels import init_mlp, mlp_batch, mlp_step, transformer_args, transformer_step
from test_graph import _portable

from jitmagic.graphs.build import diff_graphs, graph
from jitmagic.graphs.model import Cluster, fmt_value
from jitmagic.graphs.phases import label_phases, named_scopes, runs, scope_paths
from jitmagic.graphs.render import MAX_LAYOUT_NODES, render_dot

GOLDEN = Path(__file__).parent / "golden"
GHOST = re.compile(r"^\u21aa (.+) (#\d+)$")


@cache
def mlp():
    return graph(mlp_step, init_mlp(), *mlp_batch(32), lr=0.01, static_argnames="lr")


@cache
def transformer():
    return graph(transformer_step, *transformer_args())


def clusters(cl: Cluster, kind: str | None = None) -> list[Cluster]:
    """Every cluster below ``cl`` (of one kind prefix, when given), depth first."""
    out = []
    for item in cl.items:
        if isinstance(item, Cluster):
            if kind is None or item.kind.startswith(kind):
                out.append(item)
            out += clusters(item, kind)
    return out


# JAX 0.12 emits a 6-layer block in 80 eqns, not 82: the transformer golden is JAX 0.10's;
# the structure tests below (phases, x6 folds, scopes) hold on both.
_GOLDEN_JAX = "0.10.2"


@pytest.mark.parametrize("name", [
    "mlp_step",
    pytest.param("transformer_step", marks=pytest.mark.skipif(
        jax.__version__ != _GOLDEN_JAX, reason=f"golden DOT recorded with JAX {_GOLDEN_JAX}")),
])
def test_golden_train_steps(name):
    dot = _portable((mlp if name == "mlp_step" else transformer)().source)
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("JITMAGIC_REGEN_GOLDEN"):
        path.write_text(dot, encoding="utf-8")
    assert dot == path.read_text(encoding="utf-8")


def test_name_stack_marks_forward_backward_and_the_update_follows():
    closed = jax.jit(mlp_step, static_argnames="lr").trace(
        init_mlp(), *mlp_batch(4), lr=0.01).jaxpr
    phases = [label for label, _, _ in runs(label_phases(closed.jaxpr.eqns))]
    assert phases == ["forward", "backward", "update"]


def test_without_a_gradient_there_are_no_phases():
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2)(jnp.ones(3))
    assert label_phases(closed.jaxpr.eqns) == ["", ""]


def test_mlp_step_reads_inputs_loss_gradients_updated_params():
    g = mlp()
    phases = [c.label.split(":")[0] for c in clusters(g.model.root, "phase_")]
    assert phases == ["forward", "backward", "update"]
    scopes = {c.label for c in clusters(g.model.root, "scope")}
    assert {"mlp_loss", "mlp_step.lambda"} <= scopes  # the user's functions
    outputs = [n.label for n in g.model.nodes() if n.kind == "output"]
    assert "out[0][2]['w']" in outputs
    assert "out[1]" in outputs


def test_named_scopes_are_clusters_inside_the_phase():
    def loss(x):
        with jax.named_scope("encoder"):
            h = jnp.tanh(x) * 3.0
        return (h ** 2).sum()

    g = graph(lambda x: x - 0.1 * jax.grad(loss)(x), jnp.ones(3))
    for phase in clusters(g.model.root, "phase_forward") + clusters(g.model.root,
                                                                   "phase_backward"):
        assert "encoder" in [c.label for c in clusters(phase, "scope")]
    assert named_scopes("transpose(jvp(enc))/inner") == ("enc", "inner")
    assert named_scopes("jvp()") == ()


def test_scope_paths_are_relative_to_the_traced_function():
    closed = jax.jit(mlp_step, static_argnames="lr").trace(
        init_mlp(), *mlp_batch(4), lr=0.01).jaxpr
    paths = set(scope_paths(closed.jaxpr.eqns))
    assert paths == {("mlp_loss",), ("mlp_step.<lambda>",)}


def test_repeated_layers_fold_into_x6_in_every_phase():
    g = transformer()
    for kind in ("phase_forward", "phase_backward"):
        (phase,) = clusters(g.model.root, kind)
        folds = [c.label for c in clusters(phase, "fold")]
        assert any(label.startswith("\u00d76 _block") for label in folds), folds
    blocks = [int(re.search(r"block of (\d+) ops", c.label).group(1))
              for c in clusters(g.model.root, "fold")]
    assert g.info["folded"] == 5 * sum(blocks)  # five of six layers hidden, per phase


def test_no_phase_is_hidden_by_the_cap():
    g = graph(transformer_step, *transformer_args(), max_nodes=60)
    phases = clusters(g.model.root, "phase_")
    assert [c.kind for c in phases] == ["phase_forward", "phase_backward", "phase_update"]
    for phase in phases:
        spans = [n.label for n in phase.items if not isinstance(n, Cluster) and n.kind == "span"]
        assert spans
        assert all(" ops" in s for s in spans)
    assert "summarised: 3 phase(s)" in g.source


def test_every_ghost_names_and_numbers_its_source():
    for g in (mlp(), transformer()):
        nodes = {n.id: n for n in g.model.nodes()}
        ghosts = [n for n in nodes.values() if n.kind == "ghost"]
        assert ghosts
        for ghost in ghosts:
            name, number = GHOST.match(ghost.label).groups()
            assert name
            assert name != "..."
            assert number in nodes[ghost.ref].label.split("\n")[0]
            assert f'class="jmghost jmref_{ghost.ref}"' in g.source


def test_phases_are_stacked_by_invisible_edges():
    g = mlp()
    assert "style=invis" in g.source
    assert [n for n in g.model.nodes() if n.kind == "anchor"]


def test_float32_constants_print_their_shortest_round_trip():
    assert fmt_value(np.float32(0.01)) == "0.01"
    assert fmt_value(np.float64(0.1)) == "0.1"
    assert fmt_value(np.int32(3)) == "3"
    assert "0.01" in [n.label for n in mlp().model.nodes() if n.kind in ("literal", "static_lit")]
    assert "0.009999999776482582" not in mlp().source


@pytest.mark.dot
def test_a_step_of_10000_eqns_still_yields_a_picture():
    g = graph(transformer_step, *transformer_args(layers=32))
    assert g.info["n_eqns"] > 10_000
    assert g.n_nodes <= MAX_LAYOUT_NODES
    assert len(clusters(g.model.root, "phase_")) == 3
    assert render_dot(g.source, timeout=120).startswith(b"<?xml")


@cache
def mlp_entries():
    from realmodels import mlp_three_entries

    import jitmagic

    step = jitmagic.jit(mlp_step, static_argnames="lr")
    mlp_three_entries(step)
    return step.entries


def test_diff_of_big_graphs_draws_only_differences_and_their_neighbours():
    e = mlp_entries()
    d = diff_graphs(e[1].graph(), e[2].graph())  # lr 0.01 -> 0.1: statics and literals
    shown = d.n_nodes
    assert d.info["differing_nodes"] > 0
    assert d.info["not_drawn_same"] > 0
    assert shown + d.info["not_drawn_same"] == len(e[1].graph().model.nodes())  # one graph
    assert "lr: 0.01 \u2192 0.1" in d.source
    assert 'label="0.01 \u2192 0.1"' in d.source  # the literal, at its float32 round trip
    assert "matching node(s) not drawn" in d.source


def branchy(x, smooth):
    return jnp.tanh(jnp.sin(x)) if smooth else jnp.abs(x) * 2


def test_a_structurally_different_diff_stacks_b_below_a():
    import jitmagic

    f = jitmagic.jit(branchy, static_argnames="smooth")
    for smooth in (True, False):  # other eqns: no one-to-one pairing
        f(jnp.ones(3), smooth=smooth)
    d = diff_graphs(f.entries[0].graph(), f.entries[1].graph())
    assert not d.info["unified"]
    assert "a_b_gap" in d.source
    assert re.search(r"a_n\d+ -> a_b_gap \[style=invis\]", d.source)
    assert re.search(r"a_b_gap -> b_n\d+ \[style=invis\]", d.source)


def test_the_batch_diff_is_one_graph_of_its_causes():
    e = mlp_entries()
    d = diff_graphs(e[0].graph(), e[1].graph())  # batch 32 -> 64: every batch shape changes
    assert d.info["unified"]
    assert d.info["substitution"] == {"32": "64"}
    assert d.info["causes"] == ["x", "y"]
    n = e[0].graph().info["n_eqns"]
    assert f"same {n} eqns; every shape change is 32 \u2192 64 (from x, y)" in d.summary
    assert "f32[32\u219264,784]" in d.source
    red = {ln.split()[0] for ln in d.source.splitlines() if "penwidth=2.5" in ln}
    labels = {n.id: n.label for n in d.model.nodes()}
    assert {labels[r].split(" #")[0].removeprefix("\u21aa ") for r in red} == {"x", "y"}
    assert d.n_nodes < len(e[0].graph().model.nodes()) // 4  # causes and neighbours only


def test_the_lr_diff_names_the_static_in_its_summary():
    e = mlp_entries()
    d = diff_graphs(e[1].graph(), e[2].graph())
    assert d.info["unified"]
    assert d.info["substitution"] == {}
    n = e[1].graph().info["n_eqns"]
    assert d.summary.endswith(f"same {n} eqns; lr: 0.01 \u2192 0.1, 0.01 \u2192 0.1")


@pytest.mark.dot
@pytest.mark.parametrize("i", [0, 1])
def test_the_batch_and_lr_diffs_fit_1400_px(i):
    e = mlp_entries()
    svg = render_dot(diff_graphs(e[i].graph(), e[i + 1].graph()).source).decode()
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    assert width_pt * 4 / 3 <= 1400


def _phase_spans(g) -> list[tuple[str, float, float]]:
    """Each phase's (name, top, bottom) in the real `dot` layout (``-Tplain``, y grows up)."""
    ys = {}
    for line in render_dot(g.source, "plain").decode().splitlines():
        parts = line.split()
        if parts[0] == "node":
            ys[parts[1]] = float(parts[3])
    spans = []
    for cl in clusters(g.model.root, "phase_"):
        inside = [ys[n.id] for n in g.model.nodes(cl) if n.id in ys]
        spans.append((cl.kind, max(inside), min(inside)))
    return spans


def test_phases_are_laid_out_one_under_the_other():
    spans = _phase_spans(mlp())
    assert [s[0] for s in spans] == ["phase_forward", "phase_backward", "phase_update"]
    for (_, _, bottom), (_, top, _) in itertools.pairwise(spans):
        assert bottom > top, spans  # every node of a phase above every node of the next


def test_a_big_step_reads_top_down():
    """The transformer's phases start top-down; Graphviz lets the forward's last nodes (the
    loss) sink beside the backward pass (it did so before the loose-node rule too)."""
    spans = _phase_spans(transformer())
    assert [s[0] for s in spans] == ["phase_forward", "phase_backward", "phase_update"]
    tops = [top for _, top, _ in spans]
    assert tops == sorted(tops, reverse=True), spans


def test_big_steps_do_not_stack_on_loose_nodes():
    """Invisible stacking edges to ghosts and literals are long (they sit by their user, deep
    in a phase) and made `dot` route bundles beside the clusters; big graphs skip them."""
    g = transformer()
    kinds = {n.id: n.kind for n in g.model.nodes()}
    invis = [(s, d) for s, d, _, style in g.model.edges if style == "invis"]
    assert invis
    assert not [e for e in invis if {kinds[e[0]], kinds[e[1]]} & {"ghost", "literal"}]
