"""Public exception and warning classes, and the diagnosed copy of a JAX error.

A diagnosed error must stay an instance of the original JAX class, so user code that
catches ``jax.errors.ConcretizationTypeError`` keeps working. JAX error constructors take a
tracer, not a message, so we never call them: :func:`with_diagnosis` copies the original
into a cached subclass that carries the new message and pickles through :func:`_rebuild`.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = [
    "JitmagicUsageError",
    "RecompileLimitError",
    "RecompileWarning",
    "with_diagnosis",
]


class RecompileWarning(UserWarning):
    """A jitted function keeps recompiling (static-argument or shape churn)."""


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


_SUBCLASSES: dict[type[BaseException], type[BaseException]] = {}
_LOCK = threading.Lock()


def _diagnosed_class(base: type[BaseException]) -> type[BaseException]:
    """Return (once per base) a subclass of ``base`` that prints like ``base``."""
    with _LOCK:
        cls = _SUBCLASSES.get(base)
        if cls is None:
            namespace = {
                "__module__": base.__module__,
                "__qualname__": base.__qualname__,
                "__str__": lambda self: self._jitmagic_message,
                "__reduce__": lambda self: (
                    _rebuild, (base, self._jitmagic_message, self.diagnosis)
                ),
                "_jitmagic_diagnosed": True,
            }
            cls = type(base.__name__, (base,), namespace)
            _SUBCLASSES[base] = cls
        return cls


def _rebuild(base: type[BaseException], message: str, diagnosis: Any) -> BaseException:
    """Unpickle a diagnosed error without calling JAX's tracer-taking constructor."""
    cls = _diagnosed_class(base)
    exc = cls.__new__(cls)
    exc.args = (message,)
    exc._jitmagic_message = message  # type: ignore[attr-defined]
    exc.diagnosis = diagnosis  # type: ignore[attr-defined]
    return exc


def with_diagnosis(err: BaseException, text: str, diagnosis: Any) -> BaseException:
    """Copy ``err`` into its diagnosed subclass; ``str()`` is ``text`` then the JAX text.

    The caller raises the result ``from err``; attributes such as ``__notes__`` are copied,
    the traceback is not (the new raise gives it one).
    """
    base = type(err)
    if getattr(base, "_jitmagic_diagnosed", False):
        base = base.__mro__[1]
    message = f"{text}\n\n{err}"
    new = _rebuild(base, message, diagnosis)
    for key, value in vars(err).items():
        if key not in ("_jitmagic_message", "diagnosis"):
            setattr(new, key, value)
    return new
