"""The one answer to "can jit take this as a traced value?": arrays and numbers.

Used by cells (which free names become traced parameters, which outputs can come back),
by the diagnosis (which arguments can be made concrete) and by `--autocond` (what lax
control flow can carry). A leaf module: imports only jax and numpy.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

ARRAY_TYPES = (jax.Array, np.ndarray, np.generic)
_NUMBERS = (bool, int, float, complex)


def is_array_leaf(leaf: Any) -> bool:
    """A JAX or NumPy array, a NumPy scalar, or a Python number."""
    return isinstance(leaf, (*ARRAY_TYPES, *_NUMBERS))


def is_array_tree(value: Any) -> bool:
    """A non-empty pytree whose every leaf is an array leaf."""
    leaves = jax.tree_util.tree_leaves(value)
    return bool(leaves) and all(is_array_leaf(leaf) for leaf in leaves)
