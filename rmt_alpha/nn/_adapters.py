"""alpha-LoRA and DoRA adapters over any parameter pytree whose linear weights are selected by path patterns.

alpha-LoRA (theory/THEORY.md section 7; arXiv 2510.21345): an adapted linear layer computes

    y = alpha ⊙ (W0 x) + b + s B A x,        s = lora_scale = lora_alpha / rank (as in PEFT),

with one alpha per **output feature**, `W0` and `b` frozen, `A` random and `B = 0` at start, so the adapted model
equals the base model at initialisation (exactly: `1 * t == t` and `t + 0 == t` in floating point;
DoRA up to the rounding of `m / ||W0||`, a few ulps).
With `alpha = 1` it is LoRA. The bias is not rescaled by default; `rescale_bias=True` gives `alpha ⊙ (W0 x + b)`,
which is what the paper's PyTorch code does (it scales the base layer's output, bias included).

DoRA (Liu et al. 2024, arXiv 2402.09353): `W = m ⊙ V / ||V||`, `V = W0 + s B A`, the norm taken per output
feature (row-wise in the `(out, in)` layout), magnitude `m` (one per output feature) initialised to `||W0||`.
Gradients treat `||V||` as a constant (`jax.lax.stop_gradient`), as the DoRA paper does (section 4.3: it saves the
memory of the norm's backward pass at no measured loss of accuracy) and as PEFT does: the forward value is the
formula above, the gradient with respect to A and B is that of `(m / c) ⊙ (W0 + s B A)` with `c = ||V||` held fixed.

Layouts (the output axis carries alpha and the DoRA magnitude):
    "in_out": kernel (in, out), `y = x @ W` (JAX/flax Dense, this project's model). alpha on axis -1.
              A has shape (in, r), B (r, out); the update is `s A @ B`.
    "out_in": weight (out, in), `y = x @ W.T` (PyTorch nn.Linear, PEFT). alpha on axis 0.
              A has shape (r, in), B (out, r); the update is `s B @ A`.

Weights are named by their path in the nested dict, e.g. `"blocks/0/attn/query/kernel"`, and selected by glob
patterns (`fnmatch`, e.g. `"blocks/*/attn/query/kernel"`). The bias is the sibling leaf `"bias"`, if any.
Adapters are their own pytree mirroring the selected paths: `adapters["blocks"]["0"]["attn"]["query"]["kernel"] =
{"lora_A", "lora_B", "alpha"}` (or `"magnitude"` for DoRA).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._validation import check_finite_float, check_positive_float, describe_value
from rmt_alpha.nn._trees import flatten_tree, unflatten_tree

KINDS = ("alpha_lora", "dora")
LAYOUTS = ("in_out", "out_in")
DEFAULT_TARGETS = ("blocks/*/attn/query/kernel", "blocks/*/attn/value/kernel",
                   "blocks/*/mlp/fc1/kernel", "blocks/*/mlp/fc2/kernel")


@dataclass(frozen=True)
class AdapterConfig:
    """Which weights to adapt and how (theory/THEORY.md section 7).

    Attributes:
        targets: glob patterns over weight paths; each must match at least one 2-D weight.
        rank: LoRA rank r, 1 <= r <= min(in, out) of every adapted weight.
        lora_alpha: PEFT's `lora_alpha` (> 0); the update is scaled by `lora_scale = lora_alpha / rank`.
        kind: "alpha_lora" (alpha ⊙ W0 x + s B A x; alpha = 1 is LoRA) or "dora".
        alpha_init: initial alpha (1 = the base model at init; another value for "alpha fixed at a scalar").
        layout: "in_out" (x @ W) or "out_in" (x @ W.T); see the module docstring.
        rescale_bias: also rescale the bias by alpha (the paper's code); default False.

    Raises:
        TypeError: when `targets` is a single string.
        ValueError: when a field is out of its range (named in the message, with the value received).

    Example:
        >>> from rmt_alpha.nn import AdapterConfig
        >>> AdapterConfig(rank=8, lora_alpha=16.0).lora_scale
        2.0
    """

    targets: tuple = DEFAULT_TARGETS
    rank: int = 4
    lora_alpha: float = 4.0
    kind: str = "alpha_lora"
    alpha_init: float = 1.0
    layout: str = "in_out"
    rescale_bias: bool = False

    def __post_init__(self):
        if isinstance(self.targets, str):
            raise TypeError(f"targets must be a sequence of patterns, got the string {self.targets!r}")
        object.__setattr__(self, "targets", tuple(self.targets))
        if not self.targets:
            raise ValueError("targets must name at least one weight pattern, got an empty set")
        if isinstance(self.rank, bool) or not isinstance(self.rank, (int, np.integer)) or self.rank < 1:
            raise ValueError(f"rank must be an integer >= 1, got {describe_value(self.rank)}")
        check_positive_float("lora_alpha", self.lora_alpha)
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        check_finite_float("alpha_init", self.alpha_init)

    @property
    def lora_scale(self) -> float:
        """`s = lora_alpha / rank` (PEFT's scaling)."""
        return self.lora_alpha / self.rank


def _per_output(vector, layout: str):
    """Broadcast a per-output-feature vector against a weight of the given layout."""
    return vector[None, :] if layout == "in_out" else vector[:, None]


def _lora_delta(adapter: dict, layout: str):
    """The unscaled update `A @ B` ("in_out") or `B @ A` ("out_in"), shaped like the weight."""
    return adapter["lora_A"] @ adapter["lora_B"] if layout == "in_out" else adapter["lora_B"] @ adapter["lora_A"]


def _dora_gain(w0, adapter: dict, config: AdapterConfig):
    """`m / ||W0 + s delta||`, the norm over the input axis (one value per output feature), the norm detached from
    the gradient (DoRA paper section 4.3, PEFT)."""
    direction = w0 + config.lora_scale * _lora_delta(adapter, config.layout)
    in_axis = 0 if config.layout == "in_out" else 1
    return adapter["magnitude"] / jax.lax.stop_gradient(jnp.linalg.norm(direction, axis=in_axis))


def select_paths(params: dict, patterns) -> list:
    """The sorted paths of the 2-D weights matched by the glob patterns.

    Args:
        params: the nested parameter dict.
        patterns: a sequence of `fnmatch` glob patterns over the "/"-joined paths.

    Returns:
        list of str: the matched paths, sorted.

    Raises:
        TypeError: when `patterns` is a single string.
        ValueError: no patterns; a pattern that matches no leaf; a pattern that matches a leaf that is not 2-D.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn._adapters import select_paths
        >>> select_paths({"a": {"kernel": np.ones((2, 2)), "bias": np.ones(2)}}, ["*/kernel"])
        ['a/kernel']
    """
    if isinstance(patterns, str):
        raise TypeError(f"patterns must be a sequence of glob patterns, got the string {patterns!r}")
    patterns = tuple(patterns)
    if not patterns:
        raise ValueError("patterns must name at least one weight, got an empty set")
    flat = flatten_tree(params)
    selected = set()
    for pattern in patterns:
        matched = [path for path in flat if fnmatch.fnmatchcase(path, pattern)]
        if not matched:
            raise ValueError(f"target pattern {pattern!r} matches no weight; available 2-D weights: "
                             f"{sorted(p for p, v in flat.items() if np.ndim(v) == 2)}")
        for path in matched:
            if np.ndim(flat[path]) != 2:
                raise ValueError(f"target pattern {pattern!r} matches {path!r} of shape {np.shape(flat[path])}; "
                                 "only 2-D weights can be adapted")
        selected.update(matched)
    return sorted(selected)


def init_adapters(key, params: dict, config: AdapterConfig) -> dict:
    """Adapters for every weight selected by `config.targets`: `A` random, `B = 0`, alpha = `alpha_init`.

    `A` is uniform in `[-1/sqrt(in), 1/sqrt(in)]` (PEFT's kaiming-uniform with a = sqrt(5)); DoRA's magnitude
    starts at `||W0||` per output feature, so the adapted model starts at the base model (theory/THEORY.md
    section 7).

    Args:
        key: a JAX PRNG key.
        params: the nested parameter dict of the base model.
        config: the `AdapterConfig`.

    Returns:
        dict: the adapter pytree mirroring the selected paths, each `{"lora_A", "lora_B", "alpha"}` (or
        `"magnitude"` for DoRA).

    Raises:
        ValueError: `rank` larger than `min(in, out)` of a selected weight (and see `select_paths`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from rmt_alpha.nn import AdapterConfig, init_adapters
        >>> params = {"layer": {"kernel": jnp.ones((3, 2)), "bias": jnp.zeros(2)}}
        >>> config = AdapterConfig(targets=("layer/kernel",), rank=1)
        >>> adapters = init_adapters(jax.random.key(0), params, config)
        >>> sorted(adapters["layer"]["kernel"]), adapters["layer"]["kernel"]["alpha"].tolist()
        (['alpha', 'lora_A', 'lora_B'], [1.0, 1.0])
    """
    flat = flatten_tree(params)
    paths = select_paths(params, config.targets)
    dims = {}
    for path in paths:
        n_in, n_out = flat[path].shape if config.layout == "in_out" else flat[path].shape[::-1]
        if config.rank > min(n_in, n_out):
            raise ValueError(f"rank must be <= min(in, out) = {min(n_in, n_out)} for {path!r} of shape "
                             f"{tuple(flat[path].shape)}, got rank={config.rank}")
        dims[path] = (n_in, n_out)
    sizes = [n_in * config.rank for n_in, _ in dims.values()]
    draws = np.asarray(jax.random.uniform(key, (sum(sizes),), jnp.float32, -1.0, 1.0))   # one draw, sliced
    adapters, offset = {}, 0
    for path, size in zip(paths, sizes):
        (n_in, n_out), w0 = dims[path], flat[path]
        a = draws[offset: offset + size].reshape(n_in, config.rank) / np.float32(np.sqrt(n_in))
        offset += size
        b = np.zeros((config.rank, n_out), np.float32)
        if config.layout == "out_in":
            a, b = a.T, b.T
        adapters[f"{path}/lora_A"], adapters[f"{path}/lora_B"] = jnp.asarray(a), jnp.asarray(b)
        if config.kind == "alpha_lora":
            adapters[f"{path}/alpha"] = jnp.full((n_out,), config.alpha_init, jnp.float32)
        else:
            in_axis = 0 if config.layout == "in_out" else 1
            adapters[f"{path}/magnitude"] = jnp.asarray(np.linalg.norm(np.asarray(w0), axis=in_axis))
    return unflatten_tree(adapters)


def adapter_paths(adapters: dict) -> list:
    """The weight paths that carry an adapter (sorted).

    Args:
        adapters: the adapter pytree (`init_adapters`).

    Returns:
        list of str: the adapted weights' paths.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn._adapters import adapter_paths
        >>> adapter_paths({"layer": {"kernel": {"alpha": np.ones(2), "lora_A": np.ones((3, 1))}}})
        ['layer/kernel']
    """
    return sorted({path.rsplit("/", 1)[0] for path in flatten_tree(adapters)})


def _adapter_at(adapters: dict, path: str) -> dict:
    node = adapters
    for part in path.split("/"):
        node = node[part]
    return node


class AdaptedKernel:
    """An adapted weight for the un-merged forward: `project(x) = g ⊙ (x W0) + s c ⊙ ((x A) B)`.

    alpha-LoRA: g = alpha, c = 1. DoRA: g = c = m / ||W0 + s delta||. The model's `dense` calls `project`
    (theory/THEORY.md section 7).

    Args:
        w0: the frozen weight, (in, out) or (out, in) by `config.layout`.
        adapter: that weight's adapter dict (`lora_A`, `lora_B`, and `alpha` or `magnitude`).
        config: the `AdapterConfig`.
    """

    def __init__(self, w0, adapter: dict, config: AdapterConfig):
        self.w0, self.adapter, self.config = w0, adapter, config

    def project(self, x):
        """The adapted layer's product `g ⊙ (x W0) + s c ⊙ ((x A) B)`, bias excluded.

        Args:
            x: (..., in) inputs.

        Returns:
            jax.Array: (..., out).
        """
        layout, s = self.config.layout, self.config.lora_scale
        a, b = self.adapter["lora_A"], self.adapter["lora_B"]
        if layout == "in_out":
            base, update = x @ self.w0, (x @ a) @ b
        else:
            base, update = x @ self.w0.T, (x @ a.T) @ b.T
        if self.config.kind == "alpha_lora":
            return self.adapter["alpha"] * base + s * update
        gain = _dora_gain(self.w0, self.adapter, self.config)
        return gain * base + gain * (s * update)


def _check_adapters_fit(params: dict, adapters: dict) -> dict:
    flat = flatten_tree(params)
    missing = [path for path in adapter_paths(adapters) if path not in flat]
    if missing:
        raise ValueError(f"adapters name weights that params do not have: {missing}")
    return flat


def adapted_params(params: dict, adapters: dict, config: AdapterConfig) -> dict:
    """Params whose adapted kernels are `AdaptedKernel`s (the un-merged forward of the project's model).

    `y = alpha ⊙ (W0 x) + b + s B A x` (theory/THEORY.md section 7). With `rescale_bias`, the sibling bias becomes
    `alpha ⊙ b` (alpha-LoRA only).

    Args:
        params: the nested parameter dict of the base model.
        adapters: the adapter pytree (`init_adapters`).
        config: the `AdapterConfig` the adapters were built with.

    Returns:
        dict: a parameter dict for `apply` / `pooled_features`.

    Raises:
        ValueError: when the adapters name weights that `params` does not have.
    """
    flat = dict(_check_adapters_fit(params, adapters))
    for path in adapter_paths(adapters):
        adapter = _adapter_at(adapters, path)
        flat[path] = AdaptedKernel(flat[path], adapter, config)
        bias_path = path.rsplit("/", 1)[0] + "/bias" if "/" in path else "bias"
        if config.rescale_bias and config.kind == "alpha_lora" and bias_path in flat:
            flat[bias_path] = adapter["alpha"] * flat[bias_path]
    return unflatten_tree(flat)


