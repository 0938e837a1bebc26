"""Each private-JAX use in jitmagic/_jaxcompat.py, checked against the installed JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jitmagic.ledger import jaxcompat as _jaxcompat


def _here(x):
    return jnp.sin(x)  # the line the graph tooltip must name


def test_user_source_line_names_the_user_frame():
    eqn = jax.make_jaxpr(_here)(1.0).jaxpr.eqns[0]
    frame = _jaxcompat.user_source_line(eqn.source_info)
    assert frame is not None, "jax._src.source_info_util.user_frame changed"
    file, line, func = frame
    assert file == __file__
    assert line == _here.__code__.co_firstlineno + 1
    assert func == "_here"


def test_cache_size_probe_counts_dispatch_entries():
    """Private `_cache_size` of a jax.jit object: the hit-path miss detector."""
    import jax
    import jax.numpy as jnp

    from jitmagic.ledger.jaxcompat import cache_size_probe

    f = jax.jit(lambda x: x + 1)
    probe = cache_size_probe(f)
    assert probe is not None, "jax.jit objects lost `_cache_size`: update _jaxcompat"
    assert probe() == 0
    f(jnp.ones(2))
    f(jnp.ones(2))
    assert probe() == 1
    f(jnp.ones(3))
    assert probe() == 2


def test_monitoring_events_used_by_the_ledger_still_fire():
    """The event names `_events` listens for are internal strings: fail loudly if renamed."""
    import jax
    import jax.numpy as jnp
    from jax import monitoring

    from jitmagic.ledger import events as _events

    seen = []

    def listener(event, seconds, **kwargs):
        seen.append(event)

    monitoring.register_event_duration_secs_listener(listener)
    try:
        jax.jit(lambda x: x * 7)(jnp.ones(5))
    finally:
        monitoring.unregister_event_duration_listener(listener)
    assert {_events.TRACE, _events.LOWER, _events.COMPILE} <= set(seen)


def test_jit_trace_in_progress_reads_the_trace_frame():
    """Private `jax._src.pjit._trace_for_jit` locals: the compile watch's argument names."""
    from functools import partial

    from jax import monitoring

    from jitmagic.ledger.events import TRACE
    from jitmagic.ledger.jaxcompat import jit_trace_in_progress

    seen = []

    def listener(event, seconds, **kwargs):
        if event == TRACE and kwargs.get("fun_name") == "probe":
            seen.append(jit_trace_in_progress())

    @partial(jax.jit, static_argnames="n")
    def probe(batch, n):
        return batch * n

    monitoring.register_event_duration_secs_listener(listener)
    try:
        probe(jnp.ones((2, 3)), n=4)
    finally:
        monitoring.unregister_event_duration_listener(listener)
    (trace,) = seen
    assert trace is not None, "jax._src.pjit._trace_for_jit moved: update jit_trace_in_progress"
    assert trace.fun is probe.__wrapped__
    assert trace.kwargs == {"n": 4}
    assert trace.static_argnames == ("n",)
    assert trace.arg_names == ("batch",)
    assert [tuple(a.shape) for a in trace.avals] == [(2, 3)]
    assert trace.src_info.startswith("probe at ")


def test_jit_trace_in_progress_is_none_outside_a_trace():
    from jitmagic.ledger.jaxcompat import jit_trace_in_progress

    assert jit_trace_in_progress() is None
