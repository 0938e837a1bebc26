# ruff: noqa: SIM108  -- the if-statements under test are the point
"""`--autocond` loops: `while` on a traced condition becomes `lax.while_loop`, `for i in
range(traced)` becomes `lax.fori_loop`; checked against hand-written lax versions under jit,
vmap and differentiation, and concrete loops must still unroll."""

from __future__ import annotations

import inspect
import re
import textwrap
import traceback

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jitmagic.autocond import AutocondError, autocond, rewrite_source

XS = [0.1, 0.5, 1.0, 3.0, 9.9, 10.0, 12.0]
NS = [0, 1, 2, 5]


def _line(fun, text: str) -> int:
    lines, first = inspect.getsourcelines(fun)
    return first + next(i for i, line in enumerate(lines) if text in line)


def _primitives(fun, *args, **kwargs) -> set[str]:
    jaxpr = jax.make_jaxpr(fun, **kwargs)(*args)
    return {eqn.primitive.name for eqn in jaxpr.eqns}


def doubling(x):
    i = 0
    while x < 10:
        x = x * 2
        i = i + 1
    return x, i


def doubling_ref(x):
    return lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] * 2, c[1] + 1), (x, 0))


def power_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + x**i
    return s


def power_sum_ref(x, n):
    return lax.fori_loop(0, n, lambda i, s: s + x**i, 0.0)


def stepped(x, a, b):
    acc = x
    for k in range(a, b, 3):
        if acc > 5:  # a converted `if` inside a converted loop
            acc = acc - k
        else:
            acc = acc + k
    return acc


