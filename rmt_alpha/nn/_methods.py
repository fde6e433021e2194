"""The fine-tuning methods and their settings (theory/THEORY.md section 7), and which parameters each method trains
(the labels of the optax partition)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import numpy as np

from rmt_alpha._validation import check_count, check_finite_float, check_positive_float
from rmt_alpha.nn._adapters import AdapterConfig, adapter_paths

TRAINING_METHODS = ("head_only", "full", "lora", "alpha_fixed", "alpha_lora", "dora")
"""The fine-tuning methods a `FinetuneConfig` accepts."""


_ADAPTER_METHODS = ("lora", "alpha_fixed", "alpha_lora", "dora")
# Compute settings of a run (FinetuneConfig.width_multiple, .eval_chunk): they change the cost, never the result.
# Measured on all-MiniLM-L6-v2, vader-tweets -> vader-editorials, n_train = 50 (benchmarks/text_finetune_profile.py,
# CPU seconds on two shared cores, load 7 to 10), against 16, 32, 64 tokens and chunks of 64 rows: a warm run of
# LoRA, alpha-LoRA or the data control 23.7 -> 16.4 s (the test pass 5.6 -> 3.0 s, the validation pass 1.25 -> 0.60 s,
# a step 0.47 -> 0.35 s: 97% of the batches were cut at 64 tokens, now at 40 to 56); the same 9 runs, number for
# number, as the stored ones.
WIDTH_MULTIPLE = 8
EVAL_CHUNK = 16


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyper-parameters of one fine-tuning run (theory/THEORY.md section 7, Algorithm 1).

    Attributes:
        method: one of `TRAINING_METHODS`.
        adapter: the `AdapterConfig` (targets, rank, lora_alpha, layout, rescale_bias); its `kind` and `alpha_init`
            are set from `method`.
        learning_rate: AdamW learning rate of the trained parameters (constant, > 0).
        weight_decay: AdamW weight decay (>= 0).
        batch_size: training batch (the last incomplete batch of an epoch is dropped).
        max_epochs: most epochs run.
        patience: early stopping on validation accuracy: stop after `patience` epochs without a strict improvement
            (the best epoch's state is returned).
        alpha_value: alpha for "alpha_fixed".
        alpha_learning_rate: Adam learning rate of alpha (alpha_lora, > 0).
        alpha_every: T, the adapter steps between alpha updates.
        alpha_batch_size: held-out samples per alpha step.
        width_multiple: token batches are cut to the smallest multiple of this width that keeps all their real
            tokens (at most their own width; `rmt_alpha.nn._step.trim_padding`). Padding is masked, so this changes
            the cost and the number of compiled shapes (one per multiple), not the result; a value at least the
            tokens' width turns the cutting off.
        eval_chunk: rows per compiled evaluation call (validation and test passes, the rows taken shortest first);
            it changes the cost, not the accuracy.

    Raises:
        ValueError: when a field is out of its range (named in the message, with the value received).
        TypeError: when `adapter` is not an `AdapterConfig`.

    Example:
        >>> from rmt_alpha.nn import FinetuneConfig
        >>> FinetuneConfig(method="dora").adapter.kind
        'dora'
    """

    method: str = "alpha_lora"
    adapter: AdapterConfig = AdapterConfig()
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    batch_size: int = 32
    max_epochs: int = 30
    patience: int = 5
    alpha_value: float = 1.0
    alpha_learning_rate: float = 5e-3
    alpha_every: int = 10
    alpha_batch_size: int = 32
    width_multiple: int = WIDTH_MULTIPLE
    eval_chunk: int = EVAL_CHUNK

    def __post_init__(self):
        if self.method not in TRAINING_METHODS:
            raise ValueError(f"method must be one of {TRAINING_METHODS}, got {self.method!r}")
        if not isinstance(self.adapter, AdapterConfig):
            raise TypeError(f"adapter must be an AdapterConfig, got {type(self.adapter).__name__}")
        check_positive_float("learning_rate", self.learning_rate)
        check_positive_float("weight_decay", self.weight_decay, allow_zero=True)
        check_positive_float("alpha_learning_rate", self.alpha_learning_rate)
        for name in ("batch_size", "max_epochs", "patience", "alpha_every", "alpha_batch_size", "width_multiple",
                     "eval_chunk"):
            check_count(name, getattr(self, name))
        check_finite_float("alpha_value", self.alpha_value)
        kind = "dora" if self.method == "dora" else "alpha_lora"
        alpha_init = self.alpha_value if self.method == "alpha_fixed" else 1.0
        object.__setattr__(self, "adapter", dataclasses.replace(self.adapter, kind=kind, alpha_init=alpha_init))

    def for_method(self, method: str, *, full_learning_rate: float, head_learning_rate: float,
                   alpha_value: float = 1.0) -> FinetuneConfig:
        """This config for one of `TRAINING_METHODS`: "full" and "head_only" take their own learning rates, the
        adapter methods keep `learning_rate`; `alpha_value` is the fixed alpha of "alpha_fixed".

        Args:
            method: one of `TRAINING_METHODS`.
            full_learning_rate: the learning rate of "full".
            head_learning_rate: the learning rate of "head_only".
            alpha_value: the fixed alpha ("alpha_fixed" only).

        Returns:
            FinetuneConfig: a copy with that method, learning rate and alpha value.

        Example:
            >>> from rmt_alpha.nn import FinetuneConfig
            >>> FinetuneConfig().for_method("full", full_learning_rate=1e-5, head_learning_rate=1e-2).learning_rate
            1e-05
        """
        rate = {"full": full_learning_rate, "head_only": head_learning_rate}.get(method, self.learning_rate)
        return dataclasses.replace(self, method=method, learning_rate=rate, alpha_value=alpha_value)


