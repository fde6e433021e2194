"""The theory's statistics estimated from data, honestly (theory/THEORY.md sections 5 and 8): the one home of
every estimator `choose_alpha`, `estimate_target_stats` and the experiments use.

Only the target **training** rows (and unlabelled target rows disjoint from the test rows) may be used. Every
estimator of a mean statistic takes row weights, so a point estimate and all its bootstrap replicates come out of
one vectorised call (`bootstrap_weights`: row 0 is the data itself, the others multinomial counts).

- Labelled rows `(x_i, y_i)`, `z_i = y_i x_i`, weights `pi` (`1/n` for the data): `s_hat = sum_i pi_i z_i^T v` is
  unbiased for `s = <v, mu_t>` (v = w_s), and the U-statistic `m_hat = (|sum_i pi_i z_i|^2 - sum_i pi_i^2 |z_i|^2)
  / (1 - sum_i pi_i^2)` (pairs of distinct rows only; `pi = 1/n` gives `sum_{i != j} z_i^T z_j / (n (n - 1))`) is
  unbiased for `m = |mu_t|^2`: the within-class noise, which inflates the naive `|mean(y x)|^2` by `tr(C_t) / n`
  (about p / n), never enters. A row drawn twice by the bootstrap is still one row: its pair with itself is
  excluded. `omega = |w_s|^2` is known exactly. The isotropic theory sees the target only through `(m, s)`:
  `target_stats_from_invariants` builds a `TargetStats` that reproduces them.
- An unlabelled pool `U` is pseudo-labelled by the classifier fine-tuned on the labelled rows (`y_hat = sign(U w)`,
  re-labelled at the current alpha* `rounds` times: `pseudo_labelled_pool`) and the same statistics are taken over
  the `y_hat_i u_i`: that removes the p / N noise of `|mean|^2` but keeps the labeller's bias, for a Gaussian
  mixture and `w` independent of the pool (`sigma^2 = w^T C w`, `r = w^T mu / sigma`)
  `E[y_hat u] = (2 Phi(r) - 1) mu + 2 phi(r) C w / sigma`. Undoing it needs `r`, which the pool does not identify in
  practice (`E|g| / sqrt(E g^2)` moves only from 0.798 to 0.825 as r goes from 0 to 1; a correction built on it
  missed `s` by 45% on synthetic data). Measured on the 12 Amazon pairs (n = 20, pool of 1000, labeller alpha = 1)
  against the same rows' true labels: `s` 1.25 times the truth (1.08 to 1.44), `m` 1.09 times (0.81 to 1.41).
- Covariances (section 8): scikit-learn's shrinkage estimators (`estimate_covariance`); the target noise covariance
  from labelled residuals (`n - 1` degrees of freedom) and the pool's uncentred scatter minus its rank-one
  `m d d^T` (`target_covariance`); `SourceStats` from source data; the naive `plugin_target_stats` for checks.

Reference: theory/THEORY.md sections 5 and 8; El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import sklearn.covariance

from rmt_alpha._stats import SourceStats, Spectrum, TargetStats, check_covariance
from rmt_alpha._validation import (
    check_finite_array,
    check_positive_float,
    check_rows,
    check_signed_labels,
    check_vector,
)

LABELLER_ALPHA_BOUND = 10.0  # re-labelling uses alpha* clipped to [-bound, bound] (alpha* can be infinite)


class Weights(NamedTuple):
    """Row weights (counts) of the labelled rows `(B + 1, n)` and of the unlabelled rows `(B + 1, N)` (None without
    a pool); row 0 weighs every row once (the data), rows 1..B are bootstrap replicates."""

    labelled: np.ndarray
    unlabelled: np.ndarray | None


def bootstrap_weights(y, pool_size: int, replicates: int, rng: np.random.Generator) -> Weights:
    """Multinomial bootstrap counts: labelled rows resampled within each class (so every replicate keeps both
    classes and their sizes), unlabelled rows resampled as a whole. Row 0 is all ones."""
    labelled = np.ones((replicates + 1, y.size))
    labelled[1:] = 0.0
    for label in (-1.0, 1.0):
        rows = np.flatnonzero(y == label)
        labelled[1:, rows] = _resample_counts(rows.size, replicates, rng)
    unlabelled = None
    if pool_size:
        unlabelled = np.ones((replicates + 1, pool_size))
        unlabelled[1:] = _resample_counts(pool_size, replicates, rng)
    return Weights(labelled, unlabelled)


def _resample_counts(size: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of `size` rows is drawn in each of `replicates` resamples of `size` draws with replacement."""
    draws = rng.integers(0, size, size=(replicates, size)) + size * np.arange(replicates)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * size).reshape(replicates, size)


