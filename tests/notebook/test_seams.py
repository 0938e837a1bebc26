"""Bugs found on the seams between the notebook glue and the layers below (issue 10)."""

from __future__ import annotations

import jax.numpy as jnp
import pytest
from IPython.core.error import UsageError
from IPython.display import display
from test_magics import run, snapshot

import jitmagic
from jitmagic.dashboard import poller as dash
from jitmagic.dashboard.live import show_dashboard


def test_jaxpr_of_a_named_jitcell_call(ip):
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)\nn = 2")
    run(ip, "%%jitcell --static n --name step --no-dashboard\ny = x * n\ny.sum()\n")
    graph = run(ip, "%jaxpr step(x, n=2)")
    assert "mul" in graph.source
    assert ip.user_ns["step"].stats.misses == 1  # the graph reused the cached trace
    graph = run(ip, "%jaxpr step(jnp.ones(5), n=3)")
    assert "f32[5]" in graph.source


def test_jit_magic_on_partial_and_callable_object(ip):
    run(ip, "import functools, jax.numpy as jnp\n"
            "def scale(x, k):\n    return x * k\n"
            "g = functools.partial(scale, k=2)\n"
            "class Doubler:\n    def __call__(self, x):\n        return x * 2\n"
            "d = Doubler()\n")
    ip.run_line_magic("jit", "g --no-dashboard")
    ip.run_line_magic("jit", "d --no-dashboard")
    assert float(run(ip, "g(jnp.array(3.0))")) == 6.0
    assert float(run(ip, "d(jnp.array(3.0))")) == 6.0
    assert isinstance(ip.user_ns["g"], jitmagic.TrackedFunction)
    assert ip.user_ns["g"].stats.misses == ip.user_ns["d"].stats.misses == 1


@pytest.mark.parametrize("line", [
    "g --static nope",
    "g --max-compiles -1",
    "g --jit-kwargs {'static_argnums': 9}",
    "g --jit-kwargs 1/0",
])
def test_a_failed_jit_magic_leaves_the_namespace_untouched(ip, line):
    run(ip, "import jax.numpy as jnp\ndef g(x, k):\n    return x * k\n")
    before = snapshot(ip)
    with pytest.raises((UsageError, ZeroDivisionError)):
        ip.run_line_magic("jit", line)
    assert snapshot(ip) == before
    assert not isinstance(ip.user_ns["g"], jitmagic.TrackedFunction)


def test_terminal_edits_of_a_cell_replace_it(ip):
    """No frontend cell id (terminal IPython): an edited cell is known by what it assigns."""
    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)")
    before = len(jitmagic.tracked_functions())
    for k in range(50):
        run(ip, f"%%jitcell\ny = x * {k}\n")
    assert float(ip.user_ns["y"][1]) == 49.0
    assert len(jitmagic.tracked_functions()) == before + 1
    assert dash.dashboard_count() == 1
    for k in range(3):
        run(ip, f"%%jitcell --name step\nz = x + {k}\n")
    assert len(jitmagic.tracked_functions()) == before + 2
    assert dash.dashboard_count() == 2
    assert float(ip.user_ns["step"](jnp.zeros(3))["z"][0]) == 2.0


def test_unload_is_not_undone_by_a_new_tracked_function(ip):
    from jitmagic.dashboard import poller
    from jitmagic.ledger import events

    run(ip, "import jax.numpy as jnp\nx = jnp.arange(3.0)")
    run(ip, "%%jitcell\ny = x * 2\n")
    assert events.is_installed()
    assert poller.after_cell in ip.events.callbacks["post_run_cell"]
    ip.run_line_magic("unload_ext", "jitmagic")
    f = jitmagic.jit(lambda v: v + 1)
    f(jnp.ones(2))
    assert f.stats.misses == 1  # still counted exactly, from the trace shim
    assert not events.is_installed()
    assert poller.after_cell not in ip.events.callbacks["post_run_cell"]
    assert dash.dashboard_count() == 0
    ip.run_line_magic("load_ext", "jitmagic")
    assert events.is_installed()
    assert ip.events.callbacks["post_run_cell"].count(poller.after_cell) == 1


def test_showing_a_dashboard_installs_no_cell_hook(ip):
    from jitmagic.dashboard import poller

    ip.run_line_magic("unload_ext", "jitmagic")
    f = jitmagic.jit(lambda v: v + 1)
    show_dashboard(f, key="plain", display=display, live=False)
    assert poller.after_cell not in ip.events.callbacks["post_run_cell"]
    dash.shutdown()
