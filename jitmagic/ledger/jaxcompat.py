"""The only module that touches private JAX API.

Each function here names the private detail it relies on and degrades to a
public-API fallback; tests/test_jaxcompat.py fails loudly when JAX changes it.
"""

from __future__ import annotations

from collections.abc import Callable
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
