"""`%jitwatch` and the one-line cell summary, in a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from jitmagic.watcher import listen

SETUP = """
import jax, jax.numpy as jnp
step = jax.jit(lambda batch: batch * 2)
x4, x2 = jnp.ones(4), jnp.ones((2, 4))
"""


def _run(ip, code):
    with capture_output() as out:
        result = ip.run_cell(code)
    result.raise_error()
    return out


def _summaries(out):
    return [o.data["text/plain"] for o in out.outputs if "compiled" in o.data["text/plain"]]


def test_a_cell_that_compiled_gets_one_line_and_a_hit_cell_nothing(ip):
    assert listen.active() == 1  # on by default after %load_ext
    _run(ip, SETUP)
    out = _run(ip, "step(x4)\nstep(x2);")
    (line,) = _summaries(out)
    assert line.startswith("compiled 2× in ")
    assert "<lambda> (first call)" in line
    assert "<lambda> (batch: f32[4] → f32[2,4])" in line
    (bundle,) = [o.data for o in out.outputs if "compiled" in o.data["text/plain"]]
    assert "<details" in bundle["text/html"]
    assert "<table" in bundle["text/html"]
    assert _summaries(_run(ip, "step(x4);")) == []  # a hit compiles nothing


def test_call_site_names_the_cell(ip):
    _run(ip, SETUP)
    count = ip.execution_count
    with capture_output():
        ip.run_cell("y = 1\nstep(x4);", store_history=True).raise_error()
    watch = next(iter(listen._watches))
    (rec,) = [r for r in watch.compiles if r.name == "<lambda>"]
    assert rec.call_site == f"In[{count}], line 2"
    assert rec.defined_at.endswith("line 2")  # SETUP: IPython drops the leading blank line


def test_jitwatch_table_off_on_and_config(ip):
    _run(ip, SETUP)
    _run(ip, "step(x4);")
    table = ip.run_line_magic("jitwatch", "--sort compiles")
    assert "<lambda>" in str(table)
    _run(ip, "%jitwatch off")
    assert listen.active() == 0
    assert _summaries(_run(ip, "step(x2);")) == []
    _run(ip, "%jitwatch on")
    assert listen.active() == 1
    _run(ip, "%config JitMagics.watch = False")
    assert listen.active() == 0
    _run(ip, "%config JitMagics.watch = True")
    assert listen.active() == 1
    with pytest.raises(UsageError):
        ip.run_line_magic("jitwatch", "sideways")


def test_tracked_cell_compiles_are_counted_once(ip):
    _run(ip, SETUP)
    _run(ip, "def double(batch):\n    return batch * 2")
    _run(ip, "%jit double --no-dashboard")
    out = _run(ip, "double(x4)\ndouble(x2);")
    (line,) = _summaries(out)
    assert line.startswith("compiled 2×")
    assert "double (batch: f32[4] → f32[2,4])" in line


def test_unload_removes_the_watch(ip):
    assert "jitwatch" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "jitmagic")
    assert listen.active() == 0
    assert "jitwatch" not in ip.magics_manager.magics["line"]
    assert not any(type(c).__name__ == "JitMagics" for c in ip.configurables)
    ip.run_line_magic("load_ext", "jitmagic")
    assert listen.active() == 1


def test_readme_documents_every_jitwatch_flag_and_choice():
    from pathlib import Path

    from jitmagic.notebook.watchmagic import WatchMagics

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### `%jitwatch")[1].split("\n### ")[0]
    words = [opt for action in WatchMagics.jitwatch.parser._actions
             for opt in (*action.option_strings, *(action.choices or ()))
             if opt not in ("-h", "--help")]
    assert "--sort" in words
    assert "off" in words
    missing = [word for word in words if word not in section]
    assert not missing, f"%jitwatch: missing from the README: {missing}"
    assert "%config JitMagics.watch = False" in section
