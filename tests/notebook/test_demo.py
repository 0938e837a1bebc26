"""demo.ipynb executes headlessly and tells the story truthfully (outputs asserted, not trusted)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    work = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "demo.ipynb", work / "demo.ipynb")
    nb = nbformat.read(work / "demo.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(work)}}).execute()
    return nb


def cell_text(nb: nbformat.NotebookNode, starts: str) -> str:
    """All text output of the code cell whose source starts with `starts`."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    parts: list[str] = []
    stream = None  # the name of the stream the last part came from
    for out in cell.outputs:
        if out.output_type == "stream":
            # the kernel may flush one print in several messages: join them as the user sees them
            if stream == out.name:
                parts[-1] += out.text
            else:
                parts.append(out.text)
            stream = out.name
            continue
        stream = None
        if out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_plain_jit_raises_tracer_bool_conversion(executed):
    text = cell_text(executed, "def conditional_double(x, threshold):\n    if")
    assert "TracerBoolConversionError | a ConcretizationTypeError: True" in text


def test_diagnosis_names_x_and_says_static_threshold_does_not_help(executed):
    text = cell_text(executed, "%jit conditional_double --static threshold --no-dashboard")
    assert text.startswith("TracerBoolConversionError: jitmagic:")
    assert "x is traced" in text
    assert "threshold static alone does NOT help" in text
    assert "jnp.where" in text
    assert "lax.cond" in text


def test_static_threshold_alone_still_fails_in_real_jax(executed):
    text = cell_text(executed, "try:\n    jax.jit(conditional_double.__wrapped__")
    assert "still fails with threshold static: TracerBoolConversionError" in text


def test_fixes_give_10_and_minus_2(executed):
    text = cell_text(executed, "def double_where")
    assert "double_where: 10.0, -2.0" in text
    assert "double_cond: 10.0, -2.0" in text
    auto = cell_text(executed, "%jit conditional_double --static threshold --autocond --show")
    assert "autocond: 10.0 -2.0" in auto
    assert "_jm.cond(x > threshold" in auto


def test_miss_hit_miss_hit_with_reason(executed):
    text = cell_text(executed, "x = jnp.array(5.0)\nsequence")
    assert "['miss', 'hit', 'miss', 'hit']" in text
    assert "calls=4 hits=2 misses=2" in text
    assert "threshold: 0.0 → 10.0 (static)" in text


def test_cache_key_demonstrations(executed):
    text = cell_text(executed, "@jitmagic.jit\ndef affine")
    assert "calls=6 hits=1 misses=5" in text
    assert "x: f32[3] → f32[4]" in text
    assert "x: dtype float32 → int32" in text
    assert "weak_type changed (Python scalar vs array)" in text
    assert "XLA compiles of square: 2" in cell_text(executed, "compiled = []")
    assert "calls=2 hits=1 misses=1" in cell_text(executed, "print(scale.stats")


def test_churn_warning_and_traced_alternative(executed):
    text = cell_text(executed, '@jitmagic.jit(static_argnames="scale")')
    assert "RecompileWarning" in text
    assert "keeps recompiling" in text
    assert "calls=10 hits=0 misses=10" in text
    assert "calls=10 hits=9 misses=1" in cell_text(executed, "@jitmagic.jit\ndef scale_traced")


def test_graphs_and_stats_have_static_fallbacks(executed):
    assert "static (baked in): n = 3" in cell_text(executed, "def scaled_power")
    assert "threshold = 0.0" in cell_text(executed, "%jaxpr conditional_double --diff")
    assert "scan" in cell_text(executed, "def running_sum")
    stats = cell_text(executed, "%jitstats")
    assert "conditional_double" in stats
    assert "scale_static" in stats


def test_dashboard_static_copy_shows_final_counts(executed):
    """The saved text/plain (what GitHub and nbconvert show) is updated at each cell end."""
    text = cell_text(executed, "%jit conditional_double --static threshold --autocond\n")
    assert "calls 4 · hits 2 · misses 2" in text
    assert "threshold: 0.0 → 10.0 (static)" in text


def _watch_rows(table: str) -> dict[str, int]:
    """`%jitwatch` text table -> {function (with its [tracked] tag): compiles}."""
    rows = {}
    for line in table.splitlines()[1:-1]:
        match = re.match(r"(\S+(?: \[tracked\]| \[jax op\])?)\s+(\d+)\s", line)
        assert match, line
        rows[match[1]] = int(match[2])
    return rows


def test_compile_watch_catches_the_partial_batch_and_the_jit_in_a_loop(executed):
    train = cell_text(executed, "@jax.jit\ndef train_step")
    assert "compiled 2× in " in train
    assert "train_step (first call), train_step (batch: f32[32,8] → f32[6,8])" in train
    loop = cell_text(executed, "losses = []\nfor start")
    assert "RecompileWarning: jitmagic: `eval_loss` (defined at In[" in loop
    assert "create the jitted function once, outside the loop" in loop
    assert "compiled 8× in " in loop
    assert "eval_loss (first call), eval_loss (re-created jit) ×7" in loop
    fixed = cell_text(executed, "@jax.jit\ndef eval_loss_once")
    assert "compiled 1× in " in fixed
    assert "eval_loss_once (first call)" in fixed
    assert "RecompileWarning" not in fixed
    rows = _watch_rows(cell_text(executed, "%jitwatch --sort compiles"))
    assert rows["eval_loss"] == 8
    assert rows["train_step"] == 2
    assert rows["eval_loss_once"] == 1
    assert rows["scale_static [tracked]"] == 10  # tracked compiles once each, not twice
    assert "scale_static" not in rows


def test_cells_that_compile_nothing_show_no_watch_line(executed):
    assert "compiled" not in cell_text(executed, "print(scale.stats")
