"""The semi-empirical theory for several fixed sources (theory/THEORY.md sections 9 and 10.2): alpha a vector.

With sources `W = [w_1 ... w_K]` the fine-tuned classifier is `w = [R g]_{:p}`, `g = g0 + sum_k alpha_k g_k`, so
for every target row j (leave-self-out, over the training draws) the margin's mean is affine and its variance
quadratic in `t = (1, alpha)`:

    E[y_j g(x_j)] = mean_j^T t,    Var[g(x_j)] = t^T var_j t,
    accuracy(alpha) = sum_j pi_j Phi(mean_j^T t / sqrt(t^T var_j t))

(`rmt_alpha._semi_empirical.source_row_coefficients`; K = 1 is section 9's `RowMargins`). Unlike the Gaussian
theories (a single Rayleigh quotient, section 10.3) the row average has no closed-form maximiser. alpha* is found
by L-BFGS on `t = (z_0^2, z_1, ..., z_K)` (every `t` with `t_0 >= 0`, the limits at infinity included, is reached
at a finite `z`; each row's ratio is homogeneous of degree 0 in `t`), with the analytic gradient
`d r_j / d t = mean_j / sd_j - (mean_j^T t) var_j t / sd_j^3`, started from each source alone at its own alpha*
(`RowMargins.optimal_alpha`), the uniform mixture, zero, and the Rayleigh maximiser of the row-averaged moments;
the best end point is kept. When it ends at `t_0 = 0` (the accuracy still rising as `|alpha| -> inf`), the entries
along the limiting direction are returned as `+-inf`, as section 10.3 does.
Reference: theory/THEORY.md sections 9 and 10; El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
import scipy.optimize
import scipy.special

from rmt_alpha._rayleigh import rayleigh_maximiser
from rmt_alpha._semi_empirical import RowFixedPoint, RowLaw, RowMargins, source_row_coefficients
from rmt_alpha._sources import check_sources
from rmt_alpha._stats import TargetStats
from rmt_alpha._validation import check_finite_array, check_positive_array

INFINITE_DIRECTION = 1e-9   # t_0 below this times |t| at the optimum: alpha* at infinity along t[1:]


def margin_ratios(mean, var, t) -> np.ndarray:
    """`mean_j^T t / sqrt(t^T var_j t)` (N, k) for t (k, K + 1), each t scaled to unit max-norm first."""
    t = t / np.max(np.abs(t), axis=-1, keepdims=True)
    numerator = t @ mean.T                                               # (k, N)
    variance = np.einsum("ka,jab,kb->kj", t, var, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, numerator / np.sqrt(np.maximum(variance, 0.0)), np.sign(numerator) * np.inf).T


def with_one(alpha) -> np.ndarray:
    """`t = (1, alpha)` for alpha (..., K), infinite entries kept as the limit (t scaled so that it stays finite)."""
    alpha = np.asarray(alpha, np.float64)
    infinite = np.isinf(alpha)
    if not np.any(infinite):
        return np.concatenate([np.ones(alpha.shape[:-1] + (1,)), alpha], axis=-1)
    limit = np.any(infinite, axis=-1, keepdims=True)
    direction = np.where(infinite, np.sign(alpha), 0.0)
    finite = np.concatenate([np.ones(alpha.shape[:-1] + (1,)), np.where(infinite, 0.0, alpha)], axis=-1)
    return np.where(limit, np.concatenate([np.zeros(alpha.shape[:-1] + (1,)), direction], axis=-1), finite)


class SourceRowMargins(NamedTuple):
    """Per target row j (leave-self-out): `E[y_j g(x_j)] = mean[j] @ t`, `Var[g(x_j)] = t @ var[j] @ t`,
    `t = (1, alpha)`; mean (N, K + 1), var (N, K + 1, K + 1), the row weights (N,) summing to 1 and the fixed point
    behind them."""

    mean: np.ndarray
    var: np.ndarray
    weights: np.ndarray
    fixed_point: RowFixedPoint | None

    def accuracy(self, alpha) -> np.ndarray:
        """`sum_j pi_j Phi(mean_j^T t / sqrt(t^T var_j t))` at alpha (..., K) (an infinite entry: the limit along
        it)."""
        t = with_one(check_finite_or_infinite(alpha, self.mean.shape[1] - 1))
        ratio = margin_ratios(self.mean, self.var, t.reshape(-1, t.shape[-1]))
        return (self.weights @ scipy.special.ndtr(ratio)).reshape(t.shape[:-1])

    def risk(self, alpha) -> np.ndarray:
        """Squared-loss risk `sum_j pi_j ((1 - mean_j^T t)^2 + t^T var_j t)` at finite alpha (..., K)."""
        alpha = check_finite_array("alpha", alpha)
        t = with_one(alpha).reshape(-1, self.mean.shape[1])
        first = t @ self.mean.T
        variance = np.einsum("ka,jab,kb->kj", t, self.var, t)
        return (((1.0 - first) ** 2 + variance) @ self.weights).reshape(alpha.shape[:-1])

    def single(self, k: int) -> RowMargins:
        """Source k alone (the others at 0), as section 9's `RowMargins`."""
        i = k + 1
        return RowMargins(self.mean[:, 0], self.mean[:, i], self.var[:, 0, 0], 2.0 * self.var[:, 0, i],
                          self.var[:, i, i], self.weights, self.fixed_point)

    def single_optima(self) -> tuple[np.ndarray, np.ndarray]:
        """Each source alone: its alpha* (K,) (section 9's search, `+-inf` possible) and the accuracy there (K,)."""
        K = self.mean.shape[1] - 1
        alphas = np.array([self.single(k).optimal_alpha() for k in range(K)])
        accuracy = np.array([float(self.single(k).accuracy(alphas[k])) for k in range(K)])
        return alphas, accuracy

    def default_starts(self, singles=None) -> np.ndarray:
        """The starting alphas of `optimal_alpha` (besides the uniform mixture): zero, the maximiser of the
        row-averaged moments, and each source alone at its own alpha* (`singles`, (K,), from `single_optima`;
        computed when not given)."""
        K = self.mean.shape[1] - 1
        singles = self.single_optima()[0] if singles is None else singles
        alone = np.diag(np.clip(np.nan_to_num(singles, posinf=1e6, neginf=-1e6), -1e6, 1e6))
        return np.vstack([np.zeros(K), self._averaged_start(), alone])

    def optimal_alpha(self, weights=None, starts=None, *, nonnegative: bool = False, subset=None) -> np.ndarray:
        """alpha* (K,) maximising `accuracy` (module docstring): L-BFGS-B on `t = (z_0^2, z_1..z_K)` from several
        starts, the best end point kept; `+-inf` entries when the best is the limit as `|alpha| -> inf`.

        Args:
            weights: (N,) row weights replacing `pi` (may be negative: a bootstrap replicate whose pseudo-label of
                row j flipped counts `Phi(-r_j) = 1 - Phi(r_j)`, a weight `-d_j` plus a constant `d_j`, which does
                not move alpha*).
            starts: starting alphas (k, K) besides the uniform mixture (default `default_starts()`); a bootstrap
                replicate starts from the data's alpha* alone (the cheap path).
            nonnegative: constrain every alpha_k >= 0 (bounds `z_k >= 0`; `t_0 >= 0` already).
            subset: indices of the sources allowed a nonzero alpha (the others held at 0); default all.
        """
        weights = self.weights if weights is None else np.asarray(weights, np.float64)
        K = self.mean.shape[1] - 1
        allowed = np.zeros(K, bool)
        allowed[list(range(K)) if subset is None else list(subset)] = True
        low = np.where(allowed, 0.0 if nonnegative else -np.inf, 0.0)
        high = np.where(allowed, np.inf, 0.0)
        starts = self.default_starts() if starts is None else np.atleast_2d(np.asarray(starts, np.float64))
        candidates = [np.full(K, 1.0 / K), *starts]
        bounds = [(None, None)] + [(None if np.isinf(a) else a, None if np.isinf(b) else b) for a, b in zip(low, high)]
        best_t, best_value = None, -np.inf
        for start in candidates:
            if not np.all(np.isfinite(start)):
                continue
            t, value = self._climb(np.r_[1.0, np.clip(start, low, high)], weights, bounds)
            if value > best_value:
                best_t, best_value = t, value
        return _alpha_of(best_t)

    def _averaged_start(self) -> np.ndarray:
        """The Rayleigh maximiser of the row-averaged moments (`a = sum pi_j mean_j`, `B = sum pi_j var_j`)."""
        alpha = rayleigh_maximiser(self.weights @ self.mean, np.einsum("j,jab->ab", self.weights, self.var))
        return np.where(np.isfinite(alpha), alpha, 0.0)

    def _climb(self, t0, weights, bounds) -> tuple[np.ndarray, float]:
        """L-BFGS from `t0` (t0[0] = 1) on `z` with `t = (z_0^2, z_1..)`; returns the end point's t and value."""
        mean, var = self.mean, self.var

        def negative(z):
            t = np.r_[z[0] ** 2, z[1:]]
            scale = np.max(np.abs(t))
            if scale == 0.0:
                return 0.0, np.zeros_like(z)
            u = t / scale
            first = mean @ u                                             # (N,)
            var_u = var @ u                                              # (N, K + 1)
            variance = var_u @ u
            sd = np.sqrt(np.maximum(variance, 1e-300))
            ratio = first / sd
            value = weights @ scipy.special.ndtr(ratio)
            slope = weights * np.exp(-0.5 * ratio**2) / np.sqrt(2.0 * np.pi)
            grad_u = slope @ (mean / sd[:, None] - (first / sd**3)[:, None] * var_u)
            grad_t = grad_u / scale                         # the ratio is homogeneous of degree 0
            grad_z = grad_t.copy()
            grad_z[0] = grad_t[0] * 2.0 * z[0]
            return -value, -grad_z

        found = scipy.optimize.minimize(negative, t0, jac=True, method="L-BFGS-B", bounds=bounds,
                                        options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-14})
        z = found.x
        return np.r_[z[0] ** 2, z[1:]], float(-found.fun)


