"""What `%jaxpr` and `%%jitcell --graph` draw: parsing the call, the graph options, diffs.

Kept apart from `magics` (parsing and display only) so the drawing logic reads on its own;
a user mistake here (not a call, an unknown entry, an unknown cluster) is one UsageError.
"""

from __future__ import annotations

import ast
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from jitmagic.ledger.tracked import TrackedFunction
from jitmagic.notebook.cell import CellFunction

GRAPH_ARGS = [
    argument("--depth", type=int, default=2, help="expand nested jaxprs to this depth"),
    argument("--max-nodes", type=int, default=400, help="collapse the graph past this many nodes"),
    argument("--rankdir", choices=("TB", "LR"), default="TB", help="layout direction"),
    argument("--no-shapes", action="store_true", help="hide shape/dtype edge labels"),
    argument("--collapse", default="", metavar="NAMES",
             help="draw these clusters as one node each, e.g. forward,update or _block"),
]


def graph_options(args: Any) -> dict[str, Any]:
    """The graph keywords of parsed `GRAPH_ARGS` (``collapse`` only when given)."""
    collapse = tuple(n.strip() for n in args.collapse.split(",") if n.strip())
    return {"depth": args.depth, "max_nodes": args.max_nodes, "rankdir": args.rankdir,
            "show_shapes": not args.no_shapes, **({"collapse": collapse} if collapse else {})}


def draw_call(shell: Any, text: str, static: tuple[str, ...], opts: dict[str, Any]) -> Any:
    """The graph of the call ``text`` (``f(x, threshold=0.0)``), evaluated in the notebook."""
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError as err:
        raise UsageError(f"%jaxpr: not a call: {text!r} ({err.msg})") from None
    if not isinstance(call, ast.Call):
        raise UsageError(f"%jaxpr: expected a call such as f(x), got {text!r}")
    fun = shell.ev(ast.unparse(call.func))
    pieces = [ast.unparse(a) for a in call.args] + [
        f"{k.arg}={ast.unparse(k.value)}" if k.arg else f"**{ast.unparse(k.value)}"
        for k in call.keywords
    ]  # evaluated as written, so *xs and **kw work too
    pos, kw = shell.ev(f"(lambda *a, **k: (a, k))({', '.join(pieces)})")
    if isinstance(fun, (TrackedFunction, CellFunction)):
        return fun.graph(*pos, **kw, **opts)
    from jitmagic.graphs.build import graph

    return graph(fun, *pos, static_argnames=static, **kw, **opts)


def draw_diff(shell: Any, text: str, which: list[int], opts: dict[str, Any]) -> Any:
    """Entries ``which`` (default: the last two) of the tracked function ``text``, compared."""
    from jitmagic.graphs.build import diff_graphs

    fun = shell.ev(text)
    entries = {e.index: e for e in getattr(fun, "entries", None) or []}
    if len(entries) < 2:
        raise UsageError(f"%jaxpr --diff: {text} needs a tracked function with 2+ entries")
    i, j = (which + sorted(entries)[-2:][len(which):])[:2]
    missing = [k for k in (i, j) if k not in entries]
    if missing:
        raise UsageError(f"%jaxpr --diff: no entry #{missing[0]} (kept: "
                         f"{', '.join(f'#{k}' for k in sorted(entries))})")
    return diff_graphs(entries[i].graph(**opts), entries[j].graph(**opts))
