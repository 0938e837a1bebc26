"""Opt-in rewrite: Python `if` on a traced condition becomes `lax.cond`.

`autocond(f)` re-parses `f`'s source and turns every `if`/`elif`/`else` and every
`a if c else b` into a call of `cond(pred, true_fn, false_fn, *operands)`, which
has `jax.lax.cond`'s signature but decides at *trace time*: a concrete condition
(Python bool, static value, shape test) branches in plain Python, so static
branches stay pruned; a tracer runs both branches through `lax.cond`. Branch
functions take and return the names the branches assign (statement form) or
return the function's result (return form, where the rest of the function
becomes the branch that falls through). Code that cannot be expressed that way
(break/continue/yield in a branch, `while` on a tracer) keeps its Python `if`
behind `static_only`, which raises `AutocondError` only if the condition is
traced. Line numbers of the rewritten code are the user's, so tracebacks point
at their lines. Why an AST rewrite and not bytecode: the result is readable
(`--show-source`) and teaches the `lax.cond` form.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["AutocondError", "autocond", "rewrite_source"]

_HEADER = ("# autocond: _jm.cond(pred, true_fn, false_fn, *operands) is jax.lax.cond when pred is"
           " traced,\n# and a plain Python `if` when pred is concrete.\n")
_FACTORY = "__jitmagic_autocond_factory__"


class AutocondError(ValueError):
    """Code that `--autocond` cannot turn into `lax.cond`; names the user's line."""

    def __init__(self, message: str, line: int | None = None, filename: str | None = None):
        where = f"{filename or '<autocond>'}, line {line}: " if line is not None else ""
        super().__init__(f"autocond: {where}{message}")
        self.line, self.filename = line, filename


# ---------------------------------------------------------------- rewriting


def rewrite_source(source: str, *, filename: str = "<autocond>", known: Iterable[str] = ()) -> str:
    """Rewritten source of a `def` or a cell body (module-level statements).

    `known` names values the cell receives (they count as defined before any `if`).
    The result is self-contained Python: it imports its helpers as `_jm`.
    """
    try:
        tree = ast.parse(textwrap.dedent(source), filename=filename)
    except SyntaxError as err:
        raise AutocondError(f"syntax error: {err.msg}", err.lineno, filename) from None
    return _show(*rewrite_module(tree, known=set(known)))


def _show(tree: ast.Module, changed: bool) -> str:
    if not changed:
        return ast.unparse(tree) + "\n"
    return f"{_HEADER}{ast.unparse(tree)}\n"


def autocond(fun: Callable) -> Callable:
    """`fun` rewritten so that `if` on traced values becomes `lax.cond` (see module doc).

    Same name, signature, globals, closure cells and defaults; `__wrapped__` is `fun`
    and `__jitmagic_autocond_source__` the rewritten source.
    """
    if not inspect.isfunction(fun) or fun.__name__ == "<lambda>":
        raise AutocondError(f"needs a function defined with `def`, got {fun!r}; "
                            "apply autocond before jax.jit")
    try:
        lines, first = inspect.getsourcelines(fun)
    except (OSError, TypeError) as err:
        raise AutocondError(f"cannot read the source of {fun.__qualname__}: {err}") from None
    filename = fun.__code__.co_filename
    tree = ast.parse(textwrap.dedent("".join(lines)), filename=filename)
    fdef = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != fun.__name__:
        raise AutocondError(f"the source of {fun.__qualname__} is not a plain `def`", first,
                            filename)
    fdef.decorator_list = []  # e.g. @jitmagic.jit: the caller applies it, do not re-apply
    _relocate(tree, first - 1, len(lines[0]) - len(lines[0].lstrip()))
    shown = _show(*rewrite_module(copy.deepcopy(tree)))
    rewrite_module(tree)
    new = _compile_like(fun, fdef)
    new.__jitmagic_autocond_source__ = shown  # type: ignore[attr-defined]
    return new


def _relocate(tree: ast.AST, lines: int, cols: int) -> None:
    """Give a re-parsed snippet its place in the file, so tracebacks show the user's code."""
    ast.increment_lineno(tree, lines)
    for node in ast.walk(tree):
        if getattr(node, "col_offset", None) is not None:
            node.col_offset += cols
            if getattr(node, "end_col_offset", None) is not None:
                node.end_col_offset += cols


