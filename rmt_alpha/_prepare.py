"""`prepare`: the dispatcher above the prepared problems (theory/THEORY.md sections 2, 8, 9 and 10).

`IsotropicProblem` (`rmt_alpha._problem`, closed forms), `CovarianceProblem` (`rmt_alpha._covariance`, a noise
covariance on either side) and `SemiEmpiricalProblem` (`rmt_alpha._semi_empirical`, given rows as the target law)
share their method names, as does `SourcesProblem` (`rmt_alpha._sources`, K fixed sources, alpha a vector);
`prepare` picks one from its arguments, so the free functions of `rmt_alpha._accuracy`
and `rmt_alpha._optimize` work for all of them.
"""

from __future__ import annotations

from rmt_alpha._covariance import CovarianceProblem, has_covariance
from rmt_alpha._problem import IsotropicProblem
from rmt_alpha._semi_empirical import SemiEmpiricalProblem
from rmt_alpha._semi_empirical_sources import SemiEmpiricalSourcesProblem
from rmt_alpha._sources import SourcesProblem, is_source_list
from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import resolve_gamma


def prepare(source, target: TargetStats, *, gamma=None, rows=None):
    """The prepared problem for a source and a target: an `IsotropicProblem` without covariances, else a
    `CovarianceProblem` (theory/THEORY.md section 8; its O(p^3) basis change done here, once); with `rows`, the
    semi-empirical `SemiEmpiricalProblem` (section 9).

    Args:
        source: a `SourceStats` (the ridge source classifier) or a 1-D classifier `w_s` of length p; or a list of
            K fixed classifiers (section 10: a `SourcesProblem`, whose methods take alpha of shape (..., K)).
        target: the `TargetStats`.
        gamma: optional ridge strength overriding `target.gamma` as the methods' default (isotropic and several
            sources only: a covariance problem takes gamma per call).
        rows: optional labelled target rows `(X, y)` or `(X, y, weights)` taken as the target law instead of a
            Gaussian mixture (theory/THEORY.md section 9; `source` must then be a fixed `w_s`, and only `target.n`
            and `target.gamma` are used). Explicit: without it the closed forms apply.
    Returns:
        `IsotropicProblem` or `CovarianceProblem`: `margin_moments`, `predicted_accuracy`, `predicted_risk`,
        `optimal_alpha`, `alpha_bar`, `optimal_gamma`, `optimal_alpha_gamma`, `coefficients` and
        `stationary_terms`; `SemiEmpiricalProblem` (with `rows`): `predicted_accuracy`, `predicted_risk`,
        `optimal_alpha` and `row_margins` (its margin is a different Gaussian for every row, so the methods built on
        one `(E[y g], Var[g])` raise a `TypeError` saying so).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import SourceStats, TargetStats, prepare
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> problem = prepare(src, TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0))
        >>> np.round(problem.predicted_accuracy([0.0, 1.0, 3.0]), 4)
        array([0.7551, 0.8493, 0.8504])
    """
    if is_source_list(source):
        if rows is not None:
            if gamma is not None:
                raise ValueError("gamma is taken per call with rows= (the semi-empirical theory): pass it to the "
                                 "methods, or set target.gamma")
            return SemiEmpiricalSourcesProblem(source, target, rows)
        return SourcesProblem(source, target, gamma)
    if rows is not None:
        return SemiEmpiricalProblem(source, target, rows)
    if has_covariance(source, target):
        return CovarianceProblem(source, target)
    problem = IsotropicProblem.from_stats(source, target)
    return problem if gamma is None else problem._replace(gamma=resolve_gamma(target, gamma))
