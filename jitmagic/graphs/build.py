"""ClosedJaxpr -> graph model -> DOT text: the public entry points. Pure: no IPython.

The work is split by concept, each module a step of one pipeline:

* `model`: the drawable model (nodes, clusters, edges) and jaxpr inspectors;
* `fold`: planning big graphs by structure (folds, elisions, ghosts, JAX_FACTS §8);
* `phases` / `phased`: what each eqn is for, drawn as phase and scope clusters in a budget;
* `draw` / `walk`: drawing primitives, and walking a jaxpr with counter ids (deterministic DOT);
* `leaves`: inputs and outputs; `dot`: emitting DOT; `diff`: two models in one picture.

This module names inputs and outputs as the user did, bakes the static values in, and
assembles a `JaxprGraph`; the names other modules import from here stay here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

from jitmagic.graphs.collapse import collapse as collapse_clusters
from jitmagic.graphs.collapse import resolve
from jitmagic.graphs.diff import diff_graphs
from jitmagic.graphs.dot import footer_notes, to_dot
from jitmagic.graphs.fold import find_folds, plan_eqns, wants_ghosts
from jitmagic.graphs.leaves import draw_inputs, draw_outputs
from jitmagic.graphs.model import (
    Cluster,
    Model,
    Node,
    count_eqns,
    eqn_params_text,
    fmt_value,
    short_aval,
    subjaxprs,
)
from jitmagic.graphs.phased import draw_root, stack_phases
from jitmagic.graphs.render import JaxprGraph
from jitmagic.graphs.walk import Src, Walker
from jitmagic.ledger.signature import (
    build_signature,
    function_name,
    output_names,
    resolve_static,
)

__all__ = [
    "Cluster", "JaxprGraph", "Model", "Node", "build_graph", "count_eqns", "diff_graphs",
    "eqn_params_text", "find_folds", "graph", "plan_eqns", "subjaxprs", "to_dot",
]


def _names(names: Sequence[str] | None, n: int, default: str) -> list[str]:
    """User names padded with ``default[k]`` (``out`` alone when there is one output)."""
    given = list(names or [])[:n]
    if not given and n == 1 and default == "out":
        return ["out"]
    return given + [f"{default}[{k}]" for k in range(len(given), n)]


def _listing(jaxpr: Jaxpr, in_names: Sequence[str], out_names: Sequence[str],
             statics: Mapping[str, object], limit: int = 30) -> str:
    """Compact text for terminals: one line per top-level eqn, with the user's names."""
    names: dict[Any, str] = dict(zip(jaxpr.invars, in_names, strict=False))
    names.update({v: f"const{k}" for k, v in enumerate(jaxpr.constvars)})
    fresh = iter(range(1, 1 << 62))

    def nm(v: Any) -> str:
        if isinstance(v, Literal):
            return fmt_value(v.val)
        if v not in names:
            names[v] = f"v{next(fresh)}"
        return names[v]

    lines = [f"  static (baked in): {k} = {v!r}" for k, v in statics.items()]
    for i, eqn in enumerate(jaxpr.eqns):
        if i == limit:
            lines.append(f"  ... {len(jaxpr.eqns) - limit} more eqns")
            break
        inner = sum(count_eqns(j) for _, j, _ in subjaxprs(eqn))
        outs = " ".join(f"{nm(v)}:{short_aval(v)}" for v in eqn.outvars)
        params = eqn_params_text(eqn)
        lines.append(f"  {outs} = {eqn.primitive.name}{f'[{params}]' if params else ''} "
                     f"{' '.join(nm(v) for v in eqn.invars)}"
                     + (f"  [{inner} ops inside]" if inner else ""))
    lines.append("  return " + ", ".join(f"{o}={nm(v)}" for o, v in
                                          zip(out_names, jaxpr.outvars, strict=False)))
    return "\n".join(lines)


