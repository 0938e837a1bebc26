"""The jaxpr graph without a `dot` binary, in a real JupyterLab + chromium.

Viz.js draws it in the page as an inline SVG; the page sends the SVG back and the
output becomes a plain image/svg+xml, so the saved notebook shows a picture and a
reload shows no "model not found".
"""

from __future__ import annotations

import json
from pathlib import Path

from lab_harness import (
    Lab,
    cells,
    notebook_of,
    open_notebook,
    run_cell,
)
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "ci-artifacts"
SVG_IMG = 'img[src^="data:image/svg+xml"]'
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
        expect(cells(page)).to_have_count(len(CELLS), timeout=60_000)
        for i in range(len(CELLS)):
            run_cell(page, i)
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
            assert set(out["data"]) == {"image/svg+xml", "text/plain"}, out["data"].keys()
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
