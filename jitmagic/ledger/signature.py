"""The abstract signature of a call, and why two signatures differ.

JAX keys its compile cache on the function, the static values (by type *and*
value, and by whether they were passed by position or keyword), the pytree
structure of the dynamic arguments and each leaf's shape, dtype, weak type and
sharding. A signature records exactly those facts, per argument, so that a cache
miss can be explained in the user's own names ("threshold: 0.0 → 10.0 (static)").

Signatures are built only on the (rare, slow) miss path, never on a hit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

_SHORT_DTYPES = {"bool": "bool", "bfloat16": "bf16"}


def dtype_name(dtype: Any) -> str:
    """NumPy's name of a dtype, or JAX's own text for extended dtypes (`key<fry>`)."""
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def short_dtype(dtype: Any) -> str:
    """JAX's short dtype name: float32 -> f32, int8 -> i8, bool -> bool."""
    name = dtype_name(dtype)
    if name in _SHORT_DTYPES:
        return _SHORT_DTYPES[name]
    for long, short in (("float", "f"), ("uint", "u"), ("int", "i"), ("complex", "c")):
        if name.startswith(long):
            return short + name[len(long):]
    return name


def short_type(shape: Sequence[int], dtype: Any) -> str:
    """`f32[3,4]`, the form JAX prints in jaxprs."""
    return f"{short_dtype(dtype)}[{','.join(str(d) for d in shape)}]"


@dataclass(frozen=True)
class LeafSignature:
    """One dynamic (traced) leaf: what JAX keys on for it."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    weak_type: bool
    sharding: str | None

    @property
    def short(self) -> str:
        weak = "~" if self.weak_type else ""
        return weak + short_type(self.shape, self.dtype)


@dataclass(frozen=True)
class ArgSignature:
    """One argument of the call, static or traced."""

    name: str
    passed: str  # "positionally" or "by keyword"
    static: bool
    static_value: Any = None
    treedef: str = ""
    leaves: tuple[LeafSignature, ...] = ()

    def describe(self) -> str:
        if self.static:
            return f"{self.name}={self.static_value!r}"
        if len(self.leaves) == 1 and self.leaves[0].path == self.name:
            return f"{self.name}: {self.leaves[0].short}"
        inner = ", ".join(f"{leaf.path}: {leaf.short}" for leaf in self.leaves)
        return f"{self.name}: {{{inner}}}"


@dataclass(frozen=True)
class Signature:
    """The cache-relevant facts of one call, argument by argument."""

    args: tuple[ArgSignature, ...]

    @property
    def statics(self) -> dict[str, Any]:
        return {a.name: a.static_value for a in self.args if a.static}

    @property
    def leaves(self) -> tuple[LeafSignature, ...]:
        return tuple(leaf for a in self.args if not a.static for leaf in a.leaves)

    def __str__(self) -> str:
        return ", ".join(a.describe() for a in self.args)


def resolve_static(
    fun: Callable, static_argnums: Any = (), static_argnames: Any = ()
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Complete static_argnums and static_argnames from each other, as `jax.jit` does.

    The one resolver of static arguments (signatures, re-traces and graphs all use it).
    Negative positions count from the last positional parameter, as in `jax.jit`.
    """
    nums, names = set(as_tuple(static_argnums)), set(as_tuple(static_argnames))
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return tuple(sorted(nums)), tuple(sorted(names))
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nums = {i + len(positional) if i < 0 else i for i in nums}
    for i, p in enumerate(positional):
        if p.name in names:
            nums.add(i)
        if i in nums and p.kind is p.POSITIONAL_OR_KEYWORD:
            names.add(p.name)
    return tuple(sorted(nums)), tuple(sorted(names))


def as_tuple(value: Any) -> tuple:
    """`jax.jit`'s reading of an int/str-or-sequence option: None -> (), 2 -> (2,)."""
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (value,)
    return tuple(value)


def function_name(fun: Callable) -> str:
    """A name for any callable: `f`, `f` for `partial(f, ...)`, the class of a callable object.

    `jax.jit` accepts all three; only plain functions have `__name__`.
    """
    while isinstance(fun, functools.partial):
        fun = fun.func
    name = getattr(fun, "__name__", None)
    return name if isinstance(name, str) else type(fun).__name__


def positional_names(fun: Callable, nargs: int) -> list[str]:
    """Names for the first `nargs` positional arguments (`args[2]` past a `*args`)."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}[{i}]" for i in range(nargs - len(names))]
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names += [f"arg{i}" for i in range(len(names), nargs)]
    return names[:nargs]


def _sharding_text(leaf: Any) -> str | None:
    sharding = getattr(leaf, "sharding", None)
    if sharding is None or not isinstance(leaf, jax.Array):
        return None
    spec = getattr(sharding, "spec", None)
    if spec is not None:
        return f"{type(sharding).__name__}({spec}, devices={len(sharding.device_set)})"
    return f"{type(sharding).__name__}(devices={sorted(d.id for d in sharding.device_set)})"


def leaf_signature(path: str, leaf: Any) -> LeafSignature:
    aval = jax.typeof(leaf)
    return LeafSignature(
        path=path,
        shape=tuple(aval.shape),
        dtype=dtype_name(aval.dtype),
        weak_type=bool(getattr(aval, "weak_type", False)),
        sharding=_sharding_text(leaf),
    )


def _arg_signature(name: str, passed: str, value: Any) -> ArgSignature:
    flat, treedef = jax.tree_util.tree_flatten_with_path(value)
    leaves = tuple(leaf_signature(name + jax.tree_util.keystr(p), v) for p, v in flat)
    return ArgSignature(name, passed, static=False, treedef=str(treedef), leaves=leaves)


def build_signature(
    fun: Callable,
    args: tuple,
    kwargs: dict,
    static_argnums: tuple[int, ...],
    static_argnames: tuple[str, ...],
) -> Signature:
    """The signature of `fun(*args, **kwargs)` under the given (resolved) static sets."""
    out: list[ArgSignature] = []
    for i, (name, value) in enumerate(zip(positional_names(fun, len(args)), args, strict=False)):
        if i in static_argnums:
            out.append(ArgSignature(name, "positionally", static=True, static_value=value))
        else:
            out.append(_arg_signature(name, "positionally", value))
    for name in sorted(kwargs):
        if name in static_argnames:
            out.append(ArgSignature(name, "by keyword", static=True, static_value=kwargs[name]))
        else:
            out.append(_arg_signature(name, "by keyword", kwargs[name]))
    return Signature(tuple(out))


def output_names(out_tree: Any, is_cell: bool = False) -> list[str]:
    """Names of a call's output leaves: `out`, `out[0]`, `out['loss']`.

    A jitted cell returns `({assigned names}, last expression)`: its leaves are
    named after the cell's variables (`total`, `y[0]`) and `Out` for the last
    expression, as the notebook shows them.
    """
    flat, _ = jax.tree_util.tree_flatten_with_path(out_tree)
    names = []
    for path, _leaf in flat:
        if is_cell and path:
            head, rest = path[0], path[1:]
            if getattr(head, "idx", None) == 0 and rest:
                names.append(str(rest[0].key) + jax.tree_util.keystr(rest[1:]))
                continue
            names.append("Out" + jax.tree_util.keystr(rest))
        else:
            names.append("out" + jax.tree_util.keystr(path))
    return names
