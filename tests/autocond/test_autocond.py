# ruff: noqa: SIM108  -- the if-statements under test are the point
"""`--autocond`: Python `if` on traced values becomes `lax.cond`, checked against hand-written
`lax.cond`/`jnp.where` versions under jit, grad and vmap."""

from __future__ import annotations

import ast
import inspect
import linecache
import re
import textwrap
import traceback

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jitmagic.autocond import AutocondError, autocond, rewrite_module, rewrite_source

GRID = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]


def conditional_double(x, threshold):
    if x > threshold:
        return x * 2
    else:
        return x


def _line(fun, text: str) -> int:
    """File line number of the first line of `fun` containing `text`."""
    lines, first = inspect.getsourcelines(fun)
    return first + next(i for i, line in enumerate(lines) if text in line)


def _has_cond(fun, *args, **kwargs) -> bool:
    jaxpr = jax.make_jaxpr(fun, **kwargs)(*args)
    return any(eqn.primitive.name == "cond" for eqn in jaxpr.eqns)


# ------------------------------------------------------------------ the tutorial


def test_tutorial_static_threshold():
    f = jax.jit(autocond(conditional_double), static_argnames="threshold")
    assert float(f(5.0, threshold=0.0)) == 10.0
    assert float(f(-2.0, threshold=0.0)) == -2.0


def test_tutorial_traced_threshold():
    f = jax.jit(autocond(conditional_double))
    assert float(f(5.0, 0.0)) == 10.0
    assert float(f(-2.0, 0.0)) == -2.0


def test_tutorial_plain_jit_still_fails():
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(conditional_double, static_argnames="threshold")(5.0, threshold=0.0)


def test_tutorial_matches_hand_written_cond_on_grid():
    f = jax.jit(autocond(conditional_double))
    ref = jax.jit(lambda x, t: lax.cond(x > t, lambda: x * 2, lambda: x))
    for x in GRID:
        for t in [-1.0, 0.0, 0.5]:  # includes x == t: the false branch
            assert float(f(x, t)) == float(ref(x, t)) == conditional_double(x, t)


def test_wrapper_keeps_identity_and_shows_source():
    g = autocond(conditional_double)
    assert g.__name__ == "conditional_double"
    assert g.__wrapped__ is conditional_double
    assert inspect.signature(g) == inspect.signature(conditional_double)
    assert "lax.cond" in g.__jitmagic_autocond_source__
    assert "_jm.cond(x > threshold" in g.__jitmagic_autocond_source__
    assert g.__code__.co_filename == conditional_double.__code__.co_filename


def test_grad_and_vmap_through_converted_branch():
    g = autocond(conditional_double)
    xs = jnp.array(GRID)
    np.testing.assert_array_equal(jax.vmap(g, (0, None))(xs, 0.0), jnp.where(xs > 0, xs * 2, xs))
    assert [float(jax.grad(g)(x, 0.0)) for x in (5.0, -2.0, 0.0)] == [2.0, 1.0, 1.0]
    assert float(jax.jit(jax.grad(g))(5.0, 0.0)) == 2.0


# ------------------------------------------------------------------ static branches stay pruned


def test_concrete_condition_prunes_branch():
    calls = []

    def f(x, mode):
        if mode == "double":
            calls.append("double")
            return x * 2
        calls.append("other")
        return x

    g = autocond(f)
    assert not _has_cond(g, 3.0, "double", static_argnums=1)
    assert calls == ["double"]
    assert float(jax.jit(g, static_argnames="mode")(3.0, mode="double")) == 6.0


def test_shape_condition_is_plain_python():
    def f(x):
        if x.shape[0] > 2:
            return x.sum()
        return x[0]

    g = autocond(f)
    assert not _has_cond(g, jnp.ones(3))
    assert float(jax.jit(g)(jnp.ones(3))) == 3.0
    assert float(jax.jit(g)(jnp.arange(2.0) + 5)) == 5.0


def test_traced_condition_runs_both_branches_once_each():
    calls = []

    def f(x):
        if x > 0:
            calls.append("true")
            y = x + 1
        else:
            calls.append("false")
            y = x - 1
        return y

    g = autocond(f)
    assert _has_cond(g, 1.0)
    assert sorted(calls) == ["false", "true"]


# ------------------------------------------------------------------ shapes of code


def elif_chain(x):
    if x > 1:
        r = 1.0
    elif x < -1:
        r = -1.0
    else:
        r = x
    return r * 3


def test_elif_chain_matches_clip():
    f = jax.jit(autocond(elif_chain))
    for x in GRID:
        assert float(f(x)) == float(jnp.clip(x, -1, 1) * 3) == elif_chain(x)


