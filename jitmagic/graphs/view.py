"""An SVG graph as an HTML view that fits the cell: scroll to pan, click to zoom, hover
a ghost to light up its source. No script: plain CSS, so it works in saved notebooks.

JupyterLab shows ``image/svg+xml`` as an ``<img>``: fitted, but dead to the mouse and
white-slabbed by the image's own background. The ``text/html`` copy inlines the SVG
(Graphviz's background made transparent, see `dot.to_dot`) in a scrolling pane that
fits the cell width; a checkbox toggles 1:1 size (pan by scrolling); each ghost
``↪ name #k`` and the node it names are highlighted together by a ``:has()`` rule,
built from the ids and classes `dot` put on them. The ``image/svg+xml`` copy stays in
the bundle for viewers that drop HTML.
"""

from __future__ import annotations

import re
import uuid

_REF = re.compile(r'class="node jmghost jmref_(\w+)"')
_HOT = "fill:#fde68a;stroke:#dc2626;stroke-width:3"
_HOT_TEXT = "fill:#dc2626;font-weight:bold"


def _hover_rules(scope: str, svg: str) -> str:
    """One rule per ghosted source: hovering any of its ghosts lights up both."""
    refs = sorted(set(_REF.findall(svg)))
    rules = [f"#{scope} .jmref_{r}:hover text {{{_HOT_TEXT}}}"
             f"#{scope} svg:has(.jmref_{r}:hover) #{r} polygon,"
             f"#{scope} svg:has(.jmref_{r}:hover) #{r} path {{{_HOT}}}" for r in refs]
    return "\n".join(rules)


def view_html(svg: str) -> str:
    """The inline, fitted, zoomable, hover-linked view of a Graphviz SVG."""
    scope = "jmg" + uuid.uuid4().hex[:8]
    body = svg[svg.find("<svg"):] if "<svg" in svg else svg
    css = (f"#{scope} .jm-pane{{overflow:auto;max-height:80vh;max-width:100%}}"
           f"#{scope} .jm-pane svg{{max-width:100%;height:auto}}"
           f"#{scope} input:checked~.jm-pane svg{{max-width:none}}"
           f"#{scope} label{{font:11px sans-serif;opacity:.7;cursor:pointer}}"
           + _hover_rules(scope, body))
    return (f'<div id="{scope}" class="jitmagic-graph-view"><style>{css}</style>'
            f'<input type="checkbox" id="{scope}z" hidden>'
            f'<label for="{scope}z">fit / 1:1 (scroll to pan)</label>'
            f'<div class="jm-pane">{body}</div></div>')
