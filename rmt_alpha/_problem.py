"""A source/target pair prepared once, with the accuracy, alpha*, alpha_bar and gamma* as its methods
(theory/THEORY.md sections 2, 3 and 8).

Both theories reduce the decision value `g = w_alpha^T x` to five coefficients per ridge strength gamma:

    E[y g] = e0 + e1 alpha,    Var[g] = v0 + v1 alpha + v2 alpha^2,

so the accuracy `Phi(r(alpha))`, `r = E[y g] / sqrt(Var[g])`, its maximiser and the alpha where it is 1/2 all
follow from `coefficients(gamma)`. `ProblemMethods` derives them once for both implementations:

- `IsotropicProblem` (white noise, section 2): a NamedTuple of the invariants `(m, eta, gamma, s, omega_par,
  omega_perp)`. Every field may be an array (a batch of targets, of gammas, ...): each method broadcasts them
  against its alpha and gamma, without a Python loop. It is a JAX pytree, so `jax.jit`, `jax.vmap` and `jax.grad`
  apply to all its methods but `optimal_gamma` / `optimal_alpha_gamma` (a scipy search): pass JAX arrays in its
  fields and the result is a JAX array in JAX's precision.
- `rmt_alpha.CovarianceProblem` (a covariance on either side, section 8): the O(p^3) change of basis is done when
  it is built, each gamma then costs one scalar fixed point (numpy; alpha may be a JAX array, gamma may not).

`rmt_alpha._prepare.prepare(source, target)` returns the right one. alpha* is the stationary point of r (module
`rmt_alpha._optimize` for the formula); for the isotropic model it is evaluated in the cancellation-free form of
`stationary_terms_from_invariants`.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import numpy as np
import scipy.optimize

from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import (
    Moments,
    array_namespace,
    margin_coefficients_from_invariants,
    margin_ratio,
    ridge_scalars,
    source_invariants,
    standard_normal_cdf,
)
from rmt_alpha._validation import check_finite_array, check_positive_array, check_positive_float, describe_value

GAMMA_SEARCH_RANGE = (1e-6, 1e6)


class MarginCoefficients(NamedTuple):
    """`E[y g] = e0 + e1 alpha`, `Var[g] = v0 + v1 alpha + v2 alpha^2` (arrays over gamma and any batch), with the
    covariance theory's fixed point behind them (None for the closed forms)."""

    e0: object
    e1: object
    v0: object
    v1: object
    v2: object
    fixed_point: object = None

    def moments(self, alpha) -> Moments:
        """`Moments(mean, second_moment, variance)` at alpha (broadcast with the coefficients; numpy or JAX)."""
        mean = self.e0 + self.e1 * alpha
        variance = self.v0 + (self.v1 + self.v2 * alpha) * alpha
        return Moments(mean, variance + mean**2, variance)

    def stationary_terms(self):
        """`(num, den, e1)` of `argmax_from_stationary`: `num = e1 v0 - e0 v1 / 2`, `den = e0 v2 - e1 v1 / 2`."""
        return (self.e1 * self.v0 - 0.5 * self.e0 * self.v1, self.e0 * self.v2 - 0.5 * self.e1 * self.v1, self.e1)


def argmax_from_stationary(num, den, e1):
    """Maximiser of `r(alpha)` given its stationary-point numerator and denominator.

    `num / den` when `den > 0`. When `den <= 0`, r increases without bound in alpha's direction and its supremum
    is at `sign(e1) * inf` (`sign(num) * inf` when `den = 0`); when `num = den = 0`, r is flat and 0 is returned.
    Broadcasts; numpy in, numpy out (a scalar for scalars); JAX in, JAX out (jit-able).
    """
    xp = array_namespace(num, den, e1)
    if xp is np:
        num, den, e1 = (np.asarray(v, dtype=np.float64) for v in (num, den, e1))
    num, den, e1 = xp.broadcast_arrays(num, den, e1)
    stationary = num / xp.where(den > 0, den, 1.0)
    direction = xp.where(den < 0, e1, num)
    at_infinity = xp.where(direction >= 0, xp.inf, -xp.inf)
    flat = (num == 0) & (den == 0)
    alpha = xp.where(flat, 0.0, xp.where(den > 0, stationary, at_infinity))
    return alpha[()] if xp is np else alpha


