"""A notebook cell as a jittable function: free names in, assigned names out.

`analyze_cell` reads the cell's AST: names read before the cell assigns them are
*free* (they come from the notebook), top-level assignments are *outputs* (they go
back to the notebook), and a trailing expression is the displayed value. Free
names holding arrays, numbers or pytrees of them become parameters; modules,
functions and other objects stay globals. `compile_cell` turns that into a real
function whose code lines are the cell's lines, so tracebacks and jaxpr source
info point at the cell.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import linecache
import numbers
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

LAST = "__jitmagic_last__"
_COLLECT = "__jitmagic_collect__"


class CellError(ValueError):
    """A cell that cannot be jitted as written (syntax, undefined or unknown names)."""


@dataclass(frozen=True)
class CellAnalysis:
    free: tuple[str, ...]  # read before assigned, in order of first use
    outputs: tuple[str, ...]  # assigned at top level, public (no leading `_`)
    has_last_expr: bool
    first_use: dict[str, int]  # free name -> line of first read


def _parse(source: str) -> ast.Module:
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

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
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
    tree = _parse(source)
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


def is_traceable(value: Any) -> bool:
    """Arrays, numbers and (non-empty) pytrees of them: values jit can take as arguments."""
    leaves = jax.tree_util.tree_leaves(value)
    if not leaves:
        return False
    return all(
        isinstance(leaf, (jax.Array, np.ndarray, np.generic))
        or (isinstance(leaf, numbers.Number) and not isinstance(leaf, str))
        for leaf in leaves
    )


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
        bad = [leaf for leaf in jax.tree_util.tree_leaves(value) if not _returnable(leaf)]
        if bad:
            raise CellError(
                f"the cell assigns `{name}` a {type(bad[0]).__name__}, which cannot be returned "
                f"from a jitted cell; name it `_{name}` to keep it local to the cell"
            )
        out[name] = value
    return out


def _returnable(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, bool, int, float, complex))


def compile_cell(plan: CellPlan, namespace: dict[str, Any], *, autocond: bool = False,
                 name: str = "jitcell") -> Any:
    """Build `name(*traced, **static) -> (outputs, last)` with the cell's line numbers.

    Its globals are the notebook namespace (so `jnp` and friends resolve live); the
    helper that gathers outputs is passed through a closure, not put in the namespace.
    """
    tree = _parse(plan.source)
    if autocond:
        from ._autocond import rewrite_module

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
                        ast.Constant(plan.outputs)], [])
    body.append(ast.Return(ast.Tuple([collect, ast.Name(LAST, ast.Load())], ast.Load())))
    args = ast.arguments(
        posonlyargs=[], args=[ast.arg(n) for n in plan.traced], vararg=None,
        kwonlyargs=[ast.arg(n) for n in plan.static], kw_defaults=[None] * len(plan.static),
        kwarg=None, defaults=[],
    )
    inner = ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                            type_params=[])
    factory = ast.FunctionDef(
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
        from ._tracked import SourceMap, TrackedFunction

        self.plan = plan
        self._namespace = namespace
        self.body_source = plan.source
        if autocond:
            from ._autocond import rewrite_source

            self.body_source = rewrite_source(
                plan.source, filename=plan.filename, known=set(plan.traced) | set(plan.static)
            )
        fun = compile_cell(plan, namespace, autocond=autocond, name=name)
        source = SourceMap(plan.filename, 0, plan.source, is_cell=True)
        self.tracked = TrackedFunction(
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for name in self.plan.implicit_static:  # the notebook's current value, as a cell run
            kwargs.setdefault(name, self._namespace[name])
        outputs, last = self.tracked(*args, **kwargs)
        return last if self.plan.has_last_expr else outputs

    def graph(self, namespace: Mapping[str, Any] | None = None, *args: Any, **options: Any) -> Any:
        """Graph of the entry a run with `namespace` uses (or of an explicit call)."""
        if namespace is not None:
            args, kwargs = self.arguments(namespace)
            options.update(kwargs)
        return self.tracked.graph(*args, **options)

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
