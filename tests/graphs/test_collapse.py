"""Collapsing clusters of a real train step's graph: API, magic flag and explorer widget."""

from __future__ import annotations

import re

import pytest
import realmodels as rm
from IPython.core.error import UsageError

import jitmagic
from jitmagic.graphs.collapse import UnknownCluster, clusters, collapse, resolve
from jitmagic.graphs.dot import to_dot
from jitmagic.graphs.render import render_dot


@pytest.fixture(scope="module")
def step_graph():
    step = jitmagic.jit(rm.mlp_step, static_argnames="lr")
    rm.mlp_three_entries(step)
    return step.entries[0].graph()


def _phase(graph, name: str):
    (cl,) = [c for c in clusters(graph.model) if c.label.startswith(name + ":")]
    return cl


def test_a_collapsed_phase_is_one_node_wired_to_its_neighbours(step_graph) -> None:
    back = _phase(step_graph, "backward")
    inside = {n.id for n in step_graph.model.nodes(back)}
    model = collapse(step_graph.model, resolve(step_graph.model, ["backward"]))
    ids = {n.id for n in model.nodes()}
    assert not ids & inside
    (summary,) = [n for n in model.nodes() if n.kind == "collapsed"]
    assert summary.id == back.id
    assert summary.label.startswith("\u25b8 backward: loss -> gradients")
    assert f"({len(inside)} nodes collapsed)" in summary.label
    real = [(s, d) for s, d, _, style in model.edges if style != "invis"]
    assert all(s in ids and d in ids for s, d, *_ in model.edges)  # no dangling edge
    assert all(s != d for s, d in real)
    fed_by = {s for s, d in real if d == back.id}
    feeds = {d for s, d in real if s == back.id}
    forward = {n.id for n in step_graph.model.nodes(_phase(step_graph, "forward"))}
    update = {n.id for n in step_graph.model.nodes(_phase(step_graph, "update"))}
    assert fed_by & (forward | {n.id for n in model.nodes() if n.kind == "input"})
    assert feeds & update  # the gradients still flow into the update
    assert len(real) == len(set(real))
    assert step_graph.model.nodes(back)  # the original model is untouched
    svg = render_dot(to_dot(model)).decode()
    assert 'class="node jmcollapsed"' in svg


def test_ghosts_next_to_a_collapsed_cluster_become_real_edges(step_graph) -> None:
    before = [n for n in step_graph.model.nodes() if n.kind == "ghost"]
    forward = _phase(step_graph, "forward")
    hidden = {n.id for n in step_graph.model.nodes(forward)}
    assert any(g.ref in hidden for g in before)
    model = collapse(step_graph.model, [forward.id])
    ids = {n.id for n in model.nodes()}
    ghosts = [n for n in model.nodes() if n.kind == "ghost"]
    assert all(g.ref in ids for g in ghosts)  # none names a node that is not drawn
    assert not any(g.ref == forward.id for g in ghosts)
    assert any(s == forward.id and style == "" for s, _, _, style in model.edges)


def test_names_ids_nesting_and_unknown_names(step_graph) -> None:
    model = step_graph.model
    back = _phase(step_graph, "backward")
    assert resolve(model, [back.id]) == [back.id]
    assert set(resolve(model, ["mlp_loss"])) == {c.id for c in clusters(model)
                                                  if c.label == "mlp_loss"}
    inner = next(c for c in clusters(model) if c.label == "mlp_loss")
    outer = _phase(step_graph, "forward")
    both = collapse(model, [inner.id, outer.id])  # the outer one wins
    assert [n.id for n in both.nodes() if n.kind == "collapsed"].count(outer.id) == 1
    assert inner.id not in {n.id for n in both.nodes()}
    with pytest.raises(UnknownCluster, match=r"no cluster named 'nope'.*backward.*update"):
        resolve(model, ["nope"])


def test_collapse_option_of_a_tracked_graph() -> None:
    step = jitmagic.jit(rm.mlp_step, static_argnames="lr")
    params, (x, y) = rm.init_mlp(), rm.mlp_batch(8)
    full = step.graph(params, x, y, lr=0.1)
    small = step.graph(params, x, y, lr=0.1, collapse=("backward", "update"))
    assert small.n_nodes < full.n_nodes
    assert re.search(rf"{small.n_nodes} nodes drawn$", small.summary)
    assert "collapsed by request: backward, update" in small.source


def test_collapse_magic_flag_and_its_error(ip) -> None:
    ip.run_cell("import sys, jax, jax.numpy as jnp\nfrom typing import Any\n" + rm.MLP_SOURCE
                + "\nparams = init_mlp(); x, y = mlp_batch(8)")
    ip.run_line_magic("jit", "mlp_step --static lr --no-dashboard")
    g = ip.run_line_magic("jaxpr", "mlp_step(params, x, y, lr=0.1) --collapse backward")
    assert [n.kind for n in g.model.nodes()].count("collapsed") == 1
    with pytest.raises(UsageError, match=r"^%jaxpr --collapse: no cluster named 'nope'"):
        ip.run_line_magic("jaxpr", "mlp_step(params, x, y, lr=0.1) --collapse nope")
    full = ip.run_line_magic("jaxpr", "mlp_step(params, x, y, lr=0.1)")
    widget = ip.run_line_magic("jaxpr", "mlp_step(params, x, y, lr=0.1) --explore "
                                        "--collapse backward")
    assert widget.dot.count("jmcollapsed") == 1  # starts collapsed ...
    assert len(widget.collapsed) == 1
    widget.collapsed = []
    assert widget.dot == full.source  # ... and can be expanded: it holds the whole model


def test_explorer_redraws_what_the_page_collapses(step_graph) -> None:
    widget = step_graph.explore()
    assert widget.dot == step_graph.source
    back = _phase(step_graph, "backward")
    widget.collapsed = [back.id]  # what a click on the cluster sends
    assert widget.dot == to_dot(collapse(step_graph.model, [back.id]))
    assert "jmcollapsed" in widget.dot
    widget.collapsed = []
    assert widget.dot == step_graph.source
    assert step_graph.explore(collapse=("update",)).collapsed == [
        _phase(step_graph, "update").id]
