"""Pre-training and fine-tuning of the transformer classifier with optax (theory/THEORY.md section 7, Algorithm 1).

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
the shortest width of a ladder (16, 32, 64, ...) that keeps their real tokens (`trim_padding`): padding is masked, so
this changes the cost, not the result. The model is a
`TransformerConfig` (inputs: token ids) or a `HeadConfig` (inputs: the frozen encoder's pooled features, for the
frozen-encoder methods; `rmt_alpha.nn._heads`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rmt_alpha._validation import check_finite_float, check_positive_float, check_sample_count
from rmt_alpha.nn._adapters import AdapterConfig, adapted_params, adapter_paths, init_adapters
from rmt_alpha.nn._heads import HeadConfig, apply_head
from rmt_alpha.nn._models import TransformerConfig, apply

TRAINING_METHODS = ("head_only", "full", "lora", "alpha_fixed", "alpha_lora", "dora")
_ADAPTER_METHODS = ("lora", "alpha_fixed", "alpha_lora", "dora")


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

    Raises:
        ValueError: when a field is out of its range (named in the message, with the value received).
        TypeError: when `adapter` is not an `AdapterConfig`.

    Example:
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

    def __post_init__(self):
        if self.method not in TRAINING_METHODS:
            raise ValueError(f"method must be one of {TRAINING_METHODS}, got {self.method!r}")
        if not isinstance(self.adapter, AdapterConfig):
            raise TypeError(f"adapter must be an AdapterConfig, got {type(self.adapter).__name__}")
        check_positive_float("learning_rate", self.learning_rate)
        check_positive_float("weight_decay", self.weight_decay, allow_zero=True)
        check_positive_float("alpha_learning_rate", self.alpha_learning_rate)
        for name in ("batch_size", "max_epochs", "patience", "alpha_every", "alpha_batch_size"):
            check_sample_count(name, getattr(self, name))
        check_finite_float("alpha_value", self.alpha_value)
        kind = "dora" if self.method == "dora" else "alpha_lora"
        alpha_init = self.alpha_value if self.method == "alpha_fixed" else 1.0
        object.__setattr__(self, "adapter", dataclasses.replace(self.adapter, kind=kind, alpha_init=alpha_init))


class Trainer(NamedTuple):
    """The jitted pieces of a fine-tuning method, built by `make_trainer`.

    Attributes:
        labels: `state -> labels pytree` ("train", "alpha", "frozen"), for `optax.partition`.
        main: the optax transformation of the trained parameters (AdamW; alpha and frozen leaves set to zero).
        alpha: the optax transformation of alpha alone (Adam).
        loss: `(state, X, y) -> mean softmax cross-entropy`.
        train_step: `(state, opt_state, X, y) -> (state, opt_state, loss)`, one `main` step (alpha untouched).
        alpha_step: `(state, opt_state, X, y) -> (state, opt_state, loss)`, one `alpha` step on the given batch.
        accuracy: `(state, X, y) -> float`, evaluated in fixed-size chunks.
    """

    labels: Callable
    main: optax.GradientTransformation
    alpha: optax.GradientTransformation
    loss: Callable
    train_step: Callable
    alpha_step: Callable
    accuracy: Callable


class FinetuneResult(NamedTuple):
    """Outcome of `finetune_network`: the best-validation state and its history.

    Attributes:
        state: `{"params", "adapters"}` at the best validation epoch.
        val_accuracy: its validation accuracy.
        best_epoch: that epoch (1-based).
        epochs_run: epochs run before stopping.
        steps: the adapter steps in the returned state (those up to the end of the best epoch).
        alpha_steps: the adapter-step numbers after which alpha was updated, in the returned state (alpha_lora).
        steps_run, alpha_steps_run: the same over the whole run, epochs after the best one included.
        val_history: validation accuracy after each epoch.
        trainable: number of trained parameters (alpha included for alpha_lora).
        wall_time: seconds, compilation included.
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
        >>> state = {"params": {"head": {"kernel": np.ones((4, 2))}, "embed": {"token": np.ones((9, 4))}},
        ...          "adapters": {}}
        >>> trainable_count(state, "head_only"), trainable_count(state, "full")
        (8, 44)
    """
    labels = jax.tree_util.tree_leaves(parameter_labels(state, method))
    return int(sum(np.size(leaf) for leaf, label in zip(jax.tree_util.tree_leaves(state), labels)
                   if label != "frozen"))


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
    return X.astype(np.int32), y.astype(np.int32)


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
                           alpha_batch_size=1)
    if config.method in ("lora", "alpha_fixed"):
        # The adapter step of alpha_lora: alpha's label ("alpha" there, "frozen" here) maps to set_to_zero in the
        # adapters' optimizer either way, and alpha's value is state. LoRA simply never calls the alpha step.
        compiled_fields["method"] = "alpha_lora"
    return _make_trainer(model_config, dataclasses.replace(config, **compiled_fields))


def trim_padding(X, pad_token_id: int | None, *, shortest: int = 16) -> np.ndarray:
    """Token rows cut to the smallest width of the ladder `shortest, 2 shortest, 4 shortest, ...` (capped at X's
    own width) that keeps every non-pad token: the trailing padding is masked out of attention and pooling, so
    the logits are those of the full width, at a cost proportional to the tokens kept. The ladder bounds the
    number of compiled shapes. Feature rows (`pad_token_id` None) are returned as they are.
    """
    X = np.asarray(X)
    if pad_token_id is None or X.ndim != 2 or X.shape[1] <= shortest:
        return X
    used = np.flatnonzero(np.any(X != pad_token_id, axis=0))
    longest = int(used[-1]) + 1 if used.size else 1
    width = shortest
    while width < longest:
        width *= 2
    return X[:, :min(width, X.shape[1])]


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


@functools.lru_cache(maxsize=None)
def _make_counter(model_config, adapter_config: AdapterConfig) -> Callable:
    """The jitted count of correct predictions, shared by every method with the same forward (alpha and the
    trained parts are state, not part of the compiled function)."""
    forward = _forward_function(model_config, adapter_config)

    @jax.jit
    def correct(state, X, y):
        return jnp.sum(jnp.argmax(forward(state, X), axis=-1) == y)

    return correct


@functools.lru_cache(maxsize=None)
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

    def accuracy(state, X, y, chunk: int = 64):
        """Mean accuracy, evaluated in fixed-size chunks (the last one padded) so every size shares a compile;
        token rows are taken shortest first and each chunk is cut to its own width (`trim_padding`)."""
        X, y = np.asarray(X), np.asarray(y)
        order = np.arange(len(y))
        if pad_token_id is not None:
            order = np.argsort(np.sum(X != pad_token_id, axis=1), kind="stable")
        total = 0
        for start in range(0, len(y), chunk):
            rows = order[start:start + chunk]
            labels = np.concatenate([y[rows], np.full(chunk - len(rows), -1)])   # padded rows never count
            rows = np.concatenate([rows, np.full(chunk - len(rows), rows[0])])
            total += int(correct(state, trim_padding(X[rows], pad_token_id), labels))
        return total / len(y)

    return Trainer(labels, main, alpha, loss, train_step, alpha_step, accuracy)


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
            batch = (trim_padding(X_train[rows], pad_token_id), y_train[rows])
            state, opt_state, _ = trainer.train_step(state, opt_state, *batch)
            step += 1
            if callback is not None:
                callback("train", step, state, batch)
            if uses_alpha and step % config.alpha_every == 0:
                rows = alpha_rng.choice(len(y_held), size=config.alpha_batch_size, replace=False)
                batch = (trim_padding(X_held[rows], pad_token_id), y_held[rows])
                state, alpha_opt_state, _ = trainer.alpha_step(state, alpha_opt_state, *batch)
                alpha_steps.append(step)
                if callback is not None:
                    callback("alpha", step, state, batch)
        accuracy = float(trainer.accuracy(state, X_val, y_val))
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
    return float(trainer.accuracy(state, X, y))


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
    epochs, batch_size = check_sample_count("epochs", epochs), check_sample_count("batch_size", batch_size)
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
    for _ in tqdm(range(epochs), desc="pre-training", disable=not progress, leave=False):
        order, total_loss = rng.permutation(len(y)), 0.0
        for index in range(batches):
            rows = order[index * batch_size: (index + 1) * batch_size]
            params, opt_state, value = step(params, opt_state, X[rows], y[rows])
            total_loss += float(value)
        losses.append(total_loss / batches)
    return params, losses


__all__ = ["FinetuneConfig", "FinetuneResult", "TRAINING_METHODS", "Trainer", "evaluate", "finetune_network", "init_state",
           "make_trainer", "parameter_labels", "pretrain", "trainable_count"]


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
