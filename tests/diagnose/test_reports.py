"""The corpus of public reports, diagnosed through the Python API, `%jit` and `%%jitcell`.

Every case asserts the culprit, the fix's words, the message length, and executes the
printed fix when it is code (a hint in words must not look like code). The same cases
are scored by ``python3 tests/diagnose/score_corpus.py``.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
from corpus_reports import CONTROLS, REPORTS, WARNED, Report, Warned
from fixrun import run_printed_fix

import jitmagic


def _diagnosis(exc: BaseException) -> Any:
    d = getattr(exc, "diagnosis", None)
    assert d is not None, f"not diagnosed: {type(exc).__name__}: {exc}"
    return d


def _in_dialect(words: str, dialect: str) -> str:
    """The accepted fix's words as a `%jit` user sees them (flags, not keywords)."""
    match = re.fullmatch(r"static_argnames=\((.*)\)", words)
    if dialect == "api" or not match:
        return words
    return "--static " + " ".join(re.findall(r'"(\w+)"', match.group(1)))


def _check(r: Report, d: Any, dialect: str) -> None:
    assert set(d.culprits) == set(r.culprits)
    assert d.dialect == dialect
    for words in r.fix_has:
        assert _in_dialect(words, dialect) in f"{d.fix} {d.alternative}"
    lines = d.text.splitlines()
    assert len(lines) <= 6
    for culprit in r.culprits:  # the headline names the culprit ...
        assert culprit in lines[0]
    if d.lineno is not None:  # ... and the user's line
        assert f"line {d.lineno}: `{d.line}`" in lines[0]
    if d.fix_code and d.fix_lines is not None:  # printed code is Python that parses
        ast.parse(d.fix_code)
    if r.code:
        assert d.verified
        assert d.fix_code
        assert f"Fix: {d.fix_code.splitlines()[0]}" in d.text
    elif not d.fix_code:
        assert "Hint (not verified, so not as code)" in d.text
    if r.loop_fun:
        assert d.loop_fun == r.loop_fun


@pytest.mark.parametrize("r", REPORTS, ids=lambda r: r.id)
def test_report_through_the_python_api(r: Report) -> None:
    fn = jitmagic.jit(r.fun, static_argnames=r.static)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:  # noqa: PT011 -- each report has its own class
            fn(*r.args, **r.kwargs)
    d = _diagnosis(info.value)
    _check(r, d, "api")
    assert "%jit" not in d.text  # a Python-API user is never told to type a magic
    if d.fix_code:
        run_printed_fix(r.fun, d, r.args, r.kwargs, r.static)


@pytest.mark.parametrize("r", REPORTS, ids=lambda r: r.id)
def test_report_through_the_jit_magic(ip: Any, r: Report) -> None:
    ip.user_ns.update({r.id: r.fun, "args": r.args, "kwargs": r.kwargs})
    flags = f" --static {' '.join(r.static)}" if r.static else ""
    ip.run_line_magic("jit", f"{r.id}{flags} --no-dashboard")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ip.run_cell(f"out = {r.id}(*args, **kwargs)")
    d = _diagnosis(result.error_in_exec)
    _check(r, d, "%jit")
    assert "out" not in ip.user_ns
    if d.fix_code.startswith("%jit"):  # the printed magic, typed as the user would
        ip.run_line_magic("jit", d.fix_code.removeprefix("%jit ") + " --no-dashboard")
        assert ip.run_cell(f"out = {r.id}(*args, **kwargs)").error_in_exec is None
    elif d.fix_code and d.fix_lines is not None:
        run_printed_fix(r.fun, d, r.args, r.kwargs, r.static)


@pytest.mark.parametrize("r", [r for r in REPORTS if r.id in ("mandle_brot", "count_to_ten")],
                         ids=lambda r: r.id)
def test_autocond_is_not_offered_where_its_rewrite_fails(r: Report) -> None:
    """An early `return` in a loop, a `while_loop` cond function: autocond cannot fix them."""
    with pytest.raises(Exception) as info:  # noqa: PT011
        jitmagic.jit(r.fun, static_argnames=r.static)(*r.args, **r.kwargs)
    d = _diagnosis(info.value)
    assert d.alternative == ""
    assert "autocond" not in d.text


