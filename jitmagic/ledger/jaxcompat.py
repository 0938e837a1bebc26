"""The only module that touches private JAX API.

Each function here names the private detail it relies on and degrades to a
public-API fallback; tests/test_jaxcompat.py fails loudly when JAX changes it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any


def cache_size_probe(jitted: Any) -> Callable[[], int] | None:
    """The C++ dispatch-cache size of a `jax.jit` object (private `_cache_size`).

    Reading it before and after a call is the cheapest miss detector (~40 ns):
    without it every call would need the slow path. None when JAX removed it.
    """
    probe = getattr(jitted, "_cache_size", None)
    if probe is None:
        return None
    try:
        int(probe())
    except Exception:
        return None
    return probe


def user_source_line(source_info: Any) -> tuple[str, int, str] | None:
    """(file, line, function) of the user frame that made a jaxpr equation.

    Graph tooltips point the user at their own line. Public `jax.extend.source_info_util`
    only offers `summarize` (formatted text); the frame itself needs the private
    `jax._src.source_info_util.user_frame`. None when unavailable.
    """
    try:
        from jax._src import source_info_util
    except ImportError:  # pragma: no cover - JAX moved it
        return None
    traceback = getattr(source_info, "traceback", None)
    try:
        frame = source_info_util.user_frame(traceback)
    except Exception:
        return None
    if frame is None:
        return None
    return frame.file_name, int(frame.start_line), frame.function_name


@dataclass(frozen=True)
class JitTrace:
    """What `jax.jit` was tracing when its `jaxpr_trace_duration` event fired."""

    fun: Any  # the callable given to jax.jit
    args: tuple
    kwargs: dict
    static_argnums: tuple[int, ...]
    static_argnames: tuple[str, ...]
    arg_names: tuple[str, ...] | None  # JAX's names of the dynamic leaves
    avals: tuple  # the dynamic leaves' abstract values, in `arg_names` order
    src_info: str | None  # "f at file.py:12"


_TRACE_FRAME = "_trace_for_jit"  # jax/_src/pjit.py, around the trace event
_MAX_DEPTH = 12


def jit_trace_in_progress() -> JitTrace | None:
    """The function, arguments and debug info of the jit whose trace event is firing.

    Called from a `jax.monitoring` duration listener: the event is recorded by
    `log_elapsed_time.__exit__` inside the private `jax._src.pjit._trace_for_jit`,
    whose locals (`fun`, `ji`, `args`, `kwargs`, `dbg`, `avals`) name and type the
    arguments. None when that frame or a local is not there (JAX changed): the caller
    then records the compile without a signature.
    """
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_name == _TRACE_FRAME and code.co_filename.endswith("pjit.py"):
            break
        frame = frame.f_back
    else:
        return None
    try:
        local = frame.f_locals
        ji, dbg = local["ji"], local["dbg"]
        return JitTrace(
            fun=local["fun"], args=tuple(local["args"]), kwargs=dict(local["kwargs"]),
            static_argnums=tuple(ji.static_argnums), static_argnames=tuple(ji.static_argnames),
            arg_names=tuple(dbg.arg_names) if dbg.arg_names is not None else None,
            avals=tuple(local["avals"]), src_info=getattr(dbg, "func_src_info", None),
        )
    except Exception:
        return None
    finally:
        del frame
