"""Drawing what the ledger recorded: a tracked function's call, or one of its entries.

The drawing itself is `build` (pure: jaxpr -> DOT) and `render` (DOT -> picture); this
module only knows which jaxpr to draw and what the user called its inputs, outputs and
static values. It reads plain records (`CacheEntry`, `SourceMap`) and a tracked
function's public API, and is registered as the ledger's `draw_entry` / `draw_call`
hook by `jitmagic.api`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jitmagic.graphs.build import build_graph
from jitmagic.ledger.records import CacheEntry, SourceMap
from jitmagic.ledger.signature import Signature, build_signature, output_names
from jitmagic.ledger.tracked import TrackedFunction

GRAPH_OPTIONS = ("depth", "max_nodes", "rankdir", "show_shapes", "collapse")


def _draw(jaxpr: Any, signature: Signature, out_names: Sequence[str], source: SourceMap,
          title: str, **options: Any) -> Any:
    return build_graph(
        jaxpr,
        in_names=[leaf.path for leaf in signature.leaves],
        out_names=list(out_names) or None,
        statics=signature.statics,
        title=title,
        source_file=source.source_file,
        line_offset=source.line_offset,
        **options,
    )


def graph_of_entry(entry: CacheEntry, **options: Any) -> Any:
    """The graph of a ledger entry, from the jaxpr captured at its miss."""
    if entry.jaxpr is None:
        raise ValueError(f"entry #{entry.index} has no jaxpr (its capture failed)")
    title = f"{entry.name} #{entry.index}: {entry.reason}"
    return _draw(entry.jaxpr, entry.signature, entry.out_names, entry.source, title, **options)


def graph_of_call(fn: TrackedFunction, args: tuple, kwargs: dict, **options: Any) -> Any:
    """The graph of `fn(*args, **kwargs)`; a trace-cache hit when it was called so."""
    traced = fn.trace(*args, **kwargs)
    signature = build_signature(
        fn.__wrapped__, args, kwargs, fn.static_argnums, fn.static_argnames
    )
    names = output_names(traced.out_info, fn.source.is_cell)
    return _draw(traced.jaxpr, signature, names, fn.source, fn.__name__, **options)


def split_graph_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the graph options out of a call's keyword arguments (the rest are the call's)."""
    return {k: kwargs.pop(k) for k in list(kwargs) if k in GRAPH_OPTIONS}


def draw_call_hook(fn: TrackedFunction, args: tuple, kwargs: dict) -> Any:
    """`TrackedFunction.graph(*args, **kwargs)`: graph options out, the call's arguments in."""
    kwargs = dict(kwargs)
    options = split_graph_options(kwargs)
    return graph_of_call(fn, args, kwargs, **options)
