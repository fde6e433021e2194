"""The honest transfer protocol on real features, one source/target configuration at a time
(theory/THEORY.md sections 4 and 5): source ridge classifier, alpha-fine-tuning on `n` labelled target rows, every
way of choosing alpha (`rmt_alpha.experiments._alpha_choices`), scored on test rows disjoint from everything used to
choose, beside three references that look at the test labels (`rmt_alpha.experiments._references`: the test-set
oracle, the best fixed alpha and the split-half oracle; ceilings, never methods). Plain accuracy, never
`max(acc, 1 - acc)`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._results import EmpiricalCurve, summarize
from rmt_alpha._validation import check_count, check_positive_float
from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments._alpha_choices import (
    ALPHA_CHOICES,
    ALPHA_GRID,
    alphas_by_method,
)
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._references import best_fixed_alpha, per_split_oracle, split_half_oracle
from rmt_alpha.experiments._splits import draw_splits, fit_splits, split_accuracy


class MethodResult(NamedTuple):
    """One method on every split: its alpha and its plain test accuracy, each shape (splits,)."""

    alpha: np.ndarray
    accuracy: np.ndarray


class TransferResult(NamedTuple):
    """One source -> target configuration: per-method results, the measured accuracy curve, times and factorisations.

    Attributes:
        source: the source domain's name.
        target: the target domain's name.
        n: labelled target rows per split.
        source_gamma: ridge strength of the source classifier.
        gamma: fine-tuning ridge strength.
        whiten: whether the features were whitened with the source covariance.
        methods: per-method results, the three references included ("oracle", "best fixed alpha",
            "split-half oracle": they saw test labels; `ALPHA_CHOICES` says what each saw).
        curve: the measured accuracy curve over `ALPHA_GRID` (an `EmpiricalCurve` over splits).
        seconds: each method's estimation time (seconds per split).
        fits: each method's factorisations per split.
    """

    source: str
    target: str
    n: int
    source_gamma: float
    gamma: float
    whiten: bool
    methods: dict
    curve: EmpiricalCurve
    seconds: dict
    fits: dict


def run_transfer(source: Domain, target: Domain, *, n: int = 20, source_gamma: float = 1.0, gamma: float = 1.0,
                 splits: int = 20, pool_size: int | None = None, seed: int = 0, whiten: bool = False,
                 folds: int = 5, pool_rounds: int = 3, covariance: bool = False, pool_sizes=()) -> TransferResult:
    """The honest protocol on one source -> target pair (module docstring), `splits` random target splits.

    Args:
        source: the source `Domain`.
        target: the target `Domain`.
        n: labelled target rows.
        source_gamma: ridge strength of the source classifier.
        gamma: fine-tuning ridge strength.
        splits: repeated random splits (>= 2).
        pool_size: unlabelled pool rows (default: half of what n leaves, at most 1000).
        seed: of the splits.
        whiten: whiten with the source covariance.
        folds: as in `alphas_by_method`.
        pool_rounds: as in `alphas_by_method`.
        covariance: as in `alphas_by_method`.
        pool_sizes: as in `alphas_by_method`.

    Returns:
        TransferResult: the configuration's results.
    """
    n = check_count("n", n, minimum=2)
    splits = check_count("splits", splits, minimum=2)
    source_gamma = check_positive_float("source_gamma", source_gamma)
    gamma = check_positive_float("gamma", gamma)
    if pool_size is None:
        pool_size = min(1000, (target.X.shape[0] - n) // 2)
    rows = draw_splits(target.X.shape[0], n, pool_size, splits, seed, labels=target.y)
    w_s, data = preprocess(source, target, rows, source_gamma=source_gamma, whiten=whiten)
    choices = alphas_by_method(w_s, data.X_train, data.y_train, data.X_pool, gamma=gamma, folds=folds,
                            pool_rounds=pool_rounds, covariance=covariance, pool_sizes=pool_sizes)
    fitted = fit_splits(w_s, data.X_train, data.y_train, gamma)
    names = list(choices.alpha)
    chosen = np.stack([choices.alpha[name] for name in names], axis=1)
    accuracy = split_accuracy(fitted, data.X_test, data.y_test,
                             np.concatenate([chosen, np.broadcast_to(ALPHA_GRID, (splits, ALPHA_GRID.size))], 1))
    methods = {name: MethodResult(chosen[:, i], accuracy[:, i]) for i, name in enumerate(names)}
    grid_accuracy = accuracy[:, len(names):]
    # the references: alphas chosen by looking at test labels (ceilings, never methods; _references)
    methods["oracle"] = MethodResult(*per_split_oracle(grid_accuracy, ALPHA_GRID))
    methods["best fixed alpha"] = MethodResult(*best_fixed_alpha(grid_accuracy, ALPHA_GRID))
    halves = split_half_oracle(fitted, data.X_test, data.y_test, ALPHA_GRID, seed=seed)
    methods["split-half oracle"] = MethodResult(halves.alpha, halves.accuracy)
    return TransferResult(source.name, target.name, n, source_gamma, gamma, whiten, methods,
                          summarize(ALPHA_GRID, grid_accuracy), choices.seconds, choices.fits)


def summary_rows(results) -> list[dict]:
    """One row per configuration and method: mean and standard error over splits of the plain accuracy, and more.

    Also the mean alpha, the estimation time (ms per split), and the data the method saw.

    Args:
        results: iterable of `TransferResult`.

    Returns:
        list of dict: one row per (configuration, method).
    """
    rows = []
    for result in results:
        for name, method in result.methods.items():
            splits = method.accuracy.size
            rows.append({"source": result.source, "target": result.target, "n": result.n,
                         "source_gamma": result.source_gamma, "gamma": result.gamma, "whiten": result.whiten,
                         "method": name, "accuracy": float(method.accuracy.mean()),
                         "stderr": float(method.accuracy.std(ddof=1) / np.sqrt(splits)),
                         "alpha_mean": float(np.mean(method.alpha)), "alpha_median": float(np.median(method.alpha)),
                         "splits": splits, "ms_per_split": 1e3 * result.seconds.get(name, 0.0),
                         "factorisations": result.fits.get(name, 0),
                         "data_used": ALPHA_CHOICES.get(name, ALPHA_CHOICES["pool"] + " (smaller pool)")})
    return rows
