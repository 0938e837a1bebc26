"""Rewrites of the user's own statement into traced JAX: candidates, each traced before use.

Each function here proposes an `Edit` (the file lines to replace, and the new text) built
from the user's AST and source segments, so their names and formatting are kept. Nothing
here claims a rewrite works: `jitmagic.diagnose.fixes` traces the patched function and
prints the code only if that succeeds; otherwise the `hint` (words) is shown.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jitmagic.diagnose.patch import Edit

Found = tuple[ast.stmt, list[ast.stmt], int, str]  # statement, its block, index, file source


@dataclass(frozen=True)
class Rewrite:
    """A candidate fix: its kind, the edit to trace (if any), and words if it fails."""

    kind: str
    edit: Edit | None
    hint: str


def _seg(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or "..."


def _replace_segments(source: str, stmt: ast.stmt, changes: Sequence[tuple[ast.AST, str]]) -> Edit:
    """``stmt`` with each node's source segment replaced (innermost-last order is fine)."""
    lines = source.splitlines(True)
    first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
    text = "".join(lines[first - 1:last])
    base = sum(len(x) for x in lines[: first - 1])
    offsets = [0, *_line_starts(lines)]

    def offset(line: int, col: int) -> int:
        return offsets[line - 1] + len(lines[line - 1].encode()[:col].decode()) - base

    located: list[tuple[Any, str]] = list(changes)  # nodes with positions (expr, stmt, ...)
    spans = sorted(((offset(n.lineno, n.col_offset), offset(n.end_lineno, n.end_col_offset), new)
                    for n, new in located), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return Edit(first, last, text)


def _line_starts(lines: list[str]) -> list[int]:
    out, total = [], 0
    for line in lines:
        total += len(line)
        out.append(total)
    return out


def traced_spelling(source: str, node: ast.AST) -> str | None:
    """``not a`` -> ``jnp.logical_not(a)``, ``a and b`` -> ``(a) & (b)``; None if neither."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = traced_spelling(source, node.operand) or _seg(source, node.operand)
        return f"jnp.logical_not({inner})"
    if isinstance(node, ast.BoolOp):
        op = " & " if isinstance(node.op, ast.And) else " | "
        return op.join(f"({traced_spelling(source, v) or _seg(source, v)})" for v in node.values)
    return None


def _logic_nodes(stmt: ast.AST) -> list[ast.AST]:
    """Outermost ``not`` / ``and`` / ``or`` nodes inside ``stmt``."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.BoolOp) or (
                isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            found.append(node)
            return
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.Lambda)):
                visit(child)

    visit(stmt)
    return found


def branch(found: Found, line: int) -> Rewrite:
    """A Python ``if``/``while``/``and``/``not``/``x if c else y`` on a traced bool."""
    stmt, block, index, source = found
    cond_of = lambda test: traced_spelling(source, test) or _seg(source, test)  # noqa: E731
    if isinstance(stmt, ast.Assert):
        return Rewrite("checkify", None, f"checkify.check({_seg(source, stmt.test)}, ...) from "
                       "jax.experimental.checkify, or eqx.error_if")
    if isinstance(stmt, ast.While):
        return _while(stmt, source, cond_of)
    if isinstance(stmt, ast.If) and stmt.test.lineno <= line <= (stmt.test.end_lineno or line):
        if _exits(stmt) and _in_loop(source, stmt):
            return Rewrite("while_loop", None, "a loop that stops early on data is a "
                           "lax.while_loop(cond_fun, body_fun, init), the stop test in cond_fun")
        return _if(stmt, block, index, source, cond_of)
    for node in ast.walk(stmt):
        if isinstance(node, ast.IfExp) and node.test.lineno <= line:
            new = (f"jnp.where({cond_of(node.test)}, {_seg(source, node.body)}, "
                   f"{_seg(source, node.orelse)})")
            return Rewrite("where", _replace_segments(source, stmt, [(node, new)]),
                           "jnp.where(cond, a, b) instead of `a if cond else b`")
    logic = _logic_nodes(stmt)
    if logic:
        changes = [(n, traced_spelling(source, n) or "") for n in logic]
        return Rewrite("logical", _replace_segments(source, stmt, changes),
                       "jnp.logical_not / & / | instead of not / and / or")
    return Rewrite("where", None, "jnp.where(cond, a, b) or lax.cond(cond, true_fn, false_fn, x)")


def _exits(stmt: ast.If) -> bool:
    return any(isinstance(n, (ast.Return, ast.Break)) for n in ast.walk(stmt))


