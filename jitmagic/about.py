"""`jitmagic.info()`: what this installation runs on, so a slow path is never silent."""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass

import jax

from jitmagic.ledger.forward import HAVE_C, MISSING_C


@dataclass(frozen=True)
class Info:
    """Versions and the hit-path implementation in use."""

    version: str
    python: str
    jax: str
    forwarder: str  # "C" or "pure Python"
    gil_enabled: bool | None
    dot: str | None  # path of Graphviz's `dot`, if any

    def __str__(self) -> str:
        lines = [
            f"jitmagic {self.version} on Python {self.python}, jax {self.jax}",
            f"hit path: {self.forwarder} forwarder"
            + ("" if self.forwarder == "C" else f"\n  {MISSING_C}"),
            f"graphs: {'Graphviz dot at ' + self.dot if self.dot else 'in-browser Viz.js'}",
        ]
        if self.gil_enabled is not None:
            lines.append(f"GIL enabled: {self.gil_enabled}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(str(self))  # type: ignore[attr-defined]


def describe(version: str) -> Info:
    """`jitmagic.info()` for package version `version` (owned by `jitmagic/__init__.py`)."""
    gil = getattr(sys, "_is_gil_enabled", None)
    return Info(
        version=version,
        python=platform.python_version(),
        jax=jax.__version__,
        forwarder="C" if HAVE_C else "pure Python",
        gil_enabled=gil() if callable(gil) else None,
        dot=shutil.which("dot"),
    )
