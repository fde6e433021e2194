"""alpha-LoRA inside a real encoder (all-MiniLM-L6-v2) on real text transfer pairs, with paired seeds
(theory/THEORY.md section 7; the linear model's prediction for the same pair and n is section 8's).

The pre-trained model of a pair is MiniLM with a **source head**: the ridge classifier `w_s` of the linear theory,
fitted on every source row's standardised mean-pooled features (gamma_s = `source_gamma`), its logit scale fitted by
a one-feature logistic regression on the source, and folded into a linear layer on the raw features so that the
target rows are standardised with the split's unlabelled rows (as the linear protocol does):

    logit_+ - logit_- = c * w_s . (x - m_t) / s_t,        head/kernel = (c / 2) [-w_s / s_t, +w_s / s_t].

Per seed the target domain is cut into train (`n_train`), held-out (`n_held_out`, seen only by alpha's optimizer),
validation (`n_val`, early stopping), an unlabelled pool (`pool_size`, the standardisation only) and test
(`n_test`), all disjoint; the test rows are touched once per fitted model. Within a seed every method gets the same
rows, the same adapter initialisation and the same batch order (paired seeds).

Methods (`METHODS`): on the frozen encoder, trained on its pooled features (`rmt_alpha.nn.HeadConfig`, the same
computation as inside the network):
    head_only     the head's kernel and bias (AdamW from the source head).
    head_lora     the source head kept frozen as W0, plus a full-rank update (rank 2 = the head's width) and the
                  bias: W0 + B A. The linear model's alpha = 1 (the ridge pulls towards w_s; here weight decay pulls
                  the update towards 0, i.e. the head towards W0).
    head_alpha    the same with alpha (one per class logit; their mean multiplies the source score) trained by its
                  own optimizer on the held-out batch every T steps: alpha on the pre-trained head alone, the
                  linear model's exact analogue.
inside the encoder (token ids; adapters on the attention query and value of every layer, head trained):
    lora, alpha_lora (Algorithm 1), dora.
and the ridge head of the linear theory on the frozen features, fitted in closed form through `rmt_alpha.linear`
(`rmt_alpha.experiments._frozen_ridge`): frozen_ridge_alpha1 (alpha = 1) and frozen_ridge_choose_alpha
(`choose_alpha`'s alpha, the seed's pool as its unlabelled rows).
Data control: alpha_lora's optimizer sees the held-out rows' labels, which LoRA never sees; lora_more_data is LoRA
trained on the training and the held-out rows together, so that alpha_lora - lora_more_data is alpha's effect
without that extra data (the head methods have no such control: head_alpha gains nothing over head_lora anyway).
Nulls (step 3): head_alpha_null and alpha_lora_null are the same runs with the held-out batch's labels shuffled
(so alpha is trained on noise): what alpha's movement looks like without a signal.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha._validation import check_count, check_positive_float
from rmt_alpha.experiments._frozen_ridge import FROZEN_METHODS, frozen_ridge
from rmt_alpha.experiments._preprocessing import fit_standardization
from rmt_alpha.linear import fit_ridge
from rmt_alpha.nn._adapter_stats import alpha_statistics, parameter_counts
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._finetune import evaluate, finetune_network, init_state
from rmt_alpha.nn._heads import HeadConfig
from rmt_alpha.nn._methods import FinetuneConfig, trainable_count
from rmt_alpha.nn._selection import LORA_MORE_DATA
from rmt_alpha.nn._step import make_trainer

QUERY_VALUE = ("blocks/*/attn/query/kernel", "blocks/*/attn/value/kernel")
HEAD_KERNEL = ("head/kernel",)
HEAD_METHODS = ("head_only", "head_lora", "head_alpha", "head_alpha_null")
ENCODER_METHODS = ("lora", "alpha_lora", "alpha_lora_null", "dora", LORA_MORE_DATA)
METHODS = HEAD_METHODS + ENCODER_METHODS + FROZEN_METHODS
NULLS = {"head_alpha_null": "head_alpha", "alpha_lora_null": "alpha_lora"}
COMPARISONS = (("head_alpha", "head_lora"), ("alpha_lora", "lora"), ("alpha_lora", LORA_MORE_DATA), ("dora", "lora"),
               ("lora", "head_only"), ("head_lora", "head_only"), ("head_alpha", "head_alpha_null"),
               ("alpha_lora", "alpha_lora_null"), ("frozen_ridge_choose_alpha", "frozen_ridge_alpha1"),
               ("frozen_ridge_choose_alpha", "lora"))


@dataclass(frozen=True)
class FinetuneSettings:
    """Everything a fine-tuning pair run depends on besides the model and the data.

    Attributes:
        seeds: paired seeds per pair.
        methods: a subset of `METHODS`.
        n_train: labelled target rows per seed that train the model.
        n_held_out: held-out target rows per seed, seen only by alpha's optimizer.
        n_val: validation rows per seed (early stopping).
        n_test: test rows per seed.
        pool_size: unlabelled target rows per seed, which join the train, held-out and validation rows (never the
            test rows) to standardise the target features; the five sets are disjoint.
        max_length: tokens per text (the features of the head methods are embedded with the same truncation).
        source_gamma: ridge strength of the source head.
        finetune: shared settings (adapters on query/value, rank 8, lora_alpha 8; AdamW; alpha's Adam, every
            `alpha_every` steps, on `alpha_batch_size` held-out rows).
        head_learning_rate: AdamW learning rate of the head methods.
        head_max_epochs: epochs at most of the head methods (they run on the frozen features, so they can afford
            the epochs alpha needs to travel: Adam moves alpha by about `alpha_learning_rate` per update).
        head_patience: early-stopping patience (epochs) of the head methods.
    """

    seeds: int = 10
    methods: tuple = METHODS
    n_train: int = 50
    n_held_out: int = 50
    n_val: int = 50
    n_test: int = 400
    pool_size: int = 400
    max_length: int = 64
    source_gamma: float = 1.0
    finetune: FinetuneConfig = FinetuneConfig(
        adapter=AdapterConfig(targets=QUERY_VALUE, rank=8, lora_alpha=8.0), learning_rate=1e-3, batch_size=10,
        max_epochs=4, patience=2, alpha_every=2, alpha_batch_size=10, alpha_learning_rate=0.05)
    head_learning_rate: float = 1e-2
    head_max_epochs: int = 30
    head_patience: int = 5

    def __post_init__(self):
        check_count("seeds", self.seeds)
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {list(self.methods)}")
        for name in ("n_train", "n_val", "n_test", "pool_size"):
            check_count(name, getattr(self, name), minimum=2)
        check_count("n_held_out", self.n_held_out, minimum=self.finetune.alpha_batch_size)
        if self.n_train < self.finetune.batch_size:
            raise ValueError(f"n_train must be >= the batch size {self.finetune.batch_size}, got {self.n_train}")
        check_count("max_length", self.max_length, minimum=8)
        check_positive_float("source_gamma", self.source_gamma)
        check_positive_float("head_learning_rate", self.head_learning_rate)
        check_count("head_max_epochs", self.head_max_epochs)
        check_count("head_patience", self.head_patience)

    def rows(self) -> int:
        """The target rows one seed needs: train, held-out, validation, pool and test together."""
        return self.n_train + self.n_held_out + self.n_val + self.pool_size + self.n_test

    def method_config(self, method: str) -> FinetuneConfig:
        """The `FinetuneConfig` of one of `METHODS` (theory/THEORY.md section 7 for the alpha methods).

        The head methods get a rank-2 adapter on "head/kernel" (a trained alpha rescales the bias too), the head's
        learning rate and early stopping; the encoder methods keep `finetune`'s adapter and schedule. A null gets its
        real method's config (the label shuffling is the caller's).

        Args:
            method: one of `METHODS` but the frozen ridge methods (fitted in closed form, no `FinetuneConfig`).

        Returns:
            FinetuneConfig: `finetune` with its `method` set to the training kind ("head_only", "lora", "alpha_lora"
            or "dora").
        """
        if method in FROZEN_METHODS:
            raise ValueError(f"method must be a trained method of {METHODS}, got the closed-form {method!r}")
        base = self.finetune
        if method in HEAD_METHODS:
            head = AdapterConfig(targets=HEAD_KERNEL, rank=2, lora_alpha=2.0, rescale_bias=True)
            kind = {"head_only": "head_only", "head_lora": "lora"}.get(method, "alpha_lora")
            return dataclasses.replace(base, method=kind, adapter=head, learning_rate=self.head_learning_rate,
                                       max_epochs=self.head_max_epochs, patience=self.head_patience)
        return dataclasses.replace(base, method={**NULLS, LORA_MORE_DATA: "lora"}.get(method, method))


def source_head(source_X, source_y, gamma: float) -> tuple[np.ndarray, float]:
    """The source classifier of the linear theory and its logit scale: `w_s` (ridge on the standardised source
    features, `rmt_alpha.linear.fit_ridge`) and `c`, the slope of a one-feature logistic regression of
    the labels on `w_s . x` over the source rows (so that the head is calibrated on its own domain).

    Returns:
        `(w_s (d,), c)` with w_s in standardised source coordinates.
    """
    import sklearn.linear_model

    standardised = fit_standardization(source_X).apply(source_X)
    w_s = fit_ridge(standardised, source_y, gamma)
    score = standardised @ w_s
    logistic = sklearn.linear_model.LogisticRegression(C=1e4).fit(score[:, None], source_y > 0)
    return w_s, float(logistic.coef_[0, 0])


def head_params(w_s, scale: float, unlabelled_X) -> dict:
    """The source head as a two-class linear layer on raw features, standardised with the target's unlabelled rows:
    `kernel = (c / 2) [-v, v]`, `bias = (c / 2) [v . m, -v . m]`, `v = w_s / s_t` (module docstring)."""
    standardization = fit_standardization(unlabelled_X)
    v = np.asarray(w_s) / standardization.scale
    offset = float(v @ standardization.mean)
    kernel = 0.5 * scale * np.stack([-v, v], axis=1)
    bias = 0.5 * scale * np.array([offset, -offset])
    return {"kernel": jax.numpy.asarray(kernel, np.float32), "bias": jax.numpy.asarray(bias, np.float32)}


def split_rows(n_rows: int, settings: FinetuneSettings, seed: int, pair_index: int = 0) -> dict:
    """Disjoint row indices of the target domain for one seed: train, held_out, val, pool, test."""
    if settings.rows() > n_rows:
        raise ValueError(f"the target domain has {n_rows} rows, fewer than the {settings.rows()} one seed needs "
                         f"(n_train + n_held_out + n_val + pool_size + n_test)")
    order = np.random.default_rng([seed, pair_index, 15]).permutation(n_rows)
    sizes = {"train": settings.n_train, "held_out": settings.n_held_out, "val": settings.n_val,
             "pool": settings.pool_size, "test": settings.n_test}
    bounds = np.cumsum([0] + list(sizes.values()))
    return {name: order[a:b] for name, a, b in zip(sizes, bounds[:-1], bounds[1:])}


def _labels(y) -> np.ndarray:
    return (np.asarray(y) > 0).astype(np.int32)


def _memory(trainer, state, config, X, y) -> dict:
    """XLA's own account of one adapter step (bytes): arguments (parameters, optimizer state, batch), outputs and
    temporaries (activations kept for the backward pass), from the compiled step's memory analysis."""
    try:
        opt_state = trainer.main.init(state)
        analysis = trainer.train_step.lower(state, opt_state, X, y).compile().memory_analysis()
        return {"argument_bytes": int(analysis.argument_size_in_bytes), "output_bytes":
                int(analysis.output_size_in_bytes), "temp_bytes": int(analysis.temp_size_in_bytes)}
    except (AttributeError, NotImplementedError, TypeError):    # a backend without the analysis
        return {}


