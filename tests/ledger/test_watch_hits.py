"""`Forwarder.watch_hits`: chosen hits call `on_hit`, the C type and its Python twin alike."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from tests.ledger.test_forward import CLASSES, Recorder


@pytest.fixture(params=CLASSES)
def cls(request: pytest.FixtureRequest) -> type:
    return request.param


def _watched(cls: type) -> tuple[Any, Recorder, list]:
    jitted, rec, hits = jax.jit(lambda x, k=1: x * k, static_argnames="k"), Recorder(), []
    fw = cls(jitted, jitted._cache_size, rec.on_miss, rec.on_error,
             lambda a, kw: hits.append((a, kw)))
    return fw, rec, hits


def test_off_by_default_then_the_next_count_hits(cls: type) -> None:
    fw, rec, hits = _watched(cls)
    x = jnp.ones(2)
    for _ in range(5):
        fw(x, k=2)
    assert (len(rec.misses), hits, fw.watching) == (1, [], (0, 0))
    fw.watch_hits(3)
    for _ in range(5):
        fw(x, k=2)
    assert len(hits) == 3
    assert hits[0][1] == {"k": 2}
    assert hits[0][0][0] is x
    assert fw.watching == (0, 0)


def test_every_nth_call_is_sampled(cls: type) -> None:
    fw, rec, hits = _watched(cls)
    x = jnp.ones(2)
    fw(x)
    fw.watch_hits(0, 8)
    for _ in range(31):
        fw(x)  # calls 2..32: the 8th, 16th, 24th and 32nd are sampled
    assert len(hits) == 4
    assert fw.watching == (0, 8)
    assert len(rec.misses) == 1  # a miss is never also a watched hit


def test_bad_arguments_are_refused(cls: type) -> None:
    fw, _, _ = _watched(cls)
    for bad in ((-1,), (0, 3), (0, -2)):
        with pytest.raises((ValueError, OverflowError)):
            fw.watch_hits(*bad)
    with pytest.raises(TypeError, match="on_hit"):
        cls(lambda: 0, None, lambda a, k: None, lambda e, a, k: None, 5)


def test_an_on_hit_error_propagates_and_refcounts_stay_flat(cls: type) -> None:
    jitted = jax.jit(lambda x: x + 1)
    rec = Recorder()

    def boom(a: tuple, kw: dict) -> None:
        raise RuntimeError("on_hit failed")

    fw = cls(jitted, jitted._cache_size, rec.on_miss, rec.on_error, boom)
    x = jnp.ones(2)
    fw(x)
    before = sys.getrefcount(x)
    fw.watch_hits(1)
    with pytest.raises(RuntimeError, match="on_hit failed"):
        fw(x)
    fw.watch_hits(0, 2)
    for _ in range(100):
        with contextlib.suppress(RuntimeError):
            fw(x)
    assert sys.getrefcount(x) == before
