"""Where a compile came from: the user's calling line, the function's definition, its identity.

Frames inside JAX, jitmagic, the standard library's `contextlib`/`threading` and any
installed library (site-/dist-packages) are skipped, so the call site is the user's own
line. A notebook cell's file is named by a resolver the notebook glue registers
(`In[3], line 5`); without one, `file.py:LINE`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

import jax

_SKIP_DIRS = (
    os.path.dirname(jax.__file__) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # jitmagic
    os.path.dirname(functools.__file__) + os.sep,  # the standard library
)
_SKIP_PARTS = ("site-packages", "dist-packages", "<frozen")
_JAX_DIR = _SKIP_DIRS[0]
_MAX_FRAMES = 200

Resolver = Callable[[str], "str | None"]
_resolvers: list[Resolver] = []


def add_resolver(resolver: Resolver) -> None:
    """Register `resolver(filename) -> "In[3]"` (or None) for files that are notebook cells."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def remove_resolver(resolver: Resolver) -> None:
    if resolver in _resolvers:
        _resolvers.remove(resolver)


def is_library_file(filename: str) -> bool:
    """True for JAX, jitmagic, the standard library and installed packages."""
    return filename.startswith(_SKIP_DIRS) or any(p in filename for p in _SKIP_PARTS)


def is_jax_file(filename: str) -> bool:
    return filename.startswith(_JAX_DIR)


def location(filename: str, line: int) -> str:
    """`In[3], line 5` for a notebook cell, else `file.py:5`."""
    for resolver in tuple(_resolvers):
        try:
            cell = resolver(filename)
        except Exception:
            cell = None
        if cell:
            return f"{cell}, line {line}"
    return f"{os.path.basename(filename)}:{line}"


def user_frame(start: FrameType | None) -> FrameType | None:
    """The innermost frame outside every library: the user's line."""
    frame, depth = start, 0
    while frame is not None and depth < _MAX_FRAMES:
        if not is_library_file(frame.f_code.co_filename):
            return frame
        frame, depth = frame.f_back, depth + 1
    return None


def call_site(start: FrameType | None = None) -> tuple[str | None, FrameType | None]:
    """(text, frame) of the user's line that led to the running compile."""
    frame = user_frame(start if start is not None else sys._getframe(1))
    if frame is None:
        return None, None
    return location(frame.f_code.co_filename, frame.f_lineno), frame


def unwrap(fun: Any) -> Any:
    """The user's function under `partial`, `functools.wraps` wrappers (nnx.jit's JitFn)."""
    for _ in range(16):
        if isinstance(fun, functools.partial):
            fun = fun.func
        elif getattr(fun, "__code__", None) is None and hasattr(fun, "__wrapped__"):
            fun = fun.__wrapped__
        else:
            return fun
    return fun


def code_of(fun: Any) -> CodeType | None:
    code = getattr(unwrap(fun), "__code__", None)
    return code if isinstance(code, CodeType) else None


def definition(fun: Any) -> tuple[str | None, Any, bool]:
    """(defined_at text, code identity, is a JAX-internal function) of a jitted callable.

    Code identity is (file, first line, qualified name): a function re-created by a loop
    or by re-running its cell keeps it, so its compiles are grouped and called re-created.
    """
    code = code_of(fun)
    if code is None:
        return None, None, False
    key = (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))
    return location(code.co_filename, code.co_firstlineno), key, is_jax_file(code.co_filename)