def assignments(x, y):
    z = x
    if x > 0:
        y = y + 1  # reads its own previous value
        w = x * 2
        z = w
    else:
        w = -x  # z, y keep their previous values
    return y + w + z


def test_assignment_branches_match_where():
    f = jax.jit(autocond(assignments))

    def ref(x, y):
        return jnp.where(x > 0, (y + 1) + 2 * x + 2 * x, y - x + x)

    for x in GRID:
        for y in (0.0, 2.5):
            assert float(f(x, y)) == pytest.approx(float(ref(x, y)))
            assert float(f(x, y)) == pytest.approx(assignments(x, y))


def test_return_in_one_branch_then_fallthrough_and_bool_ops():
    def f(x, y):
        if x > 0 and y < 1:
            return x
        x = x + 1
        if not x > 5 or y == 2:
            return x * 10
        return x

    g = jax.jit(autocond(f))
    for x in [*GRID, 7.0]:
        for y in (0.0, 2.0, 3.0):
            assert float(g(x, y)) == f(x, y)


def test_chained_comparison_on_tracers():
    def f(x):
        if -1 < x <= 1:
            return x
        return 0.0 * x

    g = jax.jit(autocond(f))
    assert [float(g(x)) for x in GRID] == [f(x) for x in GRID]


def test_conditional_expression_matches_where_with_grad_and_vmap():
    def f(x):
        return x * 2 if x > 0 else -x

    g = autocond(f)
    xs = jnp.array(GRID)
    np.testing.assert_array_equal(jax.vmap(g)(xs), jnp.where(xs > 0, 2 * xs, -xs))
    np.testing.assert_array_equal(jax.vmap(jax.grad(g))(xs), jnp.where(xs > 0, 2.0, -1.0))
    assert float(jax.jit(g)(3.0)) == 6.0


def test_nested_ifs_and_pytree_values():
    def f(x, p):
        if x > 0:
            if x > 2:
                out = {"a": p["a"] * 2, "b": p["b"]}
            else:
                out = {"a": p["a"], "b": p["b"] + x}
        else:
            out = p
        return out

    g = jax.jit(autocond(f))
    p = {"a": jnp.arange(3.0), "b": jnp.float32(1.0)}
    for x in (-1.0, 1.0, 3.0):
        got, want = g(x, p), f(x, p)
        np.testing.assert_allclose(got["a"], want["a"])
        assert float(got["b"]) == float(want["b"])


def test_closure_and_nested_function():
    def make(scale):
        def f(x):
            def inner(v):
                return v * scale if v > 0 else v

            if x > 1:
                return inner(x) + 1
            return inner(x)

        return f

    g = jax.jit(autocond(make(3.0)))
    assert [float(g(x)) for x in (-1.0, 0.5, 2.0)] == [-1.0, 1.5, 7.0]


def test_decorator_in_source_is_not_reapplied():
    calls = []

    def deco(fun):
        calls.append(fun)
        return fun

    @deco
    def f(x, k=2.0, *, m=1.0):
        if x > 0:
            return x * k * m
        return x

    g = autocond(f)
    assert len(calls) == 1
    assert g.__defaults__ == (2.0,)
    assert g.__kwdefaults__ == {"m": 1.0}
    assert float(jax.jit(g)(2.0, m=3.0)) == 12.0


def test_source_from_linecache_like_ipython():
    filename = "<ipython-input-7-autocond>"
    source = "def h(x):\n    if x > 0:\n        y = x\n    else:\n        y = -x\n    return y\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns: dict = {}
    exec(compile(source, filename, "exec"), ns)
    g = autocond(ns["h"])
    assert [float(jax.jit(g)(x)) for x in (-2.0, 3.0)] == [2.0, 3.0]


def test_traceback_points_at_user_line():
    def f(x):
        if x > 0:
            y = x / 0
        else:
            y = {}["missing"]
        return y

    g = autocond(f)
    with pytest.raises(KeyError) as info:
        g(-1.0)  # concrete: plain Python; the frame is the user's line
    frame = traceback.extract_tb(info.tb)[-1]
    assert frame.lineno == _line(f, '{}["missing"]')
    assert frame.filename == __file__


# ------------------------------------------------------------------ unsupported -> AutocondError


def _undefined(x):
    if x > 0:
        y = x
    return y


def _breaks(x):
    for i in range(3):
        if x > i:
            break
    return x


def _while(x):
    while x < 10:
        x = x * 2
    return x


def _while_break(x):
    while x < 10:
        x = x * 2
        if x > 5:
            break
    return x


