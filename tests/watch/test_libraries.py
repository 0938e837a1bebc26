"""The compile watch on real libraries: flax `nnx.jit`, equinox `filter_jit`, an optax step.

For each: as many records as JAX's own compiles (its `jax.monitoring` events), the
user's function by name, the user's calling line, and a batch-size change named as
the user's argument.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jitmagic

FULL, PARTIAL = jnp.ones((8, 4)), jnp.ones((3, 4))  # a last partial batch


class TinyMLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.linear = nnx.Linear(4, 2, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


@nnx.jit
def nnx_loss(model, batch):
    return (model(batch) ** 2).mean()


@eqx.filter_jit
def eqx_loss(layer, batch, scale=2.0):
    return (jax.vmap(layer)(batch) * scale).sum()


def line_of(path: str, marker: str) -> int:
    """The first line holding `marker` (a definition's `co_firstlineno` is its decorator)."""
    with open(path) as f:
        lines = f.read().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text and "line_of" not in text)


def _mine(w, name):
    return [r for r in w.compiles if r.name == name]


def test_flax_nnx_jit(jax_compiles):
    model = TinyMLP(nnx.Rngs(0))
    before = len(jax_compiles)
    with jitmagic.watch() as w:
        for batch in (FULL, FULL, PARTIAL, PARTIAL):
            nnx_loss(model, batch)  # NNX-LINE
    mine = _mine(w, "nnx_loss")
    assert len(mine) == jax_compiles.count("jit(nnx_loss)") == 2
    assert w.count == len(jax_compiles) - before
    assert [r.reason for r in mine] == ["first call", "batch: f32[8,4] → f32[3,4]"]
    assert {r.call_site for r in mine} == {f"test_libraries.py:{line_of(__file__, '# NNX-LINE')}"}
    assert mine[0].defined_at == f"test_libraries.py:{line_of(__file__, '@nnx.jit')}"
    assert all(r.compile_s > 0 for r in mine)


def test_equinox_filter_jit_names_the_users_arguments(jax_compiles):
    layer = eqx.nn.Linear(4, 2, key=jax.random.PRNGKey(0))
    before = len(jax_compiles)
    with jitmagic.watch() as w:
        eqx_loss(layer, FULL)  # EQX-LINE
        eqx_loss(layer, FULL)
        eqx_loss(layer, PARTIAL)
        eqx_loss(layer, PARTIAL, scale=3.0)  # a non-array: static under filter_jit
    mine = _mine(w, "eqx_loss")
    assert len(mine) == jax_compiles.count("jit(eqx_loss)") == 3
    assert w.count == len(jax_compiles) - before
    assert [r.reason for r in mine] == ["first call", "batch: f32[8,4] → f32[3,4]",
                                        "scale: newly passed (by keyword)"]
    assert mine[0].call_site == f"test_libraries.py:{line_of(__file__, '# EQX-LINE')}"
    assert mine[0].defined_at == f"test_libraries.py:{line_of(__file__, '@eqx.filter_jit')}"
    assert "layer: {layer.weight: f32[2,4], layer.bias: f32[2]}" in str(mine[0].signature)


def test_optax_train_step(jax_compiles):
    params = {"w": jnp.ones((4, 2)), "b": jnp.zeros(2)}
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    def loss(p, batch):
        return ((batch @ p["w"] + p["b"]) ** 2).mean()

    @jax.jit
    def train_step(p, state, batch):
        value, grads = jax.value_and_grad(loss)(p, batch)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, value

    before = len(jax_compiles)
    with jitmagic.watch() as w:
        for batch in (FULL, FULL, FULL, PARTIAL):
            params, opt_state, _ = train_step(params, opt_state, batch)  # OPTAX-LINE
    mine = _mine(w, "train_step")
    assert len(mine) == jax_compiles.count("jit(train_step)") == 2
    assert w.count == len(jax_compiles) - before
    assert [r.reason for r in mine] == ["first call", "batch: f32[8,4] → f32[3,4]"]
    assert mine[1].call_site == f"test_libraries.py:{line_of(__file__, '# OPTAX-LINE')}"
    assert "state: {state[0].count: i32[]" in str(mine[0].signature)
