"""A notebook cell as a jittable function: free names in, assigned names out.

`_cellscan.analyze_cell` finds the cell's free names (read before assigned: they come
from the notebook), its outputs (top-level assignments: they go back) and whether it
ends with an expression (displayed). `plan_cell` decides: free names holding arrays,
numbers or pytrees of them are traced parameters, modules stay globals, any other value
is a static parameter (so a changed str or function recompiles rather than going stale).
`compile_cell` turns the plan into a real function whose code lines are the cell's lines,
so tracebacks and jaxpr source info point at the cell.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import linecache
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jax

from jitmagic.arrays import is_array_leaf, is_array_tree
from jitmagic.notebook.cellscan import CellError, analyze_cell, parse_cell

__all__ = ["CellError", "CellFunction", "CellPlan", "analyze_cell", "compile_cell",
           "is_traceable", "plan_cell"]

LAST = "__jitmagic_last__"
_COLLECT = "__jitmagic_collect__"


def is_traceable(value: Any) -> bool:
    """Arrays, numbers and (non-empty) pytrees of them: values jit can take as arguments."""
    return is_array_tree(value)


@dataclass(frozen=True)
class CellPlan:
    """How one cell becomes one jitted function."""

    source: str
    traced: tuple[str, ...]
    static: tuple[str, ...]
    outputs: tuple[str, ...]
    has_last_expr: bool
    key: str  # content address: same source + names + options -> same jitted function
    implicit_static: tuple[str, ...] = ()  # non-array free values (str, functions): static

    @property
    def filename(self) -> str:
        return f"<jitcell-{self.key[:8]}>"


def plan_cell(
    source: str, namespace: Mapping[str, Any], static: Iterable[str] = (), options: str = ""
) -> CellPlan:
    """Decide the parameters of a cell; raise CellError for names it cannot resolve."""
    analysis = analyze_cell(source)
    static = tuple(dict.fromkeys(static))
    undefined = [n for n in analysis.free if n not in namespace and not hasattr(builtins, n)]
    if undefined:
        where = ", ".join(f"{n!r} (cell line {analysis.first_use[n]})" for n in undefined)
        raise CellError(f"name {where} is not defined: define it in the notebook first")
    candidates = [n for n in analysis.free if n in namespace]
    unknown = [n for n in static if n not in candidates]
    if unknown:
        raise CellError(
            f"--static {' '.join(unknown)}: not a free variable of this cell. "
            f"Valid names: {', '.join(candidates) or '(none)'}"
        )
    traced = tuple(n for n in candidates if n not in static and is_traceable(namespace[n]))
    implicit = tuple(n for n in candidates if n not in static and n not in traced
                     and not isinstance(namespace[n], types.ModuleType))
    for name in implicit:
        _require_hashable(name, namespace[name])
    for name in static:
        try:
            hash(namespace[name])
        except TypeError:
            raise CellError(f"--static {name}: a {type(namespace[name]).__name__} is not "
                            "hashable; use a tuple or a frozen dataclass") from None
    static = static + implicit
    digest = hashlib.sha256(
        "\x00".join([source, ",".join(traced), ",".join(static), options]).encode()
    ).hexdigest()
    return CellPlan(source, traced, static, analysis.outputs, analysis.has_last_expr, digest,
                    implicit)


def _require_hashable(name: str, value: Any) -> None:
    """Non-array free values (a str, a function) are passed static, so JAX keys on them.

    An object hashed by identity (a plain class instance) would be keyed on *which* object,
    not on its contents, so mutating it would silently reuse a stale compile: refused.
    """
    kind = type(value).__name__
    try:
        hash(value)
    except TypeError:
        raise CellError(
            f"`{name}` ({kind}) is neither arrays/numbers (which the cell would trace) nor "
            "hashable (which it would pass as static): make it a tuple or a frozen "
            "dataclass, or use its array parts in the cell"
        ) from None
    by_identity = type(value).__hash__ is object.__hash__
    if by_identity and not isinstance(value, (type, types.FunctionType,
                                              types.BuiltinFunctionType, types.MethodType)):
        raise CellError(
            f"`{name}` ({kind}) is hashed by identity, so a jitted cell would not see changes "
            f"to it: copy the values it holds into variables (e.g. `lr = {name}.lr`), make it "
            f"a frozen dataclass, or pass --static {name} to accept identity keying"
        )


def collect_outputs(local_vars: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The cell's assigned values that can leave a jitted function; others are an error."""
    out = {}
    for name in names:
        if name not in local_vars:
            continue  # assigned only on a branch that did not run
        value = local_vars[name]
        bad = [leaf for leaf in jax.tree_util.tree_leaves(value) if not is_array_leaf(leaf)]
        if bad:
            raise CellError(
                f"the cell assigns `{name}` a {type(bad[0]).__name__}, which cannot be returned "
                f"from a jitted cell; name it `_{name}` to keep it local to the cell"
            )
        out[name] = value
    return out


