"""Jaxpr graphs through the real stack: tracked jit, ledger entries, magics, display.

Every "no second trace" claim is checked with an independent counter: the user
function appends to a list each time JAX runs its Python body.
"""

from __future__ import annotations

import html
import re
import shutil
import warnings

import jax.numpy as jnp
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import jitmagic
from jitmagic.graphs import render as _render
from jitmagic.graphs.build import diff_graphs
from jitmagic.graphs.render import JaxprGraph

SEED = """
import jax, jax.numpy as jnp
from jax import lax
body_runs = []
def conditional_double(x, threshold):
    body_runs.append(1)
    return jnp.where(x > threshold, x * 2, x)
def plain(x, threshold):
    return jnp.where(x > threshold, x * 2, x)
def looped(x):
    return lax.scan(lambda c, v: (c + jnp.sin(v), c), 0.0, x)[0]
"""
CELL = "y = jnp.sin(x) * n\ntotal = y.sum()\ntotal\n"
HILITE = 'color="#dc2626" penwidth=2.5'


def tracked_with_counter() -> tuple[jitmagic.TrackedFunction, list[int]]:
    runs: list[int] = []

    def body(x, threshold):
        runs.append(1)
        return jnp.where(x > threshold, x * 2, x)

    return jitmagic.jit(body, static_argnames="threshold"), runs


def kinds(g: JaxprGraph, kind: str) -> list[str]:
    return [n.label for n in g.model.nodes() if n.kind == kind]


def run(ip, code: str):
    """Run a cell and re-raise its error, as a user would see it."""
    result = ip.run_cell(code)
    result.raise_error()
    return result.result


def shown_dots(cap) -> list[str]:
    """DOT sources of the graphs a cell displayed (text route: in the HTML fallback)."""
    found = []
    for out in cap.outputs:
        if out.data.get("text/plain", "").startswith("JaxprGraph"):
            pre = re.search(r"DOT source</summary><pre>(.*?)</pre>", out.data["text/html"], re.S)
            found.append(html.unescape(pre.group(1)))
    return found


@pytest.fixture
def text_route(monkeypatch):
    """Displays carry the DOT in their HTML fallback: no binary, no widget needed."""
    monkeypatch.setenv(_render.RENDERER_ENV, "text")


@pytest.fixture
def seeded(ip):
    run(ip, SEED)
    ip.run_line_magic("jit", "conditional_double --static threshold --no-dashboard")
    return ip


# ---- Python API -----------------------------------------------------------------------------


def test_entry_and_call_graphs_reuse_the_traces_jax_already_did():
    f, runs = tracked_with_counter()
    x = jnp.array(5.0)
    for t in (0.0, 0.0, 10.0):
        f(x, threshold=t)
    assert len(runs) == 2
    assert (f.stats.hits, f.stats.misses) == (1, 2)

    graphs = [f.entries[0].graph(), f.entries[1].graph(), f.graph(x, threshold=0.0),
              jitmagic.graph(f, x, threshold=10.0)]

    assert len(runs) == 2  # four graphs, no body execution
    assert f.stats.calls == 3  # and none of them counted as a call
    for g, t in zip(graphs, ("0.0", "10.0", "0.0", "10.0"), strict=True):
        assert kinds(g, "static") == [f"baked in (static)\nthreshold = {t}"]
        assert kinds(g, "static_lit") == [t]
        assert kinds(g, "input") == ["x"]
        assert f"threshold = {t}" in g.source
        assert 'label="x"' in g.source
    assert graphs[0].source.replace("body #0: first call", "body") == graphs[2].source


def test_entry_graphs_stay_available_after_later_misses():
    f, runs = tracked_with_counter()
    f(jnp.array(5.0), threshold=0.0)
    first = f.entries[0].graph().source
    for shape in ((2,), (3,), (2, 2)):
        f(jnp.ones(shape), threshold=0.0)
    assert len(runs) == 4  # one trace per miss
    assert f.entries[0].graph().source == first
    assert [kinds(e.graph(), "input")[0] for e in f.entries] == ["x"] * 4
    assert [e.graph().info["n_eqns"] for e in f.entries] == [4] * 4
    assert len(runs) == 4


def test_a_kept_entry_still_draws_after_the_ledger_evicts_it():
    runs: list[int] = []

    def body(x):
        runs.append(1)
        return x + 1.0

    f = jitmagic.jit(body, retain=2)
    f(jnp.ones(1))
    kept = f.entries[0]
    for n in (2, 3, 4):
        f(jnp.ones(n))
    assert kept not in f.entries  # retention is bounded ...
    assert kinds(kept.graph(), "input") == ["x"]  # ... but an entry in hand keeps its jaxpr
    assert "f32[1]" in kept.graph().source
    assert len(runs) == 4


