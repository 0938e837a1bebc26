"""DOT -> picture: each route's mimebundle, save(), timeouts, the vendored Viz.js."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import jax.numpy as jnp
import pytest

from jitmagic.graphs import render as _render
from jitmagic.graphs.build import graph
from jitmagic.graphs.render import JaxprGraph, RenderError, render_dot, renderer_route

WIDGET = "application/vnd.jupyter.widget-view+json"
STATIC = Path(_render.__file__).parent / "static"


def _tutorial() -> JaxprGraph:
    def tutorial(x, threshold):
        return jnp.where(x > threshold, x * 2, x)

    return graph(tutorial, jnp.array(5.0), threshold=0.0, static_argnames="threshold")


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH without Graphviz, as on a pip-only machine."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(_render.RENDERER_ENV, raising=False)


@pytest.mark.parametrize("route", ["dot", "browser", "text"])
def test_env_var_forces_the_route(monkeypatch, route):
    monkeypatch.setenv(_render.RENDERER_ENV, route)
    assert renderer_route() == route


@pytest.mark.usefixtures("no_dot")
def test_without_dot_the_browser_route_is_picked_and_dot_fails_clearly():
    assert renderer_route() == "browser"
    with pytest.raises(RenderError, match="no Graphviz `dot` on PATH"):
        render_dot("digraph { a -> b }")


@pytest.mark.usefixtures("no_dot")
def test_browser_bundle_has_widget_plain_and_html_fallback():
    g = _tutorial()
    bundle = g._repr_mimebundle_()
    assert set(bundle) == {WIDGET, "text/plain", "text/html"}
    assert bundle[WIDGET]["model_id"] == g._widget.model_id
    assert g._widget.dot == g.source
    assert "export { engines, formats, graphvizVersion, instance }" in g._widget._esm
    assert g._widget._esm.rstrip().endswith("export default { render };")
    assert "threshold = 0.0" in bundle["text/html"]
    assert bundle["text/plain"].startswith("JaxprGraph tutorial: 4 eqns")
    assert g._repr_mimebundle_()[WIDGET]["model_id"] == g._widget.model_id  # one widget


def test_text_route_is_plain_and_html_only(monkeypatch):
    monkeypatch.setenv(_render.RENDERER_ENV, "text")
    bundle = _tutorial()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "digraph" in bundle["text/html"]


def test_too_big_a_graph_is_not_laid_out(monkeypatch):
    monkeypatch.setenv(_render.RENDERER_ENV, "dot")
    g = JaxprGraph("digraph { a }", "JaxprGraph big", "", n_nodes=_render.MAX_LAYOUT_NODES + 1)
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "not laid out" in bundle["text/plain"]
    with pytest.raises(RenderError, match="too big"):
        g.save("never.svg")


def test_save_dot_needs_no_binary_and_unknown_suffix_is_refused(tmp_path):
    g = _tutorial()
    g.save(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == g.source
    with pytest.raises(ValueError, match="unknown graph format"):
        g.save(tmp_path / "g.jpeg")


def test_vizjs_is_vendored_with_its_licence():
    assert (STATIC / "viz.js").stat().st_size > 1_000_000
    notice = (STATIC / "viz.js.LICENSE.txt").read_text()
    assert "Michael Daines" in notice
    assert "Eclipse Public License" in notice


@pytest.mark.dot
def test_dot_route_gives_svg_and_plain(monkeypatch):
    monkeypatch.setenv(_render.RENDERER_ENV, "dot")
    bundle = _tutorial()._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/svg+xml", "text/plain"}
    assert "<svg" in bundle["image/svg+xml"]
    assert "threshold = 0.0" in bundle["image/svg+xml"]


@pytest.mark.dot
def test_save_svg_and_png(tmp_path):
    g = _tutorial()
    g.save(tmp_path / "g.svg")
    g.save(tmp_path / "g.png")
    assert "<svg" in (tmp_path / "g.svg").read_text()
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.dot
def test_a_layout_past_its_timeout_is_stopped():
    with pytest.raises(RenderError, match="exceeded"):
        render_dot(_tutorial().source, timeout=1e-6)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the ES module")
def test_vendored_vizjs_renders_our_dot_without_any_binary(tmp_path):
    """The browser route's module, run by node: proves our DOT lays out in Viz.js."""
    (tmp_path / "g.dot").write_text(_tutorial().source)
    script = tmp_path / "render.mjs"
    script.write_text(
        f'import {{ instance }} from "{(STATIC / "viz.js").as_posix()}";\n'
        'import { readFileSync } from "node:fs";\n'
        "const viz = await instance();\n"
        f'process.stdout.write(viz.renderString(readFileSync("{tmp_path / "g.dot"}", "utf8"),'
        ' { format: "svg" }));\n'
    )
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120,
                          check=True)
    assert "<svg" in done.stdout
    assert "threshold = 0.0" in done.stdout


@pytest.mark.skipif(not shutil.which("dot"), reason="needs the Graphviz `dot` binary")
def test_view_fits_the_cell_and_links_each_ghost_to_its_source():
    from jitmagic.graphs.view import view_html

    def f(x, y):
        for i in range(80):
            x = x * float(i)
        return x + y

    svg = render_dot(graph(f, jnp.ones(2), jnp.ones(2)).source).decode()
    html = view_html(svg)
    assert 'fill="white"' not in svg  # transparent: no white slab on a dark theme
    assert "max-width:100%" in html  # fitted to the cell; the checkbox shows 1:1
    assert re.search(r"svg:has\(\.jmref_n(\d+):hover\) #n\1 polygon", html)
    assert html.count("<svg") == 1
