"""Choosing the fix for a diagnosed tracer error, and wording it for the user's code.

A static fix is offered only with the result of tracing it; when no static set helps
(the value is data), the fix is a rewrite (``jnp.where``, ``lax.cond``, ``lax.while_loop``,
``jax.debug.print``, ``jnp``) written from the user's own statement, and the message says
which arguments being static would *not* help, checked by tracing.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from jitmagic.diagnose.diagnosis import Cause, Diagnosis, FixKind
from jitmagic.diagnose.retrace import Call, Resolves, staticable, user_line, widen
from jitmagic.diagnose.where import Where
from jitmagic.ledger.signature import function_name as fun_name


def choose_fix(
    cause: str,
    culprits: tuple[str, ...],
    call: Call,
    where: Where,
    resolves: Resolves,
) -> Diagnosis:
    values = {n: call.arguments[n] for n in culprits}
    scalars = cause in ("index", "shape", "slice")
    converted = {n: staticable(v, scalars) for n, v in values.items()}
    can_static = bool(culprits) and all(ok for ok, _ in converted.values())
    data_like = can_static and cause == "bool" and any(type(v) is float for v in values.values())
    note = ""
    if can_static:
        culprits = widen(call, culprits, scalars, resolves)
        converted = {n: staticable(call.arguments[n], scalars) for n in culprits}
        static = call.static | set(culprits)
        replace = {n: c for n, (_, c) in converted.items() if c is not call.arguments[n]}
        attempt = call.trace(static, replace)
        if attempt is None and not data_like:
            return _static_fix(cause, culprits, call, where, static, replace, True, "")
        if attempt is not None and resolves(attempt):
            line = user_line(attempt, call.fun, where.filename)
            later = f"then tracing fails at line {line}: {type(attempt).__name__}"
            return _static_fix(cause, culprits, call, where, static, replace, False, later)
        if attempt is None:
            note = f"static {names_text(culprits)} also traces, but recompiles for every new value"
    kind, fix = _data_fix(cause, where)
    helpless = _not_helpful(cause, culprits, call, where, resolves)
    explain = _data_reason(culprits, converted, data_like, helpless, call)
    if kind == "where" and cause == "bool":
        note = note or f"or let jitmagic rewrite it: {_autocond_text(call, where)}"
    note = note or "(a rewrite by hand: not verified automatically)"
    text = _render(cause, culprits, where, explain, fix, note)
    return Diagnosis(
        cause=Cause(cause), culprits=culprits, fix_kind=FixKind(kind), fix=fix, verified=False,
        lineno=where.lineno, line=where.text, not_helpful=helpless, text=text,
    )


def _static_fix(
    cause: str,
    culprits: tuple[str, ...],
    call: Call,
    where: Where,
    static: frozenset[str],
    replace: dict[str, Any],
    verified: bool,
    later: str,
) -> Diagnosis:
    ordered = tuple(n for n in call.names if n in static)
    fix = _static_text(culprits, where)
    for name, value in replace.items():
        fix = f"pass {name} as a Python {type(value).__name__}, and {fix}"
    if cause == "non_array":
        reason = f"{names_text(culprits)} is not an array, so it can only be a static argument."
    else:
        reason = (
            f"{names_text(culprits)} set{'s' if len(culprits) == 1 else ''} the structure (a size, "
            f"loop count or branch), so make {'it' if len(culprits) == 1 else 'them'} static; "
            "each distinct value compiles once."
        )
    note = f"verified: traces with {', '.join(ordered)} static" if verified else later
    text = _render(cause, culprits, where, reason, fix, note)
    return Diagnosis(
        cause=Cause(cause), culprits=culprits, fix_kind=FixKind.STATIC, fix=fix,
        verified=verified, static=ordered, lineno=where.lineno, line=where.text, text=text,
    )


def _autocond_text(call: Call, where: Where) -> str:
    static = " ".join(n for n in call.names if n in call.static)
    flags = (f" --static {static}" if static else "") + " --autocond"
    if where.cell is not None:
        return f"%%jitcell{flags}"
    return f"%jit {fun_name(call.fun)}{flags}"


def _static_text(names: tuple[str, ...], where: Where) -> str:
    quoted = ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "")
    flag = f"--static {' '.join(names)}"
    if where.cell is not None:
        return f"{flag}  (static_argnames=({quoted}))"
    return f"static_argnames=({quoted})  (%jit {fun_name(where.fun)} {flag})"


def _data_fix(cause: str, where: Where) -> tuple[str, str]:
    """Fix kind and text when no static set helps: rewrite with a JAX primitive."""
    stmt = where.statement()
    line = where.text or ""
    if cause == "bool" and stmt is not None:
        return _rewrite_branch(*stmt, where.file_line or 0)
    if cause == "bool":
        return "where", "jnp.where(cond, a, b)  or  lax.cond(cond, true_fn, false_fn, *operands)"
    if cause == "index" and "range(" in line:
        bound = _range_bound(stmt[0]) if stmt else None
        return "fori_loop", f"lax.fori_loop(0, {bound or 'n'}, body_fun, init)  or  lax.scan"
    if cause == "index":
        return "jnp", "index a jnp array instead (jnp.asarray(values)[i]), or lax.switch"
    if cause == "mask":
        match = re.search(r"(\w+)\[(.+)\]", line)
        array, mask = match.groups() if match else ("x", "mask")
        return "where", (
            f"jnp.where({mask}, {array}, 0) keeps the shape (or jnp.nonzero({mask}, size=N))"
        )
    if cause == "size":
        return (
            "size",
            "give the output a fixed size: jnp.nonzero(m, size=N, fill_value=0), "
            "jnp.unique(x, size=N), or jnp.where(m, x, 0)",
        )
    if cause in ("shape", "slice"):
        return "size", (
            "sizes must be known while tracing: compute them from static values or .shape, "
            "or keep a fixed size (lax.dynamic_slice(x, (start,), (SIZE,)), jnp.where)"
        )
    if cause == "numpy":
        fixed = re.sub(r"\bnp\.", "jnp.", line) if "np." in line else "jnp.<same function>"
        return "jnp", f"use jax.numpy on traced values: {fixed}"
    value = _converted_expr(stmt, where.file_line or 0) if stmt else None
    if re.search(r"\bprint\(|\blog", line):
        shown = value or "x"
        return "debug_print", f'jax.debug.print("{{}}", {shown}) prints at run time, not trace time'
    shown = value or "x"
    return "astype", f"keep it a JAX value: {shown}.astype(float) or jnp.asarray({shown})"


def _range_bound(stmt: ast.stmt) -> str | None:
    """``n`` of ``for i in range(n)`` (the loop count to pass to ``lax.fori_loop``)."""
    it = getattr(stmt, "iter", None)
    if isinstance(it, ast.Call) and getattr(it.func, "id", "") == "range" and it.args:
        return ast.unparse(it.args[-1] if len(it.args) < 3 else it.args[1])
    return None


def _converted_expr(found: tuple[ast.stmt, list[ast.stmt], int, str], line: int) -> str | None:
    """The ``e`` of ``float(e)``, ``int(e)`` or ``e.item()`` on the user's line."""
    stmt, _, _, source = found
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call) or node.lineno > line:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("float", "int", "complex") and node.args:
            return ast.get_source_segment(source, node.args[0])
        if isinstance(func, ast.Attribute) and func.attr in ("item", "tolist"):
            return ast.get_source_segment(source, func.value)
    return None


