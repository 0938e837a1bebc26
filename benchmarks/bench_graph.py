"""Jaxpr graphs at 500 and 5,000 equations: trace (the floor), build + DOT, render.

Run:  python benchmarks/bench_graph.py [--peers DIR] [--repeat 3]

Two shapes of program, each at ~500 and ~5,000 eqns:
* ``loop``: an unrolled Python loop (5 ops per pass): the common big jaxpr; folds.
* ``varied``: every pass uses a different literal, so nothing folds: the worst case,
  kept drawable by ghost nodes and the ``max_nodes`` cut.
Real train steps (``tests/realmodels.py``): the 3-layer MLP step (value_and_grad + SGD,
``lr`` static) and the 6-layer transformer step (AdamW written out), timed from the
traced jaxpr to a picture: build (phases, scopes, folds) + DOT, then each renderer.
Renderers: system ``dot`` (with a timeout) and Viz.js (the vendored browser module) in
node. Peers (jaxviz, jpviz) run in a subprocess with a timeout when ``--peers`` points
at a directory where they are pip-installed (``pip install --target DIR jaxviz jpviz
"pydot<2"``); they are timed to the artefact they produce.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from realmodels import init_mlp, mlp_batch, mlp_step, transformer_args, transformer_step

from jitmagic.graphs.build import build_graph
from jitmagic.graphs.render import RenderError, render_dot
from jitmagic.ledger.signature import build_signature, output_names

STATIC = Path(__file__).resolve().parents[1] / "jitmagic" / "graphs" / "static"
TIMEOUT = 120.0


def make_loop(passes: int) -> Callable[..., Any]:
    def loop(x, y):
        for _ in range(passes):
            x = jnp.sin(x * y + 1.0) - x * 0.5
        return x
    return loop


def make_varied(passes: int) -> Callable[..., Any]:
    def varied(x, y):
        for i in range(passes):
            x = (x + float(i)) * y
        return x
    return varied


CASES = {
    ("loop", 500): (make_loop, 100), ("loop", 5000): (make_loop, 1000),
    ("varied", 500): (make_varied, 250), ("varied", 5000): (make_varied, 2500),
}
ARGS = (jnp.ones(3), jnp.ones(3))


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def render_node(dot: str) -> str:
    """Viz.js render time in node (instance creation excluded), or why not."""
    if shutil.which("node") is None:
        return "no node"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "g.dot").write_text(dot)
        script = Path(tmp) / "r.mjs"
        script.write_text(
            f'import {{ instance }} from "{(STATIC / "viz.js").as_posix()}";\n'
            'import { readFileSync } from "node:fs";\n'
            "const viz = await instance();\n"
            f'const src = readFileSync("{Path(tmp) / "g.dot"}", "utf8");\n'
            "const t0 = performance.now();\n"
            'viz.renderString(src, { format: "svg" });\n'
            "console.log(((performance.now() - t0) / 1000).toFixed(3));\n")
        try:
            done = subprocess.run(["node", str(script)], capture_output=True, text=True,
                                  timeout=TIMEOUT, check=True)
        except subprocess.TimeoutExpired:
            return f">{TIMEOUT:g} s"
        return f"{float(done.stdout):.3f} s"


PEER = {
    "jaxviz": "import jaxviz\nout = jaxviz.trace_model(fn, *args, return_html=True)\n",
    "jpviz": "import jpviz\nout = jpviz.draw(fn)(*args).create_svg()\n",
}


def run_peer(name: str, kind: str, passes: int, peers: str) -> str:
    """A peer tool on the same function, in a subprocess, killed after TIMEOUT."""
    code = (f"import sys, time; sys.path.insert(0, {peers!r})\n"
            "import jax.numpy as jnp\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"from bench_graph import make_{kind}\n"
            f"fn = make_{kind}({passes}); args = (jnp.ones(3), jnp.ones(3))\n"
            f"t0 = time.perf_counter()\n{PEER[name]}"
            "print(f'{time.perf_counter() - t0:.3f} s')\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f">{TIMEOUT:g} s (killed)"
    if done.returncode:
        return "fails: " + done.stderr.strip().splitlines()[-1][:80]
    return done.stdout.strip().splitlines()[-1]


STEPS = {
    "mlp_step": lambda: (mlp_step, (init_mlp(), *mlp_batch(32)), {"lr": 0.01}, ("lr",)),
    "transformer_step": lambda: (transformer_step, transformer_args(), {}, ()),
}


def time_step(name: str, repeat: int) -> str:
    """One row: a real train step from its traced jaxpr to a picture."""
    fun, args, kwargs, statics = STEPS[name]()
    t0 = time.perf_counter()
    traced = jax.jit(fun, static_argnames=statics).trace(*args, **kwargs)
    t_trace = time.perf_counter() - t0
    sig = build_signature(fun, args, kwargs, (), statics)
    names = [leaf.path for leaf in sig.leaves]
    outs = output_names(traced.out_info)
    t_build, g = best(lambda: build_graph(traced.jaxpr, in_names=names, out_names=outs,
                                          statics=sig.statics, title=name), repeat)
    t_dot = time_dot(g.source)
    return (f"| {name} | {g.info['n_eqns']} | {t_trace:.3f} s | {t_build:.3f} s | {g.n_nodes} "
            f"| {t_dot} | {render_node(g.source)} |")


def time_dot(source: str) -> str:
    """How long the system `dot` takes to lay out `source`, or why it refused."""
    t0 = time.perf_counter()
    try:
        render_dot(source, timeout=TIMEOUT)
    except RenderError as exc:
        return str(exc)
    return f"{time.perf_counter() - t0:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", default="", help="directory with jaxviz/jpviz installed")
    opts = parser.parse_args()
    print(f"jax {jax.__version__}, python {sys.version.split()[0]}")
    head = "| case | eqns | make_jaxpr | build+DOT | nodes | dot -Tsvg | Viz.js (node) |"
    print(head + (" jaxviz | jpviz |" if opts.peers else ""))
    print("|---" * (7 + 2 * bool(opts.peers)) + "|")
    for (kind, _size), (maker, passes) in CASES.items():
        # a fresh function each time, or make_jaxpr hits JAX's trace cache
        t_trace, closed = best(lambda m=maker, p=passes: jax.make_jaxpr(m(p))(*ARGS),
                               opts.repeat)
        t_build, g = best(lambda c=closed: build_graph(c, in_names=["x", "y"]), opts.repeat)
        t_dot = time_dot(g.source)
        row = (f"| {kind} | {g.info['n_eqns']} | {t_trace:.3f} s | {t_build:.3f} s "
               f"| {g.n_nodes} | {t_dot} | {render_node(g.source)} |")
        if opts.peers:
            row += "".join(f" {run_peer(p, kind, passes, opts.peers)} |" for p in PEER)
        print(row, flush=True)
    print("\n| train step | eqns | trace | build+DOT | nodes | dot -Tsvg | Viz.js (node) |")
    print("|---" * 7 + "|")
    for name in STEPS:
        print(time_step(name, opts.repeat), flush=True)


if __name__ == "__main__":
    main()
