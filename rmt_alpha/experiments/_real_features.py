"""Section 8's Gaussian assumptions broken one at a time on real features (theory/real_features.md): on each side
of the fit (the law of the training rows, which shapes the law of the classifier; the law of a test row, which turns
that into an accuracy) the Gaussian mixture or the rows themselves, in-sample (the law is the whole target domain).

With `w(alpha) = w0 + alpha w1` the fine-tuned classifier (theory/THEORY.md sections 8 and 9):

- "section 8": Gaussian on both sides (`predict_vs_measure`'s covariance-aware prediction);
- "test side only": section 8's law of the classifier, `E[w]` and `Cov[w]`, with the accuracy averaged over the
  real rows, `mean_j Phi(y_j x_j^T E[w] / sqrt(x_j^T Cov[w] x_j))`;
- "training side only": the semi-empirical law of the classifier (the rows' law for the fit, section 9) with the
  Gaussian test of section 8, `Phi(mu^T E[w] / sqrt(E[w]^T C E[w] + tr(C Cov[w])))`, mu and C the domain's class
  mean and within-class covariance;
- "test row included": section 9 without leave-self-out (the scored row is in the law it is scored under);
- "section 9": both sides from the rows, leave-self-out (`predict_vs_measure`'s semi-empirical prediction);
- "actual w, Gaussian test" (a reference): the fitted classifiers themselves, each scored by the Gaussian test
  `Phi(w^T mu / sqrt(w^T C w))`, averaged over the draws;
- "actual w moments, accuracy over the rows" (a reference): the mean and covariance of the fitted classifiers over
  the draws, with the accuracy averaged over the rows as in "test side only".

Section 8's `E[w]` and `Cov[w]` are its deterministic equivalents in augmented form (`Rbar = (Sigma / (1 + d) +
D)^-1`; `E[w] = [Rbar g]_{:p}`, `Cov[w] = [Rbar Sigma Rbar]_{:p,:p} g^T Rbar Sigma Rbar g / (n ((1 + d)^2 - t_S))`),
dense (p + 1) x (p + 1). The semi-empirical ones come from `prepare(w_s, target, rows=...)` with zero-weight probe
rows, which do not enter the law: a probe `x` has margin mean `x^T E[w]` and variance `x^T Cov[w] x`, so the
eigenvectors of C and mu as probes give every term of the Gaussian test; a zero-weight copy of every row, scored under
the law of the weighted rows (which contains the row itself), gives "test row included".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special

from rmt_alpha._fixed_point import solve_fixed_point
from rmt_alpha._prepare import prepare
from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import margin_ratio
from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments._prediction import (
    PredictionCheck,
    predict_vs_measure,
    prepared_pair,
    whole_domain_target,
)
from rmt_alpha.experiments._splits import accuracy_outside, fit_splits

VARIANTS = ("section 8", "test side only", "training side only", "test row included", "section 9",
            "actual w, Gaussian test", "actual w moments, accuracy over the rows")
"""The predictions of `assumption_variants`, in the order of theory/real_features.md's table (module docstring)."""
FINE_GRID = np.round(np.arange(0.0, 10.0001, 0.01), 10)
"""The alphas on which the variants without a closed-form alpha* are maximised."""


class RowGaussians(NamedTuple):
    """Per row j: `y_j g(x_j)` over the training draws has mean `mean0 + alpha mean1` and variance
    `var0 + alpha var1 + alpha^2 var2` (each (N,)); the accuracy is the mean over rows of `Phi(mean / sd)`. (Also
    used with one entry per fitted classifier: `w^T mu` and `w^T C w` of each draw, for its Gaussian test.)"""

    mean0: np.ndarray
    mean1: np.ndarray
    var0: np.ndarray
    var1: np.ndarray
    var2: np.ndarray

    def accuracy(self, alpha) -> np.ndarray:
        """`mean_j Phi(mean_j(alpha) / sd_j(alpha))` at each alpha (1-D)."""
        alpha = np.asarray(alpha, np.float64)[:, None]
        ratio = margin_ratio(self.mean0, self.mean1, self.var0, self.var1, self.var2, alpha)
        return scipy.special.ndtr(ratio).mean(axis=1)


