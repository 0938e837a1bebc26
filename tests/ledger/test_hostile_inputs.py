"""What `jax.jit` accepts, `jitmagic.jit` accepts; what it refuses, jitmagic refuses at once.

Each test here failed before the layout change (issue 10's hostile-tester list).
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import pytest

import jitmagic


def scale(x, k):
    return x * k


class Doubler:
    def __call__(self, x):
        return x * 2


def test_partial_is_tracked_with_its_function_name():
    f = jitmagic.jit(functools.partial(scale, k=2))
    assert float(f(jnp.ones(()) * 3)) == 6.0
    assert float(f(jnp.ones(2)).sum()) == 4.0
    assert f.__name__ == "scale"
    s = f.stats
    assert (s.calls, s.hits, s.misses) == (2, 0, 2)
    assert f.entries[1].reason == "x: f32[] → f32[2]"
    assert f.entries[0].trace_s > 0  # the compile events were attributed to it
    assert "TrackedFunction scale" in repr(f)


def test_callable_object_is_tracked_with_its_class_name():
    f = jitmagic.jit(Doubler())
    assert float(f(jnp.array(3.0))) == 6.0
    assert f.__name__ == "Doubler"
    assert f.stats.misses == 1
    assert f.entries[0].compiled
    assert "Doubler" in repr(f)


@pytest.mark.parametrize("bad", [3, None, "f"])
def test_non_callables_are_refused_like_jax_jit(bad):
    with pytest.raises(TypeError, match="Expected a callable value") as ours:
        jitmagic.jit(bad)
    with pytest.raises(TypeError) as theirs:
        jax.jit(bad)
    assert str(ours.value) == str(theirs.value)


def test_decorator_with_options_still_works():
    @jitmagic.jit(static_argnames="k")
    def g(x, k):
        return x * k

    assert float(g(jnp.array(2.0), k=3)) == 6.0
    assert g.static_argnames == ("k",)


@pytest.mark.parametrize(("option", "value"), [
    ("retain", -1), ("retain", 0), ("retain", "3"), ("retain", True),
    ("max_compiles", -1), ("max_compiles", "2"), ("max_compiles", 1.5),
])
def test_jitmagic_options_are_validated_when_built(option, value):
    with pytest.raises(ValueError, match=option):
        jitmagic.jit(scale, **{option: value})


def test_negative_static_argnums_are_recorded_as_static():
    f = jitmagic.jit(scale, static_argnums=-1)
    x = jnp.array(1.0)
    f(x, 2)
    f(x, 3)
    assert f.static_argnums == (1,)
    assert f.static_argnames == ("k",)
    assert f.entries[0].signature.statics == {"k": 2}
    assert f.entries[1].reason == "k: 2 → 3 (static)"


def test_pytree_structure_churn_is_worded_from_structured_changes():
    f = jitmagic.jit(lambda xs: sum(xs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 10):
            f([jnp.ones(2)] * n)
    text = str(f.dashboard())
    assert "the pytree structure of `xs` changed" in text
    assert "pytree structure of xs changed`" not in text  # no reason text parsed as a name
    assert "give `xs` the same structure on every call" in text
    messages = [str(w.message) for w in caught if issubclass(w.category, jitmagic.RecompileWarning)]
    assert len(messages) == 1
    assert "the pytree structure of `xs` changed on 6 of the last 10 calls" in messages[0]
