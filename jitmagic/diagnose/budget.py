"""Compile budgets: ``with jitmagic.max_compiles(n):`` and ``--max-compiles N``.

Counted on the miss path only (a tracked function's post-miss checks call
:func:`note_compile`), so a cache hit costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ContextDecorator
from typing import Any

from jitmagic.errors import RecompileLimitError


class CompileBudget:
    """Counts compiles against ``limit``; raises ``RecompileLimitError`` past it."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"max_compiles needs a limit >= 0, got {limit}")
        self.limit = limit
        self.count = 0

    def note(self, ledger: Any = None, fun_name: str | None = None) -> None:
        """Count one compile; raise if it is over the limit."""
        error = self._count(ledger, fun_name)
        if error is not None:
            raise error

    def _count(self, ledger: Any, fun_name: str | None) -> RecompileLimitError | None:
        self.count += 1
        if self.count <= self.limit:
            return None
        fun_name = fun_name or getattr(ledger, "__name__", None)
        where = f" (of `{fun_name}`)" if fun_name else ""
        details = getattr(ledger, "ledger_text", None)
        return RecompileLimitError(
            f"jitmagic: compile #{self.count}{where} exceeds the budget of "
            f"max_compiles({self.limit})." + (f"\n{details()}" if callable(details) else ""),
            ledger=ledger,
        )


_ACTIVE: list[CompileBudget] = []
_ACTIVE_LOCK = threading.Lock()


class max_compiles(ContextDecorator):  # lower case: reads like a function in `with`
    """``with jitmagic.max_compiles(n):`` -- at most ``n`` compiles inside, in any thread.

    Nested budgets each count every compile; the innermost exceeded one raises.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._local = threading.local()  # one stack per thread: reentrant, thread-safe decorator

    def _stack(self) -> list[CompileBudget]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @property
    def budget(self) -> CompileBudget | None:
        """The budget this thread opened last (None outside the block)."""
        stack = self._stack()
        return stack[-1] if stack else None

    def __enter__(self) -> CompileBudget:
        budget = CompileBudget(self.n)
        self._stack().append(budget)
        with _ACTIVE_LOCK:
            _ACTIVE.append(budget)
        return budget

    def __exit__(self, *exc: object) -> None:
        budget = self._stack().pop()
        with _ACTIVE_LOCK:
            _ACTIVE.remove(budget)


def active_budgets() -> Iterator[CompileBudget]:
    """The budgets currently open (outermost first)."""
    with _ACTIVE_LOCK:
        return iter(list(_ACTIVE))


def note_compile(ledger: Any = None, fun_name: str | None = None) -> None:
    """Count one compile against every open budget (called by the tracked jit's miss path).

    Every budget counts it; the innermost one over its limit raises.
    """
    with _ACTIVE_LOCK:
        errors = [budget._count(ledger, fun_name) for budget in _ACTIVE]
    for error in reversed(errors):
        if error is not None:
            raise error
