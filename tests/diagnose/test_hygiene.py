"""Static-argument hygiene: churn warnings, unhashable statics, mutation, print, budgets."""

from __future__ import annotations

import dataclasses
import threading
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jitmagic.diagnose.budget import max_compiles, note_compile
from jitmagic.diagnose.churn import ChurnMonitor
from jitmagic.diagnose.explain import diagnose_error
from jitmagic.diagnose.hygiene import (
    check_mutated_after_call,
    check_static_hygiene,
    print_calls,
    static_fingerprints,
)
from jitmagic.errors import RecompileLimitError, RecompileWarning

# -- churn -------------------------------------------------------------------------------


def _feed(monitor: ChurnMonitor, calls: range, changed: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in calls:
            monitor.on_miss(i, changed(i), {"n": i + 1, "x": 3}, 0.25 * i, "step")
    return [w for w in caught if issubclass(w.category, RecompileWarning)]


def test_static_churn_is_said_early_at_the_second_change_and_once() -> None:
    monitor = ChurnMonitor()
    assert _feed(monitor, range(1, 2), lambda i: [("n", "static")]) == []  # one change
    caught = _feed(monitor, range(2, 40), lambda i: [("n", "static")])
    assert len(caught) == 1  # said at the second change, never again for `n`
    text = str(caught[0].message)
    assert "static argument `n` took a new value again (2 new values within 2 calls)" in text
    assert "0.50 s compiling so far" in text
    assert "Fix:" in text
    assert "`step`" in text


def test_three_compiles_in_thirty_calls_are_said_once() -> None:
    monitor = ChurnMonitor()
    changed = lambda i: [("n", "static")] if i % 15 == 0 else []  # noqa: E731
    caught = _feed(monitor, range(1, 100), changed)
    assert len(caught) == 1  # at call 30, the second change
    assert "again" in str(caught[0].message)


def test_rare_static_changes_do_not_warn() -> None:
    monitor = ChurnMonitor()
    changed = lambda i: [("n", "static")] if i % 40 == 0 else []  # noqa: E731
    assert _feed(monitor, range(1, 200), changed) == []


def test_shape_churn_needs_most_calls() -> None:
    half = ChurnMonitor()
    assert _feed(half, range(1, 100), lambda i: [("x", "shape")] if i % 2 else []) == []
    most = ChurnMonitor()
    caught = _feed(most, range(1, 100), lambda i: [("x", "shape")] if i % 4 else [])
    assert len(caught) == 1
    assert "shape of `x`" in str(caught[0].message)
    assert "bucketing" in str(caught[0].message)


def test_arguments_changing_together_are_one_warning() -> None:
    monitor = ChurnMonitor()
    churn = lambda i: [("a", "static"), ("b", "static"), ("c", "shape")]  # noqa: E731
    caught = _feed(monitor, range(1, 50), churn)
    assert len(caught) == 2
    assert monitor.warnings_issued == 2
    together = str(caught[0].message)
    assert "static `a` and `b` changed together again" in together
    assert "shape of `c`" in str(caught[1].message)


# -- unhashable statics (through the real JAX error) -------------------------------------


@dataclasses.dataclass
class Config:
    scale: float


@dataclasses.dataclass(frozen=True)
class FrozenConfig:
    scale: float


def scaled(x, cfg):
    return x * (cfg[0] if isinstance(cfg, (list, tuple)) else 2.0)


@pytest.mark.parametrize(
    ("value", "kind", "type_name"),
    [
        ([1.0, 2.0], "tuple", "list"),
        ({"a": 1.0}, "traced", "dict"),
        (np.ones(2), "traced", "numpy.ndarray"),
        (jnp.ones(2), "traced", "jax.Array"),
        (Config(2.0), "frozen_dataclass", "Config"),
    ],
    ids=["list", "dict", "ndarray", "jax.Array", "dataclass"],
)
def test_unhashable_static_is_named_with_its_type_and_fix(
    value: Any, kind: str, type_name: str
) -> None:
    x = jnp.ones(3)
    with pytest.raises(ValueError, match="Non-hashable static arguments") as info:
        jax.jit(scaled, static_argnames="cfg")(x, cfg=value)
    new = diagnose_error(
        info.value,
        fun=scaled,
        args=(x,),
        kwargs={"cfg": value},
        static_argnums=(),
        static_argnames=("cfg",),
        jit_kwargs={},
    )
    d = new.diagnosis
    assert isinstance(new, ValueError)
    assert str(new).startswith("jitmagic: static argument cfg cannot be hashed")
    assert d.culprits == ("cfg",)
    assert d.fix_kind == kind
    assert type_name in d.text
    if kind == "frozen_dataclass":
        assert "frozen=True" in d.fix
        jax.jit(scaled, static_argnames="cfg")(x, cfg=FrozenConfig(2.0))  # the fix works
    else:
        assert d.verified


# -- unstable or mutated statics ---------------------------------------------------------


class Shifty:
    """Hash changes on every call: a static that can never hit the cache."""

    def __init__(self) -> None:
        self.n = 0

    def __hash__(self) -> int:
        self.n += 1
        return self.n

    def __eq__(self, other: object) -> bool:
        return self is other


class Weights:
    """Hashes its (mutable) contents, as users do when they make a class "static"."""

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def __hash__(self) -> int:
        return hash(tuple(self.values))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Weights) and self.values == other.values