def test_autocond_is_offered_in_a_cell_when_its_rewrite_traces(ip: Any) -> None:
    ip.user_ns.update(_namespace())
    cell = "if x < 0.0:\n    y = x**2.0\nelse:\n    y = x**3.0\n"  # mint.westdri.ca/ai/jx_jit
    d = _diagnosis(ip.run_cell("%%jitcell\n" + cell).error_in_exec)
    assert d.alternative == "%%jitcell --autocond"
    fixed = ip.run_cell("%%jitcell --autocond\n" + cell)
    assert fixed.error_in_exec is None
    assert float(ip.user_ns["y"]) == 1.0


# Cells written from the same reports (the user's lines, as a notebook cell).
CELLS = [
    # https://mint.westdri.ca/ai/jx_jit
    ("if x < 0.0:\n    y = x**2.0\nelse:\n    y = x**3.0\n", ("x",), "y = jnp.where"),
    # https://github.com/LouisDesdoigts/dLux/issues/260
    ("pix = jnp.arange(n) - (n - 1) / 2.0\n", ("n",), "%%jitcell --static n"),
    # https://github.com/jax-ml/jax/issues/553
    ("r = np.arange(v.shape[0])[ix]\n", ("ix",), "r = jnp.arange(v.shape[0])[ix]"),
    # https://github.com/GalacticDynamics/galax/pull/692
    ("bad = (r_s < 0) or (m < 0)\n", ("r_s",), "bad = (r_s < 0) | (m < 0)"),
    # https://github.com/EiffL/Quarks2CosmosDataChallenge/pull/6
    ("sizes = jnp.array([2, 3])\nout = z.reshape((sizes[0], sizes[1]))\n", (),
     "sizes = np.array([2, 3])"),
    # https://github.com/jax-ml/jax/issues/4471
    ("total = x[x > y].sum()\n", ("x", "y"), "total = jnp.where(x > y, x, 0).sum()"),
    # https://github.com/jax-ml/jax/issues/10231
    ("ages_pred = jnp.unique(age_idx)\n", ("age_idx",), "size=N"),
]


def _namespace() -> dict[str, Any]:
    return {"jnp": jnp, "np": np, "x": jnp.array(1.0), "n": 4, "ix": jnp.array([0, 1]),
            "v": jnp.ones(3), "r_s": jnp.array(1.0), "m": jnp.array(2.0), "z": jnp.ones(6),
            "y": 0.5,
            "age_idx": jnp.array([3, 1, 3])}


@pytest.mark.parametrize(("cell", "culprits", "fix"), CELLS, ids=[c[2][:24] for c in CELLS])
def test_report_through_the_cell_magic(ip: Any, cell: str, culprits: tuple[str, ...],
                                       fix: str) -> None:
    ip.user_ns.update(_namespace())
    before = set(ip.user_ns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ip.run_cell("%%jitcell\n" + cell)
    d = _diagnosis(result.error_in_exec)
    assert set(d.culprits) == set(culprits)
    assert d.dialect == "%%jitcell"
    assert fix in d.fix
    assert len(d.text.splitlines()) <= 6
    assert set(ip.user_ns) == before  # a failing cell leaves the namespace as it was
    if not d.fix_code:
        assert "Hint (not verified, so not as code)" in d.text
        return
    if d.fix_lines is None:  # a flag: run the cell again with it
        fixed = ip.run_cell(d.fix_code + "\n" + cell)
    else:  # a rewrite: the printed lines replace the cell's lines
        lines = cell.splitlines(True)
        first, last = d.fix_lines
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        new = "".join(indent + line + "\n" for line in d.fix_code.splitlines())
        fixed = ip.run_cell("%%jitcell\n" + "".join(lines[: first - 1]) + new +
                            "".join(lines[last:]))
    assert fixed.error_in_exec is None


@pytest.mark.parametrize("w", WARNED, ids=lambda w: w.id)
def test_silent_mistake_is_warned(w: Warned) -> None:
    category = getattr(jitmagic, w.category)
    with pytest.warns(category) as seen:
        jitmagic.jit(w.fun)(*w.args)
    texts = [str(item.message) for item in seen if item.category is category]
    assert any(all(words in t for words in w.words) for t in texts), texts


@pytest.mark.parametrize(("fun", "args", "static"), CONTROLS,
                         ids=[getattr(c[0], "__name__", "partial") for c in CONTROLS])
def test_control_runs_and_nothing_is_said(fun: Any, args: tuple, static: tuple[str, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the control
        out = jitmagic.jit(fun, static_argnames=static)(*args)
    np.testing.assert_allclose(out, fun(*args))
