"""The semi-empirical theory (theory/THEORY.md section 9): the deterministic equivalent of the alpha-fine-tuned
classifier when the target law is the empirical law of given labelled rows, with the accuracy averaged over those
rows instead of over a Gaussian.

Sections 2 and 8 model a target point as `x = y mu + C^{1/2} z` with Gaussian z. Real features are not like that:
a review's bag-of-words noise scales with one over its length, so the ridge fit weights rows unevenly (training
side) and `y g` given w is far from Gaussian (test side). Here the target law is the empirical law of N labelled
rows `(x_j, y_j)` with weights `pi_j` (1/N by default); the n training points are drawn from it, and nothing is
assumed Gaussian about the rows. With `v_j = (y_j x_j, 1)`, `D = diag(gamma I_p, 1)`, `e = e_{p+1}`:

- first order: `R = (V_train^T V_train / n + D)^-1 ~ Rbar = (sum_j pi_j v_j v_j^T / (1 + delta_j) + D)^-1` with
  one fixed point per row, `delta_j = v_j^T Rbar v_j / n` (section 8 has one scalar `tr(Sigma Rbar) / n`);
- second order: `E[R B R] ~ Rbar (B + sum_k c_k t_k v_k v_k^T) Rbar`, `c_k = pi_k / (1 + delta_k)^2`, where
  `t = a + K t`, `a_k = v_k^T Rbar B Rbar v_k / n`, `K_jk = (v_j^T Rbar v_k)^2 c_k / n`;
- the classifier, in section 8's augmented form: `w = [R g]_{:p}`, `g = g0 + alpha g1`, `g0 = -e / Rbar_pp`,
  `g1 = gamma ((w_s, 0) - (Rbar_{:p,p}^T w_s / Rbar_pp) e)`, so `E[w] = [Rbar g]_{:p}` and
  `Cov[w] = sum_k c_k t_k(alpha) [r_k r_k^T]_{:p,:p}`, `r_k = Rbar v_k`, `t(alpha) = t0 + alpha t1 + alpha^2 t2`
  (`B = g g^T`: three right-hand sides);
- leave-self-out: the row j whose accuracy is predicted is not a training point, so it is removed from the law
  (`Rbar -> Rbar + rho_j r_j r_j^T`, `rho_j = beta_j / (1 - beta_j v_j^T r_j)`, `beta_j = pi_j / (1 + delta_j)`).
  Its own term is O(p / N), not O(1 / N), because `v_j^T Rbar v_j` is O(p): without it the prediction is
  optimistic at small alpha (the row "sees" itself in the statistics);
- the accuracy: over the training draws, `y_j g(x_j)` is taken Gaussian, mean `mean0_j + alpha mean1_j` and
  variance `var0_j + alpha var1_j + alpha^2 var2_j`, and
  `accuracy(alpha) = sum_j pi_j Phi((mean0_j + alpha mean1_j) / sqrt(var0_j + alpha var1_j + alpha^2 var2_j))`.

For Gaussian rows every `delta_j` tends to section 8's `d` and the accuracy to section 8's. alpha* has no closed
form. Each row's ratio has one stationary point in alpha (section 3; a maximum or, for some rows, a minimum), and
between consecutive stationary points every term is monotone: the accuracy is evaluated on the quantiles of the
rows' stationary points, refined by Brent's method (scipy) between the best point's neighbours, and compared with
its limits at alpha -> -+inf (returned as -+inf when higher, as section 3 does).
Cost per gamma: a dozen O(N p^2) fixed-point steps, then up to `DENSE_ROWS` rows one N x N solve with three
right-hand sides (O(N^2) memory), above it conjugate gradients through (p + 1) x (p + 1) matrices (O(N p) memory;
`row_margins`). gamma must be a concrete number (one fixed point per value).
Reference: theory/THEORY.md sections 8 and 9; El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.optimize
import scipy.special

from rmt_alpha._fixed_point import FIXED_POINT_TOLERANCE
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._validation import (
    check_finite_array,
    check_positive_array,
    check_positive_float,
    check_rows,
    check_signed_labels,
    check_vector,
    describe_value,
)

FIXED_POINT_MAX_ITERATIONS = 500
SEARCH_QUANTILES = 257         # alpha* candidates: quantiles of the rows' stationary points
DENSE_ROWS = 2000              # above, row_margins forms no N x N matrix (second order through the features)
CG_TOLERANCE = 1e-13           # relative residual of the second order's conjugate gradients
CG_MAX_ITERATIONS = 1000


class RowFixedPoint(NamedTuple):
    """Solution `delta` (N,) of `delta_j = v_j^T Rbar(delta) v_j / n`, the iterations used, the last relative step
    and whether it met the tolerance."""

    delta: np.ndarray
    iterations: int
    step: float
    converged: bool


class RowMargins(NamedTuple):
    """Per target row j, over the training draws (leave-self-out): `E[y_j g(x_j)] = mean0 + alpha mean1` and
    `Var[g(x_j)] = var0 + alpha var1 + alpha^2 var2` (each (N,)), the row weights (N,), summing to 1, and the fixed
    point behind them."""

    mean0: np.ndarray
    mean1: np.ndarray
    var0: np.ndarray
    var1: np.ndarray
    var2: np.ndarray
    weights: np.ndarray
    fixed_point: RowFixedPoint

    def accuracy(self, alpha) -> np.ndarray:
        """`sum_j pi_j Phi(mean_j(alpha) / sqrt(var_j(alpha)))` at every alpha (any shape), the ratio evaluated at
        `(1, alpha) / max(1, |alpha|)` as `rmt_alpha._theory.margin_ratio` does (it is homogeneous of degree 0), so a
        huge alpha gives the finite limit instead of overflowing."""
        alpha = np.asarray(alpha, dtype=np.float64)
        largest = np.maximum(1.0, np.abs(alpha.reshape(-1, 1)))
        u, a = 1.0 / largest, alpha.reshape(-1, 1) / largest
        mean = self.mean0 * u + self.mean1 * a
        variance = self.var0 * u * u + self.var1 * u * a + self.var2 * a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(variance > 0, mean / np.sqrt(np.maximum(variance, 0.0)), np.sign(mean) * np.inf)
        return (scipy.special.ndtr(ratio) @ self.weights).reshape(alpha.shape)

    def risk(self, alpha) -> np.ndarray:
        """Squared-loss risk `sum_j pi_j ((1 - mean_j(alpha))^2 + var_j(alpha))` at every alpha."""
        alpha = np.asarray(alpha, dtype=np.float64)
        flat = alpha.reshape(-1, 1)
        mean = self.mean0 + flat * self.mean1
        variance = self.var0 + flat * (self.var1 + flat * self.var2)
        return (((1.0 - mean) ** 2 + variance) @ self.weights).reshape(alpha.shape)

    def stationary_points(self) -> np.ndarray:
        """Each row's stationary point of `mean_j / sqrt(var_j)` in alpha, `num_j / den_j` with section 3's
        `num = mean1 var0 - mean0 var1 / 2`, `den = mean0 var2 - mean1 var1 / 2` (a maximum when `den > 0`, a minimum
        when `den < 0`; NaN when `den = 0`). Between two consecutive ones every row's term is monotone."""
        num = self.mean1 * self.var0 - 0.5 * self.mean0 * self.var1
        den = self.mean0 * self.var2 - 0.5 * self.mean1 * self.var1
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den != 0, num / den, np.nan)

    def limits(self) -> tuple[float, float]:
        """The accuracy as alpha -> -inf and +inf: `sum_j pi_j Phi(-+mean1_j / sqrt(var2_j))`."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.var2 > 0, self.mean1 / np.sqrt(np.maximum(self.var2, 0.0)),
                             np.sign(self.mean1) * np.inf)
        return (float(scipy.special.ndtr(-ratio) @ self.weights), float(scipy.special.ndtr(ratio) @ self.weights))

    def optimal_alpha(self) -> float:
        """alpha* maximising `accuracy`: a grid on the quantiles of the rows' stationary points (between two
        consecutive ones every term is monotone), Brent's method between the best point's neighbours, then the limits
        at -+inf (returned as -+inf when higher, as section 3 does)."""
        points = self.stationary_points()
        points = points[np.isfinite(points)]
        if points.size == 0:
            points = np.zeros(1)
        grid = np.unique(np.r_[np.quantile(points, np.linspace(0.0, 1.0, SEARCH_QUANTILES)), 0.0, 1.0])
        values = self.accuracy(grid)
        best = int(np.argmax(values))
        alpha, value = float(grid[best]), float(values[best])
        if grid.size >= 3:
            low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
            found = scipy.optimize.minimize_scalar(lambda a: -float(self.accuracy(a)), bounds=(low, high),
                                                   method="bounded", options={"xatol": 1e-8 * max(1.0, abs(alpha))})
            if -found.fun >= value:
                alpha, value = float(found.x), float(-found.fun)
        below, above = self.limits()
        if max(below, above) > value + 1e-12:
            return -np.inf if below > above else np.inf
        return alpha


def check_labelled_rows(rows, p: int):
    """Validate `rows = (X, y)` or `(X, y, weights)`: X (N, p) finite, y (N,) in {-1, +1}, weights (N,) >= 0 with a
    positive sum (default 1/N). Returns `(X, y, weights)`, the weights normalised to sum 1."""
    if not isinstance(rows, (tuple, list)) or len(rows) not in (2, 3):
        got = type(rows).__name__ + (f" of length {len(rows)}" if isinstance(rows, (tuple, list)) else "")
        raise TypeError(f"rows must be a tuple (X, y) or (X, y, weights) of labelled target rows, got {got}")
    X = check_rows("rows X", rows[0], p, minimum=2, width_of="w_s")
    y = check_signed_labels("rows y", rows[1], X.shape[0])
    if y.ndim != 1:
        raise ValueError(f"rows y must be a 1-D array of {X.shape[0]} labels, got shape {y.shape}")
    if len(rows) == 2:
        return X, y, np.full(X.shape[0], 1.0 / X.shape[0])
    weights = check_finite_array("rows weights", rows[2])
    if weights.shape != (X.shape[0],) or np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError(f"rows weights must be {X.shape[0]} non-negative numbers with a positive sum, got shape "
                         f"{weights.shape}" + (f" and minimum {weights.min():.3g}" if weights.size else ""))
    return X, y, weights / weights.sum()


def solve_row_fixed_point(V, weights, n: int, gamma: float, *, tolerance: float = FIXED_POINT_TOLERANCE,
                          max_iterations: int = FIXED_POINT_MAX_ITERATIONS, initial=None) -> RowFixedPoint:
    """Solve `delta_j = v_j^T Rbar(delta) v_j / n`, `Rbar(delta) = (V^T diag(pi / (1 + delta)) V + D)^-1`.

    The right-hand side increases with every `delta_k` and is bounded by `v_j^T D^-1 v_j / n`, so the plain
    iteration from `delta = 0` increases monotonically to the smallest fixed point (about a dozen steps on the
    Amazon features at tolerance 1e-10). From a warm start near the solution (`initial`: e.g. the solution for
    nearby weights, a bootstrap replicate's full-data solution) it needs fewer steps; it converges there too because
    the map is a contraction near the fixed point (its Jacobian, `K` of the module docstring, has spectral radius
    below 1), though not monotonically.

    Each step costs two O(N p^2) BLAS-3 calls: the weighted Gram matrix by a symmetric rank-k update, the
    quadratic forms as squared column norms of `U^-T V^T` (`U` its upper Cholesky factor).

    Args:
        V: (N, p + 1), the rows `v_j = (y_j x_j, 1)`.
        weights: (N,), the row weights, summing to 1.
        n: the training sample size.
        gamma: the ridge strength.
        tolerance: stop when every relative step `|delta_new - delta| / (1 + delta_new)` is below it.
        max_iterations: iteration cap; a `RuntimeWarning` when it is reached.
        initial: (N,) starting point (default 0).
    Returns:
        `RowFixedPoint`.
    """
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) or max_iterations < 1:
        raise ValueError(f"max_iterations must be a whole number >= 1, got {describe_value(max_iterations)}")
    ridge = np.r_[np.full(V.shape[1] - 1, gamma), 1.0]
    if initial is None:
        delta = np.zeros(V.shape[0])
    else:
        delta = check_finite_array("initial", initial)
        if delta.shape != (V.shape[0],) or np.any(delta < 0):
            raise ValueError(f"initial must hold {V.shape[0]} non-negative numbers (one delta per row), got shape "
                             f"{delta.shape}" + (f" and minimum {delta.min():.3g}" if delta.size else ""))
    step, iteration = np.inf, 0
    for iteration in range(1, max_iterations + 1):
        new = _quadratic_forms(V, weights / (1.0 + delta), ridge) / n
        step = float(np.max(np.abs(new - delta) / (1.0 + new)))
        delta = new
        if step <= tolerance:
            break
    converged = step <= tolerance
    if not converged:
        warnings.warn(f"the semi-empirical fixed point did not converge in {max_iterations} steps (gamma={gamma:.4g}, "
                      f"last relative step {step:.3g} > tolerance {tolerance:g}); the result may be inaccurate",
                      RuntimeWarning, stacklevel=2)
    return RowFixedPoint(delta, iteration, step, converged)


def _factor(V, row_weights, ridge) -> np.ndarray:
    """Upper Cholesky factor `U` (`U^T U`) of `V^T diag(row_weights) V + diag(ridge)` (symmetric positive
    definite; row_weights >= 0), the Gram matrix formed by a symmetric rank-k update (half a matrix product)."""
    matrix = scipy.linalg.blas.dsyrk(1.0, V * np.sqrt(row_weights)[:, None], trans=1)
    matrix[np.diag_indices_from(matrix)] += ridge
    return scipy.linalg.cholesky(matrix, lower=False, overwrite_a=True, check_finite=False)


def _quadratic_forms(V, row_weights, ridge) -> np.ndarray:
    """`v_j^T (V^T diag(row_weights) V + diag(ridge))^-1 v_j = |U^-T v_j|^2` for every row."""
    solved = scipy.linalg.solve_triangular(_factor(V, row_weights, ridge), V.T, trans="T", check_finite=False)
    return np.einsum("ij,ij->j", solved, solved)


def row_margins(w_s, V, weights, n: int, gamma: float, *, initial=None,
                dense_rows: int = DENSE_ROWS) -> RowMargins:
    """The per-row margin coefficients of the module docstring (leave-self-out), for one gamma and one source:
    `source_row_coefficients` with K = 1, in section 3's form (`var1` is twice the cross coefficient).

    Args:
        w_s: (p,) source classifier.
        V, weights, n, gamma, initial, dense_rows: as `source_row_coefficients`.
    Returns:
        `RowMargins`.
    """
    mean, var, fixed_point = source_row_coefficients(w_s[:, None], V, weights, n, gamma, initial=initial,
                                                     dense_rows=dense_rows)
    return RowMargins(mean[:, 0], mean[:, 1], var[:, 0, 0], 2.0 * var[:, 0, 1], var[:, 1, 1], weights, fixed_point)


def source_row_coefficients(W, V, weights, n: int, gamma: float, *, initial=None, dense_rows: int = DENSE_ROWS):
    """Per target row j (leave-self-out), for K fixed sources `W` (p, K) and `t = (1, alpha)`:
    `E[y_j g(x_j)] = mean_j^T t` and `Var[g(x_j)] = t^T var_j t` (theory/THEORY.md sections 9 and 10.2).

    The fine-tuned classifier is linear in `g = g0 + sum_k alpha_k g_k`, `g_k = gamma ((w_k, 0) -
    (Rbar_{:p,p}^T w_k / Rbar_pp) e)`, so the mean is affine in alpha and the second order, with `B = g g^T`, is
    quadratic: `t = a + K t` is solved for the (K + 1)(K + 2) / 2 right-hand sides `(v_k^T Rbar g_a)(v_k^T Rbar g_b)
    / n`, `a <= b`.

    Up to `dense_rows` rows the second order holds the N x N matrix `v_j^T Rbar v_k` and solves `t = a + K t`
    directly (O(N^2) memory, one O(N^3) solve). Above it, nothing of size N x N is formed: every sum over rows
    `sum_k f_k (v_j^T Rbar v_k)^2` is the quadratic form `z_j^T (V^T diag(f) V) z_j`, `z_j = Rbar v_j`, of a
    (p + 1) x (p + 1) matrix, and `t = a + K t` is solved by conjugate gradients on its symmetric form
    `(I - C^1/2 G2 C^1/2 / n) C^1/2 t = C^1/2 a` (`G2 = (v_j^T Rbar v_k)^2`, `C = diag(c)`; positive definite as
    the spectral radius of K is below 1), to a relative residual of `CG_TOLERANCE`: O(N p) memory, O(N p^2) per
    step. Both agree to 1e-8 (tests/test_semi_empirical_choice.py).

    Args:
        W: (p, K) source classifiers.
        V: (N, p + 1) rows `(y_j x_j, 1)`.
        weights: (N,) row weights summing to 1 (zero weights allowed: such a row is predicted, not in the law).
        n: training sample size (the largest weight times n must stay below 1: the rows outnumber the training
            points).
        gamma: ridge strength.
        initial: (N,) warm start of the row fixed point (`solve_row_fixed_point`).
        dense_rows: the largest N handled with N x N matrices (0: always through the features).
    Returns:
        `(mean, var, fixed_point)`: mean (N, K + 1), var (N, K + 1, K + 1) symmetric, the `RowFixedPoint`.
    """
    p, K = W.shape
    fixed_point = solve_row_fixed_point(V, weights, n, gamma, initial=initial)
    delta = fixed_point.delta
    beta = weights / (1.0 + delta)
    ridge = np.r_[np.full(p, gamma), 1.0]
    rbar = scipy.linalg.cho_solve((_factor(V, beta, ridge), False), np.eye(p + 1))
    corner = rbar[p, p]
    rg = np.empty((p + 1, K + 1))                                       # Rbar g_a, a = 0..K
    rg[:, 0] = -rbar[:, p] / corner
    rg[:, 1:] = gamma * (rbar[:, :p] @ W - np.outer(rbar[:, p], rbar[:p, p] @ W) / corner)
    Z = V @ rbar                                                        # z_j = Rbar v_j
    own = np.einsum("ij,ij->i", Z, V)                                   # v_j^T Rbar v_j = n delta_j
    last = Z[:, p]                                                      # e^T Rbar v_j
    removal = 1.0 - beta * own
    if np.any(removal <= 0):
        raise ValueError(f"the rows' weights are too uneven: every weight times n must stay below 1, got "
                         f"n = {n}, N = {V.shape[0]} rows and the largest weight {weights.max():.3g}")
    # second order for B = g g^T: t = a + K t, a_k = (v_k^T Rbar g)^2 / n, quadratic in alpha
    c = weights / (1.0 + delta) ** 2
    h = V @ rg                                                          # (N, K + 1)
    first, second = np.triu_indices(K + 1)
    rhs = h[:, first] * h[:, second] / n
    if V.shape[0] <= dense_rows:
        ct, (squares, cross, own_squares) = _second_order_dense(V, Z, last, c, rhs, n)
    else:
        ct, (squares, cross, own_squares) = _second_order_through_features(V, Z, rbar[:, p], c, rhs, n)
    # leave-self-out mean: E[w] = A11^-1 (A12 + gamma W alpha) with row j's share beta_j (u_j u_j^T, u_j) removed
    shrink = 1.0 - beta * (own - last**2 / corner)                      # 1 - beta_j u_j^T A11^-1 u_j
    mean = V[:, :p] @ rg[:p]
    mean[:, 0] -= 1.0 - shrink
    mean /= shrink[:, None]
    # leave-self-out variance: (x_j, 0)^T Rbar' v_k = along_jk + rho_j along_jj gram_jk, and no k = j term
    along_own = own - last                                              # along_jj
    lift = (beta / removal) * along_own
    packed = (squares + 2.0 * lift[:, None] * cross + (lift**2)[:, None] * own_squares
              - ct * (along_own * (1.0 + beta / removal * own))[:, None] ** 2)
    var = np.empty((V.shape[0], K + 1, K + 1))
    var[:, first, second] = packed
    var[:, second, first] = packed
    return mean, var, fixed_point


def _second_order_dense(V, Z, last, c, rhs, n: int):
    """`ct = c * t` (N, 3) and the sums `sum_k ct_k along_jk^2`, `sum_k ct_k along_jk gram_jk`,
    `sum_k ct_k gram_jk^2` (each (N, 3)), with the N x N matrices `gram_jk = v_j^T Rbar v_k` and
    `along_jk = gram_jk - e^T Rbar v_k`."""
    gram = Z @ V.T
    squared = gram * gram
    system = np.eye(V.shape[0]) - squared * (c / n)[None, :]
    ct = c[:, None] * scipy.linalg.solve(system, rhs)
    along = gram - last[None, :]
    return ct, ((along * along) @ ct, (along * gram) @ ct, squared @ ct)


def _second_order_through_features(V, Z, rbar_e, c, rhs, n: int):
    """`_second_order_dense` without N x N matrices (`row_margins`' docstring): with `S = V^T diag(f) V`,
    `sum_k f_k gram_jk^2 = z_j^T S z_j`, `sum_k f_k along_jk gram_jk = (z_j - Rbar e)^T S z_j` and
    `sum_k f_k along_jk^2 = (z_j - Rbar e)^T S (z_j - Rbar e)`."""

    def spread(f):   # S = V^T diag(f) V, (p + 1) x (p + 1)
        return (V.T * f) @ V

    def own_squares(f):   # (N,) sum_k f_k gram_jk^2
        return np.einsum("ij,ij->i", Z @ spread(f), Z)

    root = np.sqrt(c)
    ct = np.zeros_like(rhs)
    for column in range(rhs.shape[1]):
        solved = _conjugate_gradients(lambda u: u - root * own_squares(root * u) / n, root * rhs[:, column])
        ct[:, column] = root * solved
    squares, cross, grams = (np.empty_like(ct) for _ in range(3))
    for column in range(ct.shape[1]):
        S = spread(ct[:, column])
        Y = Z @ S
        grams[:, column] = np.einsum("ij,ij->i", Y, Z)
        towards = Y @ rbar_e
        cross[:, column] = grams[:, column] - towards
        squares[:, column] = grams[:, column] - 2.0 * towards + rbar_e @ S @ rbar_e
    return ct, (squares, cross, grams)


def _conjugate_gradients(apply, b, *, tolerance: float = CG_TOLERANCE, max_iterations: int = CG_MAX_ITERATIONS):
    """Solve `A u = b` for a symmetric positive definite operator `apply` (plain conjugate gradients, to a
    relative residual `|b - A u| / |b| <= tolerance`; a `RuntimeWarning` when `max_iterations` is reached)."""
    scale = float(np.linalg.norm(b))
    u = np.zeros_like(b)
    if scale == 0.0:
        return u
    residual = b.copy()
    direction = residual.copy()
    squared = float(residual @ residual)
    for _ in range(max_iterations):
        image = apply(direction)
        step = squared / float(direction @ image)
        u += step * direction
        residual -= step * image
        new = float(residual @ residual)
        if np.sqrt(new) <= tolerance * scale:
            return u
        direction = residual + (new / squared) * direction
        squared = new
    warnings.warn(f"conjugate gradients of the semi-empirical second order did not reach the relative residual "
                  f"{tolerance:g} in {max_iterations} steps (reached {np.sqrt(squared) / scale:.3g})",
                  RuntimeWarning, stacklevel=3)
    return u


class RowLaw:
    """Labelled target rows `(X, y)` or `(X, y, weights)` taken as the target law (checked; more rows than the
    target's n training points), as the rows `V = (y_j x_j, 1)` and their weights, with the per-row margins of the
    last two ridge strengths cached (`margins`). Shared by the one-source and the several-sources problems."""

    def __init__(self, rows, p: int, target: TargetStats):
        X, y, self.weights = check_labelled_rows(rows, p)
        if X.shape[0] <= target.n:
            raise ValueError(f"the rows must outnumber the training points: got N = {X.shape[0]} rows for "
                             f"n = {target.n} (target.n) training points")
        self.target = target
        self.V = np.concatenate([y[:, None] * X, np.ones((X.shape[0], 1))], axis=1)
        self._cache: dict = {}

    def margins(self, gamma, compute):
        """`compute(V, weights, n, gamma)` at `gamma` (default `target.gamma`), cached for the last two gammas."""
        gamma = self.target.gamma if gamma is None else check_positive_float("gamma", gamma)
        if gamma not in self._cache:
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[gamma] = compute(self.V, self.weights, self.target.n, gamma)
        return self._cache[gamma]


class SemiEmpiricalProblem:
    """A fixed source classifier, the target's n and gamma, and labelled target rows taken as the target law,
    prepared for the semi-empirical theory (module docstring). Same method names as the other prepared problems
    (`rmt_alpha.prepare`): `predicted_accuracy`, `predicted_risk`, `optimal_alpha`; plus `row_margins`.

    Args:
        source: the source classifier `w_s`, a 1-D array of length p. A `SourceStats` is refused: its classifier is
            random, and this theory is for the fixed one a user holds.
        target: a `TargetStats`; only its `n` (training points) and `gamma` (default ridge strength) are used, the
            rows carry the law.
        rows: `(X, y)` or `(X, y, weights)`: X (N, p) target rows as the fine-tuning sees them (same preprocessing),
            y (N,) in {-1, +1}, optional non-negative row weights (default 1/N). N must exceed n.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import TargetStats
        >>> from rmt_alpha._semi_empirical import SemiEmpiricalProblem
        >>> rng = np.random.default_rng(0)
        >>> y = np.where(np.arange(400) % 2 == 0, 1.0, -1.0)
        >>> X = y[:, None] * np.r_[1.0, np.zeros(49)] + rng.standard_normal((400, 50)) * rng.gamma(2.0, 0.5, (400, 1))
        >>> problem = SemiEmpiricalProblem(np.r_[0.5, 0.5, np.zeros(48)], TargetStats(np.ones(50), 20, 1.0), (X, y))
        >>> np.round(problem.predicted_accuracy([0.0, 1.0]), 3)
        array([0.799, 0.827])
    """

    def __init__(self, source, target: TargetStats, rows):
        if isinstance(source, SourceStats):
            raise TypeError("source must be the fixed source classifier w_s (a 1-D array) for the semi-empirical "
                            "theory (rows=...), got a SourceStats: fit the source classifier and pass it")
        if not isinstance(target, TargetStats):
            raise TypeError(f"target must be a TargetStats (for n and gamma), got {type(target).__name__}")
        self.w_s = check_vector("source (the classifier w_s)", source)
        self.law = RowLaw(rows, self.w_s.size, target)
        self.target = target

    def row_margins(self, gamma=None) -> RowMargins:
        """`RowMargins` at one ridge strength (default `target.gamma`); the last two gammas are cached."""
        return self.law.margins(gamma, lambda V, weights, n, value: row_margins(self.w_s, V, weights, n, value))

    def predicted_accuracy(self, alpha, gamma=None):
        """The semi-empirical accuracy (module docstring) at alpha (any shape) and gamma, broadcast together."""
        return self._evaluate("predicted_accuracy", RowMargins.accuracy, alpha, gamma)

    def predicted_risk(self, alpha, gamma=None):
        """The squared-loss risk averaged over the rows, `sum_j pi_j ((1 - E[y_j g_j])^2 + Var[g_j])`."""
        return self._evaluate("predicted_risk", RowMargins.risk, alpha, gamma)

    def optimal_alpha(self, gamma=None):
        """alpha* maximising `predicted_accuracy` (module docstring), per gamma (`-+inf` when the accuracy rises
        towards its limit there)."""
        gammas = self._gammas("optimal_alpha", gamma)
        found = np.array([self.row_margins(g).optimal_alpha() for g in gammas.ravel()]).reshape(gammas.shape)
        return found[()]

    def _gammas(self, name, gamma) -> np.ndarray:
        if isinstance(gamma, jax.Array):
            raise TypeError(f"{name} with rows= needs a concrete gamma (one fixed point per value), got a JAX array")
        return np.asarray(self.target.gamma if gamma is None else check_positive_array("gamma", gamma))

    def _evaluate(self, name, function, alpha, gamma):
        if isinstance(alpha, jax.core.Tracer):
            raise TypeError(f"{name} with rows= runs in numpy: alpha cannot be a traced JAX value")
        alpha = check_finite_array("alpha", np.asarray(alpha))
        gammas = self._gammas(name, gamma)
        if gammas.ndim == 0:
            return function(self.row_margins(float(gammas)), alpha)[()]
        alpha, gammas = np.broadcast_arrays(alpha, gammas)
        out = np.empty(alpha.shape)
        for value in np.unique(gammas):
            chosen = gammas == value
            out[chosen] = function(self.row_margins(float(value)), alpha[chosen])
        return out

    def _unsupported(self, name):
        raise TypeError(f"{name} is not defined by the semi-empirical theory (rows=): its margin is a different "
                        "Gaussian for every row, so there is no single (E[y g], Var[g]); use predicted_accuracy, "
                        "predicted_risk, optimal_alpha or row_margins")

    def margin_moments(self, alpha, gamma=None):
        """Not defined here (see `_unsupported`)."""
        self._unsupported("margin_moments")

    def alpha_bar(self, gamma=None):
        """Not defined here (see `_unsupported`)."""
        self._unsupported("alpha_bar")
