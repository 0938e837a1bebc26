"""Opt-in rewrite: Python `if`/`while`/`for ... in range` on traced values become `jax.lax`.

`autocond(f)` re-parses `f`'s source and turns every `if`/`elif`/`else` and every
`a if c else b` into a call of `cond(pred, true_fn, false_fn, *operands)`, which
has `jax.lax.cond`'s signature but decides at *trace time*: a concrete condition
(Python bool, static value, shape test) branches in plain Python, so static
branches stay pruned; a tracer runs both branches through `lax.cond`. Loops work
the same way: `while` becomes `while_loop(cond_fn, body_fn, *carry)` and
`for i in range(...)` becomes `fori_loop(lower, upper, body_fn, *carry)`, which
unroll in Python while the condition / bounds are concrete and are `jax.lax` loops
once they are traced. Code that cannot be expressed that way keeps its Python
form behind `static_only`/`static_range`, which raise `AutocondError` only if the
condition is traced. Line numbers of the rewritten code are the user's, so
tracebacks point at their lines. Why an AST rewrite and not bytecode: the result
is readable (`--show-source`) and teaches the `lax` forms.

Layout: this module is the public API and the namespace rewritten code imports as
`_jm` (runtime helpers re-exported from `_autocond_runtime` and `_autocond_loops`);
`_autocond_rewrite` (conditions) and `_autocond_loopwrite` (loops) rewrite the AST,
with `_autocond_flow` (data-flow facts) and `_autocond_nodes` (node builders).
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterable
from typing import Any

from jitmagic.autocond.loops import fori_loop as fori_loop
from jitmagic.autocond.loops import static_range as static_range
from jitmagic.autocond.loops import while_loop as while_loop
from jitmagic.autocond.rewrite import rewrite_module as rewrite_module
from jitmagic.autocond.runtime import AutocondError as AutocondError
from jitmagic.autocond.runtime import Undefined as Undefined
from jitmagic.autocond.runtime import and_ as and_
from jitmagic.autocond.runtime import cond as cond
from jitmagic.autocond.runtime import is_undefined as is_undefined
from jitmagic.autocond.runtime import lookup as lookup
from jitmagic.autocond.runtime import not_ as not_
from jitmagic.autocond.runtime import or_ as or_
from jitmagic.autocond.runtime import static_only as static_only

__all__ = ["AutocondError", "autocond", "rewrite_module", "rewrite_source"]

_HEADER = ("# autocond: _jm.cond(pred, true_fn, false_fn, *operands) is jax.lax.cond when pred is"
           " traced,\n# and a plain Python `if` when pred is concrete.\n")
_LOOP_HEADER = ("# _jm.while_loop(cond_fn, body_fn, *carry) and _jm.fori_loop(lower, upper,"
                " body_fn, *carry)\n# are jax.lax.while_loop / fori_loop (carry unpacked) once"
                " the condition or a bound\n# is traced, and plain Python loops while it is"
                " concrete.\n")
_FACTORY = "__jitmagic_autocond_factory__"


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
    text = ast.unparse(tree)
    if not changed:
        return text + "\n"
    loops = "_jm.while_loop(" in text or "_jm.fori_loop(" in text
    return f"{_HEADER}{_LOOP_HEADER if loops else ''}{text}\n"


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
        for field in ("col_offset", "end_col_offset"):
            if getattr(node, field, None) is not None:
                setattr(node, field, getattr(node, field) + cols)


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
