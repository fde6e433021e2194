"""Parameter counts of a model with adapters, and summary statistics of the learned alphas per adapted weight."""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha.nn._adapters import _adapter_at, adapter_paths
from rmt_alpha.nn._trees import flatten_tree


class ParameterCounts(NamedTuple):
    """Parameter counts: the base model, and per adapter part (LoRA A + B, alpha, DoRA magnitude).

    Attributes:
        base: scalars in the base model's parameters.
        lora: scalars in the LoRA factors A and B.
        alpha: scalars in the alphas (one per output feature of each adapted weight).
        magnitude: scalars in DoRA's magnitudes.

    Example:
        >>> from rmt_alpha.nn import ParameterCounts
        >>> ParameterCounts(base=1000, lora=80, alpha=8, magnitude=0).alpha_overhead
        0.1
    """

    base: int
    lora: int
    alpha: int
    magnitude: int

    @property
    def alpha_overhead(self) -> float:
        """Extra trainable parameters of alpha relative to LoRA's A and B: `alpha / lora`."""
        return self.alpha / self.lora if self.lora else float("nan")


def count_parameters(tree) -> int:
    """Number of scalars in a pytree.

    Args:
        tree: any pytree of arrays.

    Returns:
        int: the total number of entries of its leaves.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn._adapter_stats import count_parameters
        >>> count_parameters({"a": np.ones((2, 3)), "b": [np.ones(4)]})
        10
    """
    return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(tree)))


def parameter_counts(params: dict, adapters: dict) -> ParameterCounts:
    """Base-model parameters and the adapters' LoRA (A + B), alpha and DoRA-magnitude parameters.

    Args:
        params: the base model's parameter pytree.
        adapters: the adapter pytree.

    Returns:
        ParameterCounts: `(base, lora, alpha, magnitude)`.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn import parameter_counts
        >>> adapters = {"w": {"lora_A": np.ones((3, 1)), "lora_B": np.ones((1, 2)), "alpha": np.ones(2)}}
        >>> parameter_counts({"w": np.ones((3, 2))}, adapters)
        ParameterCounts(base=6, lora=5, alpha=2, magnitude=0)
    """
    flat = flatten_tree(adapters)
    part = lambda name: int(sum(np.size(v) for p, v in flat.items() if p.endswith("/" + name)))
    return ParameterCounts(base=count_parameters(params), lora=part("lora_A") + part("lora_B"),
                           alpha=part("alpha"), magnitude=part("magnitude"))


def alpha_statistics(adapters: dict) -> dict:
    """Per adapted weight path: the mean, std, min and max of its learned alphas.

    Weights without alpha (DoRA's) are left out.

    Args:
        adapters: the adapter pytree.

    Returns:
        dict: `{path: {"mean", "std", "min", "max"}}` of floats.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn import alpha_statistics
        >>> alpha_statistics({"w": {"alpha": np.array([1.0, 3.0]), "lora_A": np.ones((2, 1))}})
        {'w': {'mean': 2.0, 'std': 1.0, 'min': 1.0, 'max': 3.0}}
    """
    stats = {}
    for path in adapter_paths(adapters):
        alpha = _adapter_at(adapters, path).get("alpha")
        if alpha is not None:
            alpha = np.asarray(alpha)
            stats[path] = {"mean": float(alpha.mean()), "std": float(alpha.std()), "min": float(alpha.min()),
                           "max": float(alpha.max())}
    return stats
