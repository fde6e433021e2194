"""The ways of choosing alpha from the data a split may see (theory/THEORY.md sections 3, 5 and 8).

`ALPHA_CHOICES` names each method and the data it sees: alpha = 0 (target only), alpha = 1 (plain fine-tuning,
what LoRA does), `rmt_alpha.choose_alpha` on the labelled rows alone (unbiased estimators, do no harm), alpha by
k-fold cross-validation on the labelled rows, `choose_alpha` with the unlabelled pool (isotropic theory; one
pseudo-labelling round, and `pool_rounds` rounds), the same with the covariance-aware theory, `choose_alpha` with
its defaults (the theory "auto" picks; the semi-empirical one on encoder features); and the references
that look at the test labels (`rmt_alpha.experiments._references`: the test-set oracle, the best fixed alpha, the
split-half oracle; never methods). `alphas_by_method` has no test data in its signature.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import sklearn.model_selection

from rmt_alpha._choose import choose_alpha
from rmt_alpha._validation import check_count
from rmt_alpha.experiments._splits import fit_splits, split_accuracy

ALPHA_GRID = np.round(np.arange(0.0, 6.0001, 0.1), 10)  # CV and oracle choose from it
"""The alphas 0, 0.1, ..., 6 that cross-validation and the test-set oracle choose from."""
ALPHA_CHOICES = {
    "alpha=0": "target training rows only (no source)",
    "alpha=1": "source classifier + target training rows (plain fine-tuning, LoRA)",
    "alpha* theory": "+ choose_alpha on the target training rows only (unbiased s, m; do no harm)",
    "CV": "target training rows only, k-fold cross-validation over ALPHA_GRID",
    "pool 1 round": "+ unlabelled target pool (disjoint from test): choose_alpha, pseudo-labelled once (alpha=1)",
    "pool": "+ unlabelled target pool: choose_alpha, re-labelled at the current alpha* for pool_rounds rounds",
    "pool covariance": "+ unlabelled target pool: choose_alpha with the covariance-aware theory (sec. 8)",
    "choose_alpha default": "+ unlabelled target pool: choose_alpha's defaults (covariance='auto': the semi-empirical "
                            "theory (sec. 9) on the pseudo-labelled pool or the covariance-aware one)",
    "oracle": "TEST labels: best alpha of ALPHA_GRID on the test rows (a ceiling, never a method)",
    "best fixed alpha": "TEST labels of every split: the alpha of ALPHA_GRID best on the split-averaged test curve, "
                        "one per pair (a reference without per-split selection noise, never a method)",
    "split-half oracle": "TEST labels: per split, the alpha of ALPHA_GRID best on a random half of its test rows, "
                         "scored on the other half (a reference without selection bias, never a method)",
}
"""Each way of choosing alpha in the transfer tables and each reference beside them, and the data it sees."""


class Choices(NamedTuple):
    """Each method's alpha per split ({name: (splits,)}), its wall time in seconds and factorisations per split."""

    alpha: dict
    seconds: dict
    fits: dict


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
    folds = check_count("folds", folds, minimum=2)
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


def alphas_by_method(w_s, X_train, y_train, X_pool, *, gamma: float, folds: int = 5, pool_rounds: int = 3,
                  covariance: bool = False, pool_sizes=(), bootstrap: int = 200) -> Choices:
    """Every method's alpha from the training rows and the unlabelled pool only (no test data reaches here).

    Args:
        w_s: (p,) source classifier.
        X_train: (splits, n, p) labelled training rows.
        y_train: (splits, n) their labels.
        X_pool: (splits, N, p) unlabelled pool.
        gamma: fine-tuning ridge strength.
        folds: k of the cross-validation.
        pool_rounds: re-labelling rounds.
        covariance: also the covariance-aware pool method and `choose_alpha`'s defaults (slower: a shrunk covariance
            and its eigenbasis per split; the semi-empirical law's row fixed point).
        pool_sizes: extra pool sizes (< N) for which the pool method is repeated on the first rows of the pool,
            reported as "pool (N=...)".
        bootstrap: replicates of each `choose_alpha` call (its uncertainty and do-no-harm rule; seeded by split).

    Returns:
        Choices: each method's alpha per split, its wall time and factorisations.

    Raises:
        ValueError: a pool size outside 1..N, or `folds` larger than n.
    """
    splits = X_train.shape[0]
    pool_rounds = check_count("pool_rounds", pool_rounds)
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

    def chosen(X_pool_or_none, **options):  # one choose_alpha per split, from its training rows and pool only
        return [choose_alpha(w_s, X_train[split], y_train[split],
                             unlabelled=None if X_pool_or_none is None else X_pool_or_none[split], gamma=gamma,
                             bootstrap=bootstrap, random_state=split, **options).alpha for split in range(splits)]

    timed("alpha* theory", 1, lambda: chosen(None, covariance="isotropic"))
    timed("CV", folds + 1, lambda: cross_validated_alpha(w_s, X_train, y_train, gamma, folds=folds)[0])
    refits = 1 + bootstrap  # the labeller is refitted (an n x n solve) on every bootstrap replicate
    timed("pool 1 round", refits, lambda: chosen(X_pool, covariance="isotropic", rounds=1))
    timed("pool", refits, lambda: chosen(X_pool, covariance="isotropic", rounds=pool_rounds))
    for size in pool_sizes:
        timed(f"pool (N={size})", refits,
              lambda size=size: chosen(X_pool[:, :size], covariance="isotropic", rounds=pool_rounds))
    if covariance:
        timed("pool covariance", refits, lambda: chosen(X_pool, covariance="covariance", rounds=pool_rounds))
        timed("choose_alpha default", refits, lambda: chosen(X_pool))
    return Choices(alpha, seconds, fits)