def _rewrite_branch(
    stmt: ast.stmt, block: list[ast.stmt], index: int, source: str, line: int
) -> tuple[str, str]:
    seg = lambda node: ast.get_source_segment(source, node) or "..."  # noqa: E731
    if isinstance(stmt, ast.Assert):
        return "checkify", f"checkify.check({seg(stmt.test)}, ...) (jax.experimental.checkify)"
    if isinstance(stmt, ast.While):
        carried = sorted(
            {n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name)}
            & {
                n.id
                for b in stmt.body
                for n in ast.walk(b)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
        )
        c = ", ".join(carried) if len(carried) == 1 else "carry"
        return "while_loop", f"{c} = lax.while_loop(lambda {c}: {seg(stmt.test)}, body_fun, {c})"
    if isinstance(stmt, ast.If):
        then, other = stmt.body, stmt.orelse
        if not other and isinstance(then[-1], ast.Return) and index + 1 < len(block):
            other = block[index + 1 : index + 2]
        cond = seg(stmt.test)
        if _single(then, ast.Return) and _single(other, ast.Return):
            a, b = seg(then[0].value), seg(other[0].value)  # type: ignore[attr-defined]
            return "where", f"return jnp.where({cond}, {a}, {b})  or  lax.cond({cond}, ...)"
        if _same_assign(then, other):
            target = seg(then[0].targets[0])  # type: ignore[attr-defined]
            a, b = seg(then[0].value), seg(other[0].value)  # type: ignore[attr-defined]
            return "where", f"{target} = jnp.where({cond}, {a}, {b})"
        return "where", f"lax.cond({cond}, true_fn, false_fn, *operands)"
    for node in ast.walk(stmt):
        if isinstance(node, ast.IfExp) and node.test.lineno <= line:
            cond, a, b = seg(node.test), seg(node.body), seg(node.orelse)
            return "where", f"jnp.where({cond}, {a}, {b})"
    return "where", "jnp.where(cond, a, b)  or  lax.cond(cond, true_fn, false_fn, *operands)"