def build_graph(closed_jaxpr: ClosedJaxpr, *, in_names: Sequence[str],
                out_names: Sequence[str] | None = None,
                statics: Mapping[str, object] | None = None, title: str = "", depth: int = 2,
                max_nodes: int = 400, rankdir: str = "TB", show_shapes: bool = True,
                source_file: str | None = None, line_offset: int = 0,
                collapse: Sequence[str] = ()) -> JaxprGraph:
    """Draw a ClosedJaxpr: inputs and outputs with the user's names, statics baked in;
    the clusters named in ``collapse`` (``backward``, ``update``, a function) as one node."""
    jaxpr, statics = closed_jaxpr.jaxpr, dict(statics or {})
    total = count_eqns(jaxpr)
    walker = Walker(depth=depth, max_nodes=max_nodes, show_shapes=show_shapes,
                     ghosts=wants_ghosts(total), statics=statics,
                     where=(source_file, line_offset))
    root = Cluster("root", "root", title)
    if statics:
        body = "\n".join(f"{k} = {v!r}" for k, v in statics.items())
        walker.static_node = walker.node(root, "static", f"baked in (static)\n{body}",
                                         "static arguments: compile-time constants of this trace")
    ins = _names(in_names, len(jaxpr.invars), "in")
    outs = _names(out_names, len(jaxpr.outvars), "out")
    env: dict[Any, Src] = {}
    draw_inputs(walker, root, ins, jaxpr.invars, env)
    phases = draw_root(walker, jaxpr, closed_jaxpr.consts, env, root)
    draw_outputs(walker, root, outs, jaxpr.outvars, env, len(jaxpr.eqns))
    if len(phases) > 1:
        stack_phases(walker, root, phases)
    model = Model(root, walker.edges, footer_notes(walker.stats, max_nodes), rankdir, title)
    if collapse:
        model = collapse_clusters(model, resolve(model, collapse))
        model.notes.append(f"collapsed by request: {', '.join(collapse)} (one node each)")
    sig = ", ".join(f"{n}: {short_aval(v)}" for n, v in zip(ins, jaxpr.invars, strict=True))
    res = ", ".join(f"{n}: {short_aval(v)}" for n, v in zip(outs, jaxpr.outvars, strict=True))
    summary = (f"JaxprGraph {title or 'jaxpr'}: {total} eqns ({len(jaxpr.eqns)} top-level), "
               f"inputs ({_clip(sig)}) -> outputs ({_clip(res)}), depth {depth}, "
               f"{len(model.nodes())} nodes drawn")
    text = _listing(jaxpr, ins, outs, statics)
    if model.notes:
        text += "\n" + "\n".join(f"  # {n}" for n in model.notes)
    info = {"n_eqns": total, "inputs": ins, "outputs": outs, "depth": depth, **walker.stats}
    return JaxprGraph(to_dot(model), summary, text, len(model.nodes()), info, model)


def _clip(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def graph(fun: Any, *args: Any, static_argnums: int | Sequence[int] = (),
          static_argnames: str | Sequence[str] = (), depth: int = 2, max_nodes: int = 400,
          rankdir: str = "TB", show_shapes: bool = True, collapse: Sequence[str] = (),
          **kwargs: Any) -> JaxprGraph:
    """Draw the jaxpr of ``fun(*args, **kwargs)`` under ``jax.jit`` with these statics."""
    traced = jax.jit(fun, static_argnums=static_argnums,
                     static_argnames=static_argnames).trace(*args, **kwargs)
    nums, names = resolve_static(fun, static_argnums, static_argnames)
    signature = build_signature(fun, args, kwargs, nums, names)
    return build_graph(traced.jaxpr, in_names=[leaf.path for leaf in signature.leaves],
                       out_names=output_names(traced.out_info), statics=signature.statics,
                       title=function_name(fun), depth=depth,
                       max_nodes=max_nodes, rankdir=rankdir, show_shapes=show_shapes,
                       collapse=collapse)