def _in_loop(source: str, stmt: ast.stmt) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.For, ast.While)) and n.lineno < stmt.lineno <= (
        n.end_lineno or 0) for n in ast.walk(tree))


def _if(stmt: ast.If, block: list[ast.stmt], index: int, source: str, cond_of: object) -> Rewrite:
    then, other = stmt.body, stmt.orelse
    last = stmt.end_lineno or stmt.lineno
    if not other and isinstance(then[-1], ast.Return) and index + 1 < len(block):
        other = block[index + 1: index + 2]
        last = other[0].end_lineno or last
    cond = cond_of(stmt.test)  # type: ignore[operator]
    hint = f"jnp.where({cond}, a, b) or lax.cond({cond}, true_fn, false_fn, operands)"
    if _single(then, ast.Return) and _single(other, ast.Return):
        a, b = _seg(source, then[0].value), _seg(source, other[0].value)  # type: ignore[attr-defined]
        return Rewrite("where", Edit(stmt.lineno, last, f"return jnp.where({cond}, {a}, {b})"),
                       hint)
    if _same_assign(then, other):
        target = _seg(source, then[0].targets[0])  # type: ignore[attr-defined]
        a, b = _seg(source, then[0].value), _seg(source, other[0].value)  # type: ignore[attr-defined]
        return Rewrite("where", Edit(stmt.lineno, last, f"{target} = jnp.where({cond}, {a}, {b})"),
                       hint)
    if not other and _single(then, ast.Assign) and len(then[0].targets) == 1:  # type: ignore[attr-defined]
        target = _seg(source, then[0].targets[0])  # type: ignore[attr-defined]
        value = _seg(source, then[0].value)  # type: ignore[attr-defined]
        return Rewrite("where", Edit(stmt.lineno, last,
                                     f"{target} = jnp.where({cond}, {value}, {target})"), hint)
    return Rewrite("where", None, hint)


def _while(stmt: ast.While, source: str, cond_of: object) -> Rewrite:
    body = stmt.body
    hint = f"lax.while_loop(cond_fun, body_fun, init) with the test {_seg(source, stmt.test)}"
    if len(body) == 1 and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1 and \
            isinstance(body[0].targets[0], ast.Name) and not stmt.orelse:
        var = body[0].targets[0].id
        names = {n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name)}
        if var in names:
            test = cond_of(stmt.test)  # type: ignore[operator]
            text = (f"{var} = lax.while_loop(lambda {var}: {test}, "
                    f"lambda {var}: {_seg(source, body[0].value)}, {var})")
            return Rewrite("while_loop", Edit(stmt.lineno, stmt.end_lineno or stmt.lineno, text),
                           hint)
    return Rewrite("while_loop", None, hint)


def mask(found: Found, line: int) -> Rewrite:
    """``x[m].sum()`` -> ``jnp.where(m, x, 0).sum()``; ``x.at[m].set(v)`` -> jnp.where(m, v, x)."""
    stmt, _, _, source = found
    hint = ("jnp.where(mask, x, 0) keeps the shape (then reduce), or jnp.nonzero(mask, size=N) "
            "for a fixed number of indices")
    parents = {c: p for p in ast.walk(stmt) for c in ast.iter_child_nodes(p)}
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Subscript) or node.lineno > line:
            continue
        m = _seg(source, node.slice)
        up = parents.get(node)
        if isinstance(node.value, ast.Attribute) and node.value.attr == "at":
            call = parents.get(up) if isinstance(up, ast.Attribute) else None
            if isinstance(up, ast.Attribute) and up.attr == "set" and isinstance(call, ast.Call) \
                    and len(call.args) == 1:
                x, v = _seg(source, node.value.value), _seg(source, call.args[0])
                if _is_mask_free(call.args[0]):
                    return Rewrite("where", _replace_segments(
                        source, stmt, [(call, f"jnp.where({m}, {v}, {x})")]), hint)
            continue
        if _summed(node, up, parents):
            new = f"jnp.where({m}, {_seg(source, node.value)}, 0)"
            return Rewrite("where", _replace_segments(source, stmt, [(node, new)]), hint)
    return Rewrite("where", None, hint)


def _is_mask_free(node: ast.AST) -> bool:
    return not any(isinstance(n, ast.Subscript) for n in ast.walk(node))


