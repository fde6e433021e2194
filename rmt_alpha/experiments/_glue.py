"""alpha-LoRA on GLUE with a pre-trained BERT/RoBERTa checkpoint (the setting of the alpha-LoRA paper's Table 2).

Protocol, per seed (paired: within a seed every method gets the same splits, adapter initialisation, head
initialisation and batch order):
    train.tsv is shuffled and carved into held-out (`held_out_fraction`, seen **only** by alpha_lora's alpha
    optimizer), validation (`val_fraction`, at most `max_val` rows: early stopping and the alpha grid of
    "alpha_fixed") and the training rest (optionally cut to `max_train`).
    The GLUE dev file(s) are the test sets (GLUE's test labels are not public): evaluated once per selected model,
    never used for selection. MNLI reports both dev_matched and dev_mismatched.
Adapters on the attention query and value (rank 8, `lora_alpha` 8, as LoRA's roberta-base GLUE runs), the
classification head trained, alpha updated on a held-out batch every T = `alpha_every` steps (Algorithm 1).

Differences from the paper's PyTorch runs, stated: no dropout (the project's encoder is deterministic), a
constant learning rate (no warmup/decay schedule), sequences truncated to `max_length` tokens.

Outputs in `out`: `results.json` (every run), `table.md`, `checkpoints/<task>_<method>_seed<k>.npz` (the adapters
and the trained parameters only, reloadable with `models.load_tree`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha._validation import check_count, check_positive_float, describe_value
from rmt_alpha.data._glue import read_task, task_spec
from rmt_alpha.experiments._finetune_report import markdown_table, method_summaries
from rmt_alpha.nn._adapter_stats import alpha_statistics, parameter_counts
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._finetune import evaluate, init_state
from rmt_alpha.nn._methods import TRAINING_METHODS, FinetuneConfig, parameter_labels
from rmt_alpha.nn._pretrained import init_head, load_pretrained, tokenize
from rmt_alpha.nn._selection import LORA_MORE_DATA, fit_and_select
from rmt_alpha.nn._trees import flatten_tree, save_tree, unflatten_tree

QUERY_VALUE = ("blocks/*/attn/query/kernel", "blocks/*/attn/value/kernel")
CONTROL = LORA_MORE_DATA


@dataclass(frozen=True)
class GlueConfig:
    """Everything a GLUE run depends on besides the checkpoint and the data (theory/THEORY.md section 7).

    Attributes:
        task: "mnli", "qnli", "mrpc", "rte", "sst2" or "qqp".
        methods: fine-tuning methods (`rmt_alpha.nn.TRAINING_METHODS`).
        seeds: paired seeds.
        max_length: tokens per (truncated) sentence pair, special tokens included.
        held_out_fraction: fraction of train.tsv held out for alpha_lora's alpha, in (0, 0.5).
        val_fraction: fraction of train.tsv for validation, in (0, 0.5).
        max_val: cap on the validation rows.
        max_train: cap on the training rows after carving (None: all).
        finetune: shared fine-tuning settings (adapters on query/value, rank 8, lora_alpha 8, AdamW 5e-4,
            batch 16; alpha: Adam, every `alpha_every` steps, on `alpha_batch_size` held-out rows).
        alpha_grid: the scalars tried by "alpha_fixed" (picked per seed on validation accuracy).
        full_learning_rate: AdamW learning rate of "full".
        head_learning_rate: AdamW learning rate of "head_only".
        data_control: also run LoRA on train + held-out (row "lora_more_data"; needs "lora").

    Raises:
        ValueError: when a field is out of its range (named in the message, with the value received).
        TypeError: when `finetune` is not a `FinetuneConfig`.

    Example:
        >>> from rmt_alpha.experiments import GlueConfig
        >>> GlueConfig(task="SST-2", methods=("lora",)).task
        'sst2'
    """

    task: str = "rte"
    methods: tuple = ("lora", "alpha_lora")
    seeds: int = 3
    max_length: int = 128
    held_out_fraction: float = 0.05
    val_fraction: float = 0.1
    max_val: int = 2000
    max_train: int | None = None
    finetune: FinetuneConfig = FinetuneConfig(
        adapter=AdapterConfig(targets=QUERY_VALUE, rank=8, lora_alpha=8.0), learning_rate=5e-4, batch_size=16,
        max_epochs=10, patience=3, alpha_every=10, alpha_batch_size=16)
    alpha_grid: tuple = (0.5, 1.0, 1.5)
    full_learning_rate: float = 2e-5
    head_learning_rate: float = 1e-3
    data_control: bool = False

    def __post_init__(self):
        task_spec(self.task)
        object.__setattr__(self, "task", str(self.task).lower().replace("-", ""))
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = [m for m in self.methods if m not in TRAINING_METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods must be a non-empty subset of {TRAINING_METHODS}, got {list(self.methods)}")
        check_count("seeds", self.seeds)
        check_count("max_length", self.max_length, minimum=2)
        check_count("max_val", self.max_val)
        if self.max_train is not None:
            check_count("max_train", self.max_train)
        for name in ("held_out_fraction", "val_fraction"):
            if not 0 < check_positive_float(name, getattr(self, name)) < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5), got {describe_value(getattr(self, name))}")
        object.__setattr__(self, "alpha_grid", tuple(float(a) for a in self.alpha_grid))
        if "alpha_fixed" in self.methods and not self.alpha_grid:
            raise ValueError("alpha_grid must hold at least one alpha when 'alpha_fixed' is run")
        if not isinstance(self.finetune, FinetuneConfig):
            raise TypeError(f"finetune must be a FinetuneConfig, got {type(self.finetune).__name__}")
        for name in ("full_learning_rate", "head_learning_rate"):
            check_positive_float(name, getattr(self, name))

    def method_config(self, method: str, alpha_value: float = 1.0) -> FinetuneConfig:
        """The fine-tuning config of a method: its learning rate, and alpha for "alpha_fixed".

        Args:
            method: one of `rmt_alpha.nn.TRAINING_METHODS`.
            alpha_value: the fixed alpha ("alpha_fixed" only).

        Returns:
            FinetuneConfig: `finetune` with that method, learning rate and alpha value.

        Example:
            >>> from rmt_alpha.experiments import GlueConfig
            >>> GlueConfig().method_config("full").learning_rate
            2e-05
        """
        return self.finetune.for_method(method, full_learning_rate=self.full_learning_rate,
                                        head_learning_rate=self.head_learning_rate, alpha_value=alpha_value)

    def row_names(self) -> tuple:
        """The table's rows: the methods, plus the data control when it is run.

        Returns:
            tuple of str.
        """
        return self.methods + ((CONTROL,) if self.data_control and "lora" in self.methods else ())


class GlueResult(NamedTuple):
    """Outcome of `run_glue`.

    Attributes:
        runs: one dict per (seed, method): accuracies, steps, alpha statistics, wall time.
        summary: per (test set, method) mean and standard error over seeds.
        paired: paired differences against LoRA, per test set.
        parameters: parameter counts (base, lora, alpha, head, alpha overhead over LoRA).
        sizes: the train / held-out / validation row counts.
        files: the written files (table, results).
    """

    runs: list
    summary: list
    paired: list
    parameters: dict
    sizes: dict
    files: dict


def encode_task(model, splits: dict, max_length: int) -> dict:
    """Token ids and labels of every split, padded to one common width L.

    Args:
        model: the loaded `Pretrained` model (its tokenizer and pad token).
        splits: `{name: GlueSplit}` (`read_task`).
        max_length: tokens per (truncated) sentence pair.

    Returns:
        dict: `{name: (token ids (n, L), labels (n,))}`.
    """
    encoded = {name: tokenize(model, split.first, split.second, max_length) for name, split in splits.items()}
    width = max(ids.shape[1] for ids in encoded.values())
    return {name: (np.pad(ids, ((0, 0), (0, width - ids.shape[1])), constant_values=model.config.pad_token_id),
                   splits[name].labels) for name, ids in encoded.items()}


def carve_train(n: int, config: GlueConfig, seed: int) -> dict:
    """Row indices of train.tsv for held-out, validation and training, from a seeded permutation.

    Args:
        n: number of rows of train.tsv.
        config: the `GlueConfig` (fractions, caps, batch sizes).
        seed: the paired seed.

    Returns:
        dict: `{"held_out": rows, "val": rows, "train": rows}`, disjoint integer arrays.

    Raises:
        ValueError: when too few rows remain for one training batch.

    Example:
        >>> from rmt_alpha.experiments import GlueConfig
        >>> from rmt_alpha.experiments._glue import carve_train
        >>> rows = carve_train(1000, GlueConfig(), seed=0)
        >>> {name: len(index) for name, index in rows.items()}
        {'held_out': 50, 'val': 100, 'train': 850}
    """
    order = np.random.default_rng([seed, 2025]).permutation(n)
    n_held = max(config.finetune.alpha_batch_size, int(round(config.held_out_fraction * n)))
    n_val = min(config.max_val, max(1, int(round(config.val_fraction * n))))
    if n - n_held - n_val < config.finetune.batch_size:
        raise ValueError(f"train.tsv has {n} rows: too few to carve {n_held} held-out and {n_val} validation rows "
                         f"and keep a batch of {config.finetune.batch_size} for training")
    rest = order[n_held + n_val:]
    return {"held_out": order[:n_held], "val": order[n_held:n_held + n_val],
            "train": rest if config.max_train is None else rest[: config.max_train]}


def _trained_leaves(state: dict, method: str) -> dict:
    """The adapters and the parameters that `method` trains (what a checkpoint needs beyond the base model)."""
    labels = flatten_tree(parameter_labels(state, method))
    flat = flatten_tree(state)
    return unflatten_tree({path: value for path, value in flat.items()
                           if path.startswith("adapters/") or labels[path] != "frozen"})


def _summaries(runs: list, config: GlueConfig, test_sets: list) -> tuple[list, list]:
    summary, paired = [], []
    rows = {method: [r for r in runs if r["method"] == method] for method in config.row_names()}
    for test_set in test_sets:
        set_summary, set_paired = method_summaries({"test_set": test_set}, rows,
                                                   lambda r, test_set=test_set: r["test_accuracy"][test_set])
        summary += set_summary
        paired += set_paired
    return summary, paired


def _table(summary: list, paired: list, parameters: dict, sizes: dict, config: GlueConfig, checkpoint: str) -> str:
    preamble = (f"GLUE {config.task}, checkpoint {checkpoint}. Per seed, train.tsv carved into {sizes['train']} "
                f"train, {sizes['held_out']} held-out (alpha_lora's alpha only), {sizes['val']} validation "
                f"(selection); the dev set(s) are the test sets, never used for selection. {config.seeds} paired "
                f"seeds; accuracy." + (f" {CONTROL}: LoRA trained on train + held-out."
                                       if CONTROL in config.row_names() else ""))
    return markdown_table(preamble, "test_set", "{}", summary, paired, parameters,
                          "same seed: same splits, initialisation, batch order")


def run_glue(checkpoint: str, data_dir: str, config: GlueConfig, out: str, progress: bool = True) -> GlueResult:
    """Fine-tune a BERT/RoBERTa checkpoint on a GLUE task with every method over paired seeds; write the outputs.

    The protocol of the module docstring (theory/THEORY.md section 7): train.tsv carved per seed into held-out,
    validation and training rows; the dev file(s) are the test sets, evaluated once per selected model.

    Args:
        checkpoint: folder of config.json, model.safetensors and tokenizer.json (e.g. roberta-base).
        data_dir: GLUE data root (holding RTE/, MNLI/, ...) or the task's own folder.
        config: the `GlueConfig`.
        out: output folder (results.json, table.md, checkpoints/).
        progress: show a progress bar.

    Returns:
        GlueResult: runs, summaries, paired differences, parameter counts, split sizes and the written files.

    Raises:
        FileNotFoundError: when the checkpoint or the task's files are missing.
        ValueError: for malformed data files or too few training rows.

    Example:
        >>> from rmt_alpha.experiments import GlueConfig, run_glue
        >>> run_glue("roberta-base", "glue_data", GlueConfig(task="rte"), "out/rte")   # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    spec = task_spec(config.task)
    model = load_pretrained(checkpoint, num_classes=len(spec.labels))
    splits = read_task(config.task, data_dir)
    data = encode_task(model, splits, config.max_length)
    X_all, y_all = data.pop("train")
    test_sets = list(data)
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    runs, sizes = [], {}
    bar = tqdm(total=config.seeds * len(config.row_names()), desc=f"fine-tuning {config.task}",
               disable=not progress, file=sys.stderr)
    for seed in range(config.seeds):
        rows = carve_train(len(y_all), config, seed)
        train, held_out, val = ((X_all[rows[k]], y_all[rows[k]]) for k in ("train", "held_out", "val"))
        sizes = {k: len(v) for k, v in rows.items()}
        key = jax.random.key(1000 + seed)     # paired: same adapters, head and batch order for every method
        params = {**model.params, "head": init_head(jax.random.fold_in(key, 1), model.config)}
        for name in config.row_names():
            started = time.perf_counter()
            best, method_config, method, alpha_value, training_samples = fit_and_select(
                key, params, model.config, name, config.method_config, train, held_out, val, config.alpha_grid)
            test_accuracy = {test_set: evaluate(best.state, model.config, method_config, *data[test_set])
                             for test_set in test_sets}                     # the one touch of each test set
            save_tree(os.path.join(out, "checkpoints", f"{config.task}_{name}_seed{seed}.npz"),
                      _trained_leaves(best.state, method), method=method, seed=seed, alpha_value=alpha_value,
                      task=config.task, checkpoint=os.path.abspath(checkpoint))
            runs.append({"method": name, "seed": seed, "test_accuracy": test_accuracy,
                         "val_accuracy": best.val_accuracy, "best_epoch": best.best_epoch, "steps": best.steps,
                         "alpha_updates": len(best.alpha_steps), "steps_run": best.steps_run,
                         "alpha_updates_run": len(best.alpha_steps_run), "trainable": best.trainable,
                         "alpha_value": alpha_value if method == "alpha_fixed" else None,
                         "training_samples": int(training_samples),
                         "wall_time": time.perf_counter() - started, "alpha": alpha_statistics(best.state["adapters"])})
            bar.update(1)
    bar.close()

    state = init_state(jax.random.key(0), model.params, config.method_config("alpha_lora"))
    counts = parameter_counts(model.params, state["adapters"])
    parameters = {"base": counts.base, "lora": counts.lora, "alpha": counts.alpha,
                  "alpha_overhead_over_lora": counts.alpha_overhead,
                  "head": int(sum(np.size(v) for v in jax.tree_util.tree_leaves(model.params["head"])))}
    summary, paired = _summaries(runs, config, test_sets)
    files = {"table": os.path.join(out, "table.md"), "results": os.path.join(out, "results.json")}
    atomic_write(files["table"], _table(summary, paired, parameters, sizes, config, checkpoint))
    payload = {"config": dataclasses.asdict(config), "checkpoint": os.path.abspath(checkpoint),
               "data": os.path.abspath(data_dir), "family": model.family, "ignored_tensors": model.ignored,
               "sizes": sizes, "test_sizes": {k: len(v[1]) for k, v in data.items()},
               "skipped_rows": {name: split.skipped for name, split in splits.items()},
               "parameters": parameters, "summary": summary, "paired_vs_lora": paired, "runs": runs}
    atomic_write(files["results"], json.dumps(payload, indent=1, default=str))
    return GlueResult(runs, summary, paired, parameters, sizes, files)


__all__ = ["QUERY_VALUE", "GlueConfig", "GlueResult", "carve_train", "encode_task", "run_glue"]
