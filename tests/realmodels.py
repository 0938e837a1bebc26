"""Real training steps the views are tested on (not tutorial-sized functions).

`mlp_step`: a 3-layer MLP, value_and_grad + SGD, `lr` static (6 parameter leaves).
`transformer_step`: a 6-layer pre-norm transformer (Python loop over identical layers),
value_and_grad + AdamW written out, as a user without optax would.
The same sources are pasted into browser notebooks via `MLP_SOURCE`.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp


def init_mlp(sizes: tuple[int, ...] = (784, 128, 64, 10), seed: int = 0) -> list[dict]:
    keys = jax.random.split(jax.random.PRNGKey(seed), len(sizes) - 1)
    return [{"w": jax.random.normal(k, (a, b)) * 0.05, "b": jnp.zeros(b)}
            for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]


def mlp_loss(params: list[dict], x: Any, y: Any) -> Any:
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * y, axis=-1))


def mlp_step(params: list[dict], x: Any, y: Any, lr: float) -> tuple[list[dict], Any]:
    loss, grads = jax.value_and_grad(mlp_loss)(params, x, y)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss


def mlp_batch(n: int) -> tuple[Any, Any]:
    x = jnp.ones((n, 784))
    y = jax.nn.one_hot(jnp.zeros(n, dtype=jnp.int32), 10)
    return x, y


MLP_SOURCE = "\n\n".join(inspect.getsource(f) for f in (init_mlp, mlp_loss, mlp_step,
                                                         mlp_batch))


def mlp_three_entries(step: Any) -> None:
    """The 3 entries of the issue: first call, a bigger batch, then another static lr."""
    params = init_mlp()
    for n, lr in ((32, 0.01), (64, 0.01), (64, 0.1)):
        step(params, *mlp_batch(n), lr=lr)


def init_transformer(layers: int = 6, d: int = 32, vocab: int = 64, seed: int = 0) -> dict:
    keys = iter(jax.random.split(jax.random.PRNGKey(seed), 4 * layers + 2))

    def dense(a: int, b: int) -> Any:
        return jax.random.normal(next(keys), (a, b)) * 0.02

    blocks = [{"qkv": dense(d, 3 * d), "proj": dense(d, d), "up": dense(d, 4 * d),
               "down": dense(4 * d, d), "ln1": jnp.ones(d), "ln2": jnp.ones(d)}
              for _ in range(layers)]
    return {"embed": dense(vocab, d), "blocks": blocks, "out": dense(d, vocab)}


def _norm(x: Any, scale: Any) -> Any:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * scale


def _block(p: dict, x: Any) -> Any:
    t, d = x.shape[-2:]
    q, k, v = jnp.split(_norm(x, p["ln1"]) @ p["qkv"], 3, axis=-1)
    att = jnp.where(jnp.tril(jnp.ones((t, t), bool)), q @ k.swapaxes(-1, -2) / d**0.5, -1e9)
    x = x + jax.nn.softmax(att, axis=-1) @ v @ p["proj"]
    return x + jax.nn.gelu(_norm(x, p["ln2"]) @ p["up"]) @ p["down"]


def transformer_loss(params: dict, tokens: Any) -> Any:
    x = params["embed"][tokens[:, :-1]]
    for p in params["blocks"]:
        x = _block(p, x)
    logits = x @ params["out"]
    target = jax.nn.one_hot(tokens[:, 1:], logits.shape[-1])
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * target, axis=-1))


def transformer_step(params: dict, opt: dict, tokens: Any, lr: float = 1e-3) -> tuple:
    """value_and_grad, then AdamW (b1 .9, b2 .999, weight decay .01), written out."""
    loss, grads = jax.value_and_grad(transformer_loss)(params, tokens)
    step = opt["step"] + 1
    m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, opt["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, opt["v"], grads)

    def update(p: Any, m: Any, v: Any) -> Any:
        mhat, vhat = m / (1 - 0.9**step), v / (1 - 0.999**step)
        return p - lr * (mhat / (jnp.sqrt(vhat) + 1e-8) + 0.01 * p)

    params = jax.tree_util.tree_map(update, params, m, v)
    return params, {"step": step, "m": m, "v": v}, loss


def transformer_args(layers: int = 6) -> tuple[dict, dict, Any]:
    params = init_transformer(layers)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    opt = {"step": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros}
    tokens = jnp.arange(4 * 17).reshape(4, 17) % 64
    return params, opt, tokens