def _summed(node: ast.AST, up: ast.AST | None, parents: dict[ast.AST, ast.AST]) -> bool:
    """Is ``node`` summed (``.sum()`` or ``jnp.sum(node)``), where zeros change nothing?"""
    if isinstance(up, ast.Attribute) and up.attr == "sum":
        return isinstance(parents.get(up), ast.Call)
    if isinstance(up, ast.Call) and up.args and up.args[0] is node:
        f = up.func
        return (isinstance(f, ast.Attribute) and f.attr == "sum") or (
            isinstance(f, ast.Name) and f.id == "sum")
    return False


def converted(found: Found, line: int) -> Rewrite:
    """``print(float(e))`` -> ``jax.debug.print``; ``float(e)`` -> ``e.astype(float)``."""
    stmt, _, _, source = found
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
            getattr(stmt.value.func, "id", "") == "print":
        args = [_unconvert(source, a) for a in stmt.value.args]
        fmt = " ".join("{}" for _ in args)
        text = f'jax.debug.print("{fmt}", {", ".join(args)})'
        return Rewrite("debug_print", Edit(stmt.lineno, stmt.end_lineno or stmt.lineno, text),
                       "jax.debug.print prints at run time (print runs once, at trace time)")
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and node.lineno <= line:
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("float", "int") and node.args:
                new = f"{_seg(source, node.args[0])}.astype({func.id})"
                return Rewrite("astype", _replace_segments(source, stmt, [(node, new)]),
                               "keep it a JAX value: e.astype(float) or jnp.asarray(e)")
            if isinstance(func, ast.Attribute) and func.attr in ("item", "tolist") and \
                    not node.args:
                return Rewrite("astype", _replace_segments(
                    source, stmt, [(node, _seg(source, func.value))]),
                    "keep it a JAX value (drop .item())")
    return Rewrite("astype", None, "keep it a JAX value: e.astype(float) or jnp.asarray(e)")


def _unconvert(source: str, node: ast.AST) -> str:
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("float", "int") and \
            node.args:
        return _seg(source, node.args[0])
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "item":
        return _seg(source, node.func.value)  # type: ignore[attr-defined]
    return _seg(source, node)


def numpy_call(found: Found) -> Rewrite:
    """``np.f(traced)`` -> ``jnp.f(traced)`` on the user's line."""
    stmt, _, _, source = found
    changes = [(n, "jnp") for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id in (
        "np", "numpy", "onp") and isinstance(n.ctx, ast.Load)]
    edit = _replace_segments(source, stmt, changes) if changes else None
    return Rewrite("jnp", edit, "use jax.numpy (jnp) on traced values, not NumPy")


def list_index(found: Found, line: int) -> Rewrite:
    """``values[i]`` on a Python list -> ``jnp.asarray(values)[i]``."""
    stmt, _, _, source = found
    for node in ast.walk(stmt):
        if isinstance(node, ast.Subscript) and node.lineno <= line and \
                isinstance(node.value, ast.Name):
            new = f"jnp.asarray({node.value.id})[{_seg(source, node.slice)}]"
            return Rewrite("jnp", _replace_segments(source, stmt, [(node, new)]),
                           "index a jnp array (jnp.asarray(values)[i]), or lax.switch")
    return Rewrite("jnp", None, "index a jnp array (jnp.asarray(values)[i]), or lax.switch")


_PY_SIZE = {"jnp.minimum": "min", "jnp.maximum": "max", "jnp.abs": "abs", "jnp.round": "round",
            "jnp.floor": "math.floor", "jnp.ceil": "math.ceil", "jnp.prod": "math.prod",
            "jnp.sum": "sum", "jnp.int32": "int", "jnp.array": "np.array",
            "jnp.asarray": "np.asarray"}


def python_size(text: str, first: int, last: int) -> Rewrite:
    """A size computed with jnp on concrete values -> the same with Python (``min``, ...)."""
    new = text
    for jnp_name, py_name in _PY_SIZE.items():
        new = re.sub(rf"\b{re.escape(jnp_name)}\b", py_name, new)
    hint = "compute sizes with Python (min, max, int) or NumPy, or from .shape: not with jnp"
    return Rewrite("python_size", Edit(first, last, new) if new != text else None, hint)


def _single(block: list[ast.stmt], kind: type[ast.stmt]) -> bool:
    return len(block) == 1 and isinstance(block[0], kind) and block[0].value is not None  # type: ignore[attr-defined]


def _same_assign(a: list[ast.stmt], b: list[ast.stmt]) -> bool:
    if not (_single(a, ast.Assign) and _single(b, ast.Assign)):
        return False
    ta, tb = a[0].targets, b[0].targets  # type: ignore[attr-defined]
    return len(ta) == len(tb) == 1 and ast.dump(ta[0]) == ast.dump(tb[0])
