"""The references of the honest transfer table: alphas chosen by looking at the test labels, so ceilings to compare
the methods with, never methods (theory/THEORY.md section 5).

- the test-set oracle: per split, the grid alpha with the best accuracy on that split's own test rows. It selects on
  the test rows' noise as well as on the signal, so it sits above what any alpha chosen without them can reach;
- best fixed alpha: the grid alpha maximising the test curve averaged over the splits, one alpha per pair. No
  per-split selection noise (the average over splits washes it out), but it still sees every split's test labels;
- split-half oracle: per split, the grid alpha with the best accuracy on a random half of its test rows, scored on
  the other half. Chosen and scored on disjoint rows, so its score carries no selection bias; it is what an alpha
  chosen from as many labelled rows as half the test set would reach.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha.experiments._splits import FittedSplits, split_accuracy

_HALVES_STREAM = 2  # the split-half oracle's random stream, apart from the splits' and the law halves' (same seed)


class Reference(NamedTuple):
    """A reference's alpha and its plain accuracy on every split, each of shape (splits,)."""

    alpha: np.ndarray
    accuracy: np.ndarray


class SplitHalfOracle(NamedTuple):
    """The split-half oracle (module docstring).

    Attributes:
        alpha: (splits,) the grid alpha chosen on each split's first half.
        accuracy: (splits,) its accuracy on the other half.
        chosen_on: (splits, T // 2) positions, in each split's test rows, of the half alpha is chosen on.
        scored_on: (splits, T - T // 2) positions of the other half, where it is scored.
    """

    alpha: np.ndarray
    accuracy: np.ndarray
    chosen_on: np.ndarray
    scored_on: np.ndarray


def per_split_oracle(grid_accuracy, grid) -> Reference:
    """Per split, the grid alpha with the best accuracy on its own test rows (the first of ties), and that accuracy.

    Args:
        grid_accuracy: (splits, k) each split's test accuracy at every grid alpha.
        grid: (k,) the grid.

    Returns:
        Reference: `alpha[s] = grid[argmax_k grid_accuracy[s]]`, `accuracy[s] = max_k grid_accuracy[s]`.
    """
    grid_accuracy, grid = np.asarray(grid_accuracy), np.asarray(grid)
    best = np.argmax(grid_accuracy, axis=1)
    return Reference(grid[best], grid_accuracy[np.arange(grid_accuracy.shape[0]), best])


def best_fixed_alpha(grid_accuracy, grid) -> Reference:
    """The one grid alpha maximising the split-averaged test curve (the first of ties), and each split's accuracy
    there.

    Args:
        grid_accuracy: (splits, k) each split's test accuracy at every grid alpha.
        grid: (k,) the grid.

    Returns:
        Reference: alpha (splits,), the same value on every split, and each split's accuracy at it.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.experiments._references import best_fixed_alpha
        >>> best_fixed_alpha(np.array([[0.7, 0.8, 0.6], [0.9, 0.7, 0.6]]), np.array([0.0, 1.0, 2.0])).alpha
        array([0., 0.])
    """
    grid_accuracy, grid = np.asarray(grid_accuracy), np.asarray(grid)
    best = int(np.argmax(grid_accuracy.mean(axis=0)))
    return Reference(np.full(grid_accuracy.shape[0], grid[best]), grid_accuracy[:, best].copy())


def split_half_oracle(fitted: FittedSplits, X_test, y_test, grid, *, seed: int) -> SplitHalfOracle:
    """Per split, the grid alpha best on a random half of its test rows (the first of ties), scored on the other.

    Args:
        fitted: the fine-tuned classifiers of every split (`fit_splits`).
        X_test: (splits, T, p) each split's test rows.
        y_test: (splits, T) their labels.
        grid: (k,) the candidate alphas.
        seed: seed of the halves (one random halving per split).

    Returns:
        SplitHalfOracle: the chosen alpha, its accuracy on the other half, and both halves' positions.
    """
    X_test, y_test, grid = np.asarray(X_test), np.asarray(y_test), np.asarray(grid, np.float64)
    splits, rows = y_test.shape
    if rows < 2:
        raise ValueError(f"the split-half oracle needs at least 2 test rows per split, got {rows}")
    rng = np.random.default_rng([seed, _HALVES_STREAM])
    order = np.stack([rng.permutation(rows) for _ in range(splits)])
    chosen_on, scored_on = order[:, :rows // 2], order[:, rows // 2:]
    index = np.arange(splits)[:, None]
    alphas = np.broadcast_to(grid, (splits, grid.size))
    on_first = split_accuracy(fitted, X_test[index, chosen_on], y_test[index, chosen_on], alphas)
    on_second = split_accuracy(fitted, X_test[index, scored_on], y_test[index, scored_on], alphas)
    best = np.argmax(on_first, axis=1)
    return SplitHalfOracle(grid[best], on_second[np.arange(splits), best], chosen_on, scored_on)