class PairInputs(NamedTuple):
    """What every seed of a pair shares (`pair_inputs`).

    Attributes:
        source: the source `Domain` of encoder features.
        target: the target `Domain` of encoder features.
        w_s: (d,) the source ridge head in standardised source coordinates (`source_head`).
        scale: its logit scale c.
        tokens: (N, max_length) int32 token ids of the target texts, padded to `max_length`.
        y: (N,) int32 target labels in {0, 1}.
    """

    source: object
    target: object
    w_s: np.ndarray
    scale: float
    tokens: np.ndarray
    y: np.ndarray


class SeedInputs(NamedTuple):
    """What every method of a seed shares (`seed_inputs`): the same rows, source head, shuffled held-out labels and
    key (adapter initialisation and batch order), so that the methods are paired.

    Attributes:
        seed: the seed.
        rows: {"train", "held_out", "val", "pool", "test"}: disjoint row indices (`split_rows`).
        head: the source head as a linear layer on raw features (`head_params`).
        shuffled: the held-out rows in shuffled order (the nulls' labels).
        key: the JAX key of every method's run.
    """

    seed: int
    rows: dict
    head: dict
    shuffled: np.ndarray
    key: object


def pair_inputs(model, source, target, target_texts, settings: FinetuneSettings) -> PairInputs:
    """The source head and the target's tokens, once per pair (every seed uses them).

    Args:
        model: the `Pretrained` MiniLM (`feature_model`).
        source: the source `Domain` of encoder features.
        target: the target `Domain` of encoder features (row-aligned with `target_texts`).
        target_texts: the target's texts.
        settings: `FinetuneSettings` (its `source_gamma` and `max_length`).

    Returns:
        PairInputs.
    """
    from rmt_alpha.nn._pretrained import tokenize

    w_s, scale = source_head(source.X, source.y, settings.source_gamma)
    tokens = tokenize(model, target_texts, max_length=settings.max_length, width=settings.max_length)
    return PairInputs(source, target, w_s, scale, tokens, _labels(target.y))


