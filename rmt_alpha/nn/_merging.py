"""Merging alpha-LoRA / DoRA adapters into plain weights and recovering the base weights (theory/THEORY.md
section 7): `diag(alpha) W0 + s B A`, checked for finite values, and its inverse with a per-output-feature error
bound."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._validation import check_positive_float, describe_value
from rmt_alpha.nn._adapters import (
    AdapterConfig,
    _adapter_at,
    _check_adapters_fit,
    _dora_gain,
    _lora_delta,
    _per_output,
    adapter_paths,
)
from rmt_alpha.nn._trees import unflatten_tree


def merge(params: dict, adapters: dict, config: AdapterConfig, *, safe_merge: bool = True) -> dict:
    """Plain params with every adapted weight merged: `diag(alpha) W0 + s B A` (DoRA: `m ⊙ V / ||V||`).

    theory/THEORY.md section 7. In the "in_out" layout `diag(alpha) W0` means `W0 * alpha[None, :]`. With
    `rescale_bias`, `b -> alpha ⊙ b`. Works for any pytree whose `apply` uses the layout given in the config.

    Args:
        params: the nested parameter dict of the base model.
        adapters: the adapter pytree (`init_adapters`, trained).
        config: the `AdapterConfig` the adapters were built with.
        safe_merge: check that every merged weight is finite (as PEFT's `safe_merge`) and raise naming the adapter
            otherwise: a NaN alpha or LoRA factor would otherwise spread into the whole weight. Concrete arrays
            only: inside `jax.jit` the values are not known and the check is skipped.

    Returns:
        dict: the merged parameter dict, same structure as `params`.

    Raises:
        ValueError: when the adapters name weights that `params` does not have; with `safe_merge`, a merged weight
            (or rescaled bias) that holds NaN or infinity.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from rmt_alpha.nn import AdapterConfig, init_adapters, merge
        >>> params = {"layer": {"kernel": jnp.ones((3, 2)), "bias": jnp.zeros(2)}}
        >>> config = AdapterConfig(targets=("layer/kernel",), rank=1, alpha_init=2.0)
        >>> merged = merge(params, init_adapters(jax.random.key(0), params, config), config)
        >>> merged["layer"]["kernel"].tolist()
        [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
    """
    flat = dict(_check_adapters_fit(params, adapters))
    for path in adapter_paths(adapters):
        adapter, w0 = _adapter_at(adapters, path), flat[path]
        update = config.lora_scale * _lora_delta(adapter, config.layout)
        changed = [path]
        if config.kind == "alpha_lora":
            flat[path] = _per_output(adapter["alpha"], config.layout) * w0 + update
            bias_path = path.rsplit("/", 1)[0] + "/bias" if "/" in path else "bias"
            if config.rescale_bias and bias_path in flat:
                flat[bias_path] = adapter["alpha"] * flat[bias_path]
                changed.append(bias_path)
        else:
            flat[path] = _per_output(_dora_gain(w0, adapter, config), config.layout) * (w0 + update)
        for name in changed if safe_merge else ():
            if not isinstance(flat[name], jax.core.Tracer) and not np.all(np.isfinite(np.asarray(flat[name]))):
                bad = sorted(key for key, value in adapter.items() if not np.all(np.isfinite(np.asarray(value))))
                raise ValueError(f"merging the adapter at {path!r} gives non-finite values in {name!r} (non-finite "
                                 f"adapter entries: {bad or 'none; the product overflowed'}): the adapter is broken")
    return unflatten_tree(flat)


def unmerge(merged: dict, adapters: dict, config: AdapterConfig, *, rtol: float = 1e-4) -> dict:
    """Recover the base weights: `W0 = diag(1 / alpha) (W - s B A)` (and `b = b' / alpha` with `rescale_bias`).

    The inverse of `merge` for alpha-LoRA (theory/THEORY.md section 7). The merged weight holds
    `alpha W0 + s B A` rounded to its dtype, and dividing by alpha amplifies that rounding. Per output feature j
    (norms over the input axis, `eps` of the weight's dtype) the recovered row has a relative error of about

        eps (|W_j| + |s (B A)_j|) / (|alpha_j| |W0_j|),

    which must not exceed `rtol` (float32, alpha = 1e-5 and a LoRA update as large as W0: about 2e-2).

    Args:
        merged: the merged parameter dict (`merge`).
        adapters: the adapter pytree that was merged.
        config: the `AdapterConfig` the adapters were built with.
        rtol: the largest estimated relative error accepted per output feature (> 0; keyword-only).

    Returns:
        dict: the base parameter dict.

    Raises:
        ValueError: a non-finite alpha; an output feature whose estimated relative error exceeds `rtol` (for
            instance alpha = 0); DoRA adapters (the merged weight fixes `W0` only up to a positive factor per
            output feature, so it is not invertible); adapters naming weights that `merged` does not have.
    """
    if config.kind != "alpha_lora":
        raise ValueError(f"unmerge needs alpha-LoRA adapters, got kind={config.kind!r}: a DoRA-merged weight "
                         "determines W0 only up to a positive factor per output feature")
    rtol = check_positive_float("rtol", rtol)
    flat = dict(_check_adapters_fit(merged, adapters))
    in_axis = 0 if config.layout == "in_out" else 1
    for path in adapter_paths(adapters):
        adapter = _adapter_at(adapters, path)
        alpha = np.asarray(adapter["alpha"])
        if not np.all(np.isfinite(alpha)):
            worst = int(np.flatnonzero(~np.isfinite(alpha))[0])
            raise ValueError(f"cannot unmerge {path!r}: alpha[{worst}] = {describe_value(alpha[worst])} is not finite")
        weight = np.asarray(flat[path])
        update = np.asarray(config.lora_scale * _lora_delta(adapter, config.layout))
        with np.errstate(divide="ignore", invalid="ignore"):
            base = (weight - update) / _per_output(alpha, config.layout)
            error = (np.finfo(weight.dtype).eps * (np.linalg.norm(weight, axis=in_axis) + np.linalg.norm(
                update, axis=in_axis)) / (np.abs(alpha) * np.linalg.norm(base, axis=in_axis)))
        if not np.all(error <= rtol):  # NaN (alpha = 0) fails too
            worst = int(np.nanargmax(np.where(np.isnan(error), np.inf, error)))
            raise ValueError(f"cannot unmerge {path!r}: output feature {worst} (alpha[{worst}] = {alpha[worst]:.3g}) "
                             f"would be recovered with a relative error of about {error[worst]:.2g} > rtol = {rtol:g} "
                             f"(the merged {weight.dtype} weight stores alpha W0 + s B A; dividing by a small alpha "
                             "amplifies its rounding)")
        flat[path] = jnp.asarray(base, dtype=weight.dtype)
        bias_path = path.rsplit("/", 1)[0] + "/bias" if "/" in path else "bias"
        if config.rescale_bias and bias_path in flat:
            flat[bias_path] = flat[bias_path] / adapter["alpha"]
    return unflatten_tree(flat)
