"""The ledger counts what JAX really did: checked against an independent body counter."""

from __future__ import annotations

import functools
import threading
import tracemalloc
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitmagic
from jitmagic.errors import StaleStaticWarning


def counted(fun):
    """Wrap `fun` so each Python execution (= each trace) bumps `.runs`."""

    @functools.wraps(fun)
    def body(*args, **kwargs):
        body.runs += 1
        return fun(*args, **kwargs)

    body.runs = 0
    return body


def where_double(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


def test_seed_sequence_miss_hit_miss_hit():
    body = counted(where_double)
    f = jitmagic.jit(body, static_argnames="threshold")
    results = [
        f(jnp.array(5.0), threshold=0.0),
        f(jnp.array(1.0), threshold=0.0),
        f(jnp.array(5.0), threshold=10.0),
        f(jnp.array(1.0), threshold=10.0),
    ]
    assert [float(r) for r in results] == [10.0, 2.0, 5.0, 1.0]
    s = f.stats
    assert (s.calls, s.hits, s.misses) == (4, 2, 2)
    assert body.runs == 2 == s.traces
    assert [e.reason for e in f.entries] == ["first call", "threshold: 0.0 → 10.0 (static)"]
    assert [e.call_index for e in f.entries] == [1, 3]
    assert all(e.compiled and e.traced for e in f.entries)
    assert all(e.compile_s > 0 and e.trace_s > 0 for e in f.entries)


def test_python_if_with_static_threshold_still_fails_in_real_jax():
    """The classic tutorial's claim is wrong: x is still traced, so the `if` raises."""

    def conditional_double(x, threshold):
        if x > threshold:
            return x * 2
        return x

    f = jitmagic.jit(conditional_double, static_argnames="threshold")
    with pytest.raises(jax.errors.TracerBoolConversionError):
        f(jnp.array(5.0), threshold=0.0)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(conditional_double, static_argnames="threshold")(jnp.array(5.0), threshold=0.0)
    assert (f.stats.calls, f.stats.misses) == (0, 0)


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ((jnp.ones(3),), (jnp.ones(4),), "x: f32[3] → f32[4]"),
        ((jnp.ones(3),), (jnp.ones(3, jnp.int32),), "x: dtype float32 → int32"),
        ((jnp.ones(3),), (np.ones(3, np.float32),), None),  # numpy vs jax array: same key
        ((jnp.float32(2.0),), (2.0,), "x: weak_type changed (Python scalar vs array)"),
    ],
)
def test_shape_dtype_weak_type_reasons(first, second, reason):
    body = counted(lambda x: x + 1)
    f = jitmagic.jit(body)
    f(*first)
    f(*second)
    if reason is None:
        assert (f.stats.misses, body.runs) == (1, 1)
    else:
        assert (f.stats.misses, body.runs) == (2, 2)
        assert f.entries[1].reason == reason


def test_static_keyed_by_type_and_by_how_it_is_passed():
    body = counted(where_double)
    f = jitmagic.jit(body, static_argnames="threshold")
    x = jnp.ones(3)
    f(x, threshold=10.0)
    f(x, threshold=10)
    f(x, 10)
    assert body.runs == f.stats.misses == 3
    assert "10.0 (float) → 10 (int)" in f.entries[1].reason
    assert "passed by keyword before, positionally now" in f.entries[2].reason


def test_pytree_structure_change_names_the_argument():
    body = counted(lambda params, x: params["w"] * x + params.get("b", 0.0))
    f = jitmagic.jit(body)
    f({"w": jnp.ones(2)}, jnp.ones(2))
    f({"w": jnp.ones(2), "b": jnp.ones(2)}, jnp.ones(2))
    assert body.runs == f.stats.misses == 2
    assert f.entries[1].reason.startswith("pytree structure of params changed")


def test_leaf_paths_name_pytree_leaves():
    f = jitmagic.jit(lambda params, batch: params["w"] @ batch[0])
    f({"w": jnp.ones((2, 3))}, (jnp.ones(3), jnp.ones(1)))
    f({"w": jnp.ones((2, 4))}, (jnp.ones(4), jnp.ones(1)))
    assert f.entries[1].reason == "params['w']: f32[2,3] → f32[2,4]; batch[0]: f32[3] → f32[4]"


def test_python_float_after_weak_array_is_not_a_miss():
    """JAX adds a dispatch entry but neither traces nor compiles: the ledger says hit."""
    body = counted(lambda x: x * 2)
    f = jitmagic.jit(body)
    f(jnp.array(5.0))
    f(5.0)
    assert body.runs == 1
    assert (f.stats.calls, f.stats.hits, f.stats.misses) == (2, 1, 1)


