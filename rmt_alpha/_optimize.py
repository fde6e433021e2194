"""The best alpha (closed form) and the best ridge strength gamma (numerical), theory/THEORY.md section 3.

The accuracy is `Phi(r(alpha))` with `r = (e0 + e1 alpha) / sqrt(v0 + v1 alpha + v2 alpha^2)`. Its derivative has
the sign of `num - alpha * den`, `num = e1 v0 - e0 v1 / 2`, `den = e0 v2 - e1 v1 / 2`, so r has one stationary
point `num / den`: a maximum when `den > 0`. For the isotropic model (scaled by `lam` and `h lam^2`)

    num = kappa s (m delta / (1 + delta) + eta)
    den = kappa^2 (m lam^2 omega_perp / (1 + kappa)^2 + s^2 (delta / (1 + delta) + m eta / (1 + kappa)^2))

`den` is a sum of non-negative terms (and `num` has the sign of s), so `alpha* = num / den` is always the
maximiser, and finite unless `den = 0`.
Degenerate cases, handled explicitly:
- `s = <w_s, mu_t> = 0` (the source carries nothing along the target mean): `alpha* = 0`, because any multiple
  of `w_s` only adds variance.
- `w_s = 0` or `mu_t = 0`: the accuracy does not depend on alpha (it is 1/2 when `mu_t = 0`); `alpha* = 0`.
- The accuracy equals 1/2 at `alpha_bar = -e0 / e1 = -m / (kappa s)`, infinite when `s = 0`.

With a covariance on either side (theory/THEORY.md section 8), `(e0, e1, v0, v1, v2)` come from
`rmt_alpha._covariance.CovarianceProblem` (prepared once per call, one fixed point per gamma) and `num`, `den`
can have either sign; `argmax_from_stationary` handles both.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.special

from rmt_alpha._accuracy import predicted_accuracy
from rmt_alpha._covariance import CovarianceProblem, has_covariance
from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import Source, resolve_gamma, ridge_scalars, source_invariants, unit_classifier
from rmt_alpha._validation import check_finite_array, check_positive_float

GAMMA_SEARCH_RANGE = (1e-6, 1e6)


def argmax_from_stationary(num, den, e1):
    """Maximiser of `r(alpha)` given its stationary-point numerator and denominator (see the module docstring).

    `num / den` when `den > 0`. When `den <= 0`, r increases without bound in alpha's direction and its supremum
    is at `sign(e1) * inf` (`sign(num) * inf` when `den = 0`); when `num = den = 0`, r is flat and 0 is returned.
    Broadcasts; used by the general-covariance theory too, where `den` can have either sign.
    """
    num, den, e1 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (num, den, e1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        stationary = num / den
    direction = np.where(den < 0, e1, num)
    at_infinity = np.where(direction >= 0, np.inf, -np.inf)
    flat = (num == 0) & (den == 0)
    return np.where(flat, 0.0, np.where(den > 0, stationary, at_infinity))[()]


def _stationary_terms(source: Source, target: TargetStats, gamma):
    """`(num, den, e1)` of the isotropic theory, broadcast over gamma."""
    s, _, omega_perp = source_invariants(source, target)
    return stationary_terms_from_invariants(target.mean_norm_sq, target.eta, gamma, s, omega_perp)


def stationary_terms_from_invariants(m, eta, gamma, s, omega_perp):
    """`(num, den, e1)` of the module docstring from scalar invariants, broadcast over every argument (pure).

    `alpha* = argmax_from_stationary(*stationary_terms_from_invariants(...))` vectorises alpha* over any grid of
    statistics (see `rmt_alpha._theory.ridge_source_invariants` for the ridge source's invariants).
    """
    delta, kappa, _ = ridge_scalars(eta, gamma)
    c2 = (1.0 + kappa) ** 2
    lam = m + 1.0 + kappa
    num = kappa * s * (m * delta / (1.0 + delta) + eta)
    den = kappa**2 * (m * lam**2 * omega_perp / c2 + s * s * (delta / (1.0 + delta) + m * eta / c2))
    return num, den, kappa * s


def optimal_alpha(source: Source, target: TargetStats, *, gamma=None):
    """alpha*, the rescaling that maximises the asymptotic test accuracy (theory/THEORY.md section 3).

    `alpha* = (e1 v0 - e0 v1 / 2) / (e0 v2 - e1 v1 / 2)`, evaluated in the cancellation-free form of the module
    docstring; degenerate cases as listed there.

    Args:
        source: a `SourceStats` (ridge source classifier) or a 1-D array `w_s`.
        target: the `TargetStats`.
        gamma: optional ridge strength(s) overriding `target.gamma`; an array gives alpha* per gamma.
    Returns:
        a float (an array for array gamma).

    Example (theory/THEORY.md section 3):
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(400, 1.5, 0.8, 0.6, 100, 1.0)
        >>> round(optimal_alpha(src, tgt), 4)
        1.7105
    """
    gamma = resolve_gamma(target, gamma)
    source, _, scale = unit_classifier(source, 0.0)  # alpha* of w_s is alpha* of w_s / |w_s|, over |w_s|
    if has_covariance(source, target):
        terms = CovarianceProblem(source, target).coefficients(gamma).stationary_terms()
    else:
        terms = _stationary_terms(source, target, gamma)
    alpha = argmax_from_stationary(*terms) / scale
    return float(alpha) if np.ndim(alpha) == 0 else alpha


def alpha_bar(source: Source, target: TargetStats, *, gamma=None):
    """The alpha at which the mean margin crosses 0 and the accuracy is 1/2: `-m / (kappa s)`.

    Returns `math.inf` when `s = <w_s, mu_t> = 0` (the mean never crosses 0). Broadcasts over gamma.
    """
    gamma = resolve_gamma(target, gamma)
    source, _, scale = unit_classifier(source, 0.0)  # alpha_bar of w_s is alpha_bar of w_s / |w_s| over |w_s|
    if has_covariance(source, target):
        coefficients = CovarianceProblem(source, target).coefficients(gamma)
        with np.errstate(divide="ignore"):
            value = np.where(coefficients.e1 == 0, math.inf, -coefficients.e0 / coefficients.e1)[()] / scale
        return float(value) if np.ndim(value) == 0 else value
    s = source_invariants(source, target).s
    if s == 0:
        return math.inf if np.ndim(gamma) == 0 else np.full(np.shape(gamma), math.inf)
    kappa = ridge_scalars(target.eta, gamma).kappa
    value = -target.mean_norm_sq / (kappa * s) / scale
    return float(value) if np.ndim(value) == 0 else value


class GammaOptimum(NamedTuple):
    """Result of a gamma search: the best `gamma`, the `alpha` used there and the predicted `accuracy`."""

    gamma: float
    alpha: float
    accuracy: float


def optimal_gamma(source: Source, target: TargetStats, alpha: float = 1.0, *,
                  search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
    """gamma*, the fine-tuning ridge strength that maximises the accuracy at a fixed alpha.

    A log-spaced grid over `search_range` (all gammas in one vectorised call), then Brent's bounded method on
    `log gamma` between the grid neighbours of the best point. Warns when the optimum sits on the range's edge.
    """
    alpha = check_finite_array("alpha", alpha)
    if alpha.ndim != 0:
        raise ValueError(f"alpha must be a single number (gamma* is found at one alpha; optimal_alpha_gamma finds "
                         f"both), got an array of shape {alpha.shape}")
    alpha = float(alpha)
    accuracy = _accuracy_function(source, target)
    return _maximise_over_gamma(lambda gamma: (accuracy(alpha, gamma), np.full(np.shape(gamma), alpha)),
                                search_range)


def _accuracy_function(source: Source, target: TargetStats):
    """`(alpha, gamma) -> predicted accuracy`, with a covariance pair prepared once for the whole search."""
    if has_covariance(source, target):
        unit, _, scale = unit_classifier(source, 0.0)
        problem = CovarianceProblem(unit, target)
        return lambda alpha, gamma: problem.accuracy(alpha * scale, gamma)
    return lambda alpha, gamma: predicted_accuracy(source, target, alpha, gamma=gamma)


def optimal_alpha_gamma(source: Source, target: TargetStats, *, search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
    """The joint optimum `(alpha*, gamma*)`: alpha* in closed form for each gamma, gamma searched as in
    `optimal_gamma`.

    With white noise (no covariance) the accuracy keeps rising as gamma -> infinity with `alpha * gamma` held
    fixed: `w_alpha` tends to a multiple of `X y / n + alpha gamma w_s`, the mean-difference classifier pulled
    towards the source, which isotropic noise favours. The search then stops at the edge of `search_range`, warns,
    and returns that edge (a small alpha, a large gamma, and the limiting accuracy).
    """

    if has_covariance(source, target):
        unit, _, scale = unit_classifier(source, 0.0)
        problem = CovarianceProblem(unit, target)

        def accuracy_at_best_alpha(gamma):
            coefficients = problem.coefficients(gamma)
            alpha = np.asarray(argmax_from_stationary(*coefficients.stationary_terms()), dtype=np.float64)
            mean, _, variance = coefficients.moments(np.where(np.isfinite(alpha), alpha, 0.0))
            return scipy.special.ndtr(mean / np.sqrt(variance))[()], alpha / scale
    else:
        def accuracy_at_best_alpha(gamma):
            alpha = np.asarray(optimal_alpha(source, target, gamma=gamma), dtype=np.float64)
            finite = np.where(np.isfinite(alpha), alpha, 0.0)
            return predicted_accuracy(source, target, finite, gamma=gamma), alpha

    return _maximise_over_gamma(accuracy_at_best_alpha, search_range)


def _maximise_over_gamma(accuracy_and_alpha, search_range) -> GammaOptimum:
    if np.ndim(search_range) != 1 or np.size(search_range) != 2:
        raise ValueError(f"search_range must be a pair (low, high), got {search_range!r}")
    low, high = (check_positive_float("search_range", bound) for bound in search_range)
    if not low < high:
        raise ValueError(f"search_range must be (low, high) with low < high, got {tuple(search_range)!r}")
    grid = np.geomspace(low, high, 241)
    accuracy, _ = accuracy_and_alpha(grid)
    best = int(np.argmax(accuracy))
    bracket = np.log(grid[max(best - 1, 0)]), np.log(grid[min(best + 1, grid.size - 1)])
    result = scipy.optimize.minimize_scalar(lambda t: -float(accuracy_and_alpha(np.exp(t))[0]),
                                            bounds=bracket, method="bounded", options={"xatol": 1e-10})
    gamma = float(np.exp(result.x)) if -result.fun >= accuracy[best] else float(grid[best])
    if best in (0, grid.size - 1):
        warnings.warn(f"the best gamma {gamma:.3g} lies on the edge of search_range {tuple(search_range)}; "
                      "the accuracy may keep improving beyond it", RuntimeWarning, stacklevel=3)
    accuracy, alpha = accuracy_and_alpha(gamma)
    return GammaOptimum(gamma, float(alpha), float(accuracy))
