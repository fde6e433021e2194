"""Fine-tuning the transformer classifier with optax (theory/THEORY.md section 7, Algorithm 1); pre-training from
scratch is `rmt_alpha.nn._selection.pretrain`, the compiled step `rmt_alpha.nn._step`.

Fine-tuning methods (what is trained; everything else is frozen by an `optax.partition` label `"frozen"` whose
transformation is `optax.set_to_zero()`, never by editing arrays):
    head_only    the head's kernel and bias (AdamW).
    full         every parameter (AdamW).
    lora         LoRA A, B and the head (AdamW); alpha fixed at 1.
    alpha_fixed  as lora with alpha fixed at `alpha_value` (a scalar; the experiment picks it on validation data).
    alpha_lora   A, B and the head by AdamW on the training stream; alpha (one per output feature) by its own Adam
                 on a batch drawn from a held-out split (never the adapters' training data), once every
                 `alpha_every` (T) adapter steps: the paper's Algorithm 1.
    dora         A, B, the DoRA magnitude and the head (AdamW).

The head is found by name: the parameters under `params["head"]`; a model whose classifier lives elsewhere is refused
(every method but "full" would otherwise train nothing). A weight that carries an adapter is frozen (its adapter
trains): with adapters on "head/kernel", the pre-trained head is kept as `alpha * W0` plus a trained update.

The trainable state is `{"params": model params, "adapters": adapter pytree}`. Early stopping and model selection
use the validation split only; `evaluate` on the test split is for the caller to run once. Token batches are cut to
the smallest multiple of `config.width_multiple` that keeps their real tokens (`trim_padding`), and evaluated in
chunks of `config.eval_chunk` rows: padding is masked, so both change the cost, not the result. The model is a
`TransformerConfig` (inputs: token ids) or a `HeadConfig` (inputs: the frozen encoder's pooled features, for the
frozen-encoder methods; `rmt_alpha.nn._heads`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha.nn._adapters import init_adapters
from rmt_alpha.nn._heads import HeadConfig
from rmt_alpha.nn._methods import _ADAPTER_METHODS, FinetuneConfig, trainable_count
from rmt_alpha.nn._models import TransformerConfig
from rmt_alpha.nn._step import _model_forward, _pad_id, make_trainer, trim_padding


class FinetuneResult(NamedTuple):
    """Outcome of `finetune_network`: the best-validation state and its history.

    Attributes:
        state: `{"params", "adapters"}` at the best validation epoch.
        val_accuracy: its validation accuracy.
        best_epoch: that epoch (1-based).
        epochs_run: epochs run before stopping.
        steps: the adapter steps in the returned state (those up to the end of the best epoch).
        alpha_steps: the adapter-step numbers after which alpha was updated, in the returned state (alpha_lora).
        val_history: validation accuracy after each epoch.
        trainable: number of trained parameters (alpha included for alpha_lora).
        wall_time: seconds, compilation included.
        steps_run: the adapter steps over the whole run, epochs after the best one included.
        alpha_steps_run: the same as `alpha_steps` over the whole run.
    """

    state: dict
    val_accuracy: float
    best_epoch: int
    epochs_run: int
    steps: int
    alpha_steps: list
    val_history: list
    trainable: int
    wall_time: float
    steps_run: int
    alpha_steps_run: list


def _check_dataset(name: str, X, y, model_config):
    """Token ids (int32, (n, length)) for a `TransformerConfig`, feature rows (float32, (n, d_model)) for a
    `HeadConfig`; labels int32 in [0, num_classes)."""
    num_classes = model_config.num_classes
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        kind = "d_model" if isinstance(model_config, HeadConfig) else "length"
        raise ValueError(f"{name} must be (X, y) with X of shape (n, {kind}) and y of shape (n,), got "
                         f"{X.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} labels must be integers in [0, {num_classes - 1}], got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{name} labels must be in [0, {num_classes - 1}], got values in [{y.min()}, {y.max()}]")
    if isinstance(model_config, HeadConfig):
        if X.shape[1] != model_config.d_model or not np.all(np.isfinite(X)):
            raise ValueError(f"{name} features must be finite rows of width d_model = {model_config.d_model}, got "
                             f"shape {X.shape}")
        return X.astype(np.float32), y.astype(np.int32)
    vocab = model_config.vocab_size
    if not np.issubdtype(X.dtype, np.integer) or (X.size and (X.min() < 0 or X.max() >= vocab)):
        seen = f", values in [{X.min()}, {X.max()}]" if X.size and np.issubdtype(X.dtype, np.number) else ""
        raise ValueError(f"{name} tokens must be integer ids in [0, {vocab}), got dtype {X.dtype}{seen}")
    return X.astype(np.int32), y.astype(np.int32)


def init_state(key, params: dict, config: FinetuneConfig) -> dict:
    """The trainable state `{"params": params, "adapters": ...}` of a method.

    Args:
        key: a JAX PRNG key for the adapter initialisation.
        params: the pre-trained model parameters.
        config: the `FinetuneConfig`; adapters are built for the adapter methods (lora, alpha_fixed, alpha_lora,
            dora), `{}` otherwise.

    Returns:
        dict: `{"params": params, "adapters": adapter pytree or {}}`.
    """
    adapters = init_adapters(key, params, config.adapter) if config.method in _ADAPTER_METHODS else {}
    return {"params": params, "adapters": adapters}


def _seed_from(key) -> int:
    return int(jax.random.randint(key, (), 0, np.iinfo(np.int32).max))


def finetune_network(key, params: dict, model_config: TransformerConfig | HeadConfig, config: FinetuneConfig, train,
                     val, held_out=None, callback: Callable | None = None) -> FinetuneResult:
    """Fine-tune `params` on `train` with early stopping on `val`; alpha_lora also uses `held_out`.

    The paper's Algorithm 1 (theory/THEORY.md section 7): adapters and head by AdamW on the training stream;
    alpha by its own Adam on `alpha_batch_size` held-out samples (drawn without replacement) once every
    `alpha_every` adapter steps. `key` fixes the adapter initialisation and the batch order (the same key gives the
    same `A` and the same batches for every method: paired comparisons).

    Args:
        key: a JAX PRNG key.
        params: the pre-trained model parameters.
        model_config: the `TransformerConfig` of the model (inputs: token ids), or a `HeadConfig` (inputs: the
            frozen encoder's pooled features, for the frozen-encoder methods; `rmt_alpha.nn._heads`).
        config: the `FinetuneConfig` of the run.
        train: `(X, y)`: int tokens (n, length) or float features (n, d_model), and int labels (n,) in
            [0, num_classes).
        val: `(X, y)` for early stopping and selection, same layout.
        held_out: `(X, y)` for alpha's steps, disjoint from `train`; required for alpha_lora, ignored otherwise.
        callback: optional `callback(event, step, state, batch)`, called after each update with event "train" or
            "alpha" and the `(X, y)` batch (cut of its padding) that produced it.

    Returns:
        FinetuneResult: the best-validation state and the run's history.

    Raises:
        ValueError: labels outside [0, num_classes); alpha_lora without `held_out`; a training set smaller than
            one batch; a held-out set smaller than `alpha_batch_size`.
        TypeError: labels that are not integers.
    """
    started = time.perf_counter()
    _model_forward(model_config)          # a TypeError for anything but the two model configs
    X_train, y_train = _check_dataset("train", *train, model_config)
    X_val, y_val = _check_dataset("val", *val, model_config)
    uses_alpha = config.method == "alpha_lora"
    if uses_alpha:
        if held_out is None:
            raise ValueError("held_out must be given for method 'alpha_lora' (alpha is trained on it)")
        X_held, y_held = _check_dataset("held_out", *held_out, model_config)
        if len(y_held) < config.alpha_batch_size:
            raise ValueError(f"held_out must have at least alpha_batch_size = {config.alpha_batch_size} samples, "
                             f"got {len(y_held)}")
    if len(y_train) < config.batch_size:
        raise ValueError(f"train must have at least batch_size = {config.batch_size} samples, got {len(y_train)}")

    key_adapter, key_order, key_alpha = jax.random.split(key, 3)
    trainer = make_trainer(model_config, config)
    pad_token_id = _pad_id(model_config)
    state = init_state(key_adapter, params, config)
    opt_state, alpha_opt_state = trainer.main.init(state), trainer.alpha.init(state)
    order_rng, alpha_rng = np.random.default_rng(_seed_from(key_order)), np.random.default_rng(_seed_from(key_alpha))
    batches = len(y_train) // config.batch_size

    best_state, best_accuracy, best_epoch, best_step, since, step = state, -1.0, 0, 0, 0, 0
    alpha_steps, history = [], []
    for epoch in range(1, config.max_epochs + 1):
        order = order_rng.permutation(len(y_train))
        for index in range(batches):
            rows = order[index * config.batch_size: (index + 1) * config.batch_size]
            batch = (trim_padding(X_train[rows], pad_token_id, multiple=config.width_multiple), y_train[rows])
            state, opt_state, _ = trainer.train_step(state, opt_state, *batch)
            step += 1
            if callback is not None:
                callback("train", step, state, batch)
            if uses_alpha and step % config.alpha_every == 0:
                rows = alpha_rng.choice(len(y_held), size=config.alpha_batch_size, replace=False)
                batch = (trim_padding(X_held[rows], pad_token_id, multiple=config.width_multiple), y_held[rows])
                state, alpha_opt_state, _ = trainer.alpha_step(state, alpha_opt_state, *batch)
                alpha_steps.append(step)
                if callback is not None:
                    callback("alpha", step, state, batch)
        accuracy = float(trainer.accuracy(state, X_val, y_val, config.eval_chunk, config.width_multiple))
        history.append(accuracy)
        if accuracy > best_accuracy:
            best_state, best_accuracy, best_epoch, best_step, since = state, accuracy, epoch, step, 0
        else:
            since += 1
            if since >= config.patience:
                break
    return FinetuneResult(best_state, best_accuracy, best_epoch, epoch, best_step,
                          [s for s in alpha_steps if s <= best_step], history, trainable_count(state, config.method),
                          time.perf_counter() - started, step, alpha_steps)


def evaluate(state: dict, model_config: TransformerConfig | HeadConfig, config: FinetuneConfig, X, y) -> float:
    """Accuracy of a fine-tuned state on `(X, y)` (run it once, on the test split, after model selection).

    Args:
        state: `{"params", "adapters"}` (e.g. `FinetuneResult.state`).
        model_config: the `TransformerConfig` (or `HeadConfig`) of the model.
        config: the `FinetuneConfig` the state was trained with.
        X: (n, length) int tokens, or (n, d_model) features for a `HeadConfig`.
        y: (n,) int labels in [0, num_classes).

    Returns:
        float: the fraction of correct argmax predictions.

    Raises:
        ValueError: for malformed data or labels out of range.
        TypeError: for labels that are not integers.
    """
    X, y = _check_dataset("test", X, y, model_config)
    trainer = make_trainer(model_config, config)
    return float(trainer.accuracy(state, X, y, config.eval_chunk, config.width_multiple))


