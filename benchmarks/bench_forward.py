"""Per-call cost of the hot-path forwarder on jax.jit cache hits.

Run: ``python benchmarks/bench_forward.py [--repeat 200] [--number 2000]``

All cases run in one process, interleaved (every repeat times each case once),
so drift on a shared machine hits every case alike. Reported: min and median ns
per call and the ratio to a bare ``jax.jit`` call on the same input (target: the
tracked call <= 1.10x). Every wrapper forwards to the *same* jitted object, so
all calls are hits.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jitmagic.ledger.forward import HAVE_C, Forwarder, PyForwarder


def _ignore_miss(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    raise AssertionError(f"unexpected cache miss in a hit benchmark: {args} {kwargs}")


def _no_replacement(exc: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    return None


def _closure(f: Callable[..., Any]) -> Callable[..., Any]:
    """What a Python-only tracker can do: count + miss check in a closure."""
    size = f._cache_size
    counter = itertools.count()

    def tracked(*args: Any, **kwargs: Any) -> Any:
        n = size()
        out = f(*args, **kwargs)
        next(counter)
        if size() != n:
            _ignore_miss(args, kwargs)
        return out

    return tracked


def _sampled(f: Callable[..., Any]) -> Any:
    """A C Forwarder whose hits are watched as a stale-static check leaves it: 1 in 1024."""
    fw = Forwarder(f, f._cache_size, _ignore_miss, _no_replacement, lambda a, k: None)
    fw.watch_hits(0, 1024)
    return fw


def _wrappers(f: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """Every forwarding flavour around the same jitted function."""

    class Tracked(Forwarder):  # what the lead's TrackedFunction looks like
        @property
        def stats(self) -> int:
            return self.calls

    cases: dict[str, Callable[..., Any]] = {"bare jax.jit": f}
    if HAVE_C:
        cases["C Forwarder"] = Forwarder(f, f._cache_size, _ignore_miss, _no_replacement)
        cases["Python subclass of C"] = Tracked(f, f._cache_size, _ignore_miss, _no_replacement)
        cases["C, hits sampled 1/1024"] = _sampled(f)
    cases["PyForwarder (fallback)"] = PyForwarder(f, f._cache_size, _ignore_miss, _no_replacement)
    cases["closure: forward only"] = lambda *a, **k: f(*a, **k)
    cases["closure: count + check"] = _closure(f)
    return cases


def _inputs() -> dict[str, tuple[Callable[..., Any], str, dict[str, Any]]]:
    """(jitted function, call statement, namespace) per input kind."""
    x = jnp.array(3.0)
    tree = {"a": jnp.ones(3), "b": jnp.zeros(2), "c": jnp.array(1.0)}
    return {
        "scalar  f(x)": (jax.jit(lambda x: x * 2), "fn(x)", {"x": x}),
        "static  f(x, k=2)": (
            jax.jit(lambda x, k: x * k, static_argnames="k"),
            "fn(x, k=2)",
            {"x": x},
        ),
        "pytree  f({a,b,c})": (
            jax.jit(lambda t: t["a"].sum() + t["b"].sum() + t["c"]),
            "fn(x)",
            {"x": tree},
        ),
    }


def _time(cases: dict[str, Callable[..., Any]], stmt: str, ns: dict[str, Any], args: Any) -> dict:
    """Interleaved timeit: ns per call, one sample per case per repeat."""
    timers = {}
    for name, fn in cases.items():
        env = {"_fn": fn, **{f"_{k}": v for k, v in ns.items()}}
        jax.block_until_ready(eval(stmt, {"fn": fn, **ns}))  # warm: compile once
        setup = "fn = _fn; " + "; ".join(f"{k} = _{k}" for k in ns)  # locals, not globals
        timers[name] = timeit.Timer(stmt, setup=setup, globals=env)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(args.number) / args.number * 1e9)
    return samples


def _report(title: str, samples: dict[str, list[float]]) -> None:
    base_min = min(samples["bare jax.jit"])
    base_med = statistics.median(samples["bare jax.jit"])
    print(f"\n{title}")
    print(f"  {'case':26s} {'min ns':>8s} {'median ns':>10s} {'x min':>6s} {'x med':>6s}")
    for name, values in samples.items():
        lo, med = min(values), statistics.median(values)
        print(f"  {name:26s} {lo:8.0f} {med:10.0f} {lo / base_min:6.3f} {med / base_med:6.3f}")


def main() -> None:
    """Time every case on every input and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, jax {jax.__version__}, C extension: {HAVE_C}")
    print(f"repeat={args.repeat} number={args.number} (cache hits, dispatch only)")
    for title, (f, stmt, ns) in _inputs().items():
        _report(title, _time(_wrappers(f), stmt, ns, args))


if __name__ == "__main__":
    main()
