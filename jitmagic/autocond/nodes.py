"""Small AST builders shared by the `--autocond` rewrites (conditions and loops).

Every generated node is meant to be read by users (`--show-source`), so these build
the plain shapes a person would write: `y, z = _jm.cond(...)`, `def _true_3(y, z): ...`.
"""

from __future__ import annotations

import ast

from jitmagic.autocond.flow import walk


def jm(attr: str, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    """`_jm.attr(*args, **keywords)`: a call of a runtime helper."""
    return ast.Call(ast.Attribute(ast.Name("_jm", ast.Load()), attr, ast.Load()), list(args),
                    [ast.keyword(k, v) for k, v in keywords.items()])


def thunk(expr: ast.expr) -> ast.Lambda:
    """`lambda: expr`, which keeps `expr` lazy (short-circuiting, untaken branches)."""
    args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.copy_location(ast.Lambda(args, expr), expr)


def binds_in_expr(expr: ast.AST) -> bool:
    """Walrus/yield/await cannot move into a lambda without changing meaning."""
    return any(isinstance(n, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await))
               for n in walk([expr]))


def value_of(name: str, defined: set[str]) -> ast.expr:
    """`name`, or `_jm.lookup(locals(), name)` when it may have no value yet."""
    if name in defined:
        return ast.Name(name, ast.Load())
    return jm("lookup", ast.Call(ast.Name("locals", ast.Load()), [], []), ast.Constant(name))


def names_expr(names: list[str], ctx: ast.expr_context) -> ast.expr:
    """`x` for one name, `(x, y)` for several: what generated functions take and return."""
    nodes: list[ast.expr] = [ast.Name(n, ctx) for n in names]
    return nodes[0] if len(nodes) == 1 else ast.Tuple(nodes, ctx)


def assign(names: list[str], call: ast.expr) -> ast.stmt:
    """`x, y = call`, or the bare call when nothing comes back."""
    if not names:
        return ast.Expr(call)
    return ast.Assign([names_expr(names, ast.Store())], call)


def forget_undefined(names: list[str]) -> list[ast.stmt]:
    """`if _jm.is_undefined(x): del x`: a name that got no value stays unbound, as in Python."""
    return [ast.If(jm("is_undefined", ast.Name(n, ast.Load())),
                   [ast.Delete([ast.Name(n, ast.Del())])], []) for n in names]


def function(name: str, params: list[str], body: list[ast.stmt], where: ast.stmt,
             n_optional: int = 0) -> ast.FunctionDef:
    """`def name(*params): body` placed at `where`'s line; the last `n_optional` default to None."""
    args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], kwonlyargs=[],
                         kw_defaults=[], defaults=[ast.Constant(None)] * n_optional)
    fdef = ast.FunctionDef(name, args, body or [ast.Pass()], [])
    return ast.fix_missing_locations(ast.copy_location(fdef, where))
