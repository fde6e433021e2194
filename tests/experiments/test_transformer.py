"""The experiment end to end on a tiny configuration: outputs, paired summary, checkpoints that reload, the cache."""

import json
import os

import numpy as np
import pytest

from rmt_alpha.cli import main
from rmt_alpha.data._synthetic_reviews import ReviewTask
from rmt_alpha.experiments._transformer import (
    TransformerExperimentConfig,
    _target_splits,
    pretrained_params,
    run_transformer_experiment,
)
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._finetune import evaluate
from rmt_alpha.nn._methods import TRAINING_METHODS, FinetuneConfig
from rmt_alpha.nn._models import TransformerConfig
from rmt_alpha.nn._trees import flatten_tree, load_tree

TASK = ReviewTask(sharing=0.5)
TINY = TransformerExperimentConfig(
    sharing=(0.25,), seeds=2, alpha_grid=(0.5, 1.0), task=TASK,
    model=TransformerConfig(vocab_size=TASK.vocab_size, max_len=32, d_model=8, num_heads=2, d_mlp=16, num_layers=1),
    n_source=256, pretrain_epochs=1, pretrain_batch_size=32, n_train=32, n_held_out=16, n_val=32, n_test=64,
    finetune=FinetuneConfig(adapter=AdapterConfig(rank=2), batch_size=16, max_epochs=2, patience=1,
                            alpha_every=3, alpha_batch_size=8, alpha_learning_rate=0.01),
    full_learning_rate=3e-3, head_learning_rate=3e-3)


@pytest.mark.integration
def test_tiny_run_end_to_end(tmp_path):
    out = str(tmp_path)
    result = run_transformer_experiment(TINY, out, progress=False)
    for name in ("table", "results", "accuracy_figure", "alpha_figure"):
        assert os.path.getsize(result.files[name]) > 0
    rows = TRAINING_METHODS + ("lora_more_data",)
    assert len(result.runs) == 2 * len(rows) and len(result.summary) == len(rows)
    saved = json.load(open(result.files["results"]))
    assert saved["pretrained_loaded_from_cache"] is False and len(saved["runs"]) == len(result.runs)
    table = open(result.files["table"]).read()
    assert all(f"| 0.25 | {method} |" in table for method in rows)
    # Paired differences against LoRA are computed seed by seed.
    lora = {r["seed"]: r["test_accuracy"] for r in result.runs if r["method"] == "lora"}
    alpha = {r["seed"]: r["test_accuracy"] for r in result.runs if r["method"] == "alpha_lora"}
    row = next(p for p in result.paired if p["method"] == "alpha_lora")
    assert np.isclose(row["mean_difference"], np.mean([alpha[s] - lora[s] for s in (0, 1)]))
    assert result.parameters["alpha"] == 8 + 8 + 16 + 8 and result.parameters["lora"] == 2 * (16 + 16 + 24 + 24)
    control = load_tree(os.path.join(out, "checkpoints", "lora_more_data_sharing0.25_seed0.npz"))[1]
    assert control["method"] == "lora" and control["training_samples"] == 32 + 16
    alpha_run = next(r for r in result.runs if r["method"] == "alpha_lora")
    assert alpha_run["alpha_updates"] == alpha_run["steps"] // 3 and len(alpha_run["alpha"]) == 4
    # A checkpoint reloads and gives the recorded test accuracy.
    state, metadata = load_tree(os.path.join(out, "checkpoints", "alpha_lora_sharing0.25_seed1.npz"))
    assert metadata["method"] == "alpha_lora"
    test = _target_splits(TINY, 0, 1)[3]
    reloaded = evaluate(state, TINY.model, TINY.method_config("alpha_lora"), *test)
    assert reloaded == next(r["test_accuracy"] for r in result.runs
                            if r["method"] == "alpha_lora" and r["seed"] == 1)
    # The pre-trained parameters come back from the cache, bitwise.
    params, _, loaded = pretrained_params(TINY, out, progress=False)
    assert loaded
    cached = [f for f in os.listdir(out) if f.startswith("pretrained_")]
    assert cached == [f"pretrained_{TINY.pretraining_key()}.npz"]
    first = flatten_tree(load_tree(os.path.join(out, cached[0]))[0])
    for path, value in flatten_tree(params).items():
        np.testing.assert_array_equal(value, first[path])


@pytest.mark.parametrize("kwargs, message", [
    (dict(methods=("lora", "adalora")), "methods must be a non-empty subset"),
    (dict(sharing=()), "sharing must list at least one level"),
    (dict(sharing=(1.5,)), "sharing must be a number in"),
    (dict(n_held_out=4), "n_held_out must be a whole number >= 32"),
])
def test_bad_experiment_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerExperimentConfig(**kwargs)


def test_cli_reports_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["transformer", "--out", str(tmp_path), "--quick", "--sharing", "1.5"])
    assert exit_info.value.code == 2
    assert "sharing must be a number in [0, 1], got 1.5" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_quick_run(tmp_path, capsys):
    assert main(["transformer", "--out", str(tmp_path), "--quick", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {row["method"] for row in payload["summary"]} == set(TRAINING_METHODS) | {"lora_more_data"}
    assert os.path.exists(payload["files"]["table"])
