"""The user's function with some lines replaced: how a suggested rewrite gets traced.

A rewrite (``jnp.where`` for an ``if``, ``jnp.logical_not`` for ``not``) is printed as code
only after the function, rebuilt with those lines changed, traced. The rebuilt function
has the original's file name, line numbers, globals, closure cells and defaults; nothing
is written into the user's namespace. A cell is rebuilt by the notebook's own
``SourceMap.rebuild``; a function defined elsewhere (a ``lax.while_loop`` body at module
level) is swapped in through a copy of the globals, never the user's dict.
"""

from __future__ import annotations

import ast
import linecache
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FACTORY = "__jitmagic_fix_factory__"


@dataclass(frozen=True)
class Edit:
    """Replace file lines ``first..last`` (1-based, inclusive) by ``text`` (any indent)."""

    first: int
    last: int
    text: str


def edited_source(lines: list[str], edit: Edit) -> str:
    """``lines`` with ``edit`` applied, re-indented like the line it replaces."""
    old = lines[edit.first - 1]
    indent = old[: len(old) - len(old.lstrip())]
    new = textwrap.indent(textwrap.dedent(edit.text).strip("\n") + "\n", indent)
    return "".join(lines[: edit.first - 1]) + new + "".join(lines[edit.last :])


def patched(fun: Callable[..., Any], edit: Edit, filename: str | None,
            rebuild: Callable[..., Callable[..., Any]] | None = None,
            cell: str | None = None) -> Callable[..., Any] | None:
    """``fun`` rebuilt with ``edit`` applied, or None if it cannot be rebuilt."""
    try:
        if cell is not None:
            if rebuild is None:
                return None
            return rebuild(edited_source(cell.splitlines(True), edit))
        return _patched_function(fun, edit, filename)
    except (SyntaxError, ValueError, TypeError, KeyError, IndexError):
        return None


def _patched_function(fun: Any, edit: Edit, filename: str | None) -> Any:
    code = getattr(fun, "__code__", None)
    if code is None or filename is None:
        return None
    lines = linecache.getlines(filename)
    tree = ast.parse(edited_source(lines, edit))
    owner = _def_at(tree, code.co_firstlineno, fun.__name__)
    if owner is None:
        return None
    if owner.lineno <= edit.first <= (owner.end_lineno or 0):
        return _compile_like(fun, owner, fun.__globals__)
    inner = _outside_helper(fun, tree, edit)  # e.g. a module-level while_loop cond function
    if inner is None:
        return None
    name, new_inner = inner
    return _compile_like(fun, owner, {**fun.__globals__, name: new_inner})


def _outside_helper(fun: Any, tree: ast.Module, edit: Edit) -> tuple[str, Any] | None:
    """A global function ``fun`` calls whose body holds the edited line, rebuilt."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= edit.first <= (
                node.end_lineno or 0):
            helper = fun.__globals__.get(node.name)
            if isinstance(helper, types.FunctionType):
                return node.name, _compile_like(helper, node, helper.__globals__)
    return None


def _def_at(tree: ast.AST, first_line: int, name: str) -> ast.FunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if start == first_line or node.lineno == first_line:
                return node
    return None


def _compile_like(fun: Any, fdef: ast.FunctionDef, globals_: dict[str, Any]) -> Any:
    """Compile ``fdef`` with ``fun``'s file, closure cells and defaults, over ``globals_``."""
    fdef.decorator_list, fdef.returns = [], None  # a fresh parse: ours to change
    args = fdef.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None
    args.defaults, args.kw_defaults = [], [None] * len(args.kwonlyargs)
    free = list(fun.__code__.co_freevars)
    factory = ast.FunctionDef(  # type: ignore[call-arg]  # type_params: a 3.12+ field
        name=_FACTORY, args=ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in free],
                                          kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))], decorator_list=[],
        returns=None, type_params=[])
    module = ast.Module(body=[ast.copy_location(factory, fdef)], type_ignores=[])
    ast.fix_missing_locations(module)
    scope: dict[str, Any] = {}
    exec(compile(module, fun.__code__.co_filename, "exec"), globals_, scope)  # defines only
    code = next(c for c in scope[_FACTORY].__code__.co_consts
                if isinstance(c, types.CodeType) and c.co_name == fun.__name__)
    cells = dict(zip(fun.__code__.co_freevars, fun.__closure__ or (), strict=True))
    closure = tuple(cells.get(n) or types.CellType(sys.modules[__name__])
                    for n in code.co_freevars)
    new = types.FunctionType(code, globals_, fun.__name__, fun.__defaults__, closure)
    new.__kwdefaults__ = dict(fun.__kwdefaults__) if fun.__kwdefaults__ else None
    return new