def pair_statistics(Z, weights=None, signs=1.0) -> tuple[np.ndarray, np.ndarray]:
    """`(sum_i pi_i z_i, U-statistic)` of the rows `z_i = signs_i Z_i`, `pi = weights / weights.sum()` (uniform
    when None): the weighted mean, unbiased for `E z`, and `(|sum pi z|^2 - sum pi^2 |z|^2) / (1 - sum pi^2)`,
    unbiased for `|E z|^2` (module docstring).

    Args:
        Z: (..., n, p) rows.
        weights: None, or (..., n) non-negative row weights (bootstrap counts) broadcasting against Z's leading
            axes: (B, n) weights of (n, p) rows give B estimates.
        signs: labels or pseudo-labels in {-1, +1}, broadcasting against the weights.
    Returns:
        `(mean, pairs)`: shapes (..., p) and (...).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha._estimation import pair_statistics
        >>> Z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> mean, pairs = pair_statistics(Z)
        >>> mean.round(4).tolist(), round(float(pairs), 4)   # (z1.z2 + z1.z3 + z2.z3) / 3
        ([0.6667, 0.6667], 0.6667)
    """
    Z = np.asarray(Z, dtype=np.float64)
    weights = np.ones(Z.shape[:-1]) if weights is None else np.asarray(weights, dtype=np.float64)
    pi = weights / weights.sum(axis=-1, keepdims=True)
    mean = np.einsum("...i,...ip->...p", pi * signs, Z)
    self_pairs = np.einsum("...i,...i->...", pi * pi, np.einsum("...ip,...ip->...i", Z, Z))
    concentration = (pi * pi).sum(axis=-1)
    return mean, (np.einsum("...p,...p->...", mean, mean) - self_pairs) / (1.0 - concentration)


class InvariantEstimate(NamedTuple):
    """Estimates of the invariants `s = <w_s, mu_t>` and `m = |mu_t|^2` (arrays over splits), with `omega = |w_s|^2`
    and n (`rmt_alpha.IsotropicProblem.from_invariants` takes them)."""

    s: np.ndarray
    m: np.ndarray
    omega: float
    n: int


def estimate_invariants(w_s, X, y) -> InvariantEstimate:
    """The unbiased estimators of theory/THEORY.md section 5 from the target training sample.

    `s_hat = mean_i(y_i x_i^T w_s)`, `m_hat = sum_{i != j} y_i y_j x_i^T x_j / (n (n - 1))`.

    Args:
        w_s: (p,) the source classifier.
        X: (n, p) or stacked splits (splits, n, p), n >= 2.
        y: (n,) or (splits, n) in {-1, +1}.
    Returns:
        `InvariantEstimate(s, m, omega, n)`; s and m are scalars or shape (splits,).

    Example:
        >>> from rmt_alpha import estimate_invariants
        >>> est = estimate_invariants(w_s, X_train, y_train)   # doctest: +SKIP
    """
    X = check_finite_array("X", X)
    w_s = check_vector("w_s", w_s, length=X.shape[-1])
    if X.ndim not in (2, 3) or X.shape[-2] < 2:
        raise ValueError(f"X must have shape (n >= 2, p) or (splits, n >= 2, p), got {X.shape}")
    y = check_signed_labels("y", y, X.shape[-2])
    mean, m = pair_statistics(X, signs=y)
    return InvariantEstimate(mean @ w_s, m, float(w_s @ w_s), X.shape[-2])


AlignmentEstimate = InvariantEstimate  # deprecated name