def _alpha_of(t) -> np.ndarray:
    """alpha from `t = (t_0, alpha t_0)`; `+-inf` along `t[1:]` when `t_0` is negligible (the limit)."""
    scale = np.max(np.abs(t))
    if t[0] > INFINITE_DIRECTION * scale:
        return t[1:] / t[0]
    direction = t[1:] / scale
    return np.where(np.abs(direction) > 1e-6, np.sign(direction) * np.inf, 0.0)


def check_finite_or_infinite(alpha, K: int) -> np.ndarray:
    """alpha as a float array of shape (..., K), finite or +-inf (no NaN)."""
    if isinstance(alpha, jax.core.Tracer):
        raise TypeError("alpha cannot be a traced JAX value with rows= (the semi-empirical theory runs in numpy)")
    alpha = np.asarray(alpha, np.float64)
    if alpha.ndim == 0 or alpha.shape[-1] != K:
        raise ValueError(f"alpha must have shape (..., {K}) (one entry per source), got shape {alpha.shape}")
    if np.any(np.isnan(alpha)):
        raise ValueError("alpha must not contain NaN")
    return alpha


def source_row_margins(W, V, weights, n: int, gamma: float, *, initial=None) -> SourceRowMargins:
    """`SourceRowMargins` of sources `W` (p, K) and rows `V = (y_j x_j, 1)` (`source_row_coefficients`)."""
    mean, var, fixed_point = source_row_coefficients(W, V, weights, n, gamma, initial=initial)
    return SourceRowMargins(mean, var, weights, fixed_point)


