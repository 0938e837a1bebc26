"""Small helpers of the miss path: the entry's jaxpr from the trace cache, persistent-cache kind."""

from __future__ import annotations

from typing import Any

import jax

from jitmagic.ledger.events import CompileEvents
from jitmagic.ledger.signature import output_names


def _abstract(tree: Any) -> Any:
    """Replace jax.Array leaves by ShapeDtypeStructs: same trace-cache key, no buffers."""

    def leaf(x: Any) -> Any:
        if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer):
            return jax.ShapeDtypeStruct(  # typed PRNG keys have no weak_type
                x.shape, x.dtype, sharding=x.sharding, weak_type=getattr(x, "weak_type", False)
            )
        return x

    return jax.tree_util.tree_map(leaf, tree)


def abstract_args(args: tuple, kwargs: dict, static_argnums: tuple[int, ...],
                  static_argnames: tuple[str, ...]) -> tuple[tuple, dict]:
    """The call's arguments with every traced array made abstract (statics kept as they are)."""
    a_args = tuple(a if i in static_argnums else _abstract(a) for i, a in enumerate(args))
    a_kwargs = {k: v if k in static_argnames else _abstract(v) for k, v in kwargs.items()}
    return a_args, a_kwargs


def capture_jaxpr(jitted: Any, args: tuple, kwargs: dict, static_argnums: tuple[int, ...],
                  static_argnames: tuple[str, ...],
                  is_cell: bool) -> tuple[Any, tuple[str, ...]]:
    """A miss's ClosedJaxpr and output names, from JAX's trace cache.

    Array leaves are passed abstractly, so donated buffers are never touched. Never
    raises: a failed capture gives (None, ()) and the entry simply has no graph.
    """
    try:
        a_args, a_kwargs = abstract_args(args, kwargs, static_argnums, static_argnames)
        traced = jitted.trace(*a_args, **a_kwargs)
        return traced.jaxpr, tuple(output_names(traced.out_info, is_cell))
    except Exception:
        return None, ()


def persistent_kind(found: CompileEvents) -> str | None:
    """"hit" / "miss" of the persistent compilation cache, None when it is off."""
    if found.persistent_hit:
        return "hit"
    if found.persistent_miss:
        return "miss"
    return None
