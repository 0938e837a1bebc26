"""Runtime helpers of rewritten loops: `_jm.while_loop`, `_jm.fori_loop`, `_jm.static_range`.

Like `_jm.cond` they decide at trace time. While the condition (or every `range`
bound) is concrete the loop runs in Python, unrolled into the trace exactly as the
user's loop would be; once it is a tracer, the remaining iterations become
`jax.lax.while_loop` / `jax.lax.fori_loop` over the carried values. Carried values
are passed unpacked (`*carry`) and the generated body returns them in that order, so
the rewritten source reads like the hand-written lax version.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jitmagic.autocond.runtime import (
    AutocondError,
    caller,
    check_array,
    is_undefined,
    param_names,
    scalar_pred,
    traced,
    where,
)

__all__ = ["fori_loop", "static_range", "while_loop"]


def while_loop(cond_fn: Callable[..., Any], body_fn: Callable[..., Any], *carry: Any) -> Any:
    """`while cond_fn(*carry): carry = body_fn(*carry)`, as `lax.while_loop` once traced."""
    values = carry
    while True:
        pred = cond_fn(*values)
        if traced(pred):
            return _unpack(_lax_while(pred, cond_fn, body_fn, values))
        if not pred:
            return _unpack(values)
        values = _pack(body_fn(*values), len(carry))


def fori_loop(lower: Any, upper: Any, body_fn: Callable[..., Any], *carry: Any,
              step: Any = 1) -> Any:
    """`for i in range(lower, upper, step): carry = body_fn(i, *carry)`; lax once a bound is traced.

    `body_fn(i, *rest)` takes the loop variable first. When the loop variable is itself
    carried (used after the loop), `carry` starts with its value before the loop and
    `body_fn` returns it first too: then `len(carry)` equals `body_fn`'s parameter count.
    """
    keep = int(len(carry) == body_fn.__code__.co_argcount)
    if not any(traced(b) for b in (lower, upper, step)):
        values = carry
        for i in range(lower, upper, step):
            values = _pack(body_fn(i, *values[keep:]), len(carry))
        return _unpack(values)
    line, filename = where(body_fn)
    lo, hi, index = _lax_range(lower, upper, step, line, filename)
    if keep and is_undefined(carry[0]):  # Python would leave it unbound after 0 trips
        carry = (jnp.asarray(lower, jnp.result_type(lower, upper)), *carry[1:])
    _check_carry(carry, body_fn, line, filename, skip=1 - keep)
    body = _guarded(body_fn, len(carry), line, filename, "lax.fori_loop")
    run = functools.partial(jax.lax.fori_loop, lo, hi,
                            lambda k, c: body(index(k), *c[keep:]))
    return _unpack(_joined(run, carry, body_fn, line, filename))


def static_range(*bounds: Any, reason: str) -> range:
    """`range(*bounds)` for a loop that cannot become lax; AutocondError if a bound is traced."""
    if any(traced(b) for b in bounds):
        line, filename = caller()
        raise AutocondError(f"the loop bound is traced, but {reason}", line, filename)
    return range(*bounds)


def _pack(out: Any, n: int) -> tuple[Any, ...]:
    return () if n == 0 else (out,) if n == 1 else tuple(out)


def _unpack(values: tuple[Any, ...]) -> Any:
    return None if not values else values[0] if len(values) == 1 else tuple(values)


def _lax_while(pred: Any, cond_fn: Callable, body_fn: Callable, carry: tuple[Any, ...],
               ) -> tuple[Any, ...]:
    line, filename = where(body_fn)
    scalar_pred(pred, "a `while`", line, filename)
    _check_carry(carry, body_fn, line, filename, skip=0)
    test = _guarded(cond_fn, None, line, filename, "lax.while_loop")
    body = _guarded(body_fn, len(carry), line, filename, "lax.while_loop")
    run = functools.partial(
        jax.lax.while_loop, lambda c: scalar_pred(test(*c), "a `while`", line, filename),
        lambda c: body(*c))
    return _joined(run, carry, body_fn, line, filename)


def _lax_range(lower: Any, upper: Any, step: Any, line: int, filename: str,
               ) -> tuple[Any, Any, Callable[[Any], Any]]:
    """Bounds for `lax.fori_loop` and the map from its counter to the loop variable."""
    if traced(step):
        raise AutocondError("the step of range() is traced; lax.fori_loop needs a concrete step "
                            "(make it static)", line, filename)
    if step == 0:
        raise ValueError("range() arg 3 must not be zero")
    for bound in (lower, upper):
        kind = jnp.result_type(bound)
        if jnp.shape(bound) != () or not jnp.issubdtype(kind, jnp.integer):
            raise AutocondError(f"range() needs integer scalars, got a traced {kind} of shape "
                                f"{jnp.shape(bound)}", line, filename)
    if step == 1:
        return lower, upper, lambda k: k
    span = upper - lower if step > 0 else lower - upper
    trips = jnp.maximum(0, (span + abs(step) - 1) // abs(step))
    return 0, trips, lambda k: lower + k * step


def _guarded(fn: Callable, n: int | None, line: int, filename: str, what: str,
             ) -> Callable[..., Any]:
    """`fn` that marks errors raised by the user's own code (they must pass through as they are).

    With `n`, the result is packed into a tuple of `n` carried values and checked.
    """

    @functools.wraps(fn)  # JAX's messages then name the user's loop function
    def run(*args: Any) -> Any:
        try:
            out = fn(*args)
            if n is not None:
                out = _pack(out, n)
                for leaf in jax.tree_util.tree_leaves(out):
                    check_array(leaf, "the loop body gives a carried value", f"{what} can only "
                                "carry", line, filename)
        except BaseException as err:
            err.__jitmagic_user__ = True  # type: ignore[attr-defined]
            raise
        return out

    return run


def _joined(run: Callable[[tuple[Any, ...]], Any], carry: tuple[Any, ...], body_fn: Callable,
            line: int, filename: str) -> tuple[Any, ...]:
    """`run(carry)`; lax's complaint that the carry changed type becomes an AutocondError."""
    try:
        return tuple(run(tuple(carry)))
    except TypeError as err:  # how lax reports a carry whose type or structure changed
        if getattr(err, "__jitmagic_user__", False):
            raise
        names = param_names(body_fn) or "the carried values"
        raise AutocondError(
            f"the loop changes the type or shape of {names} from one iteration to the next, "
            "which a lax loop cannot carry; give each carried value its final shape and dtype "
            f"before the loop (e.g. jnp.zeros(...), or x = 0.0 rather than 0).\n{err}",
            line, filename) from err


def _check_carry(carry: tuple[Any, ...], body_fn: Callable, line: int, filename: str,
                 skip: int) -> None:
    """Every carried value must exist before the loop and be an array (or pytree of them)."""
    names = body_fn.__code__.co_varnames[skip: body_fn.__code__.co_argcount]
    for name, value in zip(names, carry, strict=True):
        if is_undefined(value):
            raise AutocondError(
                f"`{name}` is carried by this loop (assigned in it and used after it or in the "
                "next iteration) but has no value before it; a lax loop needs a starting value: "
                f"give it one before the loop (e.g. {name} = jnp.zeros_like(...)); in a cell, a "
                "name starting with `_` stays local and need not be carried", line, filename)
        for leaf in jax.tree_util.tree_leaves(value):
            check_array(leaf, f"the loop carries `{name}` as", "a lax loop can only carry",
                        line, filename)
