"""A new `jitmagic.jit` per call: one function wrapped again and again at one place.

`jitmagic.jit(step)(x)` in a loop, or inside a function that is called repeatedly, builds a
new tracked function each time, and each one compiles: its cache starts empty (the tracing
shim is new, so JAX shares nothing between them). No single function ever misses twice,
so churn never sees it. Counted per (code of the wrapped function, code and line that built
it, options), at each tracked function's first compile, in `ledger.registry` (weak, and
cleared by `events.reset()`); said once, at the `REBUILDS`-th. A cell re-run or a function
redefined is new code, so it starts from nothing; only the Python API is counted.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any

from jitmagic.diagnose.dialect import jit_text
from jitmagic.errors import RecompileWarning
from jitmagic.ledger import registry

REBUILDS = 3  # tracked functions of one code, built at one place, that each compiled


def build_site() -> tuple[Any, int] | None:
    """(code, line) of the user's frame that called `jitmagic.jit` (outside jitmagic)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "jitmagic" and not module.startswith("jitmagic."):
            return frame.f_code, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


class Rebuilds:
    """Counts this tracked function's build, once, at its first compile."""

    def __init__(self, site: tuple[Any, int] | None, stacklevel: int) -> None:
        self._site, self._stacklevel = site, stacklevel
        self.counted = False

    def on_first_compile(self, fn: Any) -> None:
        if self.counted or self._site is None or fn.source.dialect != "api":
            return
        self.counted = True
        code = getattr(inspect.unwrap(fn.__wrapped__), "__code__", None)
        if code is None:  # a partial or a callable object: no code identity
            return
        site_code, line = self._site
        options = repr(sorted(fn.jit_kwargs.items()))
        if registry.count_build(code, site_code, (line, options)) == REBUILDS:
            warnings.warn(rebuilt_words(fn, site_code.co_filename, line), RecompileWarning,
                          stacklevel=self._stacklevel)


def rebuilt_words(fn: Any, filename: str, line: int) -> str:
    """Headline (function, line, why it compiles each time) and the fix, in API form."""
    name = fn.__name__
    if name == "<lambda>":
        build = "the jit of a function defined once (a `def`, not a lambda in the loop)"
    else:
        build = f"`{name}_jit = {jit_text('api', fn.__wrapped__, fn.static_argnames)}`"
    return (f"jitmagic: `{name}` gets a new jitmagic.jit at line {line} of {filename} on every "
            f"call ({REBUILDS} so far), and each new one compiles again: its cache starts empty."
            f"\n  Fix: build it once, outside the loop or function: {build}, and call that.")
