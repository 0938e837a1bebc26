"""The signature of an untracked jit's call, from what JAX was tracing (or a wrapper's frame).

Three tiers, best first, so reasons name the user's arguments as the ledger does:

1. a wrapping library whose own frame still holds the user's function and arguments
   (equinox's `filter_jit`: its jitted function takes `(dynamic_donate, dynamic_nodonate,
   static)`, meaningless to the user); see `_equinox_call`;
2. the callable given to `jax.jit` with its arguments (plain `jax.jit`, `nnx.jit`, whose
   `JitFn` carries the user's signature through `functools.wraps`): the ledger's own
   `build_signature`, statics included;
3. JAX's leaf names and abstract values (no static values): when 2 fails.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

import jax
import numpy as np

from jitmagic.ledger.jaxcompat import JitTrace
from jitmagic.ledger.signature import (
    ArgSignature,
    LeafSignature,
    Signature,
    build_signature,
    dtype_name,
    leaf_signature,
    positional_names,
)

_EQX_FILE = os.path.join("equinox", "_jit.py")
_MAX_DEPTH = 40


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic))


def _equinox_call(frame: FrameType | None) -> tuple[Any, tuple, dict] | None:
    """(user function, args, kwargs) from equinox's `_call(jit_wrapper, is_lower, args, kwargs)`."""
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_name == "_call" and code.co_filename.endswith(_EQX_FILE):
            local = frame.f_locals
            try:
                return local["jit_wrapper"]._static_fun, tuple(local["args"]), dict(local["kwargs"])
            except Exception:
                return None
        frame = frame.f_back
    return None


def _filtered_arg(name: str, passed: str, value: Any) -> ArgSignature:
    """equinox's rule: array leaves are traced, everything else is static."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(value)
    arrays = [(p, v) for p, v in flat if _is_array(v)]
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
    """(the user's function, the call's signature) for one traced jit."""
    eqx = _equinox_call(frame if frame is not None else sys._getframe(1))
    if eqx is not None:
        fun, args, kwargs = eqx
        try:
            return fun, _filtered_signature(fun, args, kwargs)
        except Exception:
            pass
    try:
        return trace.fun, build_signature(trace.fun, trace.args, trace.kwargs,
                                          trace.static_argnums, trace.static_argnames)
    except Exception:
        return trace.fun, _leaf_signature(trace)
