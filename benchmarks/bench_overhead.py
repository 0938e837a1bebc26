"""Hit-path overhead of `jitmagic.jit` against bare `jax.jit`, side by side in one process.

Usage: python benchmarks/bench_overhead.py [--repeat 60] [--number 2000] [--loop 100000]

Each case times bare and tracked calls *interleaved* (bare, tracked, bare, ...)
so machine noise hits both alike, and reports min and median ns per call and the
ratio tracked/bare. All calls are cache hits (dispatch only, no block_until_ready,
as a Python loop of small jitted calls would run).
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit

import jax
import jax.numpy as jnp

import jitmagic
from jitmagic.ledger import forward as _forward


def scalar(x):
    return x * 2


def with_static(x, k):
    return x * k


def pytree(params, x, bias):
    return params["w"] * x + bias[0]


class Cfg:
    """A mutable static hashed by content: jitmagic watches it (first hits, then sampled)."""

    def __init__(self, k: float) -> None:
        self.k = k

    def __hash__(self) -> int:
        return hash(self.k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cfg) and self.k == other.k


def with_cfg(x, cfg):
    return x * cfg.k


def cases() -> list[tuple[str, object, object, tuple, dict]]:
    x = jnp.array(3.0)
    cfg = Cfg(2.0)
    tree = ({"w": jnp.ones(3)}, jnp.ones(3), (jnp.zeros(3),))
    return [
        ("scalar input", jax.jit(scalar), jitmagic.jit(scalar), (x,), {}),
        ("static kwarg", jax.jit(with_static, static_argnames="k"),
         jitmagic.jit(with_static, static_argnames="k"), (x,), {"k": 2}),
        ("3-argument pytree", jax.jit(pytree), jitmagic.jit(pytree), tree, {}),
        ("mutable static (watched: sampled 1 in 1024)",
         jax.jit(with_cfg, static_argnames="cfg"),
         jitmagic.jit(with_cfg, static_argnames="cfg"), (x,), {"cfg": cfg}),
    ]


def interleaved(bare, tracked, args, kwargs, repeat: int, number: int) -> tuple[list, list]:
    bare(*args, **kwargs), tracked(*args, **kwargs)  # compile both first
    tb = timeit.Timer(lambda: bare(*args, **kwargs))
    tt = timeit.Timer(lambda: tracked(*args, **kwargs))
    for _ in range(20):  # past the first watched hits after the miss: the steady state
        tracked(*args, **kwargs)
    b, t = [], []
    for _ in range(repeat):
        b.append(tb.timeit(number) / number * 1e9)
        t.append(tt.timeit(number) / number * 1e9)
    return b, t


def loop_ratio(bare, tracked, args, kwargs, n: int) -> tuple[float, float]:
    """Wall time of one plain `for` loop of n calls; bare and tracked alternate, best of 5."""
    def run(fun):
        start = time.perf_counter()
        for _ in range(n):
            fun(*args, **kwargs)
        return time.perf_counter() - start

    times_b, times_t = [], []
    for _ in range(5):
        times_b.append(run(bare))
        times_t.append(run(tracked))
    return min(times_b), min(times_t)


def watched_hit_cost(repeat: int, number: int) -> tuple[float, float]:
    """ns per call of a plain hit and of a watched hit (the stale-static check in Python)."""
    f, x, cfg = jitmagic.jit(with_cfg, static_argnames="cfg"), jnp.array(3.0), Cfg(2.0)
    for _ in range(20):
        f(x, cfg=cfg)
    timer = timeit.Timer(lambda: f(x, cfg=cfg))
    plain, watched = [], []
    for _ in range(repeat):
        f.watch_hits(0, 1024)
        plain.append(timer.timeit(number) / number * 1e9)
        f.watch_hits(10**9, 1024)  # every hit watched
        watched.append(timer.timeit(number) / number * 1e9)
    return min(plain), min(watched)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=60)
    ap.add_argument("--number", type=int, default=2000)
    ap.add_argument("--loop", type=int, default=100_000)
    a = ap.parse_args()
    print(f"jax {jax.__version__}, C forwarder: {_forward.HAVE_C}")
    print("| case | bare min ns | tracked min ns | ratio (min) | ratio (median) |")
    print("|---|---|---|---|---|")
    for name, bare, tracked, args, kwargs in cases():
        b, t = interleaved(bare, tracked, args, kwargs, a.repeat, a.number)
        print(f"| {name} | {min(b):.0f} | {min(t):.0f} | {min(t) / min(b):.3f} | "
              f"{statistics.median(t) / statistics.median(b):.3f} |")
    name, bare, tracked, args, kwargs = cases()[0]
    lb, lt = loop_ratio(bare, tracked, args, kwargs, a.loop)
    print(f"| {a.loop:,}-call loop ({name}) | {lb * 1e9 / a.loop:.0f} | "
          f"{lt * 1e9 / a.loop:.0f} | {lt / lb:.3f} | – |")
    plain, watched = watched_hit_cost(max(a.repeat // 2, 1), a.number)
    print(f"one watched hit (mutable static checked): {watched:.0f} ns vs {plain:.0f} ns a plain "
          f"hit; at 1 in 1024 calls that is {(watched - plain) / 1024:.1f} ns per call")
    s = tracked.stats
    assert s.misses == 1, s  # the loop really was all hits
    assert s.hits == s.calls - 1, s


if __name__ == "__main__":
    main()