def _single(block: list[ast.stmt], kind: type[ast.stmt]) -> bool:
    return len(block) == 1 and isinstance(block[0], kind) and block[0].value is not None  # type: ignore[attr-defined]


def _same_assign(a: list[ast.stmt], b: list[ast.stmt]) -> bool:
    if not (_single(a, ast.Assign) and _single(b, ast.Assign)):
        return False
    ta, tb = a[0].targets, b[0].targets  # type: ignore[attr-defined]
    return len(ta) == len(tb) == 1 and ast.dump(ta[0]) == ast.dump(tb[0])


def _not_helpful(
    cause: str,
    culprits: tuple[str, ...],
    call: Call,
    where: Where,
    resolves: Resolves,
) -> tuple[str, ...]:
    """Arguments on the line that could be static, yet making them static still fails."""
    if cause not in ("bool", "index", "shape", "slice", "mask", "size", "concrete"):
        return ()
    mentioned = set(re.findall(r"\w+", where.text)) if where.text else set(call.names)
    mentioned |= set(culprits)
    names = tuple(
        n
        for n in call.names
        if n in mentioned and n in call.arguments and staticable(call.arguments[n])[0]
    )
    if not names:
        return ()
    replace = {n: staticable(call.arguments[n])[1] for n in names}
    attempt = call.trace(call.static | set(names), replace)
    return () if resolves(attempt) else names


def _data_reason(
    culprits: tuple[str, ...],
    converted: dict[str, tuple[bool, Any]],
    data_like: bool,
    helpless: tuple[str, ...],
    call: Call,
) -> str:
    arrays = tuple(n for n in culprits if not converted[n][0])
    parts = []
    if arrays:
        parts.append(f"{names_text(arrays)} {_is(arrays)} data (an array), so it cannot be static")
    if data_like:
        who = f"{names_text(culprits)} {_is(culprits)}"
        parts.append(f"{who} data: static recompiles for every value")
    if helpless and set(helpless) <= call.static:
        parts.append(f"{names_text(helpless)} static alone does NOT help (already static)")
    elif helpless:
        parts.append(f"making {names_text(helpless)} static alone does NOT help (checked)")
    return "; ".join(parts) + "." if parts else "No static set makes this trace."


_HEADLINES = {
    "bool": "{construct} needs a concrete bool, but {who} traced",
    "index": "a Python int is needed here (range(), indexing), but {who} traced",
    "shape": "a shape needs concrete ints, but {who} traced",
    "slice": "slice bounds must be static ints, but {who} traced",
    "mask": "boolean-mask indexing makes the output shape depend on data, and {who} traced",
    "size": "the output size depends on data, and {who} traced",
    "concrete": "a concrete Python value (float(), int(), .item()) was requested, but {who} traced",
    "numpy": "NumPy was called on a traced value ({who} traced); NumPy cannot see into a trace",
    "non_array": "{who} not an array, and JAX cannot trace it",
}


def _render(
    cause: str, culprits: tuple[str, ...], where: Where, reason: str, fix: str, note: str
) -> str:
    who = f"{names_text(culprits)} {_is(culprits)}" if culprits else "a value it depends on is"
    text = where.text or ""
    construct = "`" + text.rstrip(":") + "`" if re.match(r"(if|elif|while)\b", text) else "this"
    head = _HEADLINES[cause].format(construct=construct, who=who)
    at = f" (line {where.lineno}: `{text}`)" if where.lineno is not None and text else ""
    return f"jitmagic: {head}{at}.\n  {reason}\n  Fix: {fix}\n  {note}"


def names_text(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _is(names: tuple[str, ...]) -> str:
    return "is" if len(names) == 1 else "are"