class VariantCheck(NamedTuple):
    """Every variant's accuracy curve on one pair beside the measured one.

    Attributes:
        check: the in-sample `PredictionCheck` (whole-domain law, semi-empirical included): the measured curve, and
            the "section 8" and "section 9" predictions with their exact alpha*.
        curves: {variant: (k,) predicted accuracy on `check.alpha`}.
        alpha_star: {variant: alpha*} (sections 8 and 9: the theories' own; the others: the maximiser on
            `FINE_GRID`).
        measured_at_alpha_star: {variant: the measured accuracy at that alpha*, same draws}.
    """

    check: PredictionCheck
    curves: dict
    alpha_star: dict
    measured_at_alpha_star: dict


def gaussian_classifier_law(w_s, target: TargetStats):
    """Section 8's deterministic equivalents of the mean and covariance of `w(alpha) = w0 + alpha w1` (module
    docstring), dense.

    Args:
        w_s: (p,) the source classifier.
        target: the `TargetStats` (mean mu, covariance C as a `Spectrum`, n, gamma).

    Returns:
        `(E[w0], E[w1], P, (q00, q01, q11))`: `E[w(alpha)] = E[w0] + alpha E[w1]` and
        `Cov[w(alpha)] = P (q00 + 2 alpha q01 + alpha^2 q11)`.
    """
    mean, n, gamma = target.mean, target.n, target.gamma
    eigenvalues, eigenvectors = target.cov
    cov, p = target.cov.matrix(), mean.size
    d = float(solve_fixed_point(eigenvalues, (eigenvectors.T @ mean) ** 2, n, np.float64(gamma)).d)
    sigma = np.empty((p + 1, p + 1))
    sigma[:p, :p], sigma[:p, p], sigma[p, :p], sigma[p, p] = cov + np.outer(mean, mean), mean, mean, 1.0
    rbar = np.linalg.inv(sigma / (1.0 + d) + np.diag(np.r_[np.full(p, gamma), 1.0]))
    g0 = np.zeros(p + 1)
    g0[p] = -1.0 / rbar[p, p]
    g1 = gamma * np.r_[w_s, 0.0]
    g1[p] = -gamma * (rbar[:p, p] @ w_s) / rbar[p, p]
    outer = rbar @ sigma @ rbar
    t_s = np.trace(sigma @ rbar @ sigma @ rbar) / n
    scale = 1.0 / (n * ((1.0 + d) ** 2 - t_s))
    quadratic = (scale * g0 @ outer @ g0, scale * g0 @ outer @ g1, scale * g1 @ outer @ g1)
    return (rbar @ g0)[:p], (rbar @ g1)[:p], outer[:p, :p], quadratic


