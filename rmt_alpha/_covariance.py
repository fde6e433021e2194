"""Deterministic equivalents with a general noise covariance (theory/THEORY.md section 8); estimating the covariances
from data is `rmt_alpha._estimation`.

Model: `x = y mu + C^{1/2} z`, class-independent covariance `C` (`C_s` on the source, `C_t` on the target).
With `u_i = y_i x_i ~ N(mu, C)` and `v_i = (u_i, 1)`, the fine-tuning ridge is a sample-covariance problem in
dimension p + 1: `Sigma = [[C + mu mu^T, mu], [mu^T, 1]]`, `D = diag(gamma I_p, 1)`, `R = (V V^T / n + D)^-1`,
`Q X y / n = -R[:p, p] / R[p, p]`, and

- first order: `R ~ Rbar = (Sigma / (1 + d) + D)^-1`, `d = tr(Sigma Rbar) / n` (one scalar fixed point);
- second order: `R A R ~ M_A = Rbar A Rbar + Rbar Sigma Rbar t_A / ((1 + d)^2 - t_S)`, `t_A = tr(Sigma Rbar A Rbar)/n`,
  `t_S = tr(Sigma Rbar Sigma Rbar) / n` (`-d/dt` of the first-order map with `D + t A`);
- the fine-tuned classifier `w = [R g]_{:p}`, `g = c1 e + alpha gamma (w_s, 0)`: `E[y g] ~ (mu, 0)^T Rbar g`,
  `w^T C w ~ g^T M_{diag(C, 0)} g`; the source classifier `w_s = -R_s[:p, p] / R_s[p, p]` has mean
  `-Rbar_s[:p, p] / Rbar_s[p, p]` and second moment `M_{e e^T}[:p, :p] / Rbar_s[p, p]^2`.

Implementation. In the eigenbasis of `C` (eigenvalues `c_j`, rotated mean `m_j`), `Sigma = diag(c, 0) + a a^T` with
`a = (m, 1)`, so `Rbar = diag(q) - b b^T / tau` with `q = (1 / (c / (1 + d) + gamma), 1)`, `b = q a`,
`tau = 1 + d + a^T b`: every trace is an O(p) sum. With `A0 = a^T b`, `eps = 1 / (d + A0)`, `beta = q m`,
`nu = c q^2 m`, `B1 = sum c beta^2`, `theta = t_A / ((1 + d)^2 - t_S)`, `H = (1 + theta) B1 + theta (1 + d)^2`, and the
source classifier's mean `x` and second moment `S` in the target's eigenbasis, the margin is affine in alpha and its
variance quadratic:

    E[y g]  = e0 + e1 alpha,             e0 = (A0 - 1) eps,  e1 = gamma (1 + d) eps <beta, x>
    w^T C w = v0 + v1 alpha + v2 alpha^2, v0 = H eps^2,
              v1 = 2 gamma eps ((1 + theta) <nu, x> - H eps <beta, x>),
              v2 = gamma^2 ((1 + theta) (sum_j c_j q_j^2 S_jj - 2 eps nu^T S beta) + H eps^2 beta^T S beta)

so a whole alpha curve costs one fixed-point solve per gamma (vectorised over gamma). The fixed point is solved by
Newton's method on the convex `d - tr(Sigma Rbar(d)) / n` from the upper bound `tr(Sigma D^-1) / n`, so the iterates
decrease monotonically to the root; the derivative is `1 - t_S / (1 + d)^2`, the same denominator as the second
order. With `C = I` all of this tends to the closed forms of section 2 (difference O(1/p)).

Estimation uses scikit-learn's shrinkage estimators (`LedoitWolf`, `OAS`).
Reference: theory/THEORY.md section 8; El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import jax
import numpy as np
import scipy.special

from rmt_alpha._fixed_point import _resolvent, solve_fixed_point
from rmt_alpha._problem import MarginCoefficients, ProblemMethods
from rmt_alpha._stats import (
    COVARIANCE_TOLERANCE,
    SourceStats,
    Spectrum,
    TargetStats,
    check_covariance,
    check_same_dimension,
)
from rmt_alpha._theory import Moments, resolve_gamma
from rmt_alpha._validation import check_finite_array, check_vector


def has_covariance(source, target) -> bool:
    """True when the source (a `SourceStats`) or the target carries a covariance, so section 8 applies."""
    return getattr(target, "cov", None) is not None or (isinstance(source, SourceStats) and source.cov is not None)






class MarginTerms(NamedTuple):
    """`CovarianceProblem.margin_terms`: the fixed point's terms at each gamma, and `e0`, `v0` (source-free)."""

    gamma: np.ndarray
    t: np.ndarray
    eps: np.ndarray
    theta: np.ndarray
    h: np.ndarray
    beta: np.ndarray
    nu: np.ndarray
    weight: np.ndarray
    e0: np.ndarray
    v0: np.ndarray
    fixed_point: object


