"""alpha from labelled rows and an unlabelled pool through the semi-empirical theory (theory/THEORY.md section 9):
the pool, pseudo-labelled by the classifier fine-tuned on the labelled rows, is taken as the target law.

The law (`rmt_alpha._pool_law`): the pool hard-labelled by the alpha = 1 classifier fitted on the labelled rows
(the variant kept, theory/choose_alpha_rule.md); alpha* is `RowMargins.optimal_alpha` of that law.

Uncertainty (`semi_empirical_choice`): bootstrap replicates as `choose_alpha` draws them
(`rmt_alpha._estimation.bootstrap_weights`: labelled rows resampled within each class, pool rows
resampled); each replicate re-fits the labeller on its labelled rows and re-labels the pool. Two ways to evaluate
a replicate:

- `replicates="rows"` (default): the replicate's law is the data's rows with the replicate's weights and labels
  (a pool row drawn k times weighs k, a row whose pseudo-label flips counts with the other label), and its
  predicted accuracy averages the data's per-row margins over it
  (`rmt_alpha._semi_empirical_replicates.ReplicateMargins`): exact for a row's own term, it holds the training
  side (the law the n training rows are drawn from) at the data's. One (B + 1, N) x (N, k) product per curve.
- `replicates="exact"`: every replicate re-solves the theory on its own law (`row_margins` warm-started from the
  data's fixed point): about 0.2 to 1 s per replicate at p = 384, N = 1000. The reference for the first.

Measured agreement ("rows" against "exact" on real splits): theory/choose_alpha_rule.md.

Which theory (`choose_theory`), from the spread of the pool's row norms (the coefficient of variation of `|u_j|`):
the semi-empirical pool choice when it is well above what a Gaussian law with the pool's covariance gives
(`gaussian_norm_spread`; at least `GAUSSIAN_SPREAD_EXCESS` times) and at most `NORM_SPREAD_LIMIT`, the
covariance-aware one otherwise. Rows whose norms spread as a Gaussian's are what sections 5 to 8 assume (there the
covariance-aware theory is right and the pseudo-labelled pool law only adds the bias of labels cut by a linear
rule: alpha* 25% too large on THEORY's example); rows whose norms spread much more are weighted unevenly by the
ridge fit, which section 9 models. Measured at n = 20 (theory/choose_alpha_rule.md): on MiniLM features of review
text (spread 0.18 to 0.23, 2.2 to 3.7 times a Gaussian's) the semi-empirical choice gains +0.85 pt over alpha = 1
where the covariance-aware one gains +0.29; on the Amazon bag-of-words features (spread 0.34 to 0.38, 9 to 10 times
a Gaussian's, the norm following the review's length) +0.91 against +1.02.
Reference: theory/THEORY.md section 9; theory/choose_alpha_rule.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._estimation import Weights, bootstrap_weights, fit_labeller
from rmt_alpha._pool_law import PSEUDO_LABELS, PoolLaw, law_weights, mixture_confidence, signed_rows
from rmt_alpha._semi_empirical import RowMargins, row_margins
from rmt_alpha._semi_empirical_replicates import ReplicateMargins
from rmt_alpha._validation import (
    check_count,
    check_finite_array,
    check_positive_float,
    check_rows,
    check_signed_labels,
    check_vector,
)

REPLICATES = ("rows", "exact")
NORM_SPREAD_LIMIT = 0.3  # above, choose_theory picks the covariance-aware theory (theory/choose_alpha_rule.md)
GAUSSIAN_SPREAD_EXCESS = 1.5  # below this times a Gaussian's spread, too (Gaussian rows: 1.0; text 2.2 to 3.7)


class TheoryChoice(NamedTuple):
    """Which theory `choose_theory` picked ("semi-empirical" or "covariance"), the statistic it looked at and why."""

    theory: str
    norm_spread: float
    gaussian_spread: float
    reason: str


def row_norm_spread(U) -> float:
    """The coefficient of variation of the rows' Euclidean norms, `std(|u_j|) / mean(|u_j|)` (0 when every row has
    the same norm)."""
    norms = np.linalg.norm(np.asarray(U, np.float64), axis=1)
    return float(norms.std() / norms.mean()) if norms.mean() > 0 else 0.0


def gaussian_norm_spread(U) -> float:
    """The row-norm spread (`row_norm_spread`) that Gaussian rows with the pool's covariance would show, to first
    order: `sqrt(2 tr(S^2)) / (2 mean_j |u_j|^2)` (`Var |u|^2 = 2 tr(S^2)` for Gaussian noise, the delta method for
    `|u|`), with `tr(S^2)` of the sample covariance S less its `(tr S)^2 / N` bias; computed on the smaller of the
    p x p and N x N Gram matrices."""
    U = np.asarray(U, np.float64)
    N = U.shape[0]
    centred = U - U.mean(axis=0)
    gram = centred.T @ centred if U.shape[1] <= N else centred @ centred.T
    trace = np.trace(gram) / (N - 1)
    trace_sq = max(float(np.sum(gram * gram)) / (N - 1) ** 2 - trace * trace / N, 0.0)
    mean_sq = float(np.mean(np.sum(U * U, axis=1)))
    return float(np.sqrt(2.0 * trace_sq) / (2.0 * mean_sq)) if mean_sq > 0 else 0.0


def choose_theory(U, *, limit: float = NORM_SPREAD_LIMIT, excess: float = GAUSSIAN_SPREAD_EXCESS) -> TheoryChoice:
    """The theory to trust for the pool choice of alpha, from the unlabelled rows alone (module docstring).

    Args:
        U: (N, p) unlabelled target rows, as given to the fine-tuning (same preprocessing).
        limit: the largest row-norm spread (`row_norm_spread`) for which the semi-empirical theory is used.
        excess: the semi-empirical theory needs a spread at least `excess` times `gaussian_norm_spread(U)`.
    Returns:
        `TheoryChoice`.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha._semi_empirical_choice import choose_theory
        >>> rng = np.random.default_rng(0)
        >>> gaussian = rng.standard_normal((500, 50))                 # norms spread as a Gaussian's
        >>> some = gaussian * rng.lognormal(0.0, 0.2, (500, 1))       # a scale per row
        >>> much = gaussian * rng.lognormal(0.0, 0.5, (500, 1))
        >>> [choose_theory(rows).theory for rows in (gaussian, some, much)]
        ['covariance', 'semi-empirical', 'covariance']
    """
    U = check_rows("U", U, minimum=2)
    limit = check_positive_float("limit", limit)
    excess = check_positive_float("excess", excess)
    spread, gaussian = row_norm_spread(U), gaussian_norm_spread(U)
    seen = (f"auto: the unlabelled rows' norms spread by {spread:.3g} (std / mean), {spread / gaussian:.3g} times "
            f"what Gaussian rows with their covariance would ({gaussian:.3g})" if gaussian > 0 else
            f"auto: the unlabelled rows' norms spread by {spread:.3g} (std / mean)")
    if spread > limit:
        return TheoryChoice("covariance", spread, gaussian, f"{seen}; more than {limit:g}: the covariance-aware "
                            "theory (the semi-empirical pool choice overshot alpha on such rows: "
                            "theory/choose_alpha_rule.md)")
    if spread < excess * gaussian:
        return TheoryChoice("covariance", spread, gaussian, f"{seen}; less than {excess:g} times: Gaussian-like rows, "
                            "the covariance-aware theory (theory/choose_alpha_rule.md)")
    return TheoryChoice("semi-empirical", spread, gaussian, f"{seen}; at least {excess:g} times and at most {limit:g}: "
                        "the semi-empirical theory on the pseudo-labelled pool")


def replicate_laws(v, X, y, U, gamma: float, counts: Weights, *, labels: str = "hard",
                   include_labelled: bool = False):
    """The pseudo-labelled pool law of the data and of every bootstrap replicate: the labeller (the classifier
    fine-tuned on the replicate's labelled rows towards the combined source `v` at alpha = 1) labels the pool; the
    law's rows weigh their bootstrap counts (`law_weights`).

    Returns:
        `(rows, labels, weights)`: the law's rows (N', p) (the pool, then the labelled rows when included), their
        labels (B + 1, N') and weights (B + 1, N'), each weight row summing to 1 (row 0: the data).
    """
    replicates = counts.labelled.shape[0]
    margin = fit_labeller(X, y, v, gamma, counts.labelled).margins(U, X, np.ones(replicates))
    pseudo = np.where(margin >= 0, 1.0, -1.0)                      # (B + 1, N)
    confidence = mixture_confidence(margin[0]) if labels == "soft" else None
    weights = np.stack([law_weights(pseudo[b], counts.unlabelled[b], counts.labelled[b], y, confidence=confidence,
                                     include_labelled=include_labelled) for b in range(replicates)])
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.vstack([U, X]) if include_labelled else U
    law_y = np.c_[pseudo, np.broadcast_to(y, (replicates, y.size))] if include_labelled else pseudo
    return rows, law_y, weights


class SemiEmpiricalChoice(NamedTuple):
    """The semi-empirical choice of alpha with its bootstrap replicates (row 0: the data), in the form
    `choose_alpha`'s do-no-harm rule takes: alpha* per replicate and predicted curves per replicate.

    Attributes:
        alpha: (B + 1,) alpha* per replicate (may be -+inf, as `RowMargins.optimal_alpha`).
        grid: (k,) the alphas of `accuracy`.
        accuracy: (B + 1, k) predicted accuracy per replicate on `grid`.
        replicates: `ReplicateMargins`: `replicates.accuracy(alpha)` gives every replicate's prediction at any
            alphas.
        law: the data's `PoolLaw`.
        margins: the data's `RowMargins`.
        weights: the bootstrap counts (`Weights`, row 0 all ones).
        description: the law and the uncertainty, in words.
    """

    alpha: np.ndarray
    grid: np.ndarray
    accuracy: np.ndarray
    replicates: ReplicateMargins
    law: PoolLaw
    margins: RowMargins
    weights: Weights
    description: str


def semi_empirical_choice(w_s, X, y, U, *, gamma: float = 1.0, bootstrap: int = 200, replicates: str = "rows",
                          grid=None, labels: str = "hard", include_labelled: bool = False, random_state=0,
                          bootstrap_counts: Weights | None = None) -> SemiEmpiricalChoice:
    """alpha* of the semi-empirical theory with the pseudo-labelled pool as the law, and bootstrap replicates of it
    (module docstring), ready for a do-no-harm rule.

    The law: the pool labelled by the alpha = 1 classifier fine-tuned on `(X, y)` (`pool_law`); replicate b: the
    labelled rows resampled within each class and the pool resampled (`bootstrap_weights`), the labeller re-fitted
    on the replicate's labelled rows and the pool re-labelled; evaluated as `replicates` says.

    Args:
        w_s: (p,) the source classifier.
        X: (n, p) labelled target rows. y: (n,) their labels in {-1, +1} (at least 2 of each class).
        U: (N, p) unlabelled target rows, N > n.
        gamma: fine-tuning ridge strength (> 0).
        bootstrap: number of replicates (>= 0).
        replicates: "rows" or "exact" (module docstring).
        grid: alphas of `accuracy` (default 0, 0.05, ..., 6).
        labels: "hard" or "soft" pseudo-labels (`pool_law`; the soft weights are held at the data's in every
            replicate).
        include_labelled: the labelled rows join the law (true labels).
        random_state: seed or `numpy.random.Generator` of the bootstrap (`choose_alpha` draws
            `bootstrap_weights(y, N, bootstrap, numpy.random.default_rng(random_state))` first too, so the same seed
            gives the same replicates).
        bootstrap_counts: the replicates as a `Weights` of `bootstrap_weights(y, N, B, rng)` to reuse (e.g. those
            of the covariance-aware theory); then `bootstrap` and `random_state` are not used.
    Returns:
        `SemiEmpiricalChoice`.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha._semi_empirical_choice import semi_empirical_choice
        >>> rng = np.random.default_rng(0)
        >>> mean = np.r_[1.0, np.zeros(29)]
        >>> labels = lambda k: np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
        >>> y, y_pool = labels(20), labels(400)
        >>> X = y[:, None] * mean + rng.standard_normal((20, 30))
        >>> U = y_pool[:, None] * mean + rng.standard_normal((400, 30))
        >>> choice = semi_empirical_choice(np.r_[0.6, 0.3, np.zeros(28)], X, y, U, bootstrap=50)
        >>> choice.accuracy.shape, bool(np.isfinite(choice.alpha[0]))
        ((51, 121), True)
    """
    w_s = check_vector("w_s (the source classifier)", w_s)
    X = check_rows("X", X, w_s.size, width_of="w_s")
    y = check_signed_labels("y", y, X.shape[0])
    for label in (-1.0, 1.0):
        if np.sum(y == label) < 2:
            raise ValueError(f"y must hold at least 2 rows of each class (the bootstrap resamples within classes), "
                             f"got {int(np.sum(y == -1.0))} negative and {int(np.sum(y == 1.0))} positive")
    U = check_rows("U", U, w_s.size, width_of="w_s")
    if U.shape[0] <= X.shape[0]:
        raise ValueError(f"U must have more rows than X (the law must outnumber the n training rows), got "
                         f"{U.shape[0]} rows for n = {X.shape[0]}")
    gamma = check_positive_float("gamma", gamma)
    bootstrap = check_count("bootstrap", bootstrap, minimum=0)
    if replicates not in REPLICATES:
        raise ValueError(f"replicates must be one of {REPLICATES}, got {replicates!r}")
    if labels not in PSEUDO_LABELS:
        raise ValueError(f"labels must be one of {PSEUDO_LABELS}, got {labels!r}")
    grid = np.round(np.arange(0.0, 6.0001, 0.05), 10) if grid is None else check_finite_array("grid", grid).ravel()
    if grid.size == 0:
        raise ValueError("grid must hold at least one alpha, got an empty array")
    n = y.size

    if bootstrap_counts is None:
        counts = bootstrap_weights(y, U.shape[0], bootstrap, np.random.default_rng(random_state))
    else:
        counts = bootstrap_counts
        if (not isinstance(counts, Weights) or counts.unlabelled is None or counts.labelled.shape[1:] != (y.size,)
                or counts.unlabelled.shape != (counts.labelled.shape[0], U.shape[0])):
            raise ValueError(f"bootstrap_counts must be the Weights of bootstrap_weights(y, {U.shape[0]}, B, rng): "
                             f"labelled counts (B + 1, {y.size}) and unlabelled counts (B + 1, {U.shape[0]})")
        bootstrap = counts.labelled.shape[0] - 1
    law_X, law_y, weights = replicate_laws(w_s, X, y, U, gamma, counts, labels=labels,
                                           include_labelled=include_labelled)
    law = PoolLaw(law_X, law_y[0], weights[0], 1.0)
    margins = row_margins(w_s, signed_rows(law_X, law_y[0]), weights[0], n, gamma)
    data_alpha = margins.optimal_alpha()
    if replicates == "rows":
        agree = law_y == law_y[0]
        coefficients = [value[None] for value in margins[:5]]
        batch = ReplicateMargins(*coefficients, np.where(agree, weights, 0.0), np.where(agree, 0.0, weights))
        how = ("the data's per-row margins averaged over each replicate's rows and pseudo-labels (training side held "
               "at the data's law)")
    else:
        found = [margins] + [row_margins(w_s, signed_rows(law_X, law_y[b]), weights[b], n, gamma,
                                         initial=margins.fixed_point.delta) for b in range(1, bootstrap + 1)]
        batch = ReplicateMargins(*(np.stack([m[i] for m in found]) for i in range(5)), weights,
                                 np.zeros_like(weights))
        how = "the theory re-solved on each replicate's law (fixed point warm-started from the data's)"
    star = batch.optimal_alpha(data_alpha)
    description = (f"law: the {U.shape[0]} unlabelled rows pseudo-labelled ({labels}) by the alpha = 1 classifier "
                   f"fine-tuned on the {n} labelled rows" + (" plus the labelled rows" if include_labelled else "")
                   + f"; bootstrap: {bootstrap} replicates (labelled rows resampled within each class, unlabelled "
                   f"rows resampled, the labeller re-fitted and the pool re-labelled), evaluated by {how}")
    return SemiEmpiricalChoice(star, grid, batch.accuracy(grid), batch, law, margins, counts, description)
