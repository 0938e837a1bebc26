"""Faulty jitted functions, each with its culprit, the fix kind, and (for rewrites) a fix.

Every ``Case`` fails under ``jax.jit(fun, static_argnames=static)`` in real JAX. ``fixed`` is
a hand-written corrected version for fixes the diagnosis cannot apply itself (jnp.where,
lax loops, jax.debug.print, jnp): it must run under jit and match ``fun`` run eagerly.
``LEGAL`` holds code that must trace as written (branching on shapes or static values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

X = jnp.arange(1.0, 6.0)  # [1, 2, 3, 4, 5]
ERR = jax.errors


@dataclass(frozen=True)
class Case:
    """One faulty call: ``jax.jit(fun, static_argnames=static)(*args, **kwargs)`` raises."""

    fun: Callable[..., Any]
    args: tuple[Any, ...]
    culprits: tuple[str, ...]
    fix_kind: str
    error: type[BaseException]
    kwargs: dict[str, Any] = field(default_factory=dict)
    static: tuple[str, ...] = ()
    fixed: Callable[..., Any] | None = None

    @property
    def id(self) -> str:
        return self.fun.__name__


# -- value controls structure: the fix is static -----------------------------------------


def sum_n_times(x, n):
    total = jnp.zeros_like(x)
    for _ in range(n):
        total = total + x
    return total


def zeros_of_size(x, n):
    return jnp.zeros(n) + x.sum()


def first_k(x, k):
    return x[:k]


def reshape_rows(x, rows):
    return x.reshape((rows, -1))


def arange_n(x, n):
    return jnp.arange(n) * x[0]


def grid(x, n, m):
    return jnp.ones((n, m)) * x.sum()


def pick_from_list(x, i):
    scales = [1.0, 2.0, 3.0]
    return x * scales[i]


def string_mode(x, mode):
    return x * 2 if mode == "double" else x


def bool_flag(x, negate):
    if negate:
        return -x
    return x


def while_counter(x, n):
    i = 0
    while i < n:
        x = x + 1
        i += 1
    return x


def int_of_scale(x, scale):
    return jnp.tile(x, int(scale))


def dynamic_size(x, k):
    return lax.dynamic_slice(x, (0,), (k,))


def range_of_array(x, n):
    for _ in range(n):
        x = x * 2
    return x


def keyword_only_size(x, *, size):
    return jnp.ones(size) * x.mean()


# -- value is data: the fix is a rewrite -------------------------------------------------


def conditional_double(x, threshold):
    if x > threshold:
        return x * 2
    else:
        return x


def conditional_double_fixed(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


def clip_assign(x, limit):
    if x.sum() > limit:  # noqa: SIM108 -- the if/else statement is the case under test
        y = x / x.sum() * limit
    else:
        y = x
    return y


def clip_assign_fixed(x, limit):
    return jnp.where(x.sum() > limit, x / x.sum() * limit, x)


def ternary_scale(x):
    return x * 2 if x.mean() > 2 else x * 3


def ternary_scale_fixed(x):
    return jnp.where(x.mean() > 2, x * 2, x * 3)


def double_until(x):
    while x.sum() < 100:
        x = x * 2
    return x


def double_until_fixed(x):
    return lax.while_loop(lambda c: c.sum() < 100, lambda c: c * 2, x)


def positive_sum(x):
    return jnp.sum(x[x > 2])


def positive_sum_fixed(x):
    return jnp.sum(jnp.where(x > 2, x, 0))


def log_mean(x):
    print(float(x.mean()))
    return x - x.mean()


def log_mean_fixed(x):
    jax.debug.print("{}", x.mean())
    return x - x.mean()


def scale_by_item(x):
    return x * x.max().item()


def scale_by_item_fixed(x):
    return x * x.max()


def numpy_sin(x):
    return np.sin(x) + 1


def numpy_sin_fixed(x):
    return jnp.sin(x) + 1


def data_loop(x):
    for _ in range(x.argmax()):
        x = x + 1
    return x


def data_loop_fixed(x):
    return lax.fori_loop(0, x.argmax(), lambda _, c: c + 1, x)


def data_slice(x):
    return x[x.argmin() :].sum()


def data_slice_fixed(x):
    return jnp.where(jnp.arange(x.shape[0]) >= x.argmin(), x, 0).sum()


def nonzero_indices(x, t):
    return jnp.nonzero(x > t)[0].sum()


def nonzero_indices_fixed(x, t):
    return jnp.nonzero(x > t, size=x.shape[0], fill_value=0)[0].sum()


CASES: list[Case] = [
    Case(sum_n_times, (X, 3), ("n",), "static", ERR.TracerIntegerConversionError),
    Case(zeros_of_size, (X, 4), ("n",), "static", TypeError),
    Case(first_k, (X, 2), ("k",), "static", IndexError),
    Case(reshape_rows, (jnp.arange(6.0), 2), ("rows",), "static", TypeError),
    Case(arange_n, (X, 4), ("n",), "static", ERR.ConcretizationTypeError),
    Case(grid, (X, 2, 3), ("n", "m"), "static", TypeError),
    Case(pick_from_list, (X, 1), ("i",), "static", ERR.TracerIntegerConversionError),
    Case(string_mode, (X,), ("mode",), "static", TypeError, kwargs={"mode": "double"}),
    Case(bool_flag, (X, True), ("negate",), "static", ERR.TracerBoolConversionError),
    Case(while_counter, (X, 3), ("n",), "static", ERR.TracerBoolConversionError),
    Case(int_of_scale, (X, 2), ("scale",), "static", ERR.ConcretizationTypeError),
    Case(dynamic_size, (X, 3), ("k",), "static", TypeError),
    Case(range_of_array, (X, jnp.array(3)), ("n",), "static", ERR.TracerIntegerConversionError),
    Case(keyword_only_size, (X,), ("size",), "static", TypeError, kwargs={"size": 3}),
    Case(
        conditional_double,
        (jnp.array(5.0), 0.0),
        ("x", "threshold"),
        "where",
        ERR.TracerBoolConversionError,
        fixed=conditional_double_fixed,
    ),
    Case(
        conditional_double,
        (jnp.array(5.0),),
        ("x",),
        "where",
        ERR.TracerBoolConversionError,
        kwargs={"threshold": 0.0},
        static=("threshold",),
        fixed=conditional_double_fixed,
    ),
    Case(
        clip_assign,
        (X, 6.0),
        ("x", "limit"),
        "where",
        ERR.TracerBoolConversionError,
        fixed=clip_assign_fixed,
    ),
    Case(
        ternary_scale,
        (X,),
        ("x",),
        "where",
        ERR.TracerBoolConversionError,
        fixed=ternary_scale_fixed,
    ),
    Case(
        double_until,
        (X,),
        ("x",),
        "while_loop",
        ERR.TracerBoolConversionError,
        fixed=double_until_fixed,
    ),
    Case(
        positive_sum,
        (X,),
        ("x",),
        "where",
        ERR.NonConcreteBooleanIndexError,
        fixed=positive_sum_fixed,
    ),
    Case(
        log_mean,
        (X,),
        ("x",),
        "debug_print",
        ERR.ConcretizationTypeError,
        fixed=log_mean_fixed,
    ),
    Case(
        scale_by_item,
        (X,),
        ("x",),
        "astype",
        ERR.ConcretizationTypeError,
        fixed=scale_by_item_fixed,
    ),
    Case(numpy_sin, (X,), ("x",), "jnp", ERR.TracerArrayConversionError, fixed=numpy_sin_fixed),
    Case(
        data_loop,
        (X,),
        ("x",),
        "fori_loop",
        ERR.TracerIntegerConversionError,
        fixed=data_loop_fixed,
    ),
    Case(data_slice, (X,), ("x",), "size", IndexError, fixed=data_slice_fixed),
    Case(
        nonzero_indices,
        (X, 2.0),
        ("x", "t"),
        "size",
        ERR.ConcretizationTypeError,
        fixed=nonzero_indices_fixed,
    ),
]


# -- legal code: must trace as written, nothing to diagnose ------------------------------


def branch_on_shape(x):
    if x.shape[0] > 3:
        return x[:3]
    return x


def loop_over_ndim(x):
    for _ in range(x.ndim):
        x = x + 1
    return x


def half_by_shape(x):
    return x[: x.shape[0] // 2]


def branch_on_static(x, mode):
    if mode == "double":
        return x * 2
    return x


def size_from_static(x, n):
    return jnp.zeros(n) + x.sum()


def where_instead_of_if(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


LEGAL: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], tuple[str, ...]]] = [
    (branch_on_shape, (X,), {}, ()),
    (loop_over_ndim, (X,), {}, ()),
    (half_by_shape, (X,), {}, ()),
    (branch_on_static, (X,), {"mode": "double"}, ("mode",)),
    (size_from_static, (X, 3), {}, ("n",)),
    (where_instead_of_if, (X, 2.0), {}, ()),
]
