"""A notebook looping against a tracked function, executed headlessly: saved widget state.

nbclient keeps the widget state it saw during each cell; the dashboard's cell-end
refresh makes that state the exact ledger, which is what a saved notebook then shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jitmagic.dashboard.views import percent

ROOT = Path(__file__).resolve().parents[2]
STATE_MIME = "application/vnd.jupyter.widget-state+json"

CELLS = [
    "%load_ext jitmagic\nimport time\nimport jax.numpy as jnp",
    "def conditional_double(x, threshold):\n    return jnp.where(x > threshold, x * 2, x)",
    "%jit conditional_double --static threshold",
    "x = jnp.array(5.0)\nfor t in (0.0, 0.0, 10.0, 10.0):\n    conditional_double(x, threshold=t)",
    "for i in range(1000):\n    conditional_double(x, threshold=0.0)\n"
    "    if i % 250 == 0:\n        time.sleep(0.05)",
    "import json\nprint(json.dumps(conditional_double.stats.__dict__))",
]


def widget_values(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Label values of the saved widget state, by their `jm-*` CSS class."""
    state = nb.metadata["widgets"][STATE_MIME]["state"]
    out = {}
    for model in state.values():
        for cls in model["state"].get("_dom_classes", []):
            if cls.startswith("jm-"):
                out[cls] = model["state"].get("value")
    return out


@pytest.mark.notebook
def test_saved_widget_state_has_the_final_counts(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")

    ledger = json.loads(nb.cells[-1].outputs[0]["text"])
    assert (ledger["calls"], ledger["hits"], ledger["misses"]) == (1004, 1002, 2)
    values = widget_values(nb)
    assert values["jm-calls"] == str(ledger["calls"])
    assert values["jm-hits"] == str(ledger["hits"])
    assert values["jm-misses"] == str(ledger["misses"])
    assert values["jm-ratio"] == percent(ledger["hits"] / ledger["calls"])

    dashboard = nb.cells[2].outputs[0]["data"]
    assert {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"} <= set(
        dashboard)
    # the saved notebook's widget-state must hold the model the output points at
    model_id = dashboard["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert model_id in nb.metadata["widgets"][STATE_MIME]["state"]

    # a viewer without the widget state (nbconvert, GitHub) falls back to the static HTML
    from nbconvert import HTMLExporter

    bare = nbformat.from_dict(json.loads(json.dumps(nb)))
    del bare.metadata["widgets"]
    page, _ = HTMLExporter().from_notebook_node(bare)
    assert "jitmagic-dashboard-static" in page
    assert "conditional_double: calls" in page
    assert "model not found" not in page
