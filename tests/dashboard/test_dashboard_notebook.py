"""A notebook looping against a tracked function, executed headlessly, then saved.

The dashboard is an HTML display; each cell's end re-sends it from that cell's request,
so nbclient replaces the earlier output in place and the saved file holds the exact
final ledger, with no widget output that a reopened notebook could not render.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jitmagic.dashboard.views import percent

ROOT = Path(__file__).resolve().parents[2]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "%load_ext jitmagic\nimport time\nimport jax.numpy as jnp",
    "def conditional_double(x, threshold):\n    return jnp.where(x > threshold, x * 2, x)",
    "%jit conditional_double --static threshold",
    "x = jnp.array(5.0)\nfor t in (0.0, 0.0, 10.0, 10.0):\n    conditional_double(x, threshold=t)",
    "for i in range(1000):\n    conditional_double(x, threshold=0.0)\n"
    "    if i % 250 == 0:\n        time.sleep(0.05)",
    "import json\nprint(json.dumps(conditional_double.stats.__dict__))",
]


def counter(page: str, name: str) -> str:
    return re.search(f"class='jm-{name}'>([^<]*)<", page).group(1)


@pytest.mark.notebook
def test_saved_notebook_holds_the_final_counts(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")

    ledger = json.loads(nb.cells[-1].outputs[0]["text"])
    assert (ledger["calls"], ledger["hits"], ledger["misses"]) == (1004, 1002, 2)
    (dashboard,) = nb.cells[2].outputs
    assert set(dashboard["data"]) == {"text/plain", "text/html"}
    assert WIDGET_MIME not in json.dumps(nb)
    page = dashboard["data"]["text/html"]
    for name in ("calls", "hits", "misses"):
        assert counter(page, name) == str(ledger[name])
    assert counter(page, "ratio") == percent(ledger["hits"] / ledger["calls"])
    assert "calls 1004 · hits 1002 · misses 2" in dashboard["data"]["text/plain"]

    from nbconvert import HTMLExporter

    exported, _ = HTMLExporter().from_notebook_node(nbformat.read(tmp_path / "executed.ipynb",
                                                                   as_version=4))
    assert "class='jm-calls'>1004<" in exported or 'class="jm-calls">1004<' in exported
    assert "model not found" not in exported


@pytest.mark.notebook
def test_f_dashboard_is_live_in_a_kernel() -> None:
    """`f.dashboard()` as a cell's value keeps updating: later cells' calls show up in it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in [
        "%load_ext jitmagic\nimport jax.numpy as jnp, jitmagic\n"
        "@jitmagic.jit\ndef f(x):\n    return x * 2\n\nf(jnp.ones(3))",
        "f.dashboard()",
        "for n in (3, 3, 4, 4, 5):\n    f(jnp.ones(n))",
        "import json\nprint(json.dumps(f.stats.__dict__))",
    ]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    ledger = json.loads(nb.cells[-1].outputs[0]["text"])
    assert (ledger["calls"], ledger["hits"], ledger["misses"]) == (6, 3, 3)
    (shown,) = nb.cells[1].outputs
    assert shown["output_type"] == "display_data"
    page = shown["data"]["text/html"]
    for name in ("calls", "hits", "misses"):
        assert counter(page, name) == str(ledger[name])  # not the 1 call it was shown at
    assert "x: f32[4] → f32[5]" in page
