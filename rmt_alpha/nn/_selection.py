"""Pre-training a small encoder from scratch, and fitting one table row of a fine-tuning experiment with
selection on a validation split (theory/THEORY.md section 7)."""

from __future__ import annotations

import sys
from typing import NamedTuple

import jax
import numpy as np
import optax

from rmt_alpha._validation import check_count
from rmt_alpha.nn._encoder import apply
from rmt_alpha.nn._finetune import FinetuneResult, _check_dataset, _seed_from, finetune_network
from rmt_alpha.nn._methods import FinetuneConfig
from rmt_alpha.nn._models import TransformerConfig


def pretrain(key, model_config: TransformerConfig, X, y, *, epochs: int = 8, batch_size: int = 64,
             learning_rate: float = 3e-3, weight_decay: float = 0.01, warmup_fraction: float = 0.1,
             init_params: dict | None = None, progress: bool = True) -> tuple[dict, list]:
    """Train every parameter on `(X, y)` with AdamW and a warmup-cosine schedule.

    Args:
        key: a JAX PRNG key (initialisation and batch order).
        model_config: the `TransformerConfig` of the model.
        X: (n, length) int tokens.
        y: (n,) int labels in [0, num_classes).
        epochs: passes over the data (keyword-only).
        batch_size: training batch, the last incomplete one dropped (keyword-only).
        learning_rate: peak learning rate of the schedule (keyword-only).
        weight_decay: AdamW weight decay (keyword-only).
        warmup_fraction: fraction of the steps spent warming up linearly from 0 (keyword-only).
        init_params: starting parameters; None for `init_params(key, model_config)` (keyword-only).
        progress: show a progress bar (keyword-only).

    Returns:
        tuple: `(params, losses)`, the trained parameters and the mean training loss of each epoch.

    Raises:
        ValueError: for malformed data, labels out of range, non-positive `epochs` or `batch_size`, or fewer samples
            than one batch.
    """
    from tqdm.auto import tqdm

    from rmt_alpha.nn._models import init_params as make_params

    X, y = _check_dataset("pretraining data", X, y, model_config)
    epochs, batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
    if len(y) < batch_size:
        raise ValueError(f"pretraining data must have at least batch_size = {batch_size} samples, got {len(y)}")
    key_init, key_order = jax.random.split(key)
    params = make_params(key_init, model_config) if init_params is None else init_params
    batches = len(y) // batch_size
    total = epochs * batches
    schedule = optax.warmup_cosine_decay_schedule(0.0, learning_rate, max(1, int(warmup_fraction * total)), total)
    optimizer = optax.adamw(schedule, weight_decay=weight_decay)

    def loss(params, X, y):
        return optax.softmax_cross_entropy_with_integer_labels(apply(params, X, model_config), y).mean()

    @jax.jit
    def step(params, opt_state, X, y):
        value, grads = jax.value_and_grad(loss)(params, X, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    opt_state, rng, losses = optimizer.init(params), np.random.default_rng(_seed_from(key_order)), []
    for _ in tqdm(range(epochs), desc="pre-training", disable=not progress, leave=False,
                  file=sys.stderr):
        order, total_loss = rng.permutation(len(y)), 0.0
        for index in range(batches):
            rows = order[index * batch_size: (index + 1) * batch_size]
            params, opt_state, value = step(params, opt_state, X[rows], y[rows])
            total_loss += float(value)
        losses.append(total_loss / batches)
    return params, losses


LORA_MORE_DATA = "lora_more_data"  # a control row: LoRA trained on the training and the held-out samples


class SelectedRun(NamedTuple):
    """One table row's fit: the run picked on validation, its config, method, alpha value and training size.

    Attributes:
        result: the selected `FinetuneResult`.
        config: the `FinetuneConfig` it was trained with.
        method: the training method ("lora" for `LORA_MORE_DATA`).
        alpha_value: the alpha picked on validation ("alpha_fixed"), else 1.
        training_samples: number of training samples it saw.
    """

    result: FinetuneResult
    config: FinetuneConfig
    method: str
    alpha_value: float
    training_samples: int


def fit_and_select(key, params: dict, model_config: TransformerConfig, name: str, method_config, train, held_out,
                   val, alpha_grid) -> SelectedRun:
    """Fit one table row with one key and select on validation.

    Every row shares initialisation and batch order (the same `key`); "alpha_fixed" is fitted at each value of
    `alpha_grid` and the first best on validation is kept. alpha_lora's alpha alone sees `held_out`; the test data
    never reach here. The row `LORA_MORE_DATA` is LoRA trained on `train` and `held_out` together.

    Args:
        key: a JAX PRNG key.
        params: the pre-trained model parameters.
        model_config: the `TransformerConfig` of the model.
        name: the row, a method of `TRAINING_METHODS` or `LORA_MORE_DATA`.
        method_config: `(method, alpha_value) -> FinetuneConfig`.
        train: `(X, y)` training data.
        held_out: `(X, y)` held-out data for alpha's steps.
        val: `(X, y)` validation data.
        alpha_grid: the alphas tried by "alpha_fixed".

    Returns:
        SelectedRun: the selected run and its settings.
    """
    method = "lora" if name == LORA_MORE_DATA else name
    grid = tuple(alpha_grid) if method == "alpha_fixed" else (1.0,)
    data = train if name != LORA_MORE_DATA else tuple(np.concatenate(pair) for pair in zip(train, held_out))
    candidates = [finetune_network(key, params, model_config, method_config(method, alpha), data, val,
                           held_out=held_out if method == "alpha_lora" else None) for alpha in grid]
    choice = int(np.argmax([candidate.val_accuracy for candidate in candidates]))  # first best, validation only
    return SelectedRun(candidates[choice], method_config(method, grid[choice]), method, grid[choice], len(data[1]))
