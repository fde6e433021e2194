"""The scalar fixed point of the general-covariance deterministic equivalent (theory/THEORY.md section 8):
`d = tr(Sigma Rbar) / n` with `Rbar = (Sigma / (1 + d) + D)^-1`, in the eigenbasis of C, solved by Newton steps."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from rmt_alpha._validation import describe_value

FIXED_POINT_TOLERANCE = 1e-12  # every fixed point of the package (sections 8 and 9): the relative step that stops it

FIXED_POINT_MAX_ITERATIONS = 100


class FixedPoint(NamedTuple):
    """Solution `d` of `d = tr(Sigma Rbar(d)) / n`, with the Newton iterations used, the final relative step and
    whether it met `FIXED_POINT_TOLERANCE` (arrays over gamma)."""

    d: np.ndarray
    iterations: int
    step: np.ndarray
    converged: np.ndarray


class _Resolvent(NamedTuple):
    """The O(p) description of `Rbar` and its traces at one `d` per gamma (arrays shaped (..., p) or (...,))."""

    d: np.ndarray
    q: np.ndarray      # diagonal part of Rbar on the first p coordinates
    a0: np.ndarray     # a^T b = 1 + sum m^2 q
    tau: np.ndarray    # 1 + d + a0
    b1: np.ndarray     # sum c q^2 m^2
    trace: np.ndarray  # tr(Sigma Rbar) / n
    t_s: np.ndarray    # tr(Sigma Rbar Sigma Rbar) / n
    tr_ka: np.ndarray  # tr(Rbar A Rbar A) for A = diag(c, 0)


def _resolvent(eigenvalues, mean_sq, n, gamma, d) -> _Resolvent:
    """Traces of `Rbar = (Sigma / (1 + d) + D)^-1` in the eigenbasis of C; `gamma` and `d` have shape (...,)."""
    c, t = eigenvalues, (1.0 + d)[..., None]
    q = 1.0 / (c / t + gamma[..., None])
    a0 = 1.0 + (mean_sq * q).sum(-1)
    t = t[..., 0]
    tau = t + a0
    b1 = (c * q * q * mean_sq).sum(-1)
    trace = ((c * q).sum(-1) - b1 / tau + t * a0 / tau) / n
    tr_ka = (c * c * q * q).sum(-1) - 2.0 * (c * c * q**3 * mean_sq).sum(-1) / tau + (b1 / tau) ** 2
    t_s = (tr_ka + 2.0 * t**2 * b1 / tau**2 + (t * a0 / tau) ** 2) / n
    return _Resolvent(d, q, a0, tau, b1, trace, t_s, tr_ka)


def solve_fixed_point(eigenvalues, mean_sq, n: int, gamma, *, tolerance: float = FIXED_POINT_TOLERANCE,
                      max_iterations: int = FIXED_POINT_MAX_ITERATIONS) -> FixedPoint:
    """Solve `d = tr(Sigma Rbar(d)) / n` for every gamma (Newton's method, monotone from above).

    Args:
        eigenvalues: the eigenvalues `c` of C, shape (p,). mean_sq: squared coordinates of mu in C's eigenbasis (p,).
        n: sample count. gamma: ridge strength(s), any shape.
        tolerance: stop when every relative step `|d_new - d| / (1 + d)` is below it.
        max_iterations: iteration cap (a whole number >= 1); when reached, a `RuntimeWarning` names the gammas that
            did not converge.
    Returns:
        `FixedPoint(d, iterations, step, converged)`, d of gamma's shape.
    """
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) or max_iterations < 1:
        raise ValueError(f"max_iterations must be a whole number >= 1, got {describe_value(max_iterations)}")
    gamma = np.asarray(gamma, dtype=np.float64)
    d = (eigenvalues.sum() + mean_sq.sum()) / (gamma * n) + 1.0 / n  # tr(Sigma D^-1) / n >= the root
    step = np.full(gamma.shape, np.inf)
    for iteration in range(1, max_iterations + 1):
        r = _resolvent(eigenvalues, mean_sq, n, gamma, d)
        slope = 1.0 - r.t_s / (1.0 + d) ** 2
        newton = np.where(slope > 0, d - (d - r.trace) / np.where(slope > 0, slope, 1.0), r.trace)
        new_d = np.maximum(newton, 0.5 * d)  # never overshoot below the root by more than a halving
        step = np.abs(new_d - d) / (1.0 + d)
        d = new_d
        if np.all(step <= tolerance):
            break
    converged = step <= tolerance
    if not np.all(converged):
        bad = np.atleast_1d(gamma)[~np.atleast_1d(converged)]
        warnings.warn(f"the covariance fixed point did not converge in {max_iterations} Newton steps for "
                      f"{bad.size} gamma value(s) (first: gamma={bad[0]:.4g}, last relative step "
                      f"{np.max(step):.3g} > tolerance {tolerance:g}); the result may be inaccurate",
                      RuntimeWarning, stacklevel=2)
    return FixedPoint(d, iteration, step, converged)