class ClassifierMoments(NamedTuple):
    """Mean `E[w_s]` (p,) and second-moment matrix `E[w_s w_s^T]` (p, p) of the source classifier."""

    mean: np.ndarray
    second_moment: np.ndarray


class _SecondMoment(NamedTuple):
    """`S = W diag(sigma) W^T + F core F^T` in some basis (`W = None` means the identity)."""

    rotation: np.ndarray | None
    sigma: np.ndarray | None
    factors: np.ndarray
    core: np.ndarray

    def rotate(self, basis_change: np.ndarray | None) -> _SecondMoment:
        """The same matrix in coordinates `x -> basis_change @ x`."""
        if basis_change is None:
            return self
        rotation = basis_change if self.rotation is None else basis_change @ self.rotation
        return _SecondMoment(rotation if self.sigma is not None else None, self.sigma,
                             basis_change @ self.factors, self.core)

    def diagonal(self) -> np.ndarray:
        low_rank = np.einsum("ja,ab,jb->j", self.factors, self.core, self.factors)
        if self.sigma is None:
            return low_rank
        if self.rotation is None:
            return self.sigma + low_rank
        return (self.rotation**2) @ self.sigma + low_rank

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """`S @ v` for each row v of `vectors` (..., p)."""
        result = ((vectors @ self.factors) @ self.core) @ self.factors.T
        if self.sigma is None:
            return result
        if self.rotation is None:
            return result + vectors * self.sigma
        return result + ((vectors @ self.rotation) * self.sigma) @ self.rotation.T

    def dense(self) -> np.ndarray:
        return self.apply(np.eye(self.factors.shape[0]))


def _ridge_source_moments(source: SourceStats, spectrum: Spectrum):
    """Mean and `_SecondMoment` of the ridge source classifier in the eigenbasis of `spectrum` (its C_s, or any
    orthonormal basis when C_s = I), and that basis. See the module docstring for the symbols."""
    c, basis = spectrum
    mean = basis.T @ source.mean
    mean_sq = mean**2
    d = solve_fixed_point(c, mean_sq, source.n, np.asarray(source.gamma)).d
    r = _resolvent(c, mean_sq, source.n, np.asarray(source.gamma), d)
    t = 1.0 + d
    eps = 1.0 / (d + r.a0)
    beta, nu = r.q * mean, c * r.q**2 * mean
    theta = (r.b1 + t * t) / (r.tau**2 * source.n) / (t * t - r.t_s)
    scale = theta * (eps * r.tau) ** 2                 # theta / Rbar_s[p, p]^2
    w_mean = eps * beta
    core = np.array([[1.0, 0.0, 0.0],
                     [0.0, scale * (r.b1 + t * t) / r.tau**2, -scale / r.tau],
                     [0.0, -scale / r.tau, 0.0]])
    second = _SecondMoment(None, scale * c * r.q**2, np.stack([w_mean, beta, nu], axis=1), core)
    return w_mean, second, basis


