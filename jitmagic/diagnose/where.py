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
        dialect: str = "api",
        rebuild: Callable[..., Callable[..., Any]] | None = None,
    ) -> None:
        code = getattr(inspect.unwrap(fun), "__code__", None)
        self.fun = fun
        self.filename = source_file or (code.co_filename if code else None)
        self.cell = cell_source
        self.line_offset = line_offset
        self.dialect = "%%jitcell" if cell_source is not None else dialect
        self.rebuild = rebuild
        self.error_text = str(err)
        self.file_line = user_line(err, fun, self.filename)
        self.lineno = None if self.file_line is None else self.file_line - line_offset
        self.text = self._text()
        self.inner, self.inner_params = _inner_function(err, code, self.filename)

    def line_text(self, file_line: int) -> str:
        """The text of another line of the user's file (comment stripped)."""
        if self.cell is not None:
            lines = self.cell.splitlines()
            n = file_line - self.line_offset
            text = lines[n - 1] if 0 < n <= len(lines) else ""
        else:
            text = linecache.getline(self.filename or "", file_line)
        return re.sub(r"\s*#[^'\"]*$", "", text).strip()

    def _text(self) -> str | None:
        if self.lineno is None:
            return None
        if self.cell is not None:
            lines = self.cell.splitlines()
            text = lines[self.lineno - 1] if 0 < self.lineno <= len(lines) else ""
        else:
            text = linecache.getline(self.filename or "", self.file_line or 0)
        return re.sub(r"\s*#[^'\"]*$", "", text).strip() or None

    def assignment_of_names_on(self, line: int) -> tuple[int, str] | None:
        """The earlier ``name = jnp...`` line that made a name used on ``line`` (the origin)."""
        source = self.cell if self.cell is not None else "".join(
            linecache.getlines(self.filename or ""))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        local = line - self.line_offset if self.cell is not None else line
        for node in ast.walk(tree):  # look inside the function that holds the line
            if isinstance(node, ast.FunctionDef) and node.lineno <= local <= (
                    node.end_lineno or 0):
                tree = node  # type: ignore[assignment]
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                getattr(n, "lineno", 0) == local and isinstance(n.ctx, ast.Load)}
        best = None
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and node.lineno < local and any(
                    isinstance(t, ast.Name) and t.id in used for t in node.targets) and \
                    "jnp." in (ast.get_source_segment(source, node.value) or "") and (
                    best is None or node.lineno > best.lineno):
                best = node
        if best is None or best.lineno != best.end_lineno:
            return None
        file_line = best.lineno + (self.line_offset if self.cell is not None else 0)
        return file_line, self.line_text(file_line)

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


def _inner_function(err: BaseException, code: Any,
                    filename: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The user function (not ``fun``) that was running, and its parameters: a loop body."""
    tb, inside, found = err.__traceback__, False, None
    while tb is not None:
        frame_code = tb.tb_frame.f_code
        inside = inside or frame_code is code
        if inside and frame_code.co_filename == filename:
            found = None if frame_code is code else frame_code
        tb = tb.tb_next
    if found is None:
        return None, ()
    count = found.co_argcount + found.co_kwonlyargcount
    return found.co_name, tuple(found.co_varnames[:count])


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