class SemiEmpiricalSourcesProblem:
    """K fixed source classifiers, the target's n and gamma, and labelled target rows taken as the target law
    (the module docstring): `predicted_accuracy`, `predicted_risk`, `optimal_alpha` with alpha of shape (..., K),
    and `row_margins`.

    Args:
        sources: a list or tuple of K fixed classifiers (1-D, length p).
        target: a `TargetStats`; only `n` and `gamma` are used, the rows carry the law.
        rows: `(X, y)` or `(X, y, weights)` as for one source (`rmt_alpha._semi_empirical.SemiEmpiricalProblem`).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import TargetStats, prepare
        >>> rng = np.random.default_rng(0)
        >>> y = np.where(np.arange(400) % 2 == 0, 1.0, -1.0)
        >>> X = y[:, None] * np.r_[1.0, np.zeros(49)] + rng.standard_normal((400, 50)) * rng.gamma(2.0, 0.5, (400, 1))
        >>> w1, w2 = np.r_[0.5, 0.5, np.zeros(48)], np.r_[0.5, -0.5, np.zeros(48)]
        >>> problem = prepare([w1, w2], TargetStats(np.ones(50), 20, 1.0), rows=(X, y))
        >>> alpha = problem.optimal_alpha()
        >>> bool(problem.predicted_accuracy(alpha) >= problem.predicted_accuracy([[1.0, 0.0], [0.0, 1.0]]).max())
        True
    """

    def __init__(self, sources, target: TargetStats, rows):
        if not isinstance(target, TargetStats):
            raise TypeError(f"target must be a TargetStats (for n and gamma), got {type(target).__name__}")
        self.W = check_sources(sources, target.p)
        self.K = self.W.shape[1]
        self.law = RowLaw(rows, self.W.shape[0], target)
        self.target = target

    def row_margins(self, gamma=None) -> SourceRowMargins:
        """`SourceRowMargins` at one ridge strength (default `target.gamma`); the last two gammas are cached."""
        return self.law.margins(gamma, lambda V, weights, n, value: source_row_margins(self.W, V, weights, n, value))

    def predicted_accuracy(self, alpha, gamma=None):
        """The semi-empirical accuracy at alpha (..., K) and one gamma."""
        return self.row_margins(self._gamma(gamma)).accuracy(alpha)[()]

    def predicted_risk(self, alpha, gamma=None):
        """The squared-loss risk averaged over the rows at alpha (..., K) and one gamma."""
        return self.row_margins(self._gamma(gamma)).risk(alpha)[()]

    def optimal_alpha(self, gamma=None, *, nonnegative: bool = False, subset=None) -> np.ndarray:
        """alpha* (K,) maximising `predicted_accuracy` (module docstring) at one gamma; with `nonnegative`, over
        alpha >= 0; with `subset` (source indices), the other sources held at 0 (as `SourcesProblem.optimal_alpha`)."""
        if subset is not None:
            indices = np.asarray(subset)
            if (indices.ndim != 1 or indices.size == 0 or indices.dtype.kind not in "iu" or np.any(indices < 0)
                    or np.any(indices >= self.K) or np.unique(indices).size != indices.size):
                raise ValueError(f"subset must list distinct source indices in [0, {self.K}), got {subset!r}")
        return self.row_margins(self._gamma(gamma)).optimal_alpha(nonnegative=nonnegative, subset=subset)

    def _gamma(self, gamma):
        if gamma is None:
            return None
        if isinstance(gamma, jax.Array) or np.ndim(gamma) != 0:
            raise TypeError(f"gamma must be one concrete number with several sources and rows= (one fixed point per "
                            f"value), got {gamma!r}")
        return float(check_positive_array("gamma", gamma))
