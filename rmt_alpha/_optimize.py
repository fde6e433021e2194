"""The best alpha (closed form) and the best ridge strength gamma (numerical), theory/THEORY.md section 3.

The accuracy is `Phi(r(alpha))` with `r = (e0 + e1 alpha) / sqrt(v0 + v1 alpha + v2 alpha^2)`. Its derivative has
the sign of `num - alpha * den`, `num = e1 v0 - e0 v1 / 2`, `den = e0 v2 - e1 v1 / 2`, so r has one stationary
point `num / den`: a maximum when `den > 0`. For the isotropic model (scaled by `lam` and `h lam^2`)

    num = kappa s (m delta / (1 + delta) + eta)
    den = kappa^2 (m lam^2 omega_perp / (1 + kappa)^2 + s^2 (delta / (1 + delta) + m eta / (1 + kappa)^2))

`den` is a sum of non-negative terms (and `num` has the sign of s), so `alpha* = num / den` is always the
maximiser, and finite unless `den = 0`.
Degenerate cases, handled explicitly:
- `s = <w_s, mu_t> = 0` (the source carries nothing along the target mean): `alpha* = 0`, because any multiple
  of `w_s` only adds variance.
- `w_s = 0` or `mu_t = 0`: the accuracy does not depend on alpha (it is 1/2 when `mu_t = 0`); `alpha* = 0`.
- The accuracy equals 1/2 at `alpha_bar = -e0 / e1 = -m / (kappa s)`, infinite when `s = 0`.

With a covariance on either side (theory/THEORY.md section 8), `(e0, e1, v0, v1, v2)` come from
`rmt_alpha._covariance.CovarianceProblem` (prepared once per call, one fixed point per gamma) and `num`, `den`
can have either sign; `argmax_from_stationary` handles both.

These free functions prepare the pair (`rmt_alpha._prepare.prepare`) and call the prepared problem's method of
the same name; prepare once yourself to reuse it across calls or to batch many targets.
"""

from __future__ import annotations

import numpy as np

from rmt_alpha._prepare import prepare
from rmt_alpha._problem import GAMMA_SEARCH_RANGE, GammaOptimum
from rmt_alpha._sources import is_source_list, reject_sources
from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import Source, resolve_gamma, unit_classifier
from rmt_alpha._validation import check_finite_array


def _scalar_or_array(value):
    return float(value) if np.ndim(value) == 0 else value


def optimal_alpha(source: Source, target: TargetStats, *, gamma=None, rows=None):
    """alpha*, the rescaling that maximises the asymptotic test accuracy (theory/THEORY.md section 3).

    `alpha* = (e1 v0 - e0 v1 / 2) / (e0 v2 - e1 v1 / 2)`, evaluated in the cancellation-free form of the module
    docstring; degenerate cases as listed there. `prepare(source, target).optimal_alpha(gamma)`.

    Args:
        source: a `SourceStats` (ridge source classifier) or a 1-D array `w_s`; or a list of K fixed classifiers:
            the vector alpha* of theory/THEORY.md section 10.3, shape (K,) (`prepare(sources, target)
            .optimal_alpha(nonnegative=True, subset=...)` for the constrained variants).
        target: the `TargetStats`.
        gamma: optional ridge strength(s) overriding `target.gamma`; an array gives alpha* per gamma.
        rows: optional labelled target rows `(X, y)`: alpha* of the semi-empirical theory (theory/THEORY.md
            section 9; no closed form, a search over the rows' own maximisers), as in `predicted_accuracy`.
    Returns:
        a float (an array for array gamma).

    Example (theory/THEORY.md section 3):
        >>> from rmt_alpha import SourceStats, TargetStats, optimal_alpha
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> round(optimal_alpha(src, tgt), 4)
        1.7105
    """
    gamma = resolve_gamma(target, gamma)
    if is_source_list(source):  # K fixed sources: the vector alpha* of theory/THEORY.md section 10.3
        return prepare(source, target, rows=rows).optimal_alpha(gamma)
    source, _, scale = unit_classifier(source, 0.0)  # alpha* of w_s is alpha* of w_s / |w_s|, over |w_s|
    problem = prepare(source, target, rows=rows)
    return _scalar_or_array(np.asarray(problem.optimal_alpha(gamma), dtype=np.float64) / scale)


