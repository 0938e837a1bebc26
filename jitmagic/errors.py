"""jitmagic's own public warning and exception classes (a leaf module: imports nothing).

Diagnosed JAX errors are not defined here: they stay instances of JAX's own classes
(see `jitmagic.diagnose.diagnosis`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "JitmagicUsageError",
    "RecompileLimitError",
    "RecompileWarning",
    "SideEffectWarning",
    "StaleStaticWarning",
    "TracingPrintWarning",
]


class RecompileWarning(UserWarning):
    """A jitted function keeps recompiling (static-argument or shape churn)."""


class StaleStaticWarning(RecompileWarning):
    """A static argument changed in place, so the cache returned the result compiled for
    its old value (the recompile that should have happened did not)."""


class TracingPrintWarning(UserWarning):
    """A Python `print` in a jitted body: it ran while tracing, not on every call."""


class SideEffectWarning(UserWarning):
    """A jitted body stored a tracer outside itself, or changed state the trace drops."""


class JitmagicUsageError(ValueError):
    """The user asked jitmagic for something impossible (e.g. an unknown static name)."""


class RecompileLimitError(RuntimeError):
    """More compiles happened than a ``max_compiles`` budget allows.

    Attributes:
        ledger: whatever record of compiles the caller passed (the tracked function's
            ledger), so a test can print what compiled and why.
    """

    def __init__(self, message: str, ledger: Any = None) -> None:
        super().__init__(message)
        self.ledger = ledger

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.ledger))