def estimate_alignment(X, y, w_s) -> InvariantEstimate:
    """Deprecated: `estimate_invariants(w_s, X, y)` (source first, as everywhere; `alignment()` is another thing).

    Args:
        X: (n, p) labelled target features.
        y: (n,) labels in {-1, +1}.
        w_s: (p,) source classifier.

    Returns:
        InvariantEstimate: what `estimate_invariants(w_s, X, y)` returns (with a `DeprecationWarning`).
    """
    warnings.warn("estimate_alignment(X, y, w_s) is deprecated: use estimate_invariants(w_s, X, y)",
                  DeprecationWarning, stacklevel=2)
    return estimate_invariants(w_s, X, y)


def target_stats_from_invariants(w_s, s: float, m: float, n: int, gamma: float) -> TargetStats:
    """The `TargetStats` whose mean `mu` has `<w_s, mu> = s` and `|mu|^2 = m`: all the isotropic theory needs.

    `mu = (s / |w_s|) e_1 + sqrt(m - s^2 / |w_s|^2) e_2`, `e_1 = w_s / |w_s|`, `e_2` a fixed unit vector orthogonal
    to it. An estimate with `m < s^2 / |w_s|^2` (impossible by Cauchy-Schwarz, possible from noise) is raised to
    `s^2 / |w_s|^2` (`mu` along `w_s`); `m <= 0` with `s = 0` gives a tiny `m` (a target without signal).
    See theory/THEORY.md section 5.

    Args:
        w_s: (p,) source classifier, non-zero, p >= 2.
        s: the alignment `<w_s, mu_t>`.
        m: the squared target-mean norm `|mu_t|^2`.
        n: the number of target training samples.
        gamma: the fine-tuning ridge strength (> 0).

    Returns:
        TargetStats: with mean `mu` as above, `n` and `gamma`.

    Raises:
        ValueError: `s` or `m` not finite, `w_s` shorter than 2 or zero.
    """
    w_s = check_vector("w_s", w_s)
    s, m = float(s), float(m)
    if not (np.isfinite(s) and np.isfinite(m)):
        raise ValueError(f"s and m must be finite, got s={s!r}, m={m!r}")
    if w_s.size < 2:
        raise ValueError(f"w_s must have length p >= 2 (the mean needs a direction beside w_s), got {w_s.size}")
    norm = float(np.linalg.norm(w_s))
    if norm == 0:
        raise ValueError("w_s must be non-zero: the target mean is placed relative to its direction")
    along = s / norm
    across_sq = max(m - along * along, 0.0)
    if along == 0.0 and across_sq == 0.0:
        across_sq = 1e-12
    e1 = w_s / norm
    e2 = np.zeros_like(w_s)
    e2[int(np.argmin(np.abs(e1)))] = 1.0  # the axis least aligned with w_s, made orthogonal to it
    e2 -= (e2 @ e1) * e1
    e2 /= np.linalg.norm(e2)
    return TargetStats(along * e1 + np.sqrt(across_sq) * e2, n, gamma)


class PoolEstimate(NamedTuple):
    """Pseudo-labelled pool statistics (arrays over splits or weight rows): the target mean `mean` (rescaled to the
    unbiased norm `sqrt(m)` when `m > 0`), `s = <v, mean(y_hat u)>`, the U-statistic `m` of the `y_hat u`, and the
    pseudo-labels `(..., N)`."""

    mean: np.ndarray
    s: np.ndarray
    m: np.ndarray
    pseudo_labels: np.ndarray


def pool_statistics(U, pseudo_labels, v, weights=None) -> PoolEstimate:
    """`PoolEstimate` of the rows `y_hat_i u_i` (module docstring): `pair_statistics` with the pseudo-labels as signs.

    Args:
        U: (N, p) or (splits, N, p) unlabelled rows.
        pseudo_labels: (..., N) in {-1, +1}.
        v: (p,) the vector of `s = <v, mean>` (w_s, or mu_s for a ridge source).
        weights: optional (..., N) row weights (as `pair_statistics`).
    """
    mean, m = pair_statistics(U, weights, pseudo_labels)
    norm_sq = np.einsum("...i,...i->...", mean, mean)
    factor = np.sqrt(np.where((m > 0) & (norm_sq > 0), m / np.where(norm_sq > 0, norm_sq, 1.0), 1.0))
    return PoolEstimate(mean * factor[..., None], mean @ v, m, pseudo_labels)


