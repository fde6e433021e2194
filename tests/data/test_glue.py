"""GLUE readers (the six tasks' real headers), the train/held-out/validation carving, an end-to-end fine-tuning run
of a tiny RoBERTa-named checkpoint on GLUE-format RTE files, the dev set's role as a test set only, and the CLI."""

import dataclasses
import json
import os

import numpy as np
import pytest

from rmt_alpha.cli import main
from rmt_alpha.data._glue import read_task, task_spec
from rmt_alpha.experiments._glue import QUERY_VALUE, GlueConfig, carve_train, run_glue
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._methods import FinetuneConfig
from rmt_alpha.nn._trees import load_tree
from tests.nn.tiny_checkpoint import make_checkpoint, make_glue_rte

MNLI_HEADER = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label")
MNLI_DEV_HEADER = MNLI_HEADER.replace("label1\t", "label1\tlabel2\tlabel3\tlabel4\tlabel5\t")


def _write(folder, name, lines, bom=False):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8-sig" if bom else "utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def test_reads_the_six_tasks_from_their_real_layouts(tmp_path):
    root = str(tmp_path)
    parse = "\t".join(["( x )"] * 4)
    mnli = os.path.join(root, "MNLI")
    _write(mnli, "train.tsv", [MNLI_HEADER, f"0\t1\t1e\tfiction\t{parse}\tA \"quoted\" man.\tA man.\tentailment\t"
                               "entailment", f"1\t2\t2c\tslate\t{parse}\tIt rains.\tIt is dry.\tcontradiction\t"
                               "contradiction"])
    for name in ("dev_matched.tsv", "dev_mismatched.tsv"):
        _write(mnli, name, [MNLI_DEV_HEADER, f"0\t1\t1n\tgov\t{parse}\tA.\tB.\tneutral\tneutral\tneutral\t"
                            "neutral\tneutral\tneutral"])
    _write(os.path.join(root, "QNLI"), "train.tsv", ["index\tquestion\tsentence\tlabel", "0\tWho?\tHim.\tentailment"])
    _write(os.path.join(root, "QNLI"), "dev.tsv", ["index\tquestion\tsentence\tlabel", "0\tWhy?\tNo.\tnot_entailment"])
    mrpc = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "1\t1\t2\tHe said.\tHe stated.", "0\t3\t4\tA b.\tC d."]
    _write(os.path.join(root, "MRPC"), "train.tsv", mrpc, bom=True)
    _write(os.path.join(root, "MRPC"), "dev.tsv", mrpc)
    rte = ["index\tsentence1\tsentence2\tlabel", "0\tA cat.\tAn animal.\tentailment"]
    _write(os.path.join(root, "RTE"), "train.tsv", rte)
    _write(os.path.join(root, "RTE"), "dev.tsv", rte)
    _write(os.path.join(root, "SST-2"), "train.tsv", ["sentence\tlabel", "a great film \t1", "dull \t0"])
    _write(os.path.join(root, "SST-2"), "dev.tsv", ["sentence\tlabel", "fine\t1"])
    qqp = ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", "0\t1\t2\tHow?\tHow so?\t1", "1\t3\t4\tbroken row",
           "2\t5\t6\tWhat?\tWhere?\t0"]
    _write(os.path.join(root, "QQP"), "train.tsv", qqp)
    _write(os.path.join(root, "QQP"), "dev.tsv", qqp)

    splits = read_task("mnli", root)
    assert sorted(splits) == ["dev_matched", "dev_mismatched", "train"]
    assert splits["train"].first == ['A "quoted" man.', "It rains."]       # quotes are text, not quoting
    assert splits["train"].second == ["A man.", "It is dry."]
    assert splits["train"].labels.tolist() == [1, 0]                       # contradiction, entailment, neutral
    assert splits["dev_matched"].labels.tolist() == [2]                    # gold_label, not label1..5
    assert read_task("qnli", root)["dev"].labels.tolist() == [1]
    mrpc_train = read_task("mrpc", root)["train"]                          # the header may carry a BOM
    assert (mrpc_train.first, mrpc_train.second, mrpc_train.labels.tolist()) == \
        (["He said.", "A b."], ["He stated.", "C d."], [1, 0])
    assert read_task("rte", os.path.join(root, "RTE"))["train"].labels.tolist() == [0]   # a task folder works too
    sst = read_task("SST-2", root)["train"]
    assert (sst.first, sst.second, sst.labels.tolist()) == (["a great film ", "dull "], None, [1, 0])
    qqp_train = read_task("qqp", root)["train"]
    assert (qqp_train.first, qqp_train.labels.tolist(), qqp_train.skipped) == (["How?", "What?"], [1, 0], 1)


