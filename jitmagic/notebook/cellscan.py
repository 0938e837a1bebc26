"""Reading a cell's AST: which names it reads before assigning (free), which it assigns.

Names are followed in execution order, so `x = x + 1` reads the notebook's `x`; nested
functions, lambdas and comprehensions read free names but bind their own (parameters,
assignments, defs, imports, `except ... as`); default values are read where the `def` runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass


class CellError(ValueError):
    """A cell that cannot be jitted as written (syntax, undefined or unknown names)."""


@dataclass(frozen=True)
class CellAnalysis:
    free: tuple[str, ...]  # read before assigned, in order of first use
    outputs: tuple[str, ...]  # assigned at top level, public (no leading `_`)
    has_last_expr: bool
    first_use: dict[str, int]  # free name -> line of first read


def parse_cell(source: str) -> ast.Module:
    try:
        return ast.parse(source, mode="exec")
    except SyntaxError as err:
        raise CellError(f"syntax error in cell line {err.lineno}: {err.msg}\n  {err.text or ''}"
                        .rstrip()) from None


class _FreeNames(ast.NodeVisitor):
    """Names read before being bound, walking statements in execution order."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.free: dict[str, int] = {}

    def _load(self, name: str, line: int) -> None:
        if name not in self.bound and name not in self.free:
            self.free[name] = line

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id, node.lineno)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._load(node.target.id, node.lineno)
        self.visit(node.value)
        self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def _scope(self, node: ast.AST, own: Iterable[str]) -> None:
        """A nested scope: its reads of names it does not bind itself are free here."""
        own = set(own) | _bound_in(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in own:
                self._load(sub.id, sub.lineno)

    def _defaults(self, args: ast.arguments) -> None:
        """Default values are evaluated here, in the cell's scope, when the def runs."""
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bound.add(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        self._defaults(node.args)
        args = node.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        self._scope(ast.Module(body=node.body, type_ignores=[]), params)
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        args = node.args
        self._defaults(args)
        self._scope(node.body, [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs])

    def visit_ListComp(self, node: ast.AST) -> None:
        self._scope(node, [])

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scope(ast.Module(body=node.body, type_ignores=[]), [])
        self.bound.add(node.name)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self.bound.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import


def _bound_in(node: ast.AST) -> set[str]:
    """Every name a nested scope binds: assignments, parameters, defs, imports, `except as`."""
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            bound.add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                              ast.ExceptHandler)) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in sub.names)
    return bound


def _top_level_outputs(tree: ast.Module) -> tuple[str, ...]:
    """Names the cell's own scope assigns (not defs, classes or imports), public only."""
    names: dict[str, None] = {}
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, nested):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names[child.id] = None
            elif isinstance(child, ast.NamedExpr):
                names[child.target.id] = None
            walk(child)

    walk(tree)
    return tuple(n for n in names if not n.startswith("_"))


def analyze_cell(source: str) -> CellAnalysis:
    """Free names, outputs and whether the cell ends with an expression."""
    tree = parse_cell(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            raise CellError(
                f"cell line {node.lineno}: `{type(node).__name__.lower()}` cannot be used in a "
                "jitted cell: assigned names already come back to the notebook"
            )
    finder = _FreeNames()
    for stmt in tree.body:
        finder.visit(stmt)
    has_last = bool(tree.body) and isinstance(tree.body[-1], ast.Expr)
    return CellAnalysis(
        free=tuple(finder.free),
        outputs=_top_level_outputs(tree),
        has_last_expr=has_last,
        first_use=dict(finder.free),
    )
