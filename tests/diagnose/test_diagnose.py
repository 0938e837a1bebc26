"""Diagnosed tracer errors over the faulty corpus: culprit, line, fix, and that the fix works."""

from __future__ import annotations

import inspect
import linecache
import pickle
import textwrap
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from corpus_faulty import CASES, LEGAL, Case, conditional_double
from fixrun import run_printed_fix
from IPython.testing import globalipapp

from jitmagic.autocond import autocond
from jitmagic.diagnose.explain import Diagnosis, diagnose_error


def _scalars(values: Any) -> Any:
    """0-d arrays as Python scalars, as the diagnosis tells the user to pass them."""
    return jax.tree_util.tree_map(
        lambda v: np.asarray(v).item() if isinstance(v, jax.Array) and v.ndim == 0 else v,
        values,
    )


def diagnosed(
    fun: Any, args: tuple, kwargs: dict | None = None, static: tuple[str, ...] = (), **where: Any
) -> tuple[BaseException, BaseException]:
    """Call ``jax.jit(fun)``, diagnose the failure, raise it like the tracked jit does."""
    kwargs = kwargs or {}
    with pytest.raises(Exception) as info:  # noqa: PT011 -- each case checks its class below
        jax.jit(fun, static_argnames=static)(*args, **kwargs)
    err = info.value
    new = diagnose_error(
        err, fun=fun, args=args, kwargs=kwargs, static_argnames=static, jit_kwargs={}, **where
    )
    assert new is not None, f"not diagnosed: {err}"
    with pytest.raises(type(err)) as raised:
        raise new from err
    return err, raised.value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_case_is_diagnosed(case: Case) -> None:
    err, exc = diagnosed(case.fun, case.args, case.kwargs, case.static)
    d: Diagnosis = exc.diagnosis
    assert isinstance(err, case.error)
    assert isinstance(exc, type(err))
    assert exc.__cause__ is err
    assert str(exc).startswith(d.text)
    assert str(exc).startswith("jitmagic: ")
    assert str(err) in str(exc)
    assert 3 <= len(d.text.splitlines()) <= 6
    assert d.culprits == case.culprits
    assert d.fix_kind == case.fix_kind
    if case.fix_kind != "static":
        assert d.line is not None
        assert d.line in inspect.getsource(case.fun)


@pytest.mark.parametrize("case", [c for c in CASES if c.fix_kind == "static"], ids=lambda c: c.id)
def test_static_fix_is_verified_and_traces(case: Case) -> None:
    _, exc = diagnosed(case.fun, case.args, case.kwargs, case.static)
    d = exc.diagnosis
    assert d.verified
    assert set(case.culprits) <= set(d.static)
    assert "verified" in d.text
    for name in case.culprits:
        assert name in d.fix
    args, kwargs = _scalars(case.args), _scalars(case.kwargs)
    jax.jit(case.fun, static_argnames=d.static).trace(*args, **kwargs)