def test_bad_task_names_files_and_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        task_spec("cola")
    with pytest.raises(FileNotFoundError, match=r"RTE.*train\.tsv"):
        read_task("rte", str(tmp_path))
    folder = os.path.join(str(tmp_path), "RTE")
    _write(folder, "train.tsv", ["index\tsentence1\tsentence2\tlabel", "0\ta\tb\tentailment"])
    with pytest.raises(FileNotFoundError, match=r"dev\.tsv"):
        read_task("rte", str(tmp_path))
    _write(folder, "dev.tsv", ["index\tsentence1\tsentence2\tlabel", "0\ta\tb\tmaybe"])
    with pytest.raises(ValueError, match=r"dev\.tsv, line 2: label 'maybe'"):
        read_task("rte", str(tmp_path))
    _write(folder, "dev.tsv", ["index\tsentence1\tsentence2\tlabel", "0\ta"])
    with pytest.raises(ValueError, match="line 2: expected at least 4"):
        read_task("rte", str(tmp_path))
    _write(folder, "dev.tsv", ["index\tpremise\thypothesis\tlabel", "0\ta\tb\tentailment"])
    with pytest.raises(ValueError, match=r"lacks the rte columns \['sentence1', 'sentence2'\]"):
        read_task("rte", str(tmp_path))


def test_carving_is_disjoint_seeded_and_sized():
    config = GlueConfig(held_out_fraction=0.05, val_fraction=0.1, max_val=15, max_train=50)
    rows = carve_train(200, config, seed=0)
    assert (len(rows["held_out"]), len(rows["val"]), len(rows["train"])) == (16, 15, 50)   # held-out >= a batch
    together = np.concatenate(list(rows.values()))
    assert len(np.unique(together)) == len(together)
    assert all(np.array_equal(rows[k], carve_train(200, config, seed=0)[k]) for k in rows)
    assert not np.array_equal(rows["val"], carve_train(200, config, seed=1)["val"])
    with pytest.raises(ValueError, match="too few"):
        carve_train(30, config, seed=0)   # 16 held-out + 3 val leave 11 < one batch of 16


def _quick_config(**overrides):
    finetune = FinetuneConfig(adapter=AdapterConfig(targets=QUERY_VALUE, rank=4, lora_alpha=8.0),
                              learning_rate=3e-3, batch_size=8, max_epochs=2, patience=2, alpha_every=2,
                              alpha_batch_size=8, alpha_learning_rate=1e-2)
    return GlueConfig(**{**dict(task="rte", methods=("lora", "alpha_lora"), seeds=1, max_length=32,
                                val_fraction=0.2, held_out_fraction=0.1, finetune=finetune), **overrides})


@pytest.fixture(scope="module")
def tiny_task(tmp_path_factory):
    root = tmp_path_factory.mktemp("glue")
    checkpoint = str(root / "roberta")
    make_checkpoint(checkpoint, "roberta")
    return checkpoint, make_glue_rte(str(root / "glue"))


