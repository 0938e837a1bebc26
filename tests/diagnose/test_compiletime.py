"""Recompiles below the churn threshold, said once when compiling dominates the time."""

from __future__ import annotations

import time
import warnings

import jax.numpy as jnp
import pytest

import jitmagic
from jitmagic.errors import RecompileWarning


def norm(x):
    return jnp.sqrt((x * x).sum())


def _recompile_warnings(calls) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calls()
    return [str(w.message) for w in caught if issubclass(w.category, RecompileWarning)]


def test_three_compiles_in_five_calls_are_said_once_with_the_ledger_reason() -> None:
    f = jitmagic.jit(norm)
    sizes = [3, 3, 4, 4, 5, 5, 5, 6, 7]  # 3 compiles in the first 5 calls, more later
    xs = [jnp.ones(n) for n in sizes]  # made first: only the calls are in the loop
    said = _recompile_warnings(lambda: [f(x) for x in xs])
    assert len(said) == 1  # once, at the third compile (call 5), never again
    assert "`norm` spends most of its time compiling: 3 compiles in 5 calls" in said[0]
    assert "Why: x: f32[3] → f32[4]; x: f32[4] → f32[5]." in said[0]
    assert "Fix: pad `x` to a few fixed sizes (bucketing)" in said[0]
    assert f.entries[2].reason in said[0]  # the reason comes from the ledger


def test_three_compiles_in_thirty_calls_are_said() -> None:
    f = jitmagic.jit(norm)
    xs = [jnp.ones(n) for n in [3] * 14 + [4] * 15 + [5]]  # compiles at calls 1, 15 and 30
    said = _recompile_warnings(lambda: [f(x) for x in xs])
    assert len(said) == 1
    assert "3 compiles in 30 calls" in said[0]


def test_two_compiles_are_not_said() -> None:
    f = jitmagic.jit(norm)
    assert _recompile_warnings(lambda: [f(jnp.ones(n)) for n in (3, 4, 4, 4)]) == []


def test_silent_when_the_calls_cost_more_than_the_compiles() -> None:
    f = jitmagic.jit(norm)

    def slow_loop() -> None:
        for n in (3, 4, 5):
            f(jnp.ones(n))
            time.sleep(0.25)  # the caller's own work between calls (not a timing assertion)

    assert _recompile_warnings(slow_loop) == []


def test_not_said_again_when_churn_already_said_it() -> None:
    f = jitmagic.jit(lambda x, k: x * k, static_argnames="k")
    said = _recompile_warnings(lambda: [f(jnp.ones(2), k=k) for k in range(4)])
    assert len(said) == 1  # churn's early static warning; no second one for the same cause
    assert "took a new value again" in said[0]


def test_said_in_the_default_warning_filter_as_a_recompile_warning() -> None:
    f = jitmagic.jit(norm)
    x3, x4, x5 = (jnp.ones(n) for n in (3, 4, 5))
    for x in (x3, x3, x4):
        f(x)
    with pytest.warns(RecompileWarning, match="spends most of its time compiling") as rec:
        f(x5)
    assert rec[0].filename == __file__  # points at the user's call


def test_two_different_arguments_changing_once_each_are_not_said() -> None:
    f = jitmagic.jit(lambda x, k: x * k, static_argnames="k")
    x2, x3 = jnp.ones(2), jnp.ones(3)
    calls = [(x2, 1), (x2, 1), (x2, 2), (x2, 2), (x3, 2)]  # 3 compiles in 5 calls, 2 causes
    assert _recompile_warnings(lambda: [f(x, k=k) for x, k in calls]) == []


def test_all_miss_runs_are_left_to_the_churn_rule() -> None:
    f = jitmagic.jit(norm)
    xs = [jnp.ones(n) for n in (3, 4, 5)]  # a new shape on every call, no hit yet
    assert _recompile_warnings(lambda: [f(x) for x in xs]) == []


def test_magics_are_not_told_they_show_a_dashboard(ip) -> None:
    ip.run_cell("import jax.numpy as jnp\ndef norm(x):\n    return (x * x).sum()")
    ip.run_line_magic("jit", "norm --no-dashboard")
    ip.run_cell("xs = [jnp.ones(n) for n in (3, 3, 4, 5)]")
    said = _recompile_warnings(lambda: ip.run_cell("for x in xs: norm(x)").raise_error())
    assert said == []
    assert ip.user_ns["norm"].stats.misses == 3
