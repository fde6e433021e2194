"""The theory against the measurement on real features (theory/THEORY.md sections 5, 8 and 9): statistics
from the whole target domain (a check of the theory, not a method), isotropic, covariance-aware and (optionally)
semi-empirical predictions of the accuracy curve, and the measured curve on random splits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._accuracy import predicted_accuracy
from rmt_alpha._estimation import (
    source_whitening,
)
from rmt_alpha._optimize import optimal_alpha
from rmt_alpha._results import EmpiricalCurve, summarize
from rmt_alpha._stats import TargetStats
from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments._splits import (
    accuracy_outside,
    draw_splits,
    fit_source,
    fit_splits,
    whole_domain_standardised,
    within_class_covariance,
)


def whole_domain_target(X, y, n: int, gamma: float, *, covariance: bool = False,
                        shrinkage: str | None = None) -> TargetStats:
    """The target statistics from a whole (standardised) domain, test rows included (paper mode; a check of the
    theory, never a method): `mu = (mean(x | +1) - mean(x | -1)) / 2`, optionally the within-class covariance."""
    mean = (X[y > 0].mean(0) - X[y < 0].mean(0)) / 2.0
    cov = None
    if covariance:
        cov = within_class_covariance(X - np.where(y[:, None] > 0, 1.0, -1.0) * mean, shrinkage)
    return TargetStats(mean, n, gamma, cov)



class PredictionCheck(NamedTuple):
    """Predicted (isotropic, covariance-aware and semi-empirical; whole-domain statistics) against measured
    accuracy on one pair.

    alpha: the alphas checked (k,); measured: `EmpiricalCurve` over draws; predicted_isotropic, predicted_covariance:
    (k,) (NaN when the covariance theory was not asked for); alpha_star_covariance: alpha* of the covariance theory;
    predicted_semi_empirical, alpha_star_semi_empirical: the semi-empirical theory (theory/THEORY.md section 9, the
    domain's rows as the target law; NaN unless asked for); measured_at_alpha_star_covariance,
    measured_at_alpha_star_semi_empirical: the measured accuracy (same draws) at those alpha* (NaN when absent).
    """

    source: str
    target: str
    whiten: bool
    alpha: np.ndarray
    measured: EmpiricalCurve
    predicted_isotropic: np.ndarray
    predicted_covariance: np.ndarray
    alpha_star_isotropic: float
    alpha_star_covariance: float
    predicted_semi_empirical: np.ndarray | None = None
    alpha_star_semi_empirical: float = float("nan")
    measured_at_alpha_star_covariance: float = float("nan")
    measured_at_alpha_star_semi_empirical: float = float("nan")


def predict_vs_measure(source: Domain, target: Domain, alpha, *, n: int = 20, source_gamma: float = 1.0,
                       gamma: float = 1.0, splits: int = 20, seed: int = 0, whiten: bool = False,
                       covariance: bool = True, semi_empirical: bool = False) -> PredictionCheck:
    """The theory's predicted accuracy next to the measured one (plain accuracy, test = rest of the domain), with
    each domain standardised by its own rows (and optionally whitened with the source covariance), statistics from
    the whole target domain: a check of the theory, not a method.

    Args:
        source, target: the two domains.
        alpha: 1-D grid of alphas.
        n: labelled target rows per split. source_gamma, gamma: ridge strengths. splits: random splits.
        seed: seed of the splits. whiten: whiten both domains with the source's within-class covariance.
        covariance: also the covariance-aware prediction (theory/THEORY.md section 8).
        semi_empirical: also the semi-empirical prediction (section 9: the target domain's own rows as the law;
            O(N^2) memory and a few seconds per pair for N = 2000 rows).
    Returns:
        `PredictionCheck`; the measured accuracy at each alpha* comes from the same draws as the curve (the fit is
        affine in alpha, so no grid rounding).
    """
    alpha = np.atleast_1d(np.asarray(alpha, np.float64))
    source_X = whole_domain_standardised(source)
    transform = source_whitening(source_X, source.y) if whiten else None
    source_X = source_X if transform is None else source_X @ transform
    target_X = whole_domain_standardised(target, transform)
    w_s = fit_source(source_X, source.y, source_gamma)
    isotropic = whole_domain_target(target_X, target.y, n, gamma)
    predicted_iso = np.asarray(predicted_accuracy(w_s, isotropic, alpha))
    star_iso = optimal_alpha(w_s, isotropic)
    predicted_cov, star_cov = np.full(alpha.shape, np.nan), np.nan
    if covariance:
        anisotropic = whole_domain_target(target_X, target.y, n, gamma, covariance=True)
        predicted_cov = np.asarray(predicted_accuracy(w_s, anisotropic, alpha))
        star_cov = optimal_alpha(w_s, anisotropic)
    predicted_semi, star_semi = None, np.nan
    if semi_empirical:
        rows = (target_X, target.y)
        predicted_semi = np.asarray(predicted_accuracy(w_s, isotropic, alpha, rows=rows))
        star_semi = optimal_alpha(w_s, isotropic, rows=rows)
    train = draw_splits(target_X.shape[0], n, 0, splits, seed).train
    fitted = fit_splits(w_s, target_X[train], target.y[train], gamma)
    stars = np.array([star_cov, star_semi])
    checked = np.concatenate([alpha, np.where(np.isfinite(stars), stars, 0.0)])
    measured = accuracy_outside(fitted, target_X, target.y, train, np.broadcast_to(checked, (splits, checked.size)))
    at_stars = np.where(np.isfinite(stars), measured[:, alpha.size:].mean(0), np.nan)
    return PredictionCheck(source.name, target.name, whiten, alpha, summarize(alpha, measured[:, :alpha.size]),
                           predicted_iso, predicted_cov, float(star_iso), float(star_cov), predicted_semi,
                           float(star_semi), float(at_stars[0]), float(at_stars[1]))


def check_pairs(pairs, alpha, *, directory=None, n: int = 20, splits: int = 20, seed: int = 0,
                semi_empirical: bool = False) -> list:
    """`predict_vs_measure` for several Amazon pairs, loading only the domains they name.

    Args:
        pairs: list of (source, target) domain names, e.g. [("books", "dvd")].
        alpha: 1-D grid of alphas.
        directory: the Amazon data folder (as `load_amazon`).
        n: labelled target rows per split.
        splits: random splits.
        seed: seed of the splits.

    Returns:
        list of `PredictionCheck`, one per pair.

    Raises:
        ValueError: `pairs` is not a list of (source, target) name pairs.
    """
    from rmt_alpha.data import load_amazon

    pairs = [tuple(pair) for pair in pairs]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"pairs must be (source, target) name pairs such as ('books', 'dvd'), got {pairs}")
    domains = load_amazon(directory, domains=sorted({name for pair in pairs for name in pair}))
    return [predict_vs_measure(domains[source], domains[target], alpha, n=n, splits=splits, seed=seed,
                               semi_empirical=semi_empirical) for source, target in pairs]