def _compile_like(fun: types.FunctionType, fdef: ast.FunctionDef) -> types.FunctionType:
    """Compile `fdef` with `fun`'s file, lines, columns, globals, closure cells, defaults."""
    args = fdef.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None  # evaluated in the user's scope already; copied below
    fdef.returns, args.defaults, args.kw_defaults = None, [], [None] * len(args.kwonlyargs)
    free = list(fun.__code__.co_freevars)
    factory = ast.FunctionDef(
        name=_FACTORY, args=ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in [*free, "_jm"]],
                                          kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))], decorator_list=[])
    module = ast.Module(body=[ast.copy_location(factory, fdef)], type_ignores=[])
    ast.fix_missing_locations(module)
    flags = fun.__code__.co_flags & _FUTURE_FLAGS
    scope: dict[str, Any] = {}
    exec(compile(module, fun.__code__.co_filename, "exec", flags=flags, dont_inherit=True),
         fun.__globals__, scope)
    code = next(c for c in scope[_FACTORY].__code__.co_consts
                if isinstance(c, types.CodeType) and c.co_name == fun.__name__)
    cells = dict(zip(fun.__code__.co_freevars, fun.__closure__ or (), strict=True))
    closure = tuple(cells.get(n) or types.CellType(sys.modules[__name__]) for n in code.co_freevars)
    new = types.FunctionType(code, fun.__globals__, fun.__name__, fun.__defaults__, closure)
    new.__kwdefaults__ = dict(fun.__kwdefaults__) if fun.__kwdefaults__ else None
    for attr in ("__qualname__", "__doc__", "__module__", "__annotations__"):
        setattr(new, attr, getattr(fun, attr))
    new.__dict__.update(fun.__dict__)
    new.__wrapped__ = fun  # type: ignore[attr-defined]
    return new


def _future_flags() -> int:
    import __future__

    return sum(getattr(__future__, n).compiler_flag for n in __future__.all_feature_names)


_FUTURE_FLAGS = _future_flags()

# ---------------------------------------------------------------- runtime helpers (`_jm.*`)


class Undefined:
    """Stands for a name with no value yet; any real use of it fails like a NameError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"

    def _fail(self, *_: Any) -> Any:
        raise NameError(f"name {self.name!r} is not defined")

    __getattr__ = __bool__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = _fail
    __rmul__ = __truediv__ = __rtruediv__ = __getitem__ = __call__ = __iter__ = _fail
    __neg__ = __lt__ = __le__ = __gt__ = __ge__ = __array__ = __jax_array__ = _fail


def lookup(namespace: dict[str, Any], name: str) -> Any:
    """`name`'s current value, or `Undefined(name)` if it has none yet."""
    return namespace.get(name, Undefined(name))


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)


def _traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def _caller() -> tuple[int, str]:
    frame = sys._getframe(2)
    return frame.f_lineno, frame.f_code.co_filename


def static_only(pred: Any, reason: str) -> Any:
    """`pred` for a Python `if`/`while` that cannot become lax; AutocondError if traced."""
    if _traced(pred):
        line, filename = _caller()
        raise AutocondError(f"the condition is traced, but {reason}", line, filename)
    return pred


def not_(value: Any) -> Any:
    """`not value`, as `jnp.logical_not` when traced."""
    return jnp.logical_not(value) if _traced(value) else not value


def and_(first: Any, *rest: Callable[[], Any]) -> Any:
    """`first and rest...` (thunks keep short-circuiting); `jnp.logical_and` once traced."""
    value = first
    for i, thunk in enumerate(rest):
        if _traced(value):
            return _reduce(jnp.logical_and, value, rest[i:])
        if not value:
            return value
        value = thunk()
    return value


def or_(first: Any, *rest: Callable[[], Any]) -> Any:
    """`first or rest...`; `jnp.logical_or` once traced."""
    value = first
    for i, thunk in enumerate(rest):
        if _traced(value):
            return _reduce(jnp.logical_or, value, rest[i:])
        if value:
            return value
        value = thunk()
    return value


def _reduce(op: Callable, value: Any, thunks: tuple[Callable[[], Any], ...]) -> Any:
    for thunk in thunks:
        value = op(value, thunk())
    return value


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
    """`jax.lax.cond(pred, true_fn, false_fn, *operands)` if `pred` is traced, else Python `if`."""
    if not _traced(pred):
        return true_fn(*operands) if pred else false_fn(*operands)
    line, filename = true_fn.__code__.co_firstlineno, true_fn.__code__.co_filename
    pred = jnp.asarray(pred)
    if pred.shape != ():
        raise AutocondError(f"the condition is a traced array of shape {pred.shape}, but an `if` "
                            "needs a single value; use jnp.where for an elementwise choice",
                            line, filename)
    if pred.dtype != jnp.bool_:
        pred = pred != 0
    failed: list[BaseException] = []

    def guard(fn: Callable) -> Callable[[], Any]:
        @functools.wraps(fn)  # JAX's messages then name the user's branch function
        def branch() -> Any:
            try:
                out = fn(*operands)
                _check_outputs(out, fn, line, filename)
            except BaseException as err:
                failed.append(err)
                raise
            return out

        return branch

    try:
        return jax.lax.cond(pred, guard(true_fn), guard(false_fn))
    except (TypeError, ValueError) as err:
        if failed:
            raise
        what = _names(true_fn) or "the value"
        raise AutocondError(
            f"the two branches give {what} different types or shapes, which lax.cond cannot "
            f"join; make both branches produce the same structure, shape and dtype.\n{err}",
            line, filename) from err