@pytest.mark.parametrize("case", [c for c in CASES if c.fixed is not None], ids=lambda c: c.id)
def test_rewrite_fix_runs_and_matches_eager(case: Case) -> None:
    """A rewrite printed as code was traced; executed here, it gives the eager result."""
    _, exc = diagnosed(case.fun, case.args, case.kwargs, case.static)
    d = exc.diagnosis
    expected = case.fun(*case.args, **case.kwargs)  # eager Python: the intended meaning
    if d.fix_code:
        assert d.verified
        assert d.fix_code in d.text
        got = run_printed_fix(case.fun, d, case.args, case.kwargs, case.static)
    else:  # a hint in words: nothing printed as code, nothing claimed
        assert not d.verified
        assert "Hint (not verified" in d.text
        got = jax.jit(case.fixed, static_argnames=case.static)(*case.args, **case.kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_user_line_is_reported() -> None:
    _, exc = diagnosed(conditional_double, (jnp.array(5.0), 0.0))
    d = exc.diagnosis
    assert d.line == "if x > threshold:"
    assert d.lineno == conditional_double.__code__.co_firstlineno + 1
    assert f"line {d.lineno}: `if x > threshold:`" in d.text


def test_tutorial_threshold_static_still_fails_and_names_x() -> None:
    """The tutorial's claim is false in real JAX: threshold static, x still traced."""
    jitted = jax.jit(conditional_double, static_argnames="threshold")
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jitted(jnp.array(5.0), threshold=0.0)
    _, exc = diagnosed(conditional_double, (jnp.array(5.0),), {"threshold": 0.0}, ("threshold",),
                       dialect="%jit", autocond=autocond)
    d = exc.diagnosis
    assert isinstance(exc, jax.errors.TracerBoolConversionError)
    assert d.culprits == ("x",)
    assert d.not_helpful == ("threshold",)
    assert "x is data" in d.text
    assert "threshold static alone does NOT help" in d.text
    assert "jnp.where(x > threshold, x * 2, x)" in d.fix
    assert d.verified
    assert "%jit conditional_double --static threshold --autocond" in d.text
    assert d.alternative == "%jit conditional_double --static threshold --autocond"


def test_tutorial_both_traced_says_static_threshold_does_not_help() -> None:
    _, exc = diagnosed(conditional_double, (jnp.array(5.0), 0.0))
    d = exc.diagnosis
    assert d.culprits == ("x", "threshold")
    assert d.not_helpful == ("threshold",)
    assert "making threshold static alone does NOT help" in d.text
    with pytest.raises(jax.errors.TracerBoolConversionError):  # the claim, checked here too
        jax.jit(conditional_double, static_argnames="threshold").trace(jnp.array(5.0), 0.0)


@pytest.mark.parametrize(("fun", "args", "kwargs", "static"), LEGAL, ids=lambda v: str(v)[:20])
def test_legal_code_traces_and_is_not_diagnosed(
    fun: Any, args: tuple, kwargs: dict, static: tuple[str, ...]
) -> None:
    out = jax.jit(fun, static_argnames=static)(*args, **kwargs)
    np.testing.assert_allclose(out, fun(*args, **kwargs))


def test_unrelated_errors_are_not_diagnosed() -> None:
    def bad_shapes(x):
        return x + jnp.ones(3)

    with pytest.raises(TypeError) as info:
        jax.jit(bad_shapes)(jnp.ones(4))
    assert (
        diagnose_error(
            info.value,
            fun=bad_shapes,
            args=(jnp.ones(4),),
            kwargs={},
            static_argnums=(),
            static_argnames=(),
            jit_kwargs={},
        )
        is None
    )
    err = ZeroDivisionError("x")
    assert (
        diagnose_error(
            err,
            fun=bad_shapes,
            args=(1,),
            kwargs={},
            static_argnums=(),
            static_argnames=(),
            jit_kwargs={},
        )
        is None
    )


def test_diagnosed_error_pickles_and_prints() -> None:
    _, exc = diagnosed(conditional_double, (jnp.array(5.0), 0.0))
    again = pickle.loads(pickle.dumps(exc))
    assert isinstance(again, jax.errors.TracerBoolConversionError)
    assert str(again) == str(exc)
    assert again.diagnosis == exc.diagnosis
    assert type(exc).__name__ == "TracerBoolConversionError"
    assert repr(exc).startswith("TracerBoolConversionError(")


def test_static_argnums_are_respected() -> None:
    def f(x, n, m):
        return jnp.zeros(n) + x.sum() + jnp.ones(m).sum()

    with pytest.raises(TypeError) as info:
        jax.jit(f, static_argnums=(1,))(jnp.ones(2), 2, 3)
    new = diagnose_error(
        info.value,
        fun=f,
        args=(jnp.ones(2), 2, 3),
        kwargs={},
        static_argnums=(1,),
        static_argnames=(),
        jit_kwargs={},
    )
    assert new.diagnosis.culprits == ("m",)
    assert new.diagnosis.static == ("n", "m")
    assert new.diagnosis.verified


CELL = """\
y = x * 2
z = jnp.zeros(n)
total = y.sum() + z.sum()
"""


def _cell_function(source: str, params: str, filename: str, offset: int) -> Any:
    """A cell as the lead compiles one: a function in its own linecache'd file."""
    code = f"def cell({params}):\n" + textwrap.indent(source, "    ") + "    return total\n"
    text = "\n" * (offset - 1) + code
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict[str, Any] = {"jnp": jnp}
    exec(compile(text, filename, "exec"), scope)
    return scope["cell"]


def test_cell_line_number_and_flag_syntax() -> None:
    filename = "<jitcell-test-diagnose>"
    fun = _cell_function(CELL, "x, n", filename, offset=1)  # cell line = code line - 1
    args = (jnp.ones(3), 4)
    _, exc = diagnosed(fun, args, source_file=filename, line_offset=1, cell_source=CELL)
    d = exc.diagnosis
    assert d.culprits == ("n",)
    assert d.lineno == 2
    assert d.line == "z = jnp.zeros(n)"
    assert d.fix == "%%jitcell --static n"
    assert d.verified


def test_unknown_static_argname() -> None:
    def f(x, threshold):
        return x * threshold

    with pytest.raises(ValueError, match="invalid argnames") as info:
        jax.jit(f, static_argnames=("thresh",))(jnp.ones(2), 1.0)
    new = diagnose_error(
        info.value,
        fun=f,
        args=(jnp.ones(2), 1.0),
        kwargs={},
        static_argnums=(),
        static_argnames=("thresh",),
        jit_kwargs={},
    )
    d = new.diagnosis
    assert isinstance(new, ValueError)
    assert d.culprits == ("thresh",)
    assert "x, threshold" in d.text
    assert "threshold" in d.fix
    assert d.verified


CELLS = [
    ("y = x * 2\nz = jnp.zeros(n)\ntotal = y.sum() + z.sum()\n", ("n",), "static", 2),
    ("if x.sum() > limit:\n    y = x * 2\nelse:\n    y = x\n", ("x", "limit"), "where", 1),
    ("total = 0.0\nfor _ in range(n):\n    total = total + x\n", ("n",), "static", 2),
    ("first = x[:k]\n", ("k",), "static", 1),
]


@pytest.fixture
def shell() -> Any:
    """A real IPython shell with jitmagic loaded (module attribute: see globalipapp)."""
    ip = globalipapp.get_ipython()  # rebinds itself after the first call, so no from-import
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jitmagic")
    yield ip
    ip.run_line_magic("unload_ext", "jitmagic")
    ip.reset(new_session=False)


@pytest.mark.parametrize(("cell", "culprits", "kind", "line"), CELLS)
def test_faulty_cell_is_diagnosed_and_namespace_untouched(
    shell: Any, cell: str, culprits: tuple[str, ...], kind: str, line: int
) -> None:
    ip = shell
    ip.user_ns.update(jnp=jnp, x=jnp.ones(3), n=4, k=2, limit=1.0)
    before = dict(ip.user_ns)
    result = ip.run_cell("%%jitcell\n" + cell)
    exc = result.error_in_exec
    d = exc.diagnosis
    assert str(exc).startswith("jitmagic: ")
    assert isinstance(exc.__cause__, type(exc).__mro__[1])
    assert d.culprits == culprits
    assert d.fix_kind == kind
    assert d.lineno == line
    assert d.line == cell.splitlines()[line - 1].strip()
    for name in ("y", "z", "total", "first"):
        assert (name in ip.user_ns) == (name in before)
    assert ip.user_ns["x"] is before["x"]
    if kind == "static":
        assert d.verified
        assert d.fix == f"%%jitcell --static {' '.join(culprits)}"
        fixed = ip.run_cell(f"%%jitcell --static {' '.join(culprits)}\n" + cell)
        assert fixed.error_in_exec is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_through_the_jit_magic_leaves_namespace_untouched(shell: Any, case: Case) -> None:
    """Every corpus function, `%jit`-tracked in a real shell: diagnosed, nothing else changes."""
    ip = shell
    ip.user_ns.update({case.id: case.fun, "args": case.args, "kwargs": case.kwargs})
    flags = f" --static {' '.join(case.static)}" if case.static else ""
    ip.run_line_magic("jit", f"{case.id}{flags} --no-dashboard")
    before = dict(ip.user_ns)
    result = ip.run_cell(f"out = {case.id}(*args, **kwargs)")
    exc = result.error_in_exec
    assert isinstance(exc, case.error)
    assert exc.diagnosis.culprits == case.culprits
    assert {k: v for k, v in ip.user_ns.items() if not k.startswith("_")} == {
        k: v for k, v in before.items() if not k.startswith("_")
    }
    assert "out" not in ip.user_ns
