"""Choosing the fix for a diagnosed tracer error, verifying it by tracing, and wording it.

A fix is printed as code only after the fixed call traced (``jax.jit(...).trace``: never
compiled, never run): a static set is traced with those arguments static; a rewrite
(`jitmagic.diagnose.rewrites`) is traced by rebuilding the function with the user's lines
changed (`jitmagic.diagnose.patch`); `--autocond` is offered only if the autocond rewrite
traces. Anything else is a hint, in words. The fix is written in the user's dialect.
"""

from __future__ import annotations

import re
from typing import Any

from jitmagic.diagnose import rewrites
from jitmagic.diagnose.diagnosis import Cause, Diagnosis, FixKind
from jitmagic.diagnose.dialect import jit_text, names_text
from jitmagic.diagnose.patch import patched
from jitmagic.diagnose.retrace import Call, Resolves, staticable, user_line, widen
from jitmagic.diagnose.where import Where

_LOOPS = {"while_cond": "the lax.while_loop condition", "while_body": "the lax.while_loop body",
          "scan": "the lax.scan body", "cond": "a lax.cond branch", "switch": "a lax.switch branch",
          "fori_loop": "the lax.fori_loop body"}


def choose_fix(cause: str, culprits: tuple[str, ...], call: Call, where: Where,
               resolves: Resolves, loop: tuple[str, str] | None = None) -> Diagnosis:
    """The diagnosis of one tracer error whose culprits are known (maybe none)."""
    values = {n: call.arguments[n] for n in culprits if n in call.arguments}
    scalars = cause in ("index", "shape", "slice")
    converted = {n: staticable(v, scalars) for n, v in values.items()}
    can_static = bool(culprits) and loop is None and len(values) == len(culprits) and all(
        ok for ok, _ in converted.values())
    data_like = can_static and cause == "bool" and any(type(v) is float for v in values.values())
    note = ""
    if can_static:
        culprits = widen(call, culprits, scalars, resolves)
        converted = {n: staticable(call.arguments[n], scalars) for n in culprits}
        static = call.static | set(culprits)
        replace = {n: c for n, (_, c) in converted.items() if c is not call.arguments[n]}
        attempt = call.trace(static, replace)
        if attempt is None and not data_like:
            return _static_fix(cause, culprits, call, where, static, replace, None)
        if attempt is not None and resolves(attempt):
            return _static_fix(cause, culprits, call, where, static, replace, attempt)
        if attempt is None:
            note = f"static {names_text(culprits)} also traces, but recompiles for every new value"
    origin = _origin_line(where) if not culprits and loop is None and cause in (
        "shape", "concrete", "index", "slice") else None
    rewrite = _rewrite(cause, where, origin)
    code, lines, failed = _verify(rewrite, call, where)
    if cause == "concrete" and failed is not None and _size_error(failed):
        rewrite = rewrites.Rewrite("size", None, (
            "this value is used as a size, and sizes must be Python ints while tracing: "
            "pass it as a static argument, or compute it outside the jitted function"))
    helpless = () if loop else _not_helpful(cause, culprits, call, where, resolves)
    reason = _data_reason(culprits, converted, data_like, helpless, call, loop, origin)
    alternative = _autocond(call, where) if cause == "bool" and loop is None else ""
    second = (f"Or: {alternative}  (verified: the autocond rewrite traces)" if alternative
              else note)
    also = " (lax.cond also works, for branches doing different work)" if (
        rewrite.kind == "where" and cause == "bool") else ""
    fix_line = (f"Fix: {code}\n  verified: traces with that change{also}" if code
                else f"Hint (not verified, so not as code): {rewrite.hint}")
    text = _render(cause, culprits, where, reason, fix_line, second, loop, origin)
    return Diagnosis(
        cause=Cause(cause), culprits=culprits, fix_kind=FixKind(rewrite.kind),
        fix=code or rewrite.hint, verified=bool(code), lineno=where.lineno, line=where.text,
        not_helpful=helpless, text=text, fix_code=code, fix_lines=lines,
        alternative=alternative, dialect=where.dialect, loop_fun=loop[0] if loop else None,
    )


