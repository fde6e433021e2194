"""The theory against the measurement on real features (theory/THEORY.md sections 5, 8 and 9): statistics
from the whole target domain (a check of the theory, not a method), isotropic, covariance-aware and (optionally)
semi-empirical predictions of the accuracy curve, and the measured curve on random splits.

Centring. The theory's data are a symmetric two-class mixture `x = y mu + z` (theory/THEORY.md section 1): the
classifier has no intercept and the two class means sit at `+mu` and `-mu`. With balanced classes the overall mean
is their midpoint; with unbalanced ones (VADER's tweets: 68% positive) centring at the overall mean leaves an
offset `(pi_- - pi_+) mu` in every row, which the theory does not model (and which costs a bias-free classifier
accuracy). `centre="midpoint"` centres each domain at the midpoint of its class means (from its labels: a check of
the theory, like the whole-domain statistics); `centre="mean"` (default) is what a user without labels does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._accuracy import predicted_accuracy
from rmt_alpha._optimize import optimal_alpha
from rmt_alpha._prepare import prepare
from rmt_alpha._results import EmpiricalCurve, summarize
from rmt_alpha._stats import TargetStats
from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments._preprocessing import source_whitening, whole_domain_standardised, within_class_covariance
from rmt_alpha.experiments._splits import accuracy_outside, draw_splits, fit_splits
from rmt_alpha.linear import fit_ridge


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

    Attributes:
        source: the source domain's name.
        target: the target domain's name.
        whiten: whether the features were whitened with the source covariance.
        alpha: (k,) the alphas checked.
        measured: `EmpiricalCurve` over draws.
        predicted_isotropic: (k,) accuracy predicted by the isotropic theory.
        predicted_covariance: (k,) accuracy predicted by the covariance theory (NaN when not asked for).
        alpha_star_isotropic: alpha* of the isotropic theory.
        alpha_star_covariance: alpha* of the covariance theory.
        n: labelled target rows per split.
        centre: "mean" or "midpoint" (module docstring).
        predicted_semi_empirical: (k,) the semi-empirical theory (theory/THEORY.md section 9, the domain's rows as
            the target law; None unless asked for).
        alpha_star_semi_empirical: alpha* of the semi-empirical theory (NaN unless asked for).
        measured_at_alpha_star_covariance: the measured accuracy (same draws) at the covariance theory's alpha*.
        measured_at_alpha_star_semi_empirical: the same at the semi-empirical alpha* (NaN when absent).
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
    n: int = 20
    centre: str = "mean"
    predicted_semi_empirical: np.ndarray | None = None
    alpha_star_semi_empirical: float = float("nan")
    measured_at_alpha_star_covariance: float = float("nan")
    measured_at_alpha_star_semi_empirical: float = float("nan")


CENTRES = ("mean", "midpoint")


def _recentred(X, y, centre: str):
    """Standardised (and maybe whitened) rows re-centred at the midpoint of their class means ("midpoint"), or
    left at the overall mean ("mean"); both maps are affine, so the class means move and the covariances do not."""
    if centre == "mean":
        return X
    return X - (X[y > 0].mean(0) + X[y < 0].mean(0)) / 2.0


def predict_vs_measure(source: Domain, target: Domain, alpha, *, n: int = 20, source_gamma: float = 1.0,
                       gamma: float = 1.0, splits: int = 20, seed: int = 0, whiten: bool = False,
                       covariance: bool = True, centre: str = "mean", semi_empirical: bool = False) -> PredictionCheck:
    """The theory's predicted accuracy next to the measured one (plain accuracy, test = rest of the domain).

    Each domain is standardised by its own rows (and optionally whitened with the source covariance), statistics
    come from the whole target domain: a check of the theory (theory/THEORY.md sections 2 and 8), not a method.

    Args:
        source: the source `Domain`.
        target: the target `Domain`.
        alpha: 1-D grid of alphas.
        n: labelled target rows per split.
        source_gamma: ridge strength of the source classifier.
        gamma: fine-tuning ridge strength.
        splits: random splits.
        seed: seed of the splits.
        whiten: whiten with the source covariance.
        covariance: also predict with the covariance-aware theory.
        centre: "mean" (each domain's overall mean) or "midpoint" (the midpoint of its class means: the symmetric
            mixture the theory assumes; see the module docstring).
        semi_empirical: also the semi-empirical prediction (section 9: the target domain's own rows as the law;
            O(N^2) memory and a few seconds per pair for N = 2000 rows).

    Returns:
        `PredictionCheck`; the measured accuracy at each alpha* comes from the same draws as the curve (the fit is
        affine in alpha, so no grid rounding).
    """
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    alpha = np.atleast_1d(np.asarray(alpha, np.float64))
    source_X = whole_domain_standardised(source)
    transform = source_whitening(source_X, source.y) if whiten else None
    source_X = _recentred(source_X if transform is None else source_X @ transform, source.y, centre)
    target_X = _recentred(whole_domain_standardised(target, transform), target.y, centre)
    w_s = fit_ridge(source_X, source.y, source_gamma)
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
        problem = prepare(w_s, isotropic, rows=(target_X, target.y))   # one row fixed point for curve and alpha*
        predicted_semi = np.asarray(problem.predicted_accuracy(alpha))
        star_semi = float(problem.optimal_alpha())
    train = draw_splits(target_X.shape[0], n, 0, splits, seed).train
    fitted = fit_splits(w_s, target_X[train], target.y[train], gamma)
    stars = np.array([star_cov, star_semi])
    checked = np.concatenate([alpha, np.where(np.isfinite(stars), stars, 0.0)])
    measured = accuracy_outside(fitted, target_X, target.y, train, np.broadcast_to(checked, (splits, checked.size)))
    at_stars = np.where(np.isfinite(stars), measured[:, alpha.size:].mean(0), np.nan)
    return PredictionCheck(source.name, target.name, whiten, alpha, summarize(alpha, measured[:, :alpha.size]),
                           predicted_iso, predicted_cov, float(star_iso), float(star_cov), n, centre,
                           predicted_semi, float(star_semi), float(at_stars[0]), float(at_stars[1]))


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
        semi_empirical: also the semi-empirical prediction (as `predict_vs_measure`).

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