def compile_cell(plan: CellPlan, namespace: dict[str, Any], *, autocond: bool = False,
                 name: str = "jitcell") -> Any:
    """Build `name(*traced, **static) -> (outputs, last)` with the cell's line numbers.

    Its globals are the notebook namespace (so `jnp` and friends resolve live); the
    helper that gathers outputs is passed through a closure, not put in the namespace.
    """
    tree = parse_cell(plan.source)
    if autocond:
        from jitmagic.autocond import rewrite_module

        tree, _ = rewrite_module(tree, known=set(plan.traced) | set(plan.static))
    body = tree.body
    if plan.has_last_expr and body and isinstance(body[-1], ast.Expr):
        last = body[-1]
        body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name(LAST, ast.Store())], value=last.value), last
        )
    else:
        body.append(ast.Assign(targets=[ast.Name(LAST, ast.Store())],
                               value=ast.Constant(None)))
    collect = ast.Call(ast.Name(_COLLECT, ast.Load()),
                       [ast.Call(ast.Name("locals", ast.Load()), [], []),
                        ast.Constant(plan.outputs)], [])  # type: ignore[arg-type]  # a tuple
    body.append(ast.Return(ast.Tuple([collect, ast.Name(LAST, ast.Load())], ast.Load())))
    args = ast.arguments(
        posonlyargs=[], args=[ast.arg(n) for n in plan.traced], vararg=None,
        kwonlyargs=[ast.arg(n) for n in plan.static], kw_defaults=[None] * len(plan.static),
        kwarg=None, defaults=[],
    )
    inner = ast.FunctionDef(  # type: ignore[call-arg]  # type_params: a 3.12+ field
        name=name, args=args, body=body, decorator_list=[], returns=None, type_params=[])
    factory = ast.FunctionDef(  # type: ignore[call-arg]  # type_params, as above
        name="__jitmagic_factory__",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(_COLLECT)], vararg=None,
                           kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[inner, ast.Return(ast.Name(name, ast.Load()))],
        decorator_list=[], returns=None, type_params=[],
    )
    module = ast.Module(body=[factory], type_ignores=[])
    for node in (factory, inner):
        node.lineno, node.col_offset = 1, 0
    ast.fix_missing_locations(module)
    lines = plan.source.splitlines(keepends=True)
    linecache.cache[plan.filename] = (len(plan.source), None, lines, plan.filename)
    scope: dict[str, Any] = {}
    exec(compile(module, plan.filename, "exec"), namespace, scope)
    return scope["__jitmagic_factory__"](collect_outputs)


class CellFunction:
    """The jitted function of one cell; re-running the same cell re-uses it (and its cache).

    Calling it (as `--name step` binds it) returns the cell's last expression, or the
    dict of assigned names when the cell ends with a statement.
    """

    def __init__(self, plan: CellPlan, namespace: dict[str, Any], *, name: str = "jitcell",
                 autocond: bool = False, max_compiles: int | None = None) -> None:
        from jitmagic.api import tracked
        from jitmagic.ledger.records import SourceMap

        self.plan = plan
        self._namespace = namespace
        self.body_source = plan.source
        if autocond:
            from jitmagic.autocond import rewrite_source

            self.body_source = rewrite_source(
                plan.source, filename=plan.filename, known=set(plan.traced) | set(plan.static)
            )
        fun = compile_cell(plan, namespace, autocond=autocond, name=name)
        source = SourceMap(plan.filename, 0, plan.source, is_cell=True, dialect="%%jitcell",
                           rebuild=lambda text, autocond=False: compile_cell(  # a fix to trace
                               replace(plan, source=text, key="fix" + plan.key), namespace,
                               autocond=autocond, name=name))
        self.tracked = tracked(
            fun, static_argnames=plan.static, max_compiles=max_compiles, source=source
        )
        self.__name__ = name

    def arguments(self, namespace: Mapping[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """The call the cell makes: traced names positionally, static ones by keyword."""
        return (tuple(namespace[n] for n in self.plan.traced),
                {n: namespace[n] for n in self.plan.static})

    def run(self, namespace: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
        args, kwargs = self.arguments(namespace)
        return self.tracked(*args, **kwargs)

    def _with_implicit(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Fill the non-array free values (static) from the notebook, as a cell run does."""
        for name in self.plan.implicit_static:
            kwargs.setdefault(name, self._namespace[name])
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outputs, last = self.tracked(*args, **self._with_implicit(kwargs))
        return last if self.plan.has_last_expr else outputs

    def graph(self, *args: Any, **options: Any) -> Any:
        """Graph of the call `self(*args, **kwargs)` (`%jaxpr step(x, n=2)`)."""
        return self.tracked.graph(*args, **self._with_implicit(options))

    def graph_of_run(self, namespace: Mapping[str, Any], **options: Any) -> Any:
        """Graph of the entry a run of the cell with `namespace` uses (`--graph`)."""
        args, kwargs = self.arguments(namespace)
        return self.tracked.graph(*args, **kwargs, **options)

    @property
    def stats(self) -> Any:
        return self.tracked.stats

    @property
    def entries(self) -> list[Any]:
        return self.tracked.entries

    def __repr__(self) -> str:
        traced = ", ".join(self.plan.traced)
        static = "".join(f", {n}=..." for n in self.plan.static)
        star = ", *" if static else ""
        return f"<jitcell {self.__name__}({traced}{star}{static}) {self.stats!r}>"
