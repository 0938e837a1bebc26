"""Tracer errors -> the argument at fault, the user's line, and a fix that was traced.

Only called after ``jax.jit(fun)(*args, **kwargs)`` failed, so it may trace a few more
times: once per candidate argument to find the culprit when JAX does not name it (the
argument is closed over as a concrete value), and once to verify the offered static set
(``jax.jit(...).trace``, never a compile). A fix is called "verified" only if that trace
passed. Wording and fix text are in the second half of this module.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import linecache
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from jitmagic import _hygiene
from jitmagic._errors import with_diagnosis

_JAX_DIR = os.path.dirname(jax.__file__)
_SCALARS = (bool, int, float, complex, str, bytes, type(None))
_ARRAYS = (jax.Array, np.ndarray, np.generic)
_MAX_SEARCH = 12  # candidates tried one by one when JAX does not name the argument


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong and what to do about it.

    Attributes:
        cause: 'bool', 'index', 'shape', 'slice', 'mask', 'size', 'concrete', 'numpy', 'non_array',
            'unhashable_static' or 'unknown_static'.
        culprits: the arguments the offending value depends on.
        fix_kind: 'static', 'where', 'while_loop', 'fori_loop', 'size', 'debug_print',
            'astype', 'jnp', 'checkify', 'tuple', 'traced', 'frozen_dataclass', 'hashable',
            'argname'.
        fix: the suggested change, written for the user's code.
        verified: the fix was applied and the function traced.
        static: the complete static set of a static fix (what was traced).
        lineno, line: the user's line (cell line for a cell) and its text.
        not_helpful: arguments whose being static does not help (checked by tracing).
        text: the full message shown at the start of ``str(exc)``.
    """

    cause: str
    culprits: tuple[str, ...]
    fix_kind: str
    fix: str
    verified: bool
    static: tuple[str, ...] = ()
    lineno: int | None = None
    line: str | None = None
    not_helpful: tuple[str, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text


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
) -> BaseException | None:
    """Return a diagnosed copy of ``err`` to raise ``from err``, or None if not ours.

    The copy is an instance of ``type(err)``, its ``str()`` starts with the diagnosis, and
    it has a ``.diagnosis`` (:class:`Diagnosis`).
    """
    cause = classify(err)
    if cause is None or hasattr(err, "diagnosis"):
        return None
    try:
        call = _Call(fun, args, kwargs, static_argnums, static_argnames, jit_kwargs or {})
    except TypeError:  # the arguments do not bind: not a tracing problem
        return None
    where = _Where(fun, source_file, line_offset, cell_source, err)
    diagnosis = _explain(cause, err, call, where)
    return with_diagnosis(err, diagnosis.text, diagnosis)


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
    if isinstance(err, IndexError) and msg.startswith("Slice entries must be static"):
        return "slice"
    if isinstance(err, TypeError) and "as an abstract array" in msg and " at path " in msg:
        return "non_array"
    if isinstance(err, ValueError) and msg.startswith("Non-hashable static arguments"):
        return "unhashable_static"
    if isinstance(err, ValueError) and "has invalid argnames" in msg:
        return "unknown_static"
    return None


def named_arguments(err: BaseException) -> tuple[str, ...]:
    """Arguments named by JAX's "depends on the value(s) of the argument(s) ..." text."""
    match = re.search(r"depends on the values? of the arguments? (.+?)\.?(?:\n|$)", str(err))
    if not match:
        return ()
    return tuple(n for n in re.split(r",\s*|\s+and\s+", match.group(1)) if n.isidentifier())


def staticable(value: Any, scalars: bool = False) -> tuple[bool, Any]:
    """Can ``value`` be static? Returns (ok, the value to pass).

    With ``scalars``, a 0-d array counts as its Python scalar (a size passed as an array);
    otherwise arrays are data and never static.
    """
    if isinstance(value, _ARRAYS):
        if scalars and np.ndim(value) == 0 and not isinstance(value, jax.core.Tracer):
            return True, np.asarray(value).item()
        return False, None
    try:
        hash(value)
    except TypeError:
        return False, None
    return True, value


