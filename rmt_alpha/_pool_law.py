"""The target law that the semi-empirical theory (theory/THEORY.md section 9) takes from labelled rows and an
unlabelled pool: the pool pseudo-labelled by the classifier fine-tuned on the labelled rows, and its alpha*.

The law's rows are the pool `U` with pseudo-labels `y_hat = sign(U w_alpha)` from the alpha-fine-tuned
classifier of the labelled rows (`rmt_alpha._estimation.fit_labeller`; alpha = 1 by default), optionally:

- `labels="soft"`: each pool row weighted by the posterior probability of its pseudo-label under a two-Gaussian
  mixture of the pool's margins `U w_alpha` (rows near the labeller's boundary, the likely mislabelled ones, weigh
  less); `"hard"`: every pool row weighs the same.
- `balance=True`: the pool's weights rescaled so the pseudo-classes carry the labelled rows' class proportions.
- `include_labelled=True`: the labelled rows (true labels) join the law, each weighing as much as a pool row.
- `relabel=k` (`pool_alpha`): k more rounds, each re-labelling the pool with the classifier at the current alpha*
  (clipped to `[-LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND]`) and recomputing alpha*.

alpha* is then `RowMargins.optimal_alpha` of the law (n = the number of labelled rows): `pool_alpha`. The measured
variants and the one kept (hard labels from the alpha = 1 classifier, the pool alone): theory/choose_alpha_rule.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sklearn.mixture

from rmt_alpha._estimation import LABELLER_ALPHA_BOUND, fit_labeller
from rmt_alpha._semi_empirical import RowMargins, row_margins

PSEUDO_LABELS = ("hard", "soft")


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


def mixture_confidence(margins) -> np.ndarray:
    """Posterior probability of `sign(margin)` under a two-component Gaussian mixture fitted to the margins (N,)
    (scikit-learn's `GaussianMixture`, the component with the larger mean taken as the positive class)."""
    margins = np.asarray(margins, np.float64).reshape(-1, 1)
    mixture = sklearn.mixture.GaussianMixture(2, random_state=0).fit(margins)
    positive = mixture.predict_proba(margins)[:, int(np.argmax(mixture.means_.ravel()))]
    return np.where(margins.ravel() >= 0, positive, 1.0 - positive)


def law_weights(pseudo, pool_counts, labelled_counts, y, *, confidence=None, balance=False,
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
    weights = law_weights(pseudo, np.ones(U.shape[0]), np.ones(y.size), y, balance=balance,
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
        margins = row_margins(w_s, signed_rows(law.X, law.y), law.weights, n, gamma, initial=initial)
        initial = margins.fixed_point.delta   # the re-labelled law is close: warm start
        alpha = margins.optimal_alpha()
        if round_ < relabel:
            law = pool_law(w_s, X, y, U, gamma=gamma, **{**law_options, "labeller_alpha": _labeller_alpha(alpha)})
    return PoolChoice(alpha, margins, law)


def signed_rows(X, y) -> np.ndarray:
    """The rows `v_j = (y_j x_j, 1)` of the semi-empirical theory."""
    return np.concatenate([y[:, None] * X, np.ones((y.size, 1))], axis=1)


def _labeller_alpha(alpha):
    """alpha* made usable as a labeller's alpha: NaN -> 1, clipped to +-LABELLER_ALPHA_BOUND (alpha* may be
    infinite)."""
    return np.clip(np.nan_to_num(alpha, nan=1.0, posinf=LABELLER_ALPHA_BOUND, neginf=-LABELLER_ALPHA_BOUND),
                   -LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND)