def assumption_variants(source: Domain, target: Domain, alpha, *, n: int = 20, gamma: float = 1.0,
                        splits: int = 200, seed: int = 0) -> VariantCheck:
    """Every variant of the module docstring on one pair, in-sample (whole-domain law), beside the measurement.

    Args:
        source: the source `Domain`.
        target: the target `Domain`.
        alpha: 1-D grid of alphas.
        n: labelled target rows per split.
        gamma: fine-tuning ridge strength (the source's is 1).
        splits: random splits of the measurement.
        seed: seed of the splits.

    Returns:
        VariantCheck: the curves, each alpha* and the accuracy measured there.
    """
    check = predict_vs_measure(source, target, alpha, n=n, gamma=gamma, splits=splits, seed=seed,
                               semi_empirical=True)
    rows = check.rows
    w_s, X = prepared_pair(source, target, rows.law)
    y = target.y
    target_stats = whole_domain_target(X, y, n, gamma, covariance=True)     # as the section 8 prediction
    mean, (eigenvalues, eigenvectors) = target_stats.mean, target_stats.cov
    accuracy = {}

    # test side only: section 8's classifier law, the accuracy over the rows
    e0, e1, outer, (q00, q01, q11) = gaussian_classifier_law(w_s, target_stats)
    spread = np.einsum("ij,jk,ik->i", X, outer, X)
    accuracy["test side only"] = RowGaussians(y * (X @ e0), y * (X @ e1), q00 * spread, 2 * q01 * spread,
                                            q11 * spread).accuracy

    # training side only: the semi-empirical classifier law (probes: C's eigenvectors), section 8's Gaussian test
    along = _semi_empirical_margins(w_s, X, y, eigenvectors.T, n, gamma)      # u_i^T E[w], u_i^T Cov[w] u_i
    rotated = eigenvectors.T @ mean
    coefficients = (along.mean0 @ rotated, along.mean1 @ rotated,
                    eigenvalues @ (along.mean0**2 + along.var0),
                    eigenvalues @ (2 * along.mean0 * along.mean1 + along.var1),
                    eigenvalues @ (along.mean1**2 + along.var2))
    accuracy["training side only"] = lambda grid: scipy.special.ndtr(margin_ratio(*coefficients, np.asarray(grid)))

    # test row included: a zero-weight copy of every row, scored under the law of the weighted rows
    accuracy["test row included"] = _semi_empirical_margins(w_s, X, y, X, n, gamma, probe_labels=y).accuracy

    # the references: the fitted classifiers of the same draws
    fitted = fit_splits(w_s, X[rows.train], y[rows.train], gamma)
    scaled_t = fitted.target_part @ eigenvectors * np.sqrt(eigenvalues)                 # C^{1/2} w, per draw
    scaled_s = fitted.source_part @ eigenvectors * np.sqrt(eigenvalues)
    accuracy["actual w, Gaussian test"] = RowGaussians(           # mean over draws of Phi(w^T mu / sqrt(w^T C w))
        fitted.target_part @ mean, fitted.source_part @ mean, (scaled_t**2).sum(1), 2 * (scaled_t * scaled_s).sum(1),
        (scaled_s**2).sum(1)).accuracy
    centred_t = X @ (fitted.target_part - fitted.target_part.mean(0)).T                  # (N, splits)
    centred_s = X @ (fitted.source_part - fitted.source_part.mean(0)).T
    accuracy["actual w moments, accuracy over the rows"] = RowGaussians(
        y * (X @ fitted.target_part.mean(0)), y * (X @ fitted.source_part.mean(0)), (centred_t**2).mean(1),
        2 * (centred_t * centred_s).mean(1), (centred_s**2).mean(1)).accuracy

    curves = {"section 8": check.predicted_covariance, "section 9": check.predicted_semi_empirical}
    alpha_star = {"section 8": check.alpha_star_covariance, "section 9": check.alpha_star_semi_empirical}
    measured_at = {"section 8": check.measured_at_alpha_star_covariance,
                   "section 9": check.measured_at_alpha_star_semi_empirical}
    for name, function in accuracy.items():
        curves[name] = np.asarray(function(check.alpha))
        alpha_star[name] = float(FINE_GRID[int(np.argmax(function(FINE_GRID)))])
    names = list(accuracy)
    at = np.broadcast_to(np.array([alpha_star[name] for name in names]), (splits, len(names)))
    measured = accuracy_outside(fitted, X, y, rows.train, at).mean(0)
    measured_at.update(zip(names, (float(value) for value in measured)))
    return VariantCheck(check, {name: curves[name] for name in VARIANTS},
                        {name: alpha_star[name] for name in VARIANTS}, {name: measured_at[name] for name in VARIANTS})


def _semi_empirical_margins(w_s, X, y, probes, n: int, gamma: float, *, probe_labels=None) -> RowGaussians:
    """The semi-empirical per-row margins (`prepare(..., rows=...)`) of zero-weight `probes` (M, p) under the law of
    the rows (X, y): the probes do not enter the law (module docstring)."""
    labels = np.ones(probes.shape[0]) if probe_labels is None else probe_labels
    weights = np.r_[np.full(X.shape[0], 1.0 / X.shape[0]), np.zeros(probes.shape[0])]
    problem = prepare(w_s, TargetStats(np.ones(X.shape[1]), n, gamma),
                      rows=(np.vstack([X, probes]), np.r_[y, labels], weights))
    found = problem.row_margins()
    kept = slice(X.shape[0], None)
    return RowGaussians(found.mean0[kept], found.mean1[kept], found.var0[kept], found.var1[kept], found.var2[kept])
