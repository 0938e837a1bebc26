"""Fixes written the way the user built the function: Python API, `%jit`, or `%%jitcell`.

The dialect comes from the ledger's `SourceMap.dialect` ("api" for `jitmagic.jit`, "%jit",
"%%jitcell"); a user of `jitmagic.jit(f, ...)` is never told to type a magic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jitmagic.ledger.signature import function_name


def names_text(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _argnames(static: tuple[str, ...]) -> str:
    quoted = ", ".join(f'"{n}"' for n in static) + ("," if len(static) == 1 else "")
    return f"static_argnames=({quoted})"


def jit_text(
    dialect: str, fun: Callable[..., Any], static: tuple[str, ...], autocond: bool = False
) -> str:
    """How to build the tracked function with ``static`` static (and autocond)."""
    name = function_name(fun)
    if dialect in ("%jit", "%%jitcell"):
        flags = (f" --static {' '.join(static)}" if static else "") + (
            " --autocond" if autocond else "")
        return f"%%jitcell{flags}" if dialect == "%%jitcell" else f"%jit {name}{flags}"
    options = [_argnames(static)] if static else []
    options += ["autocond=True"] if autocond else []
    return f"jitmagic.jit({', '.join([name, *options])})"