def estimate_from_pool(pool_X, labeller_w, w_s) -> PoolEstimate:
    """Target mean, `s` and `m` from an unlabelled target pool pseudo-labelled by `sign(pool_X @ labeller_w)`.

    `pool_statistics` of the pseudo-labelled pool. The labeller must be fitted on other rows than the pool, and the
    pool must be disjoint from the test rows; its remaining bias: module docstring (theory/THEORY.md section 5).

    Args:
        pool_X: (N, p) or (splits, N, p) unlabelled target features, N >= 2.
        labeller_w: (p,) or (splits, p) classifier that pseudo-labels the pool.
        w_s: (p,) source classifier.

    Returns:
        PoolEstimate: (arrays over splits when batched).

    Raises:
        ValueError: `pool_X` or `labeller_w` of the wrong shape.
    """
    U = check_finite_array("pool_X", pool_X)
    if U.ndim not in (2, 3) or U.shape[-2] < 2:
        raise ValueError(f"pool_X must have shape (N >= 2, p) or (splits, N >= 2, p), got {U.shape}")
    w = check_finite_array("labeller_w", labeller_w)
    if w.shape != U.shape[:-2] + U.shape[-1:]:
        raise ValueError(f"labeller_w must have shape {U.shape[:-2] + U.shape[-1:]} to match pool_X {U.shape}, "
                         f"got {w.shape}")
    w_s = check_vector("w_s", w_s, length=U.shape[-1])
    return pool_statistics(U, np.where(np.einsum("...np,...p->...n", U, w) >= 0, 1.0, -1.0), w_s)


class PseudoLabelledPool(NamedTuple):
    """`pseudo_labelled_pool`'s result: the `PoolEstimate` per weight row (B + 1 rows) and the alpha of each row's
    last labeller."""

    estimate: PoolEstimate
    labeller_alpha: np.ndarray


class Labeller(NamedTuple):
    """The fine-tuned classifier of each weight row in dual form: `w_alpha = X^T (a - alpha c) + alpha v`, with `v`
    the source classifier (`a`, `c`: (B + 1, n))."""

    a: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def margins(self, U, X, alpha) -> np.ndarray:
        """`U w_alpha` for every weight row (B + 1, N), alpha of shape (B + 1,)."""
        alpha = np.asarray(alpha, dtype=np.float64)[:, None]
        return (self.a - alpha * self.c) @ (X @ U.T) + alpha * (U @ self.v)[None, :]


def fit_labeller(X, y, v, gamma: float, weights) -> Labeller:
    """The weighted fine-tuning ridge `w_alpha = Q (X^T Pi y + alpha gamma v)`, `Q = (X^T Pi X + gamma I)^-1`,
    `Pi = diag(pi)`, `pi` the normalised weight row (`1/n` each: theory/THEORY.md section 1's classifier).

    With `(gamma I + X^T Pi X)^-1 = (I - X^T (gamma I + Pi K)^-1 Pi X) / gamma`, `K = X X^T` (push-through
    identity, valid with zero weights), each row costs one n x n solve.
    """
    pi = weights / weights.sum(axis=1, keepdims=True)
    n = X.shape[0]
    kernel = X @ X.T
    system = gamma * np.eye(n) + pi[:, :, None] * kernel[None]
    target_rhs = pi * ((pi * y) @ kernel)               # Pi K Pi y
    source_rhs = pi * (X @ v)[None, :]                  # Pi X v
    solved = np.linalg.solve(system, np.stack([target_rhs, source_rhs], axis=2))
    return Labeller((pi * y - solved[..., 0]) / gamma, solved[..., 1], v)


