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
    """The file layout of one GLUE task.

    Attributes:
        folder: the task's folder in a GLUE root ("MNLI", "SST-2", ...).
        text_columns: the header names of the one or two text columns.
        label_column: the header name of the label column.
        labels: the label strings, in the order of their integer ids.
        test_files: the dev files used as test sets ("dev.tsv", or MNLI's two).
    """

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
    """One file of a task: the first (and second) sentence of each row, integer labels, rows skipped.

    Attributes:
        first: list of str, the first text column, one entry per row.
        second: list of str, the second text column, or None for single-sentence tasks (SST-2).
        labels: (rows,) int32 label ids, indices into `GlueTask.labels`.
        skipped: number of short rows skipped (QQP only; 0 otherwise).
        path: the file read.
    """

    first: list
    second: list | None
    labels: np.ndarray
    skipped: int
    path: str


def task_spec(task: str) -> GlueTask:
    """The layout of a GLUE task.

    Args:
        task: "mnli", "qnli", "mrpc", "rte", "sst2" or "qqp", in any case; "sst-2" is accepted.

    Returns:
        GlueTask: its folder, columns, labels and test files.

    Raises:
        ValueError: when `task` is not one of the six.

    Example:
        >>> from rmt_alpha.data import task_spec
        >>> task_spec("SST-2").text_columns
        ('sentence',)
    """
    name = str(task).lower().replace("-", "")
    if name not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return TASKS[name]


def task_directory(task: str, data_dir: str) -> str:
    """The folder holding the task's TSV files: `data_dir/<FOLDER>` (a GLUE root) or `data_dir` itself.

    Args:
        task: the task name (as in `task_spec`).
        data_dir: a GLUE root (holding RTE/, MNLI/, ...) or the task's own folder.

    Returns:
        str: the folder that holds `train.tsv`.

    Raises:
        ValueError: when `task` is unknown.
        FileNotFoundError: when neither folder holds `train.tsv`.
    """
    spec = task_spec(task)
    for candidate in (os.path.join(data_dir, spec.folder), data_dir):
        if os.path.isfile(os.path.join(candidate, "train.tsv")):
            return candidate
    raise FileNotFoundError(f"GLUE {task} data not found: expected {os.path.join(data_dir, spec.folder, 'train.tsv')}"
                            f" or {os.path.join(data_dir, 'train.tsv')} (the GLUE TSV files of the task)")


def read_split(task: str, path: str) -> GlueSplit:
    r"""Read one TSV file of a GLUE task.

    Columns are found by the header's names; fields are tab-separated without quoting.

    Args:
        task: the task name (as in `task_spec`).
        path: the TSV file.

    Returns:
        GlueSplit: the texts, the int32 label ids, the count of skipped rows and the path.

    Raises:
        FileNotFoundError: when there is no such file.
        ValueError: for a header without the task's columns, a short row (not QQP), a label outside the task's label
            set, or a file without rows.

    Example:
        >>> import os, tempfile
        >>> from rmt_alpha.data import read_split
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "dev.tsv")
        >>> with open(path, "w") as handle:
        ...     _ = handle.write("sentence\tlabel\ngood film\t1\ndull\t0\n")
        >>> split = read_split("sst2", path)
        >>> split.first, split.labels.tolist(), split.second
        (['good film', 'dull'], [1, 0], None)
        >>> folder.cleanup()
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
    """The training file and the dev file(s) of a GLUE task.

    The dev files are the test sets of the experiment (GLUE's test labels are not public); model selection must
    use a split carved from train.

    Args:
        task: the task name (as in `task_spec`).
        data_dir: a GLUE root (holding RTE/, MNLI/, ...) or the task's own folder.

    Returns:
        dict: `{"train": GlueSplit, <dev file stem>: GlueSplit, ...}`.

    Raises:
        FileNotFoundError: when the task's files are missing.
        ValueError: for an unknown task or a malformed file (see `read_split`).

    Example:
        >>> from rmt_alpha.data import read_task
        >>> splits = read_task("rte", "glue_data")   # doctest: +SKIP
        >>> sorted(splits)                           # doctest: +SKIP
        ['dev', 'train']
    """
    spec, directory = task_spec(task), task_directory(task, data_dir)
    splits = {"train": read_split(task, os.path.join(directory, "train.tsv"))}
    for name in spec.test_files:
        splits[name[: -len(".tsv")]] = read_split(task, os.path.join(directory, name))
    return splits


__all__ = ["TASKS", "GlueSplit", "GlueTask", "read_split", "read_task", "task_directory", "task_spec"]
