"""Glue between the ledger and the graph drawer: which jaxpr, which names.

The drawing itself is `_graph` (pure: jaxpr -> DOT) and `_render` (DOT ->
picture); this module only knows where a tracked function keeps the jaxpr of an
entry and what the user called its inputs, outputs and static values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._signature import build_signature, output_names

if TYPE_CHECKING:
    from ._ledger import CacheEntry
    from ._tracked import TrackedFunction

GRAPH_OPTIONS = ("depth", "max_nodes", "rankdir", "show_shapes")


def _draw(owner: TrackedFunction, jaxpr: Any, signature: Any, out_names: list[str],
          title: str, **options: Any) -> Any:
    from ._graph import build_graph

    source = owner._source
    return build_graph(
        jaxpr,
        in_names=[leaf.path for leaf in signature.leaves],
        out_names=out_names or None,
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
    title = f"{entry.owner.__name__} #{entry.index}: {entry.reason}"
    return _draw(entry.owner, entry.jaxpr, entry.signature, entry.out_names, title, **options)


def graph_of_call(owner: TrackedFunction, args: tuple, kwargs: dict, **options: Any) -> Any:
    """The graph of `owner(*args, **kwargs)`; a trace-cache hit when it was called so."""
    traced = owner.trace(*args, **kwargs)
    signature = build_signature(
        owner._fun, args, kwargs, owner._static_argnums, owner._static_argnames
    )
    names = output_names(traced.out_info, owner._source.is_cell)
    return _draw(owner, traced.jaxpr, signature, names, owner.__name__, **options)