def test_diff_of_two_entries_highlights_the_threshold():
    f, _ = tracked_with_counter()
    f(jnp.array(5.0), threshold=0.0)
    f(jnp.array(5.0), threshold=10.0)
    d = diff_graphs(f.entries[0].graph(), f.entries[1].graph())
    red = [line for line in d.source.splitlines() if HILITE in line]
    assert d.info["differing_nodes"] == len(red) == 2  # one graph: static box, literal
    assert any("threshold: 0.0 \u2192 10.0" in line for line in red)
    assert any('label="0.0 \u2192 10.0"' in line for line in red)
    assert not any('label="x"' in line or "gt" in line for line in red)  # the rest matches
    assert "threshold: 0.0 → 10.0 (static)" in d.source  # B's title says why it missed


# ---- magics in a real IPython shell ---------------------------------------------------------


def test_jaxpr_magic_on_a_tracked_function_reuses_its_trace(seeded):
    run(seeded, "conditional_double(jnp.array(5.0), threshold=0.0)")
    g = seeded.run_line_magic("jaxpr", "conditional_double(jnp.array(5.0), threshold=0.0)")
    assert isinstance(g, JaxprGraph)
    assert len(seeded.user_ns["body_runs"]) == 1
    assert kinds(g, "input") == ["x"]
    assert "threshold = 0.0" in g.source
    assert repr(g).startswith("JaxprGraph conditional_double: 4 eqns")


def test_jaxpr_magic_on_an_untracked_function_takes_static_from_the_line(ip):
    run(ip, SEED)
    g = ip.run_line_magic("jaxpr", "plain(jnp.array(5.0), threshold=3.0) --static threshold")
    assert kinds(g, "input") == ["x"]
    assert kinds(g, "static") == ["baked in (static)\nthreshold = 3.0"]
    traced = ip.run_line_magic("jaxpr", "plain(jnp.array(5.0), threshold=3.0)")
    assert kinds(traced, "input") == ["x", "threshold"]  # without --static it is an input
    assert not kinds(traced, "static")


def test_jaxpr_diff_magic_compares_two_entries(seeded):
    run(seeded, "conditional_double(jnp.array(5.0), threshold=0.0)")
    with pytest.raises(UsageError, match="needs a tracked function with 2\\+ entries"):
        seeded.run_line_magic("jaxpr", "conditional_double --diff")
    run(seeded, "conditional_double(jnp.array(5.0), threshold=10.0)")
    d = seeded.run_line_magic("jaxpr", "conditional_double --diff 0 1")
    assert d.info["differing_nodes"] == 2
    assert "threshold: 0.0 \u2192 10.0" in d.source
    assert "threshold = 0.0" in repr(d)  # the text listing keeps both entries
    assert seeded.run_line_magic("jaxpr", "conditional_double --diff").source == d.source
    assert len(seeded.user_ns["body_runs"]) == 2


@pytest.mark.usefixtures("text_route")
def test_jitcell_graph_names_the_cells_variables_and_lines(ip):
    run(ip, SEED + "x = jnp.arange(3.0)\nn = 2.0\n")
    with capture_output() as cap:
        last = ip.run_cell_magic("jitcell", "--graph --static n", CELL)
    assert float(last) == pytest.approx(float(jnp.sum(jnp.sin(jnp.arange(3.0)) * 2.0)))
    assert {"total", "y"} <= set(ip.user_ns)
    (dot,) = shown_dots(cap)
    nodes = re.findall(r'^\s*n\d+ \[id="n\d+" label="([^"]*)" .*?tooltip="([^"]*)"', dot, re.M)
    labels = dict(nodes)
    assert labels["x"] == "f32[3]"  # the input is the cell's variable
    assert labels["total"] == "f32[]"
    assert labels["y"] == "f32[3]"
    assert labels["sin"].endswith("\\ncell line 1")
    assert labels["reduce_sum\\naxes=(0,)"].endswith("\\ncell line 2")
    assert "n = 2.0" in dot


@pytest.mark.usefixtures("text_route")
def test_jitcell_graph_options_change_the_dot(ip):
    run(ip, SEED + "x = jnp.arange(3.0)\nn = 2.0\n")
    with capture_output() as cap:
        ip.run_cell_magic("jitcell", "--graph --static n --no-dashboard", CELL)
        ip.run_cell_magic("jitcell", "--graph --static n --no-dashboard --rankdir LR "
                          "--no-shapes", CELL)
    plain, styled = shown_dots(cap)
    assert "rankdir=TB" in plain
    assert "rankdir=LR" in styled
    edges = [re.findall(r"^\s*n\d+ -> n\d+ \[.*$", dot, re.M) for dot in (plain, styled)]
    assert len(edges[0]) == len(edges[1])
    n_shaped = len(edges[0]) - 2  # all but the static's link and the literal's edge
    assert sum('label="f32[' in ln for ln in edges[0]) == n_shaped
    assert not any("f32[" in ln for ln in edges[1])
    assert sum("label=" in ln for ln in edges[1]) == 1  # the static's dashed link keeps "n"


