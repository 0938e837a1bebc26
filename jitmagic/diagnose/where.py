"""Where in the user's code a tracer error happened: file line, cell line, statement."""

from __future__ import annotations

import ast
import inspect
import linecache
import re
from collections.abc import Callable
from typing import Any

from jitmagic.diagnose.retrace import user_line


class Where:
    """The user's line for ``err``: file line, cell line, text, and the enclosing statement."""

    def __init__(
        self,
        fun: Callable[..., Any],
        source_file: str | None,
        line_offset: int,
        cell_source: str | None,
        err: BaseException,
    ) -> None:
        code = getattr(inspect.unwrap(fun), "__code__", None)
        self.fun = fun
        self.filename = source_file or (code.co_filename if code else None)
        self.cell = cell_source
        self.file_line = user_line(err, fun, self.filename)
        self.lineno = None if self.file_line is None else self.file_line - line_offset
        self.text = self._text()

    def _text(self) -> str | None:
        if self.lineno is None:
            return None
        if self.cell is not None:
            lines = self.cell.splitlines()
            text = lines[self.lineno - 1] if 0 < self.lineno <= len(lines) else ""
        else:
            text = linecache.getline(self.filename or "", self.file_line or 0)
        return re.sub(r"\s*#[^'\"]*$", "", text).strip() or None

    def key(self, err: BaseException | None) -> tuple[Any, ...] | None:
        """What identifies "the same error" when re-tracing: its class and user line."""
        return None if err is None else (type(err), user_line(err, self.fun, self.filename))

    def statement(self) -> tuple[ast.stmt, list[ast.stmt], int, str] | None:
        """The innermost statement on the user's line, its block, index, and file source."""
        source = "".join(linecache.getlines(self.filename or ""))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        found = _innermost(tree.body, self.file_line or 0)
        return None if found is None else (*found, source)


def _innermost(body: list[ast.stmt], line: int) -> tuple[ast.stmt, list[ast.stmt], int] | None:
    for index, node in enumerate(body):
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            header = getattr(node, "test", None) or getattr(node, "iter", None)
            if header is not None and line <= (header.end_lineno or node.lineno):
                return node, body, index
            blocks = [getattr(node, f, None) for f in ("body", "orelse", "finalbody")]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    inner = _innermost(block, line)
                    if inner is not None:
                        return inner
            return node, body, index
    return None
