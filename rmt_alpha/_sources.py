"""Several fixed source classifiers: fine-tuning towards a mixture (theory/THEORY.md section 10).

With sources `W = [w_1 ... w_K]` (p x K) and `alpha` in R^K, `w_alpha = Q (X^T y / n + gamma W alpha)`. The
fine-tuned classifier depends on `(W, alpha)` only through the combined source `W alpha`, and for one fixed
classifier the margin's mean is affine and its variance quadratic in it, so with `t = (1, alpha)`:

    E[y g] = a^T t,    Var[g] = t^T B t,    accuracy = Phi(a^T t / sqrt(t^T B t)),

`a` (K + 1) and `B` ((K + 1) x (K + 1), positive semi-definite) built from `m = |mu_t|^2`, `s_k = <w_k, mu_t>` and
the Gram matrix `Omega_kl = <w_k, w_l>` (isotropic, section 10.1), or from the covariance theory's terms with the
same sources (section 10.2). K = 1 is section 2 / section 8 exactly: `a = (e0, e1)`,
`B = [[v0, v1 / 2], [v1 / 2, v2]]`. Independent ridge sources (`SourceStats`, isotropic only) enter through their
deterministic equivalents: `s_k = <mu_k, mu_t> / lam_k`, `Omega_kl = <mu_k, mu_l> / (lam_k lam_l)` plus each one's
noise on the diagonal (section 10.1).

alpha* maximises a generalised Rayleigh quotient (section 10.3): the direction `u = B^+ a` (`B^+` the
pseudo-inverse), `alpha* = u[1:] / u[0]` when `u[0] > 0`; otherwise the supremum is only approached as
`|alpha| -> inf` along `B_SS^+ a_S` (entries `+-inf`). `alpha >= 0` and a subset of sources: the maximiser over
each support is the unconstrained one restricted to it, so every support is tried (exact, up to 12 sources),
SLSQP beyond.

Sources are normalised to unit norm first (`alpha_k |w_k|` is what enters), so no scale under- or overflows.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._covariance import CovarianceProblem, has_covariance, source_moments_in
from rmt_alpha._rayleigh import accuracy_at, nonnegative_maximiser, rayleigh_maximiser, rayleigh_ratio
from rmt_alpha._stats import SourceStats, Spectrum, TargetStats
from rmt_alpha._theory import Moments, array_namespace, resolve_gamma, ridge_scalars, standard_normal_cdf
from rmt_alpha._validation import check_finite_array, check_positive_array, check_vector


def is_source_list(source) -> bool:
    """True for a list or tuple of sources (several sources), False for one source (`w_s` or `SourceStats`)."""
    return isinstance(source, (list, tuple))


def check_sources(sources, p: int | None = None, name: str = "source", *, random: bool = False):
    """The sources as a read-only (p, K) float64 matrix; each must be a 1-D classifier of the same length.

    With `random`, a `SourceStats` (an independent ridge source) is allowed too, and `(V, random_indices)` is
    returned: its column is the source mean `mu_s`.

    Raises:
        ValueError: an empty list, a `SourceStats` where only fixed classifiers are supported, a `TargetStats`, or
            sources of different lengths or not finite.
    """
    if len(sources) == 0:
        raise ValueError(f"{name} must be a non-empty list of classifiers w_1..w_K, got an empty list")
    columns, ridge = [], []
    for k, source in enumerate(sources):
        length = p if p is not None else (columns[0].size if columns else None)
        if isinstance(source, SourceStats) and random:
            if length is not None and source.p != length:
                raise ValueError(f"{name}[{k}] must have dimension {length} (the dimension p), got {source.p}")
            columns.append(source.mean)
            ridge.append(k)
            continue
        if isinstance(source, (SourceStats, TargetStats)):
            raise ValueError(f"{name}[{k}] must be a fixed classifier (1-D array): several sources are supported for "
                             f"fixed classifiers{' and isotropic ridge sources' if random else ''} only, got a "
                             f"{type(source).__name__}")
        columns.append(check_vector(f"{name}[{k}]", source, length=length))
    matrix = np.stack(columns, axis=1)
    matrix.setflags(write=False)
    return (matrix, tuple(ridge)) if random else matrix


def reject_sources(name: str, source) -> None:
    """Raise when a function that takes one source gets a list of them."""
    if is_source_list(source):
        raise ValueError(f"{name} takes one source (a classifier w_s or a SourceStats), got a list of "
                         f"{len(source)}; several sources are supported by predicted_accuracy, margin_moments, "
                         "predicted_risk, optimal_alpha and prepare")


def unit_columns(W: np.ndarray):
    """`(W / |w_k|, |w_k|)` per column, norms computed without overflow (a zero column keeps norm 1)."""
    largest = np.abs(W).max(axis=0)
    safe = np.where(largest > 0, largest, 1.0)
    norms = np.where(largest > 0, safe * np.linalg.norm(W / safe, axis=0), 1.0)
    return W / norms, norms


def isotropic_source_coefficients(m, eta, gamma, s, omega_perp):
    """`(a, B)` of section 10.1 for K fixed sources, broadcast over leading axes (pure numpy)::

        a   = (m / lam, kappa s / lam)
        B00 = (m + eta) / (h lam^2),   B0k = kappa s_k / ((1 + delta) h lam^2),
        Bkl = kappa^2 (lam^2 Omega_perp,kl + s_k s_l ((1 + kappa)^2 + m eta) / m) / ((1 + kappa)^2 h lam^2)

    with `Omega_perp = Omega - s s^T / m`, the Gram matrix of the sources' parts orthogonal to `mu_t` (PSD, so
    every diagonal block is a sum of positive terms, as section 2's rearranged variance).

    Args:
        m: `|mu_t|^2` (> 0), shape (...). eta: `p / n`. gamma: ridge strength (...).
        s: (..., K) `s_k = <w_k, mu_t>`. omega_perp: (..., K, K).
    Returns:
        `(a, B)`, shapes (..., K + 1) and (..., K + 1, K + 1).
    """
    xp = array_namespace(m, eta, gamma, s, omega_perp)
    cast = (lambda value: np.asarray(value, dtype=np.float64)) if xp is np else xp.asarray   # JAX: its own dtype
    delta, kappa, h = ridge_scalars(eta, gamma)
    m, eta, delta, kappa, h = (cast(v)[..., None] for v in (m, eta, delta, kappa, h))
    s = cast(s)
    c = 1.0 + kappa
    lam = m + c
    spread = h * lam**2
    outer = s[..., :, None] * s[..., None, :]
    block = (kappa**2 / (c**2 * spread))[..., None] * (lam[..., None] ** 2 * omega_perp
                                                       + outer * ((c**2 + m * eta) / m)[..., None])
    return _assemble(m / lam, kappa * s / lam, (m + eta) / spread, kappa * s / ((1.0 + delta) * spread), block)


def _assemble(e0, e1, v0, half_v1, block):
    """`a = (e0, e1)` and `B = [[v0, half_v1^T], [half_v1, block]]`, broadcast to one batch shape (numpy, or
    `jax.numpy` for JAX input)."""
    xp = array_namespace(e0, e1, v0, half_v1, block)
    batch = np.broadcast_shapes(np.shape(e0)[:-1], np.shape(e1)[:-1], np.shape(v0)[:-1], np.shape(half_v1)[:-1],
                                np.shape(block)[:-2])
    K = np.shape(block)[-1]
    a = xp.concatenate([xp.broadcast_to(e0, batch + (1,)), xp.broadcast_to(e1, batch + (K,))], axis=-1)
    edge = xp.broadcast_to(half_v1, batch + (K,))
    top = xp.concatenate([xp.broadcast_to(v0, batch + (1,)), edge], axis=-1)
    lower = xp.concatenate([edge[..., :, None], xp.broadcast_to(block, batch + (K, K))], axis=-1)
    return a, xp.concatenate([top[..., None, :], lower], axis=-2)


def covariance_source_coefficients(problem: CovarianceProblem, X: np.ndarray, gamma, seconds=None):
    """`(a, B)` of section 10.2 for sources with means `X` (p, K) in the target's eigenbasis; `margin_terms` once::

        a_k = gamma t eps <beta, x_k>,  B0k = gamma eps ((1 + theta) <nu, x_k> - H eps <beta, x_k>),
        Bkl = gamma^2 ((1 + theta) (x_k^T diag(c q^2) x_l - eps (<nu, x_k><beta, x_l> + <beta, x_k><nu, x_l>))
                       + H eps^2 <beta, x_k><beta, x_l>)

    (section 8's `e1`, `v1 / 2` and `v2` with `w_s w_s^T` replaced by the symmetrised `x_k x_l^T`). An independent
    ridge source k (`seconds[k] = (S_k, f)`: its `_SecondMoment` and a scale) has `E[x_k x_l^T] = x_k x_l^T` for
    `l != k` (independent) and `E[x_k x_k^T] = f S_k` on the diagonal, which takes section 8's `v2` with `f S_k`.
    """
    gamma, t, eps, theta, h, beta, nu, weight, e0, v0, _ = problem.margin_terms(gamma)
    beta_x, nu_x = beta @ X, nu @ X                          # (..., K)
    gamma, t, eps, theta, h, e0, v0 = (np.asarray(v)[..., None] for v in (gamma, t, eps, theta, h, e0, v0))
    half_v1 = gamma * eps * ((1.0 + theta) * nu_x - h * eps * beta_x)
    diagonal = np.einsum("pk,...p,pl->...kl", X, weight, X)
    mixed = nu_x[..., :, None] * beta_x[..., None, :]
    block = (gamma**2)[..., None] * ((1.0 + theta)[..., None] * (diagonal - eps[..., None] * (mixed + np.swapaxes(
        mixed, -1, -2))) + (h * eps**2)[..., None] * beta_x[..., :, None] * beta_x[..., None, :])
    for k, (second, scale) in (seconds or {}).items():
        s_beta = scale * second.apply(beta)
        block[..., k, k] = gamma[..., 0]**2 * ((1.0 + theta[..., 0]) * (
            scale * (weight @ second.diagonal()) - 2.0 * eps[..., 0] * (s_beta * nu).sum(-1))
            + h[..., 0] * eps[..., 0]**2 * (s_beta * beta).sum(-1))
    return _assemble(e0, gamma * t * eps * beta_x, v0, half_v1, block)


class SourcesCoefficients(NamedTuple):
    """`E[y g] = a^T t`, `Var[g] = t^T B t` at `t = (1, alpha)` (section 10), for unit-norm sources."""

    a: np.ndarray
    B: np.ndarray


class SourcesOptimum(NamedTuple):
    """A constrained or unconstrained alpha* with its predicted accuracy and the sources it uses."""

    alpha: np.ndarray
    accuracy: float
    support: tuple


class SourcesProblem:
    """K fixed source classifiers and a target, prepared once (theory/THEORY.md section 10).

    Isotropic target (section 10.1) or a target covariance (section 10.2, one fixed point per gamma). Methods
    take `alpha` of shape (..., K) and broadcast its leading axes with gamma.

    Args:
        sources: a list or tuple of K sources: fixed classifiers (1-D, length p) or independent ridge sources
            (`SourceStats`: isotropic, `w_k -> mu_k / lam_k` plus noise independent of everything, section 10.1;
            with a covariance on either side, section 8's mean and second moment, section 10.2).
        target: the `TargetStats`.
        gamma: optional ridge strength overriding `target.gamma` as the methods' default.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import TargetStats, prepare
        >>> mu = np.zeros(200); mu[0] = 1.5
        >>> w1 = np.zeros(200); w1[0] = 0.5
        >>> w2 = np.zeros(200); w2[1] = 0.5
        >>> problem = prepare([w1, w2], TargetStats(mu, 50, 1.0))
        >>> alpha = problem.optimal_alpha()
        >>> alpha.shape, bool(problem.predicted_accuracy(alpha) >= problem.predicted_accuracy([1.0, 1.0]))
        ((2,), True)
    """

    def __init__(self, sources, target: TargetStats, gamma=None):
        if not isinstance(target, TargetStats):
            raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
        V, ridge = check_sources(sources, target.p, random=True)
        self.target = target
        self.gamma = resolve_gamma(target, gamma)
        self.K = V.shape[1]
        covariance = has_covariance(None, target) or any(sources[k].cov is not None for k in ridge)
        if covariance:  # section 10.2: every source's mean and second moment in the target's eigenbasis
            self._covariance = CovarianceProblem(np.ones(target.p), target)   # its source-free terms and basis only
            spectrum = Spectrum(self._covariance.eigenvalues, self._covariance.basis)
            moments = [source_moments_in(sources[k] if k in ridge else V[:, k], spectrum) for k in range(self.K)]
            self.norms = np.array([np.sqrt(second.diagonal().sum()) if k in ridge else np.linalg.norm(V[:, k])
                                   for k, (_, second) in enumerate(moments)])
            self.norms = np.where(self.norms > 0, self.norms, 1.0)
            self._rotated = np.stack([mean for mean, _ in moments], axis=1) / self.norms
            self._seconds = {k: (moments[k][1], 1.0 / self.norms[k] ** 2) for k in ridge}
            return
        self._covariance = None
        scale, noise = np.ones(self.K), np.zeros(self.K)
        for k in ridge:  # theory/THEORY.md section 2: w_k = mu_k / lam_k + independent noise of squared norm `noise`
            _, kappa_s, h_s = ridge_scalars(sources[k].eta, sources[k].gamma)
            lam_s = sources[k].mean_norm_sq + 1.0 + kappa_s
            scale[k] = 1.0 / lam_s
            noise[k] = ((1.0 - h_s) * sources[k].mean_norm_sq + sources[k].eta) / (h_s * lam_s**2)
        unit, norms = unit_columns(V)
        for k in ridge:
            norms[k] = np.sqrt(scale[k] ** 2 * sources[k].mean_norm_sq + noise[k])   # the norm of w_k
            unit[:, k] = V[:, k] * scale[k] / norms[k]
        noise = noise / norms**2
        self.unit, self.norms = unit, norms
        m = target.mean_norm_sq
        self._s = unit.T @ target.mean
        perp = unit - np.outer(target.mean, self._s / m) if m > 0 else unit
        self._omega_perp = perp.T @ perp + np.diag(noise)   # independent noises: orthogonal to everything

    def with_target_means(self, means) -> SourcesProblem:
        """The same sources, target covariance and n with a batch of target means (covariance theory only: one
        O(p^2) rotation per mean, `CovarianceProblem.with_target_means`); every method then broadcasts over it.

        Args:
            means: (..., p) target means.

        Returns:
            SourcesProblem: the problem batched over the leading axes of `means`.

        Raises:
            ValueError: the problem has no covariance (use the isotropic formulas' batch in `s` and `m` instead).
        """
        if self._covariance is None:
            raise ValueError("with_target_means needs a target covariance (the covariance theory); the isotropic "
                             "problem sees the target only through s_k and m")
        batch = copy.copy(self)
        batch._covariance = self._covariance.with_target_means(means)
        return batch

    def coefficients(self, gamma=None) -> SourcesCoefficients:
        """`(a, B)` at gamma (default: the problem's), for the unit-norm sources (`alpha_k |w_k|` multiplies them).

        Args:
            gamma: ridge strength(s); an array gives a leading batch axis.
        Returns:
            SourcesCoefficients: `a` (..., K + 1), `B` (..., K + 1, K + 1).
        """
        if gamma is None:
            gamma = self.gamma
        elif not isinstance(gamma, jax.Array):
            gamma = check_positive_array("gamma", gamma)
        if self._covariance is not None:
            return SourcesCoefficients(*covariance_source_coefficients(self._covariance, self._rotated, gamma,
                                                                       self._seconds))
        m = self.target.mean_norm_sq
        if m <= 0:
            raise ValueError(f"the target mean must be non-zero (|mu_t|^2 > 0), got {m!r}")
        shape = np.shape(gamma)
        s = np.broadcast_to(self._s, shape + (self.K,))
        omega = np.broadcast_to(self._omega_perp, shape + (self.K, self.K))
        return SourcesCoefficients(*isotropic_source_coefficients(np.full(shape, m), self.target.eta, gamma, s, omega))

    def _t(self, alpha):
        """`t = (1, alpha * |w_k|)`; a JAX alpha (traced or not) stays JAX (isotropic theory: jit, vmap, grad)."""
        traced = isinstance(alpha, jax.Array)
        if not traced:
            alpha = check_finite_array("alpha", alpha)
        if alpha.ndim == 0 or alpha.shape[-1] != self.K:
            raise ValueError(f"alpha must have shape (..., {self.K}) (one entry per source), got shape {alpha.shape}")
        xp = jnp if traced else np
        scaled = alpha * self.norms
        return xp.concatenate([xp.ones(scaled.shape[:-1] + (1,)), scaled], axis=-1)

    def margin_moments(self, alpha, gamma=None) -> Moments:
        """`Moments(E[y g], E[g^2], Var[g])` at alpha (..., K): `a^T t`, `t^T B t` (section 10).

        Args:
            alpha: (..., K), one entry per source.
            gamma: ridge strength(s) (default: the problem's), broadcast with alpha's leading axes.

        Returns:
            Moments: mean, second moment and variance of the margin.
        """
        a, B = self.coefficients(gamma)
        t = self._t(alpha)
        xp = array_namespace(a, t)
        mean = xp.einsum("...i,...i->...", a, t)
        variance = xp.einsum("...i,...ij,...j->...", t, B, t)
        return Moments(mean[()], (variance + mean**2)[()], variance[()])

    def predicted_accuracy(self, alpha, gamma=None):
        """`Phi(a^T t / sqrt(t^T B t))`, `t = (1, alpha)` (section 10); shape: alpha's leading axes with gamma's.

        Args:
            alpha: (..., K), one entry per source.
            gamma: ridge strength(s) (default: the problem's), broadcast with alpha's leading axes.

        Returns:
            The accuracy, float64 (a numpy scalar for alpha of shape (K,)).
        """
        a, B = self.coefficients(gamma)
        t = self._t(alpha)
        accuracy = standard_normal_cdf(rayleigh_ratio(a, B, t))
        return accuracy if isinstance(accuracy, jax.Array) else np.asarray(accuracy, dtype=np.float64)[()]

    def predicted_risk(self, alpha, gamma=None):
        """Squared-loss risk `Var[g] + (1 - E[y g])^2`.

        Args:
            alpha: (..., K), one entry per source.
            gamma: ridge strength(s) (default: the problem's).

        Returns:
            The risk, broadcast over alpha's leading axes and gamma.
        """
        mean, _, variance = self.margin_moments(alpha, gamma)
        risk = variance + (1.0 - mean) ** 2
        return risk if isinstance(risk, jax.Array) else np.asarray(risk)[()]

    def optimal_alpha(self, gamma=None, *, nonnegative: bool = False, subset=None):
        """alpha* (section 10.3): the maximiser over R^K, over alpha >= 0, and/or over the sources in `subset`.

        Args:
            gamma: ridge strength(s); an array batches the unconstrained alpha* (constrained: one gamma).
            nonnegative: constrain every alpha_k >= 0.
            subset: indices of the sources allowed a nonzero alpha (default: all).
        Returns:
            np.ndarray (..., K); `+-inf` entries when the supremum is only approached as `|alpha| -> inf`.
        """
        return self.optimum(gamma, nonnegative=nonnegative, subset=subset).alpha

    def optimum(self, gamma=None, *, nonnegative: bool = False, subset=None) -> SourcesOptimum:
        """`SourcesOptimum(alpha, accuracy, support)`: `optimal_alpha` with its predicted accuracy and the sources
        it uses (nonzero alpha).

        Args:
            gamma: ridge strength(s), as in `optimal_alpha`.
            nonnegative: constrain every alpha_k >= 0.
            subset: indices of the sources allowed a nonzero alpha (default: all).

        Returns:
            SourcesOptimum: alpha (..., K), its predicted accuracy, and the indices of the sources used.
        """
        allowed = self._subset(subset)
        a, B = self.coefficients(gamma)
        if not nonnegative:
            index = np.array([0] + [k + 1 for k in allowed])
            alpha = np.zeros(a.shape[:-1] + (self.K,))
            alpha[..., list(allowed)] = rayleigh_maximiser(a[..., index], B[..., index[:, None], index[None, :]])
        else:
            if a.ndim != 1:
                raise ValueError(f"nonnegative alpha* needs a single gamma, got gamma of shape {a.shape[:-1]}")
            alpha = nonnegative_maximiser(a, B, allowed)
        accuracy = accuracy_at(a, B, alpha)
        user = alpha / self.norms
        support = tuple(int(k) for k in np.flatnonzero(np.any(np.reshape(user != 0, (-1, self.K)), axis=0)))
        return SourcesOptimum(user, accuracy[()] if np.ndim(accuracy) else float(accuracy), support)

    def _subset(self, subset) -> tuple:
        if subset is None:
            return tuple(range(self.K))
        indices = np.asarray(subset)
        if indices.ndim != 1 or indices.size == 0 or indices.dtype.kind not in "iu":
            raise ValueError(f"subset must be a non-empty list of source indices in [0, {self.K}), got {subset!r}")
        if np.any(indices < 0) or np.any(indices >= self.K) or np.unique(indices).size != indices.size:
            raise ValueError(f"subset must list distinct source indices in [0, {self.K}), got {indices.tolist()}")
        return tuple(sorted(int(k) for k in indices))