def ridge_classifier_moments(source: SourceStats) -> ClassifierMoments:
    """Deterministic equivalents of the ridge source classifier's mean and second-moment matrix (dense, p x p).

    `E[w_s] ~ -Rbar_s[:p, p] / Rbar_s[p, p]`, `E[w_s w_s^T] ~ M_{e e^T}[:p, :p] / Rbar_s[p, p]^2` (theory/THEORY.md
    section 8). `C_s = source.cov`, or I when None.
    """
    if not isinstance(source, SourceStats):
        raise TypeError(f"source must be a SourceStats, got {type(source).__name__}")
    mean, second, basis = _ridge_source_moments(source, _spectrum_or_identity(source))
    return ClassifierMoments(basis @ mean, basis @ second.dense() @ basis.T)


def source_moments_in(source, spectrum: Spectrum):
    """The source classifier's mean (p,) and second moment (`_SecondMoment`) in the eigenbasis of `spectrum` (the
    target's): a ridge source (`SourceStats`, section 8's deterministic equivalents) or a fixed classifier `w_s`
    (1-D array; its second moment is `w_s w_s^T`)."""
    basis = spectrum.eigenvectors
    if isinstance(source, SourceStats):
        w_mean, second, source_basis = _ridge_source_moments(source, _spectrum_or_identity(source, spectrum))
        change = None if source_basis is basis else basis.T @ source_basis
        return (w_mean if change is None else change @ w_mean), second.rotate(change)
    mean = basis.T @ source
    return mean, _SecondMoment(None, None, mean[:, None], np.ones((1, 1)))


def _spectrum_or_identity(stats, basis_from=None) -> Spectrum:
    if stats.cov is not None:
        return stats.cov
    if basis_from is not None:  # C = I is diagonal in any orthonormal basis: share the other side's
        return Spectrum(np.ones(stats.p), basis_from.eigenvectors)
    return Spectrum(np.ones(stats.p), np.eye(stats.p))