class _Call:
    """The failed call, re-traceable with a different static set or concrete arguments."""

    def __init__(
        self,
        fun: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        static_argnums: tuple[int, ...],
        static_argnames: tuple[str, ...],
        jit_kwargs: dict[str, Any],
    ) -> None:
        self.fun = fun
        self.sig = inspect.signature(fun)
        self.arguments = dict(self.sig.bind(*args, **kwargs).arguments)
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.positional = [p.name for p in self.sig.parameters.values() if p.kind in kinds]
        nums = {i % max(len(self.positional), 1) for i in _as_tuple(static_argnums)}
        self.static = frozenset(_as_tuple(static_argnames)) | {
            self.positional[i] for i in nums if i < len(self.positional)
        }
        self.kw = {
            k: v for k, v in jit_kwargs.items() if k not in ("static_argnums", "static_argnames")
        }

    @property
    def names(self) -> list[str]:
        return list(self.sig.parameters)

    def trace(
        self, static: frozenset[str] | set[str], replace: dict[str, Any] | None = None
    ) -> BaseException | None:
        """Trace with ``static`` as the static set (and some values replaced); the error."""
        arguments = {**self.arguments, **(replace or {})}
        bound = inspect.BoundArguments(self.sig, arguments)  # type: ignore[arg-type]
        params = self.sig.parameters
        names = tuple(
            n for n in static if n in params and params[n].kind != params[n].POSITIONAL_ONLY
        )
        nums = tuple(i for i, n in enumerate(self.positional) if n in static)
        try:
            jitted = jax.jit(self.fun, static_argnums=nums, static_argnames=names, **self.kw)
            jitted.trace(*bound.args, **bound.kwargs)
        except Exception as exc:
            return exc
        return None

    def trace_concrete(self, concrete: set[str]) -> BaseException | None:
        """Trace with the ``concrete`` arguments closed over as constants; the error.

        Closed-over arrays become NumPy arrays: ``x > 0`` on a jax Array would still be
        staged into the trace (omnistaging), on a NumPy array it stays concrete.
        """
        dynamic = [
            n for n in self.arguments
            if n not in concrete and n not in self.static and _traceable(self.arguments[n])
        ]
        fixed = {
            n: jax.tree_util.tree_map(_host, v) if n in concrete else v
            for n, v in self.arguments.items()
        }

        def probe(*values: Any) -> Any:
            arguments = {**fixed, **dict(zip(dynamic, values, strict=True))}
            bound = inspect.BoundArguments(self.sig, arguments)  # type: ignore[arg-type]
            return self.fun(*bound.args, **bound.kwargs)

        try:
            jax.jit(probe).trace(*(self.arguments[n] for n in dynamic))
        except Exception as exc:
            return exc
        return None

    def search_culprits(self, resolves: Callable[[BaseException | None], bool]) -> tuple[str, ...]:
        """Smallest set of arguments that, made concrete, resolves the error (greedy)."""
        candidates = [
            n for n in self.arguments
            if n not in self.static and _traceable(self.arguments[n])
        ][:_MAX_SEARCH]
        for name in candidates:  # the common case: one argument alone
            if resolves(self.trace_concrete({name})):
                return (name,)
        chosen = set(candidates)
        if not resolves(self.trace_concrete(chosen)):
            return ()
        for name in candidates:
            if resolves(self.trace_concrete(chosen - {name})):
                chosen.discard(name)
        return tuple(n for n in candidates if n in chosen)


def _host(leaf: Any) -> Any:
    return np.asarray(leaf) if isinstance(leaf, jax.Array) else leaf