def stepped_ref(x, a, b):
    def body(j, acc):
        k = a + 3 * j
        return jnp.where(acc > 5, acc - k, acc + k)

    return lax.fori_loop(0, jnp.maximum(0, (b - a + 2) // 3), body, x)


# ------------------------------------------------------------------ values against lax


def test_while_matches_hand_written_while_loop():
    f, ref = jax.jit(autocond(doubling)), jax.jit(doubling_ref)
    for x in XS:
        got, want = f(x), ref(x)
        assert (float(got[0]), int(got[1])) == (float(want[0]), int(want[1]))
        assert (float(got[0]), int(got[1])) == pytest.approx(doubling(x))


def test_fori_matches_hand_written_fori_loop():
    f, ref = jax.jit(autocond(power_sum)), jax.jit(power_sum_ref)
    for n in NS:
        for x in (-1.5, 0.5, 2.0):
            assert float(f(x, n)) == pytest.approx(float(ref(x, n)))
            assert float(f(x, n)) == pytest.approx(power_sum(x, n))


def test_range_with_start_and_step_matches():
    f, ref = jax.jit(autocond(stepped)), jax.jit(stepped_ref)
    for a, b in [(0, 10), (1, 9), (4, 4), (7, 2), (-5, 6)]:
        for x in (0.0, 6.0):
            assert float(f(x, a, b)) == float(ref(x, a, b)) == stepped(x, a, b)


def test_negative_step():
    def count_down(x, n):
        for i in range(n, 0, -2):
            x = x * 2 + i
        return x

    f = jax.jit(autocond(count_down))
    assert [float(f(1.0, n)) for n in range(-1, 6)] == [count_down(1.0, n) for n in range(-1, 6)]


def test_nested_loops_with_traced_bounds():
    def table(x, n, m):
        for i in range(n):
            for j in range(m):
                x = x + i * j
        return x

    f = jax.jit(autocond(table))
    for n, m in [(0, 3), (3, 4), (4, 1)]:
        assert float(f(0.0, n, m)) == table(0.0, n, m)
    assert "while" in _primitives(autocond(table), 0.0, 3, 4)


def test_condition_that_becomes_traced_mid_loop():
    def mixed(x, y):
        i = 0
        while i < 3 or x < y:
            x = x + 1.0
            i = i + 1
        return x, i

    eqns = jax.make_jaxpr(autocond(mixed))(0.0, 10.0).eqns
    assert [e.primitive.name for e in eqns].count("add") >= 3  # three Python iterations first
    assert eqns[-1].primitive.name == "while"
    for y in (-1.0, 2.0, 10.0):
        x, i = jax.jit(autocond(mixed))(0.0, y)
        assert (float(x), int(i)) == mixed(0.0, y)


def test_pytree_carry_and_loop_else():
    def walk(p, n):
        for _ in range(n):
            p = {"pos": p["pos"] + p["vel"], "vel": p["vel"] * 0.5}
        else:
            p = {"pos": p["pos"], "vel": -p["vel"]}
        return p

    p = {"pos": jnp.zeros(2), "vel": jnp.array([1.0, -2.0])}
    for n in (0, 3):
        got, want = jax.jit(autocond(walk))(p, n), walk(p, n)
        for key in ("pos", "vel"):
            np.testing.assert_allclose(got[key], want[key])


def test_loop_variable_used_after_the_loop():
    def last(x, n):
        i = -1
        for i in range(n):
            x = x + i
        return x, i

    f = jax.jit(autocond(last))
    for n in (0, 1, 4):
        x, i = f(0.0, n)
        assert (float(x), int(i)) == last(0.0, n)


# ------------------------------------------------------------------ vmap and differentiation


def test_vmap_over_the_condition_and_the_bound():
    xs = jnp.array(XS)
    got, want = jax.vmap(autocond(doubling))(xs), jax.vmap(doubling_ref)(xs)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    ns = jnp.array(NS)
    np.testing.assert_allclose(jax.vmap(autocond(power_sum), (None, 0))(2.0, ns),
                               jax.vmap(power_sum_ref, (None, 0))(2.0, ns))


def test_grad_with_static_trip_count_matches_fori_loop():
    f = jax.jit(jax.grad(autocond(power_sum)), static_argnums=1)
    ref = jax.jit(jax.grad(power_sum_ref), static_argnums=1)  # static fori_loop: a scan
    for n in NS:
        for x in (-1.5, 0.5, 2.0):
            assert float(f(x, n)) == pytest.approx(float(ref(x, n)))


def test_forward_mode_through_traced_loops():
    f = jax.jit(autocond(power_sum))
    for n in NS:
        got = jax.jvp(lambda x, n=n: f(x, n), (2.0,), (1.0,))
        want = jax.jvp(lambda x, n=n: power_sum_ref(x, n), (2.0,), (1.0,))
        assert (float(got[0]), float(got[1])) == pytest.approx((float(want[0]), float(want[1])))
    got = jax.jvp(lambda x: jax.jit(autocond(doubling))(x)[0], (3.0,), (1.0,))
    assert (float(got[0]), float(got[1])) == (12.0, 4.0)


def test_reverse_mode_through_traced_loop_fails_as_lax_does():
    for fun in (autocond(power_sum), power_sum_ref):
        with pytest.raises(ValueError, match="Reverse-mode differentiation"):
            jax.grad(jax.jit(fun))(2.0, 3)


# ------------------------------------------------------------------ concrete loops still unroll


def test_concrete_loops_unroll():
    def countdown(x, n):
        while n > 0:
            x = x * 2
            n = n - 1
        return x

    assert _primitives(autocond(countdown), 1.0, 3, static_argnums=1) == {"mul"}
    assert "while" not in _primitives(autocond(power_sum), 2.0, 4, static_argnums=1)
    assert float(jax.jit(autocond(countdown), static_argnums=1)(1.0, 3)) == 8.0
    assert autocond(doubling)(3.0) == (12.0, 2)  # no jit: plain Python values


def test_concrete_zero_trip_loop_leaves_names_unbound_like_python():
    def only_inside(x, n):
        for i in range(n):
            y = x + i
        return y

    assert autocond(only_inside)(1.0, 2) == 2.0
    with pytest.raises(UnboundLocalError):
        autocond(only_inside)(1.0, 0)


def test_user_errors_in_the_body_pass_through():
    def bad(x, n):
        for _ in range(n):
            x = x + None
        return x

    with pytest.raises(TypeError, match="unsupported operand"):
        jax.jit(autocond(bad))(1.0, 2)

    def missing(x):
        while x < 10:
            x = {}["nope"]
        return x

    with pytest.raises(KeyError) as info:
        autocond(missing)(1.0)
    assert traceback.extract_tb(info.tb)[-1].lineno == _line(missing, '{}["nope"]')


# ------------------------------------------------------------------ unsupported -> AutocondError


def _carried_undefined(x):
    while x < 10:
        y = x
        x = x * 2
    return y


def _carry_changes_shape(x):
    v = jnp.ones(1)
    while v.sum() < x:
        v = jnp.concatenate([v, v])
    return v


def _carry_str(x, n):
    mode = "a"
    for _ in range(n):
        mode = mode + "b"
    return x, mode


def _for_break(x, n):
    for i in range(n):
        x = x + i
        if i > 2:
            break
    return x


def _for_continue(x, n):
    for i in range(n):
        if i == 1:
            continue
        x = x + i
    return x


def _for_return(x, n):
    for i in range(n):
        x = x + i
        if i > 2:
            return x
    return -x


def _traced_step(x, n):
    for i in range(0, 10, n):
        x = x + i
    return x


def _float_bound(x, n):
    for i in range(x):
        n = n + i
    return n


def _vector_while(x, n):
    while x < n:
        x = x + 1
    return x


@pytest.mark.parametrize(
    ("fun", "line_text", "message", "args"),
    [
        (_carried_undefined, "while x < 10", "`y` is carried by this loop", (1.0,)),
        (_carry_changes_shape, "while v.sum()", "changes the type or shape of `v`", (3.0,)),
        (_carry_str, "for _ in range(n)", "carries `mode` as a str", (1.0, 3)),
        (_for_break, "for i in range(n)", "`break`", (1.0, 5)),
        (_for_continue, "for i in range(n)", "`continue`", (1.0, 5)),
        (_for_return, "for i in range(n)", "returns from inside", (1.0, 5)),
        (_traced_step, "for i in range(0, 10, n)", "step of range() is traced", (1.0, 2)),
        (_float_bound, "for i in range(x)", "integer scalars", (3.0, 0)),
        (_vector_while, "while x < n", "shape (3,)", (jnp.zeros(3), 2.0)),
    ],
)
def test_unsupported_loops_raise_naming_line(fun, line_text, message, args):
    with pytest.raises(AutocondError, match=re.escape(message)) as info:
        jax.jit(autocond(fun))(*args)
    assert info.value.line == _line(fun, line_text)
    assert f"line {info.value.line}:" in str(info.value)


def test_unsupported_loops_still_run_when_concrete():
    assert autocond(_for_break)(1.0, 5) == _for_break(1.0, 5)
    assert autocond(_for_continue)(1.0, 5) == _for_continue(1.0, 5)
    assert autocond(_for_return)(1.0, 5) == _for_return(1.0, 5)
    assert autocond(_carried_undefined)(1.0) == _carried_undefined(1.0)
    assert float(jax.jit(autocond(_for_break), static_argnums=1)(1.0, 5)) == 7.0


# ------------------------------------------------------------------ the source users read


def test_show_source_reads_like_hand_written_fori_loop():
    source = autocond(power_sum).__jitmagic_autocond_source__
    assert "jax.lax.while_loop / fori_loop" in source
    body = re.sub(r"_\d+\b", "_N", source[source.index("def power_sum"):])
    assert body == textwrap.dedent("""\
        def power_sum(x, n):
            s = 0.0

            def _for_body_N(i, s):
                s = s + x ** i
                return s
            s = _jm.fori_loop(0, n, _for_body_N, s)
            return s
        """)


def test_show_source_of_while_and_static_fallback():
    source = autocond(doubling).__jitmagic_autocond_source__
    assert "x, i = _jm.while_loop(_while_cond_" in source
    assert "return x < 10" in source
    fallback = autocond(_for_break).__jitmagic_autocond_source__
    assert "for i in _jm.static_range(n, reason=" in fallback


CELL = """\
total = x * 0
for i in range(n):
    total = total + x * i
steps = 0
while total > 1:
    total = total / 2
    steps = steps + 1
total
"""


def test_cell_with_loops():
    out = rewrite_source(CELL, known={"x", "n"})
    assert "_jm.fori_loop(0, n, _for_body_2" in out
    ns: dict = {}
    exec(compile(f"def cell(x, n):\n{textwrap.indent(out, '    ')}"
                 "    return total, steps, i\n", "<cell>", "exec"), ns)
    for n in (1, 4):
        total, steps, i = jax.jit(ns["cell"])(3.0, n)
        concrete: dict = {"x": 3.0, "n": n}
        exec(compile(out, "<cell>", "exec"), concrete)  # module level, plain Python
        assert (float(total), int(steps), int(i)) == (concrete["total"], concrete["steps"],
                                                      concrete["i"])
