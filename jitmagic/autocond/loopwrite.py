"""The `--autocond` loop rewrite: `while` → `_jm.while_loop`, `for ... in range` → `_jm.fori_loop`.

A loop becomes a body function over its *carried* names (assigned in the body and
used after the loop, by the condition, or by the next iteration) and, for `while`,
a condition function over the same names::

    def _while_cond_4(x, i):
        return x < 10
    def _while_body_4(x, i):
        x = x * 2
        i = i + 1
        return (x, i)
    x, i = _jm.while_loop(_while_cond_4, _while_body_4, x, i)

The runtime helpers run it as a Python loop while the condition or bounds are
concrete (so legal code is unchanged and still unrolls) and as `jax.lax` once they
are traced. A loop that `break`s, `continue`s, `return`s or `yield`s keeps its Python
form behind `_jm.static_only` / `_jm.static_range`, which fail naming the line only
if the condition or a bound turns out to be traced.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any, TypeGuard

from jitmagic.autocond.flow import loads, loop_blocker, loose_jumps, read_first, stores
from jitmagic.autocond.nodes import (
    assign,
    binds_in_expr,
    forget_undefined,
    function,
    jm,
    names_expr,
    value_of,
)

__all__ = ["LoopRewriting", "flatten_loop_else", "is_range_loop"]


def is_range_loop(s: ast.stmt) -> TypeGuard[ast.For]:
    """`for name in range(a[, b[, step]]):` with plain positional arguments."""
    call = getattr(s, "iter", None)
    return (isinstance(s, ast.For) and isinstance(s.target, ast.Name)
            and isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "range" and 1 <= len(call.args) <= 3 and not call.keywords
            and not any(isinstance(a, ast.Starred) for a in call.args))


def flatten_loop_else(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """`loop ... else: tail` is `loop` then `tail` when the loop cannot `break`.

    Only for the loops this module converts: their `else` then needs no special form.
    """
    out: list[ast.stmt] = []
    for s in stmts:
        if (isinstance(s, (ast.While, ast.For)) and (isinstance(s, ast.While) or is_range_loop(s))
                and s.orelse and not any(isinstance(n, ast.Break) for n in loose_jumps(s.body))):
            tail, s.orelse = s.orelse, []
            out += [s, *tail]
        else:
            out.append(s)
    return out


def carried(body: list[ast.stmt], needed: set[str], loop_var: str | None = None) -> list[str]:
    """Names the body assigns whose value outlives one iteration (in order of assignment)."""
    exposed = read_first(body)
    return [n for n in stores(body) if n != loop_var and (n in needed or n in exposed)]


class LoopRewriting:
    """Loop methods of the rewriter (mixin): uses its `block`, `statement`, `test`, `name`."""

    # provided by the rewriter this is mixed into
    changed: bool
    block: Callable[..., list[ast.stmt]]
    statement: Callable[[ast.stmt, set[str], set[str]], ast.stmt]
    test: Callable[[ast.expr], ast.expr]
    name: Callable[[str, int], str]
    visit: Callable[[ast.AST], Any]

    def loop(self, s: ast.While | ast.For, live: set[str], defined: set[str]) -> list[ast.stmt]:
        """A `while` or `for ... in range(...)`; `live`: names read after it."""
        self.changed = True
        kind = "lax.while_loop" if isinstance(s, ast.While) else "lax.fori_loop"
        header = [s.test] if isinstance(s, ast.While) else getattr(s.iter, "args", [])
        reason = loop_blocker(s.body, kind) or (
            "the loop header binds a name (walrus)" if any(map(binds_in_expr, header)) else None)
        if reason:
            return [self.static_loop(s, live, defined, reason)]
        if isinstance(s, ast.While):
            return self.while_loop(s, live, defined)
        return self.fori_loop(s, live, defined)

    def static_loop(self, s: ast.While | ast.For, live: set[str], defined: set[str],
                    reason: str) -> ast.stmt:
        """The Python loop as it is, failing clearly if its condition or bounds are traced."""
        out = self.statement(s, live, defined)
        why = ast.Constant(reason)
        if isinstance(out, ast.While):
            out.test = ast.copy_location(jm("static_only", out.test, why), out.test)
        elif isinstance(out, ast.For) and isinstance(out.iter, ast.Call):  # a range() loop
            out.iter = ast.copy_location(jm("static_range", *out.iter.args, reason=why), out.iter)
        return out

    def while_loop(self, s: ast.While, live: set[str], defined: set[str]) -> list[ast.stmt]:
        """`x, i = _jm.while_loop(_while_cond_N, _while_body_N, x, i)`."""
        names = carried(s.body, live | loads([s.test]))
        test = function(self.name("while_cond", s.lineno), names,
                        [ast.Return(self.test(s.test))], s)
        body = self.loop_body("while_body", s, names, names)
        call = jm("while_loop", ast.Name(test.name, ast.Load()), ast.Name(body.name, ast.Load()),
                  *(value_of(n, defined) for n in names))
        return _finish(s, [test, body], names, call, defined)

    def fori_loop(self, s: ast.For, live: set[str], defined: set[str]) -> list[ast.stmt]:
        """`acc = _jm.fori_loop(lower, upper, _for_body_N, acc)` (plus `step=` if given)."""
        var = getattr(s.target, "id", "")
        args = [self.visit(a) for a in getattr(s.iter, "args", [])]
        lower, upper = (ast.Constant(0), args[0]) if len(args) == 1 else args[:2]
        names = carried(s.body, live, var)
        out = [var, *names] if var in live else names  # the loop variable, if read after
        body = self.loop_body("for_body", s, [var, *names], out)
        step = {"step": args[2]} if len(args) == 3 else {}
        call = jm("fori_loop", lower, upper, ast.Name(body.name, ast.Load()),
                  *(value_of(n, defined) for n in out), **step)
        return _finish(s, [body], out, call, defined)

    def loop_body(self, kind: str, s: ast.While | ast.For, params: list[str],
                  out: list[str]) -> ast.FunctionDef:
        """`def _<kind>_N(*params): <body>; return out`."""
        stmts = self.block(s.body, set(out), set(params), top=False)
        if out:
            stmts.append(ast.Return(names_expr(out, ast.Load())))
        return function(self.name(kind, s.lineno), params, stmts, s)


def _finish(s: ast.stmt, defs: list[ast.stmt], names: list[str], call: ast.Call,
            defined: set[str]) -> list[ast.stmt]:
    """The generated functions, `names = call`, and unbinding names that got no value."""
    stmt = assign(names, ast.copy_location(call, s))
    cleanup = forget_undefined([n for n in names if n not in defined])
    return [ast.fix_missing_locations(ast.copy_location(n, s)) for n in [*defs, stmt, *cleanup]]