def _traceable(value: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(
        isinstance(leaf, (*_ARRAYS, int, float, complex, bool)) for leaf in leaves
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (value,)
    return tuple(value)


def user_line(err: BaseException, fun: Callable[..., Any], filename: str | None) -> int | None:
    """Line of the last traceback frame in the user's file, from ``fun``'s frame on.

    Frames before ``fun`` runs (the call site) and JAX's internals are skipped.
    """
    code = getattr(inspect.unwrap(fun), "__code__", None)
    tb, line, inside = err.__traceback__, None, False
    while tb is not None:
        frame_code = tb.tb_frame.f_code
        inside = inside or frame_code is code
        if inside and frame_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# -- the user's line and its statement ---------------------------------------------------


class _Where:
    """The user's line for ``err``: file line, cell line, text, and the enclosing statement."""

    def __init__(
        self,
        fun: Callable[..., Any],
        source_file: str | None,
        line_offset: int,
        cell_source: str | None,
        err: BaseException,
    ) -> None:
        code = getattr(inspect.unwrap(fun), "__code__", None)
        self.fun = fun
        self.filename = source_file or (code.co_filename if code else None)
        self.cell = cell_source
        self.file_line = user_line(err, fun, self.filename)
        self.lineno = None if self.file_line is None else self.file_line - line_offset
        self.text = self._text()

    def _text(self) -> str | None:
        if self.lineno is None:
            return None
        if self.cell is not None:
            lines = self.cell.splitlines()
            text = lines[self.lineno - 1] if 0 < self.lineno <= len(lines) else ""
        else:
            text = linecache.getline(self.filename or "", self.file_line or 0)
        return re.sub(r"\s*#[^'\"]*$", "", text).strip() or None

    def key(self, err: BaseException | None) -> tuple[Any, ...] | None:
        """What identifies "the same error" when re-tracing: its class and user line."""
        return None if err is None else (type(err), user_line(err, self.fun, self.filename))

    def statement(self) -> tuple[ast.stmt, list[ast.stmt], int, str] | None:
        """The innermost statement on the user's line, its block, index, and file source."""
        source = "".join(linecache.getlines(self.filename or ""))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        found = _innermost(tree.body, self.file_line or 0)
        return None if found is None else (*found, source)


def _innermost(body: list[ast.stmt], line: int) -> tuple[ast.stmt, list[ast.stmt], int] | None:
    for index, node in enumerate(body):
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            header = getattr(node, "test", None) or getattr(node, "iter", None)
            if header is not None and line <= (header.end_lineno or node.lineno):
                return node, body, index
            blocks = [getattr(node, f, None) for f in ("body", "orelse", "finalbody")]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    inner = _innermost(block, line)
                    if inner is not None:
                        return inner
            return node, body, index
    return None


# -- choosing and wording the fix --------------------------------------------------------


def _explain(cause: str, err: BaseException, call: _Call, where: _Where) -> Diagnosis:
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

    if cause == "non_array":
        match = re.search(r" at path (\w+)", str(err))
        culprits: tuple[str, ...] = (match.group(1),) if match else ()
    else:
        culprits = tuple(n for n in named_arguments(err) if n in call.arguments)
        culprits = culprits or call.search_culprits(resolves)
    return _choose_fix(cause, culprits, call, where, resolves)


def _choose_fix(
    cause: str,
    culprits: tuple[str, ...],
    call: _Call,
    where: _Where,
    resolves: Callable[[BaseException | None], bool],
) -> Diagnosis:
    values = {n: call.arguments[n] for n in culprits}
    scalars = cause in ("index", "shape", "slice")
    converted = {n: staticable(v, scalars) for n, v in values.items()}
    can_static = bool(culprits) and all(ok for ok, _ in converted.values())
    data_like = can_static and cause == "bool" and any(type(v) is float for v in values.values())
    note = ""
    if can_static:
        culprits = _widen(call, culprits, scalars, resolves)
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
            note = f"static {_names(culprits)} also traces, but recompiles for every new value"
    kind, fix = _data_fix(cause, where)
    helpless = _not_helpful(cause, culprits, call, where, resolves)
    explain = _data_reason(culprits, converted, data_like, helpless, call)
    if kind in ("where", "while_loop", "fori_loop") and cause == "bool":
        note = note or "or let jitmagic rewrite it: %jit ... --autocond / jit(..., autocond=True)"
    text = _render(cause, culprits, where, explain, fix, note or "(not verified: rewrite by hand)")
    return Diagnosis(
        cause, culprits, kind, fix, False, (), where.lineno, where.text, helpless, text
    )


def _widen(
    call: _Call,
    culprits: tuple[str, ...],
    scalars: bool,
    resolves: Callable[[BaseException | None], bool],
) -> tuple[str, ...]:
    """Add arguments JAX did not name (it names one tracer of ``zeros((n, m))``)."""
    def attempt(names: tuple[str, ...]) -> bool:
        replace = {n: staticable(call.arguments[n], scalars)[1] for n in names}
        return resolves(call.trace(call.static | set(names), replace))

    if attempt(culprits):
        return culprits
    extra = [
        n for n in call.arguments
        if n not in call.static and n not in culprits
        and staticable(call.arguments[n], scalars)[0]
    ][:_MAX_SEARCH]
    if not extra or not attempt(culprits + tuple(extra)):
        return culprits
    for name in list(extra):
        if attempt(culprits + tuple(n for n in extra if n != name)):
            extra.remove(name)
    return tuple(n for n in call.names if n in culprits or n in extra)


def _static_fix(
    cause: str,
    culprits: tuple[str, ...],
    call: _Call,
    where: _Where,
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
        reason = f"{_names(culprits)} is not an array, so it can only be a static argument."
    else:
        reason = (
            f"{_names(culprits)} set{'s' if len(culprits) == 1 else ''} the structure (a size, "
            "loop count or branch), so make it static; each distinct value compiles once."
        )
    note = f"verified: traces with {', '.join(ordered)} static" if verified else later
    text = _render(cause, culprits, where, reason, fix, note)
    return Diagnosis(
        cause, culprits, "static", fix, verified, ordered, where.lineno, where.text, (), text
    )


def _static_text(names: tuple[str, ...], where: _Where) -> str:
    quoted = ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "")
    flag = f"--static {' '.join(names)}"
    if where.cell is not None:
        return f"{flag}  (static_argnames=({quoted}))"
    return f"static_argnames=({quoted})  (%jit {_fun_name(where.fun)} {flag})"


def _data_fix(cause: str, where: _Where) -> tuple[str, str]:
    """Fix kind and text when no static set helps: rewrite with a JAX primitive."""
    stmt = where.statement()
    line = where.text or ""
    if cause == "bool" and stmt is not None:
        return _rewrite_branch(*stmt, where.file_line or 0)
    if cause == "bool":
        return "where", "jnp.where(cond, a, b)  or  lax.cond(cond, true_fn, false_fn, *operands)"
    if cause == "index" and "range(" in line:
        return "fori_loop", "lax.fori_loop(0, n, body, init)  or  lax.scan(body, init, xs)"
    if cause == "index":
        return "jnp", "index a jnp array instead (jnp.asarray(values)[i]), or lax.switch"
    if cause == "mask":
        match = re.search(r"(\w+)\[(.+)\]", line)
        array, mask = match.groups() if match else ("x", "mask")
        return "where", (
            f"jnp.where({mask}, {array}, 0) keeps the shape (or jnp.nonzero({mask}, size=N))"
        )
    if cause == "size":
        return "size", "give the output a fixed size: jnp.nonzero(m, size=N, fill_value=0), " \
            "jnp.unique(x, size=N), or jnp.where(m, x, 0)"
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
        return "while_loop", f"lax.while_loop(lambda c: {seg(stmt.test)}, body_fun, init)"
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
    call: _Call,
    where: _Where,
    resolves: Callable[[BaseException | None], bool],
) -> tuple[str, ...]:
    """Arguments on the line that could be static, yet making them static still fails."""
    if cause not in ("bool", "index", "shape", "slice", "mask", "size", "concrete"):
        return ()
    mentioned = set(re.findall(r"\w+", where.text or "")) | set(culprits)
    names = tuple(
        n for n in call.names
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
    call: _Call,
) -> str:
    arrays = tuple(n for n in culprits if not converted[n][0])
    parts = []
    if arrays:
        parts.append(f"{_names(arrays)} {_is(arrays)} data (an array), so it cannot be static")
    if data_like:
        parts.append(f"{_names(culprits)} {_is(culprits)} data: static recompiles for every value")
    if helpless and set(helpless) <= call.static:
        parts.append(f"{_names(helpless)} static alone does NOT help (already static)")
    elif helpless:
        parts.append(f"making {_names(helpless)} static alone does NOT help (checked)")
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
    cause: str, culprits: tuple[str, ...], where: _Where, reason: str, fix: str, note: str
) -> str:
    who = f"{_names(culprits)} {_is(culprits)}" if culprits else "a value it depends on is"
    text = where.text or ""
    construct = "`" + text.rstrip(":") + "`" if re.match(r"(if|elif|while)\b", text) else "this"
    head = _HEADLINES[cause].format(construct=construct, who=who)
    at = f" (line {where.lineno}: `{text}`)" if where.lineno is not None and text else ""
    return f"jitmagic: {head}{at}.\n  {reason}\n  Fix: {fix}\n  {note}"