def _names(fn: Callable) -> str:
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    return ", ".join(f"`{n}`" for n in names)


def _check_outputs(out: Any, fn: Callable, line: int, filename: str) -> None:
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    named = (dict(zip(names, out, strict=True)) if len(names) > 1 and isinstance(out, tuple)
             and len(out) == len(names) else {names[0] if len(names) == 1 else "": out})
    for name, value in named.items():
        for leaf in jax.tree_util.tree_leaves(value):
            if isinstance(leaf, Undefined):
                raise AutocondError(
                    f"`{leaf.name}` is assigned in only one branch and has no value before this "
                    f"`if`; give it a value before the `if` (e.g. {leaf.name} = "
                    "jnp.zeros_like(...))", line, filename)
            if not isinstance(leaf, (jax.Array, np.ndarray, np.generic, bool, int, float,
                                     complex)):
                what = f"`{name}`" if name else "the value"
                raise AutocondError(
                    f"a traced branch gives {what} a {type(leaf).__name__}, but lax.cond can only "
                    "return arrays (and pytrees of arrays)", line, filename)


# ---------------------------------------------------------------- analysis (plain ast)

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _walk(nodes: Iterable[ast.AST], into_scopes: bool = False) -> Iterable[ast.AST]:
    """Nodes under `nodes`, not entering nested scopes (def, lambda, comprehension) unless asked."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if into_scopes or not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _stores(nodes: Iterable[ast.AST]) -> dict[str, None]:
    """Names bound in this scope by `nodes`, in order of first binding."""
    out: dict[str, None] = {}
    for node in _walk(nodes):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            out[node.id] = None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out[node.name] = None
    return out


def _loads(nodes: Iterable[ast.AST]) -> set[str]:
    """Names read anywhere under `nodes`, nested scopes included (conservative)."""
    out = {n.id for n in _walk(nodes, True) if isinstance(n, ast.Name)
           and isinstance(n.ctx, (ast.Load, ast.Del))}
    out |= {n.target.id for n in _walk(nodes, True)
            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    return out


def _definite(stmts: list[ast.stmt]) -> set[str]:
    """Names certainly bound after `stmts` run to their end."""
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, ast.If):
            out |= set(_stores([s.test])) | (_definite(s.body) & _definite(s.orelse))
        elif isinstance(s, (*_LOOPS, ast.Try)):
            pass
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            out |= set(_stores(s.items)) | _definite(s.body)
        else:
            out |= set(_stores([s]))
    return out


def _read_first(stmts: list[ast.stmt]) -> set[str]:
    """Names `stmts` may read before binding them (upward-exposed uses)."""
    exposed: set[str] = set()
    bound: set[str] = set()
    for s in stmts:
        if isinstance(s, ast.If):
            exposed |= (_loads([s.test]) | _read_first(s.body) | _read_first(s.orelse)) - bound
        elif isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None:
            exposed |= (_loads([s.value]) | _loads(s.targets if isinstance(s, ast.Assign)
                                                    else [s.target])) - bound
        else:
            exposed |= _loads([s]) - bound
        bound |= _definite([s])
    return exposed


def _live_before(stmts: list[ast.stmt], live: set[str]) -> set[str]:
    """Names whose current value `stmts` (then `live`) may still read."""
    live = set(live)
    for s in reversed(stmts):
        if isinstance(s, ast.If):
            live = _loads([s.test]) | _live_before(s.body, live) | _live_before(s.orelse, live)
        elif isinstance(s, ast.Return):
            live = _loads([s])
        elif isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None:
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            plain = {t.id for t in targets if isinstance(t, ast.Name)}
            live = (live - plain) | _loads([s])
        else:
            live |= _loads([s])
    return live


def _always_exits(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.If):
        return _always_exits(last.body) and _always_exits(last.orelse)
    return isinstance(last, (ast.Return, ast.Raise))


def _has_return(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Return) for n in _walk(stmts))


def _blocker(stmts: list[ast.stmt]) -> str | None:
    """Why these branch statements cannot move into a branch function, if they cannot."""
    for node in _loose_jumps(stmts):
        kind = "break" if isinstance(node, ast.Break) else "continue"
        return f"a branch uses `{kind}` (line {node.lineno}), which cannot leave a lax.cond branch"
    for node in _walk(stmts):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            kind = {ast.Yield: "yield", ast.YieldFrom: "yield from"}.get(type(node), "await")
            return f"a branch uses `{kind}` (line {node.lineno}), which lax.cond cannot trace"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return f"a branch declares `{', '.join(node.names)}` global/nonlocal"
    return None


def _loose_jumps(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """break/continue statements that would leave `nodes` (not inside a loop in them)."""
    for node in nodes:
        if isinstance(node, (ast.Break, ast.Continue)):
            yield node
        elif isinstance(node, _LOOPS):
            yield from _loose_jumps(node.orelse)
        elif not isinstance(node, _SCOPES):
            yield from _loose_jumps(ast.iter_child_nodes(node))


# ---------------------------------------------------------------- the rewrite


def _jm(attr: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Attribute(ast.Name("_jm", ast.Load()), attr, ast.Load()), list(args), [])


def _thunk(expr: ast.expr) -> ast.Lambda:
    args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.copy_location(ast.Lambda(args, expr), expr)


def _binds_in_expr(expr: ast.AST) -> bool:
    """Walrus/yield/await cannot move into a lambda without changing meaning."""
    return any(isinstance(n, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await))
               for n in _walk([expr]))


class _Rewriter(ast.NodeTransformer):
    """Rewrites one module; `visit` handles expressions (IfExp), `block` statements."""

    def __init__(self) -> None:
        self.changed = False
        self.taken: set[str] = set()

    def module(self, tree: ast.Module, known: set[str]) -> None:
        live = {n for n in _stores(tree.body) if not n.startswith("_")}
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
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, ast.If):
                branches = s.body + s.orelse
                if top and _has_return(branches) and _blocker(branches + rest) is None:
                    return [*out, *self.return_if(s, rest, defined)]
                out += self.assign_if(s, _live_before(rest, live_out), defined)
            else:
                out.append(self.statement(s, _live_before(rest, live_out), defined))
            defined |= _definite([s])
        return out

    def statement(self, s: ast.stmt, live: set[str], defined: set[str]) -> ast.stmt:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(s)
            return s
        if isinstance(s, ast.ClassDef):
            return s
        if isinstance(s, (*_LOOPS, ast.Try, ast.With, ast.AsyncWith)):
            inner = live | _loads([s])
            for field in ("body", "orelse", "finalbody"):
                if hasattr(s, field):
                    setattr(s, field, self.block(getattr(s, field), inner, defined, top=False))
            for handler in getattr(s, "handlers", []):
                handler.body = self.block(handler.body, inner, defined, top=False)
            if isinstance(s, ast.While):
                self.changed = True
                s.test = ast.copy_location(_jm("static_only", self.test(s.test), ast.Constant(
                    "`while` on a traced condition needs jax.lax.while_loop")), s.test)
                return s
            for field in ("iter", "items"):
                if hasattr(s, field):
                    setattr(s, field, self.visit(getattr(s, field)) if field == "iter"
                            else [self.visit(item) for item in s.items])
            return s
        return self.visit(s)

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        self.changed = True
        if _binds_in_expr(node):
            node.test = ast.copy_location(_jm("static_only", node.test, ast.Constant(
                "a branch of this expression binds a name (walrus)")), node.test)
            return node
        return ast.copy_location(
            _jm("cond", self.test(node.test), _thunk(node.body), _thunk(node.orelse)), node)

    def test(self, expr: ast.expr) -> ast.expr:
        """A condition: `and`/`or`/`not`/chained comparisons that also work on tracers."""
        if _binds_in_expr(expr):
            return self.visit(expr)
        if isinstance(expr, ast.BoolOp):
            first, *rest = (self.test(v) for v in expr.values)
            name = "and_" if isinstance(expr.op, ast.And) else "or_"
            return ast.copy_location(_jm(name, first, *map(_thunk, rest)), expr)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            return ast.copy_location(_jm("not_", self.test(expr.operand)), expr)
        simple = (ast.Name, ast.Constant)
        if isinstance(expr, ast.Compare) and len(expr.ops) > 1 and all(
                isinstance(c, simple) for c in expr.comparators[:-1]):
            lefts = [expr.left, *expr.comparators[:-1]]
            parts = [ast.copy_location(ast.Compare(lhs, [op], [rhs]), expr)
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
            names = [ast.Name(p, ast.Load()) for p in params]
            stmts.append(ast.Return(names[0] if len(names) == 1 else ast.Tuple(names, ast.Load())))
        args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], kwonlyargs=[],
                             kw_defaults=[], defaults=[ast.Constant(None)] * (len(params) - n_in))
        fdef = ast.FunctionDef(self.name(kind, where.lineno), args, stmts or [ast.Pass()], [])
        return ast.fix_missing_locations(ast.copy_location(fdef, where))

    def cond_call(self, s: ast.If, params: list[str], n_in: int, defined: set[str],
                  returns: bool, body: list[ast.stmt], orelse: list[ast.stmt]) -> list[ast.stmt]:
        self.changed = True
        true_fn = self.branch("true", s, params, n_in, body, returns)
        false_fn = self.branch("false", s, params, n_in, orelse, returns)
        operands = [ast.Name(p, ast.Load()) if p in defined else
                    _jm("lookup", ast.Call(ast.Name("locals", ast.Load()), [], []), ast.Constant(p))
                    for p in params[:n_in]]
        call = _jm("cond", self.test(s.test), ast.Name(true_fn.name, ast.Load()),
                   ast.Name(false_fn.name, ast.Load()), *operands)
        return [true_fn, false_fn, ast.copy_location(call, s.test)]

    def assign_if(self, s: ast.If, live: set[str], defined: set[str]) -> list[ast.stmt]:
        """Statement form: `y, z = _jm.cond(pred, _true_N, _false_N, y, z)`."""
        branches = s.body + s.orelse
        reason = _blocker(branches) or (
            "a branch returns from inside a loop, `with` or `try`" if _has_return(branches)
            else None)
        if reason:
            self.changed = True
            s.test = ast.copy_location(
                _jm("static_only", self.test(s.test), ast.Constant(reason)), s.test)
            s.body = self.block(s.body, live, defined, top=False)
            s.orelse = self.block(s.orelse, live, defined, top=False)
            return [s]
        exposed = _read_first(s.body) | _read_first(s.orelse)
        both = _definite(s.body) & _definite(s.orelse)
        params = [n for n in _stores(branches) if n in live or n in exposed]
        inputs = [n for n in params if n in exposed or n not in both]
        params = inputs + [n for n in params if n not in inputs]
        *defs, call = self.cond_call(s, params, len(inputs), defined, False, s.body, s.orelse)
        targets = [ast.Name(p, ast.Store()) for p in params]
        if not targets:
            stmt: ast.stmt = ast.Expr(call)
        else:
            target = targets[0] if len(targets) == 1 else ast.Tuple(targets, ast.Store())
            stmt = ast.Assign([target], call)
        cleanup = [ast.If(_jm("is_undefined", ast.Name(p, ast.Load())),
                          [ast.Delete([ast.Name(p, ast.Del())])], [])
                   for p in params if p not in defined and p not in both]
        return [ast.fix_missing_locations(ast.copy_location(n, s)) for n in [*defs, stmt, *cleanup]]

    def return_if(self, s: ast.If, rest: list[ast.stmt], defined: set[str]) -> list[ast.stmt]:
        """Return form: the rest of the function joins the branch that falls through."""
        body = s.body if _always_exits(s.body) else s.body + rest
        orelse = s.orelse if _always_exits(s.orelse) else s.orelse + copy.deepcopy(rest)
        exposed = _read_first(body) | _read_first(orelse)
        params = [n for n in _stores(body + orelse) if n in exposed]
        *defs, call = self.cond_call(s, params, len(params), defined, True, body, orelse)
        ret = ast.copy_location(ast.Return(call), s)
        return [ast.fix_missing_locations(n) for n in [*defs, ret]]


def rewrite_module(tree: ast.Module, *, known: set[str] | None = None) -> tuple[ast.Module, bool]:
    """Rewrite `tree` in place (original line numbers kept); True if anything changed.

    Top-level defs are rewritten as functions, other statements as a notebook cell; a
    changed tree starts with `import jitmagic._autocond as _jm`, so it runs as it is
    (e.g. as the body of the function a cell compiles to).
    """
    rewriter = _Rewriter()
    rewriter.module(tree, set(known or ()))
    if rewriter.changed:
        where = tree.body[0] if tree.body else None
        imp = ast.Import([ast.alias("jitmagic._autocond", "_jm")])
        tree.body.insert(0, ast.copy_location(imp, where) if where else imp)
    return ast.fix_missing_locations(tree), rewriter.changed
