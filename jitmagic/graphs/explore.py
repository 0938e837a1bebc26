"""The graph explorer: zoom, pan and collapse a drawn jaxpr in the page.

The static view (`view`) must survive saving, so it has no script. Exploring a big train
step needs more: wheel zoom about the pointer, drag to pan, and collapsing a phase or a
function to read the rest. That needs the kernel (the collapsed graph is re-drawn from the
model, no retrace) and a page-side layout (Viz.js, as the no-`dot` route), so it is an
anywidget, shown only when asked for (`graph.explore()`, `%jaxpr ... --explore`). Its
text/plain and the graph's summary say what a saved notebook without widget state shows.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jitmagic.graphs.collapse import collapse, resolve
from jitmagic.graphs.dot import to_dot
from jitmagic.graphs.vizjs import viz_module


@cache
def _explorer_class() -> type:
    """The anywidget class, built on first use so importing jitmagic stays light."""
    import anywidget
    import traitlets

    class GraphExplorer(anywidget.AnyWidget):
        """Draws ``dot`` in the page; the page sets ``collapsed`` (cluster ids)."""

        _esm = viz_module("explore.js")
        dot = traitlets.Unicode("").tag(sync=True)
        collapsed = traitlets.List(traitlets.Unicode()).tag(sync=True)

        def __init__(self, graph: Any, collapsed: list[str]) -> None:
            self._graph = graph  # a diff's model is not its own drawing: no collapsing there
            self._own = graph.model is not None and to_dot(graph.model) == graph.source
            super().__init__(dot=self._dot_for(collapsed), collapsed=collapsed)
            self.observe(self._redraw, names="collapsed")

        def _dot_for(self, ids: list[str]) -> str:
            if not (self._own and ids):
                return str(self._graph.source)
            return to_dot(collapse(self._graph.model, ids))

        def _redraw(self, change: dict[str, Any]) -> None:
            self.dot = self._dot_for(list(change["new"]))

        def __repr__(self) -> str:
            return f"GraphExplorer of {self._graph.summary}"

    return GraphExplorer


def explorer(graph: Any, collapsed: tuple[str, ...] = ()) -> Any:
    """An explorer widget for a `JaxprGraph`, starting with ``collapsed`` (names or ids)."""
    ids = resolve(graph.model, collapsed) if collapsed and graph.model is not None else []
    return _explorer_class()(graph, ids)