def test_jaxpr_magic_depth_rankdir_and_shapes(ip):
    run(ip, SEED)
    call = "looped(jnp.arange(3.0))"
    deep = ip.run_line_magic("jaxpr", call)
    flat = ip.run_line_magic("jaxpr", f"{call} --depth 0")
    assert "subgraph cluster_" in deep.source
    assert "subgraph cluster_" not in flat.source
    assert kinds(flat, "summary") == ["scan\nlength=3\n[3 ops inside]"]
    assert "collapsed: 1 nested jaxpr(s)" in flat.source
    lr = ip.run_line_magic("jaxpr", f"{call} --rankdir LR --no-shapes")
    assert "rankdir=LR" in lr.source
    assert 'label="f32[]"' in deep.source
    assert 'label="f32[]"' not in lr.source
    labels = {label for _, _, label, _ in lr.model.edges}
    assert labels == {"", "carry", "xs", "ys"}  # no shapes; the scan's roles stay named


# ---- browser route: the page's SVG comes back and replaces the widget display ---------------

WIDGET = "application/vnd.jupyter.widget-view+json"
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><text>threshold = 0.0</text></svg>'


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH without Graphviz, as on a pip-only machine: the browser route."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(_render.RENDERER_ENV, raising=False)


def widget_of(output) -> object:
    """The live widget behind a displayed widget view (ipywidgets' registry by model id)."""
    from ipywidgets import Widget

    with warnings.catch_warnings():  # the registry is public but flagged for a rename
        warnings.simplefilter("ignore", DeprecationWarning)
        return Widget.widgets[output.data[WIDGET]["model_id"]]


@pytest.mark.usefixtures("no_dot")
def test_drawn_svg_replaces_the_widget_display_for_saved_notebooks(seeded):
    with capture_output() as cap:
        run(seeded, "g = %jaxpr conditional_double(jnp.array(5.0), threshold=0.0)\n"
                        "display(g)")
    (shown,) = cap.outputs
    assert {WIDGET, "text/plain", "text/html"} == set(shown.data)
    display_id = shown.transient["display_id"]
    assert not shown.update

    with capture_output() as cap:  # the page drew it: the comm sends `svg` (an update msg)
        widget_of(shown).set_state({"svg": SVG})
    (swap,) = cap.outputs
    assert swap.update
    assert swap.transient["display_id"] == display_id
    assert swap.data["image/svg+xml"] == SVG
    assert swap.data["text/plain"] == repr(seeded.user_ns["g"])
    assert SVG in swap.data["text/html"]  # the inline view of the same picture

    with capture_output() as cap:  # a second page, or a re-render: nothing more to do
        widget_of(shown).set_state({"svg": SVG + " "})
    assert not cap.outputs
    with capture_output() as cap:  # displaying it again needs no widget any more
        seeded.run_cell("display(g)")
    assert set(cap.outputs[0].data) == {"text/html", "image/svg+xml", "text/plain"}
    assert len(seeded.user_ns["body_runs"]) == 1


@pytest.mark.usefixtures("no_dot")
def test_jitcell_graph_display_is_swapped_too(ip):
    run(ip, SEED + "x = jnp.arange(3.0)\nn = 2.0\n")
    with capture_output() as cap:
        ip.run_cell_magic("jitcell", "--graph --static n --no-dashboard", CELL)
    (shown,) = cap.outputs
    with capture_output() as cap:
        widget_of(shown).set_state({"svg": SVG})
    (swap,) = cap.outputs
    assert swap.transient["display_id"] == shown.transient["display_id"]
    assert re.match(r"JaxprGraph y: 3 eqns", swap.data["text/plain"])  # first assigned name


def test_other_routes_display_the_usual_bundle_without_a_display_id(ip, monkeypatch):
    run(ip, SEED)
    for route, mimes in (("text", {"text/plain", "text/html"}),
                         ("dot", {"text/html", "image/svg+xml", "text/plain"})):
        if route == "dot" and not shutil.which("dot"):
            continue
        monkeypatch.setenv(_render.RENDERER_ENV, route)
        with capture_output() as cap:
            run(ip, "g = %jaxpr plain(jnp.array(5.0), threshold=3.0) --static threshold\n"
                    "display(g)")
        (shown,) = cap.outputs
        assert set(shown.data) == mimes
        assert "display_id" not in (shown.transient or {})


def test_diff_marks_shape_changes():
    f = jitmagic.jit(lambda v, k: jnp.sin(v) * k, static_argnames="k")
    f(jnp.ones(3), k=3)
    f(jnp.ones(4), k=3)
    diff = diff_graphs(f.entries[0].graph(), f.entries[1].graph())
    assert diff.info["substitution"] == {"3": "4"}  # every edge f32[3] -> f32[4]
    assert diff.info["causes"][0] == "v"  # the input first, the output it reaches after
    assert "f32[3\u21924]" in diff.source
    same = diff_graphs(f.entries[0].graph(), f.entries[0].graph())
    assert same.info["differing_nodes"] == 0
    assert "nothing differs" in same.summary
