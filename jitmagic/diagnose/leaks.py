"""Side effects that leak tracers: a jitted body storing a value in a global, list or `self`.

The body runs once, at trace time, so what it stores is a tracer, and using it later
raises `UnexpectedTracerError`. Two places see it: right after a traced miss,
:func:`find_leaks` looks (only) at the globals, closure cells and bound `self` the function
names, for tracers; and when the leaked tracer is later passed into a tracked function,
:func:`explain_leak` reads JAX's error for the function that leaked it.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import re
import types
from collections.abc import Iterator
from typing import Any

import jax

from jitmagic.diagnose.diagnosis import Cause, Diagnosis, FixKind
from jitmagic.diagnose.retrace import Call
from jitmagic.diagnose.where import Where

_SCAN = 200  # items looked at in one stored container


def _holds_tracer(value: Any) -> bool:
    if isinstance(value, jax.core.Tracer):
        return True
    if isinstance(value, (list, tuple, set, dict)):
        items = value.values() if isinstance(value, dict) else value
        return any(isinstance(v, jax.core.Tracer) for v in itertools.islice(items, _SCAN))
    return False


def _codes(code: Any) -> Iterator[Any]:
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            yield from _codes(const)


def find_leaks(fun: Any) -> list[tuple[str, int | None]]:
    """(where, storing line) for each tracer ``fun`` left in its globals, cells or `self`."""
    found = []
    target = getattr(fun, "__func__", fun)
    code = getattr(target, "__code__", None)
    if code is None:
        return []
    glob = getattr(target, "__globals__", {})
    for name in dict.fromkeys(n for c in _codes(code) for n in c.co_names):
        value = glob.get(name)
        if value is not None and (_holds_tracer(value) or _attr_tracer(value)):
            found.append((f"global `{name}`", storing_line(target, name)))
    for name, cell in zip(code.co_freevars, target.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _holds_tracer(value) or _attr_tracer(value):
            found.append((f"closed-over `{name}`", storing_line(target, name)))
    owner = getattr(fun, "__self__", None)
    attrs = getattr(owner, "__dict__", None)
    if isinstance(attrs, dict) and any(
            _holds_tracer(v) for v in itertools.islice(attrs.values(), _SCAN)):
        found.append(("an attribute of `self`", storing_line(target, "self")))
    return found


def _attr_tracer(value: Any) -> bool:
    if isinstance(value, (type, types.ModuleType)) or callable(value):
        return False
    attrs = getattr(value, "__dict__", None)
    if not isinstance(attrs, dict):
        return False
    return any(_holds_tracer(v) for v in itertools.islice(attrs.values(), _SCAN))


def storing_line(fun: Any, name: str) -> int | None:
    """The first line of ``fun`` that stores into ``name`` (assign, attribute, item, append)."""
    code = getattr(fun, "__code__", None)
    if code is None:
        return None
    try:
        tree = ast.parse("".join(linecache.getlines(code.co_filename)))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == fun.__name__ and min(
                [node.lineno, *(d.lineno for d in node.decorator_list)]) == code.co_firstlineno:
            return _first_store(node, name)
    return None


def _stored_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _stored_names(element)
        return
    while isinstance(target, (ast.Attribute, ast.Subscript, ast.Starred)):
        target = target.value
    if isinstance(target, ast.Name):
        yield target.id


def _first_store(fdef: ast.FunctionDef, name: str) -> int | None:
    for node in ast.walk(fdef):
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and any(
                name in _stored_names(t) for t in targets if t is not None):
            return node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("append", "extend", "update", "add", "insert") and \
                name in _stored_names(node.func.value):
            return node.lineno
    return None


def leak_words(fun_name: str, what: str, line: int | None) -> str:
    """The warning's text for one leak found after a miss."""
    at = f" on line {line}" if line else ""
    return (f"jitmagic: `{fun_name}` stored a traced value in {what}{at}. The body runs once, "
            "at trace time, so what it stored is a tracer, not a value; using it later raises "
            "UnexpectedTracerError.\n  Fix: make it pure: return the value instead; for a real "
            "side effect use jax.debug.callback(fn, value); to count traces use f.stats.misses.")


def explain_leak(err: BaseException, call: Call, where: Where) -> Diagnosis:
    """A leaked tracer used in a later call: name the function that leaked it."""
    msg = str(err)
    match = re.search(r"value leaked was (\S+) at (.+?):(\d+)", msg)
    leaker = match.group(1) if match else "a jitted function"
    at = f" (defined at line {match.group(3)})" if match else ""
    text = (f"jitmagic: this call got a tracer that `{leaker}`{at} leaked: it stored a traced "
            "value (in a global, a list, or self) while JAX traced it once.\n"
            "  The stored value is a tracer, not a number; it cannot be used after that trace.\n"
            "  Hint (not verified, so not as code): make it pure: return the value instead "
            "of storing it; for a real side effect use jax.debug.callback.")
    return Diagnosis(cause=Cause.LEAK, culprits=(leaker,), fix_kind=FixKind.PURE,
                     fix="return the value instead of storing it; jax.debug.callback",
                     verified=False, lineno=where.lineno, line=where.text, text=text,
                     dialect=where.dialect)
