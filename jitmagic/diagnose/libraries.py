"""Library objects passed to a tracked jit: equinox Modules and flax.nnx objects.

An equinox Module whose leaves include a function (``model.activation``) cannot be a
`jax.jit` argument: the fix is equinox's own filtering (``eqx.filter_jit``, or
``eqx.partition`` with the non-array part static), verified by tracing the same split.
A flax.nnx object passed through `jax.jit` is flattened into a copy: whatever the body
changes on it (a parameter update, an optimizer step) never reaches the caller's object,
silently; :func:`nnx_mutation_warning` says so after the miss that traced it.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from typing import Any

import jax

from jitmagic.diagnose.diagnosis import Cause, Diagnosis, FixKind
from jitmagic.diagnose.retrace import Call, quiet
from jitmagic.diagnose.where import Where
from jitmagic.ledger.signature import function_name


def _alias(fun: Any, module: Any, default: str) -> str:
    """The name the user's globals give ``module`` (``eqx``), else ``default``."""
    for name, value in getattr(fun, "__globals__", {}).items():
        if value is module:
            return name
    return default


def explain_library_leaf(path: str, culprits: tuple[str, ...], call: Call,
                         where: Where) -> Diagnosis | None:
    """An equinox Module with a non-array leaf, or None if the argument is something else."""
    if not culprits or culprits[0] not in call.arguments:
        return None
    value = call.arguments[culprits[0]]
    eqx = sys.modules.get("equinox")
    if eqx is None or not isinstance(value, eqx.Module):
        return None
    alias = _alias(call.fun, eqx, "equinox")
    name = function_name(call.fun)
    code = f"{name} = {alias}.filter_jit({name})"
    verified = _filter_traces(eqx, call)
    text = (f"jitmagic: `{path}` is not an array (a {type(_leaf(value, path)).__name__}), and "
            f"jax.jit traces every leaf of the {type(value).__name__} `{culprits[0]}`.\n"
            f"  Equinox splits arrays from the rest: {alias}.filter_jit, or "
            f"{alias}.partition({culprits[0]}, {alias}.is_array) with the non-array part static.\n"
            + (f"  Fix: {code}\n  verified: traces with that split" if verified else
               f"  Hint (not verified, so not as code): use {alias}.filter_jit({name})"))
    return Diagnosis(cause=Cause.NON_ARRAY, culprits=(path,), fix_kind=FixKind.LIBRARY,
                     fix=code, verified=verified, lineno=where.lineno, line=where.text,
                     text=text, fix_code=code if verified else "", dialect=where.dialect)


def _leaf(value: Any, path: str) -> Any:
    for part in path.split(".")[1:]:
        value = getattr(value, part, value)
    return value


def _filter_traces(eqx: Any, call: Call) -> bool:
    """Does ``call`` trace with every argument split as ``eqx.filter_jit`` splits it?"""
    split = {n: eqx.partition(v, eqx.is_array) for n, v in call.arguments.items()}

    def step(arrays: dict[str, Any]) -> Any:
        arguments = {n: eqx.combine(arrays[n], split[n][1]) for n in split}
        bound = inspect.BoundArguments(call.sig, arguments)
        return call.fun(*bound.args, **bound.kwargs)

    try:
        with quiet():
            jax.jit(step).trace({n: s[0] for n, s in split.items()})
    except Exception:
        return False
    return True


def nnx_mutation_warning(fun: Any, arg_names: list[str]) -> str | None:
    """Words for a tracked function that mutates a flax.nnx argument (lost silently)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(fun))))
    except (OSError, TypeError, SyntaxError):
        return None
    mutated = sorted({n for n in arg_names if _mutates(tree, n)})
    if not mutated:
        return None
    who = ", ".join(f"`{n}`" for n in mutated)
    return (f"jitmagic: `{fun.__name__}` changes the flax.nnx object {who} inside the trace, "
            "but jax.jit flattens it into a copy: the change never reaches your object "
            "(parameters stay the same, silently).\n  Fix: use nnx.jit, or split the state: "
            "graphdef, state = nnx.split(model) outside, nnx.merge(graphdef, state) inside a "
            "pure step that returns the new state.")


def _mutates(tree: ast.AST, name: str) -> bool:
    for node in ast.walk(tree):
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, (ast.Attribute, ast.Subscript)) and _rooted(t, name):
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "update" and _rooted(node.func.value, name):
            return True
    return False


def _rooted(node: ast.AST, name: str) -> bool:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return isinstance(node, ast.Name) and node.id == name
