"""The jaxpr graph without a `dot` binary, in a real JupyterLab + chromium.

Viz.js draws it in the page as an inline SVG; the page sends the SVG back and the
output becomes a static view (inline SVG in HTML, plus image/svg+xml), so the saved
notebook shows a picture and a reload shows no "model not found". A real MLP train step
reads forward -> backward -> update, every ghost names its source and hovering it lights
the source up; its diff fits 1400 px; the dark theme shows no white slab.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lab_harness import (
    Lab,
    cells,
    notebook_of,
    open_notebook,
    run_all,
)
from playwright.sync_api import Page, expect
from realmodels import MLP_SOURCE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "ci-artifacts"
SVG_IMG = ".jitmagic-graph-view svg"
WIDGET = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "import os\nos.environ['JITMAGIC_RENDERER'] = 'browser'  # as with no `dot` on PATH\n"
    "%load_ext jitmagic\nimport jax.numpy as jnp",
    "def conditional_double(x, threshold):\n    return jnp.where(x > threshold, x * 2, x)",
    "%jit conditional_double --static threshold --no-dashboard",
    "%jaxpr conditional_double(jnp.array(5.0), threshold=0.0)",
    "x = jnp.arange(3.0)\nn = 2.0",
    "%%jitcell --graph --static n --no-dashboard\ny = jnp.sin(x) * n\ntotal = y.sum()",
]
GRAPH_CELLS = (3, 5)


def test_graph_becomes_a_saved_svg_without_dot(lab: Lab, page: Page) -> None:
    nb = notebook_of(CELLS)
    name = lab.upload(nb, "graph")
    try:
        open_notebook(page, lab, name)
        run_all(page, len(CELLS))
        for i in GRAPH_CELLS:
            img = cells(page).nth(i).locator(SVG_IMG)
            expect(img).to_have_count(1, timeout=60_000)
            expect(cells(page).nth(i).locator(".jitmagic-graph")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "browser_graph.png"))
        page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_timeout(1500)
        saved = lab.api("GET", f"/api/contents/{name}?content=1")["content"]
        for i in GRAPH_CELLS:
            # the compile watch adds its one-line summary under a cell that compiled
            (out,) = [o for o in saved["cells"][i]["outputs"]
                      if "image/svg+xml" in o.get("data", {})]
            assert set(out["data"]) == {"text/html", "image/svg+xml", "text/plain"}
            svg = out["data"]["image/svg+xml"]
            svg = "".join(svg) if isinstance(svg, list) else svg
            assert "<svg" in svg
        assert "threshold = 0.0" in json.dumps(saved["cells"][3]["outputs"])
        assert "total" in json.dumps(saved["cells"][5]["outputs"])

        page.reload(wait_until="domcontentloaded")  # a reopened notebook: no widget state
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        for i in GRAPH_CELLS:
            expect(cells(page).nth(i).locator(SVG_IMG)).to_have_count(1, timeout=60_000)
        expect(page.get_by_text("model not found")).to_have_count(0)
        assert not page.errors, page.errors
    finally:
        lab.remove(name)


STEP_CELLS = [
    "import os\nos.environ['JITMAGIC_RENDERER'] = 'browser'\n"
    "%load_ext jitmagic\nimport jax, jax.numpy as jnp\nfrom typing import Any",
    MLP_SOURCE,
    "%jit mlp_step --static lr --no-dashboard",
    "params = init_mlp()\nfor n, lr in ((32, 0.01), (64, 0.01), (64, 0.1)):\n"
    "    x, y = mlp_batch(n)\n    mlp_step(params, x, y, lr=lr)",
    "%jaxpr mlp_step(params, x, y, lr=0.1)",
    "%jaxpr mlp_step --diff",
    "%jaxpr mlp_step --diff 0 1",
]
STEP, DIFF, BATCH_DIFF = 4, 5, 6
HOT_FILL = "rgb(253, 230, 138)"  # view.py's highlight


def _texts(page: Page, cell: int, selector: str) -> list[str]:
    return cells(page).nth(cell).locator(selector).all_text_contents()


def test_train_step_graph_tells_the_story_and_the_diff_fits(lab: Lab, page: Page) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    name = lab.upload(notebook_of(STEP_CELLS), "step")
    try:
        open_notebook(page, lab, name)
        run_all(page, len(STEP_CELLS))
        for i in (STEP, DIFF, BATCH_DIFF):
            expect(cells(page).nth(i).locator(SVG_IMG)).to_have_count(1, timeout=120_000)
        titles = _texts(page, STEP, f"{SVG_IMG} g.cluster > text")
        for phase in ("forward: inputs -> loss", "backward: loss -> gradients",
                      "update: gradients -> new values"):
            assert any(t.startswith(phase) for t in titles), titles
        ghosts = _texts(page, STEP, f"{SVG_IMG} g.jmghost text")
        assert ghosts
        assert all(re.fullmatch(r"\u21aa .+ #\d+", g) for g in ghosts), ghosts

        ghost = cells(page).nth(STEP).locator(f"{SVG_IMG} g.jmghost").first
        ref = next(c for c in (ghost.get_attribute("class") or "").split()
                   if c.startswith("jmref_"))[len("jmref_"):]
        source = cells(page).nth(STEP).locator(f"{SVG_IMG} g#{ref} :is(path, polygon)").first
        before = source.evaluate("e => getComputedStyle(e).fill")
        ghost.hover()
        expect(source).to_have_css("fill", HOT_FILL)
        assert before != HOT_FILL
        page.set_viewport_size({"width": 1400, "height": 2600})  # the pane is 80vh tall
        page.mouse.move(0, 0)
        (ARTIFACTS / "graph_view.png").write_bytes(  # README: docs/graph.png
            cells(page).nth(STEP).locator(".jp-OutputArea").screenshot())
        page.set_viewport_size({"width": 1400, "height": 1000})

        for diff in (DIFF, BATCH_DIFF):  # lr 0.01 -> 0.1; batch 32 -> 64 (every shape)
            pane = cells(page).nth(diff).locator(".jm-pane")
            box = cells(page).nth(diff).locator(SVG_IMG).bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= 1400
            assert pane.evaluate("e => e.scrollWidth <= e.clientWidth")  # no sideways scroll
            width_attr = cells(page).nth(diff).locator(SVG_IMG).get_attribute("width") or ""
            assert float(width_attr.removesuffix("pt")) * 4 / 3 <= 1400  # fits at 1:1 too
        footer = " ".join(_texts(page, BATCH_DIFF, f"{SVG_IMG} > g > text"))
        assert "every shape change is 32 \u2192 64 (from x, y)" in footer

        page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme',"
                      " {theme: 'JupyterLab Dark'})")
        expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1,
                                                                                 timeout=30_000)
        svg = cells(page).nth(STEP).locator(SVG_IMG)
        expect(svg).to_have_count(1)
        slabs = svg.locator(":scope > g > polygon:is([fill=white], [fill='#ffffff'])")
        assert slabs.count() == 0  # Graphviz's page background: transparent, not white
        expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1)
        (ARTIFACTS / "graph_dark.png").write_bytes(
            cells(page).nth(STEP).locator(".jp-OutputArea").screenshot())
        assert not page.errors, page.errors
    finally:
        lab.remove(name)