def seed_inputs(pair: PairInputs, settings: FinetuneSettings, seed: int, pair_index: int = 0) -> SeedInputs:
    """One seed's rows, source head, shuffled held-out rows and key; they depend on the seed, the pair index and the
    settings' row counts alone, so a seed run again (in another process, on another machine) gets the same ones."""
    rows = split_rows(len(pair.y), settings, seed, pair_index)
    unlabelled = pair.target.X[np.concatenate([rows["train"], rows["held_out"], rows["val"], rows["pool"]])]
    shuffled = np.random.default_rng([seed, pair_index, 16]).permutation(rows["held_out"])
    return SeedInputs(seed, rows, head_params(pair.w_s, pair.scale, unlabelled), shuffled,
                      jax.random.key(1000 + seed))


def _network_inputs(model, pair: PairInputs, seeded: SeedInputs, method: str):
    """The model config, parameters and inputs of a trained method: the head alone on the pooled features, or
    MiniLM with the source head on the tokens."""
    if method in HEAD_METHODS:
        return HeadConfig.of(model.config), {"head": seeded.head}, np.asarray(pair.target.X, np.float32)
    return model.config, {**model.params, "head": seeded.head}, pair.tokens


def run_method(model, pair: PairInputs, seeded: SeedInputs, method: str, settings: FinetuneSettings, *,
               callback=None) -> dict:
    """One method on one seed of a pair: the run record (test and validation accuracy, steps, alpha updates, the
    learned alphas, trainable parameters and seconds).

    Args:
        model: the `Pretrained` MiniLM (`feature_model`).
        pair: `pair_inputs` of the pair.
        seeded: `seed_inputs` of the seed.
        method: one of `settings.methods`.
        settings: `FinetuneSettings`.
        callback: passed to `finetune_network` (trained methods only), e.g. to time the steps.

    Returns:
        dict: source, target, seed, method, test_accuracy, val_accuracy, best_epoch, epochs_run, steps,
        alpha_updates, steps_run, alpha_updates_run, trainable, wall_time, alpha (per adapted weight: mean, std,
        min, max), head_alpha; the frozen ridge methods add their alpha and choose_alpha's estimate, reason and theory.
    """
    rows, y = seeded.rows, pair.y
    record = {"source": pair.source.name, "target": pair.target.name, "seed": seeded.seed, "method": method}
    if method in FROZEN_METHODS:
        fitted = frozen_ridge(pair.source, pair.target, rows, method, source_gamma=settings.source_gamma)
        return {**record, "test_accuracy": fitted["test_accuracy"], "val_accuracy": fitted["val_accuracy"],
                "best_epoch": 0, "epochs_run": 0, "steps": 0, "alpha_updates": 0, "steps_run": 0,
                "alpha_updates_run": 0, "trainable": fitted["trainable"], "wall_time": fitted["wall_time"],
                "alpha": {}, "head_alpha": None, "frozen_alpha": fitted["alpha"],
                "alpha_estimate": fitted["alpha_estimate"], "choice_reason": fitted["choice_reason"],
                "choice_theory": fitted["choice_theory"]}
    config = settings.method_config(method)
    model_config, params, X = _network_inputs(model, pair, seeded, method)
    held_labels = y[seeded.shuffled] if method in NULLS else y[rows["held_out"]]
    trained = np.concatenate([rows["train"], rows["held_out"]]) if method == LORA_MORE_DATA else rows["train"]
    started = time.perf_counter()
    result = finetune_network(seeded.key, params, model_config, config, (X[trained], y[trained]),
                              (X[rows["val"]], y[rows["val"]]),
                              held_out=(X[rows["held_out"]], held_labels) if config.method == "alpha_lora" else None,
                              callback=callback)
    test_accuracy = evaluate(result.state, model_config, config, X[rows["test"]], y[rows["test"]])
    alphas = alpha_statistics(result.state["adapters"])
    return {**record, "test_accuracy": test_accuracy, "val_accuracy": result.val_accuracy,
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "steps": result.steps,
            "alpha_updates": len(result.alpha_steps), "steps_run": result.steps_run,
            "alpha_updates_run": len(result.alpha_steps_run), "trainable": result.trainable,
            "wall_time": time.perf_counter() - started, "alpha": alphas,
            "head_alpha": alphas["head/kernel"]["mean"] if "head/kernel" in alphas else None}


