"""IPython glue: the magics, and a notebook cell turned into a jittable function.

Owns: `%jit`, `%%jitcell`, `%jaxpr`, `%jitstats` (magics.py: parsing and display only;
drawing.py: what `%jaxpr` draws), reading a cell's AST (cellscan.py) and
planning/compiling a cell into a function (cell.py); showing the live dashboards (boards.py).

May import: IPython, and every other jitmagic package (it is the top layer).

Package API: `JitMagics`, `CellFunction`, `plan_cell`.
"""
