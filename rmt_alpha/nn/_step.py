"""The compiled optax step of a fine-tuning method: the forward function of a model with adapters, frozen weights by
an optax partition, alpha's own optimizer, and padding trimmed to the shortest multiple of a width that keeps every
token (theory/THEORY.md section 7)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rmt_alpha.nn._adapters import AdapterConfig, adapted_params
from rmt_alpha.nn._encoder import apply
from rmt_alpha.nn._heads import HeadConfig, apply_head
from rmt_alpha.nn._methods import EVAL_CHUNK, WIDTH_MULTIPLE, FinetuneConfig, parameter_labels
from rmt_alpha.nn._models import TransformerConfig


class Trainer(NamedTuple):
    """The jitted pieces of a fine-tuning method, built by `make_trainer`.

    Attributes:
        labels: `state -> labels pytree` ("train", "alpha", "frozen"), for `optax.partition`.
        main: the optax transformation of the trained parameters (AdamW; alpha and frozen leaves set to zero).
        alpha: the optax transformation of alpha alone (Adam).
        loss: `(state, X, y) -> mean softmax cross-entropy`.
        train_step: `(state, opt_state, X, y) -> (state, opt_state, loss)`, one `main` step (alpha untouched).
        alpha_step: `(state, opt_state, X, y) -> (state, opt_state, loss)`, one `alpha` step on the given batch.
        accuracy: `(state, X, y) -> float`, evaluated in chunks of `eval_chunk` rows, each cut to its own width.
    """

    labels: Callable
    main: optax.GradientTransformation
    alpha: optax.GradientTransformation
    loss: Callable
    train_step: Callable
    alpha_step: Callable
    accuracy: Callable


def _model_forward(model_config):
    """The logits function of a model config: the encoder (`apply`) or the head alone (`apply_head`)."""
    if isinstance(model_config, HeadConfig):
        return apply_head
    if isinstance(model_config, TransformerConfig):
        return apply
    raise TypeError(f"model_config must be a TransformerConfig or a HeadConfig, got {type(model_config).__name__}")


def make_trainer(model_config: TransformerConfig | HeadConfig, config: FinetuneConfig) -> Trainer:
    """The jitted steps for a method (cached: one compilation per model, method and optimizer settings; LoRA,
    alpha fixed and alpha-LoRA share theirs).

    alpha's value is part of the state, not of the compiled function, so an alpha grid shares one compilation;
    the loop settings (epochs, patience, T, batch sizes) do not enter the compiled functions either.

    Args:
        model_config: the `TransformerConfig` of the model.
        config: the `FinetuneConfig` of the run.

    Returns:
        Trainer: the optimizers and the jitted loss, steps and accuracy.
    """
    compiled_fields = dict(alpha_value=1.0, max_epochs=1, patience=1, alpha_every=1, batch_size=1,
                           alpha_batch_size=1, eval_chunk=1, width_multiple=1)
    if config.method in ("lora", "alpha_fixed"):
        # The adapter step of alpha_lora: alpha's label ("alpha" there, "frozen" here) maps to set_to_zero in the
        # adapters' optimizer either way, and alpha's value is state. LoRA simply never calls the alpha step.
        compiled_fields["method"] = "alpha_lora"
    return _make_trainer(model_config, dataclasses.replace(config, **compiled_fields))


def trim_padding(X, pad_token_id: int | None, *, multiple: int = WIDTH_MULTIPLE) -> np.ndarray:
    """Token rows cut to the smallest multiple of `multiple` (capped at X's own width) that keeps every non-pad
    token: the trailing padding is masked out of attention and pooling, so the logits are those of the full width
    (to float32 rounding), at a cost proportional to the tokens kept. The multiples bound the number of compiled
    shapes (`width / multiple`); `multiple` at least X's width keeps the full width. Feature rows (`pad_token_id`
    None) are returned as they are.

    Args:
        X: (n, width) token ids, padded on the right with `pad_token_id`; or (n, d) features.
        pad_token_id: the padding id, or None for feature rows.
        multiple: the widths kept are multiples of it (>= 1).

    Returns:
        np.ndarray: `X[:, :w]`, w the smallest multiple of `multiple` >= the longest row's real tokens (at least
        `multiple`, at most X's width).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.nn._step import trim_padding
        >>> X = np.zeros((2, 64), np.int32); X[0, :19] = 7; X[1, :5] = 7
        >>> trim_padding(X, 0).shape, trim_padding(X, 0, multiple=16).shape, trim_padding(X, 0, multiple=64).shape
        ((2, 24), (2, 32), (2, 64))
    """
    X = np.asarray(X)
    if pad_token_id is None or X.ndim != 2 or X.shape[1] <= multiple:
        return X
    used = np.flatnonzero(np.any(X != pad_token_id, axis=0))
    longest = int(used[-1]) + 1 if used.size else 1
    return X[:, :min(-(-longest // multiple) * multiple, X.shape[1])]


def _pad_id(model_config) -> int | None:
    return model_config.pad_token_id if isinstance(model_config, TransformerConfig) else None


def _forward_function(model_config, adapter_config: AdapterConfig) -> Callable:
    model_apply = _model_forward(model_config)

    def forward(state, X):
        params = state["params"]
        if state["adapters"]:
            params = adapted_params(params, state["adapters"], adapter_config)
        return model_apply(params, X, model_config)

    return forward


@functools.cache
def _make_counter(model_config, adapter_config: AdapterConfig) -> Callable:
    """The jitted count of correct predictions, shared by every method with the same forward (alpha and the
    trained parts are state, not part of the compiled function)."""
    forward = _forward_function(model_config, adapter_config)

    @jax.jit
    def correct(state, X, y):
        return jnp.sum(jnp.argmax(forward(state, X), axis=-1) == y)

    return correct


@functools.cache
def _make_trainer(model_config: TransformerConfig | HeadConfig, config: FinetuneConfig) -> Trainer:
    forward = _forward_function(model_config, config.adapter)
    pad_token_id = _pad_id(model_config)

    def loss(state, X, y):
        return optax.softmax_cross_entropy_with_integer_labels(forward(state, X), y).mean()

    labels = functools.partial(parameter_labels, method=config.method)
    main = optax.partition({"train": optax.adamw(config.learning_rate, weight_decay=config.weight_decay),
                            "frozen": optax.set_to_zero(), "alpha": optax.set_to_zero()}, labels)
    alpha = optax.partition({"alpha": optax.adam(config.alpha_learning_rate), "train": optax.set_to_zero(),
                             "frozen": optax.set_to_zero()}, labels)

    @jax.jit
    def train_step(state, opt_state, X, y):
        value, grads = jax.value_and_grad(loss)(state, X, y)
        updates, opt_state = main.update(grads, opt_state, state)
        return optax.apply_updates(state, updates), opt_state, value

    @jax.jit
    def alpha_step(state, opt_state, X, y):
        value, grads = jax.value_and_grad(loss)(state, X, y)
        updates, opt_state = alpha.update(grads, opt_state, state)
        return optax.apply_updates(state, updates), opt_state, value

    correct = _make_counter(model_config, dataclasses.replace(config.adapter, alpha_init=1.0))

    def accuracy(state, X, y, chunk: int = EVAL_CHUNK, multiple: int = WIDTH_MULTIPLE):
        """Mean accuracy, evaluated in chunks of `chunk` rows (the last one padded with a repeated row that never
        counts), so every size shares a compile; token rows are taken shortest first and each chunk is cut to its
        own width (`trim_padding` with `multiple`)."""
        X, y = np.asarray(X), np.asarray(y)
        order = np.arange(len(y))
        if pad_token_id is not None:
            order = np.argsort(np.sum(X != pad_token_id, axis=1), kind="stable")
        counts = []   # summed on the device: one transfer per call, not one per chunk
        for start in range(0, len(y), chunk):
            rows = order[start:start + chunk]
            labels = np.concatenate([y[rows], np.full(chunk - len(rows), -1)])   # padded rows never count
            rows = np.concatenate([rows, np.full(chunk - len(rows), rows[0])])
            counts.append(correct(state, trim_padding(X[rows], pad_token_id, multiple=multiple), labels))
        return int(sum(counts)) / len(y)

    return Trainer(labels, main, alpha, loss, train_step, alpha_step, accuracy)
