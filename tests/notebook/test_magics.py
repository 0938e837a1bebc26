"""The magics in a real IPython shell: load, use, fail cleanly, unload."""

from __future__ import annotations

import re

import jax
import pytest
from IPython.core.error import UsageError

import jitmagic
from jitmagic.ledger import events as _events

SEED = """
import jax, jax.numpy as jnp
def conditional_double(x, threshold):
    return jnp.where(x > threshold, x * 2, x)
"""


def run(ip, code: str):
    """Run a cell and re-raise its error, as a user would see it."""
    result = ip.run_cell(code)
    if result.error_before_exec is not None:
        raise result.error_before_exec
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def snapshot(ip) -> dict:
    return {k: v for k, v in ip.user_ns.items() if not k.startswith("_")}


def test_jit_magic_seed_sequence(ip):
    run(ip, SEED)
    ip.run_line_magic("jit", "conditional_double --static threshold")
    values = [
        float(run(ip, f"conditional_double(jnp.array({x}), threshold={t})"))
        for x, t in [(5.0, 0.0), (1.0, 0.0), (5.0, 10.0), (1.0, 10.0)]
    ]
    assert values == [10.0, 2.0, 5.0, 1.0]
    f = ip.user_ns["conditional_double"]
    assert isinstance(f, jitmagic.TrackedFunction)
    assert (f.stats.calls, f.stats.hits, f.stats.misses) == (4, 2, 2)
    assert f.entries[1].reason == "threshold: 0.0 → 10.0 (static)"


def test_rejitting_a_tracked_function_replaces_it(ip):
    run(ip, SEED)
    ip.run_line_magic("jit", "conditional_double --static threshold")
    first = ip.user_ns["conditional_double"]
    ip.run_line_magic("jit", "conditional_double --static-argnums 1 --keep-unused")
    second = ip.user_ns["conditional_double"]
    assert second is not first
    assert second.__wrapped__ is first.__wrapped__
    assert second.jit_kwargs == {"static_argnums": (1,), "keep_unused": True}


def test_jit_magic_usage_errors(ip):
    run(ip, SEED)
    with pytest.raises(UsageError, match="no function named 'nope'"):
        ip.run_line_magic("jit", "nope")
    with pytest.raises(UsageError, match=re.escape("--static thresh is not a parameter. "
                                                   "Valid names: x, threshold")):
        ip.run_line_magic("jit", "conditional_double --static thresh")
    with pytest.raises(UsageError):
        ip.run_line_magic("jit", "conditional_double --bogus")


CELL = "%%jitcell --static n --name scale\ny = x * n\n_tmp = y + 1\ntotal = y.sum()\ntotal\n"


def test_jitcell_outputs_last_expression_and_cache(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(4.0)\nn = 3")
    out = run(ip, CELL)
    assert float(out) == 18.0
    assert float(ip.user_ns["total"]) == 18.0
    assert ip.user_ns["y"].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert "_tmp" not in ip.user_ns
    scale = ip.user_ns["scale"]
    run(ip, CELL)  # unchanged re-run: a hit on the same jitted function
    assert ip.user_ns["scale"] is scale
    assert (scale.stats.calls, scale.stats.hits, scale.stats.misses) == (2, 1, 1)
    run(ip, "n = 4")
    assert float(run(ip, CELL)) == 24.0
    assert scale.stats.misses == 2
    assert scale.entries[1].reason == "n: 3 → 4 (static)"
    assert float(scale(jnp_ones(ip), n=4)) == 4.0 * 4
    assert scale.stats.misses == 2  # positional traced + keyword static: the cell's own key


def jnp_ones(ip):
    return ip.user_ns["jnp"].ones(4)


def test_jitcell_traced_change_and_free_globals(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\nmode = 'sum'")
    cell = "%%jitcell\nz = jnp.sin(x) * 2\n"
    run(ip, cell)
    run(ip, "x = jnp.arange(5.0)")
    run(ip, cell)
    (fn,) = [c for c in ip.magics_manager.registry["JitMagics"].cells.values()
             if c.plan.source.startswith("z = jnp.sin")]
    assert fn.plan.traced == ("x",)  # jnp is a module: a global, not a parameter
    assert fn.entries[1].reason == "x: f32[3] → f32[5]"
    assert ip.user_ns["z"].shape == (5,)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%jitcell\ny = undefined_thing * 2\n", "'undefined_thing' (cell line 1) is not defined"),
        ("%%jitcell --static m\ny = x * 2\n", "--static m: not a free variable of this cell"),
        ("%%jitcell\ny = x *\n", "syntax error in cell line 1"),
        ("%%jitcell\ny = x * 2\nlabel = 'a string'\n", "assigns `label` a str"),
        ("%%jitcell\nglobal y\ny = x * 2\n", "cell line 1: `global` cannot be used"),
        ("%%jitcell\nz = x * len(cfg)\n", "`cfg` (dict) is neither arrays/numbers"),
    ],
)
def test_failing_cell_leaves_namespace_untouched(ip, cell, message):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\ny = 'old y'\ncfg = {'a': 'b'}")
    before = snapshot(ip)
    with pytest.raises(UsageError, match=re.escape(message)):
        run(ip, cell)
    assert snapshot(ip) == before


