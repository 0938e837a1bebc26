"""Write demo.ipynb (without outputs); `bash scripts/demo.sh` executes it and saves the outputs.

The notebook is generated so that its text is reviewable in one place; edit here, then run
`python scripts/build_demo.py && bash scripts/demo.sh`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

RAISES = {"tags": ["raises-exception"]}

CELLS: list[tuple[str, str] | tuple[str, str, dict]] = [
    ("md", """# jitmagic: what `jax.jit` really does, live

`jax.jit` *traces* a Python function: tracers stand in for the arguments (only shape and
dtype are known), every operation is recorded into a **jaxpr**, and XLA compiles that
jaxpr. Arguments marked *static* are not traced: their values are baked into the program,
and every new value means a new trace and compile. This notebook shows each of these
facts as it happens."""),
    ("code", """%load_ext jitmagic
import warnings
import jax
import jax.numpy as jnp
from jax import lax
import jitmagic
print("jax", jax.__version__, "· jitmagic", jitmagic.__version__)"""),
    ("md", """## 1. The blueprint: a jaxpr
`%jaxpr` traces a call and draws what JAX recorded: inputs named as you named them,
one node per operation, shape and dtype on every edge."""),
    ("code", """def blueprint(W, x):
    return jnp.sin(jnp.dot(W, x))

W, v = jnp.ones((3, 4)), jnp.ones(4)
%jaxpr blueprint(W, v)"""),
    ("md", """## 2. Static vs traced
A static argument is a compile-time constant. The graph shows it in the yellow
*baked in* box, and the literal it became (`integer_pow y=3`)."""),
    ("code", """def scaled_power(x, n):
    return x ** n * 2.0

%jaxpr scaled_power(v, n=3) --static n"""),
    ("md", """## 3. The tutorial function, under plain `jax.jit`
A Python `if` needs a concrete `bool`, but `x` is a tracer, so tracing fails with a
`ConcretizationTypeError` (precisely, its subclass `TracerBoolConversionError`)."""),
    ("code", """def conditional_double(x, threshold):
    if x > threshold:
        return x * 2
    else:
        return x

try:
    jax.jit(conditional_double)(jnp.array(5.0), 0.0)
except jax.errors.ConcretizationTypeError as err:
    print(type(err).__name__, "| a ConcretizationTypeError:",
          isinstance(err, jax.errors.ConcretizationTypeError))"""),
    ("md", """jitmagic says which argument is at fault, on which line, and what fixes it. In a
notebook you see just that; `%tb` shows the full JAX error. The exception is still a
`TracerBoolConversionError`, so `except` clauses keep working."""),
    ("code", """%jit conditional_double --no-dashboard
conditional_double(jnp.array(5.0), 0.0)""", RAISES),
    ("md", """## 4. "Just make `threshold` static" — does not fix it
The classic tutorial claims that `static_argnames=('threshold',)` makes this function
compile and return 10.0 for 5.0 and -2.0 for -2.0. In real JAX it still fails:
the condition `x > threshold` depends on `x`, which is still traced."""),
    ("code", """try:
    jax.jit(conditional_double.__wrapped__, static_argnames=("threshold",))(
        jnp.array(5.0), threshold=0.0)
except jax.errors.TracerBoolConversionError as err:
    print("still fails with threshold static:", type(err).__name__)"""),
    ("code", """%jit conditional_double --static threshold --no-dashboard
conditional_double(jnp.array(5.0), threshold=0.0)""", RAISES),
    ("md", """## 5. Fixes that work
`jnp.where` computes both sides and selects; `lax.cond` traces both branches and picks
one at run time. `--autocond` rewrites the original Python `if` into `lax.cond`
(`--show-source` prints the rewrite), and still prunes branches whose condition is
concrete."""),
    ("code", """def double_where(x, threshold):
    return jnp.where(x > threshold, x * 2, x)

def double_cond(x, threshold):
    return lax.cond(x > threshold, lambda v: v * 2, lambda v: v, x)

for fix in (double_where, double_cond):
    f = jax.jit(fix, static_argnames="threshold")
    print(f"{fix.__name__}: {float(f(jnp.array(5.0), threshold=0.0))}, "
          f"{float(f(jnp.array(-2.0), threshold=0.0))}")"""),
    ("code", """%jit conditional_double --static threshold --autocond --show-source --no-dashboard
print("autocond:", float(conditional_double(jnp.array(5.0), threshold=0.0)),
      float(conditional_double(jnp.array(-2.0), threshold=0.0)))"""),
    ("md", """## 6. Recompilation, watched live
Same function, `threshold` static. Each new static value is a new cache entry: the
dashboard counts calls, hits and misses and says *why* each miss happened."""),
    ("code", """%jit conditional_double --static threshold --autocond
"""),
    ("code", """x = jnp.array(5.0)
sequence = []
for t in (0.0, 0.0, 10.0, 10.0):
    misses = conditional_double.stats.misses
    conditional_double(x, threshold=t)
    sequence.append("miss" if conditional_double.stats.misses > misses else "hit")
print(sequence)
print(conditional_double.stats)
print("reason of the second miss:", conditional_double.entries[1].reason)"""),
    ("md", """The two cache entries side by side: the only difference is the baked-in constant."""),
    ("code", """%jaxpr conditional_double --diff 0 1"""),
    ("md", """## 7. What the cache is keyed on