def pseudo_labelled_pool(X, y, U, v, labeller_v, gamma: float, weights: Weights, rounds: int, alpha_star
                         ) -> PseudoLabelledPool:
    """The pool statistics after `rounds` rounds of pseudo-labelling (the first by the alpha = 1 classifier, then
    by the classifier at the current `alpha_star(s, m)`, an array function of the per-row statistics).

    Args:
        X: (n, p) labelled rows. y: (n,) in {-1, +1}. U: (N, p) unlabelled rows.
        v: (p,) the vector whose projection is the statistic s (w_s, or mu_s for a ridge source's statistics).
        labeller_v: (p,) the source classifier inside the labeller (w_s, or E[w_s] for a ridge source).
        gamma: fine-tuning ridge strength. weights: `Weights` with a pool. rounds: >= 1.
    """
    labeller = fit_labeller(X, y, labeller_v, gamma, weights.labelled)
    alpha = np.ones(weights.labelled.shape[0])
    for _ in range(rounds):
        estimate = pool_statistics(U, np.where(labeller.margins(U, X, alpha) >= 0, 1.0, -1.0), v, weights.unlabelled)
        used = alpha
        alpha = np.clip(np.nan_to_num(alpha_star(estimate.s, estimate.m), nan=1.0, posinf=LABELLER_ALPHA_BOUND,
                                      neginf=-LABELLER_ALPHA_BOUND), -LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND)
    return PseudoLabelledPool(estimate, used)


SHRINKAGE_ESTIMATORS = {"ledoit_wolf": sklearn.covariance.LedoitWolf, "oas": sklearn.covariance.OAS,
                         "none": sklearn.covariance.EmpiricalCovariance}


def estimate_covariance(X, *, shrinkage: str = "ledoit_wolf", assume_centered: bool = False) -> Spectrum:
    """Covariance of the rows of X as a validated `Spectrum` (theory/THEORY.md section 8).

    Shrunk by scikit-learn's `LedoitWolf` ("ledoit_wolf") or `OAS` ("oas"), or its plain `EmpiricalCovariance`
    ("none", for many more samples than features).

    Args:
        X: (n_samples, p) rows.
        shrinkage: "ledoit_wolf", "oas" or "none".
        assume_centered: True when the rows are already centred (no mean is subtracted).

    Returns:
        Spectrum: eigenvalues and eigenvectors of the (p, p) estimate.

    Raises:
        ValueError: an unknown `shrinkage`, or `X` not a 2-D array with enough rows.
    """
    if shrinkage not in SHRINKAGE_ESTIMATORS:
        raise ValueError(f"shrinkage must be one of {sorted(SHRINKAGE_ESTIMATORS)}, got {shrinkage!r}")
    X = check_rows("X", X, minimum=2)
    estimator = SHRINKAGE_ESTIMATORS[shrinkage](assume_centered=assume_centered).fit(X)
    return check_covariance("the estimated covariance", estimator.covariance_, X.shape[1])


def _class_mean_and_residuals(X, y, name):
    X = check_rows(f"{name} features", X, minimum=2)
    y = check_finite_array(f"{name} labels", y).ravel()
    if y.shape != (X.shape[0],) or not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"{name} labels must be {X.shape[0]} values in {{-1, +1}}, got shape {y.shape} "
                         f"with values {np.unique(y)[:5]}")
    if not (np.any(y > 0) and np.any(y < 0)):
        raise ValueError(f"{name} labels must contain both classes, got only {y[0]:+g}")
    positive, negative = X[y > 0].mean(0), X[y < 0].mean(0)
    residuals = X - np.where(y[:, None] > 0, positive, negative)
    return (positive - negative) / 2.0, residuals


def estimate_source_stats(X, y, gamma: float, *, shrinkage: str = "ledoit_wolf") -> SourceStats:
    """`SourceStats` from labelled source data (theory/THEORY.md section 5).

    The mean `mu_s = (mean(x | +1) - mean(x | -1)) / 2`, `n` = the number of rows, and the within-class covariance
    (class-centred rows; `shrinkage` as in `estimate_covariance`). The model has no global offset
    (`x = y mu + noise`): centre the features first (e.g. by the source mean).

    Args:
        X: (n, p) source features.
        y: (n,) labels in {-1, +1}, both classes present.
        gamma: the source ridge strength (> 0).
        shrinkage: "ledoit_wolf", "oas" or "none" (as in `estimate_covariance`).

    Returns:
        SourceStats: mean, n, gamma and covariance.

    Raises:
        ValueError: `X` or `y` of the wrong shape, `y` outside {-1, +1} or with one class, or `gamma <= 0`.
    """
    mean, residuals = _class_mean_and_residuals(X, y, "source")
    cov = estimate_covariance(residuals, shrinkage=shrinkage, assume_centered=True)
    return SourceStats(mean, residuals.shape[0], check_positive_float("gamma", gamma), cov)