def _static_fix(cause: str, culprits: tuple[str, ...], call: Call, where: Where,
                static: frozenset[str], replace: dict[str, Any],
                later: BaseException | None) -> Diagnosis:
    ordered = tuple(n for n in call.names if n in static)
    code = jit_text(where.dialect, call.fun, ordered)
    for name, value in replace.items():
        code = f"pass {name} as a Python {type(value).__name__}, and {code}"
    if cause == "non_array":
        reason = f"{names_text(culprits)} is not an array, so it can only be a static argument."
    else:
        one = len(culprits) == 1
        reason = (f"{names_text(culprits)} set{'s' if one else ''} the structure (a size, loop "
                  f"count or branch), so make {'it' if one else 'them'} static; each distinct "
                  "value compiles once.")
    if later is None:
        fix_line = f"Fix: {code}\n  verified: traces with {', '.join(ordered)} static"
    else:
        line = user_line(later, call.fun, where.filename)
        fix_line = (f"Hint (not verified, so not as code): make {names_text(culprits)} static "
                    f"to get past this line; then tracing fails at line {line}: "
                    f"{type(later).__name__}")
    text = _render(cause, culprits, where, reason, fix_line, "", None, None)
    return Diagnosis(
        cause=Cause(cause), culprits=culprits, fix_kind=FixKind.STATIC,
        fix=code if later is None else fix_line.split(": ", 1)[1], verified=later is None,
        static=ordered, lineno=where.lineno, line=where.text, text=text,
        fix_code=code if later is None else "", dialect=where.dialect,
    )


def _rewrite(cause: str, where: Where, origin: tuple[int, str] | None) -> rewrites.Rewrite:
    """The candidate rewrite of the user's statement for this kind of error."""
    found = where.statement()
    line = where.file_line or 0
    if origin is not None:
        return rewrites.python_size(origin[1], origin[0], origin[0])
    hints = {"size": "give the output a fixed size: jnp.nonzero(m, size=N, fill_value=0), "
                     "jnp.unique(x, size=N), or jnp.where(m, x, 0)",
             "shape": "sizes must be known while tracing: compute them from static values or "
                      ".shape, or keep a fixed size and mask (jnp.where)",
             "slice": "slice bounds must be static: lax.dynamic_slice(x, (start,), (SIZE,)) "
                      "with a fixed SIZE, or jnp.where on an index mask"}
    if found is None or cause in hints:
        kind = "size" if cause in hints else "where"
        return rewrites.Rewrite(kind, None, hints.get(cause, "jnp.where(cond, a, b)"))
    if cause == "bool":
        return rewrites.branch(found, line)
    if cause == "mask":
        return rewrites.mask(found, line)
    if cause == "numpy":
        return rewrites.numpy_call(found)
    if cause == "index" and "range(" in (where.text or ""):
        return rewrites.Rewrite("fori_loop", None, "lax.fori_loop(0, n, body_fun, init) or "
                                "lax.scan for a loop whose count is data")
    if cause == "index":
        return rewrites.list_index(found, line)
    return rewrites.converted(found, line)


def _verify(rewrite: rewrites.Rewrite, call: Call, where: Where
            ) -> tuple[str, tuple[int, int] | None, BaseException | None]:
    """The rewrite's code and lines if the rebuilt function traces; else the error it gave."""
    edit = rewrite.edit
    if edit is None:
        return "", None, None
    fixed = patched(call.fun, edit, where.filename, where.rebuild, where.cell)
    failed = None if fixed is None else call.trace(call.static, fun=fixed)
    if fixed is None or failed is not None:
        return "", None, failed
    text = "\n".join(s.strip() for s in edit.text.strip().splitlines())
    return text, (edit.first - where.line_offset, edit.last - where.line_offset), None


def _size_error(err: BaseException) -> bool:
    msg = str(err)
    return msg.startswith("Shapes must be 1D sequences") or "size argument" in msg or (
        "jnp.arange" in msg) or "num_segments" in msg


