"""Runtime helpers of rewritten code for conditions (`_jm.cond`, `_jm.and_`, ...).

Each helper decides at *trace time*: a concrete value takes the plain Python path
(so static branches stay pruned), a tracer takes the `jax.lax` path. They are
re-exported by `jitmagic.autocond.api`, which rewritten code imports as `_jm`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jitmagic.arrays import is_array_leaf


class AutocondError(ValueError):
    """Code that `--autocond` cannot turn into `jax.lax` control flow; names the user's line."""

    def __init__(self, message: str, line: int | None = None, filename: str | None = None):
        where = f"{filename or '<autocond>'}, line {line}: " if line is not None else ""
        super().__init__(f"autocond: {where}{message}")
        self.line, self.filename = line, filename


class Undefined:
    """Stands for a name with no value yet; any real use of it fails like a NameError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"

    def _fail(self, *_: Any) -> Any:
        raise NameError(f"name {self.name!r} is not defined")

    __getattr__ = __bool__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = _fail
    __rmul__ = __truediv__ = __rtruediv__ = __getitem__ = __call__ = __iter__ = _fail
    __neg__ = __lt__ = __le__ = __gt__ = __ge__ = __array__ = __jax_array__ = _fail


def lookup(namespace: dict[str, Any], name: str) -> Any:
    """`name`'s current value, or `Undefined(name)` if it has none yet."""
    return namespace.get(name, Undefined(name))


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)


def traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def caller(depth: int = 2) -> tuple[int, str]:
    """Line and file of the rewritten user code that called a helper."""
    frame = sys._getframe(depth)
    return frame.f_lineno, frame.f_code.co_filename


def where(fn: Callable) -> tuple[int, str]:
    """The user's line of a generated function (it carries the `if`/loop's location)."""
    return fn.__code__.co_firstlineno, fn.__code__.co_filename


def static_only(pred: Any, reason: str) -> Any:
    """`pred` for a Python `if`/`while` that cannot become lax; AutocondError if traced."""
    if traced(pred):
        line, filename = caller()
        raise AutocondError(f"the condition is traced, but {reason}", line, filename)
    return pred


def not_(value: Any) -> Any:
    """`not value`, as `jnp.logical_not` when traced."""
    return jnp.logical_not(value) if traced(value) else not value


def and_(first: Any, *rest: Callable[[], Any]) -> Any:
    """`first and rest...` (thunks keep short-circuiting); `jnp.logical_and` once traced."""
    value = first
    for i, thunk in enumerate(rest):
        if traced(value):
            return _reduce(jnp.logical_and, value, rest[i:])
        if not value:
            return value
        value = thunk()
    return value


def or_(first: Any, *rest: Callable[[], Any]) -> Any:
    """`first or rest...`; `jnp.logical_or` once traced."""
    value = first
    for i, thunk in enumerate(rest):
        if traced(value):
            return _reduce(jnp.logical_or, value, rest[i:])
        if value:
            return value
        value = thunk()
    return value


def _reduce(op: Callable, value: Any, thunks: tuple[Callable[[], Any], ...]) -> Any:
    for thunk in thunks:
        value = op(value, thunk())
    return value


def scalar_pred(pred: Any, what: str, line: int, filename: str) -> jax.Array:
    """A traced condition as the `bool[]` lax needs; an array condition is an error."""
    pred = jnp.asarray(pred)
    if pred.shape != ():
        raise AutocondError(f"the condition is a traced array of shape {pred.shape}, but {what} "
                            "needs a single value; use jnp.where for an elementwise choice",
                            line, filename)
    return pred if pred.dtype == jnp.bool_ else pred != 0


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
    """`jax.lax.cond(pred, true_fn, false_fn, *operands)` if `pred` is traced, else Python `if`."""
    if not traced(pred):
        return true_fn(*operands) if pred else false_fn(*operands)
    line, filename = where(true_fn)
    pred = scalar_pred(pred, "an `if`", line, filename)
    failed: list[BaseException] = []

    def guard(fn: Callable) -> Callable[[], Any]:
        @functools.wraps(fn)  # JAX's messages then name the user's branch function
        def branch() -> Any:
            try:
                out = fn(*operands)
                _check_outputs(out, fn, line, filename)
            except BaseException as err:
                failed.append(err)
                raise
            return out

        return branch

    try:
        return jax.lax.cond(pred, guard(true_fn), guard(false_fn))
    except (TypeError, ValueError) as err:
        if failed:
            raise
        what = param_names(true_fn) or "the value"
        raise AutocondError(
            f"the two branches give {what} different types or shapes, which lax.cond cannot "
            f"join; make both branches produce the same structure, shape and dtype.\n{err}",
            line, filename) from err


def param_names(fn: Callable, skip: int = 0) -> str:
    """"`a`, `b`": the names a generated function takes (the values it carries)."""
    names = fn.__code__.co_varnames[skip: fn.__code__.co_argcount]
    return ", ".join(f"`{n}`" for n in names)


def _check_outputs(out: Any, fn: Callable, line: int, filename: str) -> None:
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    named = (dict(zip(names, out, strict=True)) if len(names) > 1 and isinstance(out, tuple)
             and len(out) == len(names) else {names[0] if len(names) == 1 else "": out})
    for name, value in named.items():
        for leaf in jax.tree_util.tree_leaves(value):
            if isinstance(leaf, Undefined):
                raise AutocondError(
                    f"`{leaf.name}` is assigned in only one branch and has no value before this "
                    f"`if`; give it a value before the `if` (e.g. {leaf.name} = "
                    "jnp.zeros_like(...))", line, filename)
            check_array(leaf, f"a traced branch gives {f'`{name}`' if name else 'the value'}",
                        "lax.cond can only return", line, filename)


def check_array(leaf: Any, who: str, why: str, line: int, filename: str) -> None:
    """Fail unless `leaf` is something lax control flow can carry (an array or number)."""
    if not is_array_leaf(leaf):
        raise AutocondError(f"{who} a {type(leaf).__name__}, but {why} arrays "
                            "(and pytrees of arrays)", line, filename)