class Plain:
    def __init__(self) -> None:
        self.mode = "a"


def test_hash_eq_disagreement_is_reported() -> None:
    problems = check_static_hygiene(
        {"ok": (1, "a"), "shifty": Shifty(), "nan": float("nan"), "arr": (np.ones(2),)}
    )
    assert len(problems) == 2  # the tuple holding an array is unhashable: an error, not this
    shifty, nan = problems
    assert shifty.startswith("static argument `shifty`")
    assert "hashes differently" in shifty
    assert nan.startswith("static argument `nan`")
    assert "not equal to itself" in nan


def test_static_mutated_after_the_call_warns() -> None:
    weights, plain, const = Weights([1.0]), Plain(), 3
    before = static_fingerprints({"w": weights, "p": plain, "c": const})
    weights.values.append(2.0)
    plain.mode = "b"
    after = static_fingerprints({"w": weights, "p": plain, "c": const})
    problems = check_mutated_after_call(before, after)
    assert len(problems) == 2
    assert "`w` was mutated" in problems[0]
    assert "`p` was mutated" in problems[1]
    assert check_mutated_after_call(after, static_fingerprints({"w": weights})) == []


# -- print in a body ---------------------------------------------------------------------


def noisy(x):
    print("tracing", x.shape)
    y = x * 2
    print(y)
    return y


def test_print_calls_are_found_by_line() -> None:
    first = noisy.__code__.co_firstlineno
    assert print_calls(noisy) == [first + 1, first + 3]
    assert print_calls(scaled) == []
    assert print_calls(len) == []  # no source: nothing, no error


# -- compile budget ----------------------------------------------------------------------


def test_max_compiles_raises_on_the_compile_past_the_limit() -> None:
    ledger = object()
    with max_compiles(2) as budget:
        note_compile(ledger)
        note_compile(ledger)
        with pytest.raises(RecompileLimitError, match=r"compile #3 .*max_compiles\(2\)") as info:
            note_compile(ledger, fun_name="step")
    assert info.value.ledger is ledger
    assert "`step`" in str(info.value)
    assert budget.count == 3
    note_compile(ledger)  # outside any budget: nothing happens


def test_nested_budgets_count_every_compile() -> None:
    with max_compiles(3) as outer:
        note_compile()
        with max_compiles(1) as inner:
            note_compile()
            with pytest.raises(RecompileLimitError, match=r"max_compiles\(1\)"):
                note_compile()
        assert (outer.count, inner.count) == (3, 2)
        with pytest.raises(RecompileLimitError, match=r"compile #4 .*max_compiles\(3\)"):
            note_compile()


def test_budget_counts_compiles_from_other_threads() -> None:
    with max_compiles(100) as budget:
        threads = [
            threading.Thread(target=lambda: [note_compile() for _ in range(20)]) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert budget.count == 80


def test_recompile_limit_error_pickles_without_ledger_loss() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(RecompileLimitError("too many", ledger=["entry"])))
    assert str(err) == "too many"
    assert err.ledger == ["entry"]


# -- through the tracked jit (the lead's miss path calls these hooks) --------------------


def test_max_compiles_with_a_real_tracked_function() -> None:
    import jitmagic

    f = jitmagic.jit(lambda x, n: x * n, static_argnames="n")
    x = jnp.ones(2)
    with max_compiles(2) as budget:
        for n in range(2):
            f(x, n)
            f(x, n)  # hits are free
        with pytest.raises(RecompileLimitError, match=r"compile #3 .*max_compiles\(2\)") as info:
            f(x, 2)
    assert budget.count == 3
    assert info.value.ledger is f


def test_churn_warning_from_a_real_tracked_function() -> None:
    import jitmagic

    f = jitmagic.jit(lambda x, n: x * n, static_argnames="n")
    x = jnp.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(30):
            f(x, float(n))
    churn = [w for w in caught if issubclass(w.category, RecompileWarning)]
    assert len(churn) == 1
    assert "static argument `n`" in str(churn[0].message)


def test_max_compiles_decorator_is_reentrant_and_per_call():
    import jax.numpy as jnp

    import jitmagic

    budget = jitmagic.max_compiles(1)

    @budget
    def outer(depth):
        f = jitmagic.jit(lambda x: x + depth)
        f(jnp.ones(depth + 1))
        if depth:
            outer(depth - 1)  # the nested call opens its own budget on the same instance

    with pytest.raises(jitmagic.RecompileLimitError):
        outer(1)  # two compiles under the outer budget of 1
    assert budget.budget is None  # every block was closed, innermost first



class Running:
    """A method storing an intermediate on `self` inside the trace."""

    def __init__(self) -> None:
        self.last = None

    def step(self, x):
        self.last = x * 2
        return x + 1


def test_a_tracer_stored_on_self_is_named_with_its_line() -> None:
    import jitmagic
    from jitmagic.errors import SideEffectWarning

    obj = Running()
    with pytest.warns(SideEffectWarning) as seen:
        jitmagic.jit(obj.step)(jnp.ones(2))
    text = str(seen[0].message)
    line = Running.step.__code__.co_firstlineno + 1
    assert f"an attribute of `self` on line {line}" in text
    assert "runs once, at trace time" in text
