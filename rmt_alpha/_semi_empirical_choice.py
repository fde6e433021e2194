"""alpha from labelled rows and an unlabelled pool through the semi-empirical theory (theory/THEORY.md section 9):
the pool, pseudo-labelled by the classifier fine-tuned on the labelled rows, is taken as the target law.

The law's rows are the pool `U` with pseudo-labels `y_hat = sign(U w_alpha)` from the alpha-fine-tuned
classifier of the labelled rows (`rmt_alpha._target_estimators.fit_labeller`; alpha = 1 by default), optionally:

- `labels="soft"`: each pool row weighted by the posterior probability of its pseudo-label under a two-Gaussian
  mixture of the pool's margins `U w_alpha` (rows near the labeller's boundary, the likely mislabelled ones, weigh
  less); `"hard"`: every pool row weighs the same.
- `balance=True`: the pool's weights rescaled so the pseudo-classes carry the labelled rows' class proportions.
- `include_labelled=True`: the labelled rows (true labels) join the law, each weighing as much as a pool row.
- `relabel=k`: k more rounds, each re-labelling the pool with the classifier at the current alpha* (clipped to
  `[-LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND]`) and recomputing alpha*.

alpha* is then `RowMargins.optimal_alpha` of the law (n = the number of labelled rows): `pool_alpha`.

Uncertainty (`semi_empirical_choice`): bootstrap replicates as `choose_alpha` draws them
(`rmt_alpha._target_estimators.bootstrap_weights`: labelled rows resampled within each class, pool rows
resampled); each replicate re-fits the labeller on its labelled rows and re-labels the pool. Two ways to evaluate
a replicate:

- `replicates="rows"` (default): the replicate's law is the data's rows with the replicate's weights and labels
  (a pool row drawn k times weighs k, a row whose pseudo-label flips counts with the other label), and its
  predicted accuracy averages the data's per-row margins over it:
  `acc_b(alpha) = sum_j pi_bj Phi(s_bj ratio_j(alpha))`, `s_bj = +-1` when row j's label in replicate b agrees
  with / differs from the data's. This is exact for a row's own term (with leave-self-out, a row's margin does
  not depend on its own label: flipping it flips the sign of `E[y g]` and keeps `Var[g]`); it holds the training
  side (the law the n training rows are drawn from) at the data's. One (B + 1, N) x (N, k) product per curve.
- `replicates="exact"`: every replicate re-solves the theory on its own law (`row_margins` warm-started from the
  data's fixed point): about 0.2 to 1 s per replicate at p = 384, N = 1000. The reference for the first.

Measured agreement ("rows" against "exact" on real splits): theory/choose_alpha_rule.md.

Which theory (`choose_theory`): the semi-empirical pool choice when the pool's rows have nearly equal norms (the
coefficient of variation of `|u_j|` at most `NORM_SPREAD_LIMIT`), the covariance-aware one otherwise. Measured at
n = 20 (theory/choose_alpha_rule.md): on MiniLM features of review text (spread 0.17 to 0.25 per split) the
semi-empirical choice gains +0.85 pt over alpha = 1 where the covariance-aware one gains +0.28; on the Amazon
bag-of-words features (spread 0.33 to 0.40, the norm following the review's length) +0.91 against +1.03.
Reference: theory/THEORY.md section 9; theory/choose_alpha_rule.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special
import sklearn.mixture

from rmt_alpha._semi_empirical import RowMargins, row_margins
from rmt_alpha._target_estimators import LABELLER_ALPHA_BOUND, Weights, bootstrap_weights, fit_labeller
from rmt_alpha._validation import (
    check_finite_array,
    check_positive_float,
    check_sample_count,
    check_signed_labels,
    check_vector,
)

PSEUDO_LABELS = ("hard", "soft")
REPLICATES = ("rows", "exact")
NORM_SPREAD_LIMIT = 0.3  # above, choose_theory picks the covariance-aware theory (theory/choose_alpha_rule.md)
GOLDEN_STEPS = 16       # golden-section steps of each replicate's alpha* (bracket shrunk 0.618^16 = 5e-4 times)


class PoolLaw(NamedTuple):
    """The rows the semi-empirical theory takes as the target law: X (M, p), labels y (M,) in {-1, +1}, weights
    (M,) summing to 1, and the alpha of the classifier that pseudo-labelled the pool."""

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    labeller_alpha: float


class PoolChoice(NamedTuple):
    """alpha* of the semi-empirical theory on a pseudo-labelled pool, the `RowMargins` behind it (its
    `accuracy(alpha)` is the predicted curve) and the law."""

    alpha: float
    margins: RowMargins
    law: PoolLaw


class TheoryChoice(NamedTuple):
    """Which theory `choose_theory` picked ("semi-empirical" or "covariance"), the statistic it looked at and why."""

    theory: str
    norm_spread: float
    reason: str


def row_norm_spread(U) -> float:
    """The coefficient of variation of the rows' Euclidean norms, `std(|u_j|) / mean(|u_j|)` (0 when every row has
    the same norm)."""
    norms = np.linalg.norm(np.asarray(U, np.float64), axis=1)
    return float(norms.std() / norms.mean()) if norms.mean() > 0 else 0.0


def choose_theory(U, *, limit: float = NORM_SPREAD_LIMIT) -> TheoryChoice:
    """The theory to trust for the pool choice of alpha, from the unlabelled rows alone (module docstring).

    Args:
        U: (N, p) unlabelled target rows, as given to the fine-tuning (same preprocessing).
        limit: the largest row-norm spread (`row_norm_spread`) for which the semi-empirical theory is used.
    Returns:
        `TheoryChoice`.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> even = rng.standard_normal((500, 50))                  # norms within a few percent
        >>> uneven = even * rng.lognormal(0.0, 0.5, (500, 1))      # a scale per row
        >>> choose_theory(even).theory, choose_theory(uneven).theory
        ('semi-empirical', 'covariance')
    """
    U = check_finite_array("U", U)
    if U.ndim != 2 or U.shape[0] < 2:
        raise ValueError(f"U must be a 2-D array of at least 2 rows, got shape {U.shape}")
    limit = check_positive_float("limit", limit)
    spread = row_norm_spread(U)
    if spread <= limit:
        return TheoryChoice("semi-empirical", spread, f"auto: the unlabelled rows' norms spread by {spread:.3g} "
                            f"(std / mean), at most {limit:g}: the semi-empirical theory on the pseudo-labelled pool")
    return TheoryChoice("covariance", spread, f"auto: the unlabelled rows' norms spread by {spread:.3g} (std / mean), "
                        f"more than {limit:g}: the covariance-aware theory (the semi-empirical pool choice "
                        "overshot alpha on such rows: theory/choose_alpha_rule.md)")


def mixture_confidence(margins) -> np.ndarray:
    """Posterior probability of `sign(margin)` under a two-component Gaussian mixture fitted to the margins (N,)
    (scikit-learn's `GaussianMixture`, the component with the larger mean taken as the positive class)."""
    margins = np.asarray(margins, np.float64).reshape(-1, 1)
    mixture = sklearn.mixture.GaussianMixture(2, random_state=0).fit(margins)
    positive = mixture.predict_proba(margins)[:, int(np.argmax(mixture.means_.ravel()))]
    return np.where(margins.ravel() >= 0, positive, 1.0 - positive)


def _law_weights(pseudo, pool_counts, labelled_counts, y, *, confidence=None, balance=False,
                 include_labelled=False) -> np.ndarray:
    """Unnormalised weights of the law's rows (pool rows, then the labelled rows when included) for one weight row:
    pool counts (times the soft confidence), rescaled per pseudo-class to the labelled rows' class proportions when
    `balance`; labelled rows weigh their counts, as much as a pool row drawn once."""
    weights = pool_counts * (1.0 if confidence is None else confidence)
    if balance:
        for label in (-1.0, 1.0):
            chosen = pseudo == label
            share = np.sum(labelled_counts * (y == label)) / np.sum(labelled_counts)
            if weights[chosen].sum() > 0:
                weights = np.where(chosen, weights * share * weights.sum() / weights[chosen].sum(), weights)
    weights = weights * pool_counts.size / max(pool_counts.sum(), 1e-300)
    return np.r_[weights, labelled_counts] if include_labelled else weights


def pool_law(w_s, X, y, U, *, gamma: float = 1.0, labeller_alpha: float = 1.0, labels: str = "hard",
             balance: bool = False, include_labelled: bool = False) -> PoolLaw:
    """The pool pseudo-labelled by the classifier fine-tuned on `(X, y)` at `labeller_alpha` (module docstring).

    Args:
        w_s: (p,) source classifier.
        X: (n, p) labelled rows. y: (n,) their labels in {-1, +1}.
        U: (N, p) unlabelled rows.
        gamma: fine-tuning ridge strength.
        labeller_alpha: alpha of the labelling classifier.
        labels: "hard" or "soft" (module docstring).
        balance: match the pseudo-classes' weights to the labelled rows' class proportions.
        include_labelled: add the labelled rows to the law.
    Returns:
        `PoolLaw`.
    """
    if labels not in PSEUDO_LABELS:
        raise ValueError(f"labels must be one of {PSEUDO_LABELS}, got {labels!r}")
    labeller = fit_labeller(X, y, w_s, gamma, np.ones((1, y.size)))
    margin = labeller.margins(U, X, np.array([labeller_alpha]))[0]
    pseudo = np.where(margin >= 0, 1.0, -1.0)
    weights = _law_weights(pseudo, np.ones(U.shape[0]), np.ones(y.size), y, balance=balance,
                           include_labelled=include_labelled,
                           confidence=mixture_confidence(margin) if labels == "soft" else None)
    rows_X, rows_y = (np.vstack([U, X]), np.r_[pseudo, y]) if include_labelled else (U, pseudo)
    return PoolLaw(rows_X, rows_y, weights / weights.sum(), float(labeller_alpha))


def pool_alpha(w_s, X, y, U, *, gamma: float = 1.0, relabel: int = 0, **law_options) -> PoolChoice:
    """alpha* of the semi-empirical theory with the pseudo-labelled pool as the law (module docstring), no
    uncertainty.

    Args:
        w_s, X, y, U, gamma: as `pool_law`.
        relabel: re-labelling rounds after the first labelling.
        **law_options: `labeller_alpha`, `labels`, `balance`, `include_labelled` of `pool_law`.
    Returns:
        `PoolChoice`.
    """
    n = y.size
    law, initial = pool_law(w_s, X, y, U, gamma=gamma, **law_options), None
    for round_ in range(relabel + 1):
        margins = row_margins(w_s, _signed_rows(law.X, law.y), law.weights, n, gamma, initial=initial)
        initial = margins.fixed_point.delta   # the re-labelled law is close: warm start
        alpha = margins.optimal_alpha()
        if round_ < relabel:
            law = pool_law(w_s, X, y, U, gamma=gamma, **{**law_options, "labeller_alpha": _labeller_alpha(alpha)})
    return PoolChoice(alpha, margins, law)


def _signed_rows(X, y) -> np.ndarray:
    """The rows `v_j = (y_j x_j, 1)` of the semi-empirical theory."""
    return np.concatenate([y[:, None] * X, np.ones((y.size, 1))], axis=1)


def _labeller_alpha(alpha):
    """alpha* made usable as a labeller's alpha: NaN -> 1, clipped to +-LABELLER_ALPHA_BOUND (alpha* may be
    infinite)."""
    return np.clip(np.nan_to_num(alpha, nan=1.0, posinf=LABELLER_ALPHA_BOUND, neginf=-LABELLER_ALPHA_BOUND),
                   -LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND)


# ----------------------------------------------------------------------------------------------- replicates

class ReplicateMargins(NamedTuple):
    """Per-row margin coefficients and the weights of every bootstrap replicate (row 0: the data).

    The coefficients (`mean0`, `mean1`, `var0`, `var1`, `var2`) have shape (R, N): R = 1 when every replicate
    shares the data's (`replicates="rows"`), R = B + 1 otherwise. `agree` and `disagree` (B + 1, N) are the
    weights of each row with the label its coefficients were computed for and with the opposite label (a flipped
    pseudo-label); together they sum to 1 per replicate.
    """

    mean0: np.ndarray
    mean1: np.ndarray
    var0: np.ndarray
    var1: np.ndarray
    var2: np.ndarray
    agree: np.ndarray
    disagree: np.ndarray

    def ratio(self, alpha) -> np.ndarray:
        """`E[y g] / sd(g)` per coefficient row, row and alpha: (R, N, k), evaluated at `(1, alpha) / max(1, |alpha|)`
        as `RowMargins.accuracy` does."""
        alpha = np.asarray(alpha, np.float64).ravel()
        largest = np.maximum(1.0, np.abs(alpha))
        u, a = 1.0 / largest, alpha / largest
        mean = self.mean0[..., None] * u + self.mean1[..., None] * a
        variance = self.var0[..., None] * u * u + self.var1[..., None] * u * a + self.var2[..., None] * a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(variance > 0, mean / np.sqrt(np.maximum(variance, 0.0)), np.sign(mean) * np.inf)

    def accuracy(self, alpha) -> np.ndarray:
        """Predicted accuracy of every replicate at every alpha: (B + 1, k) for alpha of k values,
        `sum_j agree_bj Phi(ratio_bj) + disagree_bj Phi(-ratio_bj)`."""
        alpha = np.asarray(alpha, np.float64).ravel()
        if self.mean0.shape[0] == 1:   # Phi(-r) = 1 - Phi(r): one Phi per row and alpha
            flipped = self.disagree.sum(axis=1, keepdims=True)
            return flipped + (self.agree - self.disagree) @ scipy.special.ndtr(self.ratio(alpha)[0])
        out = np.empty((self.agree.shape[0], alpha.size))
        for b in range(out.shape[0]):            # one replicate at a time: (N, k) arrays only
            out[b] = self._row(b).accuracy(alpha)[0]
        return out

    def optimal_alpha(self, data_alpha: float) -> np.ndarray:
        """alpha* of every replicate (B + 1,), row 0 set to `data_alpha` (the data's, found by
        `RowMargins.optimal_alpha`). Shared coefficients: the best of the data's candidate points (quantiles of its
        rows' stationary points, as `RowMargins.optimal_alpha`) refined by batched golden-section steps between its
        neighbours, then each replicate's limits at -+inf; per-replicate coefficients: `RowMargins.optimal_alpha` of
        each replicate's law."""
        replicates = self.agree.shape[0]
        if self.mean0.shape[0] > 1:
            found = np.array([self._row(b).as_row_margins(self.agree[b]).optimal_alpha() for b in range(replicates)])
            found[0] = data_alpha
            return found
        data = self._row(0).as_row_margins(self.agree[0] + self.disagree[0])
        points = data.stationary_points()
        points = points[np.isfinite(points)]
        candidates = np.unique(np.r_[np.quantile(points if points.size else np.zeros(1), np.linspace(0, 1, 257)),
                                     0.0, 1.0, data_alpha if np.isfinite(data_alpha) else 0.0])
        values = self.accuracy(candidates)
        best = np.argmax(values, axis=1)
        low = candidates[np.maximum(best - 1, 0)]
        high = candidates[np.minimum(best + 1, candidates.size - 1)]
        alpha, value = candidates[best], values[np.arange(replicates), best]
        golden = (np.sqrt(5.0) - 1.0) / 2.0
        left, right = high - golden * (high - low), low + golden * (high - low)
        at_left, at_right = self._at(left), self._at(right)
        for _ in range(GOLDEN_STEPS):
            move = at_left < at_right                   # the maximum lies in [left, high], else in [low, right]
            low, high = np.where(move, left, low), np.where(move, high, right)
            new = np.where(move, low + golden * (high - low), high - golden * (high - low))
            at_new = self._at(new)
            left, right, at_left, at_right = (np.where(move, right, new), np.where(move, new, left),
                                              np.where(move, at_right, at_new), np.where(move, at_new, at_left))
        middle = 0.5 * (low + high)
        at_middle = self._at(middle)
        alpha = np.where(at_middle > value, middle, alpha)
        value = np.maximum(at_middle, value)
        ratio = self._limit_ratio()
        below = self.agree @ scipy.special.ndtr(-ratio) + self.disagree @ scipy.special.ndtr(ratio)
        above = self.agree @ scipy.special.ndtr(ratio) + self.disagree @ scipy.special.ndtr(-ratio)
        alpha = np.where(np.maximum(below, above) > value + 1e-12, np.where(below > above, -np.inf, np.inf), alpha)
        alpha[0] = data_alpha
        return alpha

    def _at(self, alpha) -> np.ndarray:
        """Accuracy of replicate b at its own alpha[b] (shared coefficients): (B + 1,)."""
        probability = scipy.special.ndtr(self.ratio(alpha)[0])           # (N, B + 1)
        return self.disagree.sum(axis=1) + np.einsum("bj,jb->b", self.agree - self.disagree, probability)

    def _limit_ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.var2[0] > 0, self.mean1[0] / np.sqrt(np.maximum(self.var2[0], 0.0)),
                            np.sign(self.mean1[0]) * np.inf)

    def _row(self, b: int) -> ReplicateMargins:
        index = 0 if self.mean0.shape[0] == 1 else b
        return ReplicateMargins(*(value[index:index + 1] for value in self[:5]), self.agree[b:b + 1],
                                self.disagree[b:b + 1])

    def as_row_margins(self, weights) -> RowMargins:
        """The first coefficient row as `RowMargins` with the given weights (no fixed point attached)."""
        return RowMargins(*(value[0] for value in self[:5]), weights, None)


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
    X = _check_rows("X", X, w_s.size)
    y = check_signed_labels("y", y, X.shape[0])
    for label in (-1.0, 1.0):
        if np.sum(y == label) < 2:
            raise ValueError(f"y must hold at least 2 rows of each class (the bootstrap resamples within classes), "
                             f"got {int(np.sum(y == -1.0))} negative and {int(np.sum(y == 1.0))} positive")
    U = _check_rows("U", U, w_s.size)
    if U.shape[0] <= X.shape[0]:
        raise ValueError(f"U must have more rows than X (the law must outnumber the n training rows), got "
                         f"{U.shape[0]} rows for n = {X.shape[0]}")
    gamma = check_positive_float("gamma", gamma)
    bootstrap = check_sample_count("bootstrap", bootstrap, minimum=0)
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
    labeller = fit_labeller(X, y, w_s, gamma, counts.labelled)
    margin = labeller.margins(U, X, np.ones(bootstrap + 1))
    pseudo = np.where(margin >= 0, 1.0, -1.0)                      # (B + 1, N)
    confidence = mixture_confidence(margin[0]) if labels == "soft" else None
    weights = np.stack([_law_weights(pseudo[b], counts.unlabelled[b], counts.labelled[b], y, confidence=confidence,
                                     include_labelled=include_labelled) for b in range(bootstrap + 1)])
    weights /= weights.sum(axis=1, keepdims=True)
    law_X = np.vstack([U, X]) if include_labelled else U
    law_y = np.c_[pseudo, np.broadcast_to(y, (bootstrap + 1, n))] if include_labelled else pseudo
    law = PoolLaw(law_X, law_y[0], weights[0], 1.0)
    margins = row_margins(w_s, _signed_rows(law_X, law_y[0]), weights[0], n, gamma)
    data_alpha = margins.optimal_alpha()
    if replicates == "rows":
        agree = law_y == law_y[0]
        coefficients = [value[None] for value in margins[:5]]
        batch = ReplicateMargins(*coefficients, np.where(agree, weights, 0.0), np.where(agree, 0.0, weights))
        how = ("the data's per-row margins averaged over each replicate's rows and pseudo-labels (training side held "
               "at the data's law)")
    else:
        found = [margins] + [row_margins(w_s, _signed_rows(law_X, law_y[b]), weights[b], n, gamma,
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


def _check_rows(name: str, X, p: int) -> np.ndarray:
    """A finite (rows, p) float array, or an error naming `name`, the expected shape and the received one."""
    X = check_finite_array(name, X)
    if X.ndim != 2 or X.shape[1] != p:
        raise ValueError(f"{name} must be a 2-D array with p = {p} columns (the length of w_s), got shape {X.shape}")
    return X