def alpha_bar(source: Source, target: TargetStats, *, gamma=None):
    """The alpha at which the mean margin crosses 0 and the accuracy is 1/2 (theory/THEORY.md section 3).

    `alpha_bar = -e0 / e1` (isotropic: `-m / (kappa s)`). Broadcasts over gamma.

    Args:
        source: a `SourceStats` or a (p,) source classifier `w_s`.
        target: the `TargetStats`.
        gamma: ridge strength(s) overriding `target.gamma`.

    Returns:
        float or array: `alpha_bar`; `math.inf` when `s = <w_s, mu_t> = 0` (the mean never crosses 0).
    """
    reject_sources("alpha_bar", source)
    gamma = resolve_gamma(target, gamma)
    source, _, scale = unit_classifier(source, 0.0)  # alpha_bar of w_s is alpha_bar of w_s / |w_s|, over |w_s|
    return _scalar_or_array(np.asarray(prepare(source, target).alpha_bar(gamma), dtype=np.float64) / scale)


def optimal_gamma(source: Source, target: TargetStats, alpha: float = 1.0, *,
                  search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
    """gamma*, the fine-tuning ridge strength that maximises the accuracy at a fixed alpha (theory/THEORY.md section 3).

    A log-spaced grid over `search_range` (all gammas in one vectorised call), then Brent's bounded method on
    `log gamma` between the grid neighbours of the best point. Warns when the optimum sits on the range's edge.

    Args:
        source: a `SourceStats` or a (p,) source classifier `w_s`.
        target: the `TargetStats`.
        alpha: a single base-rescaling factor.
        search_range: (low, high) bounds of the gamma search.

    Returns:
        GammaOptimum: `(gamma, alpha, accuracy)`.

    Raises:
        ValueError: `alpha` is not a single number, or `source` is a list.
    """
    reject_sources("optimal_gamma", source)
    alpha = check_finite_array("alpha", alpha)
    if alpha.ndim != 0:
        raise ValueError(f"alpha must be a single number (gamma* is found at one alpha; optimal_alpha_gamma finds "
                         f"both), got an array of shape {alpha.shape}")
    unit, _, scale = unit_classifier(source, 0.0)
    optimum = prepare(unit, target).optimal_gamma(float(alpha) * scale, search_range=search_range)
    return optimum._replace(alpha=optimum.alpha / scale)


def optimal_alpha_gamma(source: Source, target: TargetStats, *, search_range=GAMMA_SEARCH_RANGE) -> GammaOptimum:
    """The joint optimum `(alpha*, gamma*)`: alpha* in closed form for each gamma, gamma searched as in `optimal_gamma`.

    With white noise (no covariance) the accuracy keeps rising as gamma -> infinity with `alpha * gamma` held
    fixed: `w_alpha` tends to a multiple of `X y / n + alpha gamma w_s`, the mean-difference classifier pulled
    towards the source, which isotropic noise favours. The search then stops at the edge of `search_range`, warns,
    and returns that edge (a small alpha, a large gamma, and the limiting accuracy). See theory/THEORY.md section 3.

    Args:
        source: a `SourceStats` or a (p,) source classifier `w_s`.
        target: the `TargetStats`.
        search_range: (low, high) bounds of the gamma search.

    Returns:
        GammaOptimum: `(gamma, alpha, accuracy)`.
    """
    reject_sources("optimal_alpha_gamma", source)
    unit, _, scale = unit_classifier(source, 0.0)
    optimum = prepare(unit, target).optimal_alpha_gamma(search_range=search_range)
    return optimum._replace(alpha=optimum.alpha / scale)