@pytest.mark.integration
def test_fine_tuning_runs_end_to_end_and_never_selects_on_dev(tiny_task, tmp_path):
    checkpoint, data = tiny_task
    config = _quick_config()
    result = run_glue(checkpoint, data, config, str(tmp_path / "run"), progress=False)
    assert result.sizes == {"held_out": 10, "val": 19, "train": 67}
    by_method = {r["method"]: r for r in result.runs}
    assert set(by_method) == {"lora", "alpha_lora"}
    run = by_method["alpha_lora"]
    assert run["steps_run"] == 2 * (67 // 8) and run["alpha_updates_run"] == run["steps_run"] // 2
    # steps and alpha updates describe the returned state: those up to the end of the best epoch.
    assert run["steps"] == (67 // 8) * run["best_epoch"] and run["alpha_updates"] == run["steps"] // 2
    assert by_method["lora"]["alpha_updates"] == 0
    alpha = by_method["alpha_lora"]["alpha"]
    assert sorted(alpha) == ["blocks/0/attn/query/kernel", "blocks/0/attn/value/kernel",
                             "blocks/1/attn/query/kernel", "blocks/1/attn/value/kernel"]
    assert any(abs(stats["mean"] - 1.0) > 1e-4 or stats["std"] > 1e-4 for stats in alpha.values())   # alpha moved
    assert result.parameters["lora"] == 4 * (16 * 4 + 4 * 16) and result.parameters["alpha"] == 4 * 16
    for run in result.runs:
        assert 0.0 <= run["test_accuracy"]["dev"] <= 1.0 and 0.0 <= run["val_accuracy"] <= 1.0
    table = open(result.files["table"], encoding="utf-8").read()
    assert "| dev | alpha_lora |" in table and "Paired differences" in table
    saved, metadata = load_tree(os.path.join(str(tmp_path / "run"), "checkpoints", "rte_alpha_lora_seed0.npz"))
    assert metadata["method"] == "alpha_lora" and "head" in saved["params"] and "adapters" in saved
    assert "blocks" not in saved["params"]          # the frozen encoder is not copied into every checkpoint

    # The dev file is the test set only: with its labels flipped, selection (validation accuracy, best epoch) is
    # unchanged and the binary test accuracy becomes exactly 1 - accuracy.
    flipped = str(tmp_path / "flipped")
    os.makedirs(os.path.join(flipped, "RTE"))
    with open(os.path.join(data, "RTE", "train.tsv"), encoding="utf-8") as handle:
        train_text = handle.read()
    with open(os.path.join(flipped, "RTE", "train.tsv"), "w", encoding="utf-8") as handle:
        handle.write(train_text)
    with open(os.path.join(data, "RTE", "dev.tsv"), encoding="utf-8") as handle:
        dev = handle.read().replace("\tnot_entailment", "\tTMP").replace("\tentailment", "\tnot_entailment")
    with open(os.path.join(flipped, "RTE", "dev.tsv"), "w", encoding="utf-8") as handle:
        handle.write(dev.replace("\tTMP", "\tentailment"))
    again = run_glue(checkpoint, flipped, dataclasses.replace(config, methods=("lora",)), str(tmp_path / "again"),
                     progress=False)
    (rerun,) = again.runs
    assert (rerun["val_accuracy"], rerun["best_epoch"]) == (by_method["lora"]["val_accuracy"],
                                                            by_method["lora"]["best_epoch"])
    assert rerun["test_accuracy"]["dev"] == pytest.approx(1.0 - by_method["lora"]["test_accuracy"]["dev"], abs=1e-12)


@pytest.mark.integration
def test_cli_glue_writes_the_table(tiny_task, tmp_path, capsys):
    checkpoint, data = tiny_task
    out = str(tmp_path / "cli")
    main(["glue", "--checkpoint", checkpoint, "--data", data, "--task", "rte", "--methods", "lora", "--seeds", "1",
          "--epochs", "1", "--batch-size", "8", "--max-length", "32", "--out", out, "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert [row["method"] for row in payload["summary"]] == ["lora"]
    assert os.path.isfile(os.path.join(out, "table.md")) and os.path.isfile(os.path.join(out, "results.json"))
    with pytest.raises(SystemExit):
        main(["glue", "--checkpoint", checkpoint, "--data", data, "--task", "cola", "--out", out])
    assert "task must be one of" in capsys.readouterr().err