def parameter_labels(state: dict, method: str) -> dict:
    """Per leaf of `state`, "train", "alpha" (alpha_lora's alpha) or "frozen", for `optax.partition`.

    "full" trains every parameter; the other methods train the head (the parameters under `params/head/`) and the
    adapters. A weight that carries an adapter is frozen (its adapter trains).

    Args:
        state: `{"params": ..., "adapters": ...}` (`init_state`).
        method: one of `TRAINING_METHODS`.

    Returns:
        dict: a pytree of the same structure as `state`, with a label string at each leaf.

    Raises:
        ValueError: when `method` is unknown; a method other than "full" on a model without parameters under
            `params/head/` (its classifier is named otherwise, and would silently stay untrained).

    Example:
        >>> from rmt_alpha.nn._methods import parameter_labels
        >>> state = {"params": {"head": {"kernel": 0.0}, "embed": {"token": 0.0}}, "adapters": {}}
        >>> parameter_labels(state, "head_only")["params"]
        {'embed': {'token': 'frozen'}, 'head': {'kernel': 'train'}}
    """
    if method not in TRAINING_METHODS:
        raise ValueError(f"method must be one of {TRAINING_METHODS}, got {method!r}")
    params = state.get("params", {})
    if method != "full" and not (isinstance(params, dict) and isinstance(params.get("head"), dict) and params["head"]):
        found = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"method {method!r} trains the classifier found by name under params['head'], but the "
                         f"model has no such entry (top-level parameters: {found}); name its classifier 'head' or "
                         "use method 'full'")
    adapted = {f"params/{path}" for path in adapter_paths(state.get("adapters") or {})}

    def label(path: str) -> str:
        if path.startswith("params/"):
            if path in adapted:
                return "frozen"
            if method == "full" or path.startswith("params/head/"):
                return "train"
            return "frozen"
        name = path.rsplit("/", 1)[-1]          # adapters/.../{lora_A, lora_B, alpha, magnitude}
        if name == "alpha":
            return "alpha" if method == "alpha_lora" else "frozen"
        return "train"

    def leaf_label(key_path, _):
        return label("/".join(str(getattr(entry, "key", entry)) for entry in key_path))

    return jax.tree_util.tree_map_with_path(leaf_label, state)


def trainable_count(state: dict, method: str) -> int:
    """Number of parameters that `method` trains (labels "train" and "alpha").

    Args:
        state: `{"params": ..., "adapters": ...}` (`init_state`).
        method: one of `TRAINING_METHODS`.

    Returns:
        int: the number of trained scalars.

    Raises:
        ValueError: when `method` is unknown.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn._methods import trainable_count
        >>> state = {"params": {"head": {"kernel": np.ones((4, 2))}, "embed": {"token": np.ones((9, 4))}},
        ...          "adapters": {}}
        >>> trainable_count(state, "head_only"), trainable_count(state, "full")
        (8, 44)
    """
    labels = jax.tree_util.tree_leaves(parameter_labels(state, method))
    return int(sum(np.size(leaf) for leaf, label in zip(jax.tree_util.tree_leaves(state), labels)
                   if label != "frozen"))