class CovarianceProblem(ProblemMethods):
    """A source/target pair prepared for the covariance theory: the target's eigenbasis, and the source classifier's
    mean and second moment rotated into it (the only O(p^3) work, done once). `coefficients(gamma)` then costs one
    fixed point and O(p) (O(p^2) for two covariances with different eigenbases) per gamma; the accuracy, alpha*,
    alpha_bar and gamma* are its methods (`rmt_alpha._problem.ProblemMethods`).

    Args:
        source: a `SourceStats` (ridge source; `cov` or I) or a fixed classifier `w_s` (1-D array).
        target: a `TargetStats` (`cov` or I).
    """

    def __init__(self, source, target: TargetStats):
        if not isinstance(target, TargetStats):
            raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
        self.target = target
        source_cov = source.cov if isinstance(source, SourceStats) else None
        spectrum = _spectrum_or_identity(target, basis_from=source_cov)
        self.eigenvalues, basis = spectrum
        self.basis = basis
        self.mean = basis.T @ target.mean
        if isinstance(source, TargetStats):
            raise TypeError("source must be a SourceStats or a 1-D classifier array w_s, got a TargetStats")
        if not isinstance(source, SourceStats):
            source = check_vector("source (the classifier w_s)", source)
        check_same_dimension(source.mean if isinstance(source, SourceStats) else source, target)
        self.source_mean, self.source_second = source_moments_in(source, spectrum)
        self._source_diagonal = self.source_second.diagonal()

    def margin_terms(self, gamma=None) -> MarginTerms:
        """The source-free terms of the margin at `gamma` (module docstring's symbols; `weight = c q^2`): the margin
        of any fixed classifier x (in the target's eigenbasis) is linear (`e1`, `v1`) and quadratic (`v2`) in x.

        Args:
            gamma: ridge strength(s) (default `target.gamma`), concrete values.

        Returns:
            MarginTerms: the terms, broadcast over gamma (and a batch of target means).

        Raises:
            TypeError: `gamma` is a traced JAX value.
        """
        gamma = resolve_gamma(self.target, gamma)
        if isinstance(gamma, jax.core.Tracer):
            raise TypeError("gamma must be a concrete number or array with a covariance (the fixed point is solved "
                            "in numpy); got a traced JAX value. alpha may be traced.")
        gamma = np.asarray(gamma, dtype=np.float64)
        gamma = np.broadcast_to(gamma, np.broadcast_shapes(gamma.shape, self.mean.shape[:-1]))
        c, m, n = self.eigenvalues, self.mean, self.target.n
        fixed_point = solve_fixed_point(c, m * m, n, gamma)
        d = fixed_point.d
        r = _resolvent(c, m * m, n, gamma, d)
        t = 1.0 + d
        eps = 1.0 / (d + r.a0)
        theta = (r.tr_ka + t * t * r.b1 / r.tau**2) / n / (t * t - r.t_s)
        h = (1.0 + theta) * r.b1 + theta * t * t
        beta = r.q * m
        nu = c * r.q * beta
        return MarginTerms(gamma, t, eps, theta, h, beta, nu, c * r.q**2, (r.a0 - 1.0) * eps, h * eps**2,
                           fixed_point)

    def coefficients(self, gamma=None) -> MarginCoefficients:
        """`MarginCoefficients` for the fine-tuning ridge strength(s) `gamma` (theory/THEORY.md section 8).

        Args:
            gamma: ridge strength(s) (default `target.gamma`); concrete values: the covariance solver runs in numpy, so
                gamma cannot be a traced JAX value.

        Returns:
            MarginCoefficients: the five coefficients, broadcast over gamma (and over a batch of target means).

        Raises:
            TypeError: `gamma` is a traced JAX value.
        """
        gamma, t, eps, theta, h, beta, nu, weight, e0, v0, fixed_point = self.margin_terms(gamma)
        x = self.source_mean
        beta_x, nu_x = beta @ x, nu @ x
        s_beta = self.source_second.apply(beta)
        s_beta_beta = (s_beta * beta).sum(-1)
        s_nu_beta = (s_beta * nu).sum(-1)
        s_diag = weight @ self._source_diagonal
        e1 = gamma * t * eps * beta_x
        v1 = 2.0 * gamma * eps * ((1.0 + theta) * nu_x - h * eps * beta_x)
        v2 = gamma**2 * ((1.0 + theta) * (s_diag - 2.0 * eps * s_nu_beta) + h * eps**2 * s_beta_beta)
        return MarginCoefficients(e0, e1, v0, v1, v2, fixed_point)

    def with_target_means(self, means) -> CovarianceProblem:
        """The same source, target covariance and n with a batch of target means (theory/THEORY.md section 8).

        One O(p^2) rotation per mean, no new eigendecomposition: `coefficients`, and every method, then broadcast over
        the batch shape (a gamma array must broadcast against it).

        Args:
            means: (..., p) target means.

        Returns:
            CovarianceProblem: the problem batched over the leading axes of `means`.

        Raises:
            ValueError: `means` is not finite or its last axis is not the dimension p.
        """
        means = check_finite_array("means", means)
        if means.shape[-1:] != self.mean.shape[-1:]:
            raise ValueError(f"means must have shape (..., {self.mean.shape[-1]}) (the dimension p), got {means.shape}")
        batch = copy.copy(self)
        batch.mean = means @ self.basis
        return batch

    def margin_moments(self, alpha, gamma=None) -> Moments:
        """`Moments` of the fine-tuned margin at alpha and gamma, broadcast together (theory/THEORY.md section 8).

        Args:
            alpha: base-rescaling factor(s), numpy or JAX.
            gamma: ridge strength(s), numpy (default `target.gamma`).

        Returns:
            Moments: mean, second moment and variance of the margin.
        """
        if not isinstance(alpha, jax.Array):
            alpha = check_finite_array("alpha", alpha)
        return self.coefficients(gamma).moments(alpha)


