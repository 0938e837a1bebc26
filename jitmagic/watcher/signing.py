"""The signature of an untracked jit's call, from what JAX was tracing (or a wrapper's frame).

Three tiers, best first, so reasons name the user's arguments as the ledger does:

1. a wrapping library whose own frame still holds the user's function and arguments
   (equinox's `filter_jit`: its jitted function takes `(dynamic_donate, dynamic_nodonate,
   static)`, meaningless to the user); read by `jaxcompat.equinox_call_in_progress`;
2. the callable given to `jax.jit` with its arguments (plain `jax.jit`, `nnx.jit`, whose
   `JitFn` carries the user's signature through `functools.wraps`): the ledger's own
   `build_signature`, statics included;
3. JAX's leaf names and abstract values (no static values): when 2 fails.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import jax

from jitmagic.arrays import ARRAY_TYPES
from jitmagic.ledger.jaxcompat import JitTrace, equinox_call_in_progress, is_equinox_wrapper
from jitmagic.ledger.signature import (
    ArgSignature,
    LeafSignature,
    Signature,
    build_signature,
    dtype_name,
    leaf_signature,
    positional_names,
)


def _filtered_arg(name: str, passed: str, value: Any) -> ArgSignature:
    """equinox's rule: array leaves are traced, everything else (Python numbers too) is
    static."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(value)
    arrays = [(p, v) for p, v in flat if isinstance(v, ARRAY_TYPES)]
    if not arrays:
        return ArgSignature(name, passed, static=True, static_value=value)
    leaves = tuple(leaf_signature(name + jax.tree_util.keystr(p), v) for p, v in arrays)
    return ArgSignature(name, passed, static=False, treedef=str(treedef), leaves=leaves)


def _filtered_signature(fun: Any, args: tuple, kwargs: dict) -> Signature:
    names = positional_names(fun, len(args))
    out = [_filtered_arg(n, "positionally", v) for n, v in zip(names, args, strict=True)]
    out += [_filtered_arg(k, "by keyword", kwargs[k]) for k in sorted(kwargs)]
    return Signature(tuple(out))


def _leaf_signature(trace: JitTrace) -> Signature | None:
    """Tier 3: JAX's own leaf names (`batch`, `params['w']`) and avals; no statics."""
    if trace.arg_names is None or len(trace.arg_names) != len(trace.avals):
        return None
    args = []
    for name, aval in zip(trace.arg_names, trace.avals, strict=True):
        leaf = LeafSignature(name, tuple(getattr(aval, "shape", ())),
                             dtype_name(getattr(aval, "dtype", "?")),
                             bool(getattr(aval, "weak_type", False)), None)
        args.append(ArgSignature(name, "positionally", static=False, treedef="*",
                                 leaves=(leaf,)))
    return Signature(tuple(args))


def signature_of(trace: JitTrace, frame: FrameType | None = None) -> tuple[Any, Signature | None]:
    """(the user's function, the call's signature) for one traced jit.

    An equinox call whose frame cannot be read gives (None, None): equinox's own
    wrapper and its `(dynamic_donate, ...)` arguments would only mislead.
    """
    if is_equinox_wrapper(trace.fun):
        call = equinox_call_in_progress(frame if frame is not None else sys._getframe(1))
        if call is None:
            return None, None
        try:
            return call.fun, _filtered_signature(call.fun, call.args, call.kwargs)
        except Exception:
            return call.fun, None
    try:
        return trace.fun, build_signature(trace.fun, trace.args, trace.kwargs,
                                          trace.static_argnums, trace.static_argnames)
    except Exception:
        return trace.fun, _leaf_signature(trace)
