"""The compile watch tells a persistent-cache hit from a miss (and claims neither when off)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from jax.experimental.compilation_cache import compilation_cache

import jitmagic

_SETTINGS = {  # as tests/ledger/test_subprocess_cases.py: cache every entry, however small
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": -1,
}


@pytest.fixture
def persistent_cache(tmp_path):
    """The persistent cache on in `tmp_path` for this test; the earlier config restored after."""
    names = ("jax_compilation_cache_dir", *_SETTINGS)
    saved = {name: getattr(jax.config, name) for name in names}
    jax.config.update("jax_compilation_cache_dir", str(tmp_path))
    for name, value in _SETTINGS.items():
        jax.config.update(name, value)
    yield tmp_path
    for name, value in saved.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()  # JAX 0.12 keeps using an open cache without this
    jax.clear_caches()


def mm(x):
    return jnp.sin(x) @ jnp.cos(x).T


def test_cold_compile_is_a_miss_and_a_reload_is_a_hit(persistent_cache, jax_compiles):
    x = jnp.ones((8, 8))
    jax.clear_caches()
    with jitmagic.watch() as w:
        jax.jit(mm)(x)  # cold: compiled and written to the cache dir
        jax.clear_caches()  # as a new process would: only the disk cache is left
        jax.jit(mm)(x)
    mine = w.by_name("mm")
    assert len(mine) == jax_compiles.count("jit(mm)") == 2
    assert [r.persistent_cache for r in mine] == ["miss", "hit"]
    assert any(p.name.startswith("jit_mm-") for p in persistent_cache.iterdir())
    assert "persistent-cache hit" in str(mine[1])
    assert "persistent-cache miss" in str(mine[0])
    assert "(1 from disk cache)" in str(w.table())


def test_without_the_cache_dir_nothing_is_claimed(jax_compiles):
    assert jax.config.jax_compilation_cache_dir is None
    jax.clear_caches()
    with jitmagic.watch() as w:
        jax.jit(mm)(jnp.ones((8, 8)))
    (rec,) = w.by_name("mm")
    assert rec.persistent_cache is None
    assert "persistent-cache" not in str(rec)
    assert "disk cache" not in str(w.table())