def plugin_target_stats(X, y, gamma: float, *, unlabelled=None, shrinkage: str = "ledoit_wolf") -> TargetStats:
    """Plug-in `TargetStats`: the sample class-mean difference and a shrunk covariance, taken as exact.

    Biased: for choosing alpha use `rmt_alpha.choose_alpha` (or `rmt_alpha.estimate_target_stats`, its statistics).
    Mean: `(mean(x | +1) - mean(x | -1)) / 2` of the labelled points; from few points it is noisy, and the theory
    treats it as exact, so `|mu|^2` is overestimated by about `tr(C) / n` (p / n for unit noise: 20 times the truth
    in theory/THEORY.md's example at n = 20; see section 5). A `RuntimeWarning` says so whenever that excess is over
    10% of the estimate. Covariance (`shrinkage` as in `estimate_covariance`): from the class-centred labelled
    points, stacked with the centred `unlabelled` pool when given; the pool estimates `C + mu mu^T`, not `C`
    (pessimistic predictions). Meant for many labelled rows (checks of the theory), never for a few.

    Args:
        X: (n, p) labelled target features.
        y: (n,) labels in {-1, +1}, both classes present.
        gamma: the fine-tuning ridge strength (> 0).
        unlabelled: optional (N, p) unlabelled target pool, stacked into the covariance estimate.
        shrinkage: "ledoit_wolf", "oas" or "none" (as in `estimate_covariance`).

    Returns:
        TargetStats: mean, n, gamma and covariance.

    Raises:
        ValueError: `X`, `y` or `unlabelled` of the wrong shape, `y` outside {-1, +1} or with one class, or
            `gamma <= 0`.
    """
    X = check_rows("X", X, minimum=4)
    labels = check_finite_array("y", y).ravel()
    if labels.shape == (X.shape[0],) and min(np.sum(labels > 0), np.sum(labels < 0)) < 2:
        raise ValueError(f"y must contain at least 2 rows of each class, got {int(np.sum(labels < 0))} negative "
                         f"and {int(np.sum(labels > 0))} positive")
    mean, residuals = _class_mean_and_residuals(X, y, "target")
    if unlabelled is not None:
        pool = check_rows("unlabelled", unlabelled, residuals.shape[1], width_of="X")
        residuals = np.vstack([residuals, pool - pool.mean(0)])
    cov = estimate_covariance(residuals, shrinkage=shrinkage, assume_centered=True)
    excess = float(np.sum(cov.eigenvalues)) / X.shape[0]
    if excess > 0.1 * float(mean @ mean):
        warnings.warn(f"plug-in statistics from {X.shape[0]} labelled rows: |mu_hat|^2 = {float(mean @ mean):.3g} "
                      f"includes about tr(C) / n = {excess:.3g} of noise; use choose_alpha or estimate_target_stats "
                      "(unbiased) to choose alpha", RuntimeWarning, stacklevel=2)
    return TargetStats(mean, np.asarray(y).size, check_positive_float("gamma", gamma), cov)


def target_covariance(X, y, labelled_mean, U=None, mean_sq: float = 0.0, direction=None) -> Spectrum:
    """The target noise covariance from labelled residuals and, when given, an unlabelled pool (module docstring).

    `(R^T R + U^T U - N m d d^T) / (n - 1 + N)`, `R = X - y mu_hat`, `d` the unit mean direction, `m = mean_sq`;
    shrunk towards a scaled identity by the Ledoit-Wolf coefficient of the stacked rows; eigenvalues clipped at 0.
    """
    residuals = X - y[:, None] * labelled_mean
    rows = residuals if U is None else np.vstack([residuals, U])
    scatter = residuals.T @ residuals
    dof = X.shape[0] - 1.0
    if U is not None:
        scatter = scatter + U.T @ U - U.shape[0] * max(mean_sq, 0.0) * np.outer(direction, direction)
        dof += U.shape[0]
    shrinkage = sklearn.covariance.ledoit_wolf_shrinkage(rows, assume_centered=True)
    shrunk = sklearn.covariance.shrunk_covariance(scatter / dof, shrinkage)
    eigenvalues, eigenvectors = np.linalg.eigh(shrunk)
    return Spectrum(np.maximum(eigenvalues, 0.0), eigenvectors)
