"""The compile watch against real JAX: counts equal JAX's own compile events."""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import pytest

import jitmagic
from jitmagic.errors import RecompileWarning
from jitmagic.watcher.table import CellSummary


@functools.partial(jax.jit, static_argnames="n")
def scale(batch, n):
    return batch * n


def _line_of(marker: str) -> int:
    with open(__file__) as f:
        lines = f.read().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text and "_line_of" not in text)


def test_counts_equal_jax_compiles_and_reasons_name_arguments(jax_compiles):
    scale.clear_cache()
    with jitmagic.watch() as w:
        scale(jnp.ones(4), n=2)
        scale(jnp.ones(4), n=2)  # a hit: nothing recorded
        scale(jnp.ones((2, 4)), n=2)
        scale(jnp.ones((2, 4)), n=3)  # static change
    assert w.count == len(jax_compiles) == len(w.compiles)
    mine = w.by_name("scale")
    assert len(mine) == jax_compiles.count("jit(scale)") == 3
    assert [r.reason for r in mine] == ["first call", "batch: f32[4] → f32[2,4]",
                                        "n: 2 → 3 (static)"]
    assert mine[1].call_site == f"test_watch.py:{_line_of('scale(jnp.ones((2, 4)), n=2)')}"
    assert mine[0].defined_at == f"test_watch.py:{scale.__wrapped__.__code__.co_firstlineno}"
    assert str(mine[2].signature) == "batch: f32[2,4], n=3"
    assert all(r.compile_s > 0 and r.trace_s > 0 for r in mine)
    assert w.total_compile_s == pytest.approx(sum(r.total_s for r in w.compiles))
    assert not w.active


def test_a_hit_records_nothing(jax_compiles):
    f = jax.jit(lambda x: x + 1)
    x = jnp.ones(3)
    f(x)
    before = len(jax_compiles)
    with jitmagic.watch() as w:
        for _ in range(5):
            f(x).block_until_ready()
    assert w.count == 0
    assert len(jax_compiles) == before


def test_start_stop_and_table():
    g = jax.jit(lambda x: x * 3)
    a, b = jnp.ones(2), jnp.ones(5)
    w = jitmagic.Watch()
    w.start()
    g(a)
    w.stop()
    g(b)  # after stop: not seen
    assert w.count == 1
    (summary,) = w.functions(include_internal=False)
    assert summary.name == "<lambda>"
    assert summary.compiles == 1
    table = w.table(sort="name")
    bundle = table._repr_mimebundle_()
    assert "<lambda>" in bundle["text/plain"]
    assert "<table" in bundle["text/html"]
    assert "1 compiles" in str(table)
    with pytest.raises(ValueError, match="sort must be one of"):
        w.table(sort="bogus")


def test_jit_recreated_in_a_loop_warns_once_with_the_line(jax_compiles):
    x = jnp.ones(3)
    def loop():
        for _ in range(6):
            jax.jit(lambda v: v * 2)(x)  # LOOP-LINE

    with jitmagic.watch() as w, pytest.warns(RecompileWarning) as caught:
        loop()
    texts = [str(c.message) for c in caught if "jitted anew" in str(c.message)]
    assert len(texts) == 1
    line = _line_of("# LOOP-LINE")
    assert f"test_watch.py:{line}" in texts[0]
    assert "create the jitted function once, outside the loop" in texts[0]
    assert caught[0].lineno == line
    assert caught[0].filename == __file__
    lam = [r for r in w.compiles if r.name == "<lambda>"]
    assert len(lam) == 6 == jax_compiles.count("jit(<lambda>)")
    assert lam[0].reason == "first call"
    assert lam[-1].recreated == 6
    assert lam[-1].reason.startswith("re-created jit")
    line = CellSummary(w.compiles, w.table()).line()
    assert "<lambda> (first call), <lambda> (re-created jit) ×5" in line


def test_shape_churn_warns_for_an_untracked_function():
    f = jax.jit(lambda batch: batch.sum())
    inputs = [jnp.ones(n) for n in range(1, 9)]

    def loop():
        for x in inputs:
            f(x)

    with jitmagic.watch(), pytest.warns(RecompileWarning, match="keeps recompiling") as caught:
        loop()
    churn = [c for c in caught if "keeps recompiling" in str(c.message)]
    assert len(churn) == 1
    assert "the shape of `batch` changed" in str(churn[0].message)


def test_tracked_functions_are_counted_once_and_linked(jax_compiles):
    @jitmagic.jit
    def step(batch):
        return batch * 2

    with jitmagic.watch() as w:
        step(jnp.ones(4))
        step(jnp.ones((2, 4)))
        step(jnp.ones((2, 4)))
    mine = w.by_name("step")
    assert len(mine) == 2 == jax_compiles.count("jit(step)") == step.stats.misses
    assert [r.entry for r in mine] == step.entries
    assert mine[1].tracked == "step"
    assert mine[1].reason == "batch: f32[4] → f32[2,4]"
    (summary,) = [s for s in w.functions() if s.name == "step"]
    assert summary.compiles == 2
    assert summary.last_reason == "batch: f32[4] → f32[2,4]"


def test_ring_keeps_newest_records_and_exact_counts():
    f = jax.jit(lambda x: x - 1)
    with jitmagic.watch(keep=2) as w:
        for n in range(1, 6):
            f(jnp.ones(n))
    assert len(w.compiles) == 2
    assert w.count >= 5
    assert w.dropped == w.count - 2
    (summary,) = [s for s in w.functions() if s.name == "<lambda>"]
    assert summary.compiles == 5
    with pytest.raises(ValueError, match="keep must be a positive int"):
        jitmagic.Watch(keep=0)


def test_listeners_leave_with_the_last_watch():
    from jitmagic.watcher import listen

    outer = jitmagic.watch()
    with jitmagic.watch():
        assert listen.active() == 2
    assert listen.active() == 1
    outer.stop()
    assert listen.active() == 0
    assert "stopped" in repr(outer)


def test_eager_ops_are_marked_internal():
    with jitmagic.watch() as w:
        jnp.arange(7.0) * 3.5
    assert w.compiles
    assert all(r.internal for r in w.compiles)
    assert w.functions(include_internal=False) == []


def test_call_site_is_the_user_line_from_a_nested_helper():
    f = jax.jit(lambda x: x / 2)

    def helper(v):
        return f(v)  # HELPER-LINE

    with jitmagic.watch() as w:
        helper(jnp.ones(11))
    (rec,) = [r for r in w.compiles if r.name == "<lambda>"]
    assert rec.call_site == f"test_watch.py:{_line_of('# HELPER-LINE')}"
    assert sys.getrefcount(rec) >= 2  # records are plain objects kept by the watch


def test_warning_from_a_namespace_like_ipythons(jax_compiles):
    """IPython's user namespace has `__spec__ = None`: Python 3.13's warnings reject such
    globals as `module_globals`, which once turned the warning into a crash of the cell."""
    namespace = {"__name__": "__main__", "__spec__": None, "jax": jax, "x": jnp.ones(3)}
    code = "for _ in range(6):\n    jax.jit(lambda v: v * 2)(x)\n"
    with jitmagic.watch(), pytest.warns(RecompileWarning, match="jitted anew") as caught:
        exec(compile(code, "<cell>", "exec"), namespace)
    assert caught[0].filename == "<cell>"
    assert caught[0].lineno == 2
