"""Hit-path cost with a live dashboard displayed (its 10 Hz polling thread running).

Run: ``python benchmarks/bench_dashboard.py [--calls 100000] [--repeat 7] [--kernel]``

Cases, interleaved in one process (every repeat times each case once, so drift on a
shared machine hits all alike), each a loop of ``--calls`` cache hits of the seed
function ``conditional_double(x, threshold=0.0)``:

* ``bare jax.jit``: no jitmagic;
* ``tracked``: `jitmagic.jit`, no dashboard, no polling thread;
* ``tracked + dashboard``: the same, with a displayed `Dashboard` and the poller
  running, so the HTML view is rebuilt and re-published (with ``--kernel``, as real
  ``update_display_data`` messages on IOPub) about ten times a second while the loop runs.

Reported: min and median ns per call and the ratio to bare ``jax.jit`` (target for the
dashboard case: <= 1.20x). ``--kernel`` runs the same measurement inside a real
ipykernel (started with jupyter_client), where updates are real display messages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _loop(f: Callable[..., Any], x: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        f(x, threshold=0.0)
    return time.perf_counter() - start


def _with_dashboard(tracked: Any, x: Any, calls: int, updates: list[int]) -> float:
    """One loop with a displayed dashboard; checks the final numbers are exact."""
    import json

    from jitmagic.dashboard import live, poller

    sent: list[str] = []  # what a kernel would send: the serialized bundle
    handle = _display_handle()

    def publish(bundle: dict[str, Any]) -> None:
        sent.append(json.dumps(bundle))
        if handle is not None:  # inside a kernel: a real update_display_data message
            handle.update(bundle, raw=True)

    board = live.Dashboard(tracked, key="bench", publish=publish)
    board._repr_mimebundle_()
    poller.POLLER.add(board.key, board)  # displayed: polled by the (now running) thread
    before = board.updates
    seconds = _loop(tracked, x, calls)
    poller.flush()
    updates.append(board.updates - before)
    exact = f"class='jm-calls'>{tracked.stats.calls}<"
    assert exact in json.loads(sent[-1])["text/html"], "final numbers must be exact"
    board.close()
    return seconds


def _display_handle() -> Any:
    """A display handle when running in a kernel (so updates really go out), else None."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return display({"text/plain": "dashboard"}, raw=True, display_id=True)


def measure(calls: int, repeat: int) -> dict[str, Any]:
    """Time the three cases interleaved; returns per-case seconds-per-call lists."""
    import jax
    import jax.numpy as jnp

    import jitmagic
    from jitmagic.dashboard import poller

    def conditional_double(x: Any, threshold: float) -> Any:
        return jnp.where(x > threshold, x * 2, x)

    bare = jax.jit(conditional_double, static_argnames="threshold")
    tracked = jitmagic.jit(conditional_double, static_argnames="threshold")
    x = jnp.array(5.0)
    for f in (bare, tracked):
        f(x, threshold=0.0).block_until_ready()
    times: dict[str, list[float]] = {"bare jax.jit": [], "tracked": [],
                                     "tracked + dashboard": []}
    updates: list[int] = []
    cases = {
        "bare jax.jit": lambda: _loop(bare, x, calls),
        "tracked": lambda: _loop(tracked, x, calls),
        "tracked + dashboard": lambda: _with_dashboard(tracked, x, calls, updates),
    }
    order = list(cases)
    for r in range(repeat):
        for case in order[r % 3:] + order[: r % 3]:  # rotate: no case always runs first
            poller.shutdown()
            times[case].append(cases[case]() / calls)
    poller.shutdown()
    return {"times": times, "updates": updates, "misses": tracked.stats.misses}


def report(result: dict[str, Any], calls: int, where: str) -> str:
    times = result["times"]
    base_min = min(times["bare jax.jit"])
    base_med = statistics.median(times["bare jax.jit"])
    lines = [f"{calls} hits per loop, {len(times['bare jax.jit'])} interleaved repeats ({where})",
             f"{'case':<22}{'min ns':>9}{'median ns':>11}{'ratio min':>11}{'ratio med':>11}"]
    for case, ts in times.items():
        lo, med = min(ts), statistics.median(ts)
        lines.append(f"{case:<22}{lo * 1e9:>9.0f}{med * 1e9:>11.0f}"
                     f"{lo / base_min:>10.3f}x{med / base_med:>10.3f}x")
    lines.append(f"dashboard updates per loop: {result['updates']} "
                 f"(misses during the run: {result['misses']})")
    return "\n".join(lines)


def in_kernel(calls: int, repeat: int) -> str:
    """Run `measure` inside a real ipykernel so widget updates are real IOPub messages."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        here = Path(__file__).resolve()
        code = (f"import sys; sys.path.insert(0, {str(here.parent)!r})\n"
                "import bench_dashboard as b\n"
                f"print(b.report(b.measure({calls}, {repeat}), {calls}, 'inside ipykernel'))")
        chunks: list[str] = []
        kc.execute_interactive(code, timeout=1800, output_hook=lambda m: _collect(m, chunks))
        return "".join(chunks)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _collect(msg: dict[str, Any], chunks: list[str]) -> None:
    if msg["msg_type"] == "stream":
        chunks.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        chunks.append("\n".join(msg["content"]["traceback"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--kernel", action="store_true", help="measure inside a real ipykernel")
    a = ap.parse_args(argv)
    if a.kernel:
        print(in_kernel(a.calls, a.repeat))
    else:
        print(report(measure(a.calls, a.repeat), a.calls, "plain python, no frontend"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
