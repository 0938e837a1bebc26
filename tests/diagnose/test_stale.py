"""A static mutated in place after a call: `jax.jit` may return the old value's result, and
jitmagic says so on the next call (the probe half of each test checks what JAX does)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitmagic
from jitmagic.diagnose import stale
from jitmagic.errors import RecompileWarning, StaleStaticWarning


class Content:  # hash and eq over a mutable list, recomputed on every call
    def __init__(self, v: list) -> None:
        self.v = list(v)

    def __hash__(self) -> int:
        return hash(tuple(self.v))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Content) and self.v == other.v


class CachedHash(Content):  # hash computed once, at construction
    def __init__(self, v: list) -> None:
        super().__init__(v)
        self._h = hash(tuple(v))

    def __hash__(self) -> int:
        return self._h


class Identity:  # object's own hash and eq
    def __init__(self, v: list) -> None:
        self.v = list(v)


class HDict(dict):  # a dict made hashable by its items
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


class HArr:  # a NumPy array wrapped to be hashable by its bytes
    def __init__(self, a: np.ndarray) -> None:
        self.a = a

    def __hash__(self) -> int:
        return hash(self.a.tobytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HArr) and np.array_equal(self.a, other.a)


def total(s: Any) -> float:
    if isinstance(s, HDict):
        return float(sum(s.values()))
    if isinstance(s, HArr):
        return float(s.a.sum())
    return float(sum(s if isinstance(s, tuple) else s.v))


def scale(x, s):
    return x * total(s)


def _mutate(s: Any) -> None:
    if isinstance(s, HDict):
        s["a"] = 100
    elif isinstance(s, HArr):
        s.a[0] = 100
    else:
        s.v[0] = 100


CASES: dict[str, Callable[[], Any]] = {
    "content hash": lambda: Content([1, 2]),
    "cached hash": lambda: CachedHash([1, 2]),
    "identity hash": lambda: Identity([1, 2]),
    "hashable dict": lambda: HDict(a=1, b=2),
    "hashable ndarray": lambda: HArr(np.array([1.0, 2.0])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_jax_returns_a_stale_result_and_jitmagic_says_so(case: str) -> None:
    x = jnp.float32(1.0)
    bare, s = jax.jit(scale, static_argnums=1), CASES[case]()
    bare(x, s)
    _mutate(s)
    if float(bare(x, s)) == total(s):  # JAX 0.12 re-hashes a content-hashed static
        _jitmagic_agrees_there_is_no_stale_result(case)
        return
    assert float(bare(x, s)) == 3.0 != total(s)  # JAX 0.10: the old value's result, silently

    f, s = jitmagic.jit(scale, static_argnums=1), CASES[case]()
    f(x, s)
    _mutate(s)
    with pytest.warns(StaleStaticWarning) as caught:
        out = f(x, s)
    assert float(out) == 3.0  # still stale: we say so, we do not change results
    assert f.stats.misses == 1  # and it was no miss at all
    text = str(caught[0].message)
    assert "`scale` returned a STALE result: static argument `s`" in text
    assert "100" in text  # what changed
    assert "immutable value" in text
    assert "drop it from static_argnames" in text
    assert caught[0].filename == __file__  # points at the user's call


def _jitmagic_agrees_there_is_no_stale_result(case: str) -> None:
    """Where JAX itself retraces, the result is fresh: no STALE claim, only the miss's note."""
    x = jnp.float32(1.0)
    f, s = jitmagic.jit(scale, static_argnums=1), CASES[case]()
    f(x, s)
    _mutate(s)
    with pytest.warns(RecompileWarning, match="mutated after it was used") as caught:
        out = f(x, s)
    assert float(out) == total(s)
    assert f.stats.misses == 2
    assert not [w for w in caught if issubclass(w.category, StaleStaticWarning)]


def test_said_once_per_argument_and_a_subclass_of_recompile_warning() -> None:
    f, s = jitmagic.jit(scale, static_argnums=1), CachedHash([1, 2])
    f(jnp.float32(1.0), s)
    _mutate(s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(20):
            f(jnp.float32(1.0), s)
    said = [w for w in caught if issubclass(w.category, RecompileWarning)]
    assert [w.category for w in said] == [StaleStaticWarning]


def test_a_late_mutation_is_caught_by_the_sampled_check() -> None:
    f, s = jitmagic.jit(scale, static_argnums=1), Identity([1, 2])
    x = jnp.float32(1.0)
    f(x, s)
    for _ in range(stale.FIRST_HITS + 10):  # past the first hits after the miss
        f(x, s)
    assert f.watching == (0, stale.EVERY)
    _mutate(s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(stale.EVERY):
            f(x, s)
    assert [w.category for w in caught] == [StaleStaticWarning]


def test_immutable_statics_are_not_watched_at_all() -> None:
    f = jitmagic.jit(scale, static_argnums=1)

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        v: tuple

    f(jnp.float32(1.0), Frozen((1, 2)))
    f(jnp.float32(1.0), (1, 2))  # a tuple: no snapshot, no watched hits
    assert f.watching == (0, 0)


def test_mutable_statics_that_do_not_change_stay_silent() -> None:
    f, s = jitmagic.jit(scale, static_argnums=1), HDict(a=1, b=2)
    x = jnp.float32(1.0)
    for _ in range(3 * stale.EVERY):
        f(x, s)
    f(x, HDict(a=1, b=2))  # an equal, fresh object: a hit, nothing changed
    assert f.stats.misses == 1
    assert f.watching == (0, stale.EVERY)


def test_the_miss_path_says_it_only_once_after_the_hit_said_it() -> None:
    f, s = jitmagic.jit(scale, static_argnums=1), CachedHash([1, 2])  # stale in JAX 0.10 and 0.12
    x = jnp.float32(1.0)
    f(x, s)
    _mutate(s)
    with pytest.warns(StaleStaticWarning):
        f(x, s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(x, CachedHash([1, 2]))  # the old value again: a real miss now
    assert not [w for w in caught if "mutated" in str(w.message)]


def test_snapshot_names_the_leaf_that_changed() -> None:
    before = stale.snapshot({"layers": [1, 2], "act": "relu"}, "cfg")
    after = stale.snapshot({"layers": [1, 3], "act": "relu"}, "cfg")
    assert stale.changed_paths(before, after) == ["cfg['layers'][1]: 2 -> 3"]
    assert not stale.is_mutable((1, "a", None, jnp.float32))
    assert stale.is_mutable((1, [2]))
    assert not stale.is_mutable(jnp.ones(2))


def test_an_unreadable_static_never_breaks_the_call() -> None:
    class Grumpy:
        __slots__ = ()

        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    holder = Identity([1, 2])
    holder.inner = [Grumpy()]  # type: ignore[attr-defined]
    f = jitmagic.jit(scale, static_argnums=1)
    x = jnp.float32(1.0)
    assert float(f(x, holder)) == 3.0
    assert float(f(x, holder)) == 3.0  # a watched hit: the snapshot copes
    assert stale.snapshot(holder, "holder")["holder.inner[0]"] == "(unreadable: RuntimeError)"