def _autocond(call: Call, where: Where) -> str:
    """`--autocond` / `autocond=True` in the user's dialect, only if its rewrite traces."""
    rewriter = call.autocond
    try:
        if where.cell is not None and where.rebuild is not None:  # the cell, rewritten
            fixed = where.rebuild(where.cell, autocond=True)
        elif rewriter is not None:
            fixed = rewriter(call.fun)
        else:
            return ""
    except Exception:  # the rewrite refuses this function (AutocondError) or its source
        return ""
    if call.trace(call.static, fun=fixed) is not None:
        return ""
    static = tuple(n for n in call.names if n in call.static)
    return jit_text(where.dialect, call.fun, static, autocond=True)


def _origin_line(where: Where) -> tuple[int, str] | None:
    """The user's line where jnp made the value a tracer, when no argument is at fault."""
    match = re.search(r"from line (.+?):(\d+)(?::\d+)? \(", where.error_text)
    if not match or match.group(1) != where.filename:
        return None
    line = int(match.group(2))
    return where.assignment_of_names_on(line) or (line, where.line_text(line))


def _not_helpful(cause: str, culprits: tuple[str, ...], call: Call, where: Where,
                 resolves: Resolves) -> tuple[str, ...]:
    """Arguments on the line that could be static, yet making them static still fails."""
    if cause not in ("bool", "index", "shape", "slice", "mask", "size", "concrete"):
        return ()
    mentioned = set(re.findall(r"\w+", where.text)) if where.text else set(call.names)
    mentioned |= set(culprits)
    names = tuple(n for n in call.names if n in mentioned and n in call.arguments
                  and staticable(call.arguments[n])[0])
    if not names:
        return ()
    replace = {n: staticable(call.arguments[n])[1] for n in names}
    attempt = call.trace(call.static | set(names), replace)
    return () if resolves(attempt) else names


def _data_reason(culprits: tuple[str, ...], converted: dict[str, tuple[bool, Any]],
                 data_like: bool, helpless: tuple[str, ...], call: Call,
                 loop: tuple[str, str] | None, origin: tuple[int, str] | None) -> str:
    if loop is not None:
        return (f"`{loop[0]}` is {loop[1]}: JAX traces it once, its arguments are tracers, "
                "so Python `if`/`not`/`and`/`or` cannot look at them.")
    if origin is not None:
        return ("No argument is at fault: jnp turned a constant into a traced value; sizes "
                "must be Python ints.")
    arrays = tuple(n for n in culprits if n in converted and not converted[n][0])
    parts = []
    if arrays:
        it = "it" if len(arrays) == 1 else "they"
        parts.append(f"{names_text(arrays)} {_is(arrays)} data (an array), so {it} cannot be "
                     "static")
    if data_like and not set(culprits) <= set(helpless):
        parts.append(f"{names_text(culprits)} {_is(culprits)} data: static recompiles for "
                     "every value")
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


def _render(cause: str, culprits: tuple[str, ...], where: Where, reason: str, fix_line: str,
            second: str, loop: tuple[str, str] | None, origin: tuple[int, str] | None) -> str:
    if loop is not None:
        who = f"the loop variable {names_text(culprits) or '(its argument)'} of `{loop[0]}` is"
    elif origin is not None and origin[0] - where.line_offset == where.lineno:
        who = "a value jnp made from constants is"
    elif origin is not None:
        who = f"the value made on line {origin[0] - where.line_offset} (`{origin[1]}`) is"
    else:
        who = f"{names_text(culprits)} {_is(culprits)}" if culprits else "a value it depends on is"
    text = where.text or ""
    construct = "`" + text.rstrip(":") + "`" if re.match(r"(if|elif|while)\b", text) else "this"
    head = _HEADLINES[cause].format(construct=construct, who=who)
    at = f" (line {where.lineno}: `{text}`)" if where.lineno is not None and text else ""
    tail = f"\n  {second}" if second else ""
    return f"jitmagic: {head}{at}.\n  {reason}\n  {fix_line}{tail}"


def loop_of(err: BaseException, where: Where) -> tuple[str, str] | None:
    """(body function, what it is) when the error was inside a lax loop/cond body."""
    match = re.search(r"tracing the function (\S+) at \S+ for (\w+)", str(err))
    if where.inner is None or not match or match.group(2) not in _LOOPS:
        return None
    return match.group(1), _LOOPS[match.group(2)]


def _is(names: tuple[str, ...]) -> str:
    return "is" if len(names) == 1 else "are"