def _names(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _is(names: tuple[str, ...]) -> str:
    return "is" if len(names) == 1 else "are"


def _fun_name(fun: Callable[..., Any]) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


# -- static-argument mistakes caught before tracing --------------------------------------


def _explain_unhashable(call: _Call, where: _Where) -> Diagnosis:
    values = {n: call.arguments[n] for n in call.static if n in call.arguments}
    bad = tuple(n for n in call.names if n in _hygiene.unhashable_statics(values))
    fixes = {n: _hygiene.hashable_fix(n, values[n]) for n in bad}
    drop = {n for n, (_, _, r) in fixes.items() if r is _hygiene.TRACED}
    replace = {n: r for n, (_, _, r) in fixes.items() if r is not _hygiene.TRACED}
    verified = None not in replace.values() and call.trace(call.static - drop, replace) is None
    kinds = {k for k, _, _ in fixes.values()}
    kind = kinds.pop() if len(kinds) == 1 else "hashable"
    fix = "; ".join(t for _, t, _ in fixes.values())
    types = ", ".join(f"{n} is a {type(values[n]).__name__}" for n in bad)
    note = "verified: traces with that change" if verified else "(not verified automatically)"
    text = (
        f"jitmagic: static argument{'s' if len(bad) > 1 else ''} {_names(bad)} cannot be hashed "
        f"({types}); JAX keys its cache on static values.\n  Fix: {fix}\n  {note}"
    )
    return Diagnosis(
        "unhashable_static", bad, kind, fix, verified, (), where.lineno, where.text, (), text
    )


def _explain_argname(err: BaseException, call: _Call, where: _Where) -> Diagnosis:
    match = re.search(r"invalid argnames (\{.*?\})", str(err))
    unknown = tuple(sorted(ast.literal_eval(match.group(1)))) if match else ()
    valid = [n for n in call.names if n not in call.static]
    close = {n: difflib.get_close_matches(n, valid, n=1) for n in unknown}
    fixed = (call.static - set(unknown)) | {m[0] for m in close.values() if m}
    verified = all(close.values()) and call.trace(fixed) is None
    guess = ", ".join(f"{m[0]} (for {n})" for n, m in close.items() if m)
    fix = f"--static {guess}" if guess else f"one of: {', '.join(call.names)}"
    note = f"verified: traces with {', '.join(sorted(fixed))} static" if verified else ""
    text = (
        f"jitmagic: `{_fun_name(call.fun)}` has no argument {_names(unknown)} to make static; "
        f"its arguments are {', '.join(call.names)}.\n  Fix: {fix}\n  {note}"
    ).rstrip()
    ordered = tuple(n for n in call.names if n in fixed)
    return Diagnosis(
        "unknown_static", unknown, "argname", fix, verified, ordered, None, None, (), text
    )
