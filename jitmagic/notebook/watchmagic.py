"""IPython glue for the compile watch: `%jitwatch`, and one line under each cell that compiled.

The session's `Watch` is on after `%load_ext jitmagic` (`%jitwatch off`, or
`%config JitMagics.watch = False`). `pre_run_cell` marks where the cell starts;
`post_run_cell` displays a `CellSummary` of what it compiled, nothing when it compiled
nothing. `jitmagic.session` installs and removes both hooks.
"""

from __future__ import annotations

from typing import Any

from IPython.core.display_functions import display
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from jitmagic.watcher import Watch, listen, place
from jitmagic.watcher.table import SORTS, CellSummary, WatchTable


class CellWatch:
    """The session's watch, marked at each cell's start and summarised at its end."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.watch = Watch()
        self._mark = 0

    def cell_name(self, filename: str) -> str | None:
        """`In[3]` for a cell's code file (IPython's own traceback naming)."""
        named = self.shell.compile.format_code_name(filename)
        return named[1] if named else None

    def set(self, on: bool) -> None:
        if on:
            place.add_resolver(self.cell_name)
            self.watch.start()
        else:
            self.watch.stop()

    def close(self) -> None:
        self.watch.stop()
        place.remove_resolver(self.cell_name)

    def pre_run_cell(self, info: Any = None) -> None:
        self._mark = self.watch.last_seq
        listen.history.next_epoch()

    def post_run_cell(self, result: Any = None) -> None:
        if not self.watch.active:
            return
        summary = self.summary()
        if summary is not None:
            display(summary)

    def summary(self) -> CellSummary | None:
        """What the running cell compiled, or None when it compiled nothing of the user's."""
        records = self.watch.since(self._mark)
        if not any(not r.internal for r in records):
            return None
        keys = {r.key for r in records}
        functions = [s for s in self.watch.functions() if (s.key in keys)]
        return CellSummary(records, WatchTable(functions, sort="last"))


@magics_class
class WatchMagics(Magics):
    """`%jitwatch`: the session's compile watch."""

    def __init__(self, shell: Any, cells: CellWatch) -> None:
        super().__init__(shell)
        self.cells = cells

    @magic_arguments()
    @argument("state", nargs="?", choices=("on", "off"), help="turn the watch on or off")
    @argument("--sort", choices=SORTS, default="compile", help="order of the functions")
    @line_magic
    def jitwatch(self, line: str) -> Any:
        """Every compile in this session, per function, e.g.

        %jitwatch --sort compiles
        %jitwatch off
        """
        try:
            args = parse_argstring(self.jitwatch, line)
        except SystemExit:
            raise UsageError(f"%jitwatch: bad arguments: {line!r}") from None
        if args.state is not None:
            self.cells.set(args.state == "on")
            print(f"jitmagic: compile watch {args.state}")
            return None
        return self.cells.watch.table(sort=args.sort)


def unregister(shell: Any) -> None:
    """Remove `%jitwatch`."""
    shell.magics_manager.magics["line"].pop("jitwatch", None)
    shell.magics_manager.registry.pop(WatchMagics.__name__, None)
