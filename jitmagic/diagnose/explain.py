"""Tracer errors -> the argument at fault, the user's line, and a fix that was traced.

Only called after ``jax.jit(fun)(*args, **kwargs)`` failed. This module says *what* failed
(:func:`classify`) and *where* in the user's code (:class:`Where`); :mod:`jitmagic.diagnose.retrace`
re-traces to find the culprit and verify fixes, and :mod:`jitmagic.diagnose.fixes` picks and words
the fix. Static-argument mistakes that fail before tracing are explained here too.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable
from typing import Any

import jax

from jitmagic.diagnose import hygiene as _hygiene
from jitmagic.diagnose import leaks, libraries
from jitmagic.diagnose.diagnosis import Cause, Diagnosis, FixKind, with_diagnosis
from jitmagic.diagnose.dialect import jit_text, names_text
from jitmagic.diagnose.fixes import choose_fix, loop_of
from jitmagic.diagnose.retrace import Call
from jitmagic.diagnose.where import Where
from jitmagic.ledger.records import FailedCall
from jitmagic.ledger.signature import function_name as fun_name

__all__ = ["Diagnosis", "classify", "diagnose_error", "diagnose_failed_call", "named_arguments"]


# JAX's text for a traced slice bound: JAX 0.10 writes the first, 0.12 the second.
_SLICE_TEXTS = ("Slice entries must be static", "Array slice indices must have static")


def diagnose_error(
    err: BaseException,
    *,
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    static_argnums: tuple[int, ...] = (),
    static_argnames: tuple[str, ...] = (),
    jit_kwargs: dict[str, Any] | None = None,
    source_file: str | None = None,
    line_offset: int = 0,
    cell_source: str | None = None,
    dialect: str = "api",
    rebuild: Callable[..., Callable[..., Any]] | None = None,
    autocond: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> BaseException | None:
    """Return a diagnosed copy of ``err`` to raise ``from err``, or None if not ours.

    The copy is an instance of ``type(err)``, its ``str()`` starts with the diagnosis, and
    it has a ``.diagnosis`` (:class:`Diagnosis`). ``dialect`` is how fixes are written;
    ``autocond`` (the `jitmagic.autocond.autocond` rewrite, handed in by the composition
    root) lets the diagnosis offer autocond only when its rewrite traces.
    """
    cause = classify(err)
    if cause is None or hasattr(err, "diagnosis"):
        return None
    try:
        call = Call(fun, args, kwargs, static_argnums, static_argnames, jit_kwargs or {})
    except TypeError:  # the arguments do not bind: not a tracing problem
        return None
    call.autocond = autocond
    where = Where(fun, source_file, line_offset, cell_source, err, dialect, rebuild)
    diagnosis = _explain(cause, err, call, where)
    return with_diagnosis(err, diagnosis.text, diagnosis)


def diagnose_failed_call(
    err: BaseException, call: FailedCall,
    autocond: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> BaseException | None:
    """`diagnose_error` for a tracked function's failed call (the ledger's `Diagnoser`)."""
    return diagnose_error(
        err, fun=call.fun, args=call.args, kwargs=call.kwargs,
        static_argnums=call.static_argnums, static_argnames=call.static_argnames,
        jit_kwargs=call.jit_kwargs, source_file=call.source.source_file,
        line_offset=call.source.line_offset, cell_source=call.source.cell_source,
        dialect=call.source.dialect, rebuild=call.source.rebuild, autocond=autocond,
    )


def classify(err: BaseException) -> str | None:
    """Which of the diagnosed situations ``err`` is (see :class:`Diagnosis`), if any."""
    msg = str(err)
    errors = jax.errors
    if isinstance(err, errors.NonConcreteBooleanIndexError):
        return "mask"
    if isinstance(err, errors.TracerBoolConversionError):
        return "bool"
    if isinstance(err, errors.TracerIntegerConversionError):
        return "index"
    if isinstance(err, errors.TracerArrayConversionError):
        return "numpy"
    if isinstance(err, errors.ConcretizationTypeError):
        if "size argument" in msg:
            return "size"
        return "shape" if "jnp.arange" in msg else "concrete"
    if isinstance(err, TypeError) and msg.startswith("Shapes must be 1D sequences"):
        return "shape"
    if isinstance(err, IndexError) and msg.startswith(_SLICE_TEXTS):
        return "slice"
    if isinstance(err, TypeError) and "as an abstract array" in msg and " at path " in msg:
        return "non_array"
    if isinstance(err, ValueError) and msg.startswith("Non-hashable static arguments"):
        return "unhashable_static"
    if isinstance(err, ValueError) and "has invalid argnames" in msg:
        return "unknown_static"
    if isinstance(err, errors.UnexpectedTracerError) and "value leaked was" in msg:
        return "leak"
    return None


def named_arguments(err: BaseException) -> tuple[str, ...]:
    """Arguments named by JAX's "depends on the value(s) of the argument(s) ..." text."""
    match = re.search(r"depends on the values? of the arguments? (.+?)\.?(?:\n|$)", str(err))
    if not match:
        return ()
    return tuple(n for n in re.split(r",\s*|\s+and\s+", match.group(1)) if n.isidentifier())


