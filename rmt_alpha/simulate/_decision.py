"""One trial's decision values `g = w_alpha^T x` on fresh target test points, for the histogram of the decision
function against its two predicted Gaussians (theory/THEORY.md section 1)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha._stats import SourceStats, TargetStats, check_same_dimension
from rmt_alpha._validation import (
    check_count,
    check_finite_array,
    check_seed,
)
from rmt_alpha.linear._engine import fit_affine
from rmt_alpha.simulate._montecarlo import draw_mixture, source_classifier


class DecisionValues(NamedTuple):
    """One trial's decision values `g = w_alpha^T x` on fresh target test points, and their labels.

    Attributes:
        alpha: the alpha used.
        decision: (n_test,) the decision values g.
        labels: (n_test,) the labels, in {-1, +1}.
    """

    alpha: float
    decision: np.ndarray
    labels: np.ndarray


def decision_values(source: SourceStats, target: TargetStats, alpha: float, *, n_test: int = 4000,
                    seed: int = 0) -> DecisionValues:
    """Fit one alpha-fine-tuned classifier (fresh source and target samples) and score `n_test` fresh target points.

    Uses the simulator's pieces (`source_classifier` and `draw_mixture` of `rmt_alpha.simulate`, `fit_affine` of
    `rmt_alpha.linear`), in float32. Conditionally on `w_alpha`, `g | y ~ N(y w^T mu_t, |w|^2)`; both concentrate,
    so the per-class histograms approach `N(+-E[y g], Var[g])` of `margin_moments` as p grows (theory/THEORY.md
    sections 1 and 2).

    Args:
        source: the ridge source (`SourceStats`).
        target: the `TargetStats`.
        alpha: the rescaling (a finite scalar).
        n_test: number of test points (>= 2; keyword-only).
        seed: integer seed in [0, 2**32) (keyword-only).

    Returns:
        DecisionValues: `(alpha, decision, labels)`, float64 arrays of shape (n_test,).

    Raises:
        TypeError: when `source` is not a `SourceStats` or `target` not a `TargetStats`.
        ValueError: when the dimensions differ, or `alpha`, `n_test` or `seed` is out of range.
    """
    if not isinstance(source, SourceStats):
        raise TypeError(f"source must be a SourceStats, got {type(source).__name__}")
    if not isinstance(target, TargetStats):
        raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
    check_same_dimension(source.mean, target)
    alpha = float(check_finite_array("alpha", alpha))
    n_test = check_count("n_test", n_test, minimum=2)
    seed = check_seed(seed)
    decision, labels = _decision_trial(seed, np.asarray(source.mean, np.float32), np.asarray(target.mean, np.float32),
                                       np.float32(alpha), np.float32(source.gamma), np.float32(target.gamma),
                                       source_n=source.n, n=target.n, n_test=n_test)
    return DecisionValues(alpha, np.asarray(decision, np.float64), np.asarray(labels, np.float64))


@functools.partial(jax.jit, static_argnames=("source_n", "n", "n_test"))
def _decision_trial(seed, source_mean, target_mean, alpha, source_gamma, gamma, *, source_n, n, n_test):
    """One trial's test decisions and labels (compiled once per shape; alpha, gammas, means and seed traced)."""
    source_key, target_key, test_key = jax.random.split(jax.random.key(seed), 3)
    w_s = source_classifier(source_key, source_mean, source_n, source_gamma)
    fine = fit_affine(w_s, *draw_mixture(target_key, n, target_mean), gamma)
    X_test, y_test = draw_mixture(test_key, n_test, target_mean)
    return X_test @ fine.at(alpha), y_test
