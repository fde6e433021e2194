"""The theory against the measurement on real features (theory/THEORY.md sections 5, 8 and 9): isotropic,
covariance-aware and (optionally) semi-empirical predictions of the accuracy curve, and the measured curve on random
splits. Where the theory's law comes from is the `law` mode (`rmt_alpha.experiments._laws`): the whole target domain
(in-sample: the law has seen the rows it is scored on; the default), a held-out half (out-of-sample), or an unlabelled
pool pseudo-labelled by the alpha = 1 classifier (out-of-sample, what a user has).

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
from rmt_alpha.experiments._laws import IN_SAMPLE, CheckRows, check_law, law_rows
from rmt_alpha.experiments._preprocessing import (
    fit_standardization,
    source_whitening,
    whole_domain_standardised,
    within_class_covariance,
)
from rmt_alpha.experiments._splits import FittedSplits, accuracy_outside, fit_splits
from rmt_alpha.linear import fit_ridge


def whole_domain_target(X, y, n: int, gamma: float, *, covariance: bool = False,
                        shrinkage: str | None = None) -> TargetStats:
    """The target statistics of the labelled (standardised) rows given: `mu = (mean(x | +1) - mean(x | -1)) / 2`,
    optionally the within-class covariance. Given the whole domain, test rows included (paper mode, the in-sample
    check), it is a check of the theory, never a method."""
    mean = (X[y > 0].mean(0) - X[y < 0].mean(0)) / 2.0
    cov = None
    if covariance:
        cov = within_class_covariance(X - np.where(y[:, None] > 0, 1.0, -1.0) * mean, shrinkage)
    return TargetStats(mean, n, gamma, cov)


class SplitPredictions(NamedTuple):
    """Per-split predictions of the pseudo-labelled-pool mode, whose law differs from split to split (each split's
    pool is labelled by its own alpha = 1 classifier).

    Attributes:
        isotropic: (splits, k) the isotropic theory's curve.
        covariance: (splits, k) the covariance-aware theory's curve (NaN when not asked for).
        semi_empirical: (splits, k) the semi-empirical curve (None unless asked for).
        alpha_star: (splits, 3) alpha* of the isotropic, covariance-aware and semi-empirical theories (NaN where not
            computed).
    """

    isotropic: np.ndarray
    covariance: np.ndarray
    semi_empirical: np.ndarray | None
    alpha_star: np.ndarray


class PredictionCheck(NamedTuple):
    """Predicted (isotropic, covariance-aware and semi-empirical) against measured accuracy on one pair, the law
    taken from the rows the `law` mode names (`rmt_alpha.experiments._laws`).

    Attributes:
        source: the source domain's name.
        target: the target domain's name.
        whiten: whether the features were whitened with the source covariance.
        alpha: (k,) the alphas checked.
        measured: `EmpiricalCurve` over draws (whole-domain: on the rest of the domain; otherwise on half B).
        predicted_isotropic: (k,) accuracy predicted by the isotropic theory (pseudo-labelled-pool: the mean over
            splits of each split's prediction; the gaps are taken split by split, `prediction_gaps`).
        predicted_covariance: (k,) accuracy predicted by the covariance theory (NaN when not asked for).
        alpha_star_isotropic: alpha* of the isotropic theory (pseudo-labelled-pool: the median over splits).
        alpha_star_covariance: alpha* of the covariance theory (the same).
        n: labelled target rows per split.
        centre: "mean" or "midpoint" (module docstring).
        predicted_semi_empirical: (k,) the semi-empirical theory (theory/THEORY.md section 9, the law's rows as the
            target law; None unless asked for).
        alpha_star_semi_empirical: alpha* of the semi-empirical theory (NaN unless asked for).
        measured_at_alpha_star_covariance: the measured accuracy (same draws) at the covariance theory's alpha*
            (pseudo-labelled-pool: each split at its own alpha*, averaged).
        measured_at_alpha_star_semi_empirical: the same at the semi-empirical alpha* (NaN when absent).
        law: the mode, one of `LAWS`: "whole-domain" (in-sample), "held-out-half" or "pseudo-labelled-pool".
        noise_floor: out-of-sample modes: the largest |difference| over the alpha grid between the measured curve on
            half A less the training rows and on half B (two disjoint parts of the domain, same classifiers): the
            measurement's own sampling noise. NaN for the whole-domain mode.
        noise_floor_mean: the mean |difference| over the grid of the same two curves (NaN for whole-domain).
        rows: `CheckRows`: the law's, the measured and the training rows (indices into the target domain).
        per_split: `SplitPredictions` (pseudo-labelled-pool only, else None).
        pseudo_label_accuracy: pseudo-labelled-pool: the fraction of pool rows whose pseudo-label is right, averaged
            over splits (a diagnostic computed after the fact; the pool's labels never reach the law). NaN otherwise.
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
    law: str = "whole-domain"
    noise_floor: float = float("nan")
    noise_floor_mean: float = float("nan")
    rows: CheckRows | None = None
    per_split: SplitPredictions | None = None
    pseudo_label_accuracy: float = float("nan")

    @property
    def in_sample(self) -> bool:
        """Whether the law has seen the rows the accuracy is measured on (the whole-domain mode)."""
        return IN_SAMPLE[self.law]


CENTRES = ("mean", "midpoint")
THEORIES = ("isotropic", "covariance", "semi_empirical")
"""The predictions a check holds, in the order of `SplitPredictions.alpha_star`."""


def _recentred(X, y, rows, centre: str):
    """Standardised (and maybe whitened) rows re-centred at the midpoint of the class means of `rows` ("midpoint"),
    or left at the mean of the rows the standardisation came from ("mean"); both maps are affine, so the class means
    move and the covariances do not."""
    if centre == "mean":
        return X
    X_rows, y_rows = X[rows], y[rows]
    return X - (X_rows[y_rows > 0].mean(0) + X_rows[y_rows < 0].mean(0)) / 2.0


def prepared_pair(source: Domain, target: Domain, law_rows_, *, source_gamma: float = 1.0, whiten: bool = False,
                  centre: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """The source classifier `w_s` (p,) and the target rows (N, p) as the check sees them: the source standardised
    with its own rows, the target with the law's rows `law_rows_` (optionally both whitened with the source
    covariance), each centred as `centre` says (the target's midpoint from the law's rows)."""
    source_X = whole_domain_standardised(source)
    transform = source_whitening(source_X, source.y) if whiten else None
    source_X = _recentred(source_X if transform is None else source_X @ transform, source.y, slice(None), centre)
    target_X = fit_standardization(target.X[law_rows_]).apply(target.X)
    target_X = target_X if transform is None else target_X @ transform
    return fit_ridge(source_X, source.y, source_gamma), _recentred(target_X, target.y, law_rows_, centre)


def _predictions(w_s, X, y, n: int, gamma: float, alpha, covariance: bool, semi_empirical: bool):
    """(isotropic (k,), covariance (k,), semi-empirical (k,) or None, alpha* (3,)) with (X, y) as the law."""
    isotropic = whole_domain_target(X, y, n, gamma)
    curves = [np.asarray(predicted_accuracy(w_s, isotropic, alpha)), np.full(alpha.shape, np.nan), None]
    stars = [float(optimal_alpha(w_s, isotropic)), np.nan, np.nan]
    if covariance:
        anisotropic = whole_domain_target(X, y, n, gamma, covariance=True)
        curves[1], stars[1] = np.asarray(predicted_accuracy(w_s, anisotropic, alpha)), optimal_alpha(w_s, anisotropic)
    if semi_empirical:
        problem = prepare(w_s, isotropic, rows=(X, y))   # one row fixed point for curve and alpha*
        curves[2], stars[2] = np.asarray(problem.predicted_accuracy(alpha)), float(problem.optimal_alpha())
    return curves[0], curves[1], curves[2], np.asarray(stars, np.float64)


def _pseudo_labels(fitted: FittedSplits, X_pool) -> np.ndarray:
    """(splits, N_pool) labels of each split's pool by its alpha = 1 classifier (a zero margin counts as +1)."""
    margins = np.einsum("sip,sp->si", X_pool, fitted.at(np.ones(X_pool.shape[0])))
    return np.where(margins >= 0, 1.0, -1.0)


def predict_vs_measure(source: Domain, target: Domain, alpha, *, n: int = 20, source_gamma: float = 1.0,
                       gamma: float = 1.0, splits: int = 20, seed: int = 0, whiten: bool = False,
                       covariance: bool = True, centre: str = "mean", semi_empirical: bool = False,
                       law: str = "whole-domain", pool_size: int | None = None) -> PredictionCheck:
    """The theory's predicted accuracy next to the measured one (plain accuracy), in-sample by default.

    The default `law="whole-domain"` is **in-sample**: the theory is given the statistics (or, semi-empirical, the
    rows) of the whole target domain, labels included, and the accuracy is measured on each split's rest of the
    domain, which the law has seen: a check of the theory (theory/THEORY.md sections 2, 8 and 9), not a method.
    `law="held-out-half"` is out-of-sample: the domain is cut at random into halves A and B, the law and the
    standardisation come from A, the training rows are drawn from A and the accuracy is measured on B only.
    `law="pseudo-labelled-pool"` is the user's case: the same halves and training rows, the law from an unlabelled
    pool of A labelled by each split's alpha = 1 classifier (one prediction per split). Both out-of-sample modes also
    measure the sampling-noise floor (`PredictionCheck.noise_floor`). `rmt_alpha.experiments._laws` says which rows
    each mode uses.

    Args:
        source: the source `Domain`.
        target: the target `Domain`.
        alpha: 1-D grid of alphas.
        n: labelled target rows per split.
        source_gamma: ridge strength of the source classifier.
        gamma: fine-tuning ridge strength.
        splits: random splits.
        seed: seed of the splits (and of the halves).
        whiten: whiten with the source covariance.
        covariance: also predict with the covariance-aware theory.
        centre: "mean" (the mean of the rows the standardisation came from) or "midpoint" (the midpoint of the law's
            class means: the symmetric mixture the theory assumes; see the module docstring; not with
            "pseudo-labelled-pool", whose rows have no labels).
        semi_empirical: also the semi-empirical prediction (section 9: the law's rows as the target law; O(N^2)
            memory and a few seconds per pair for N = 2000 rows; per split with "pseudo-labelled-pool").
        law: "whole-domain" (in-sample, the default), "held-out-half" or "pseudo-labelled-pool".
        pool_size: rows of each pseudo-labelled pool (default min(1000, half A less n)).

    Returns:
        `PredictionCheck`; the measured accuracy at each alpha* comes from the same draws as the curve (the fit is
        affine in alpha, so no grid rounding).

    Raises:
        ValueError: an unknown `centre` or `law`, or "midpoint" with "pseudo-labelled-pool".

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.data import Domain
        >>> from rmt_alpha.experiments import predict_vs_measure
        >>> rng = np.random.default_rng(0)
        >>> def domain(name, mean, rows):
        ...     y = np.where(np.arange(rows) % 2 == 0, 1.0, -1.0)
        ...     return Domain(name, y[:, None] * mean + rng.standard_normal((rows, mean.size)), y)
        >>> mean = np.r_[1.0, 0.5, np.zeros(18)] / 2
        >>> check = predict_vs_measure(domain("s", mean, 1000), domain("t", mean, 1000), [0.0, 1.0],
        ...                            law="held-out-half")
        >>> check.in_sample, check.rows.law.size, check.rows.measured.size
        (False, 500, 500)
    """
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    if check_law(law) == "pseudo-labelled-pool" and centre != "mean":
        raise ValueError("centre must be 'mean' with law='pseudo-labelled-pool' (the midpoint of the class means "
                         f"needs the law's labels, which the pool does not have), got {centre!r}")
    alpha = np.atleast_1d(np.asarray(alpha, np.float64))
    rows = law_rows(target.y.size, n, splits, seed, law, pool_size=pool_size)
    w_s, target_X = prepared_pair(source, target, rows.law, source_gamma=source_gamma, whiten=whiten, centre=centre)
    fitted = fit_splits(w_s, target_X[rows.train], target.y[rows.train], gamma)
    per_split, pseudo_accuracy = None, np.nan
    if law == "pseudo-labelled-pool":
        labels = _pseudo_labels(fitted, target_X[rows.pool])
        pseudo_accuracy = float(np.mean(labels == target.y[rows.pool]))    # a diagnostic only
        found = [_predictions(w_s, target_X[pool], pseudo, n, gamma, alpha, covariance, semi_empirical)
                 for pool, pseudo in zip(rows.pool, labels)]
        per_split = SplitPredictions(*(None if part[0] is None else np.stack(part) for part in zip(*found)))
        predicted = [part.mean(0) if part is not None else None for part in per_split[:3]]
        stars_by_split = per_split.alpha_star
        stars = np.median(stars_by_split, axis=0)
    else:
        *predicted, stars = _predictions(w_s, target_X[rows.law], target.y[rows.law], n, gamma, alpha, covariance,
                                         semi_empirical)
        stars_by_split = np.broadcast_to(stars, (splits, 3))
    at = stars_by_split[:, 1:]                                           # measured at the covariance and semi alpha*
    grid = np.broadcast_to(alpha, (splits, alpha.size))
    checked = np.concatenate([grid, np.where(np.isfinite(at), at, 0.0)], axis=1)
    floor = np.full(alpha.shape, np.nan)
    if law == "whole-domain":
        measured = accuracy_outside(fitted, target_X, target.y, rows.train, checked)
    else:
        nothing_left_out = np.empty((splits, 0), np.intp)
        measured = accuracy_outside(fitted, target_X[rows.measured], target.y[rows.measured], nothing_left_out,
                                    checked)
        rest_of_a = accuracy_outside(fitted, target_X[rows.law], target.y[rows.law], rows.train_in_law(), grid)
        floor = rest_of_a.mean(0) - measured[:, :alpha.size].mean(0)
    at_stars = np.where(np.isfinite(at), measured[:, alpha.size:], np.nan).mean(0)
    return PredictionCheck(source.name, target.name, whiten, alpha, summarize(alpha, measured[:, :alpha.size]),
                           predicted[0], predicted[1], float(stars[0]), float(stars[1]), n, centre, predicted[2],
                           float(stars[2]), float(at_stars[0]), float(at_stars[1]), law,
                           float(np.max(np.abs(floor))), float(np.mean(np.abs(floor))), rows, per_split,
                           pseudo_accuracy)


def prediction_gaps(check: PredictionCheck, theory: str) -> tuple[float, float, float]:
    """The mean |gap|, the largest |gap| and the mean signed gap (predicted - measured) of one theory over the
    check's alpha grid; NaN where the theory was not computed.

    With "pseudo-labelled-pool" every split has its own prediction (what a user with that split would get): the
    three numbers are taken split by split against the measured mean curve, then averaged over the splits.

    Args:
        check: a `PredictionCheck`.
        theory: one of `THEORIES`: "isotropic", "covariance" or "semi_empirical".

    Returns:
        (mean |gap|, max |gap|, mean signed gap), in accuracy.
    """
    if theory not in THEORIES:
        raise ValueError(f"theory must be one of {THEORIES}, got {theory!r}")
    if check.per_split is not None:
        curves = getattr(check.per_split, theory)
    else:
        curves = getattr(check, f"predicted_{theory}")
        curves = None if curves is None else np.asarray(curves)[None]
    if curves is None:
        return float("nan"), float("nan"), float("nan")
    gap = curves - check.measured.mean
    return (float(np.abs(gap).mean(1).mean()), float(np.abs(gap).max(1).mean()), float(gap.mean(1).mean()))


def check_pairs(pairs, alpha, *, directory=None, n: int = 20, splits: int = 20, seed: int = 0,
                semi_empirical: bool = False, law: str = "whole-domain") -> list:
    """`predict_vs_measure` for several Amazon pairs, loading only the domains they name.

    Args:
        pairs: list of (source, target) domain names, e.g. [("books", "dvd")].
        alpha: 1-D grid of alphas.
        directory: the Amazon data folder (as `load_amazon`).
        n: labelled target rows per split.
        splits: random splits.
        seed: seed of the splits.
        semi_empirical: also the semi-empirical prediction (as `predict_vs_measure`).
        law: where the theory's law comes from (as `predict_vs_measure`; the default "whole-domain" is in-sample).

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
                               semi_empirical=semi_empirical, law=law) for source, target in pairs]
