"""The `Diagnosis` record, and diagnosed JAX errors that stay instances of JAX's classes.

A diagnosed error must stay an instance of the original JAX class, so user code that
catches ``jax.errors.ConcretizationTypeError`` keeps working. JAX error constructors take a
tracer, not a message, so we never call them: :func:`with_diagnosis` copies the original
into a cached subclass that carries the new message and pickles through :func:`_rebuild`.
"""

from __future__ import annotations

import enum
import threading
import traceback
from dataclasses import dataclass
from typing import Any


class Cause(str, enum.Enum):
    """What kind of mistake a diagnosis found (compares equal to its string value)."""

    BOOL = "bool"
    INDEX = "index"
    SHAPE = "shape"
    SLICE = "slice"
    MASK = "mask"
    SIZE = "size"
    CONCRETE = "concrete"
    NUMPY = "numpy"
    NON_ARRAY = "non_array"
    UNHASHABLE_STATIC = "unhashable_static"
    UNKNOWN_STATIC = "unknown_static"
    LEAK = "leak"

    def __str__(self) -> str:
        return self.value


class FixKind(str, enum.Enum):
    """What kind of change a fix is (compares equal to its string value)."""

    STATIC = "static"
    WHERE = "where"
    WHILE_LOOP = "while_loop"
    FORI_LOOP = "fori_loop"
    SIZE = "size"
    DEBUG_PRINT = "debug_print"
    ASTYPE = "astype"
    JNP = "jnp"
    CHECKIFY = "checkify"
    TUPLE = "tuple"
    TRACED = "traced"
    FROZEN_DATACLASS = "frozen_dataclass"
    HASHABLE = "hashable"
    ARGNAME = "argname"
    LOGICAL = "logical"
    PYTHON_SIZE = "python_size"
    PURE = "pure"
    LIBRARY = "library"
    PYTHON_SCALAR = "python_scalar"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong and what to do about it, as data.

    Attached as ``exc.diagnosis`` so the notebook, the dashboard and tests can act on it
    without parsing the message.

    Attributes:
        cause: 'bool', 'index', 'shape', 'slice', 'mask', 'size', 'concrete', 'numpy',
            'non_array', 'unhashable_static', 'unknown_static' or 'leak'.
        culprits: the arguments the offending value depends on.
        fix_kind: 'static', 'where', 'while_loop', 'fori_loop', 'size', 'debug_print',
            'astype', 'jnp', 'checkify', 'tuple', 'traced', 'frozen_dataclass', 'hashable',
            'argname', 'logical', 'python_size', 'pure', 'library'.
        fix: the suggested change, written for the user's code.
        verified: the fix was applied and the function traced.
        static: the complete static set of a static fix (what was traced).
        lineno, line: the user's line (cell line for a cell) and its text.
        not_helpful: arguments whose being static does not help (checked by tracing).
        text: the full message shown at the start of ``str(exc)``.
        fix_code: the code printed as the fix, only when the fixed call traced ("" if the
            fix is a hint in words).
        fix_lines: the file lines ``fix_code`` replaces (a rewrite), or None (a jit option).
        alternative: a second verified fix (e.g. autocond), or "".
        dialect: "api", "%jit" or "%%jitcell": how the fixes are written.
        loop_fun: the body function (of a lax loop or cond) where the error was, if not
            the jitted function itself.
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
    fix_code: str = ""
    fix_lines: tuple[int, int] | None = None
    alternative: str = ""
    dialect: str = "api"
    loop_fun: str | None = None

    def __str__(self) -> str:
        return self.text


_SUBCLASSES: dict[type[BaseException], type[BaseException]] = {}
_LOCK = threading.Lock()


def _short_traceback(self: BaseException) -> list[str]:
    """IPython's hook for how an error is shown: the diagnosis first, the rest on request.

    The first time a diagnosed error is displayed the user sees only the diagnosis (what
    went wrong, where, and the fix); `%tb` displays it again, in full, with the chained
    JAX traceback. Plain Python never calls this, so nothing here imports IPython.
    """
    if getattr(self, "_jitmagic_shown", False):
        return traceback.format_exception(self)
    self._jitmagic_shown = True  # type: ignore[attr-defined]
    head = str(self).split("\n\n", 1)[0]
    return [f"{type(self).__name__}: {head}", "(full JAX error and traceback: %tb)"]


def _diagnosed_class(base: type[BaseException]) -> type[BaseException]:
    """Return (once per base) a subclass of ``base`` that prints like ``base``."""
    with _LOCK:
        cls = _SUBCLASSES.get(base)
        if cls is None:
            namespace = {
                "__module__": base.__module__,
                "__qualname__": base.__qualname__,
                "__str__": lambda self: self._jitmagic_message,
                "__reduce__": lambda self: (
                    _rebuild,
                    (base, self._jitmagic_message, self.diagnosis),
                ),
                "_jitmagic_diagnosed": True,
                "_render_traceback_": _short_traceback,
            }
            cls = type(base.__name__, (base,), namespace)
            _SUBCLASSES[base] = cls
        return cls


def _rebuild(base: type[BaseException], message: str, diagnosis: Any) -> BaseException:
    """Unpickle a diagnosed error without calling JAX's tracer-taking constructor."""
    cls = _diagnosed_class(base)
    exc = cls.__new__(cls)
    exc.args = (message,)
    exc._jitmagic_message = message  # type: ignore[attr-defined]
    exc.diagnosis = diagnosis  # type: ignore[attr-defined]
    return exc


def with_diagnosis(err: BaseException, text: str, diagnosis: Any) -> BaseException:
    """Copy ``err`` into its diagnosed subclass; ``str()`` is ``text`` then the JAX text.

    The caller raises the result ``from err``; the original's attributes are copied, but not
    its traceback (the new raise gives it one) or its notes.
    """
    base = type(err)
    if getattr(base, "_jitmagic_diagnosed", False):
        base = base.__mro__[1]
    message = f"{text}\n\n{err}"
    new = _rebuild(base, message, diagnosis)
    for key, value in vars(err).items():  # JAX's traceback-filtering note stays on err
        if key not in ("_jitmagic_message", "diagnosis", "__notes__"):
            setattr(new, key, value)
    return new