def test_trace_and_lower_are_not_calls_and_graph_capture_does_not_retrace():
    body = counted(where_double)
    f = jitmagic.jit(body, static_argnames="threshold")
    f(jnp.array(5.0), threshold=0.0)
    assert f.entries[0].jaxpr is not None
    runs = body.runs
    traced = f.trace(jnp.array(5.0), threshold=0.0)
    assert traced.jaxpr is f.entries[0].jaxpr
    f.lower(jnp.array(5.0), threshold=0.0)
    assert body.runs == runs == 1
    assert f.stats.calls == 1


def test_compile_without_retrace_after_user_trace_is_a_miss():
    body = counted(lambda x: x - 1)
    f = jitmagic.jit(body)
    f.trace(jnp.ones(2))  # traces, does not compile
    f(jnp.ones(2))  # compiles from the cached trace
    assert body.runs == 1
    assert f.stats.misses == 1
    assert f.entries[0].kind == "compiled (no re-trace)"


def test_clear_forgets_records_and_jax_cache():
    body = counted(lambda x: x * 3)
    f = jitmagic.jit(body)
    f(jnp.ones(2))
    f(jnp.ones(2))
    f.clear()
    assert (f.stats.calls, f.stats.misses, f.entries) == (0, 0, [])
    f(jnp.ones(2))
    assert body.runs == 2
    assert f.entries[0].reason == "first call"


def test_wrapper_preserves_metadata_and_passes_jit_options():
    def scale(x, k):
        """Multiply x by k."""
        return x * k

    f = jitmagic.jit(scale, static_argnums=(1,), donate_argnums=(0,), keep_unused=True,
                     inline=False)
    assert f.__wrapped__ is scale
    assert (f.__name__, f.__doc__) == ("scale", "Multiply x by k.")
    assert float(f(jnp.array(2.0), 3)) == 6.0
    assert f.eval_shape(jnp.ones(3), 2).shape == (3,)
    assert "mul" in str(f.trace(jnp.ones(3), 2).jaxpr)
    assert f.static_argnames == ("k",)


def test_decorator_forms():
    @jitmagic.jit
    def a(x):
        return x + 1

    @jitmagic.jit(static_argnames="n")
    def b(x, n):
        return x * n

    assert float(a(1.0)) == 2.0
    assert float(b(2.0, n=3)) == 6.0
    assert isinstance(a, jitmagic.TrackedFunction)
    assert b in jitmagic.tracked_functions()


def test_counts_exact_across_threads():
    body = counted(lambda x: x + 1)
    f = jitmagic.jit(body)
    x = jnp.ones(3)
    f(x)
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        for _ in range(2000):
            f(x)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = f.stats
    assert (s.calls, s.hits, s.misses) == (16001, 16000, 1)


@pytest.mark.filterwarnings("ignore::jitmagic.RecompileWarning")  # 6 shapes: said, rightly
def test_threads_with_different_shapes_miss_exactly_once_each():
    body = counted(lambda x: x.sum())
    f = jitmagic.jit(body)

    def worker(n):
        for _ in range(200):
            f(jnp.ones(n))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = f.stats
    assert s.calls == 1200
    assert s.misses == body.runs == 6
    assert sorted(e.signature.leaves[0].shape for e in f.entries) == [(n,) for n in range(1, 7)]


@pytest.mark.filterwarnings("ignore::jitmagic.RecompileWarning")
def test_records_are_bounded():
    f = jitmagic.jit(lambda x: x + 1, retain=16)
    for n in range(1, 41):
        f(np.ones(n, np.float32))
    s = f.stats
    assert (s.misses, s.retained, s.evicted) == (40, 16, 24)
    assert [e.index for e in f.entries] == list(range(24, 40))


@pytest.mark.filterwarnings("ignore::jitmagic.RecompileWarning")
def test_memory_stays_bounded_with_changing_shapes():
    f = jitmagic.jit(lambda x: x * 2, retain=8)
    for n in range(1, 30):
        f(np.ones(n, np.float32))
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n in range(30, 130):
        f(np.ones(n, np.float32))
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    ours = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if "jitmagic" in stat.traceback[0].filename
    )
    assert f.stats.retained == 8
    assert ours < 200_000, ours


def test_nested_jaxprs_and_unused_args_keep_names():
    f = jitmagic.jit(lambda x, unused: jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x))
    f(jnp.ones(3), jnp.ones(2))
    entry = f.entries[0]
    assert [leaf.path for leaf in entry.signature.leaves] == ["x", "unused"]
    assert len(entry.jaxpr.jaxpr.invars) == 2
    assert entry.out_names == ("out",)


def test_print_in_body_is_noted_once():
    def noisy(x):
        print("tracing", x)
        return x + 1

    f = jitmagic.jit(noisy)
    with pytest.warns(jitmagic.TracingPrintWarning, match="runs only while JAX traces") as rec:
        f(jnp.ones(2))
    assert rec[0].filename == __file__  # points at the user's call, not at jitmagic
    f(jnp.ones(3))  # a second trace: no second note (pytest errors on unexpected warnings)


class Config:
    """Hashed by identity: mutating it leaves JAX's cache keyed on the old state."""

    def __init__(self, scale):
        self.scale = scale