def method_resources(model, pair: PairInputs, seeded: SeedInputs, method: str, settings: FinetuneSettings) -> dict:
    """A method's size and step memory: trainable, base, LoRA, alpha and magnitude parameter counts and XLA's
    account of one compiled step (the frozen ridge methods: the p weights of the head, plus alpha when chosen)."""
    if method in FROZEN_METHODS:
        p = pair.target.X.shape[1]
        trainable = p + (method == "frozen_ridge_choose_alpha")
        return {"trainable": trainable, "base_parameters": 0, "lora_parameters": 0,
                "alpha_parameters": int(method == "frozen_ridge_choose_alpha"), "magnitude_parameters": 0}
    config = settings.method_config(method)
    model_config, params, X = _network_inputs(model, pair, seeded, method)
    state = init_state(seeded.key, params, config)
    batch = seeded.rows["train"][: config.batch_size]
    counts = parameter_counts(params, state["adapters"])
    return {"trainable": trainable_count(state, config.method),
            **_memory(make_trainer(model_config, config), state, config, X[batch], pair.y[batch]),
            "base_parameters": counts.base, "lora_parameters": counts.lora, "alpha_parameters": counts.alpha,
            "magnitude_parameters": counts.magnitude}


def run_pair(model, source, target, target_texts, settings: FinetuneSettings, *, pair_index: int = 0,
             store=None, bar=None, resources: dict | None = None) -> tuple[list, dict]:
    """Every method over the paired seeds on one source -> target pair.

    Args:
        model: the `Pretrained` MiniLM (its config set to mean pooling, no pooler: `feature_model`).
        source: the source `Domain` of encoder features (every row fits the source head).
        target: the target `Domain` of encoder features (X: the frozen features of `target_texts`).
        target_texts: the target's texts, row-aligned with `target`.
        settings: `FinetuneSettings`.
        pair_index: separates the splits of different pairs.
        store: None, or a `UnitStore` keeping each seed's runs as they are done (a run started again resumes; each
            seed's rows, initialisation and batch order depend on the seed alone).
        bar: a tqdm bar (advanced per method run, or per seed read back from `store`).
        resources: methods already measured (their step memory is not compiled again).

    Returns:
        `(runs, resources)`: one dict per (seed, method) run, and per method its trainable parameter count and the
        compiled step's memory.
    """
    pair = pair_inputs(model, source, target, target_texts, settings)
    runs, resources = [], dict(resources or {})

    def one_seed(seed: int) -> tuple[list, dict]:
        seeded = seed_inputs(pair, settings, seed, pair_index)
        seed_runs, measured = [], {}
        for method in settings.methods:
            seed_runs.append(run_method(model, pair, seeded, method, settings))
            if method not in resources and method not in measured:
                measured[method] = method_resources(model, pair, seeded, method, settings)
            if bar is not None:
                bar.update(1)
        return seed_runs, measured

    for seed in range(settings.seeds):
        if store is None:
            seed_runs, measured = one_seed(seed)
        else:
            loaded = store.loaded
            seed_runs, measured = store(f"finetune_{pair_index}_{source.name}_{target.name}_{seed}",
                                        functools.partial(one_seed, seed))
            if bar is not None and store.loaded > loaded:
                bar.update(len(settings.methods))
        runs += seed_runs
        resources = {**measured, **resources}
    return runs, resources


__all__ = [
    "COMPARISONS",
    "ENCODER_METHODS",
    "FROZEN_METHODS",
    "HEAD_METHODS",
    "METHODS",
    "NULLS",
    "QUERY_VALUE",
    "FinetuneSettings",
    "PairInputs",
    "SeedInputs",
    "head_params",
    "method_resources",
    "pair_inputs",
    "run_method",
    "run_pair",
    "seed_inputs",
    "source_head",
    "split_rows",
]
