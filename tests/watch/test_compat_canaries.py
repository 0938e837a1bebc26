"""Canaries for the private JAX/equinox reads behind the compile watch; the watch without them.

The canaries fail loudly when JAX or equinox changes the frame the watch reads.
The degrade tests rename the frame the compat module looks for (exactly what an
upstream rename does) and check the watch still records name, call site and
timings, with the right count, and never raises.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from jax import monitoring

import jitmagic
from jitmagic.ledger import jaxcompat
from jitmagic.ledger.events import TRACE


@eqx.filter_jit
def eqx_probe(layer, batch, scale=2.0):
    return (jax.vmap(layer)(batch) * scale).sum()


@pytest.fixture
def layer():
    return eqx.nn.Linear(4, 2, key=jax.random.PRNGKey(0))


def _during_trace(name, read):
    """Run `read()` inside every trace event of `name`; return what it gave."""
    seen = []

    def listener(event, seconds, **kwargs):
        if event == TRACE and kwargs.get("fun_name") == name:
            seen.append(read())

    monitoring.register_event_duration_secs_listener(listener)
    return seen, listener


def test_equinox_call_in_progress_reads_the_filter_jit_frame(layer):
    """Private `equinox._jit._call` locals: the user's function and arguments."""
    seen, listener = _during_trace(
        "eqx_probe", lambda: (jaxcompat.equinox_call_in_progress(),
                              jaxcompat.jit_trace_in_progress()))
    batch = jnp.ones((3, 4))
    try:
        eqx_probe(layer, batch, scale=5.0)
    finally:
        monitoring.unregister_event_duration_listener(listener)
    ((call, trace),) = seen
    assert call is not None, "equinox._jit._call changed: update equinox_call_in_progress"
    assert call.fun is eqx_probe.__wrapped__
    assert call.args[0] is layer
    assert call.args[1] is batch
    assert call.kwargs == {"scale": 5.0}
    assert trace is not None
    assert jaxcompat.is_equinox_wrapper(trace.fun), (
        "equinox no longer jits a function from equinox/_jit.py: update is_equinox_wrapper")
    assert jaxcompat.equinox_call_in_progress() is None  # no equinox call on the stack


def test_plain_jit_is_not_an_equinox_wrapper():
    assert not jaxcompat.is_equinox_wrapper(lambda x: x)
    assert not jaxcompat.is_equinox_wrapper(jnp.sin)


def test_without_the_equinox_frame_the_watch_keeps_name_site_and_timings(
        layer, jax_compiles, monkeypatch):
    monkeypatch.setattr(jaxcompat, "_EQX_FRAME", ("_call_renamed", "equinox/_jit.py"))
    before = len(jax_compiles)
    with jitmagic.watch() as w:
        eqx_probe(layer, jnp.ones((8, 4)))  # DEGRADE-EQX
        eqx_probe(layer, jnp.ones((3, 4)))
    mine = [r for r in w.compiles if r.name == "eqx_probe"]
    assert len(mine) == jax_compiles.count("jit(eqx_probe)") == 2
    assert w.count == len(jax_compiles) - before
    assert all(r.signature is None and r.defined_at is None for r in mine)
    assert all(r.call_site.startswith("test_compat_canaries.py:") for r in mine)
    assert all(r.trace_s > 0 and r.compile_s > 0 for r in mine)
    assert mine[0].reason == "first call"
    assert mine[1].reason.startswith("compiled again (argument types unknown")


def test_without_jax_trace_frame_the_watch_keeps_name_site_and_timings(jax_compiles, monkeypatch):
    monkeypatch.setattr(jaxcompat, "_TRACE_FRAME", "_trace_for_jit_renamed")
    f = jax.jit(lambda batch: batch * 2)
    before = len(jax_compiles)
    with jitmagic.watch() as w:
        f(jnp.ones(2))
        f(jnp.ones(3))
    mine = [r for r in w.compiles if r.name == "<lambda>"]
    assert len(mine) == jax_compiles.count("jit(<lambda>)") == 2
    assert w.count == len(jax_compiles) - before
    assert all(r.signature is None and r.call_site.startswith("test_compat_canaries.py:")
               for r in mine)
    assert all(r.trace_s > 0 and r.compile_s > 0 for r in mine)
    (summary,) = [s for s in w.functions() if s.name == "<lambda>"]
    assert summary.compiles == 2
    assert "<lambda>" in str(w.table())
