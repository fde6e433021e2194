"""Plain-numpy Monte-Carlo of the linear alpha-LoRA model (theory/THEORY.md section 1).

The straightforward reference: one p x p solve per trial, exact conditional accuracy. It is what the closed forms
are checked against in the tests and in `rmt-alpha demo`, and the baseline the JAX simulator is benchmarked
against. Data follow scikit-learn's layout: `X` has shape (n_samples, p), labels `y` in {-1, +1}.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from rmt_alpha._results import EmpiricalCurve, summarize
from rmt_alpha._stats import SourceStats, TargetStats, check_covariance, check_same_dimension
from rmt_alpha._validation import check_finite_array, check_positive_float, check_sample_count, check_vector


def make_mixture(n_samples: int, mean, random_state=None):
    """Draw `x = y * mean + z`, `z ~ N(0, I_p)`, with balanced labels (half +1, half -1, shuffled).

    Returns:
        `(X, y)`: X of shape (n_samples, p), y of shape (n_samples,) in {-1, +1}.
    """
    n_samples = check_sample_count("n_samples", n_samples)
    mean = check_vector("mean", mean)
    rng = np.random.default_rng(random_state)
    y = np.where(np.arange(n_samples) < (n_samples + 1) // 2, 1.0, -1.0)
    rng.shuffle(y)
    X = y[:, None] * mean[None, :] + rng.standard_normal((n_samples, mean.size))
    return X, y


def fit_ridge_classifier(X, y, gamma: float) -> np.ndarray:
    """`w = (X^T X / n + gamma I)^-1 X^T y / n`, the ridge classifier (theory/THEORY.md section 1)."""
    return fit_finetuned(X, y, gamma, np.zeros(np.shape(X)[1]), 0.0)


def fit_finetuned(X, y, gamma: float, w_s, alpha) -> np.ndarray:
    """`w_alpha = Q (X^T y / n + alpha gamma w_s)`, `Q = (X^T X / n + gamma I)^-1`, for every alpha.

    Affine in alpha: one solve with two right-hand sides serves a whole grid.
    Returns:
        shape (p,) for scalar alpha, else alpha's shape + (p,).
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    gamma = check_positive_float("gamma", gamma)
    alpha = check_finite_array("alpha", alpha)
    gram = X.T @ X / n + gamma * np.eye(p)
    rhs = np.stack([X.T @ np.asarray(y, dtype=np.float64) / n, gamma * np.asarray(w_s, dtype=np.float64)], axis=1)
    target_part, source_part = np.linalg.solve(gram, rhs).T
    return target_part + alpha[..., None] * source_part


def conditional_accuracy(w, mean) -> np.ndarray:
    """Exact test accuracy of `sign(w^T x)` on the mixture with this mean: `Phi(w^T mean / |w|)` (last axis)."""
    w = np.asarray(w, dtype=np.float64)
    return scipy.special.ndtr(w @ np.asarray(mean) / np.linalg.norm(w, axis=-1))


def monte_carlo_accuracy(source, target: TargetStats, alpha, *, trials: int, random_state=None) -> EmpiricalCurve:
    """Empirical accuracy-vs-alpha curve: per trial draw the source sample (unless `source` is a fixed `w_s`),
    fit the source ridge classifier, draw `target.n` target samples, fine-tune for every alpha and take the exact
    conditional accuracy.

    Args:
        source: a `SourceStats` or a fixed classifier `w_s` (1-D array).
        target: the `TargetStats`. alpha: 1-D array of alphas. trials: number of independent trials (>= 1).
    Returns:
        `EmpiricalCurve(alpha, mean, stderr, per_trial)`; stderr is NaN for a single trial (undefined).
    """
    trials = check_sample_count("trials", trials)
    alpha = np.atleast_1d(check_finite_array("alpha", alpha))
    rng = np.random.default_rng(random_state)
    fixed_w_s = None if isinstance(source, SourceStats) else check_vector("source (the classifier w_s)", source)
    check_same_dimension(source.mean if fixed_w_s is None else fixed_w_s, target)
    per_trial = np.empty((trials, alpha.size))
    for trial in range(trials):
        if fixed_w_s is None:
            w_s = fit_ridge_classifier(*make_mixture(source.n, source.mean, rng), source.gamma)
        else:
            w_s = fixed_w_s
        X, y = make_mixture(target.n, target.mean, rng)
        per_trial[trial] = conditional_accuracy(fit_finetuned(X, y, target.gamma, w_s, alpha), target.mean)
    return summarize(alpha, per_trial)


def make_gaussian_mixture(n_samples: int, mean, cov=None, random_state=None):
    """Draw `x = y * mean + C^{1/2} z`, `z ~ N(0, I_p)`, balanced labels (half +1, half -1, shuffled).

    Args:
        n_samples: number of points. mean: (p,). cov: p x p matrix or `Spectrum` (None: I).
    Returns:
        `(X, y)`: X of shape (n_samples, p), y in {-1, +1} of shape (n_samples,).
    """
    n_samples = check_sample_count("n_samples", n_samples)
    mean = check_vector("mean", mean)
    rng = np.random.default_rng(random_state)
    y = np.where(np.arange(n_samples) < (n_samples + 1) // 2, 1.0, -1.0)
    rng.shuffle(y)
    noise = rng.standard_normal((y.size, mean.size))
    if cov is not None:
        eigenvalues, eigenvectors = check_covariance("cov", cov, mean.size)
        noise = (noise * np.sqrt(eigenvalues)) @ eigenvectors.T
    return y[:, None] * mean + noise, y
