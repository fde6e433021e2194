"""The theory's statistics estimated from data, honestly (theory/THEORY.md section 5), and the preprocessing that makes
real features fit the model's unit-variance noise.

Only the target **training** sample (and, for the pool estimator, unlabelled target points disjoint from the test
points) may be used. With a known source classifier `w_s` and target training data `(X, y)`:

- `s_hat = mean_i(y_i x_i^T w_s)` is unbiased for `s = <w_s, mu_t>`;
- `m_hat = sum_{i != j} y_i y_j x_i^T x_j / (n (n - 1))` is unbiased for `m = |mu_t|^2` (the naive
  `|mean(y x)|^2` is biased upwards by `tr(C) / n`, about p / n);
- `omega = |w_s|^2` is known exactly.

The isotropic theory sees the target only through `(m, s)` given `w_s`: `target_stats_from_invariants` builds the
`TargetStats` whose mean reproduces them, so `optimal_alpha` and `predicted_accuracy` apply unchanged.

Pool estimator: an unlabelled target pool `U` (disjoint from the test points) is pseudo-labelled by a classifier
`w` fitted on the training sample (`y_hat = sign(U w)`), and the same U-statistics are taken over the
pseudo-labelled points: that removes the `p / N` noise bias of `|mean|^2`, the largest one. What remains is the
labeller's own bias: for a Gaussian mixture `u = y mu + C^{1/2} z` and `w` independent of the pool, with
`sigma^2 = w^T C w` and `r = w^T mu / sigma`,

    E[y_hat u] = (2 Phi(r) - 1) mu + 2 phi(r) C w / sigma,

a shrinkage of `mu` (the pseudo-labels' errors) plus a bias along `C w`. Undoing it needs `r`, which the unlabelled
pool does not identify in practice: along `w` the pool is a symmetric two-Gaussian mixture whose moment ratio
`E|g| / sqrt(E g^2)` only moves from 0.798 to 0.825 as r goes from 0 to 1, so a correction built on it amplifies
noise (tried: on synthetic Gaussian data it missed `s` by 45%; on Amazon it fell 12 points below the uncorrected
estimate). Measured on the 12 Amazon pairs (n = 20, pool of 1000, labeller alpha = 1), against the U-statistics of
the same rows with their true labels: the pool's `s` is 1.25 times the truth (1.08 to 1.44), its `m` 1.09 times
(0.81 to 1.41): the bias along `C w` outweighs the shrinkage. Reference: theory/THEORY.md sections 5 and 8;
El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import sklearn.covariance

from rmt_alpha._stats import SourceStats, Spectrum, TargetStats, check_covariance
from rmt_alpha._validation import check_finite_array, check_positive_float, check_signed_labels, check_vector

# ----------------------------------------------------------------------------------------------- preprocessing

class Standardization(NamedTuple):
    """Per-feature affine map `x -> (x - mean) / scale` (arrays (..., p); a leading split axis broadcasts)."""

    mean: np.ndarray
    scale: np.ndarray

    def apply(self, X) -> np.ndarray:
        """Standardised features; X has shape (..., n_samples, p) matching the leading axes of mean and scale."""
        return (np.asarray(X, dtype=np.float64) - self.mean[..., None, :]) / self.scale[..., None, :]


def fit_standardization(unlabelled_X) -> Standardization:
    """Mean and standard deviation of each feature over the unlabelled rows (labels are never looked at).

    Features constant over the rows get scale 1 (as scikit-learn's `StandardScaler`). X: (..., n_samples, p);
    a leading axis gives one standardisation per split.
    """
    X = check_finite_array("unlabelled_X", unlabelled_X)
    if X.ndim < 2 or X.shape[-2] < 2:
        raise ValueError(f"unlabelled_X must have shape (..., n_samples >= 2, p), got {X.shape}")
    scale = X.std(axis=-2)
    return Standardization(X.mean(axis=-2), np.where(scale > 0, scale, 1.0))


def source_whitening(source_X, source_y, *, shrinkage: str = "ledoit_wolf") -> np.ndarray:
    """`C_s^{-1/2}`, the inverse square root of the source's within-class covariance (shrunk, scikit-learn).

    Applied to both domains' (standardised) features as `X @ W`, it makes the source noise white; the plentiful
    source data estimate it. source_X: (N, p), standardised; source_y: (N,) in {-1, +1}.
    """
    X = check_finite_array("source_X", source_X)
    y = check_signed_labels("source_y", source_y, X.shape[0])
    class_means = np.where(y[:, None] > 0, X[y > 0].mean(0), X[y < 0].mean(0))
    eigenvalues, eigenvectors = estimate_covariance(X - class_means, shrinkage=shrinkage, assume_centered=True)
    return (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T


# ----------------------------------------------------------------------------------------------- estimators

class InvariantEstimate(NamedTuple):
    """Estimates of the invariants `s = <w_s, mu_t>` and `m = |mu_t|^2` (arrays over splits), with `omega = |w_s|^2`
    and n (`rmt_alpha.IsotropicProblem.from_invariants` takes them)."""

    s: np.ndarray
    m: np.ndarray
    omega: float
    n: int


def signed_pair_statistics(Z) -> tuple[np.ndarray, np.ndarray]:
    """`(mean_i z_i, sum_{i != j} z_i^T z_j / (n (n - 1)))` over the rows of Z (..., n, p): the sample mean and the
    U-statistic, unbiased for `E z` and `|E z|^2` when the rows are independent."""
    n = Z.shape[-2]
    total = Z.sum(axis=-2)
    pairs = (np.einsum("...i,...i->...", total, total) - np.einsum("...ki,...ki->...", Z, Z)) / (n * (n - 1))
    return total / n, pairs


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
        >>> est = estimate_invariants(w_s, X_train, y_train)   # doctest: +SKIP
    """
    X = check_finite_array("X", X)
    w_s = check_vector("w_s", w_s, length=X.shape[-1])
    if X.ndim not in (2, 3) or X.shape[-2] < 2:
        raise ValueError(f"X must have shape (n >= 2, p) or (splits, n >= 2, p), got {X.shape}")
    y = check_signed_labels("y", y, X.shape[-2])
    mean, m = signed_pair_statistics(y[..., None] * X)
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
    """What the pseudo-labelled pool gives: the target mean `mean` (rescaled to the unbiased norm `sqrt(m)` when
    `m > 0`), `s = <w_s, mean(y_hat u)>`, the U-statistic `m`, and the pool size."""

    mean: np.ndarray
    s: np.ndarray
    m: np.ndarray
    pool_size: int


def estimate_from_pool(pool_X, labeller_w, w_s) -> PoolEstimate:
    """Target mean, `s` and `m` from an unlabelled target pool pseudo-labelled by `sign(pool_X @ labeller_w)`.

    `mu_hat = mean_i(y_hat_i u_i)`, `s_hat = <w_s, mu_hat>`, `m_hat` the U-statistic of the `y_hat_i u_i`
    (unbiased for `|E[y_hat u]|^2`). The labeller must be fitted on other points than the pool; the pool must be
    disjoint from the test points. Its remaining bias is described in the module docstring (theory/THEORY.md
    section 5).

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
    pseudo_labels = np.where(np.einsum("...np,...p->...n", U, w) >= 0, 1.0, -1.0)
    mean, m = signed_pair_statistics(pseudo_labels[..., None] * U)
    norm_sq = np.einsum("...i,...i->...", mean, mean)
    factor = np.sqrt(np.where((m > 0) & (norm_sq > 0), m / np.where(norm_sq > 0, norm_sq, 1.0), 1.0))
    return PoolEstimate(mean * factor[..., None], mean @ w_s, m, U.shape[-2])


# ------------------------------------------------------------------------------- covariance and statistics

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
    X = _check_samples("X", X)
    estimator = SHRINKAGE_ESTIMATORS[shrinkage](assume_centered=assume_centered).fit(X)
    return check_covariance("the estimated covariance", estimator.covariance_, X.shape[1])


def _check_samples(name, X, minimum: int = 2) -> np.ndarray:
    X = check_finite_array(name, X)
    if X.ndim != 2 or X.shape[0] < minimum:
        raise ValueError(f"{name} must be a 2-D array (n_samples, p) with at least {minimum} rows, "
                         f"got shape {X.shape}")
    return X


def _class_mean_and_residuals(X, y, name):
    X = _check_samples(f"{name} features", X)
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
    X = _check_samples("X", X, minimum=4)
    labels = check_finite_array("y", y).ravel()
    if labels.shape == (X.shape[0],) and min(np.sum(labels > 0), np.sum(labels < 0)) < 2:
        raise ValueError(f"y must contain at least 2 rows of each class, got {int(np.sum(labels < 0))} negative "
                         f"and {int(np.sum(labels > 0))} positive")
    mean, residuals = _class_mean_and_residuals(X, y, "target")
    if unlabelled is not None:
        pool = _check_samples("unlabelled", unlabelled, minimum=1)
        if pool.shape[1] != residuals.shape[1]:
            raise ValueError(f"unlabelled must have {residuals.shape[1]} columns (the labelled p), "
                             f"got {pool.shape[1]}")
        residuals = np.vstack([residuals, pool - pool.mean(0)])
    cov = estimate_covariance(residuals, shrinkage=shrinkage, assume_centered=True)
    excess = float(np.sum(cov.eigenvalues)) / X.shape[0]
    if excess > 0.1 * float(mean @ mean):
        warnings.warn(f"plug-in statistics from {X.shape[0]} labelled rows: |mu_hat|^2 = {float(mean @ mean):.3g} "
                      f"includes about tr(C) / n = {excess:.3g} of noise; use choose_alpha or estimate_target_stats "
                      "(unbiased) to choose alpha", RuntimeWarning, stacklevel=2)
    return TargetStats(mean, np.asarray(y).size, check_positive_float("gamma", gamma), cov)
