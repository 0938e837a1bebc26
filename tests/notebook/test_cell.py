"""Cells as functions, without IPython: free names, outputs, parameters, identity."""

from __future__ import annotations

import traceback

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jitmagic.notebook.cell import CellError, CellFunction, analyze_cell, is_traceable, plan_cell


def test_free_names_follow_execution_order():
    a = analyze_cell("x = x + 1\nfor i in range(n):\n    s = i\nz += 2\nw = [q * k for q in r]\n")
    assert a.free == ("x", "range", "n", "z", "k", "r")
    assert a.outputs == ("x", "i", "s", "z", "w")
    assert not a.has_last_expr


def test_nested_scopes_read_free_names_but_bind_their_own():
    a = analyze_cell("def g(a):\n    b = a * w\n    return b\nh = lambda t: t + v\ng(1)")
    assert a.free == ("w", "v")
    assert a.outputs == ("h",)  # `g` is a def, a cell-local helper
    assert a.has_last_expr


def test_private_names_and_imports_stay_local():
    a = analyze_cell("import numpy as onp\n_tmp = x\ny = onp.pi * _tmp\n")
    assert a.free == ("x",)
    assert a.outputs == ("y",)


@pytest.mark.parametrize(
    ("value", "traceable"),
    [(jnp.ones(2), True), (np.ones(2), True), (3, True), (2.5, True), ({"w": jnp.ones(1)}, True),
     ((1, 2.0), True), ("text", False), (np, False), (print, False), ([], False), (None, False)],
)
def test_which_values_become_parameters(value, traceable):
    assert is_traceable(value) is traceable


def test_plan_identity_is_content_addressed():
    ns = {"x": jnp.ones(3), "n": 2, "jnp": jnp}
    p1 = plan_cell("y = jnp.sin(x) * n", ns, ["n"])
    p2 = plan_cell("y = jnp.sin(x) * n", ns, ["n"])
    p3 = plan_cell("y = jnp.sin(x) * n", ns, [])
    assert p1.key == p2.key != p3.key
    assert (p1.traced, p1.static) == (("x",), ("n",))
    assert p3.traced == ("x", "n")


def test_cell_function_runs_under_jit_and_maps_lines():
    ns = {"x": jnp.arange(3.0), "k": 2, "jnp": jnp}
    source = "y = x * k\nz = y.sum()\nz + 1"
    fn = CellFunction(plan_cell(source, ns, ["k"]), ns, name="step")
    outputs, last = fn.run(ns)
    assert float(last) == 7.0
    assert float(outputs["z"]) == 6.0
    assert float(fn(ns["x"], k=3)) == 10.0
    assert fn.stats.misses == 2
    assert fn.entries[1].reason == "k: 2 → 3 (static)"
    assert fn.entries[0].out_names == ("y", "z", "Out")


def test_cell_tracebacks_point_at_cell_lines():
    ns = {"x": jnp.arange(3.0), "jnp": jnp}
    fn = CellFunction(plan_cell("y = x * 2\nif y.sum() > 0:\n    y = -y\n", ns), ns)
    with pytest.raises(jax.errors.TracerBoolConversionError) as info:
        fn.run(ns)
    original = info.value.__cause__ or info.value
    frames = [f for f in traceback.extract_tb(original.__traceback__)
              if f.filename.startswith("<jitcell-")]
    assert [(f.lineno, f.line) for f in frames] == [(2, "if y.sum() > 0:")]


def test_undefined_and_unknown_static_names():
    ns = {"x": jnp.ones(2)}
    with pytest.raises(CellError, match="'q' \\(cell line 2\\) is not defined"):
        plan_cell("y = x\nz = q", ns)
    with pytest.raises(CellError, match="Valid names: x"):
        plan_cell("y = x", ns, ["q"])


@pytest.mark.parametrize(
    ("source", "free"),
    [
        ("def outer(a):\n    def inner(b):\n        return b * 2\n    return inner(a)\n"
         "r = outer(x)", ("x",)),
        ("def f(a):\n    return tree_map(lambda t: t * a, q)\n", ("tree_map", "q")),
        ("try:\n    v = x\nexcept Exception as err:\n    v = err\n", ("x", "Exception")),
        ("def gg(a, b=k0):\n    return a * b\nr = gg(x)", ("k0", "x")),  # defaults are read now
        ("h = lambda t, s=k1: t * s\n", ("k1",)),
    ],
)
def test_nested_bindings_and_defaults(source, free):
    assert analyze_cell(source).free == free


class Mutable:
    lr = 0.1


def test_identity_hashed_objects_are_refused_unless_static():
    ns = {"x": jnp.ones(2), "cfg": Mutable()}
    with pytest.raises(CellError, match="hashed by identity"):
        plan_cell("y = x * cfg.lr", ns)
    assert plan_cell("y = x * cfg.lr", ns, ["cfg"]).static == ("cfg",)
    with pytest.raises(CellError, match="--static d: a dict is not hashable"):
        plan_cell("y = x * d['a']", {"x": jnp.ones(2), "d": {"a": 1.0, "b": "text"}}, ["d"])
