"""Deterministic equivalents of the alpha-fine-tuned ridge classifier (theory/THEORY.md section 2).

Fine-tuned classifier: `w_alpha = Q (X y / n + alpha * gamma * w_s)`, `Q = (X X^T / n + gamma I)^-1`.
On a fresh target point the decision `g = w_alpha^T x` has, as p, n -> infinity with `eta = p / n` fixed,

    E[y g]            -> (m + alpha kappa s) / lam
    E[g^2] - E[y g]^2 -> [ (m + eta) + 2 alpha kappa s / (1 + delta)
                           + alpha^2 kappa^2 (lam^2 omega_perp + omega_par ((1 + kappa)^2 + m eta)) / (1 + kappa)^2 ]
                         / (h lam^2)

with `delta` the fixed point of `gamma d^2 + (1 + gamma - eta) d - eta = 0`, `kappa = gamma (1 + delta)`,
`lam = m + 1 + kappa`, `h = 1 - eta / (1 + kappa)^2 = (1 + kappa (1 + delta)) / ((1 + delta)(1 + kappa))`,
`m = |mu_t|^2`, `s = <w_s, mu_t>`, and `|w_s|^2 = omega_par + omega_perp` split into the part along `mu_t`
(`omega_par = s^2 / m`) and the rest. This is theory/THEORY.md's `T1 + alpha T2 + alpha^2 T3 - E^2` rewritten so that
every term is positive: the variance never comes from subtracting two nearly equal numbers, so large gamma or
large n cannot turn it into NaN. Test accuracy `-> Phi(E / sqrt(Var))`.

These closed forms assume white noise; `rmt_alpha._accuracy` dispatches to the general-covariance theory of
section 8 (`rmt_alpha._covariance`) when either side carries a covariance.

Every formula broadcasts over its array arguments. The pure formulas (`ridge_scalars`,
`moments_from_invariants`) follow their inputs: numpy arrays give float64 numpy results, JAX arrays give JAX
results in JAX's current precision, so they run under `jax.jit` and `jax.grad` without switching the session to
64-bit. Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA", arXiv 2510.21345; theory/THEORY.md.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np
import scipy.special

from rmt_alpha._stats import SourceStats, TargetStats, check_same_dimension
from rmt_alpha._validation import check_finite_array, check_positive_array, check_vector

Source = SourceStats | np.ndarray


def array_namespace(*values):
    """`jax.numpy` if any value is a JAX array (or tracer), else `numpy`."""
    return jnp if any(isinstance(value, jax.Array) for value in values) else np


def standard_normal_cdf(x):
    """Phi(x), from scipy for numpy input and from jax.scipy for JAX input."""
    if isinstance(x, jax.Array):
        return jax.scipy.special.ndtr(x)
    return scipy.special.ndtr(x)


class RidgeScalars(NamedTuple):
    """The scalars of the ridge resolvent `Q = (X X^T / n + gamma I)^-1` for `eta = p / n`."""

    delta: object  # positive root of gamma d^2 + (1 + gamma - eta) d - eta = 0
    kappa: object  # gamma (1 + delta)
    h: object      # 1 - eta / (1 + kappa)^2, in (0, 1]


def ridge_scalars(eta, gamma) -> RidgeScalars:
    """`delta`, `kappa` and `h` of theory/THEORY.md section 2, broadcast over `eta` and `gamma`.

    `delta` solves `d = eta (1 + d) / (1 + gamma (1 + d))`. Its root is taken in the form that does not cancel:
    `2 eta / (b + sqrt(b^2 + 4 gamma eta))` when `b = 1 + gamma - eta >= 0`, `(-b + sqrt(...)) / (2 gamma)`
    otherwise. `h` uses `eta / (1 + kappa) = delta / (1 + delta)`, so it needs no subtraction either.

    Args:
        eta: `p / n` (> 0), scalar or array.
        gamma: ridge strength (> 0), scalar or array.

    Returns:
        RidgeScalars: `(delta, kappa, h)`, with `kappa = gamma (1 + delta)`, `h = 1 - eta / (1 + kappa)^2`.

    Example:
        >>> from rmt_alpha import ridge_scalars
        >>> round(float(ridge_scalars(4.0, 1.0).delta), 6)  # 1 + sqrt(5)
        3.236068
    """
    xp = array_namespace(eta, gamma)
    b = 1.0 + gamma - eta
    root = xp.sqrt(b * b + 4.0 * gamma * eta)
    safe_b = xp.where(b >= 0, b, 0.0)
    delta = xp.where(b >= 0, 2.0 * eta / (safe_b + root), (root - b) / (2.0 * gamma))
    kappa = gamma * (1.0 + delta)
    h = (1.0 + kappa * (1.0 + delta)) / ((1.0 + delta) * (1.0 + kappa))
    return RidgeScalars(delta, kappa, h)


class SourceInvariants(NamedTuple):
    """What the theory needs of the source classifier `w_s`, relative to the target mean `mu_t`.

    `s = <w_s, mu_t>`; `|w_s|^2 = omega_par + omega_perp` with `omega_par = s^2 / |mu_t|^2` (0 when `mu_t = 0`).
    """

    s: float
    omega_par: float
    omega_perp: float


def source_invariants(source: Source, target: TargetStats) -> SourceInvariants:
    """`(s, omega_par, omega_perp)` for a ridge source (`SourceStats`) or a given classifier `w_s` (1-D array).

    For the ridge source (theory/THEORY.md section 2), with `m_s = |mu_s|^2`, `eta_s = p / N`,
    `lam_s = m_s + 1 + kappa_s`:
    `s = <mu_s, mu_t> / lam_s` and `|w_s|^2 = (m_s + eta_s) / (h_s lam_s^2)`; the part of `|w_s|^2` outside
    `mu_t` is `|mu_s - (<mu_s, mu_t>/m) mu_t|^2 / lam_s^2` plus the noise `((1 - h_s) m_s + eta_s) / (h_s lam_s^2)`.
    """
    m = target.mean_norm_sq
    if isinstance(source, SourceStats):
        check_same_dimension(source.mean, target)
        projection = float(source.mean @ target.mean)
        along = projection / m if m > 0 else 0.0
        perp = source.mean - along * target.mean
        return SourceInvariants(*(float(value) for value in ridge_source_invariants(
            source.mean_norm_sq, source.eta, source.gamma, projection, m, float(perp @ perp))))
    else:
        w_s = _as_classifier(source)
        check_same_dimension(w_s, target)
        s = float(w_s @ target.mean)
        perp = w_s - (s / m) * target.mean if m > 0 else w_s
        omega_perp = float(perp @ perp)
    omega_par = s * s / m if m > 0 else 0.0
    return SourceInvariants(float(s), float(omega_par), float(omega_perp))


def ridge_source_invariants(source_norm_sq, source_eta, source_gamma, projection, target_norm_sq,
                            source_perp_sq) -> SourceInvariants:
    """`SourceInvariants` of the ridge source from scalars, broadcast over every argument (pure; numpy or JAX).

    Args:
        source_norm_sq: `m_s = |mu_s|^2`. source_eta: `p / N`. source_gamma: `gamma_s`.
        projection: `<mu_s, mu_t>`. target_norm_sq: `m = |mu_t|^2`.
        source_perp_sq: `|mu_s - (<mu_s, mu_t> / m) mu_t|^2`, the part of `mu_s` outside `mu_t` (for
            `mu_t = beta mu_s + mu_perp` it is `m_s |mu_perp|^2 / m`, computed without cancellation).
    """
    xp = array_namespace(source_norm_sq, source_eta, source_gamma, projection, target_norm_sq, source_perp_sq)
    _, kappa_s, h_s = ridge_scalars(source_eta, source_gamma)
    lam_s = source_norm_sq + 1.0 + kappa_s
    noise = ((1.0 - h_s) * source_norm_sq + source_eta) / (h_s * lam_s**2)
    s = projection / lam_s
    positive = target_norm_sq > 0
    omega_par = xp.where(positive, s * s / xp.where(positive, target_norm_sq, 1.0), 0.0)
    return SourceInvariants(s, omega_par, source_perp_sq / lam_s**2 + noise)


def _as_classifier(source) -> np.ndarray:
    if isinstance(source, TargetStats):
        raise TypeError("source must be a SourceStats or a 1-D classifier array w_s, got a TargetStats")
    return check_vector("source (the classifier w_s)", source)


class Moments(NamedTuple):
    """`E[y g]`, `E[g^2]` and `Var = E[g^2] - E[y g]^2` of the decision `g = w_alpha^T x` on a fresh target point.

    Attributes:
        mean: `E[y g]`.
        second_moment: `E[g^2]`.
        variance: `Var[g] = E[g^2] - E[y g]^2`.
    """

    mean: object
    second_moment: object
    variance: object


def margin_coefficients_from_invariants(m, eta, gamma, s, omega_par, omega_perp):
    """`(e0, e1, v0, v1, v2)` with `E[y g] = e0 + e1 alpha` and `Var[g] = v0 + v1 alpha + v2 alpha^2` (the module
    docstring's formulas), broadcast over every argument (pure; numpy or JAX). Every term but `v1` is >= 0."""
    delta, kappa, h = ridge_scalars(eta, gamma)
    c = 1.0 + kappa
    lam = m + c
    quadratic = kappa**2 * (lam**2 * omega_perp + omega_par * (c**2 + m * eta)) / c**2
    spread = h * lam**2
    return (m / lam, kappa * s / lam, (m + eta) / spread, 2.0 * kappa * s / ((1.0 + delta) * spread),
            quadratic / spread)


def moments_from_invariants(m, eta, gamma, s, omega_par, omega_perp, alpha) -> Moments:
    """The two moments from scalar invariants, broadcast over every argument (pure; numpy or JAX).

    Args:
        m: `|mu_t|^2`. eta: `p / n`. gamma: fine-tuning ridge strength.
        s, omega_par, omega_perp: the `SourceInvariants`. alpha: the rescaling factor(s).
    Returns:
        `Moments(mean, second_moment, variance)`, each of the broadcast shape.
    """
    e0, e1, v0, v1, v2 = margin_coefficients_from_invariants(m, eta, gamma, s, omega_par, omega_perp)
    mean = e0 + e1 * alpha
    variance = v0 + (v1 + v2 * alpha) * alpha
    return Moments(mean, variance + mean**2, variance)


def margin_ratio(e0, e1, v0, v1, v2, alpha):
    """`E[y g] / sqrt(Var[g]) = (e0 + e1 alpha) / sqrt(v0 + v1 alpha + v2 alpha^2)` for any finite alpha, without
    overflow: numerator and denominator are evaluated at `(u, a) = (1, alpha) / max(1, |alpha|)`,

        (e0 u + e1 a) / sqrt(v0 u^2 + v1 u a + v2 a^2),

    the same ratio (it is homogeneous of degree 0 in `(1, alpha)`), so `alpha^2` is never formed; as
    `|alpha| -> inf` it tends to its finite limit `sign(alpha) e1 / sqrt(v2)`. Broadcasts (numpy or JAX).
    """
    xp = array_namespace(e0, e1, v0, v1, v2, alpha)
    largest = xp.maximum(1.0, xp.abs(alpha))
    u, a = 1.0 / largest, alpha / largest
    return (e0 * u + e1 * a) / xp.sqrt(v0 * u * u + v1 * u * a + v2 * a * a)


def resolve_gamma(target: TargetStats, gamma):
    """`target.gamma` when `gamma` is None, else the checked override (JAX arrays pass through unchecked)."""
    if not isinstance(target, TargetStats):
        raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
    if gamma is None:
        return target.gamma
    if isinstance(gamma, jax.Array):
        return gamma
    return check_positive_array("gamma", gamma)


def unit_classifier(source: Source, alpha):
    """`(w_s / |w_s|, alpha |w_s|, |w_s|)` for a given classifier `w_s`; `(source, alpha, 1)` for a `SourceStats`
    or `w_s = 0`.

    The fine-tuned classifier `Q (X^T y / n + alpha gamma w_s)` depends on `alpha` and `w_s` only through
    `alpha w_s`, so the theory is evaluated on the unit vector: |w_s|^2 of a classifier scaled by 1e-200 would
    underflow to 0 (and one scaled by 1e200 overflow). |w_s| itself is computed without overflow. alpha passes
    through unchecked (JAX values too); the caller divides an optimal alpha of the unit vector by |w_s|.
    """
    if isinstance(source, SourceStats):
        return source, alpha, 1.0
    w_s = _as_classifier(source)
    largest = float(np.abs(w_s).max())
    if largest == 0.0:
        return w_s, alpha, 1.0
    scaled = w_s / largest
    norm = float(np.linalg.norm(scaled))
    if not isinstance(alpha, jax.Array):
        alpha = check_finite_array("alpha", alpha)
    xp, limit = array_namespace(alpha), np.finfo(np.float64).max
    with np.errstate(over="ignore"):  # alpha |w_s| beyond float64: the largest float gives the same accuracy
        return scaled / norm, xp.clip(alpha * (largest * norm), -limit, limit), largest * norm
