"""A new `jitmagic.jit` per call is said once, with its line; distinct functions, cells
re-run and redefined functions are not (the state is weak and cleared by `events.reset`)."""

from __future__ import annotations

import gc
import inspect
import warnings
from collections.abc import Callable

import jax.numpy as jnp

import jitmagic
from jitmagic.diagnose import rebuilt
from jitmagic.errors import RecompileWarning
from jitmagic.ledger import events, registry


def step(x):
    return x * 3


def other(x):
    return x + 1


def _said(run: Callable[[], object]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [w for w in caught if issubclass(w.category, RecompileWarning)]


def test_a_new_jit_per_call_in_a_loop_is_said_once_with_its_line() -> None:
    x = jnp.ones(2)

    def loop() -> None:
        for _ in range(6):
            jitmagic.jit(step)(x)  # the mistake: a new tracked function every time
    line = inspect.getsourcelines(loop)[1] + 2
    said = _said(loop)
    assert len(said) == 1
    text = str(said[0].message)
    assert f"`step` gets a new jitmagic.jit at line {line} of {__file__}" in text
    assert "each new one compiles again" in text
    assert "Fix: build it once, outside the loop or function: `step_jit = jitmagic.jit(step)`" in (
        text)
    assert (said[0].filename, said[0].lineno) == (__file__, line)


def test_inside_a_function_called_repeatedly_with_options_in_the_fix() -> None:
    def apply(x, n):
        return jitmagic.jit(lambda_free, static_argnames="n")(x, n=n)

    said = _said(lambda: [apply(jnp.ones(2), 2) for _ in range(4)])
    assert len(said) == 1
    assert 'jitmagic.jit(lambda_free, static_argnames=("n",))' in str(said[0].message)


def lambda_free(x, n):
    return x * n


def test_two_distinct_functions_and_one_reused_jit_are_not_said() -> None:
    x = jnp.ones(2)
    once = jitmagic.jit(step)

    def run() -> None:
        for fun in (step, other):  # each wrapped once here
            jitmagic.jit(fun)(x)
        for _ in range(10):
            once(x)  # built once, called often: right
    assert _said(run) == []


def test_builds_that_never_compile_are_not_counted() -> None:
    assert _said(lambda: [jitmagic.jit(step) for _ in range(10)]) == []


def test_state_is_cleared_by_events_reset_and_held_weakly() -> None:
    x = jnp.ones(2)
    assert _said(lambda: [jitmagic.jit(step)(x) for _ in range(2)]) == []
    events.reset()  # what the autouse fixture does between tests
    assert _said(lambda: [jitmagic.jit(step)(x) for _ in range(2)]) == []  # 2, not 4

    site, code = compile("1", "<site>", "eval"), compile("2", "<code>", "eval")
    before = registry.build_count()
    assert registry.count_build(code, site, 1) == 1
    assert registry.count_build(code, site, 1) == 2
    assert registry.count_build(compile("2", "<code>", "eval"), site, 1) == 1  # equal, not it
    assert registry.build_count() == before + 1  # the equal copy is gone already
    del code
    gc.collect()
    assert registry.build_count() == before  # held weakly: the code died, its count with it


def test_re_running_a_cell_that_redefines_the_function_is_not_said(ip) -> None:
    cell = ("import jax.numpy as jnp, jitmagic\n"
            "def shift(x):\n    return x + 2\n"
            "shifted = jitmagic.jit(shift)(jnp.ones(2))\n")
    said = _said(lambda: [ip.run_cell(cell).raise_error() for _ in range(rebuilt.REBUILDS + 1)])
    assert said == []
    reuse = "again = jitmagic.jit(shift)(jnp.ones(2))\n"  # a re-run cell, same function
    said = _said(lambda: [ip.run_cell(reuse).raise_error() for _ in range(rebuilt.REBUILDS + 1)])
    assert said == []
    loop = "for _ in range(4):\n    jitmagic.jit(shift)(jnp.ones(2))\n"  # a loop in a cell
    said = _said(lambda: ip.run_cell(loop).raise_error())
    assert len(said) == 1
    assert "`shift` gets a new jitmagic.jit at line 2" in str(said[0].message)
