"""The graph explorer of a real MLP train step in JupyterLab: zoom, pan, collapse, expand.

`%jaxpr ... --explore` lays the graph out in the page (Viz.js). The wheel zooms about the
pointer, a drag pans, a click on the backward pass's cluster asks the kernel for the graph
with that cluster as one node (fewer nodes, one ▸ node), a click on that node expands it
again, and the fit button fits the graph back to the cell.
"""

from __future__ import annotations

from pathlib import Path

from lab_harness import Lab, cells, notebook_of, open_notebook, run_all
from playwright.sync_api import Page, expect
from realmodels import MLP_SOURCE

ARTIFACTS = Path(__file__).resolve().parents[2] / "ci-artifacts"
CELLS = [
    "%load_ext jitmagic\nimport jax, jax.numpy as jnp\nfrom typing import Any",
    MLP_SOURCE,
    "%jit mlp_step --static lr --no-dashboard",
    "params = init_mlp()\nx, y = mlp_batch(32)\n"
    "%jaxpr mlp_step(params, x, y, lr=0.1) --explore",
]
EXPLORER = ".jitmagic-explorer"


def _nodes(explorer) -> int:
    return int(explorer.get_attribute("data-nodes") or 0)


def test_explorer_zooms_pans_collapses_and_expands(lab: Lab, page: Page) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    name = lab.upload(notebook_of(CELLS), "explore")
    try:
        open_notebook(page, lab, name)
        run_all(page, len(CELLS))
        explorer = cells(page).nth(3).locator(EXPLORER)
        expect(explorer.locator("svg")).to_have_count(1, timeout=120_000)
        full = _nodes(explorer)
        assert full > 100
        fitted = float(explorer.get_attribute("data-zoom") or 0)
        assert 0 < fitted <= 1
        pane = explorer.locator(".jm-explore-pane")
        box = pane.bounding_box()
        assert box is not None
        assert box["width"] <= 1400
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 100)
        page.mouse.wheel(0, -400)
        expect(explorer).not_to_have_attribute("data-zoom", f"{fitted:.3f}")
        assert float(explorer.get_attribute("data-zoom") or 0) > fitted  # zoomed in
        pan = explorer.get_attribute("data-pan")
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 - 150, box["y"] + 40, steps=5)
        page.mouse.up()
        expect(explorer).not_to_have_attribute("data-pan", pan or "")
        explorer.locator("button.jm-explore-fit").click()
        expect(explorer).to_have_attribute("data-zoom", f"{fitted:.3f}")

        label = explorer.locator("g.cluster > text", has_text="backward: loss").first
        label.click()
        folded = explorer.locator("g.node.jmcollapsed")
        expect(folded).to_have_count(1, timeout=30_000)
        expect(folded).to_contain_text("backward: loss -> gradients")
        assert _nodes(explorer) < full
        expect(explorer.locator("g.cluster > text", has_text="backward: loss")).to_have_count(0)
        (ARTIFACTS / "graph_explorer_collapsed.png").write_bytes(explorer.screenshot())
        folded.click()
        expect(folded).to_have_count(0, timeout=30_000)
        expect(explorer).to_have_attribute("data-nodes", str(full))
        assert not page.errors, page.errors
    finally:
        lab.remove(name)
