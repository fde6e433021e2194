"""Precomputed data for the figures: alpha* and the accuracies at alpha = 0, 1, alpha* over a grid of task
statistics (the "phase maps"), and one trial's decision values for the histogram of `g = w_alpha^T x`.

Phase maps use the ridge source classifier, parameterised by ratios only (the asymptotic theory sees nothing else):
`|mu_s|`, `beta`, `|mu_perp|` (so `mu_t = beta mu_s + mu_perp`, `|mu_t|^2 = beta^2 |mu_s|^2 + |mu_perp|^2`), the
source sample ratio `N / p`, the target ratio `n / p` and the ridge strengths `gamma_s`, `gamma`. Every argument
broadcasts; the whole grid is one vectorised evaluation of `ridge_source_invariants`,
`stationary_terms_from_invariants` + `argmax_from_stationary` and `moments_from_invariants` (THEORY.md sections 2-3).
Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA", arXiv 2510.21345; THEORY.md.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import numpy as np

from rmt_alpha._validation import check_finite_array, check_positive_array, check_sample_count, check_seed
from rmt_alpha.optimize import argmax_from_stationary, stationary_terms_from_invariants
from rmt_alpha.simulate import draw_mixture, finetune, source_classifier
from rmt_alpha.stats import SourceStats, TargetStats, check_same_dimension
from rmt_alpha.theory import moments_from_invariants, ridge_source_invariants, standard_normal_cdf


class PhaseMap(NamedTuple):
    """alpha* and the predicted accuracies on a grid of statistics (all arrays of the grid's broadcast shape).

    Attributes:
        beta, n_over_p, gamma: the grid coordinates (broadcast to the grid shape).
        alpha_star: the accuracy-maximising alpha (THEORY.md section 3).
        accuracy_zero, accuracy_one, accuracy_star: predicted accuracy at alpha = 0 (target only), alpha = 1
            (plain fine-tuning, LoRA) and alpha = alpha*.
    """

    beta: np.ndarray
    n_over_p: np.ndarray
    gamma: np.ndarray
    alpha_star: np.ndarray
    accuracy_zero: np.ndarray
    accuracy_one: np.ndarray
    accuracy_star: np.ndarray

    @property
    def gain_over_one(self) -> np.ndarray:
        """`accuracy(alpha*) - accuracy(1)`: what choosing alpha adds over plain fine-tuning (>= 0)."""
        return self.accuracy_star - self.accuracy_one

    @property
    def one_worse_than_zero(self) -> np.ndarray:
        """Where plain fine-tuning (alpha = 1) is worse than ignoring the source (alpha = 0): negative transfer."""
        return self.accuracy_one < self.accuracy_zero


def phase_map(beta, n_over_p, gamma=1.0, *, source_norm=1.5, perp_norm=0.6, source_n_over_p=5.0,
              source_gamma=1.0) -> PhaseMap:
    """alpha* and the accuracies at alpha = 0, 1, alpha* for a ridge source, broadcast over every argument.

    With `m_s = |mu_s|^2`, `m = beta^2 m_s + |mu_perp|^2`: the source invariants are
    `ridge_source_invariants(m_s, p / N, gamma_s, beta m_s, m, m_s |mu_perp|^2 / m)`, alpha* is
    `argmax_from_stationary(*stationary_terms_from_invariants(m, p / n, gamma, s, omega_perp))` and each accuracy is
    `Phi(E[y g] / sqrt(Var[g]))` from `moments_from_invariants`.

    Args:
        beta: alignment `<mu_s, mu_t> / |mu_s|^2` (any real). n_over_p: target samples per dimension (> 0).
        gamma: fine-tuning ridge strength (> 0). Keyword arguments: `|mu_s|` (> 0), `|mu_perp|` (>= 0), `N / p`
            (> 0), `gamma_s` (> 0). Every argument broadcasts (e.g. `beta[None, :]` and `n_over_p[:, None]`).
    Returns:
        `PhaseMap` of the broadcast shape.
    Raises:
        ValueError when a value is out of range, or when `beta = 0` and `|mu_perp| = 0` meet (no target signal).

    Example (THEORY.md section 3: p = 400, N = 2000, n = 100):
        >>> round(float(phase_map(0.8, 0.25, source_n_over_p=5.0).alpha_star), 4)
        1.7105
    """
    beta = check_finite_array("beta", beta)
    n_over_p = check_positive_array("n_over_p", n_over_p)
    gamma = check_positive_array("gamma", gamma)
    source_norm = check_positive_array("source_norm", source_norm)
    perp_norm = check_finite_array("perp_norm", perp_norm)
    if np.any(perp_norm < 0):
        raise ValueError(f"perp_norm must be >= 0, got a minimum of {float(np.min(perp_norm))!r}")
    source_eta = 1.0 / check_positive_array("source_n_over_p", source_n_over_p)
    source_gamma = check_positive_array("source_gamma", source_gamma)
    beta, n_over_p, gamma, source_norm, perp_norm, source_eta, source_gamma = np.broadcast_arrays(
        beta, n_over_p, gamma, source_norm, perp_norm, source_eta, source_gamma)

    source_norm_sq = source_norm**2
    m = beta**2 * source_norm_sq + perp_norm**2
    if np.any(m == 0):
        raise ValueError("the target mean is 0 somewhere on the grid (beta = 0 together with perp_norm = 0): "
                         "accuracy is 1/2 for every alpha there; use perp_norm > 0 or exclude beta = 0")
    source_perp_sq = source_norm_sq * perp_norm**2 / m
    s, omega_par, omega_perp = ridge_source_invariants(source_norm_sq, source_eta, source_gamma,
                                                       beta * source_norm_sq, m, source_perp_sq)
    eta = 1.0 / n_over_p
    alpha_star = np.asarray(argmax_from_stationary(*stationary_terms_from_invariants(m, eta, gamma, s, omega_perp)))
    alphas = np.stack([np.zeros_like(m), np.ones_like(m), alpha_star])
    mean, _, variance = moments_from_invariants(m, eta, gamma, s, omega_par, omega_perp, alphas)
    zero, one, star = standard_normal_cdf(mean / np.sqrt(variance))
    return PhaseMap(beta, n_over_p, gamma, alpha_star, zero, one, star)


class DecisionValues(NamedTuple):
    """One trial's decision values `g = w_alpha^T x` on fresh target test points, and their labels.

    Attributes:
        alpha: the alpha used. decision: shape (n_test,). labels: shape (n_test,), in {-1, +1}.
    """

    alpha: float
    decision: np.ndarray
    labels: np.ndarray


def decision_values(source: SourceStats, target: TargetStats, alpha: float, *, n_test: int = 4000,
                    seed: int = 0) -> DecisionValues:
    """Fit one alpha-fine-tuned classifier (fresh source and target samples) and score `n_test` fresh target points.

    Uses the simulator's pieces (`source_classifier`, `draw_mixture`, `finetune` of `rmt_alpha.simulate`, float32).
    Conditionally on `w_alpha`, `g | y ~ N(y w^T mu_t, |w|^2)`; both concentrate, so the per-class histograms
    approach `N(+-E[y g], Var[g])` of `margin_moments` as p grows (THEORY.md section 1).

    Args:
        source: the ridge source (`SourceStats`). target: the `TargetStats`. alpha: the rescaling.
        n_test: test points (>= 2). seed: integer seed.
    Returns:
        `DecisionValues(alpha, decision, labels)`.
    """
    if not isinstance(source, SourceStats):
        raise TypeError(f"source must be a SourceStats, got {type(source).__name__}")
    if not isinstance(target, TargetStats):
        raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
    check_same_dimension(source.mean, target)
    alpha = float(check_finite_array("alpha", alpha))
    n_test = check_sample_count("n_test", n_test, minimum=2)
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
    fine = finetune(w_s, *draw_mixture(target_key, n, target_mean), gamma)
    X_test, y_test = draw_mixture(test_key, n_test, target_mean)
    return X_test @ fine.at(alpha), y_test