def test_tracer_error_in_cell_leaves_namespace_untouched(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\ny = 'old y'")
    before = snapshot(ip)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        run(ip, "%%jitcell\ny = x * 2\nif y.sum() > 1:\n    z = 1.0\n")
    assert snapshot(ip) == before


def test_help_exists_for_every_magic(ip):
    for kind, name in (("line", "jit"), ("cell", "jitcell"), ("line", "jaxpr"),
                       ("line", "jitstats")):
        doc = ip.magics_manager.magics[kind][name].__doc__
        assert doc
        assert f"%{name} [" in doc  # the usage line magic_arguments builds
        assert "options:" in doc


def test_unload_removes_magics_and_listeners(ip):
    run(ip, SEED)
    ip.run_line_magic("jit", "conditional_double --static threshold")
    run(ip, "conditional_double(jnp.array(5.0), threshold=0.0)")
    assert _events.is_installed()
    ip.run_line_magic("unload_ext", "jitmagic")
    assert "jitcell" not in ip.magics_manager.magics["cell"]
    assert "jit" not in ip.magics_manager.magics["line"]
    assert not _events.is_installed()
    ip.run_line_magic("load_ext", "jitmagic")
    assert "jitcell" in ip.magics_manager.magics["cell"]


def test_non_array_free_values_are_static_so_changes_recompile(ip):
    """A str or a re-defined function used by a cell must not be frozen into the first trace."""
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(4.0)\nmode = 'sum'\n"
            "def g(v):\n    return v * 2\n")
    cell = "%%jitcell --name step\nz = g(x)\ntotal = z.sum() if mode == 'sum' else z.max()\n"
    run(ip, cell)
    assert float(ip.user_ns["total"]) == 12.0
    run(ip, "mode = 'max'")
    run(ip, cell)
    assert float(ip.user_ns["total"]) == 6.0
    run(ip, "def g(v):\n    return v * 3\n")
    run(ip, cell)
    assert float(ip.user_ns["total"]) == 9.0
    step = ip.user_ns["step"]
    assert step.plan.static == ("g", "mode")
    assert step.stats.misses == 3
    assert step.entries[1].reason == "mode: 'sum' → 'max' (static)"
    assert step.entries[2].reason.startswith("g: <function g at")
    assert float(step(ip.user_ns["x"])["total"]) == 9.0  # current notebook values by default


def test_editing_a_cell_replaces_its_function_and_dashboard(ip):
    from jitmagic.dashboard import poller as _dashboard

    run(ip, "import jax.numpy as jnp\nx = jnp.arange(4.0)")
    magics = ip.magics_manager.registry["JitMagics"]
    earlier = set(jitmagic.tracked_functions())
    ip.parent_header = {"metadata": {"cellId": "cell-1"}}
    try:
        for k in range(1, 7):  # six edits of the same notebook cell
            run(ip, f"%%jitcell\ny = x * {k}\n")
    finally:
        del ip.parent_header
    assert float(ip.user_ns["y"][1]) == 6.0
    assert len(magics.cells) == 1
    assert _dashboard.dashboard_count() == 1
    assert len(set(jitmagic.tracked_functions()) - earlier) == 1


def test_jaxpr_magic_accepts_star_arguments(ip):
    run(ip, "import jax.numpy as jnp\ndef add(a, b, scale=1.0):\n    return (a + b) * scale\n"
            "xs = (jnp.ones(2), jnp.ones(2))\nkw = {'scale': 2.0}")
    graph = run(ip, "%jaxpr add(*xs, **kw)")
    assert "add" in graph.source
    assert "scale" in graph.source


def test_use_after_unload_does_not_reinstall_listeners(ip):
    run(ip, SEED)
    ip.run_line_magic("jit", "conditional_double --static threshold --no-dashboard")
    ip.run_line_magic("unload_ext", "jitmagic")
    run(ip, "conditional_double(jnp.ones(3), threshold=1.0)")
    assert not _events.is_installed()
    assert ip.user_ns["conditional_double"].stats.misses == 1


def test_cell_that_never_ran_is_not_listed(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)")
    earlier = set(jitmagic.tracked_functions())
    with pytest.raises(jax.errors.TracerBoolConversionError):
        run(ip, "%%jitcell --no-dashboard\nif x.sum() > 0:\n    y = x\n")
    assert set(jitmagic.tracked_functions()) == earlier
    assert ip.magics_manager.registry["JitMagics"].cells == {}


def test_default_argument_of_a_cell_def_is_not_frozen(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\nk0 = 2.0")
    cell = "%%jitcell --no-dashboard\ndef gg(a, b=k0):\n    return a * b\nr = gg(x)\n"
    run(ip, cell)
    run(ip, "k0 = 5.0")
    run(ip, cell)
    assert ip.user_ns["r"].tolist() == [0.0, 5.0, 10.0]
