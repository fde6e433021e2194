"""Small-sample estimators of the target statistics, batched over bootstrap replicates (theory/THEORY.md sections
5 and 8).

Every estimator takes a batch of row weights (`Weights`: row 0 is the data itself, the others bootstrap counts), so
the point estimate and all its replicates come out of one vectorised call.

- Labelled rows `(x_i, y_i)`, `z_i = y_i x_i`: `s_hat = sum_i pi_i z_i^T v` is unbiased for `<v, mu_t>`, and the
  U-statistic `m_hat = (|sum_i pi_i z_i|^2 - sum_i pi_i^2 |z_i|^2) / (1 - sum_i pi_i^2)` (pairs of distinct rows
  only; `pi = 1/n` gives `sum_{i != j} z_i^T z_j / (n (n - 1))`) is unbiased for `|mu_t|^2`: the within-class
  noise, which inflates the naive `|mean(y x)|^2` by `tr(C_t) / n` (about p / n), never enters. A row drawn twice
  by the bootstrap is still one row: its pair with itself is excluded.
- An unlabelled pool `U` is pseudo-labelled by the fine-tuned classifier `w_alpha` fitted on the labelled rows
  (`y_hat = sign(U w_alpha)`), the same two statistics are taken over the pseudo-labelled rows, alpha* is
  recomputed and the pool re-labelled, `rounds` times. This removes the p / n noise of the labelled estimate but
  keeps the labeller's own bias (`E[y_hat u] = (2 Phi(r) - 1) mu + 2 phi(r) C w / sigma`,
  `rmt_alpha._estimation`'s docstring): measured on the 12 Amazon pairs, `s` 1.25 times and `m` 1.09 times the
  truth.
- The target noise covariance from both kinds of rows: labelled residuals `x_i - y_i mu_hat` (scatter
  `(1 - 1/n) C_t` in expectation, hence the `n - 1` degrees of freedom) and the pool's uncentred scatter, whose
  expectation is `C_t + mu mu^T` for balanced classes: the rank-one bias is removed with the estimated `|mu|^2`
  along the estimated mean direction, then the matrix is shrunk with scikit-learn's Ledoit-Wolf coefficient and its
  spectrum clipped at 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sklearn.covariance

from rmt_alpha._stats import Spectrum

LABELLER_ALPHA_BOUND = 10.0  # re-labelling uses alpha* clipped to [-bound, bound] (alpha* can be infinite)


class Weights(NamedTuple):
    """Row weights (counts) of the labelled rows `(B + 1, n)` and of the unlabelled rows `(B + 1, N)` (None without
    a pool); row 0 weighs every row once (the data), rows 1..B are bootstrap replicates."""

    labelled: np.ndarray
    unlabelled: np.ndarray | None


def bootstrap_weights(y, pool_size: int, replicates: int, rng: np.random.Generator) -> Weights:
    """Multinomial bootstrap counts: labelled rows resampled within each class (so every replicate keeps both
    classes and their sizes), unlabelled rows resampled as a whole. Row 0 is all ones."""
    labelled = np.ones((replicates + 1, y.size))
    labelled[1:] = 0.0
    for label in (-1.0, 1.0):
        rows = np.flatnonzero(y == label)
        labelled[1:, rows] = _resample_counts(rows.size, replicates, rng)
    unlabelled = None
    if pool_size:
        unlabelled = np.ones((replicates + 1, pool_size))
        unlabelled[1:] = _resample_counts(pool_size, replicates, rng)
    return Weights(labelled, unlabelled)


def _resample_counts(size: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of `size` rows is drawn in each of `replicates` resamples of `size` draws with replacement."""
    draws = rng.integers(0, size, size=(replicates, size)) + size * np.arange(replicates)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * size).reshape(replicates, size)


def weighted_pair_statistics(Z, weights, signs=1.0) -> tuple[np.ndarray, np.ndarray]:
    """`(sum_i pi_i z_i, U-statistic)` per weight row for the rows `z_i = signs_i Z_i`, `pi = weights / weights.sum()`:
    the weighted mean (B, p), unbiased for `E z`, and `(|sum pi z|^2 - sum pi^2 |z|^2) / (1 - sum pi^2)` (B,),
    unbiased for `|E z|^2`. `signs` (labels or pseudo-labels, +-1) broadcast against the weights."""
    pi = weights / weights.sum(axis=1, keepdims=True)
    mean = (pi * signs) @ Z
    self_pairs = (pi * pi) @ np.einsum("ij,ij->i", Z, Z)
    concentration = (pi * pi).sum(axis=1)
    return mean, (np.einsum("bj,bj->b", mean, mean) - self_pairs) / (1.0 - concentration)


