"""Each private-JAX use in jitmagic/_jaxcompat.py, checked against the installed JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jitmagic import _jaxcompat


def _here(x):
    return jnp.sin(x)  # the line the graph tooltip must name


def test_user_source_line_names_the_user_frame():
    eqn = jax.make_jaxpr(_here)(1.0).jaxpr.eqns[0]
    frame = _jaxcompat.user_source_line(eqn.source_info)
    assert frame is not None, "jax._src.source_info_util.user_frame changed"
    file, line, func = frame
    assert file == __file__
    assert line == _here.__code__.co_firstlineno + 1
    assert func == "_here"
