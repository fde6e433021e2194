"""Loaders: the Amazon Review files (shapes, labels, where they are looked for, clear errors) and the digits tasks."""

import os
import shutil

import numpy as np
import pytest
import scipy.io

from rmt_alpha._io import DATA_ENVIRONMENT_VARIABLE
from rmt_alpha.data._cache import CorruptFileError
from rmt_alpha.data._domains import (
    AMAZON_DOMAINS,
    amazon_directory,
    amazon_pairs,
    load_amazon_domain,
    load_digit_pair,
    load_digit_tasks,
)

try:
    AMAZON = amazon_directory()
except FileNotFoundError as missing:
    AMAZON, WHY_MISSING = None, str(missing)
else:
    WHY_MISSING = ""
needs_amazon = pytest.mark.skipif(AMAZON is None, reason=f"Amazon Review data absent: {WHY_MISSING}")

# The data folder's README: samples, positives, negatives per domain.
EXPECTED_COUNTS = {"books": (2000, 1000, 1000), "dvd": (1999, 999, 1000), "elec": (1998, 998, 1000),
                   "kitchen": (1999, 999, 1000)}


@needs_amazon
@pytest.mark.parametrize("domain", AMAZON_DOMAINS)
def test_amazon_shapes_and_labels(domain):
    loaded = load_amazon_domain(domain)
    samples, positive, negative = EXPECTED_COUNTS[domain]
    assert loaded.X.shape == (samples, 400) and loaded.X.dtype == np.float64
    assert loaded.y.shape == (samples,)
    assert set(np.unique(loaded.y)) == {-1.0, 1.0}
    assert (np.count_nonzero(loaded.y > 0), np.count_nonzero(loaded.y < 0)) == (positive, negative)
    raw = scipy.io.loadmat(AMAZON / f"{domain}_400.mat")
    np.testing.assert_array_equal(loaded.y, 2.0 * raw["labels"].ravel() - 1.0)  # 1 -> +1, 0 -> -1


@needs_amazon
def test_the_data_roots_and_the_argument_choose_the_folder(monkeypatch, tmp_path):
    copy = tmp_path / "second" / "amazon_review"
    shutil.copytree(AMAZON, copy)
    # the first root lacks the files, the second holds them: the loaders search the roots in order
    monkeypatch.setenv(DATA_ENVIRONMENT_VARIABLE, os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")]))
    assert amazon_directory() == copy
    monkeypatch.setenv(DATA_ENVIRONMENT_VARIABLE, str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match=r"(?s)elsewhere/amazon_review.*rmt-alpha fetch amazon"):
        amazon_directory()
    assert amazon_directory(AMAZON) == AMAZON  # the argument wins over the environment
    with open(copy / "dvd_400.mat", "ab") as handle:
        handle.write(b"\0")
    monkeypatch.setenv(DATA_ENVIRONMENT_VARIABLE, str(tmp_path / "second"))
    with pytest.raises(CorruptFileError, match=r"dvd_400\.mat.*expected 13a71d399f9c"):
        load_amazon_domain("books")


def test_missing_directory_names_path_files_and_origin(tmp_path):
    missing = tmp_path / "no_such_folder"
    with pytest.raises(FileNotFoundError) as error:
        load_amazon_domain("books", missing)
    message = str(error.value)
    assert str(missing) in message and "books_400.mat" in message and "kitchen_400.mat" in message
    assert "Blitzer" in message and "skada" in message


def test_missing_file_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvd_400.mat"):
        load_amazon_domain("dvd", tmp_path)
    (tmp_path / "books_400.mat").write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(ValueError, match=r"cannot read .*books_400.mat as a MATLAB"):
        load_amazon_domain("books", tmp_path)
    scipy.io.savemat(tmp_path / "elec_400.mat", {"features": np.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"elec_400.mat must hold the variables 'fts' and 'labels', found "
                                         r"\['features'\]"):
        load_amazon_domain("elec", tmp_path)
    scipy.io.savemat(tmp_path / "kitchen_400.mat", {"fts": np.zeros((3, 4)), "labels": np.array([[0], [2], [1]])})
    with pytest.raises(ValueError, match=r"kitchen_400.mat: 'labels' must be 0/1"):
        load_amazon_domain("kitchen", tmp_path)
    with pytest.raises(ValueError, match="domain must be one of"):
        load_amazon_domain("music", tmp_path)


def test_pairs_are_the_twelve_ordered_pairs():
    pairs = amazon_pairs()
    assert len(pairs) == 12 == len(set(pairs)) and all(s != t for s, t in pairs)


def test_digit_pairs_from_the_bundled_digits():
    task = load_digit_pair(6, 8)
    assert task.X.shape == (355, 64) and task.name == "6-vs-8"
    assert (np.count_nonzero(task.y > 0), np.count_nonzero(task.y < 0)) == (181, 174)  # 181 sixes, 174 eights
    tasks = load_digit_tasks()
    assert all(source.X.shape[1] == target.X.shape[1] == 64 for source, target in tasks.values())
    with pytest.raises(ValueError, match="positive must be a digit 0-9, got 12"):
        load_digit_pair(12, 3)
    with pytest.raises(ValueError, match="different digits"):
        load_digit_pair(4, 4)
