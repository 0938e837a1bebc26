"""Execute a printed fix, independently of how the diagnosis verified it.

A rewrite (``fix_lines`` set) is applied to the text of the module the function lives in,
the whole module is executed afresh, and the fixed function is run under ``jax.jit``. A jit
option (``jitmagic.jit(f, static_argnames=...)``) is evaluated as Python and called. What
"pass n as a Python int" asks is done to the arguments first.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
import types
from typing import Any

import jax
import numpy as np

import jitmagic


def scalars(values: Any) -> Any:
    """0-d arrays as Python scalars, as the diagnosis tells the user to pass them."""
    def one(v: Any) -> Any:
        if isinstance(v, (jax.Array, np.ndarray)) and v.ndim == 0 and not jax.dtypes.issubdtype(
                v.dtype, jax.dtypes.prng_key):
            return np.asarray(v).item()
        return v

    return jax.tree_util.tree_map(one, values)


def run_printed_fix(fun: Any, d: Any, args: tuple, kwargs: dict, static: tuple[str, ...]) -> Any:
    """Run the fix ``d.fix_code`` prints for ``fun(*args, **kwargs)``; its result."""
    code = d.fix_code
    assert code, "no fix printed as code"
    if d.fix_lines is not None:
        fixed = _rewritten(fun, d.fix_lines, code)
        return jax.jit(fixed, static_argnames=static)(*args, **kwargs)
    if "as a Python" in code or "pass `" in code:
        args, kwargs = scalars(args), scalars(kwargs)
    match = re.search(r"jitmagic\.jit\(.*\)", code)
    if match:
        made = eval(match.group(0), {fun.__name__: fun, "jitmagic": jitmagic})
        return made(*args, **kwargs)
    match = re.search(r"(\w+) = (\w+)\.filter_jit\((\w+)\)", code)
    if match:
        library = sys.modules["equinox"]
        return library.filter_jit(fun)(*args, **kwargs)
    raise AssertionError(f"not runnable: {code!r}")


def _rewritten(fun: Any, lines: tuple[int, int], code: str) -> Any:
    """``fun``'s module re-run with file ``lines`` replaced by ``code``; the new ``fun``."""
    module = sys.modules[fun.__module__]
    text = inspect.getsource(module).splitlines(True)
    first, last = lines
    indent = re.match(r"\s*", text[first - 1]).group(0)
    new = textwrap.indent(code.strip() + "\n", indent)
    source = "".join(text[: first - 1]) + new + "".join(text[last:])
    fresh = types.ModuleType(module.__name__ + "_fixed")
    fresh.__dict__["__file__"] = module.__file__
    sys.modules[fresh.__name__] = fresh  # dataclasses look their module up
    try:
        exec(compile(source, module.__file__ or "<fixed>", "exec"), fresh.__dict__)
    finally:
        del sys.modules[fresh.__name__]
    return getattr(fresh, fun.__name__)