def test_mutated_static_value_warns_at_the_next_hit():
    f = jitmagic.jit(lambda x, cfg: x * cfg.scale, static_argnames="cfg")
    cfg = Config(2.0)
    f(jnp.ones(2), cfg=cfg)
    cfg.scale = 3.0
    with pytest.warns(StaleStaticWarning, match="static argument `cfg`") as rec:
        out = f(jnp.ones(2), cfg=cfg)
    assert out.tolist() == [2.0, 2.0]  # JAX's stale constant, now said on the hit itself
    assert rec[0].filename == __file__


def test_mutated_static_value_warns_at_the_next_miss_when_no_hit_saw_it():
    f = jitmagic.jit(lambda x, cfg: x * cfg.scale, static_argnames="cfg")
    cfg = Config(2.0)
    f(jnp.ones(2), cfg=cfg)
    cfg.scale = 3.0
    with pytest.warns(jitmagic.RecompileWarning, match="`cfg` was mutated after") as rec:
        f(jnp.ones(5), cfg=cfg)
    assert rec[0].filename == __file__


def test_static_whose_hash_changes_warns():
    class Restless:
        def __hash__(self):
            Restless.n = getattr(Restless, "n", 0) + 1
            return Restless.n

        def __eq__(self, other):
            return self is other

    f = jitmagic.jit(lambda x, r: x + 1, static_argnames="r")
    with pytest.warns(jitmagic.RecompileWarning, match="hashes differently on each call"):
        f(jnp.ones(2), r=Restless())


def test_churn_warning_points_at_the_user_call():
    f = jitmagic.jit(lambda x, k: x * k, static_argnames="k")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for k in range(8):
            f(jnp.ones(2), k=k)
    churn = [w for w in rec if issubclass(w.category, jitmagic.RecompileWarning)]
    assert "keeps recompiling" in str(churn[0].message)
    assert churn[0].filename == __file__


def test_max_compiles_per_function():
    f = jitmagic.jit(lambda x: x + 1, max_compiles=2)
    f(jnp.ones(1))
    f(jnp.ones(2))
    with pytest.raises(jitmagic.RecompileLimitError, match="compiled 3 times") as info:
        f(jnp.ones(3))
    assert info.value.ledger is f


def test_trace_left_by_an_outer_jit_is_not_a_false_miss():
    """Misses follow JAX's own compile events, not traces done inside an enclosing jit."""
    from jax import monitoring

    compiles = []

    def on_duration(event, seconds, **kwargs):
        if event.endswith("backend_compile_duration") and kwargs.get("fun_name") == "jit(square)":
            compiles.append(seconds)

    def square(x):
        return x * x

    body = counted(square)
    f = jitmagic.jit(body)
    monitoring.register_event_duration_secs_listener(on_duration)
    try:
        f(jnp.array(3.0))

        def outer(x):
            return f(x) + 1

        jax.jit(outer)(jnp.ones(2))  # f's body traced inside the outer trace
        assert body.runs == 2
        before = len(compiles)
        f(3.0)  # a new dispatch entry (Python float); JAX may or may not compile again
        recompiled = len(compiles) - before
    finally:
        monitoring.unregister_event_duration_listener(on_duration)
    assert (f.stats.calls, f.stats.misses) == (3, 1 + recompiled)


def test_recompile_without_any_signature_change_says_so():
    body = counted(lambda x: x * x)
    f = jitmagic.jit(body)
    f(jnp.array(3.0))
    jax.grad(f)(jnp.array(3.0))
    f(3.0)  # measured on jax 0.10.2: after grad, this compiles again (no re-trace)
    assert body.runs == 1
    assert f.stats.misses == len(f.entries)
    if f.stats.misses == 2:
        assert f.entries[1].kind == "compiled (no re-trace)"
        assert f.entries[1].reason.startswith("no change in shapes, dtypes or static values")


@pytest.mark.filterwarnings("ignore::jitmagic.RecompileWarning")
def test_concurrent_misses_with_changing_shapes_stay_exact():
    body = counted(lambda x: x.sum())
    f = jitmagic.jit(body)
    errors = []
    barrier = threading.Barrier(8)

    def worker(offset):
        barrier.wait()
        try:
            for n in range(1, 16):
                f(jnp.ones(n + offset))
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k % 4,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = f.stats
    assert s.calls == 8 * 15
    assert s.hits + s.misses == s.calls
    assert len({e.signature.leaves[0].shape for e in f.entries}) == s.misses == 18


def test_typed_prng_keys_are_recorded():
    f = jitmagic.jit(lambda key: jax.random.normal(key, (3,)))
    out = f(jax.random.key(0))
    f(jax.random.key(1))
    assert out.shape == (3,)
    assert (f.stats.calls, f.stats.hits, f.stats.misses) == (2, 1, 1)
    assert str(f.entries[0].signature) == "key: key<fry>[]"
    assert f.entries[0].jaxpr is not None
