"""The `--autocond` rewrite: `if`/`elif`/`else` and `a if c else b` become `_jm.cond` calls.

Loops are handed to the `LoopRewriting` mixin (`_autocond_loopwrite`).

Branch functions take and return the names the branches assign (statement form)
or return the function's result (return form, where the rest of the function
becomes the branch that falls through). Code that cannot be expressed that way
(break/continue/yield in a branch) keeps its Python `if` behind `_jm.static_only`,
which raises AutocondError only if the condition turns out to be traced. New
nodes get the user's line numbers, so tracebacks point at their lines.
"""

from __future__ import annotations

import ast
import copy

from jitmagic.autocond.flow import (
    LOOPS,
    always_exits,
    blocker,
    definite,
    has_return,
    live_before,
    loads,
    read_first,
    stores,
)
from jitmagic.autocond.loopwrite import LoopRewriting, flatten_loop_else, is_range_loop
from jitmagic.autocond.nodes import (
    assign,
    binds_in_expr,
    forget_undefined,
    function,
    jm,
    names_expr,
    thunk,
    value_of,
)

__all__ = ["rewrite_module"]


class _Rewriter(LoopRewriting, ast.NodeTransformer):
    """Rewrites one module; `visit` handles expressions (IfExp), `block` statements."""

    def __init__(self) -> None:
        self.changed = False
        self.taken: set[str] = set()

    def module(self, tree: ast.Module, known: set[str]) -> None:
        live = {n for n in stores(tree.body) if not n.startswith("_")}
        tree.body = self.block(tree.body, live, known, top=False)

    def function(self, fdef: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        a = fdef.args
        params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
        fdef.body = self.block(fdef.body, set(), params, top=True)

    def block(self, stmts: list[ast.stmt], live_out: set[str], defined: set[str],
              top: bool) -> list[ast.stmt]:
        """Rewrite a statement list; `top`: it is the whole body of a function."""
        out: list[ast.stmt] = []
        defined = set(defined)
        stmts = flatten_loop_else(stmts)
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, ast.If):
                branches = s.body + s.orelse
                if top and has_return(branches) and blocker(branches + rest) is None:
                    return [*out, *self.return_if(s, rest, defined)]
                out += self.assign_if(s, live_before(rest, live_out), defined)
            elif isinstance(s, ast.While) or is_range_loop(s):
                out += self.loop(s, live_before(rest, live_out), defined)
            else:
                out.append(self.statement(s, live_before(rest, live_out), defined))
            defined |= definite([s])
        return out

    def statement(self, s: ast.stmt, live: set[str], defined: set[str]) -> ast.stmt:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(s)
            return s
        if isinstance(s, ast.ClassDef):
            return s
        if isinstance(s, (*LOOPS, ast.Try, ast.With, ast.AsyncWith)):
            inner = live | loads([s])
            for field in ("body", "orelse", "finalbody"):
                if hasattr(s, field):
                    setattr(s, field, self.block(getattr(s, field), inner, defined, top=False))
            for handler in getattr(s, "handlers", []):
                handler.body = self.block(handler.body, inner, defined, top=False)
            if isinstance(s, ast.While):
                s.test = self.test(s.test)
            if isinstance(s, (ast.For, ast.AsyncFor)):
                s.iter = self.visit(s.iter)
            if isinstance(s, (ast.With, ast.AsyncWith)):
                s.items = [self.visit(item) for item in s.items]
            return s
        return self.visit(s)

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        self.changed = True
        if binds_in_expr(node):
            node.test = ast.copy_location(jm("static_only", node.test, ast.Constant(
                "a branch of this expression binds a name (walrus)")), node.test)
            return node
        return ast.copy_location(
            jm("cond", self.test(node.test), thunk(node.body), thunk(node.orelse)), node)

    def test(self, expr: ast.expr) -> ast.expr:
        """A condition: `and`/`or`/`not`/chained comparisons that also work on tracers."""
        if binds_in_expr(expr):
            return self.visit(expr)
        if isinstance(expr, ast.BoolOp):
            first, *rest = (self.test(v) for v in expr.values)
            name = "and_" if isinstance(expr.op, ast.And) else "or_"
            return ast.copy_location(jm(name, first, *map(thunk, rest)), expr)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            return ast.copy_location(jm("not_", self.test(expr.operand)), expr)
        simple = (ast.Name, ast.Constant)
        if isinstance(expr, ast.Compare) and len(expr.ops) > 1 and all(
                isinstance(c, simple) for c in expr.comparators[:-1]):
            lefts = [expr.left, *expr.comparators[:-1]]
            parts: list[ast.expr] = [ast.copy_location(ast.Compare(lhs, [op], [rhs]), expr)
                     for lhs, op, rhs in zip(lefts, expr.ops, expr.comparators, strict=True)]
            return self.test(ast.copy_location(ast.BoolOp(ast.And(), parts), expr))
        return self.visit(expr)

    def name(self, kind: str, line: int) -> str:
        base = name = f"_{kind}_{line}"
        k = 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def branch(self, kind: str, where: ast.If, params: list[str], n_in: int,
               body: list[ast.stmt], returns: bool) -> ast.FunctionDef:
        """A small named function for one branch: takes and (statement form) returns `params`.

        Only the first `n_in` need a value; the others both branches assign (`=None`).
        """
        stmts = self.block(body, set() if returns else set(params), set(params), top=returns)
        if not returns and params:
            stmts.append(ast.Return(names_expr(params, ast.Load())))
        return function(self.name(kind, where.lineno), params, stmts, where, len(params) - n_in)

    def cond_call(self, s: ast.If, params: list[str], n_in: int, defined: set[str],
                  returns: bool, body: list[ast.stmt], orelse: list[ast.stmt],
                  ) -> tuple[list[ast.stmt], ast.Call]:
        self.changed = True
        true_fn = self.branch("true", s, params, n_in, body, returns)
        false_fn = self.branch("false", s, params, n_in, orelse, returns)
        operands = [value_of(p, defined) for p in params[:n_in]]
        call = jm("cond", self.test(s.test), ast.Name(true_fn.name, ast.Load()),
                   ast.Name(false_fn.name, ast.Load()), *operands)
        return [true_fn, false_fn], ast.copy_location(call, s.test)

    def assign_if(self, s: ast.If, live: set[str], defined: set[str]) -> list[ast.stmt]:
        """Statement form: `y, z = _jm.cond(pred, _true_N, _false_N, y, z)`."""
        branches = s.body + s.orelse
        reason = blocker(branches) or (
            "a branch returns from inside a loop, `with` or `try`" if has_return(branches)
            else None)
        if reason:
            self.changed = True
            s.test = ast.copy_location(
                jm("static_only", self.test(s.test), ast.Constant(reason)), s.test)
            s.body = self.block(s.body, live, defined, top=False)
            s.orelse = self.block(s.orelse, live, defined, top=False)
            return [s]
        exposed = read_first(s.body) | read_first(s.orelse)
        both = definite(s.body) & definite(s.orelse)
        params = [n for n in stores(branches) if n in live or n in exposed]
        inputs = [n for n in params if n in exposed or n not in both]
        params = inputs + [n for n in params if n not in inputs]
        defs, call = self.cond_call(s, params, len(inputs), defined, False, s.body, s.orelse)
        cleanup = forget_undefined([p for p in params if p not in defined and p not in both])
        return [ast.fix_missing_locations(ast.copy_location(n, s))
                for n in [*defs, assign(params, call), *cleanup]]

    def return_if(self, s: ast.If, rest: list[ast.stmt], defined: set[str]) -> list[ast.stmt]:
        """Return form: the rest of the function joins the branch that falls through."""
        body = s.body if always_exits(s.body) else s.body + rest
        orelse = s.orelse if always_exits(s.orelse) else s.orelse + copy.deepcopy(rest)
        exposed = read_first(body) | read_first(orelse)
        params = [n for n in stores(body + orelse) if n in exposed]
        defs, call = self.cond_call(s, params, len(params), defined, True, body, orelse)
        ret = ast.copy_location(ast.Return(call), s)
        return [ast.fix_missing_locations(n) for n in [*defs, ret]]


def rewrite_module(tree: ast.Module, *, known: set[str] | None = None) -> tuple[ast.Module, bool]:
    """Rewrite `tree` in place (original line numbers kept); True if anything changed.

    Top-level defs are rewritten as functions, other statements as a notebook cell; a
    changed tree starts with `import jitmagic.autocond as _jm`, so it runs as it is
    (e.g. as the body of the function a cell compiles to).
    """
    rewriter = _Rewriter()
    rewriter.module(tree, set(known or ()))
    if rewriter.changed:
        where = tree.body[0] if tree.body else None
        imp = ast.Import([ast.alias("jitmagic.autocond.api", "_jm")])
        tree.body.insert(0, ast.copy_location(imp, where) if where else imp)
    return ast.fix_missing_locations(tree), rewriter.changed