class Labeller(NamedTuple):
    """The fine-tuned classifier of each weight row in dual form: `w_alpha = X^T (a - alpha c) + alpha v`, with `v`
    the source classifier (`a`, `c`: (B + 1, n))."""

    a: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def margins(self, U, X, alpha) -> np.ndarray:
        """`U w_alpha` for every weight row (B + 1, N), alpha of shape (B + 1,)."""
        alpha = np.asarray(alpha, dtype=np.float64)[:, None]
        return (self.a - alpha * self.c) @ (X @ U.T) + alpha * (U @ self.v)[None, :]


def fit_labeller(X, y, v, gamma: float, weights) -> Labeller:
    """The weighted fine-tuning ridge `w_alpha = Q (X^T Pi y + alpha gamma v)`, `Q = (X^T Pi X + gamma I)^-1`,
    `Pi = diag(pi)`, `pi` the normalised weight row (`1/n` each: theory/THEORY.md section 1's classifier).

    With `(gamma I + X^T Pi X)^-1 = (I - X^T (gamma I + Pi K)^-1 Pi X) / gamma`, `K = X X^T` (push-through
    identity, valid with zero weights), each row costs one n x n solve.
    """
    pi = weights / weights.sum(axis=1, keepdims=True)
    n = X.shape[0]
    kernel = X @ X.T
    system = gamma * np.eye(n) + pi[:, :, None] * kernel[None]
    target_rhs = pi * ((pi * y) @ kernel)               # Pi K Pi y
    source_rhs = pi * (X @ v)[None, :]                  # Pi X v
    solved = np.linalg.solve(system, np.stack([target_rhs, source_rhs], axis=2))
    return Labeller((pi * y - solved[..., 0]) / gamma, solved[..., 1], v)


class PoolEstimate(NamedTuple):
    """Pseudo-labelled pool statistics per weight row: the mean `(B + 1, p)`, `s = <v, mean>`, the U-statistic `m`,
    the alpha of the last labeller, and the data's pseudo-labels (row 0, (N,))."""

    mean: np.ndarray
    s: np.ndarray
    m: np.ndarray
    labeller_alpha: np.ndarray
    pseudo_labels: np.ndarray


def pseudo_labelled_pool(X, y, U, v, labeller_v, gamma: float, weights: Weights, rounds: int, alpha_star
                         ) -> PoolEstimate:
    """The pool statistics after `rounds` rounds of pseudo-labelling (the first by the alpha = 1 classifier, then
    by the classifier at the current `alpha_star(s, m)`, an array function of the per-row statistics).

    Args:
        X: (n, p) labelled rows. y: (n,) in {-1, +1}. U: (N, p) unlabelled rows.
        v: (p,) the vector whose projection is the statistic s (w_s, or mu_s for a ridge source's statistics).
        labeller_v: (p,) the source classifier inside the labeller (w_s, or E[w_s] for a ridge source).
        gamma: fine-tuning ridge strength. weights: `Weights` with a pool. rounds: >= 1.
    """
    labeller = fit_labeller(X, y, labeller_v, gamma, weights.labelled)
    alpha = np.ones(weights.labelled.shape[0])
    for _ in range(rounds):
        pseudo_labels = np.where(labeller.margins(U, X, alpha) >= 0, 1.0, -1.0)
        mean, m = weighted_pair_statistics(U, weights.unlabelled, pseudo_labels)
        s = mean @ v
        used = alpha
        alpha = np.clip(np.nan_to_num(alpha_star(s, m), nan=1.0, posinf=LABELLER_ALPHA_BOUND,
                                      neginf=-LABELLER_ALPHA_BOUND), -LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND)
    return PoolEstimate(mean, s, m, used, pseudo_labels[0])


def target_covariance(X, y, labelled_mean, U=None, mean_sq: float = 0.0, direction=None) -> Spectrum:
    """The target noise covariance from labelled residuals and, when given, an unlabelled pool (module docstring).

    `(R^T R + U^T U - N m d d^T) / (n - 1 + N)`, `R = X - y mu_hat`, `d` the unit mean direction, `m = mean_sq`;
    shrunk towards a scaled identity by the Ledoit-Wolf coefficient of the stacked rows; eigenvalues clipped at 0.
    """
    residuals = X - y[:, None] * labelled_mean
    rows = residuals if U is None else np.vstack([residuals, U])
    scatter = residuals.T @ residuals
    dof = X.shape[0] - 1.0
    if U is not None:
        scatter = scatter + U.T @ U - U.shape[0] * max(mean_sq, 0.0) * np.outer(direction, direction)
        dof += U.shape[0]
    shrinkage = sklearn.covariance.ledoit_wolf_shrinkage(rows, assume_centered=True)
    shrunk = sklearn.covariance.shrunk_covariance(scatter / dof, shrinkage)
    eigenvalues, eigenvectors = np.linalg.eigh(shrunk)
    return Spectrum(np.maximum(eigenvalues, 0.0), eigenvectors)
