"""Phase maps: alpha* and the accuracies at alpha = 0, 1, alpha* over a grid of task statistics
(theory/THEORY.md sections 2 and 3).

The ridge source classifier, parameterised by ratios only (the asymptotic theory sees nothing else): `|mu_s|`,
`beta`, `|mu_perp|` (so `mu_t = beta mu_s + mu_perp`, `|mu_t|^2 = beta^2 |mu_s|^2 + |mu_perp|^2`), the source sample
ratio `N / p`, the target ratio `n / p` and the ridge strengths `gamma_s`, `gamma`. Every argument broadcasts; the
whole grid is one vectorised evaluation of `ridge_source_invariants`, `stationary_terms_from_invariants` +
`argmax_from_stationary` and `moments_from_invariants`.
Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA", arXiv 2510.21345; theory/THEORY.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._problem import argmax_from_stationary, stationary_terms_from_invariants
from rmt_alpha._stats import SourceStats, TargetStats, alignment
from rmt_alpha._theory import (
    moments_from_invariants,
    ridge_source_invariants,
    standard_normal_cdf,
)
from rmt_alpha._validation import (
    check_count,
    check_finite_array,
    check_positive_array,
)


class PhaseMap(NamedTuple):
    """alpha* and the predicted accuracies on a grid of statistics (all arrays of the grid's broadcast shape).

    Attributes:
        beta, n_over_p, gamma: the grid coordinates (broadcast to the grid shape).
        alpha_star: the accuracy-maximising alpha (theory/THEORY.md section 3).
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
    `Phi(E[y g] / sqrt(Var[g]))` from `moments_from_invariants`. Every argument broadcasts (e.g. `beta[None, :]` and
    `n_over_p[:, None]`).

    Args:
        beta: alignment `<mu_s, mu_t> / |mu_s|^2` (any real).
        n_over_p: target samples per dimension (> 0).
        gamma: fine-tuning ridge strength (> 0).
        source_norm: `|mu_s|` (> 0).
        perp_norm: `|mu_perp|` (>= 0).
        source_n_over_p: source samples per dimension `N / p` (> 0).
        source_gamma: the source ridge strength `gamma_s` (> 0).

    Returns:
        PhaseMap: of the broadcast shape.

    Raises:
        ValueError: a value is out of range, or `beta = 0` and `|mu_perp| = 0` meet (no target signal).

    Example:
        theory/THEORY.md section 3 (p = 400, N = 2000, n = 100):

        >>> from rmt_alpha import phase_map
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


def phase_maps_around(source: SourceStats, target: TargetStats, beta, *, over=("n_over_p", "gamma"),
                      grid: int = 121) -> dict:
    """Phase maps through a given source/target pair: beta on the horizontal axis, and on the vertical axis
    `n / p` (0.02 to 10, log) or gamma (0.01 to 100, log), every other statistic held at the pair's value.

    Args:
        source: the ridge source (`SourceStats`; only its norm, N / p and gamma matter).
        target: the `TargetStats` (its |mu_perp| relative to the source, n / p and gamma).
        beta: 1-D array of alignments for the horizontal axis.
        over: vertical axes, a subset of ("n_over_p", "gamma").
        grid: points on each vertical axis (>= 2).
    Returns:
        dict from each name in `over` to a 2-D `PhaseMap` of shape (grid, beta.size).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import SourceStats, TargetStats
        >>> from rmt_alpha._phase import phase_maps_around
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> phase_maps_around(src, tgt, np.linspace(-0.5, 1.5, 5), grid=3)["gamma"].alpha_star.shape
        (3, 5)
    """
    unknown = [name for name in over if name not in ("n_over_p", "gamma")]
    if unknown or not over:
        raise ValueError(f"over must be a non-empty subset of ('n_over_p', 'gamma'), got {tuple(over)}")
    grid = check_count("grid", grid, minimum=2)
    source_norm, _, perp_norm = alignment(source, target)
    beta = check_finite_array("beta", beta)
    spans = {"n_over_p": np.geomspace(0.02, 10.0, grid), "gamma": np.geomspace(1e-2, 1e2, grid)}
    fixed = {"n_over_p": target.n / target.p, "gamma": target.gamma}
    maps = {}
    for name in over:
        axes = {key: (spans[key][:, None] if key == name else value) for key, value in fixed.items()}
        maps[name] = phase_map(beta[None, :], axes["n_over_p"], axes["gamma"], source_norm=source_norm,
                               perp_norm=perp_norm, source_n_over_p=source.n / source.p,
                               source_gamma=source.gamma)
    return maps