def covariance_margin_moments(source, target: TargetStats, alpha, *, gamma=None) -> Moments:
    """`E[y g]`, `E[g^2]` and `Var[g] = w^T C_t w` of the alpha-fine-tuned classifier, general covariance.

    `theory.margin_moments` calls this whenever the source or the target carries `cov`.

    Args:
        source: a `SourceStats` (ridge source) or a 1-D array `w_s`. target: the `TargetStats`.
        alpha: any shape (numpy, or JAX). gamma: optional ridge strength(s) overriding `target.gamma` (numpy).
    Returns:
        `Moments` of the broadcast shape of alpha and gamma.

    Example (C = I gives section 3's numbers up to O(1/p)):
        >>> import numpy as np, scipy.special
        >>> from rmt_alpha import SourceStats, TargetStats
        >>> from rmt_alpha._covariance import covariance_margin_moments
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0, cov=np.eye(400))
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> moments = covariance_margin_moments(src, tgt, [0.0, 1.0, 3.0])
        >>> np.round(scipy.special.ndtr(moments.mean / np.sqrt(moments.variance)), 3)
        array([0.755, 0.849, 0.851])
    """
    return CovarianceProblem(source, target).margin_moments(alpha, gamma)


def covariance_source_accuracy(source: SourceStats) -> float:
    """Accuracy of the ridge source classifier on its own task: `Phi(mu_s^T E[w_s] / sqrt(tr(C_s E[w_s w_s^T])))`."""
    if not isinstance(source, SourceStats):
        raise TypeError(f"source must be a SourceStats, got {type(source).__name__}")
    spectrum = _spectrum_or_identity(source)
    w_mean, second, basis = _ridge_source_moments(source, spectrum)
    mean = (basis.T @ source.mean) @ w_mean
    variance = spectrum.eigenvalues @ second.diagonal()
    return float(scipy.special.ndtr(mean / np.sqrt(variance)))


def covariance_conditional_accuracy(w, mean, cov) -> np.ndarray:
    """Exact test accuracy of `sign(w^T x)` on the mixture: `Phi(w^T mean / sqrt(w^T C w))` (over w's last axis).

    A w with `w^T C w = 0` decides every point by `sign(y w^T mean)` alone: accuracy 1 or 0 (0 when
    `w^T mean = 0` too: a tie counts as wrong).

    Args:
        w: (..., p) classifier(s).
        mean: (p,) class mean `mu` of the mixture `x = y mu + noise`.
        cov: the noise covariance, a (p, p) positive semi-definite matrix or a `Spectrum` (checked as in
            `SourceStats`).

    Returns:
        np.ndarray: accuracy of shape `w.shape[:-1]`.

    Raises:
        ValueError: w = 0 (no decision at all), w or mean not finite, or cov not a covariance.
    """
    w = check_finite_array("w", w)
    if w.ndim == 0 or w.shape[-1] == 0:
        raise ValueError(f"w must have the dimension p on its last axis, got shape {w.shape}")
    mean = check_vector("mean", mean, length=w.shape[-1])
    zero = ~np.any(w != 0, axis=-1)
    if np.any(zero):
        raise ValueError(f"w must be nonzero: w = 0 gives w^T x = 0 for every x (no decision), got "
                         f"{np.count_nonzero(zero)} zero classifier(s)")
    if isinstance(cov, Spectrum):
        eigenvalues, eigenvectors = check_covariance("cov", cov, mean.size)
        spread = ((w @ eigenvectors) ** 2 * eigenvalues).sum(-1)
    else:  # O(p^2) per classifier: a negative w^T C w proves C is not a covariance
        matrix = check_finite_array("cov", cov)
        if matrix.shape != (mean.size, mean.size):
            raise ValueError(f"cov must have shape ({mean.size}, {mean.size}), got shape {matrix.shape}")
        spread = np.einsum("...i,ij,...j->...", w, matrix, w)
        size = np.einsum("...i,ij,...j->...", np.abs(w), np.abs(matrix), np.abs(w))
        if np.any(spread < -COVARIANCE_TOLERANCE * size):
            raise ValueError(f"cov must be positive semi-definite, got w^T cov w = {float(np.min(spread)):.3g} < 0")
        spread = np.maximum(spread, 0.0)
    margin = w @ mean
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(spread > 0, margin / np.sqrt(spread), np.where(margin > 0, np.inf, -np.inf))
    return scipy.special.ndtr(ratio)