The function object, the static values, and each input's shape, dtype and weak type
(a Python scalar is *weakly* typed; an array is not)."""),
    ("code", """@jitmagic.jit
def affine(x):
    return 2 * x + 1

for arg in (jnp.ones(3), jnp.ones(3), jnp.ones(4), jnp.ones(4, jnp.int32),
            jnp.float32(1.0), 1.0):
    affine(arg)
print(affine.stats)
for entry in affine.entries:
    print(f"#{entry.index}: {entry.reason}")"""),
    ("md", """The notebook pitfall: re-running a `def` cell makes a *new* function object, so
plain `jax.jit` compiles again even though the code did not change."""),
    ("code", """compiled = []
def on_compile(event, seconds, **kw):
    if event.endswith("backend_compile_duration") and kw.get("fun_name") == "jit(square)":
        compiled.append(seconds)

jax.monitoring.register_event_duration_secs_listener(on_compile)
def square(x):
    return x * x
jax.jit(square)(jnp.ones(3))
def square(x):  # the same cell, run again
    return x * x
jax.jit(square)(jnp.ones(3))
print("XLA compiles of square:", len(compiled))"""),
    ("md", """A `%%jitcell` is identified by its source and options, so re-running the same cell
re-uses its compiled function: the second run below is a cache **hit**."""),
    ("code", """n = 3"""),
    ("code", """%%jitcell --static n --name scale --no-dashboard
y = jnp.sin(v) * n
total = y.sum()
total"""),
    ("code", """%%jitcell --static n --name scale --no-dashboard
y = jnp.sin(v) * n
total = y.sum()
total"""),
    ("code", """print(scale.stats, "| y =", y)"""),
    ("md", """## 8. When to use static
Sparingly: for values that shape the computation and rarely change. A static argument
that takes a new value on most calls recompiles on most calls; jitmagic warns
(`RecompileWarning`) with the cost so far. The same loop with the argument traced
compiles once."""),
    ("code", """@jitmagic.jit(static_argnames="scale")
def scale_static(x, scale):
    return x * scale

for i in range(10):
    scale_static(jnp.ones(3), scale=float(i))
print(scale_static.stats)"""),
    ("code", """@jitmagic.jit
def scale_traced(x, scale):
    return x * scale

for i in range(10):
    scale_traced(jnp.ones(3), float(i))
print(scale_traced.stats)"""),
    ("md", """Control flow that stays inside the compiled program: `lax.cond`, `lax.switch`,
`lax.scan`. Their bodies are nested jaxprs, drawn as clusters."""),
    ("code", """def piecewise(x, k):
    return lax.switch(k, [jnp.sin, jnp.cos, jnp.tanh], x)

%jaxpr piecewise(v, 1)"""),
    ("code", """def running_sum(xs):
    def step(carry, x):
        carry = carry + x
        return carry, carry
    return lax.scan(step, 0.0, xs)

%jaxpr running_sum(jnp.arange(5.0))"""),
    ("md", """Every tracked function in this notebook, and what its compiles cost:"""),
    ("code", """%jitstats"""),
    ("md", """## 9. The compile watch: every compile, wrapped or not
`%jitstats` knows only the functions you gave to jitmagic. The compile watch (on since
`%load_ext jitmagic`) sees every compile in the notebook: a plain `jax.jit`, `flax.nnx.jit`,
`equinox.filter_jit`, an optax step. A cell that compiled gets one line under it (click it
for the table): what compiled, why, and what it cost. An untracked training loop, whose
last batch is shorter:"""),
    ("code", """@jax.jit
def train_step(w, batch):
    loss, grad = jax.value_and_grad(lambda w: ((batch @ w - 1.0) ** 2).mean())(w)
    return w - 0.1 * grad, loss

data, w = jnp.ones((70, 8)), jnp.zeros(8)
for start in range(0, len(data), 32):  # batches of 32, 32, then the last 6
    w, loss = train_step(w, data[start:start + 32])"""),
    ("md", """The last partial batch compiled `train_step` a second time, and the line says so
(`batch: f32[32,8] → f32[6,8]`; pad it, or drop it, to compile once). Now a classic
cause of a slow loop: a jitted function created *inside* the loop. Each new function
object starts with an empty cache, so every iteration compiles; the watch warns with
the line and the fix."""),
    ("code", """losses = []
for start in range(0, 64, 8):
    @jax.jit
    def eval_loss(batch):
        return ((batch @ w - 1.0) ** 2).mean()
    losses.append(eval_loss(data[start:start + 8]))"""),
    ("code", """@jax.jit
def eval_loss_once(batch):  # the fix: jitted once, outside the loop
    return ((batch @ w - 1.0) ** 2).mean()

losses = [eval_loss_once(data[start:start + 8]) for start in range(0, 64, 8)]"""),
    ("md", """The session's table (`%jitwatch --sort compiles`), and from Python,
`with jitmagic.watch() as w: ...` then `w.table()`:"""),
    ("code", """%jitwatch --sort compiles"""),
]


def build(path: Path) -> None:
    nb = nbf.v4.new_notebook()
    for kind, source, *meta in CELLS:
        make = nbf.v4.new_markdown_cell if kind == "md" else nbf.v4.new_code_cell
        nb.cells.append(make(source, metadata=meta[0] if meta else {}))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbf.write(nb, path)


if __name__ == "__main__":
    build(Path(__file__).resolve().parent.parent / "demo.ipynb")