def stationary_terms_from_invariants(m, eta, gamma, s, omega_perp):
    """`(num, den, e1)` of the isotropic theory, cancellation-free, broadcast over every argument (pure)::

        num = kappa s (m delta / (1 + delta) + eta)
        den = kappa^2 (m lam^2 omega_perp / (1 + kappa)^2 + s^2 (delta / (1 + delta) + m eta / (1 + kappa)^2))

    (`e1 v0 - e0 v1 / 2` and `e0 v2 - e1 v1 / 2` times `h lam^3`): `den >= 0` is a sum of non-negative terms.
    """
    delta, kappa, _ = ridge_scalars(eta, gamma)
    c2 = (1.0 + kappa) ** 2
    lam = m + 1.0 + kappa
    num = kappa * s * (m * delta / (1.0 + delta) + eta)
    den = kappa**2 * (m * lam**2 * omega_perp / c2 + s * s * (delta / (1.0 + delta) + m * eta / c2))
    return num, den, kappa * s


class GammaOptimum(NamedTuple):
    """Result of a gamma search: the best `gamma`, the `alpha` used there and the predicted `accuracy`.

    Attributes:
        gamma: the fine-tuning ridge strength that maximises the predicted accuracy.
        alpha: the alpha used at that gamma (fixed, or the optimal alpha there).
        accuracy: the predicted test accuracy at (`alpha`, `gamma`).
    """

    gamma: float
    alpha: float
    accuracy: float


def _output(value):
    """numpy results as float64 arrays (numpy scalars for scalars); JAX results unchanged."""
    return value if isinstance(value, jax.Array) else np.asarray(value, dtype=np.float64)[()]


