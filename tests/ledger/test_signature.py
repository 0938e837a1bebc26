"""Signatures and miss reasons, as pure functions (no jit involved)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jitmagic.ledger.reasons import explain_miss
from jitmagic.ledger.signature import (
    build_signature,
    output_names,
    positional_names,
    resolve_static,
    short_dtype,
)


def f(x, threshold, *rest, mode="a"):
    return x


def sig(args, kwargs=None, nums=(1,), names=("threshold",)):
    return build_signature(f, args, kwargs or {}, nums, names)


@pytest.mark.parametrize(
    ("dtype", "short"),
    [(np.float32, "f32"), (np.int8, "i8"), (np.uint16, "u16"), (np.bool_, "bool"),
     (np.complex64, "c64"), (jnp.bfloat16, "bf16")],
)
def test_short_dtype(dtype, short):
    assert short_dtype(dtype) == short


def test_resolve_static_completes_names_and_numbers():
    assert resolve_static(f, (), "threshold") == ((1,), ("threshold",))
    assert resolve_static(f, 0, ()) == ((0,), ("x",))
    assert resolve_static(f, (), ("mode",)) == ((), ("mode",))


def test_positional_names_cover_varargs():
    assert positional_names(f, 4) == ["x", "threshold", "rest[0]", "rest[1]"]


def test_signature_text_and_statics():
    s = sig((jnp.ones((2, 3)), 0.5))
    assert str(s) == "x: f32[2,3], threshold=0.5"
    assert s.statics == {"threshold": 0.5}
    assert [leaf.path for leaf in s.leaves] == ["x"]


def test_first_call_and_nearest_entry():
    a = sig((jnp.ones(3), 0.0))
    b = sig((jnp.ones(4), 0.0))
    c = sig((jnp.ones(4), 10.0))
    assert explain_miss(a, []).text == "first call"
    # c differs from b only in threshold; from a in both: the nearest (b) is named
    assert explain_miss(c, [a, b]).text == "threshold: 0.0 → 10.0 (static)"


def test_same_signature_means_jax_forgot():
    a = sig((jnp.ones(3), 0.0))
    assert "JAX compiled again" in explain_miss(a, [a]).text


def test_added_and_removed_arguments():
    a = sig((jnp.ones(3), 0.0))
    b = sig((jnp.ones(3), 0.0), {"mode": jnp.ones(1)})
    assert explain_miss(b, [a]).text == "mode: newly passed (by keyword)"
    assert explain_miss(a, [b]).text == "mode: no longer passed"


def test_output_names_for_functions_and_cells():
    assert output_names(jnp.ones(2)) == ["out"]
    assert output_names((jnp.ones(2), {"a": jnp.ones(1)})) == ["out[0]", "out[1]['a']"]
    cell_out = ({"total": 1.0, "y": (2.0, 3.0)}, 4.0)
    assert output_names(cell_out, is_cell=True) == ["total", "y[0]", "y[1]", "Out"]


def test_changes_are_structured_by_argument_and_kind():
    a = sig((jnp.ones(3), 0.0))
    b = sig((jnp.ones((3, 2), jnp.int32), 1.0))
    kinds = [(c.arg, c.kind) for c in explain_miss(b, [a]).changes]
    assert kinds == [("x", "shape"), ("x", "dtype"), ("threshold", "static")]
