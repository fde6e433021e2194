"""The ways of choosing alpha from the data a split may see (theory/THEORY.md sections 3, 5 and 8).

`ALPHA_CHOICES` names each method and the data it sees: alpha = 0 (target only), alpha = 1 (plain fine-tuning,
what LoRA does), alpha* of the isotropic theory with the unbiased estimators on the labelled rows, alpha by k-fold
cross-validation on the labelled rows, alpha* from the pseudo-labelled pool (isotropic theory; after one round and
after `pool_rounds` rounds of re-labelling with the current alpha*), alpha* of the covariance-aware theory with the
pool's mean and covariance, and the oracle (best grid alpha on the test rows: a ceiling, never a method).
`choose_alphas` has no test data in its signature.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import sklearn.model_selection

from rmt_alpha._estimation import (
    estimate_alignment,
    estimate_from_pool,
    target_stats_from_invariants,
)
from rmt_alpha._optimize import optimal_alpha
from rmt_alpha._stats import TargetStats
from rmt_alpha._validation import check_sample_count
from rmt_alpha.experiments._splits import fit_splits, split_accuracy, within_class_covariance

ALPHA_GRID = np.round(np.arange(0.0, 6.0001, 0.1), 10)  # CV and oracle choose from it
ALPHA_CHOICES = {
    "alpha=0": "target training rows only (no source)",
    "alpha=1": "source classifier + target training rows (plain fine-tuning, LoRA)",
    "alpha* theory": "+ unbiased estimates of s, m from the target training rows (theory/THEORY.md section 5)",
    "CV": "target training rows only, k-fold cross-validation over ALPHA_GRID",
    "pool 1 round": "+ unlabelled target pool (disjoint from test), pseudo-labelled by the alpha=1 classifier",
    "pool": "+ unlabelled target pool, re-labelled with the current alpha* for pool_rounds rounds",
    "pool covariance": "+ unlabelled pool's pseudo-labelled mean and covariance, covariance-aware theory (sec. 8)",
    "oracle": "TEST labels: best alpha of ALPHA_GRID on the test rows (a ceiling, never a method)",
}



class Choices(NamedTuple):
    """Each method's alpha per split ({name: (splits,)}), its wall time in seconds and factorisations per split."""

    alpha: dict
    seconds: dict
    fits: dict


def _theory_alpha(w_s, s, m, n, gamma) -> np.ndarray:
    return np.array([optimal_alpha(w_s, target_stats_from_invariants(w_s, si, mi, n, gamma)) for si, mi in zip(s, m)])


def cross_validated_alpha(w_s, X, y, gamma: float, *, folds: int = 5, grid=ALPHA_GRID) -> tuple[np.ndarray, np.ndarray]:
    """alpha chosen by k-fold cross-validation on the training rows (ties: the one closest to 1, plain fine-tuning).

    The grid value with the best mean validation accuracy.

    Args:
        w_s: (p,) source classifier.
        X: (splits, n, p) training rows.
        y: (splits, n) their labels in {-1, +1}.
        gamma: fine-tuning ridge strength.
        folds: k of the cross-validation (<= n).
        grid: 1-D grid of candidate alphas.

    Returns:
        `(alpha (splits,), validation accuracy (splits, grid))`.

    Raises:
        ValueError: `folds` larger than n.
    """
    folds = check_sample_count("folds", folds, minimum=2)
    splits, n, p = X.shape
    if n < folds:
        raise ValueError(f"folds must be <= n = {n}, got {folds}")
    grid = np.asarray(grid, np.float64)
    scores = np.zeros((splits, grid.size))
    for fit_rows, held_rows in sklearn.model_selection.KFold(folds).split(np.arange(n)):
        fitted = fit_splits(w_s, X[:, fit_rows], y[:, fit_rows], gamma)
        scores += split_accuracy(fitted, X[:, held_rows], y[:, held_rows], np.broadcast_to(grid, (splits, grid.size)))
    scores /= folds
    best = scores.max(axis=1, keepdims=True)
    distance = np.where(scores >= best - 1e-12, np.abs(grid - 1.0), np.inf)
    return grid[np.argmin(distance, axis=1)], scores


def choose_alphas(w_s, X_train, y_train, X_pool, *, gamma: float, folds: int = 5, pool_rounds: int = 3,
                  covariance: bool = False, pool_sizes=()) -> Choices:
    """Every method's alpha from the training rows and the unlabelled pool only (no test data reaches here).

    Args:
        w_s: (p,) source classifier.
        X_train: (splits, n, p) labelled training rows.
        y_train: (splits, n) their labels.
        X_pool: (splits, N, p) unlabelled pool.
        gamma: fine-tuning ridge strength.
        folds: k of the cross-validation.
        pool_rounds: re-labelling rounds.
        covariance: also the covariance-aware pool method (slower: a shrunk covariance and its eigenbasis per split).
        pool_sizes: extra pool sizes (< N) for which the pool method is repeated on the first rows of the pool,
            reported as "pool (N=...)".

    Returns:
        Choices: each method's alpha per split, its wall time and factorisations.

    Raises:
        ValueError: a pool size outside 1..N, or `folds` larger than n.
    """
    splits, n, _ = X_train.shape
    pool_rounds = check_sample_count("pool_rounds", pool_rounds)
    for size in pool_sizes:
        if not 1 <= size <= X_pool.shape[1]:
            raise ValueError(f"pool_sizes must lie in 1..{X_pool.shape[1]} (the pool's size), got {size}")
    alpha, seconds, fits = {}, {}, {}
    ones = np.ones(splits)

    def timed(name, factorisations, compute):
        start = time.perf_counter()
        alpha[name] = np.asarray(compute(), np.float64)
        seconds[name] = (time.perf_counter() - start) / splits
        fits[name] = factorisations

    timed("alpha=0", 1, lambda: 0.0 * ones)
    timed("alpha=1", 1, lambda: ones)
    def theory_alpha():  # timed with its estimation, so that its cost is comparable with CV's
        estimate = estimate_alignment(X_train, y_train, w_s)
        return _theory_alpha(w_s, estimate.s, estimate.m, n, gamma)

    timed("alpha* theory", 1, theory_alpha)
    timed("CV", folds + 1, lambda: cross_validated_alpha(w_s, X_train, y_train, gamma, folds=folds)[0])
    fitted = fit_splits(w_s, X_train, y_train, gamma)

    def pool_alpha(pool, rounds):
        current = ones
        for _ in range(rounds):
            found = estimate_from_pool(pool, fitted.at(current), w_s)
            current = _theory_alpha(w_s, found.s, found.m, n, gamma)
        return current

    timed("pool 1 round", 1, lambda: pool_alpha(X_pool, 1))
    timed("pool", 1, lambda: pool_alpha(X_pool, pool_rounds))
    for size in pool_sizes:
        timed(f"pool (N={size})", 1, lambda: pool_alpha(X_pool[:, :size], pool_rounds))
    if covariance:
        def covariance_alpha():
            labeller = fitted.at(alpha["pool"])
            found = estimate_from_pool(X_pool, labeller, w_s)
            labels = np.where(np.einsum("snp,sp->sn", X_pool, labeller) >= 0, 1.0, -1.0)
            chosen = []
            for split in range(splits):
                residuals = X_pool[split] - labels[split][:, None] * found.mean[split]
                target = TargetStats(found.mean[split], n, gamma, cov=within_class_covariance(residuals))
                chosen.append(optimal_alpha(w_s, target))
            return chosen
        timed("pool covariance", 1, covariance_alpha)
    return Choices(alpha, seconds, fits)
