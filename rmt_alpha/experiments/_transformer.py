"""The transformer experiment: pre-train on a source domain, fine-tune on a few target samples with every method.

Protocol (theory/THEORY.md section 7). A small pre-norm encoder is pre-trained on `n_source` source reviews (cached
in the output directory as `pretrained_<hash>.npz`; the hash covers everything pre-training depends on). Before
pre-training, every sentiment word's token embedding gets `polarity_hint * prior_polarity * u` added, `u` a random
unit direction: the stand-in for what broad pre-training would know about unseen words (without it, new target
words share nothing with the source and all methods tie). For each sharing level and seed, target data are drawn
and split into train (`n_train`), held-out (`n_held_out`, seen **only** by alpha_lora's alpha optimizer), val
(`n_val`: early stopping and the alpha grid of "alpha_fixed") and test (`n_test`, evaluated once per selected
model). Paired seeds: within a seed every method gets the same target data, the same adapter initialisation and
the same batch order.

Outputs in `out`: `results.json` (every run), `table.md`, `accuracy_vs_sharing.png`, `alpha_per_layer.png`, and
`checkpoints/<method>_sharing<level>_seed<k>.npz` (the fine-tuned state, reloadable with `models.load_tree`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha._validation import check_count, check_positive_float
from rmt_alpha.data._synthetic_reviews import ReviewTask, make_reviews
from rmt_alpha.experiments._finetune_report import markdown_table, method_summaries
from rmt_alpha.nn._adapter_stats import alpha_statistics, parameter_counts
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._finetune import evaluate, init_state
from rmt_alpha.nn._methods import TRAINING_METHODS, FinetuneConfig
from rmt_alpha.nn._models import TransformerConfig
from rmt_alpha.nn._selection import LORA_MORE_DATA, fit_and_select, pretrain
from rmt_alpha.nn._trees import load_tree, save_tree


@dataclass(frozen=True)
class TransformerExperimentConfig:
    """Everything the transformer experiment depends on (defaults: the full run; `TransformerExperimentConfig.quick()`:
    smoke run).

    theory/THEORY.md section 7; `sharing` plays the part of the linear model's beta.

    Attributes:
        sharing: the sharing levels (fraction of target sentiment words shared with the source).
        flip_fraction: fraction of the shared words whose polarity is reversed in the target.
        seeds: paired seeds per sharing level.
        methods: fine-tuning methods (see `rmt_alpha.nn.TRAINING_METHODS`).
        alpha_grid: the scalars tried by "alpha_fixed" (one picked per seed on validation accuracy).
        task: the review generator's design (its `sharing` and `flip_fraction` are overridden per run).
        model: the encoder's `TransformerConfig`.
        n_source: source reviews for pre-training.
        pretrain_epochs: pre-training epochs.
        pretrain_batch_size: pre-training batch size.
        pretrain_learning_rate: pre-training peak learning rate.
        polarity_hint: norm of the polarity direction added to sentiment-word embeddings before pre-training.
        n_train: target training samples per seed.
        n_held_out: target held-out samples per seed (alpha_lora's alpha only; >= alpha_batch_size).
        n_val: target validation samples per seed.
        n_test: target test samples per seed.
        finetune: fine-tuning hyper-parameters shared by all methods (method-specific learning rates below).
        full_learning_rate: AdamW learning rate of "full".
        head_learning_rate: AdamW learning rate of "head_only".
        pretrain_seed: seed of pre-training (initialisation, data, order).
        data_control: also run LoRA trained on train + held-out (row "lora_more_data"; needs "lora" in
            `methods`): does alpha_lora gain from alpha or just from seeing the held-out samples?

    Raises:
        ValueError: when a field is out of its range (named in the message, with the value received).

    Example:
        >>> from rmt_alpha.experiments import TransformerExperimentConfig
        >>> TransformerExperimentConfig.quick().seeds
        1
    """

    sharing: tuple = (0.25, 0.75)
    flip_fraction: float = 0.25
    seeds: int = 5
    methods: tuple = TRAINING_METHODS
    alpha_grid: tuple = (0.5, 0.75, 1.0, 1.5)
    task: ReviewTask = ReviewTask()
    model: TransformerConfig = field(default_factory=lambda: TransformerConfig(
        vocab_size=ReviewTask().vocab_size, init_scale=0.1))
    n_source: int = 20000
    pretrain_epochs: int = 8
    pretrain_batch_size: int = 64
    pretrain_learning_rate: float = 3e-3
    polarity_hint: float = 0.5
    n_train: int = 256
    n_held_out: int = 64
    n_val: int = 256
    n_test: int = 2000
    finetune: FinetuneConfig = FinetuneConfig(adapter=AdapterConfig(rank=4, lora_alpha=8.0))
    full_learning_rate: float = 1e-3
    head_learning_rate: float = 1e-2
    pretrain_seed: int = 0
    data_control: bool = True

    def __post_init__(self):
        object.__setattr__(self, "sharing", tuple(float(s) for s in np.atleast_1d(self.sharing)))
        if not self.sharing:
            raise ValueError("sharing must list at least one level, got an empty list")
        for level in self.sharing:
            dataclasses.replace(self.task, sharing=level, flip_fraction=self.flip_fraction)  # range checks
        check_count("seeds", self.seeds)
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = [m for m in self.methods if m not in TRAINING_METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods must be a non-empty subset of {TRAINING_METHODS}, got {list(self.methods)}")
        object.__setattr__(self, "alpha_grid", tuple(float(a) for a in self.alpha_grid))
        if "alpha_fixed" in self.methods and not self.alpha_grid:
            raise ValueError("alpha_grid must hold at least one alpha when 'alpha_fixed' is run")
        if self.model.vocab_size < self.task.vocab_size:
            raise ValueError(f"model.vocab_size must be >= the task's vocabulary {self.task.vocab_size}, "
                             f"got {self.model.vocab_size}")
        for name in ("n_source", "pretrain_epochs", "pretrain_batch_size", "n_train", "n_val", "n_test"):
            check_count(name, getattr(self, name))
        check_count("n_held_out", self.n_held_out, minimum=self.finetune.alpha_batch_size)
        for name in ("pretrain_learning_rate", "full_learning_rate", "head_learning_rate"):
            check_positive_float(name, getattr(self, name))
        check_positive_float("polarity_hint", self.polarity_hint, allow_zero=True)

    @classmethod
    def quick(cls, **overrides) -> TransformerExperimentConfig:
        """A smoke run (under two minutes on two busy CPU cores).

        A one-block encoder (d_model 32), small pre-training, one seed, one sharing level, short fine-tuning (alpha
        stepped every 2 adapter steps, so that it moves within the few steps before early stopping). Compilation is
        most of its time.

        Args:
            **overrides: fields of `TransformerExperimentConfig` that replace the smoke run's settings.

        Returns:
            TransformerExperimentConfig: the smoke-run config.

        Example:
            >>> from rmt_alpha.experiments import TransformerExperimentConfig
            >>> TransformerExperimentConfig.quick(seeds=2).sharing
            (0.25,)
        """
        model = TransformerConfig(vocab_size=ReviewTask().vocab_size, d_model=32, d_mlp=64, num_layers=1,
                                  init_scale=0.1)
        settings = dict(sharing=(0.25,), seeds=1, model=model, n_source=2000, pretrain_epochs=2,
                        alpha_grid=(0.5, 1.0), n_test=500,
                        finetune=FinetuneConfig(adapter=AdapterConfig(rank=4, lora_alpha=8.0), max_epochs=3,
                                                patience=2, alpha_every=2))
        settings.update(overrides)
        return cls(**settings)

    def method_config(self, method: str, alpha_value: float = 1.0) -> FinetuneConfig:
        """The fine-tuning config of a method: its learning rate, and alpha for "alpha_fixed".

        Args:
            method: one of `rmt_alpha.nn.TRAINING_METHODS`.
            alpha_value: the fixed alpha ("alpha_fixed" only).

        Returns:
            FinetuneConfig: `finetune` with that method, learning rate and alpha value.

        Example:
            >>> from rmt_alpha.experiments import TransformerExperimentConfig
            >>> TransformerExperimentConfig().method_config("head_only").learning_rate
            0.01
        """
        return self.finetune.for_method(method, full_learning_rate=self.full_learning_rate,
                                        head_learning_rate=self.head_learning_rate, alpha_value=alpha_value)

    def pretraining_key(self) -> str:
        """A hash of everything pre-training depends on (names the cache file).

        Returns:
            str: 12 hexadecimal characters.
        """
        task = dataclasses.replace(self.task, sharing=0.0, flip_fraction=0.0)  # the source side only
        text = json.dumps([dataclasses.asdict(task), dataclasses.asdict(self.model), self.n_source,
                           self.pretrain_epochs, self.pretrain_batch_size, self.pretrain_learning_rate,
                           self.polarity_hint, self.pretrain_seed], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


CONTROL = LORA_MORE_DATA


def _row_names(config: TransformerExperimentConfig) -> tuple:
    """The methods, plus the data control when it is run."""
    control = config.data_control and "lora" in config.methods
    return config.methods + ((CONTROL,) if control else ())


class TransformerExperimentResult(NamedTuple):
    """Outcome of `run_transformer_experiment`.

    Attributes:
        runs: one dict per (sharing, seed, method): accuracies, steps, alpha statistics, wall time.
        summary: per (sharing, method) mean and standard error over seeds.
        paired: paired differences against LoRA, per sharing level.
        parameters: parameter counts (base, lora, alpha, head, alpha overhead over LoRA).
        source_accuracy: the pre-trained model's accuracy on fresh source reviews.
        files: the written files (table, results, figures).
    """

    runs: list
    summary: list
    paired: list
    parameters: dict
    source_accuracy: float
    files: dict


def pretrained_params(config: TransformerExperimentConfig, out: str, progress: bool = True) -> tuple[dict, float, bool]:
    """Load the cached pre-trained parameters from `out`, or pre-train and cache them.

    Args:
        config: the `TransformerExperimentConfig` (its pre-training fields name the cache file).
        out: the output folder holding `pretrained_<hash>.npz`.
        progress: show a progress bar while pre-training.

    Returns:
        tuple: `(params, source_accuracy, loaded)`, the parameters, their accuracy on 2000 fresh source reviews, and
        whether they came from the cache.
    """
    from rmt_alpha.nn._models import init_params

    path = os.path.join(out, f"pretrained_{config.pretraining_key()}.npz")
    source_test = make_reviews(2000, config.task, "source", random_state=config.pretrain_seed + 1)
    probe = FinetuneConfig(method="full")
    if os.path.exists(path):
        params, _ = load_tree(path)
        state = {"params": params, "adapters": {}}
        return params, evaluate(state, config.model, probe, *source_test), True
    key_init, key_train = jax.random.split(jax.random.key(config.pretrain_seed))
    params = init_params(key_init, config.model)
    direction = jax.random.normal(jax.random.fold_in(key_init, 1), (config.model.d_model,))
    direction = config.polarity_hint * direction / jnp.linalg.norm(direction)
    polarity = np.zeros(config.model.vocab_size)
    polarity[: config.task.vocab_size] = config.task.prior_polarity()
    params["embed"]["token"] = params["embed"]["token"] + jnp.asarray(polarity, jnp.float32)[:, None] * direction
    X, y = make_reviews(config.n_source, config.task, "source", random_state=config.pretrain_seed)
    params, _ = pretrain(key_train, config.model, X, y, epochs=config.pretrain_epochs,
                         batch_size=config.pretrain_batch_size, learning_rate=config.pretrain_learning_rate,
                         init_params=params, progress=progress)
    state = {"params": params, "adapters": {}}
    accuracy = evaluate(state, config.model, probe, *source_test)
    save_tree(path, params, model=dataclasses.asdict(config.model), source_accuracy=accuracy)
    return params, accuracy, False


def _target_splits(config: TransformerExperimentConfig, level_index: int, seed: int):
    task = dataclasses.replace(config.task, sharing=config.sharing[level_index], flip_fraction=config.flip_fraction)
    sizes = [config.n_train, config.n_held_out, config.n_val, config.n_test]
    X, y = make_reviews(sum(sizes), task, "target", random_state=[seed, level_index, 7])
    bounds = np.cumsum([0] + sizes)
    return [(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _summaries(runs: list, config: TransformerExperimentConfig) -> tuple[list, list]:
    summary, paired = [], []
    for level in config.sharing:
        rows = {method: [r for r in runs if r["sharing"] == level and r["method"] == method]
                for method in _row_names(config)}
        level_summary, level_paired = method_summaries({"sharing": level}, rows, lambda r: r["test_accuracy"])
        summary += level_summary
        paired += level_paired
    return summary, paired


def _table(result_summary, paired, parameters, source_accuracy, config) -> str:
    preamble = (f"Source accuracy of the pre-trained encoder: {source_accuracy:.4f}. Target: {config.n_train} "
                f"train, {config.n_held_out} held-out (alpha_lora's alpha only), {config.n_val} val, "
                f"{config.n_test} test; flip_fraction = {config.flip_fraction}; {config.seeds} paired seeds. "
                f"{CONTROL}: LoRA trained on train + held-out ({config.n_train + config.n_held_out} samples).")
    return markdown_table(preamble, "sharing", "{:.2f}", result_summary, paired, parameters,
                          "same seed: same data, initialisation, batch order")


def _figures(runs, summary, config, out) -> dict:
    """The accuracy-vs-sharing figure and, when alpha-LoRA ran, the learned-alpha statistics (rmt_alpha.plots)."""
    import matplotlib.pyplot as plt

    from rmt_alpha.plots import (
        plot_accuracy_vs_sharing,
        plot_alpha_statistics,
        save_figure,
    )

    ax = plot_accuracy_vs_sharing(summary, _row_names(config))
    ax.set_title(f"Fine-tuning methods vs domain sharing (flip fraction {config.flip_fraction})", wrap=True)
    files = {"accuracy_figure": save_figure(ax.figure, os.path.join(out, "accuracy_vs_sharing.png"))}
    plt.close(ax.figure)
    if any(run["method"] == "alpha_lora" for run in runs):
        ax = plot_alpha_statistics(runs)
        files["alpha_figure"] = save_figure(ax.figure, os.path.join(out, "alpha_per_layer.png"))
        plt.close(ax.figure)
    return files

def run_transformer_experiment(config: TransformerExperimentConfig, out: str, progress: bool = True
                               ) -> TransformerExperimentResult:
    """Pre-train (or load the cache), fine-tune every method over seeds and sharing levels, write the outputs.

    The protocol of the module docstring (theory/THEORY.md section 7).

    Args:
        config: the `TransformerExperimentConfig`.
        out: output folder (results.json, table.md, figures, checkpoints/, the pre-training cache).
        progress: show progress bars.

    Returns:
        TransformerExperimentResult: runs, summaries, paired differences, parameter counts, source accuracy and files.

    Example:
        >>> from rmt_alpha.experiments import TransformerExperimentConfig, run_transformer_experiment
        >>> run_transformer_experiment(TransformerExperimentConfig.quick(), "out/transformer")   # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    params, source_accuracy, loaded = pretrained_params(config, out, progress)
    runs = []
    jobs = [(i, seed) for i in range(len(config.sharing)) for seed in range(config.seeds)]
    bar = tqdm(total=len(jobs) * len(_row_names(config)), desc="fine-tuning", disable=not progress,
               file=sys.stderr)
    for level_index, seed in jobs:
        level = config.sharing[level_index]
        train, held_out, val, test = _target_splits(config, level_index, seed)
        key = jax.random.key(1000 + seed)  # paired: same adapters and batch order for every method
        for name in _row_names(config):
            started = time.perf_counter()
            best, method_config, method, alpha_value, training_samples = fit_and_select(
                key, params, config.model, name, config.method_config, train, held_out, val, config.alpha_grid)
            test_accuracy = evaluate(best.state, config.model, method_config, *test)   # the one test touch
            tag = f"{name}_sharing{level:.2f}_seed{seed}"
            save_tree(os.path.join(out, "checkpoints", tag + ".npz"), best.state, method=method, sharing=level,
                      seed=seed, alpha_value=alpha_value, training_samples=training_samples)
            runs.append({"method": name, "sharing": level, "seed": seed, "test_accuracy": test_accuracy,
                         "val_accuracy": best.val_accuracy, "best_epoch": best.best_epoch, "steps": best.steps,
                         "alpha_updates": len(best.alpha_steps), "steps_run": best.steps_run,
                         "alpha_updates_run": len(best.alpha_steps_run), "trainable": best.trainable,
                         "alpha_value": alpha_value if method == "alpha_fixed" else None,
                         "wall_time": time.perf_counter() - started,
                         "alpha": alpha_statistics(best.state["adapters"])})
            bar.update(1)
    bar.close()

    state = init_state(jax.random.key(0), params, config.method_config("alpha_lora"))
    counts = parameter_counts(params, state["adapters"])
    parameters = {"base": counts.base, "lora": counts.lora, "alpha": counts.alpha,
                  "alpha_overhead_over_lora": counts.alpha_overhead,
                  "head": int(sum(np.size(v) for v in jax.tree_util.tree_leaves(params["head"])))}
    summary, paired = _summaries(runs, config)
    files = _figures(runs, summary, config, out)
    files["table"] = os.path.join(out, "table.md")
    atomic_write(files["table"], _table(summary, paired, parameters, source_accuracy, config))
    files["results"] = os.path.join(out, "results.json")
    payload = {"config": dataclasses.asdict(config), "pretrained_loaded_from_cache": loaded,
               "source_accuracy": source_accuracy, "parameters": parameters, "summary": summary,
               "paired_vs_lora": paired, "runs": runs}
    atomic_write(files["results"], json.dumps(payload, indent=1, default=str))
    return TransformerExperimentResult(runs, summary, paired, parameters, source_accuracy, files)


__all__ = ["TransformerExperimentConfig", "TransformerExperimentResult", "pretrained_params",
           "run_transformer_experiment"]
