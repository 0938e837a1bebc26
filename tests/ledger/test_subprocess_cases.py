"""Behaviour that needs a fresh process: 8 CPU devices, the persistent compilation cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SHARDING = """
import json, jax, jax.numpy as jnp, numpy as np, jitmagic
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
runs = []
def body(x):
    runs.append(1)
    return (x * 2).sum()
f = jitmagic.jit(body)
mesh = Mesh(np.array(jax.devices()), ("d",))
x = jnp.arange(16.0)
a = jax.device_put(x, NamedSharding(mesh, P("d")))
b = jax.device_put(x, NamedSharding(mesh, P()))
f(a); f(a); f(b); f(b)
s = f.stats
print(json.dumps({"devices": len(jax.devices()), "calls": s.calls, "hits": s.hits,
                  "misses": s.misses, "runs": len(runs),
                  "reasons": [e.reason for e in f.entries]}))
"""

PERSISTENT = """
import json, sys, jax, jax.numpy as jnp, jitmagic
jax.config.update("jax_compilation_cache_dir", sys.argv[1])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
f = jitmagic.jit(lambda x: jnp.sin(x) @ jnp.cos(x).T)
f(jnp.ones((8, 8)))
print(json.dumps({"kind": f.entries[0].kind, "persistent": f.entries[0].persistent_cache}))
"""


def run(code: str, *argv: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *argv],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_resharding_is_a_miss_naming_the_sharding():
    res = run(SHARDING, env={"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})
    assert res["devices"] == 8
    assert (res["calls"], res["hits"], res["misses"]) == (4, 2, 2)
    assert res["reasons"][0] == "first call"
    assert res["reasons"][1] == (
        "x: sharding NamedSharding(P('d',), devices=8) → NamedSharding(P(), devices=8)"
    )


def test_persistent_cache_hit_is_distinguished_from_a_fresh_compile(tmp_path):
    cold = run(PERSISTENT, str(tmp_path))
    warm = run(PERSISTENT, str(tmp_path))
    assert cold == {"kind": "compiled", "persistent": "miss"}
    assert warm == {"kind": "persistent-cache hit", "persistent": "hit"}