class ProblemMethods:
    """The accuracy, alpha*, alpha_bar and gamma* of a prepared problem, from its `coefficients(gamma)` and
    `stationary_terms(gamma)` (subclasses provide both; `gamma=None` means the target's own)."""

    __slots__ = ()

    def stationary_terms(self, gamma=None):
        """`(num, den, e1)`: alpha* is `num / den` when `den > 0` (see `argmax_from_stationary`)."""
        return self.coefficients(gamma).stationary_terms()

    def margin_moments(self, alpha, gamma=None) -> Moments:
        """`E[y g]`, `E[g^2]` and `Var[g]` at alpha (any shape, numpy or JAX) and gamma, broadcast together."""
        if not isinstance(alpha, jax.Array):
            alpha = check_finite_array("alpha", alpha)
        return self.coefficients(gamma).moments(alpha)

    def predicted_accuracy(self, alpha, gamma=None):
        """`Phi(E[y g] / sqrt(Var[g]))`: plain accuracy (below 1/2 for a classifier worse than chance)."""
        if not isinstance(alpha, jax.Array):
            alpha = check_finite_array("alpha", alpha)
        e0, e1, v0, v1, v2 = self.coefficients(gamma)[:5]
        return _output(standard_normal_cdf(margin_ratio(e0, e1, v0, v1, v2, alpha)))  # no alpha^2: any finite alpha

    def predicted_risk(self, alpha, gamma=None):
        """Squared-loss risk `E[(y - g)^2] = Var[g] + (1 - E[y g])^2`."""
        mean, _, variance = self.margin_moments(alpha, gamma)
        return _output(variance + (1.0 - mean) ** 2)

    def optimal_alpha(self, gamma=None):
        """alpha*, the maximiser of the accuracy (`+-inf` when the accuracy rises without bound), per gamma and
        per batch entry."""
        return argmax_from_stationary(*self.stationary_terms(gamma))

    def alpha_bar(self, gamma=None):
        """The alpha where `E[y g] = 0` and the accuracy is 1/2: `-e0 / e1` (`inf` when `e1 = 0`)."""
        e0, e1 = self.coefficients(gamma)[:2]
        xp = array_namespace(e0, e1)
        return _output(xp.where(e1 == 0, xp.inf, -e0 / xp.where(e1 == 0, 1.0, e1)))

    def optimal_gamma(self, alpha=1.0, *, search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
        """gamma* at a fixed alpha: a 241-point log grid over `search_range` in one vectorised call, then Brent's
        bounded method on `log gamma` between the best point's neighbours; warns when the optimum is on the edge.
        numpy only (scipy's search); a scalar problem (no batch)."""
        alpha = float(check_finite_array("alpha", alpha))
        self._require_single("optimal_gamma")
        return _maximise_over_gamma(
            lambda gamma: (self.predicted_accuracy(alpha, gamma), np.full(np.shape(gamma), alpha)), search_range)

    def optimal_alpha_gamma(self, *, search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
        """The joint optimum: alpha* in closed form for each gamma, gamma searched as in `optimal_gamma`."""
        self._require_single("optimal_alpha_gamma")

        def accuracy_at_best_alpha(gamma):
            coefficients = self.coefficients(gamma)
            alpha = np.asarray(argmax_from_stationary(*self.stationary_terms(gamma)), dtype=np.float64)
            mean, _, variance = coefficients.moments(np.where(np.isfinite(alpha), alpha, 0.0))
            return np.asarray(standard_normal_cdf(mean / np.sqrt(variance)))[()], alpha

        return _maximise_over_gamma(accuracy_at_best_alpha, search_range)

    def _require_single(self, name: str) -> None:
        shape = np.shape(self.coefficients().e0)
        if shape != ():
            raise ValueError(f"{name} needs a single problem, got a batch of shape {shape}; call it per entry")


def _maximise_over_gamma(accuracy_and_alpha, search_range) -> GammaOptimum:
    if np.ndim(search_range) != 1 or np.size(search_range) != 2:
        raise ValueError(f"search_range must be a pair (low, high), got {describe_value(search_range)}")
    low, high = (check_positive_float("search_range", bound) for bound in search_range)
    if not low < high:
        raise ValueError(f"search_range must be (low, high) with low < high, got ({low!r}, {high!r})")
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


class _Invariants(NamedTuple):
    m: object
    eta: object
    gamma: object
    s: object
    omega_par: object
    omega_perp: object


class IsotropicProblem(_Invariants, ProblemMethods):
    """The white-noise problem (theory/THEORY.md section 2) as its invariants; a JAX pytree.

    Fields are scalars or arrays that broadcast together: a batch of targets is a batch of invariants.

    Attributes:
        m: `|mu_t|^2`, the squared norm of the target mean.
        eta: `p / n`, dimension over target sample count.
        gamma: the fine-tuning ridge strength (the default of every method).
        s: `<w_s, mu_t>`, the source classifier's alignment with the target mean.
        omega_par: the part of `|w_s|^2` along `mu_t` (`s^2 / m`).
        omega_perp: the part of `|w_s|^2` across `mu_t` (`|w_s|^2 - s^2 / m`).

    Example:
        theory/THEORY.md section 3:

        >>> import numpy as np
        >>> from rmt_alpha import IsotropicProblem, SourceStats, TargetStats
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> problem = IsotropicProblem.from_stats(src, TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0))
        >>> round(float(problem.optimal_alpha()), 4)
        1.7105
        >>> batch = IsotropicProblem.from_invariants(m=np.array([1.0, 1.8]), s=0.3, omega=0.2, eta=4.0, gamma=1.0)
        >>> batch.optimal_alpha().shape
        (2,)
    """

    __slots__ = ()

    @classmethod
    def from_stats(cls, source, target: TargetStats) -> IsotropicProblem:
        """The problem for a source and a target given as statistics (covariances are ignored: `prepare` honours them).

        Args:
            source: a `SourceStats` (the ridge source) or a classifier `w_s` of shape (p,).
            target: a `TargetStats`.

        Returns:
            IsotropicProblem: the invariants `m, eta, gamma, s, omega_par, omega_perp`.

        Raises:
            TypeError: `target` is not a `TargetStats`.
        """
        if not isinstance(target, TargetStats):
            raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
        invariants = source_invariants(source, target)
        return cls(target.mean_norm_sq, target.eta, target.gamma, *invariants)

    @classmethod
    def from_invariants(cls, m, s, omega, eta, gamma) -> IsotropicProblem:
        """The problem for a fixed classifier with `|w_s|^2 = omega`.

        `omega_par = s^2 / m`, `omega_perp = omega - s^2 / m`. Arrays broadcast (numpy or JAX). `m` must be > 0 and
        `s^2 <= m omega` (Cauchy-Schwarz); numpy inputs are checked, JAX inputs are not (so that this can be traced).

        Args:
            m: `|mu_t|^2` (> 0), scalar or array.
            s: `<w_s, mu_t>`, scalar or array.
            omega: `|w_s|^2`, scalar or array.
            eta: `p / n`, scalar or array.
            gamma: the fine-tuning ridge strength, scalar or array.

        Returns:
            IsotropicProblem: the invariants, broadcast together.

        Raises:
            ValueError: numpy inputs that are not finite, `m <= 0` or `s^2 > m omega`.
        """
        xp = array_namespace(m, s, omega, eta, gamma)
        if xp is np:
            m, s, omega = (check_finite_array(name, value) for name, value in (("m", m), ("s", s), ("omega", omega)))
            if np.any(m <= 0):
                raise ValueError(f"m = |mu_t|^2 must be > 0, got a minimum of {float(np.min(m))!r}")
            if np.any(s * s > m * omega * (1 + 1e-12)):
                raise ValueError("s^2 must be <= m * omega (Cauchy-Schwarz for s = <w_s, mu_t>), got s^2 / (m omega)"
                                 f" up to {float(np.max(s * s / np.where(m * omega > 0, m * omega, 1.0))):.4g}")
        omega_par = s * s / m
        return cls(m, eta, gamma, s, omega_par, xp.maximum(omega - omega_par, 0.0))

    def coefficients(self, gamma=None) -> MarginCoefficients:
        """The margin coefficients `(e0, e1, v0, v1, v2)` at the ridge strength(s) `gamma` (theory/THEORY.md section 2).

        `e0 = m / lam`, `e1 = kappa s / lam`, `v0 = (m + eta) / (h lam^2)`, `v1 = 2 kappa s / ((1 + delta) h lam^2)`,
        `v2 = kappa^2 (lam^2 omega_perp + omega_par ((1 + kappa)^2 + m eta)) / ((1 + kappa)^2 h lam^2)`.

        Args:
            gamma: ridge strength(s), broadcast against the fields (default: the problem's `gamma`).

        Returns:
            MarginCoefficients: the five coefficients, broadcast together.
        """
        return MarginCoefficients(*margin_coefficients_from_invariants(self.m, self.eta, self._gamma(gamma), self.s,
                                                                       self.omega_par, self.omega_perp))

    def stationary_terms(self, gamma=None):
        """`(num, den, e1)` in the cancellation-free form of `stationary_terms_from_invariants`.

        The stationary alpha of theory/THEORY.md section 3 is `num / den`.

        Args:
            gamma: ridge strength(s), broadcast against the fields (default: the problem's `gamma`).

        Returns:
            tuple: `(num, den, e1)`, arrays broadcast together; the stationary alpha is `num / den`.
        """
        return stationary_terms_from_invariants(self.m, self.eta, self._gamma(gamma), self.s, self.omega_perp)

    def _gamma(self, gamma):
        """The field `gamma` when None; a numpy override is checked (> 0), a JAX one passed through."""
        if gamma is None:
            return self.gamma
        return gamma if isinstance(gamma, jax.Array) else check_positive_array("gamma", gamma)
