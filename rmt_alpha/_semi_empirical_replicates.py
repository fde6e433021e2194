"""Bootstrap replicates of the semi-empirical predicted accuracy (theory/THEORY.md section 9), batched: per-row
margin coefficients shared by every replicate (or one set per replicate) and each replicate's row weights, split
into the rows that keep the label their coefficients were computed for and the rows whose label flipped
(`rmt_alpha._semi_empirical_choice` builds them; theory/choose_alpha_rule.md measures them).

A flipped row counts with its margin's sign flipped: under leave-self-out a row's margin does not depend on its
own label (`E[y g]` changes sign, `Var[g]` stays), so `acc_b(alpha) = sum_j a_bj Phi(r_j) + d_bj Phi(-r_j)
= sum_j d_bj + (a_bj - d_bj) Phi(r_j)`: one normal CDF per row and alpha for all replicates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special

from rmt_alpha._semi_empirical import SEARCH_QUANTILES, RowMargins

GOLDEN_STEPS = 16       # golden-section steps of each replicate's alpha* (bracket shrunk 0.618^16 = 5e-4 times)


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
        candidates = np.unique(np.r_[np.quantile(points if points.size else np.zeros(1),
                                                 np.linspace(0, 1, SEARCH_QUANTILES)),
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
