"""What the compile watch costs: on a cache hit, and on a compile, watch on vs off.

Usage: python benchmarks/bench_watch.py [--repeat 60] [--number 2000] [--compiles 40] [--big 8]

All in one process, interleaved (off, on, off, on, ...) so machine noise hits both alike,
reported as ratios:

(a) an untracked `jax.jit` cache hit (dispatch only, as in a Python loop of small
    jitted calls), with a `jitmagic.watch()` active vs none (goal <= 1.01x);
(b) a small function's first call (trace + lower + compile + run), watch on vs off,
    and the time spent inside the watch's listener itself, as a share of the
    compile's trace+lower+compile seconds (goal <= 5 %);
(c) the same for a function of a 500-leaf params pytree.

Each compile in (b)/(c) is of a fresh function object of its own code (a new closure),
so every call really compiles; `RecompileWarning`s are silenced.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import jitmagic
from jitmagic.errors import RecompileWarning
from jitmagic.watcher import listen


def hit_case(repeat: int, number: int) -> tuple[list[float], list[float]]:
    """ns per untracked hit, watch off and on, interleaved."""
    f = jax.jit(lambda x: x * 2)
    x = jnp.array(3.0)
    f(x)
    timer = timeit.Timer(lambda: f(x))
    w = jitmagic.Watch()
    off, on = [], []
    for i in range(repeat):
        for watching in ((False, True) if i % 2 else (True, False)):  # alternate the order
            if watching:
                w.start()
            (on if watching else off).append(timer.timeit(number) / number * 1e9)
            w.stop()
    assert w.count == 0, "a hit was recorded: the benchmark did not measure hits"
    return off, on


def small() -> Callable[..., Any]:
    def step(x, y):
        return jnp.tanh(x @ y).sum() + (x * 2.0).mean()
    return step


def big() -> Callable[..., Any]:
    def loss(params, batch):
        return sum((batch * leaf).sum() for leaf in jax.tree_util.tree_leaves(params))
    return loss


class ListenerClock:
    """Seconds spent inside the watch's `jax.monitoring` listener (wrapped while installed)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.inner = listen._on_duration

    def __call__(self, event: str, duration_secs: float, **kwargs: Any) -> None:
        start = time.perf_counter()
        self.inner(event, duration_secs, **kwargs)
        self.seconds += time.perf_counter() - start


def compile_case(make: Callable[[], Callable[..., Any]], args: tuple,
                 repeat: int) -> dict[str, float]:
    """One fresh compile per sample, watch off and on interleaved."""
    clock = ListenerClock()
    listen._on_duration = clock  # type: ignore[assignment]  # `listen.add` registers it
    off, on, recorded, listener = [], [], [], []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            jax.block_until_ready(jax.jit(make())(*args))
            off.append(time.perf_counter() - start)
            before = clock.seconds
            with jitmagic.watch() as w:
                start = time.perf_counter()
                jax.block_until_ready(jax.jit(make())(*args))
                on.append(time.perf_counter() - start)
            mine = [r for r in w.compiles if not r.internal]
            assert len(mine) == 1, mine
            recorded.append(mine[0].trace_s + mine[0].lower_s + mine[0].compile_s)
            listener.append(clock.seconds - before)
    finally:
        listen._on_duration = clock.inner  # type: ignore[method-assign]
    return {"off": statistics.median(off), "on": statistics.median(on),
            "off_min": min(off), "on_min": min(on),
            "compile": statistics.median(recorded), "listener": statistics.median(listener)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=60)
    ap.add_argument("--number", type=int, default=2000)
    ap.add_argument("--compiles", type=int, default=40)
    ap.add_argument("--big", type=int, default=8)
    a = ap.parse_args()
    warnings.simplefilter("ignore", RecompileWarning)
    print(f"jax {jax.__version__}")
    off, on = hit_case(a.repeat, a.number)
    print("\n(a) untracked jax.jit hit")
    print("| watch off min / median ns | watch on min / median ns | ratio (min) | ratio (median) |")
    print("|---|---|---|---|")
    print(f"| {min(off):.0f} / {statistics.median(off):.0f} | {min(on):.0f} / "
          f"{statistics.median(on):.0f} | {min(on) / min(off):.3f} | "
          f"{statistics.median(on) / statistics.median(off):.3f} |")
    x, y = jnp.ones((16, 16)), jnp.ones((16, 16))
    params = {f"layer{i}": {"w": jnp.ones(4) * i} for i in range(500)}
    print("\n(b, c) a compile, watch off vs on (medians)")
    print("| case | samples | first call off ms | on ms | ratio (median / min) | "
          "trace+lower+compile ms | in the listener ms | listener share |")
    print("|---|---|---|---|---|---|---|---|")
    for name, make, args, n in (("small function", small, (x, y), a.compiles),
                                ("500-leaf params pytree", big, (params, jnp.ones(4)), a.big)):
        jax.block_until_ready(jax.jit(make())(*args))  # warm JAX's own Python paths
        r = compile_case(make, args, n)
        print(f"| {name} | {n} | {r['off'] * 1e3:.1f} | {r['on'] * 1e3:.1f} | "
              f"{r['on'] / r['off']:.3f} / {r['on_min'] / r['off_min']:.3f} | "
              f"{r['compile'] * 1e3:.1f} | {r['listener'] * 1e3:.2f} | "
              f"{r['listener'] / r['compile'] * 100:.1f} % |")


if __name__ == "__main__":
    main()
