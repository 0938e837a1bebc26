"""IPython glue: `%jit`, `%%jitcell`, `%jaxpr`, `%jitstats`. Parsing and display only.

Everything with logic lives below (`notebook.cell`, `api`, `ledger`, `graphs`, `dashboard`)
and is tested without IPython.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from IPython.core.display_functions import display
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

from jitmagic.api import tracked as make_tracked
from jitmagic.graphs.collapse import UnknownCluster
from jitmagic.ledger.records import SourceMap
from jitmagic.ledger.registry import forget
from jitmagic.ledger.tracked import TrackedFunction
from jitmagic.notebook.boards import show_dashboard, show_stats
from jitmagic.notebook.cell import CellError, CellFunction, plan_cell
from jitmagic.notebook.cellid import cell_identity
from jitmagic.notebook.drawing import GRAPH_ARGS, draw_call, draw_diff, graph_options

_AUTOCOND_HELP = ("rewrite Python if/else and loops on traced values into "
                  "lax.cond / lax.while_loop / lax.fori_loop")


def _check_static_names(name: str, fun: Any, static: list[str]) -> None:
    """`--static` names must be parameters: say which ones are (JAX only says which are not)."""
    try:
        params = inspect.signature(fun).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = [s for s in static if s not in params]
    if unknown:
        raise UsageError(f"%jit {name}: --static {' '.join(unknown)} is not a parameter. "
                         f"Valid names: {', '.join(params) or '(none)'}")


def _with(decorators: list) -> Any:
    def apply(fun: Any) -> Any:
        for deco in reversed(decorators):
            fun = deco(fun)
        return fun
    return apply


@magics_class
class JitMagics(Magics):
    """The magics; state (the cells' jitted functions) lives on the instance."""

    shell: InteractiveShell  # IPython types it Optional; registered magics always have one
    watch = Bool(True, help="show what each cell compiled (the compile watch; %jitwatch)"
                 ).tag(config=True)

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.cells: dict[str, CellFunction] = {}  # content key -> jitted cell
        self.cell_keys: dict[str, str] = {}  # frontend cell id -> its current content key

    def _parse(self, magic: Any, line: str) -> Any:
        try:
            return parse_argstring(magic, line)
        except UsageError:
            raise
        except SystemExit:  # argparse exits on bad input; IPython wants UsageError
            raise UsageError(f"bad arguments: {line!r}") from None

    @magic_arguments()
    @argument("name", help="a function in the notebook namespace; rebound to a tracked jit")
    @argument("--static", nargs="+", default=[], metavar="NAME", help="static_argnames")
    @argument("--static-argnums", nargs="+", type=int, default=[], metavar="I",
              help="static_argnums")
    @argument("--donate", nargs="+", default=[], metavar="NAME", help="donate_argnames")
    @argument("--donate-argnums", nargs="+", type=int, default=[], metavar="I",
              help="donate_argnums")
    @argument("--keep-unused", action="store_true", help="jax.jit keep_unused=True")
    @argument("--inline", action="store_true", help="jax.jit inline=True")
    @argument("--jit-kwargs", default=None, metavar="EXPR",
              help="a dict expression of any further jax.jit keywords, e.g. in_shardings")
    @argument("--autocond", action="store_true", help=_AUTOCOND_HELP)
    @argument("--show-source", action="store_true", help="print the --autocond rewrite")
    @argument("--max-compiles", type=int, default=None, metavar="N",
              help="raise RecompileLimitError past N compiles")
    @argument("--no-dashboard", action="store_true", help="do not display the dashboard")
    @line_magic
    def jit(self, line: str) -> None:
        """Rebind a notebook function to a tracked `jax.jit`, e.g.

        %jit conditional_double --static threshold
        """
        args = self._parse(self.jit, line)
        fun = self.shell.user_ns.get(args.name)
        if fun is None or not callable(fun):
            raise UsageError(f"%jit: no function named {args.name!r} in the notebook")
        previous = fun if isinstance(fun, TrackedFunction) else None
        if previous is not None:  # re-jitting a tracked function replaces it
            fun = previous.__wrapped__
        kwargs = self._jit_kwargs(args)
        _check_static_names(args.name, fun, args.static)
        try:
            tracked = make_tracked(fun, autocond=args.autocond, max_compiles=args.max_compiles,
                                   source=SourceMap(dialect="%jit"), **kwargs)
        except (ValueError, TypeError) as err:
            raise UsageError(f"%jit {args.name}: {err}") from None
        if previous is not None:
            forget(previous)
        self.shell.user_ns[args.name] = tracked
        if args.show_source:
            print(tracked.rewritten_source())
        if not args.no_dashboard:
            show_dashboard(self.shell, tracked, key=f"jit:{args.name}")

    def _jit_kwargs(self, args: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if args.jit_kwargs:
            kwargs.update(self.shell.ev(args.jit_kwargs))
        for key, value in (("static_argnames", args.static),
                           ("static_argnums", args.static_argnums),
                           ("donate_argnames", args.donate),
                           ("donate_argnums", args.donate_argnums)):
            if value:
                kwargs[key] = tuple(value)
        if args.keep_unused:
            kwargs["keep_unused"] = True
        if args.inline:
            kwargs["inline"] = True
        return kwargs

    @magic_arguments()
    @argument("--static", nargs="+", default=[], metavar="NAME",
              help="free variables of the cell to pass as static arguments")
    @argument("--name", default=None,
              help="also bind the cell as a callable NAME(traced..., static=...)")
    @argument("--autocond", action="store_true", help=_AUTOCOND_HELP)
    @argument("--show-source", action="store_true", help="print the --autocond rewrite")
    @argument("--graph", action="store_true", help="draw the jaxpr of the entry this run used")
    @argument("--max-compiles", type=int, default=None, metavar="N",
              help="raise RecompileLimitError past N compiles")
    @argument("--no-dashboard", action="store_true", help="do not display the dashboard")
    @_with(GRAPH_ARGS)
    @cell_magic
    def jitcell(self, line: str, cell: str) -> Any:
        """Jit-compile this cell: free variables in, assigned names out, e.g.

        %%jitcell --static n --name scale
        y = x * n
        total = y.sum()
        total
        """
        args = self._parse(self.jitcell, line)
        ns = self.shell.user_ns
        try:
            cellfn = self._cell_function(self.shell.transform_cell(cell), args)
            outputs, last = self._run(cellfn)
        except CellError as err:  # a user mistake: one readable line, no traceback
            raise UsageError(str(err)) from None
        ns.update(outputs)
        if args.name:
            ns[args.name] = cellfn
        if not args.no_dashboard:
            key = cell_identity(self.shell, args.name, cellfn.plan.outputs) or cellfn.plan.key
            show_dashboard(self.shell, cellfn.tracked, key=f"cell:{key}")
        if args.graph:
            try:
                display(cellfn.graph_of_run(ns, **graph_options(args)))
            except UnknownCluster as err:
                raise UsageError(f"%%jitcell --collapse: {err}") from None
        return last

    def _run(self, cellfn: CellFunction) -> tuple[dict[str, Any], Any]:
        """Run the cell; a cell that never ran successfully is not kept (nor listed)."""
        try:
            return cellfn.run(self.shell.user_ns)
        except BaseException:
            if cellfn.stats.calls == 0:
                self.cells.pop(cellfn.plan.key, None)
                forget(cellfn.tracked)
            raise

    def _cell_function(self, source: str, args: Any) -> CellFunction:
        """The cell's jitted function: re-used for unchanged source and options.

        An edited cell (same frontend cell id, new source) replaces its old function, so
        editing and re-running a cell does not pile up compiled functions or dashboards.
        """
        options = f"autocond={args.autocond};max={args.max_compiles}"
        plan = plan_cell(source, self.shell.user_ns, args.static, options)
        cell_id = cell_identity(self.shell, args.name, plan.outputs)
        if cell_id is not None:
            previous = self.cell_keys.get(cell_id)
            if previous is not None and previous != plan.key:
                old = self.cells.pop(previous, None)
                if old is not None:
                    forget(old.tracked)
            self.cell_keys[cell_id] = plan.key
        cellfn = self.cells.get(plan.key)
        if cellfn is None:
            cellfn = self.cells[plan.key] = CellFunction(
                plan, self.shell.user_ns, name=args.name or _cell_name(plan, self.shell),
                autocond=args.autocond, max_compiles=args.max_compiles)
        if args.show_source:
            print(cellfn.body_source)
        return cellfn

    @magic_arguments()
    @argument("call", nargs="+", help="a call such as f(x, threshold=0.0), or a tracked function")
    @argument("--static", nargs="+", default=[], metavar="NAME",
              help="static_argnames when the function is not tracked")
    @argument("--diff", nargs="*", type=int, default=None, metavar="I",
              help="compare two entries of a tracked function (default: the last two)")
    @argument("--explore", action="store_true",
              help="an explorer: wheel to zoom, drag to pan, click a cluster to collapse it")
    @_with(GRAPH_ARGS)
    @line_magic
    def jaxpr(self, line: str) -> Any:
        """Draw the jaxpr of a call, e.g.

        %jaxpr conditional_double(jnp.array(5.0), threshold=0.0)
        %jaxpr conditional_double --diff 0 1
        %jaxpr train_step(params, x, y, lr=0.1) --collapse forward,update --explore
        """
        args = self._parse(self.jaxpr, line)
        text, opts = " ".join(args.call), graph_options(args)
        folded = opts.pop("collapse", ()) if args.explore else ()  # the explorer can expand
        try:
            drawn = (draw_diff(self.shell, text, args.diff, opts) if args.diff is not None
                     else draw_call(self.shell, text, tuple(args.static), opts))
            return drawn.explore(collapse=folded) if args.explore else drawn
        except UnknownCluster as err:
            raise UsageError(f"%jaxpr --collapse: {err}") from None

    @magic_arguments()
    @argument("--sort", choices=("misses", "compile", "calls", "name"), default="misses",
              help="order of the functions")
    @line_magic
    def jitstats(self, line: str) -> Any:
        """The ledger of every tracked function, e.g. `%jitstats --sort compile`."""
        show_stats(self.shell, self._parse(self.jitstats, line).sort)


def _cell_name(plan: Any, shell: Any) -> str:
    """An unnamed cell's listed name: its first assigned name, else `cell [12]` (its In[])."""
    return plan.outputs[0] if plan.outputs else f"cell [{shell.execution_count}]"


def unregister(shell: Any) -> None:
    """Remove the magics `load_ipython_extension` registered."""
    manager = shell.magics_manager
    for kind, names in (("line", ("jit", "jaxpr", "jitstats")), ("cell", ("jitcell",))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(JitMagics.__name__, None)
