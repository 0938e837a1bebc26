"""Mistakes from public reports (JAX, equinox, flax issues and Q&A), reduced, with their names.

Each `Report` is the user's code cut down to the failing part, keeping their function and
variable names, with the source link, the argument (or loop variable, or leaf path) at
fault, and words the accepted fix must contain. `code=True` means the fix must be printed
as code (and the tests execute it); `code=False` means no fix can be verified
automatically, so the diagnosis must give it in words only. `WARNED` are mistakes that
raise nothing (a leak, a trace-counting print, lost nnx state): the warning must name them.
`CONTROLS` are legal programs from the same threads: nothing may be said about them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import lax


@dataclass(frozen=True)
class Report:
    """``jitmagic.jit(fun, static_argnames=static)(*args, **kwargs)`` raises."""

    source: str
    fun: Callable[..., Any]
    args: tuple[Any, ...]
    culprits: tuple[str, ...]
    fix_has: tuple[str, ...]
    code: bool = True
    kwargs: dict[str, Any] = field(default_factory=dict)
    static: tuple[str, ...] = ()
    loop_fun: str | None = None

    @property
    def id(self) -> str:
        return self.fun.__name__


X = jnp.arange(1.0, 6.0)
KEY = jax.random.key(0)


# https://github.com/jax-ml/jax/issues/2708 -- `not` in a while_loop cond function
def cf_ac(x):
    return not jnp.allclose(x, 10.0)


def bf(x):
    return x + 1.0


def count_to_ten(x0):
    return lax.while_loop(cf_ac, bf, x0)


# https://github.com/jax-ml/jax/issues/23637 -- bool() of the carry in a scan body
def scan_bool(init):
    def body(c, _):
        return bool(c), None

    return lax.scan(body, init, None, length=1)[0]


# https://github.com/GalacticDynamics/galax/pull/692 -- Python `or` on traced shapes checks
def check_init(r_s, m):
    bad = (r_s < 0) or (m < 0)
    return jnp.where(bad, jnp.nan, r_s * m)


# https://github.com/jax-ml/jax/pull/22098 -- `if True and qiaoqiao`
def qiaoqiao_f(qiaoqiao):
    if True and qiaoqiao:
        return 1
    return 0


# https://github.com/jax-ml/jax/issues/5186 -- arange(0, n, 1) under jit
def test_arange(n):
    return jnp.arange(0, n, 1)


# https://github.com/jax-ml/jax/issues/5208 -- a size computed with jnp from constants
def grid2():
    t0, tf, dt = 0.0, 1.0, 1e-1
    num_steps = jnp.maximum(jnp.abs((tf - t0) / dt), 1)
    ts = jnp.linspace(t0, tf, num_steps + 1)
    return ts


# https://github.com/jax-ml/jax/issues/13769 -- jnp.array of Python split points
def split_at(x):
    indices = [1, 3]
    return jnp.split(x, jnp.array(indices))[0]


# https://github.com/jax-ml/jax/issues/21994 -- x.at[x < 5].set(0)
def at_mask_set(x):
    return x.at[x < 5].set(0)


# https://github.com/jax-ml/jax/issues/4471 -- boolean mask then sum
def create_mask_inside_jitted_function(x, y):
    mask = x > y
    return x[mask].sum()


# https://github.com/secretflow/secretflow/issues/406 -- k-means centroid by mask
def kmeans_step(X, labels, centroids):
    for j in range(2):
        centroids = centroids.at[j].set(X[labels == j].mean(axis=0))
    return centroids


# https://github.com/jax-ml/jax/issues/10231 -- jnp.unique under jit
def ages(age_idx):
    ages_pred = jnp.unique(age_idx)
    return ages_pred


# https://github.com/jax-ml/jax/issues/4418 -- one-argument jnp.where
def zero_rows(Dataset):
    ax1 = jnp.where(Dataset[:, 0] == 0)
    return ax1[0]


# https://github.com/jax-ml/jax/issues/5100 -- a random size
def f_random_shape(data, rng_key):
    n = data.shape[0]
    shape_key, sub_key = jax.random.split(rng_key)
    rand_shape = jax.random.poisson(shape_key, 1, (2,))
    sub_indices = jax.random.randint(sub_key, (rand_shape.sum(), 3), 0, n)
    return data[sub_indices, :]


# https://github.com/jax-ml/jax/issues/1629 -- reshape to (r, m, n)
def functional(X, m, n):
    r = X.shape[0]
    X_imshape = jnp.reshape(X, (r, m, n), order="F")
    return X_imshape.sum()


# https://github.com/jax-ml/jax/issues/204 -- pad to a length given as an argument
def dynamic_update_slice_test(first_row, pad_to_length):
    width = first_row.shape[0]
    empty_array = lax.full((pad_to_length, width), 0, first_row.dtype)
    first_row_reshaped = jnp.reshape(first_row, (1, width))
    return lax.dynamic_update_slice(empty_array, first_row_reshaped, (0, 0))


# https://github.com/jax-ml/jax/issues/648 -- randint with a shape from an argument
def sample(key, N):
    return jax.random.randint(key, (N,), 0, 10)


# https://github.com/jax-ml/jax/pull/7952 and the JAX errors page -- x.min(axis)
def func_axis(x, axis):
    return x.min(axis)


# https://jax.readthedocs.io/en/latest/errors.html -- `x if x.sum() < y.sum() else y`
def func_ifexp(x, y):
    return x if x.sum() < y.sum() else y


# https://mint.westdri.ca/ai/jx_jit -- cond_func with `if x < 0.0`
def cond_func(x):
    if x < 0.0:
        return x**2.0
    else:
        return x**3.0


# https://crackedaicode.com/problems/jax-static-argnames-in-jit -- repeat n times
def repeat_v1(x, n):
    out = jnp.zeros((n * x.shape[0],))
    return out + jnp.tile(x, n)


# https://github.com/mlysy/pfjax/issues/3 -- adapt a step size on the acceptance rate
def mwg_adapt(rw_sd, accept_rate, targ_acc):
    if accept_rate < targ_acc:
        rw_sd = rw_sd * 0.9
    return rw_sd


# https://github.com/apple/axlearn/issues/815 -- assert on a traced check
def check_numerics(x):
    assert bool(jnp.isfinite(x).all()), "Check numerics"
    return x


# https://github.com/jax-ml/jax/issues/24740 -- a loop that returns early (autocond refuses)
def mandle_brot(c, max_iter):
    z = 0.0
    for i in range(max_iter):
        z = z * z + c
        if jnp.abs(z) > 2.0:
            return i
    return max_iter


# https://github.com/jax-ml/jax/issues/553 -- NumPy arange indexed by a tracer
def fun_np_index(x):
    r = np.arange(x.shape[0])[x]
    return r


# https://github.com/google/brax/issues/227 -- np.stack on traced values
def step_stack(state, action):
    return np.stack([state, action])


# https://github.com/google-deepmind/distrax/issues/291 (NumPy on a tracer) -- np.exp
def log_prob(logits):
    return np.exp(logits).sum()


# https://github.com/jax-ml/jax/issues/6350 -- int() of a traced count
def segment_count(segment_ids):
    num_segments = int(segment_ids.max()) + 1
    return jnp.zeros(num_segments)


# https://github.com/jax-ml/jax/issues/2508 (FAQ) -- jnp.split into a traced number of parts
def split(array, num_sections):
    return jnp.split(array, num_sections)[0]


# https://github.com/jax-ml/jax/pull/23228 -- scan length from an argument
def scan_n(n, x):
    return lax.scan(lambda c, z: (c, z), x, (), length=n)[0]


# https://github.com/LouisDesdoigts/dLux/issues/260 -- arange(n) of a pixel count
def pixel_fn(n, offset, scale):
    pix = jnp.arange(n) - (n - 1) / 2.0
    return pix * scale - offset


# https://github.com/jax-ml/jax/issues/14279 -- zeros((8, n))
def zeros_8n(n):
    return jnp.zeros((8, n))


# https://github.com/jax-ml/jax/issues/19264 -- a NumPy scalar passed as a static count
def split_keys(key, n):
    return jax.random.split(key, n)


# https://openillumi.com/en/en-jax-jit-static-argnums-array-fix -- data arrays made static
def loss(r, x, y):
    return jnp.mean((x * r - y) ** 2)


# https://github.com/jax-ml/jax/issues/3669 -- arange with a traced stop, dtype given
def arange_dtype(N):
    return jnp.arange(0, N, dtype=jnp.float32)


# https://github.com/pyro-ppl/numpyro/issues/853 -- a size from jnp.unique(...).size
def model_sizes(volume):
    return jnp.zeros((jnp.unique(volume).size,))


# https://github.com/PlasmaControl/DESC/issues/625 (boolean index in a jitted objective)
def boozer_residual(B, modes):
    return B[modes > 0].sum()


# https://github.com/mlysy/pfjax/issues/3 (same thread, clipped form) -- ternary on data
def clip_sd(rw_sd, accept_rate):
    return rw_sd * 0.9 if accept_rate < 0.44 else rw_sd * 1.1


# https://github.com/jax-ml/jax/issues/4418 (follow-up) -- print(float(...)) while debugging
def debug_mean(Dataset):
    print(float(Dataset.mean()))
    return Dataset - Dataset.mean()


# https://github.com/EiffL/Quarks2CosmosDataChallenge/pull/6 -- sizes kept in a jnp array
def decoder_reshape(z):
    sizes = jnp.array([2, 3])
    return z.reshape((sizes[0], sizes[1]))


# https://github.com/Physical-Intelligence/openpi/pull/550 -- `if temperature > 0` in a body
def sample_tokens(logits, temperature):
    def step(carry):
        i, tok = carry
        if temperature > 0.0:
            tok = tok + 1
        return i + 1, tok

    return lax.while_loop(lambda c: c[0] < 3, step, (0, logits))[1]


# https://github.com/patrick-kidger/equinox/issues/1127 -- an eqx MLP passed to jax.jit
def f_mlp(model, x):
    return model(x)


# https://github.com/patrick-kidger/equinox/pull/239 -- eqx.nn.Lambda in a loss
def loss_fn(model, x, y):
    return (model(x) - y) ** 2


MLP = eqx.nn.MLP(4, 4, 8, 2, jax.nn.gelu, key=jax.random.key(0))
LAMBDA = eqx.nn.Lambda(jax.nn.relu)


REPORTS: list[Report] = [
    Report("https://github.com/patrick-kidger/equinox/issues/1127", f_mlp, (MLP, X[:4]),
           ("model.activation",), ("eqx.filter_jit(f_mlp)",)),
    Report("https://github.com/patrick-kidger/equinox/pull/239", loss_fn, (LAMBDA, 1.0, 0.0),
           ("model.fn",), ("eqx.filter_jit(loss_fn)",)),
    Report("https://github.com/jax-ml/jax/issues/2708", count_to_ten, (0.0,), ("x",),
           ("jnp.logical_not(jnp.allclose(x, 10.0))",), loop_fun="cf_ac"),
    Report("https://github.com/jax-ml/jax/issues/23637", scan_bool, (3.0,), ("c",),
           ("lax.cond",), code=False, loop_fun="body"),
    Report("https://github.com/GalacticDynamics/galax/pull/692", check_init, (1.0, 2.0),
           ("r_s",), ("(r_s < 0) | (m < 0)",)),
    Report("https://github.com/jax-ml/jax/pull/22098", qiaoqiao_f, (True,), ("qiaoqiao",),
           ('static_argnames=("qiaoqiao",)',)),
    Report("https://github.com/jax-ml/jax/issues/5186", test_arange, (5,), ("n",),
           ('static_argnames=("n",)',)),
    Report("https://github.com/jax-ml/jax/issues/5208", grid2, (), (), ("Python",), code=False),
    Report("https://github.com/jax-ml/jax/issues/13769", split_at, (X,), (),
           ("np.array(indices)",)),
    Report("https://github.com/jax-ml/jax/issues/21994", at_mask_set, (X,), ("x",),
           ("jnp.where(x < 5, 0, x)",)),
    Report("https://github.com/jax-ml/jax/issues/4471", create_mask_inside_jitted_function,
           (X, 2.0), ("x", "y"), ("jnp.where(mask, x, 0).sum()",)),
    Report("https://github.com/secretflow/secretflow/issues/406", kmeans_step,
           (jnp.ones((4, 2)), jnp.array([0, 1, 0, 1]), jnp.zeros((2, 2))), ("labels",),
           ("jnp.where",), code=False),
    Report("https://github.com/jax-ml/jax/issues/10231", ages, (jnp.array([3, 1, 3]),),
           ("age_idx",), ("size=",), code=False),
    Report("https://github.com/jax-ml/jax/issues/4418", zero_rows, (jnp.zeros((3, 2)),),
           ("Dataset",), ("size=",), code=False),
    Report("https://github.com/jax-ml/jax/issues/5100", f_random_shape,
           (jnp.ones((10, 5)), KEY), ("rng_key",), ("fixed size",), code=False),
    Report("https://github.com/jax-ml/jax/issues/1629", functional, (jnp.ones((2, 6)), 2, 3),
           ("m", "n"), ('static_argnames=("m", "n")',)),
    Report("https://github.com/jax-ml/jax/issues/204", dynamic_update_slice_test,
           (jnp.array([1, 2]), 4), ("pad_to_length",), ('static_argnames=("pad_to_length",)',)),
    Report("https://github.com/jax-ml/jax/issues/648", sample, (KEY, 3), ("N",),
           ('static_argnames=("N",)',)),
    Report("https://github.com/jax-ml/jax/pull/7952", func_axis, (jnp.ones((2, 3)), 0),
           ("axis",), ('static_argnames=("axis",)',)),
    Report("https://jax.readthedocs.io/en/latest/errors.html", func_ifexp,
           (jnp.ones(4), jnp.zeros(4)), ("x", "y"), ("jnp.where(x.sum() < y.sum(), x, y)",)),
    Report("https://mint.westdri.ca/ai/jx_jit", cond_func, (1.0,), ("x",),
           ("jnp.where(x < 0.0, x**2.0, x**3.0)",)),
    Report("https://crackedaicode.com/problems/jax-static-argnames-in-jit", repeat_v1,
           (jnp.array([1.0, 2.0]), 3), ("n",), ('static_argnames=("n",)',)),
    Report("https://github.com/mlysy/pfjax/issues/3", mwg_adapt, (1.0, 0.2, 0.44),
           ("accept_rate", "targ_acc"), ("rw_sd = jnp.where(accept_rate < targ_acc",)),
    Report("https://github.com/apple/axlearn/issues/815", check_numerics, (X,), ("x",),
           ("checkify",), code=False),
    Report("https://github.com/jax-ml/jax/issues/24740", mandle_brot, (0.3, 5), ("c",),
           ("lax.while_loop",), code=False, static=("max_iter",)),
    Report("https://github.com/jax-ml/jax/issues/553", fun_np_index, (jnp.array([0, 1, 2]),),
           ("x",), ("jnp.arange(x.shape[0])[x]",)),
    Report("https://github.com/google/brax/issues/227", step_stack, (X, X), ("state", "action"),
           ("jnp.stack([state, action])",)),
    Report("https://github.com/google-deepmind/distrax/issues/291", log_prob, (X,), ("logits",),
           ("jnp.exp(logits).sum()",)),
    Report("https://github.com/jax-ml/jax/issues/6350", segment_count, (jnp.array([0, 0, 1]),),
           ("segment_ids",), ("size",), code=False),
    Report("https://github.com/jax-ml/jax/pull/2508", split, (jnp.zeros(4), 2),
           ("num_sections",), ('static_argnames=("num_sections",)',)),
    Report("https://github.com/jax-ml/jax/pull/23228", scan_n, (3, 1.0), ("n",),
           ('static_argnames=("n",)',)),
    Report("https://github.com/LouisDesdoigts/dLux/issues/260", pixel_fn, (4, 0.5, 2.0),
           ("n",), ('static_argnames=("n",)',)),
    Report("https://github.com/jax-ml/jax/issues/14279", zeros_8n, (3,), ("n",),
           ('static_argnames=("n",)',)),
    Report("https://github.com/jax-ml/jax/issues/19264", split_keys, (KEY, np.array(10)),
           ("n",), ("int(n)",), static=("n",)),
    Report("https://openillumi.com/en/en-jax-jit-static-argnums-array-fix", loss,
           (2.0, np.ones(3), np.ones(3)), ("x", "y"), ("traced",), static=("x", "y")),
    Report("https://github.com/jax-ml/jax/issues/3669", arange_dtype, (200,), ("N",),
           ('static_argnames=("N",)',)),
    Report("https://github.com/pyro-ppl/numpyro/issues/853", model_sizes,
           (jnp.array([0, 1, 1]),), ("volume",), ("size=",), code=False),
    Report("https://github.com/PlasmaControl/DESC/issues/625", boozer_residual,
           (X, jnp.arange(5)), ("modes",), ("jnp.where(modes > 0, B, 0).sum()",)),
    Report("https://github.com/mlysy/pfjax/issues/3", clip_sd, (1.0, 0.2), ("accept_rate",),
           ("jnp.where(accept_rate < 0.44, rw_sd * 0.9, rw_sd * 1.1)",)),
    Report("https://github.com/jax-ml/jax/issues/4418", debug_mean, (X,), ("Dataset",),
           ('jax.debug.print("{}", Dataset.mean())',)),
    Report("https://github.com/EiffL/Quarks2CosmosDataChallenge/pull/6", decoder_reshape,
           (jnp.ones(6),), (), ("np.array([2, 3])",)),
    Report("https://github.com/Physical-Intelligence/openpi/pull/550", sample_tokens,
           (X, 1.0), ("temperature",), ("tok = jnp.where(temperature > 0.0, tok + 1, tok)",)),
]


# -- mistakes that raise nothing: a warning must name them ---------------------------------

counter = None
lst: list[Any] = []


# https://github.com/jax-ml/jax/issues/3086 -- a global assigned inside jit
def leak_global(y):
    global counter
    counter = y
    return y + 2


# https://github.com/jax-ml/jax/pull/5492 -- appending to a list inside jit
def leak_append(x):
    lst.append(x)
    return x


key = jax.random.key(0)


# https://github.com/jax-ml/jax/pull/4312 -- a global PRNG key split inside jit
def init():
    global key
    key, subkey = jax.random.split(key)
    return jax.random.normal(subkey, ())


# https://github.com/jax-ml/jax/issues/457 -- print("compiling") placed to count traces
def traced_counter(x):
    print("compiling function")
    return x * 2


# https://github.com/google/flax/pull/5293 (review: jax.jit drops in-place nnx updates)
def train_step(model, x):
    model.kernel[...] = model.kernel[...] + 1.0
    return (model(x) ** 2).sum()


@dataclass(frozen=True)
class Warned:
    """Calling ``jitmagic.jit(fun)(*args)`` warns ``category`` with all of ``words``."""

    source: str
    fun: Callable[..., Any]
    args: tuple[Any, ...]
    category: str
    words: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.fun.__name__


WARNED: list[Warned] = [
    Warned("https://github.com/google/flax/pull/5293", train_step,
           (nnx.Linear(2, 2, rngs=nnx.Rngs(0)), jnp.ones((1, 2))), "SideEffectWarning",
           ("train_step", "`model`", "nnx.jit", "nnx.split")),
    Warned("https://github.com/jax-ml/jax/issues/3086", leak_global, (7,), "SideEffectWarning",
           ("leak_global", "global `counter`", "runs once", "jax.debug.callback")),
    Warned("https://github.com/jax-ml/jax/pull/5492", leak_append, (3.0,), "SideEffectWarning",
           ("leak_append", "global `lst`", "return the value")),
    Warned("https://github.com/jax-ml/jax/pull/4312", init, (), "SideEffectWarning",
           ("init", "global `key`", "on line", "return the value")),
    Warned("https://github.com/jax-ml/jax/issues/457", traced_counter, (X,),
           "TracingPrintWarning", ("counts compiles", "traced_counter.stats.misses")),
]


# -- legal code from the same threads: must run, and nothing may be said ------------------


def cf_explicit(x):  # https://github.com/jax-ml/jax/issues/2708
    return jnp.abs(x - 10.0) > 1e-4


def count_explicit(x0):
    return lax.while_loop(cf_explicit, bf, x0)


def g_where(x):  # https://github.com/jax-ml/jax/issues/21994
    return jnp.where(x < 5, 0, x)


def grid1():  # https://github.com/jax-ml/jax/issues/5208
    t0, tf, num_steps = 0.0, 1.0, 10
    return jnp.linspace(t0, tf, num_steps + 1)


def fun_iota(x):  # https://github.com/jax-ml/jax/issues/553
    return lax.iota(jnp.int32, x.shape[0])[x]


def cf_logical(x):  # https://github.com/jax-ml/jax/issues/2708 (the accepted answer)
    return jnp.logical_not(jnp.allclose(x, 10.0))


def count_logical(x0):
    return lax.while_loop(cf_logical, bf, x0)


def unique_sized(age_idx):  # https://github.com/jax-ml/jax/pull/6912
    return jnp.unique(age_idx, size=3, fill_value=0)


CONTROLS: list[tuple[Callable[..., Any], tuple[Any, ...], tuple[str, ...]]] = [
    (count_explicit, (0.0,), ()),
    (g_where, (X,), ()),
    (grid1, (), ()),
    (fun_iota, (jnp.array([0, 1, 2]),), ()),
    (count_logical, (0.0,), ()),
    (unique_sized, (jnp.array([3, 1, 3]),), ()),
    (functools.partial(repeat_v1, n=3), (jnp.array([1.0, 2.0]),), ()),
]
