"""The only module that touches private JAX (or JAX-library) API.

Each function here names the private detail it relies on and degrades to a
public-API fallback; tests/ledger/test_jaxcompat.py (and, for the compile watch's
reads, tests/watch/test_compat_canaries.py) fails loudly when JAX or equinox changes it.
"""

from __future__ import annotations

import os
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


def _frame_named(
    frame: FrameType | None, name: str, file_suffix: str, depth: int
) -> FrameType | None:
    """The nearest frame, `frame` or up to `depth` callers above it, running `name` from a
    file ending in `file_suffix`: how a private function's locals are found."""
    for _ in range(depth):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_name == name and code.co_filename.endswith(file_suffix):
            return frame
        frame = frame.f_back
    return None


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
    frame = _frame_named(sys._getframe(1), _TRACE_FRAME, "pjit.py", _MAX_DEPTH)
    if frame is None:
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


@dataclass(frozen=True)
class WrapperCall:
    """The user's function and arguments as a wrapping library received them."""

    fun: Any
    args: tuple
    kwargs: dict


_EQX_FRAME = ("_call", os.path.join("equinox", "_jit.py"))
_EQX_DEPTH = 40


def is_equinox_wrapper(fun: Any) -> bool:
    """True for the function equinox's `filter_jit` hands to `jax.jit` (it lives in `_jit.py`).

    Its arguments are `(dynamic_donate, dynamic_nodonate, static)`: meaningless to the
    user, so when `equinox_call_in_progress` fails the watch records no signature.
    """
    code = getattr(fun, "__code__", None)
    return code is not None and code.co_filename.endswith(_EQX_FRAME[1])


def equinox_call_in_progress(frame: FrameType | None = None) -> WrapperCall | None:
    """The user's function and arguments of the `equinox.filter_jit` call now tracing.

    Reads the locals `jit_wrapper`, `args`, `kwargs` of the private
    `equinox._jit._call(jit_wrapper, is_lower, args, kwargs)` frame, and the user's
    function as `jit_wrapper.__wrapped__`. None when that frame or a local is not there
    (equinox changed, or no equinox call is on the stack).
    """
    frame = _frame_named(frame if frame is not None else sys._getframe(1), *_EQX_FRAME,
                         _EQX_DEPTH)
    if frame is None:
        return None
    try:
        local = frame.f_locals
        fun = local["jit_wrapper"].__wrapped__
        if not callable(fun):
            return None
        return WrapperCall(fun, tuple(local["args"]), dict(local["kwargs"]))
    except Exception:
        return None
    finally:
        del frame
