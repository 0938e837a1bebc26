"""The magics in a real IPython shell: load, use, fail cleanly, unload."""

from __future__ import annotations

import re

import jax
import pytest
from IPython.core.error import UsageError

import jitmagic
from jitmagic import _events

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
    with pytest.raises(UsageError, match="invalid argnames"):
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
    ],
)
def test_failing_cell_leaves_namespace_untouched(ip, cell, message):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\ny = 'old y'")
    before = snapshot(ip)
    with pytest.raises((UsageError, ValueError), match=re.escape(message)):
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
