"""The maximiser of a generalised Rayleigh quotient, `Phi(a^T t / sqrt(t^T B t))` over `t = (1, alpha)` with
`B` positive semi-definite: alpha* for several sources (theory/THEORY.md section 10.3), unconstrained, over
`alpha >= 0`, and the accuracy at it (its limit when alpha* is at infinity). Pure numpy, batched over leading axes
where stated (`rayleigh_ratio` also in JAX).
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.optimize

from rmt_alpha._theory import array_namespace, standard_normal_cdf

EXACT_SUPPORT_LIMIT = 12  # nonnegative alpha*: every support tried up to this many sources, SLSQP beyond
ZERO_DIRECTION = 1e-12     # |u_0| below this times |u| counts as 0 (alpha* at infinity)


def rayleigh_ratio(a, B, t):
    """`a^T t / sqrt(t^T B t)`, with t scaled by `max(1, max |t|)` first (homogeneous of degree 0: no overflow);
    numpy, or `jax.numpy` for JAX input (jit, vmap and grad in t)."""
    xp = array_namespace(a, B, t)
    largest = xp.maximum(1.0, xp.abs(t).max(axis=-1, keepdims=True))
    t = t / largest
    return xp.einsum("...i,...i->...", a, t) / xp.sqrt(xp.einsum("...i,...ij,...j->...", t, B, t))


def pinv_solve(B, a):
    """`B^+ a` with Jacobi scaling (scale-free pseudo-inverse; PSD B, a in its range)."""
    diagonal = np.sqrt(np.einsum("...ii->...i", B))
    scale = np.where(diagonal > 0, 1.0 / np.where(diagonal > 0, diagonal, 1.0), 0.0)
    scaled = B * scale[..., :, None] * scale[..., None, :]
    return scale * np.einsum("...ij,...j->...i", np.linalg.pinv(scaled, rcond=1e-13, hermitian=True), scale * a)


def rayleigh_maximiser(a, B):
    """alpha* of `Phi(a^T t / sqrt(t^T B t))` over `t = (1, alpha)` (section 10.3), batched over leading axes.

    `u = B^+ a`; `alpha* = u[1:] / u[0]` when `u[0] > 0`. Otherwise the supremum is approached as `|alpha| -> inf`
    along `d = B_11^+ a_1` (the sources' block): entries `sign(d_k) inf`, 0 where `d_k = 0`. K = 1: `u` is
    proportional to `(den, num)` of section 3, so this is `argmax_from_stationary`.
    """
    u = pinv_solve(B, a)
    head = u[..., :1]
    finite = head > ZERO_DIRECTION * np.abs(u).max(axis=-1, keepdims=True)
    alpha = u[..., 1:] / np.where(finite, head, 1.0)
    d = pinv_solve(B[..., 1:, 1:], a[..., 1:])
    big = np.abs(d).max(axis=-1, keepdims=True)
    at_infinity = np.where(np.abs(d) > ZERO_DIRECTION * big, np.where(d > 0, np.inf, -np.inf), 0.0)
    return np.where(finite, alpha, at_infinity)


def accuracy_at(a, B, alpha):
    """Predicted accuracy at a unit-scale alpha; where entries are infinite, the limit along their `B_SS^+ a_S`
    direction (`ratio_or_limit`, row by row: a rare path)."""
    if np.all(np.isfinite(alpha)):
        return standard_normal_cdf(rayleigh_ratio(a, B, np.concatenate([np.ones(alpha.shape[:-1] + (1,)), alpha], -1)))
    batch = np.broadcast_shapes(a.shape[:-1], B.shape[:-2], alpha.shape[:-1])
    rows = (np.broadcast_to(value, batch + value.shape[-tail:]).reshape((-1,) + value.shape[-tail:])
            for value, tail in ((a, 1), (B, 2), (alpha, 1)))
    ratios = [ratio_or_limit(*row) for row in zip(*rows)]
    return standard_normal_cdf(np.reshape(ratios, batch))


def nonnegative_maximiser(a, B, allowed) -> np.ndarray:
    """alpha* over alpha >= 0 on the sources `allowed` (one problem): every support if few, else SLSQP."""
    K = a.size - 1
    if len(allowed) > EXACT_SUPPORT_LIMIT:
        return slsqp_maximiser(a, B, allowed)
    best, best_value = np.zeros(K), float(rayleigh_ratio(a, B, np.eye(1, K + 1)[0]))
    for size in range(1, len(allowed) + 1):
        for support in itertools.combinations(allowed, size):
            index = np.array((0,) + tuple(k + 1 for k in support))
            candidate = rayleigh_maximiser(a[index], B[np.ix_(index, index)])
            if np.any(candidate < 0) or np.any(candidate == 0):
                continue  # not this support's interior: a smaller support covers it
            alpha = np.zeros(K)
            alpha[list(support)] = candidate
            value = float(ratio_or_limit(a, B, alpha))
            if value > best_value + 1e-15:
                best, best_value = alpha, value
    return best


def ratio_or_limit(a, B, alpha):
    """The ratio at alpha, or its limit when entries are infinite (along their `B_SS^+ a_S` direction)."""
    if np.all(np.isfinite(alpha)):
        return rayleigh_ratio(a, B, np.concatenate([[1.0], alpha]))
    index = np.flatnonzero(np.isinf(alpha)) + 1
    direction = np.zeros(a.size)
    direction[index] = pinv_solve(B[np.ix_(index, index)], a[index])
    return rayleigh_ratio(a, B, direction)


def slsqp_maximiser(a, B, allowed) -> np.ndarray:
    """Many sources, alpha >= 0: minimise `-ratio` by SLSQP over the allowed entries, from the best of 0 and the
    unconstrained maximiser clipped at 0."""
    K = a.size - 1
    index = np.array([0] + [k + 1 for k in allowed])
    sub_a, sub_B = a[index], B[np.ix_(index, index)]
    start = np.clip(np.nan_to_num(rayleigh_maximiser(sub_a, sub_B), posinf=1e3, neginf=0.0), 0.0, None)
    result = scipy.optimize.minimize(lambda x: -rayleigh_ratio(sub_a, sub_B, np.concatenate([[1.0], x])), start,
                                     method="SLSQP", bounds=[(0.0, None)] * len(allowed),
                                     options={"ftol": 1e-14, "maxiter": 500})
    alpha = np.zeros(K)
    alpha[list(allowed)] = np.maximum(result.x, 0.0)
    return alpha
