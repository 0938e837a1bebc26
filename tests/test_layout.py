"""The package layout, checked from the source: layers, no import cycles, module sizes.

Every `import` counts, wherever it stands: module level, inside a function, or under
`if TYPE_CHECKING:`. A failure names the importing file, its line and the import.
`lint-imports` (the `[tool.importlinter]` contracts in pyproject.toml, run by
scripts/test.sh) checks the layers again with import-linter; this test needs nothing
but the standard library and also covers the rules import-linter cannot express.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jitmagic"
MAX_LINES = 300
MAX_FLAT_MODULES = 6
MIN_SUBPACKAGES = 4
# Over MAX_LINES today; the lead splits them. Remove an entry once its module is short
# (the test fails while a listed module is already within the limit, so the list stays true).
PENDING_SPLIT: set[str] = set()
# What each subpackage (or flat module) may import of jitmagic besides itself.
MAY_IMPORT: dict[str, set[str]] = {
    "jitmagic.errors": set(),
    "jitmagic.arrays": set(),
    "jitmagic.ledger": {"jitmagic.errors"},
    "jitmagic.autocond": {"jitmagic.arrays"},
    "jitmagic.diagnose": {"jitmagic.errors", "jitmagic.arrays", "jitmagic.ledger"},
    "jitmagic.graphs": {"jitmagic.errors", "jitmagic.arrays", "jitmagic.ledger"},
    "jitmagic.dashboard": {
        "jitmagic.errors", "jitmagic.arrays", "jitmagic.ledger", "jitmagic.diagnose",
        "jitmagic.graphs",
    },
}
# Third-party packages only some places may import (prefixes of the relative path).
ONLY_IN = {
    "IPython": ("jitmagic/notebook/", "jitmagic/session.py"),
    "ipywidgets": ("jitmagic/graphs/render.py",),
    "anywidget": ("jitmagic/graphs/render.py", "jitmagic/graphs/explore.py"),
}
# Known exceptions to ONLY_IN, reported to the lead: `IPython.display` calls in views
# that display themselves. Same rule as PENDING_SPLIT: an entry must still be true.
PENDING_IPYTHON = {
    ("jitmagic/graphs/render.py", "IPython.display"),
    ("jitmagic/dashboard/live.py", "IPython"),
    ("jitmagic/dashboard/live.py", "IPython.display"),
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it was written."""

    source: str  # importing module, dotted
    target: str  # imported module, dotted (a submodule when `from pkg import submodule`)
    path: str  # importing file, relative to the repository
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _imports(module: str) -> list[Import]:
    """Every import in `module`, relative ones resolved, all nesting levels included."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import name`: the submodule pkg.name when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        found += [Import(module, t, _rel(path), node.lineno) for t in targets]
    return found


IMPORTS = [imp for module in MODULES for imp in _imports(module)]
INTERNAL = [imp for imp in IMPORTS if imp.target.split(".")[0] == "jitmagic"]


def _unit(module: str) -> str:
    """The layer a module belongs to: its subpackage, or itself when flat."""
    return ".".join(module.split(".")[:2])


def test_imports_are_found_at_every_level() -> None:
    """The scanner sees function-level and TYPE_CHECKING imports, not only the top ones."""
    api = {imp.target for imp in INTERNAL if imp.source == "jitmagic.api"}
    assert "jitmagic.graphs.ledger" in api  # imported inside _draw_entry
    assert "jitmagic.autocond" in api  # imported inside tracked()
    assert any(imp.target.startswith("IPython") for imp in IMPORTS)


def test_no_import_cycles() -> None:
    graph: dict[str, dict[str, Import]] = {m: {} for m in MODULES}  # first import per target
    for imp in INTERNAL:
        if imp.target in MODULES and imp.target != imp.source:
            graph[imp.source].setdefault(imp.target, imp)
    cycles: list[list[Import]] = []
    done: set[str] = set()
    stack: list[str] = []  # modules on the current path
    edges: list[Import] = []  # edges[i] goes from stack[i] to stack[i + 1]

    def visit(module: str) -> None:
        stack.append(module)
        for imp in graph[module].values():
            if imp.target in stack:  # back edge: the path from there, plus this import
                cycles.append([*edges[stack.index(imp.target):], imp])
            elif imp.target not in done:
                edges.append(imp)
                visit(imp.target)
                edges.pop()
        stack.pop()
        done.add(module)

    for module in MODULES:
        if module not in done:
            visit(module)
    report = "\n".join(" -> ".join(str(step) for step in cycle) for cycle in cycles)
    assert not cycles, f"import cycles (each import shown with its file and line):\n{report}"


def test_layers_point_one_way() -> None:
    bad = [
        imp for imp in INTERNAL
        if _unit(imp.source) in MAY_IMPORT
        and _unit(imp.target) != _unit(imp.source)
        and _unit(imp.target) not in MAY_IMPORT[_unit(imp.source)]
    ]
    report = "\n".join(
        f"{imp}  ({_unit(imp.source)} may import only "
        f"{', '.join(sorted(MAY_IMPORT[_unit(imp.source)])) or 'nothing else of jitmagic'})"
        for imp in bad
    )
    assert not bad, f"imports against the layers:\n{report}"


def test_nothing_imports_the_top_package() -> None:
    """`jitmagic/__init__.py` imports the layers; any import of it back is a cycle."""
    bad = [imp for imp in INTERNAL if imp.target == "jitmagic" and imp.source != "jitmagic"]
    assert not bad, "\n".join(map(str, bad))


@pytest.mark.parametrize("package", sorted(ONLY_IN))
def test_frontend_packages_imported_only_by_their_glue(package: str) -> None:
    places = ONLY_IN[package]
    found = {(imp.path, imp.target) for imp in IMPORTS if imp.target.split(".")[0] == package}
    bad = sorted((p, t) for p, t in found if not p.startswith(places)
                 and (p, t) not in PENDING_IPYTHON)
    stale = sorted(p for p in PENDING_IPYTHON if p[1].split(".")[0] == package and p not in found)
    assert not bad, f"{package} may be imported only in {', '.join(places)}:\n" + "\n".join(
        f"{imp}" for imp in IMPORTS if (imp.path, imp.target) in bad
    )
    assert not stale, f"no longer true, remove from PENDING_IPYTHON: {stale}"


def test_subpackages_and_flat_modules() -> None:
    subpackages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(subpackages) >= MIN_SUBPACKAGES, subpackages
    assert len(flat) <= MAX_FLAT_MODULES, f"{len(flat)} modules flat in jitmagic/: {flat}"


def test_modules_are_short() -> None:
    lengths = {_rel(p): len(p.read_text(encoding="utf-8").splitlines())
               for p in MODULES.values()}
    long = {path: n for path, n in lengths.items() if n > MAX_LINES}
    unexpected = {path: n for path, n in long.items() if path not in PENDING_SPLIT}
    assert not unexpected, f"modules over {MAX_LINES} lines (split by concept): {unexpected}"
    done = sorted(PENDING_SPLIT - set(long))
    assert not done, f"within {MAX_LINES} lines now, remove from PENDING_SPLIT: {done}"
