"""Which cell is running: the frontend's cell id, or (in a terminal) what the cell assigns.

An edited and re-run cell must replace its old jitted function and dashboard, not pile up
beside it; this decides what "the same cell" means. Reads the shell's request header only
(plain data), so it needs no IPython import.
"""

from __future__ import annotations

from typing import Any


def frontend_cell_id(shell: Any) -> str | None:
    """The notebook cell being run (JupyterLab/Notebook 7 send it), or None in a terminal."""
    header = getattr(shell, "parent_header", None) or {}
    return (header.get("metadata") or {}).get("cellId")


def cell_identity(shell: Any, name: str | None, outputs: tuple[str, ...]) -> str | None:
    """Which earlier cell an edited cell replaces.

    In a notebook the frontend's cell id says it. A terminal has no cells, so an edit is
    recognised by its `--name`, or else by the names it assigns; a cell with neither is
    never replaced (it may be a different cell).
    """
    cell_id = frontend_cell_id(shell)
    if cell_id is not None:
        return cell_id
    if name:
        return f"name:{name}"
    return f"outputs:{','.join(outputs)}" if outputs else None