def _explain(cause: str, err: BaseException, call: Call, where: Where) -> Diagnosis:
    if cause == "unhashable_static":
        return _explain_unhashable(call, where)
    if cause == "unknown_static":
        return _explain_argname(err, call, where)
    original = where.key(err)

    def resolves(attempt: BaseException | None) -> bool:
        """Gone, or replaced by a non-tracer error or one on another line."""
        if attempt is None or classify(attempt) is None:
            return True
        return where.key(attempt)[1] != original[1]  # type: ignore[index]

    if cause == "leak":
        return leaks.explain_leak(err, call, where)
    if cause == "non_array":
        match = re.search(r" at path (\S+?)\.?(?:\n|$)", str(err))
        path = match.group(1) if match else ""
        culprits: tuple[str, ...] = (re.split(r"[.\[]", path)[0],) if path else ()
        library = libraries.explain_library_leaf(path, culprits, call, where)
        if library is not None:
            return library
        return choose_fix(cause, culprits, call, where, resolves)
    named = named_arguments(err)
    loop = loop_of(err, where)
    if loop is not None and named and set(named) <= set(where.inner_params):
        return choose_fix(cause, named, call, where, resolves, loop)  # a loop variable
    culprits = tuple(n for n in named if n in call.arguments)
    if cause == "numpy" or not culprits:  # JAX names the first converted value only
        culprits = call.search_culprits(resolves) or culprits
    if not culprits and loop is not None:
        return choose_fix(cause, named, call, where, resolves, loop)
    return choose_fix(cause, culprits, call, where, resolves)


# -- static-argument mistakes caught before tracing --------------------------------------


def _explain_unhashable(call: Call, where: Where) -> Diagnosis:
    values = {n: call.arguments[n] for n in call.static if n in call.arguments}
    bad = tuple(n for n in call.names if n in _hygiene.unhashable_statics(values))
    bad = bad or tuple(n for n in call.names if n in values)
    fixes = {n: _hygiene.hashable_fix(n, values[n]) for n in bad}
    drop = {n for n, (_, _, r) in fixes.items() if r is _hygiene.TRACED}
    replace = {n: r for n, (_, _, r) in fixes.items() if r is not _hygiene.TRACED}
    verified = None not in replace.values() and call.trace(call.static - drop, replace) is None
    kinds = {k for k, _, _ in fixes.values()}
    kind = kinds.pop() if len(kinds) == 1 else "hashable"
    fix = "; ".join(t for _, t, _ in fixes.values())
    types = ", ".join(f"{n} is a {_hygiene.type_name(values[n])}" for n in bad)
    kept = tuple(n for n in call.names if n in call.static - drop)
    fix = f"{fix}, with {jit_text(where.dialect, call.fun, kept)}"
    shown = (f"Fix: {fix}\n  verified: traces with that change" if verified
             else f"Hint (not verified, so not as code): {fix}")
    text = (
        f"jitmagic: static argument{'s' if len(bad) > 1 else ''} {names_text(bad)} cannot be "
        f"hashed ({types}); JAX keys its cache on static values.\n  {shown}"
    )
    return Diagnosis(
        cause=Cause.UNHASHABLE_STATIC, culprits=bad, fix_kind=FixKind(kind), fix=fix,
        verified=verified, static=kept, lineno=where.lineno, line=where.text, text=text,
        fix_code=fix if verified else "", dialect=where.dialect,
    )


def _explain_argname(err: BaseException, call: Call, where: Where) -> Diagnosis:
    match = re.search(r"invalid argnames (\{.*?\})", str(err))
    unknown = tuple(sorted(ast.literal_eval(match.group(1)))) if match else ()
    valid = [n for n in call.names if n not in call.static]
    close = {n: difflib.get_close_matches(n, valid, n=1) for n in unknown}
    fixed = (call.static - set(unknown)) | {m[0] for m in close.values() if m}
    verified = all(close.values()) and call.trace(fixed) is None
    guesses = tuple(m[0] for m in close.values() if m)
    ordered = tuple(n for n in call.names if n in fixed)
    code = jit_text(where.dialect, call.fun, ordered)
    fix = (f"did you mean {names_text(guesses)}? {code}" if guesses
           else f"name one of: {', '.join(valid)}")
    shown = (f"Fix: {fix}\n  verified: traces with {', '.join(ordered)} static" if verified
             else f"Hint (not verified, so not as code): {fix}")
    text = (
        f"jitmagic: `{fun_name(call.fun)}` has no argument {names_text(unknown)} to make static; "
        f"its arguments are {', '.join(call.names)}.\n  {shown}"
    )
    return Diagnosis(
        cause=Cause.UNKNOWN_STATIC, culprits=unknown, fix_kind=FixKind.ARGNAME, fix=fix,
        verified=verified, static=ordered, text=text, fix_code=code if verified else "",
        dialect=where.dialect,
    )
