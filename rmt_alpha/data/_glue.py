"""Readers for the GLUE TSV files of the six tasks of the alpha-LoRA paper's Table 2 (Wang et al. 2019).

The files are those of the GLUE benchmark distribution (the `download_glue_data.py` layout, one folder per task):

    task   folder  files (train, then the dev sets used as test sets)              text columns           label
    mnli   MNLI    train.tsv, dev_matched.tsv, dev_mismatched.tsv                  sentence1, sentence2   gold_label
    qnli   QNLI    train.tsv, dev.tsv                                              question, sentence     label
    mrpc   MRPC    train.tsv, dev.tsv                                              #1 String, #2 String   Quality
    rte    RTE     train.tsv, dev.tsv                                              sentence1, sentence2   label
    sst2   SST-2   train.tsv, dev.tsv                                              sentence               label
    qqp    QQP     train.tsv, dev.tsv                                              question1, question2   is_duplicate

Columns are found by the header row's names (MNLI's dev files have more label columns than its train file).
Fields are tab-separated with no quoting (quotes are text), as the files are written. Label ids follow the
Hugging Face GLUE processors: mnli (contradiction, entailment, neutral); qnli and rte (entailment,
not_entailment); mrpc, sst2, qqp ("0", "1"). QQP rows with missing fields are skipped and counted (as the
Hugging Face processor does); in the other tasks a short row is an error naming the file and line.
"""

from __future__ import annotations

import csv
import os
from typing import NamedTuple

import numpy as np


class GlueTask(NamedTuple):
    """The file layout of one GLUE task."""

    folder: str
    text_columns: tuple
    label_column: str
    labels: tuple
    test_files: tuple


TASKS = {
    "mnli": GlueTask("MNLI", ("sentence1", "sentence2"), "gold_label", ("contradiction", "entailment", "neutral"),
                     ("dev_matched.tsv", "dev_mismatched.tsv")),
    "qnli": GlueTask("QNLI", ("question", "sentence"), "label", ("entailment", "not_entailment"), ("dev.tsv",)),
    "mrpc": GlueTask("MRPC", ("#1 String", "#2 String"), "Quality", ("0", "1"), ("dev.tsv",)),
    "rte": GlueTask("RTE", ("sentence1", "sentence2"), "label", ("entailment", "not_entailment"), ("dev.tsv",)),
    "sst2": GlueTask("SST-2", ("sentence",), "label", ("0", "1"), ("dev.tsv",)),
    "qqp": GlueTask("QQP", ("question1", "question2"), "is_duplicate", ("0", "1"), ("dev.tsv",)),
}
_SKIPS_SHORT_ROWS = ("qqp",)


class GlueSplit(NamedTuple):
    """One file of a task: the first (and second) sentence of each row, integer labels, rows skipped."""

    first: list
    second: list | None
    labels: np.ndarray
    skipped: int
    path: str


def task_spec(task: str) -> GlueTask:
    """The layout of `task` ("mnli", "qnli", "mrpc", "rte", "sst2" or "qqp"; "sst-2" is accepted)."""
    name = str(task).lower().replace("-", "")
    if name not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return TASKS[name]


def task_directory(task: str, data_dir: str) -> str:
    """The folder holding the task's TSV files: `data_dir/<FOLDER>` (a GLUE root) or `data_dir` itself."""
    spec = task_spec(task)
    for candidate in (os.path.join(data_dir, spec.folder), data_dir):
        if os.path.isfile(os.path.join(candidate, "train.tsv")):
            return candidate
    raise FileNotFoundError(f"GLUE {task} data not found: expected {os.path.join(data_dir, spec.folder, 'train.tsv')}"
                            f" or {os.path.join(data_dir, 'train.tsv')} (the GLUE TSV files of the task)")


def read_split(task: str, path: str) -> GlueSplit:
    """Read one TSV file of `task`.

    Raises:
        FileNotFoundError: no such file. ValueError: a header without the task's columns, a short row (not QQP),
            a label outside the task's label set, a file without rows.
    """
    spec, name = task_spec(task), str(task).lower().replace("-", "")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"GLUE {name} file not found: {path}")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quotechar=None)
        header = next(rows, None)
        if header is None:
            raise ValueError(f"{path} is empty (expected a header row)")
        columns = spec.text_columns + (spec.label_column,)
        absent = [column for column in columns if column not in header]
        if absent:
            raise ValueError(f"{path}: the header lacks the {name} columns {absent}; got {header}")
        index = [header.index(column) for column in columns]
        needed, label_ids = max(index) + 1, {label: i for i, label in enumerate(spec.labels)}
        texts, labels, skipped = [[] for _ in spec.text_columns], [], 0
        for line, row in enumerate(rows, start=2):
            if len(row) < needed:
                if name in _SKIPS_SHORT_ROWS:
                    skipped += 1
                    continue
                raise ValueError(f"{path}, line {line}: expected at least {needed} tab-separated fields, "
                                 f"got {len(row)}")
            label = row[index[-1]].strip()
            if label not in label_ids:
                raise ValueError(f"{path}, line {line}: label {label!r} is not one of {list(spec.labels)}")
            for column, i in zip(texts, index[:-1]):
                column.append(row[i])
            labels.append(label_ids[label])
    if not labels:
        raise ValueError(f"{path} has a header but no rows")
    second = texts[1] if len(texts) > 1 else None
    return GlueSplit(texts[0], second, np.asarray(labels, np.int32), skipped, path)


def read_task(task: str, data_dir: str) -> dict:
    """`{"train": GlueSplit, <dev file stem>: GlueSplit, ...}`: the training file and the dev file(s).

    The dev files are the test sets of the experiment (GLUE's test labels are not public); model selection must
    use a split carved from train.

    Example:
        >>> splits = read_task("rte", "glue_data")   # doctest: +SKIP
        >>> sorted(splits)                           # doctest: +SKIP
        ['dev', 'train']
    """
    spec, directory = task_spec(task), task_directory(task, data_dir)
    splits = {"train": read_split(task, os.path.join(directory, "train.tsv"))}
    for name in spec.test_files:
        splits[name[: -len(".tsv")]] = read_split(task, os.path.join(directory, name))
    return splits


__all__ = ["GlueSplit", "GlueTask", "TASKS", "read_split", "read_task", "task_directory", "task_spec"]
