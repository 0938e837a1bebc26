"""DOT text -> picture, with a route for every machine.

Routes, picked once per display (``JITMAGIC_RENDERER=dot|browser|text`` forces one):

* ``dot``: the system Graphviz binary, run with a timeout so a pathological layout can
  never hang the kernel (``graphviz.pipe`` has no timeout, so we call the binary the way
  the ``graphviz`` package would and kill it on expiry). Gives ``image/svg+xml``, which
  saved notebooks, GitHub and nbconvert show as is.
* ``browser``: no binary needed. An anywidget whose ES module is Viz.js (Graphviz 16
  compiled to WebAssembly, vendored in ``static/viz.js``) lays the graph out in the
  page. A ``pip install`` is enough; a ``text/html`` copy rides along for viewers
  without a widget manager. Once drawn, the page sends the SVG back and the display
  becomes a plain SVG (``JaxprGraph._ipython_display_``), so saved notebooks keep it.
* ``text``: the compact listing, for terminals and for graphs too big to lay out.

A layout is not started when the graph has more nodes than ``MAX_LAYOUT_NODES``:
JAX_FACTS §8 measured minutes for such layouts, so we say so instead of trying.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jitmagic.graphs.view import view_html
from jitmagic.graphs.vizjs import viz_module

RENDERER_ENV = "JITMAGIC_RENDERER"
ROUTES = ("dot", "browser", "text")
MAX_LAYOUT_NODES = 3000
DEFAULT_TIMEOUT_S = 20.0
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def picture(svg: str, plain: str) -> dict[str, str]:
    """The bundle of a drawn graph: the fitted, hover-linked HTML view, the SVG itself
    (for viewers that drop HTML) and the text summary."""
    return {"text/html": view_html(svg), "image/svg+xml": svg, "text/plain": plain}


class RenderError(RuntimeError):
    """The graph could not be laid out (no binary, timeout, or too big to try)."""


def renderer_route() -> str:
    """The route to use now: the env override, else ``dot`` when on PATH, else browser."""
    forced = os.environ.get(RENDERER_ENV, "").strip().lower()
    if forced in ROUTES:
        return forced
    return "dot" if shutil.which("dot") else "browser"


def render_dot(source: str, fmt: str = "svg", *, timeout: float = DEFAULT_TIMEOUT_S) -> bytes:
    """Lay out DOT text with the system ``dot`` binary, killing it after ``timeout`` s."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("no Graphviz `dot` on PATH (apt-get install graphviz), try .dot")
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"], input=source.encode(), capture_output=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"`dot` layout exceeded {timeout:g} s and was stopped") from exc
    if done.returncode != 0:
        raise RenderError(f"`dot` failed: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout


@cache
def _widget_class() -> type:
    """The anywidget class, built on first use so importing jitmagic stays light."""
    import anywidget
    import traitlets

    class JaxprGraphWidget(anywidget.AnyWidget):
        """Renders its ``dot`` trait to inline SVG in the browser; sends the SVG back."""

        _esm = viz_module("viz_render.js")
        dot = traitlets.Unicode("").tag(sync=True)
        svg = traitlets.Unicode("").tag(sync=True)  # set by the page once it has drawn

        def __repr__(self) -> str:
            return f"JaxprGraphWidget(<{len(self.dot)} chars of DOT>)"

    return JaxprGraphWidget


@dataclass(eq=False)
class JaxprGraph:
    """A drawn jaxpr: DOT ``source``, a one-line ``summary`` and a compact ``text`` listing."""

    source: str
    summary: str = ""
    text: str = ""
    n_nodes: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)
    _widget: Any = field(default=None, repr=False)
    _svg: str = field(default="", repr=False)  # drawn by the browser route, sent back
    _display_ids: list[str] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"{self.summary}\n{self.text}".rstrip()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Picture for the current route, and always a ``text/plain`` summary."""
        bundle = self._bundle(renderer_route())
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include or k == "text/plain"}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude or k == "text/plain"}
        return bundle

    def _bundle(self, route: str) -> dict[str, Any]:
        plain = repr(self)
        if route != "text" and self.n_nodes > MAX_LAYOUT_NODES:
            note = f"(not laid out: {self.n_nodes} nodes > {MAX_LAYOUT_NODES}; lower max_nodes)"
            return {"text/plain": f"{plain}\n{note}", "text/html": self._html(note)}
        if route == "dot":
            try:
                svg = render_dot(self.source).decode()
            except RenderError as exc:
                return {"text/plain": f"{plain}\n({exc})", "text/html": self._html(str(exc))}
            return picture(svg, plain)
        if route == "browser":
            if self._svg:  # the page drew it once: no widget needed any more
                return picture(self._svg, plain)
            if self._widget is None:
                self._widget = _widget_class()(dot=self.source)
                self._widget.observe(self._on_svg, names="svg")
            view = self._widget._repr_mimebundle_()
            view = view[0] if isinstance(view, tuple) else view
            html_view = self._html()
            return {_WIDGET_MIME: view[_WIDGET_MIME], "text/plain": plain, "text/html": html_view}
        return {"text/plain": plain, "text/html": self._html()}

    def _ipython_display_(self) -> None:
        """Display the picture; on the browser route, under a display id we can update.

        A widget view needs its model's state, which notebooks do not save by default, so
        a reopened notebook would show "model not found". So the page sends back the SVG
        it drew (the widget's ``svg`` trait) and ``_on_svg`` replaces this display with a
        static ``text/html`` (inline SVG, `view`) + ``image/svg+xml`` + ``text/plain``
        bundle: what the ``dot`` route gives, and what saved notebooks, nbconvert and
        GitHub show. Only IPython calls this method,
        so importing IPython here adds nothing to ``import jitmagic``.
        """
        from IPython.display import display

        bundle = self._bundle(renderer_route())
        if _WIDGET_MIME not in bundle:
            display(bundle, raw=True)
            return
        display_id = uuid.uuid4().hex
        self._display_ids.append(display_id)
        display(bundle, raw=True, display_id=display_id)

    def _on_svg(self, change: dict[str, Any]) -> None:
        """The page drew the graph: keep its SVG and make every widget display static.

        Runs in the kernel when the comm message arrives, possibly long after the cell
        ended; ``update_display`` finds the outputs by display id, wherever they are.
        ``IPython.display`` is imported only now: we are in a kernel by then.
        """
        svg = change["new"]
        if not svg or self._svg:
            return
        self._svg = svg
        if self._display_ids:
            from IPython.display import update_display

            bundle = picture(svg, repr(self))
            for display_id in self._display_ids:
                update_display(bundle, raw=True, display_id=display_id)
            self._display_ids.clear()

    def _html(self, note: str = "") -> str:
        """Static fallback: summary, listing and the DOT source (paste into any Graphviz)."""
        extra = f"<p><em>{html.escape(note)}</em></p>" if note else ""
        return (
            f"<div class='jitmagic-graph-text'><b>{html.escape(self.summary)}</b>{extra}"
            f"<pre>{html.escape(self.text)}</pre><details><summary>DOT source</summary>"
            f"<pre>{html.escape(self.source)}</pre></details></div>"
        )

    def explore(self, collapse: tuple[str, ...] = ()) -> Any:
        """A widget to zoom (wheel), pan (drag) and collapse clusters (click) in the page;
        needs a running kernel, so saved notebooks keep only the static picture."""
        from jitmagic.graphs.explore import explorer

        return explorer(self, tuple(collapse))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.dot`` (always works), ``.svg`` or ``.png`` (need the ``dot`` binary)."""
        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt in ("dot", "gv"):
            target.write_text(self.source, encoding="utf-8")
        elif fmt in ("svg", "png", "pdf"):
            if self.n_nodes > MAX_LAYOUT_NODES:
                raise RenderError(f"{self.n_nodes} nodes: too big to lay out; save as .dot")
            target.write_bytes(render_dot(self.source, fmt))
        else:
            raise ValueError(f"unknown graph format {target.suffix!r}: use .svg, .png or .dot")
