"""The vendored Viz.js (Graphviz in WebAssembly) as the ES module of an in-page widget.

Both widgets that lay graphs out in the page (`render`'s no-`dot` route and `explore`'s
explorer) are Viz.js with one of our scripts from ``static/`` appended.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"


@cache
def viz_module(script: str) -> str:
    """Viz.js (exports ``instance``) with ``static/<script>`` appended: one ES module."""
    viz = (STATIC / "viz.js").read_text(encoding="utf-8")
    return viz + "\n" + (STATIC / script).read_text(encoding="utf-8")
