"""Random target splits and the batched fit and scoring of every split (theory/THEORY.md sections 1 and 5).

Per split the target domain is cut into `n` training rows, an unlabelled pool of `pool_size` rows and the test rows
(the rest; all three disjoint); the preprocessing is `rmt_alpha.experiments._preprocessing`. The fine-tuned
classifier is `rmt_alpha.linear.fit_affine`, vmapped over splits.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha._validation import check_count
from rmt_alpha.linear import FineTuned, fit_affine, test_scores


@jax.jit
def _fit_batch(w_s, X, y, gamma):
    return jax.vmap(fit_affine, in_axes=(None, 0, 0, None))(w_s, X, y, gamma)


@jax.jit
def _score_batch(target_part, source_part, X_test, y_test, alpha):
    return jax.vmap(lambda t, s, X, y, a: test_scores(FineTuned(t, s), X, y, a).accuracy)(
        target_part, source_part, X_test, y_test, alpha)


class FittedSplits(NamedTuple):
    """`w_alpha = target_part + alpha * source_part` for every split: both of shape (splits, p)."""

    target_part: np.ndarray
    source_part: np.ndarray

    def at(self, alpha) -> np.ndarray:
        """The classifiers at one alpha per split (alpha of shape (splits,)): shape (splits, p)."""
        return self.target_part + np.asarray(alpha)[:, None] * self.source_part


def fit_splits(w_s, X, y, gamma: float) -> FittedSplits:
    """Fine-tune on every split at once (float64): X (splits, n, p), y (splits, n) in {-1, +1}."""
    with jax.enable_x64(True):
        parts = _fit_batch(np.asarray(w_s, np.float64), np.asarray(X, np.float64), np.asarray(y, np.float64),
                           np.float64(gamma))
        return FittedSplits(np.asarray(parts[0]), np.asarray(parts[1]))


def split_accuracy(fitted: FittedSplits, X_test, y_test, alpha) -> np.ndarray:
    """Plain test accuracy (`y g > 0`) of each split's classifier at its alphas: alpha (splits, k) -> (splits, k)."""
    alpha = np.asarray(alpha, np.float64)
    with jax.enable_x64(True):
        return np.asarray(_score_batch(fitted.target_part, fitted.source_part, np.asarray(X_test, np.float64),
                                       np.asarray(y_test, np.float64), alpha))


def accuracy_outside(fitted: FittedSplits, X, y, train_rows, alpha) -> np.ndarray:
    """Plain accuracy of each split's classifiers on every row of (X, y) except that split's training rows (the
    paper's test set: the rest of the target domain), without copying the test rows per split.

    Args:
        fitted: (splits, p) parts. X (rows, p), y (rows,). train_rows (splits, n). alpha (splits, k).
    Returns:
        (splits, k).
    """
    alpha = np.asarray(alpha, np.float64)
    target_margin, source_margin = X @ fitted.target_part.T, X @ fitted.source_part.T  # (rows, splits)
    correct = y[:, None, None] * (target_margin[..., None] + alpha[None] * source_margin[..., None]) > 0
    splits = np.arange(train_rows.shape[0])[:, None]
    on_train = correct[train_rows, splits].sum(axis=1)  # (splits, k)
    return (correct.sum(axis=0) - on_train) / (X.shape[0] - train_rows.shape[1])


class Splits(NamedTuple):
    """Row indices of each split into the target domain: train (splits, n), pool (splits, N), test (splits, T)."""

    train: np.ndarray
    pool: np.ndarray
    test: np.ndarray


def draw_splits(n_rows: int, n: int, pool_size: int, splits: int, seed: int, *, labels=None,
                min_per_class: int = 2) -> Splits:
    """Random disjoint train / pool / test rows for `splits` splits (test = every other row).

    With `labels` (the target's (n_rows,) labels), a draw whose training rows hold fewer than `min_per_class` rows
    of a class is drawn again (the estimators of `choose_alpha` need pairs of each class): on an unbalanced domain
    (VADER's tweets, 32% negative, n = 20) about one draw in 200 is redrawn; on a balanced one about one in 25,000,
    so its splits are practically those drawn without labels.
    """
    n_rows, n, splits = (check_count(k, v) for k, v in (("n_rows", n_rows), ("n", n), ("splits", splits)))
    pool_size = check_count("pool_size", pool_size, minimum=0)
    if n + pool_size >= n_rows:
        raise ValueError(f"n + pool_size must leave test rows: n={n}, pool_size={pool_size}, rows={n_rows}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n_rows,):
            raise ValueError(f"labels must have shape ({n_rows},), got {labels.shape}")
        if min(np.sum(labels > 0), np.sum(labels <= 0)) < min_per_class or n < 2 * min_per_class:
            raise ValueError(f"each class needs at least min_per_class = {min_per_class} rows among the n = {n} "
                             f"training rows, and in the domain")
    rng = np.random.default_rng(seed)
    orders = []
    while len(orders) < splits:
        order = rng.permutation(n_rows)
        if labels is None or min(np.sum(labels[order[:n]] > 0), np.sum(labels[order[:n]] <= 0)) >= min_per_class:
            orders.append(order)
    order = np.stack(orders)
    return Splits(order[:, :n], order[:, n:n + pool_size], order[:, n + pool_size:])


class SplitData(NamedTuple):
    """Preprocessed target arrays of every split. X_* (splits, rows, p), y_* (splits, rows)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