def _mismatch(x):
    if x > 0:
        y = jnp.ones(3)
    else:
        y = jnp.ones(2)
    return y


def _non_array(x):
    if x > 0:
        mode = "up"
    else:
        mode = "down"
    return x, mode


def _generator(x):
    if x > 0:
        yield x


def _vector_pred(x):
    if x > 0:
        return x
    return -x


@pytest.mark.parametrize(
    ("fun", "line_text", "message", "arg"),
    [
        (_undefined, "if x > 0", "`y` is assigned in only one branch", 1.0),
        (_breaks, "if x > i", "`break`", 1.0),
        (_while_break, "while x < 10", "lax.while_loop", 1.0),
        (_mismatch, "if x > 0", "different types or shapes", 1.0),
        (_non_array, "if x > 0", "gives `mode` a str", 1.0),
        (_vector_pred, "if x > 0", "shape (3,)", jnp.ones(3)),
    ],
)
def test_unsupported_raises_naming_line(fun, line_text, message, arg):
    with pytest.raises(AutocondError, match=re.escape(message)) as info:
        jax.jit(autocond(fun))(arg)
    assert info.value.line == _line(fun, line_text)
    assert f"line {info.value.line}:" in str(info.value)


def test_unsupported_code_still_runs_when_condition_is_concrete():
    assert autocond(_breaks)(1.0) == 1.0
    assert autocond(_while)(1.0) == 16.0
    assert float(jax.jit(autocond(_while))(1.0)) == 16.0  # traced: a lax.while_loop now
    assert autocond(_while_break)(1.0) == 8.0
    assert autocond(_undefined)(1.0) == 1.0
    with pytest.raises(UnboundLocalError):
        autocond(_undefined)(-1.0)  # exactly Python's own behaviour


def test_yield_in_branch_is_reported():
    source = autocond(_generator).__jitmagic_autocond_source__
    assert "_jm.static_only(x > 0" in source
    assert "`yield`" in source


def test_autocond_rejects_lambdas_and_jitted():
    with pytest.raises(AutocondError, match="def"):
        autocond(lambda x: x)
    with pytest.raises(AutocondError, match=r"before jax\.jit"):
        autocond(jax.jit(conditional_double))


def test_autocond_error_is_value_error():
    assert issubclass(AutocondError, ValueError)


# ------------------------------------------------------------------ rewrite_source


def test_rewrite_source_of_def_is_valid_python():
    out = rewrite_source(inspect.getsource(conditional_double))
    assert "lax.cond" in out
    assert "def _true_" in out
    assert "def _false_" in out
    ns: dict = {}
    exec(compile(out, "<rewritten>", "exec"), ns)
    f = jax.jit(ns["conditional_double"], static_argnames="threshold")
    assert float(f(5.0, threshold=0.0)) == 10.0


def test_rewrite_source_without_ifs_is_unchanged():
    assert rewrite_source("y = x + 1\ny\n") == "y = x + 1\ny\n"


CELL = """\
y = x * 2 if x > 0 else -x
if y > 3:
    z = y - 3
else:
    z = y
_tmp = z * 0
z + _tmp
"""


def test_rewrite_cell_body_with_trailing_expression():
    out = rewrite_source(CELL, known={"x"})
    assert "_jm.cond(x > 0, lambda: x * 2, lambda: -x)" in out
    assert out.rstrip().endswith("z + _tmp")
    body = textwrap.indent(out, "    ")
    ns: dict = {}
    exec(compile(f"def cell(x):\n{body}    return z, _tmp\n", "<cell>", "exec"), ns)
    for x in GRID:
        y = x * 2 if x > 0 else -x
        want = y - 3 if y > 3 else y
        z, _ = jax.jit(ns["cell"])(x)
        assert float(z) == want
    concrete: dict = {"x": 4.0}
    exec(compile(out, "<cell>", "exec"), concrete)  # module level, plain Python
    assert concrete["z"] == 5.0
    assert "_true_2" in concrete  # branch functions are cell-local names


def test_rewrite_source_syntax_error():
    with pytest.raises(AutocondError, match="line 1"):
        rewrite_source("if x >:\n    pass\n")


def test_rewrite_module_keeps_cell_line_numbers():
    cell = "y = x * 2\nif y > 3:\n    z = y / undefined_name\nelse:\n    z = y\n"
    tree, changed = rewrite_module(ast.parse(cell), known={"x"})
    assert changed
    assert "lookup" not in ast.unparse(tree)  # x is known, z is assigned in both branches
    with pytest.raises(NameError) as info:
        exec(compile(tree, "<cell>", "exec"), {"x": 2.0})
    assert traceback.extract_tb(info.tb)[-1].lineno == 3
