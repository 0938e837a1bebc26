"""Emitting: a drawable model (`model`) -> DOT text (`diff` puts two in one digraph).

Styles live in two tables keyed by node/cluster kind, so a new kind is one row. Every
id is prefixed when emitted, which lets ``diff_graphs`` put two models in one digraph
without renumbering them. The footer says in plain words what the picture folded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jitmagic.graphs.model import TIMES, Cluster, Model

_NODE_STYLE = {
    "input": 'shape=box style="rounded,filled" fillcolor="#dbeafe" penwidth=1.5',
    "output": 'shape=box style="rounded,filled" fillcolor="#dcfce7" penwidth=1.5',
    "eqn": 'shape=box style="rounded,filled" fillcolor="#f8fafc"',
    "op": 'shape=box style="rounded,filled,bold" fillcolor="#ede9fe"',
    "summary": 'shape=box3d style=filled fillcolor="#e5e7eb"',
    "span": 'shape=box style="dashed,filled" fillcolor="#f3f4f6"',
    "literal": 'shape=plain fontsize=9 fontcolor="#6b7280"',
    "const": 'shape=box style="dashed,filled" fillcolor="#f3f4f6" fontsize=9 height=0.2',
    "ghost": 'shape=plain fontsize=9 fontcolor="#8b5cf6"',
    "port": 'shape=plain fontsize=9 fontcolor="#6b7280"',
    "pass": 'shape=note style=dashed fontsize=9 fontcolor="#6b7280" color="#a78bfa"',
    "static": 'shape=note style=filled fillcolor="#fef9c3"',
    "anchor": "shape=point style=invis width=0 height=0 label=\"\"",
    "static_lit": 'shape=box style="filled" fillcolor="#fde047" fontsize=9 height=0.2',
    "collapsed": 'shape=box3d style=filled fillcolor="#e0e7ff" color="#6366f1"',
}
_CLUSTER_STYLE = {
    "nested": 'style="rounded" color="#8b5cf6"',
    "branch": 'style="rounded,dashed" color="#a78bfa"',
    "fold": 'style="rounded,filled" fillcolor="#fff7ed" color="#f97316" penwidth=2',
    "side": 'style="rounded" color="#9ca3af"',
    # translucent fills and mid-tone labels: readable on light and dark notebook themes
    "phase_before": 'style="rounded,filled" fillcolor="#9ca3af1a" color="#9ca3af" '
                    'fontcolor="#6b7280" fontsize=12',
    "phase_forward": 'style="rounded,filled" fillcolor="#3b82f61a" color="#3b82f6" '
                     'fontcolor="#3b82f6" fontsize=12',
    "phase_backward": 'style="rounded,filled" fillcolor="#ef44441a" color="#ef4444" '
                      'fontcolor="#ef4444" fontsize=12',
    "phase_update": 'style="rounded,filled" fillcolor="#22c55e1a" color="#22c55e" '
                    'fontcolor="#16a34a" fontsize=12',
    "scope": 'style="rounded,dashed" color="#9ca3af" fontcolor="#6b7280"',
}
GHOST_NOTE = "\u21aa name #k: a long-range use of the value drawn further up as name #k"
_HILITE = 'color="#dc2626" penwidth=2.5 fillcolor="#fee2e2" style="rounded,filled"'


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def body(model: Model, prefix: str = "", hilite: frozenset[str] = frozenset(),
          root_label: str | None = None) -> list[str]:
    """Clusters, nodes and edges of one model, ids prefixed (so two can share a digraph)."""
    def emit(cl: Cluster, indent: str) -> list[str]:
        out = []
        for item in cl.items:
            if isinstance(item, Cluster):
                out.append(f"{indent}subgraph cluster_{prefix}{item.id} {{")
                out.append(f"{indent}  label={_q(item.label)} {_CLUSTER_STYLE[item.kind]}")
                out += emit(item, indent + "  ")
                out.append(f"{indent}}}")
            else:
                extra = f" {_HILITE}" if item.id in hilite else ""
                tip = f" tooltip={_q(item.tooltip)}" if item.tooltip else ""
                if item.ref:  # the page highlights a ghost and its source together
                    extra += f' class="jmghost jmref_{prefix}{item.ref}"'
                elif item.kind == "collapsed":  # the explorer expands it on a click
                    extra += ' class="jmcollapsed"'
                out.append(f"{indent}{prefix}{item.id} [id={_q(prefix + item.id)} "
                           f"label={_q(item.label)} {_NODE_STYLE[item.kind]}{tip}{extra}]")
        return out

    lines = emit(model.root, "  ")
    if root_label is not None:
        lines = [f"  subgraph cluster_{prefix}root {{", f"    label={_q(root_label)} "
                 f"{_CLUSTER_STYLE['side']}", *["  " + ln for ln in lines], "  }"]
    for src, dst, label, style in model.edges:
        attrs = f"label={_q(label)}" if label else ""
        if style == "invis":
            attrs = "style=invis"
        elif style == "static":
            attrs += ' style=dashed color="#ca8a04" fontcolor="#a16207" constraint=false'
        elif style == "changed":  # a diff's edge whose shape differs: `f32[32→64,784]`
            attrs += ' color="#dc2626" fontcolor="#dc2626"'
        elif (src in hilite) != (dst in hilite):
            attrs += ' color="#dc2626"'
        lines.append(f"  {prefix}{src} -> {prefix}{dst} [{attrs.strip()}]")
    return lines


def to_dot(model: Model, extra: Sequence[str] = ()) -> str:
    """Full DOT text of one model; the footer lists what was folded or left out."""
    footer = "\n".join(model.notes)
    head = [
        f"digraph {_q(model.title or 'jaxpr')} {{",
        f'  graph [rankdir={model.rankdir} fontname="Helvetica" fontsize=10 labelloc=b '
        'nodesep=0.25 ranksep=0.3 bgcolor="transparent" fontcolor="#6b7280"'
        + (f" label={_q(footer)}]" if footer else "]"),
        '  node [fontname="Helvetica" fontsize=10 height=0.3 margin="0.08,0.03"]',
        '  edge [fontname="Helvetica" fontsize=8 arrowsize=0.6 color="#6b7280" '
        'fontcolor="#4b5563"]',
    ]
    return "\n".join([*head, *(extra or body(model)), "}"]) + "\n"


def footer_notes(stats: Mapping[str, int], max_nodes: int) -> list[str]:
    """Plain-words footer: what the picture does not show one-to-one."""
    notes = []
    if stats["fold_runs"]:
        notes.append(f"folded: {stats['fold_runs']} run(s) of repeated blocks "
                     f"({stats['folded']} eqns hidden; orange {TIMES}N clusters show one block)")
    if stats["elided"]:
        notes.append(f"elided: {stats['elided']} eqns inside long elementwise chains")
    if stats["collapsed"]:
        notes.append(f"collapsed: {stats['collapsed']} nested jaxpr(s) past depth or budget")
    if stats["not_drawn"]:
        notes.append(f"not drawn: {stats['not_drawn']} eqns past max_nodes={max_nodes}")
    if stats.get("coarse"):
        notes.append(f"summarised: {stats['coarse']} phase(s) drawn as one node per function "
                     f"or scope (too many eqns for max_nodes={max_nodes})")
    if stats["ghosts"]:
        notes.append(GHOST_NOTE)
    return notes
