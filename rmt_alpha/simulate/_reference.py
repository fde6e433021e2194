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

    The target (or source) task of theory/THEORY.md section 1.

    Args:
        n_samples: number of points (>= 1).
        mean: (p,) the class mean `mu`.
        random_state: None, an int seed or a `np.random.Generator`.

    Returns:
        tuple: `(X, y)`, X of shape (n_samples, p), y of shape (n_samples,) in {-1, +1}.

    Raises:
        ValueError: when `n_samples` is not a positive integer or `mean` is not a finite 1-D array.

    Example:
        >>> X, y = make_mixture(5, np.zeros(3), random_state=0)
        >>> X.shape, int(y.sum())
        ((5, 3), 1)
    """
    n_samples = check_sample_count("n_samples", n_samples)
    mean = check_vector("mean", mean)
    rng = np.random.default_rng(random_state)
    y = np.where(np.arange(n_samples) < (n_samples + 1) // 2, 1.0, -1.0)
    rng.shuffle(y)
    X = y[:, None] * mean[None, :] + rng.standard_normal((n_samples, mean.size))
    return X, y


def fit_ridge_classifier(X, y, gamma: float) -> np.ndarray:
    """The ridge classifier `w = (X^T X / n + gamma I)^-1 X^T y / n` (theory/THEORY.md section 1).

    Args:
        X: (n, p) features.
        y: (n,) labels in {-1, +1}.
        gamma: ridge strength > 0.

    Returns:
        np.ndarray: float64 of shape (p,).

    Raises:
        ValueError: when `gamma` is not positive.

    Example:
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> fit_ridge_classifier(X, np.array([1.0, 1.0, -1.0, -1.0]), 0.5)
        array([0.5, 0.5])
    """
    return fit_finetuned(X, y, gamma, np.zeros(np.shape(X)[1]), 0.0)


def fit_finetuned(X, y, gamma: float, w_s, alpha) -> np.ndarray:
    """The alpha-fine-tuned classifier `w_alpha = Q (X^T y / n + alpha gamma w_s)`, `Q = (X^T X / n + gamma I)^-1`.

    theory/THEORY.md section 1. Affine in alpha: one solve with two right-hand sides serves a whole grid.

    Args:
        X: (n, p) target features.
        y: (n,) target labels in {-1, +1}.
        gamma: fine-tuning ridge strength > 0.
        w_s: (p,) the source classifier.
        alpha: scalar or array of alphas.

    Returns:
        np.ndarray: shape (p,) for a scalar alpha, else alpha.shape + (p,).

    Raises:
        ValueError: when `gamma` is not positive or `alpha` is not finite.

    Example:
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> fit_finetuned(X, np.array([1.0, 1.0, -1.0, -1.0]), 0.5, np.array([1.0, 0.0]), [0.0, 1.0])
        array([[0.5, 0.5],
               [1. , 0.5]])
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
    """Exact test accuracy of `sign(w^T x)` on the mixture with this mean: `Phi(w^T mean / |w|)`.

    Given w, `y g` is Gaussian with mean `w^T mu` and variance `|w|^2` (theory/THEORY.md section 1).

    Args:
        w: (p,) or (..., p) classifiers (last axis).
        mean: (p,) the class mean.

    Returns:
        np.ndarray: the accuracy, shape w.shape[:-1].

    Example:
        >>> float(conditional_accuracy(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
        0.5
    """
    w = np.asarray(w, dtype=np.float64)
    return scipy.special.ndtr(w @ np.asarray(mean) / np.linalg.norm(w, axis=-1))


def monte_carlo_accuracy(source, target: TargetStats, alpha, *, trials: int, random_state=None) -> EmpiricalCurve:
    """Empirical accuracy-vs-alpha curve of the linear model, one p x p solve per trial (theory/THEORY.md section 1).

    Per trial: draw the source sample (unless `source` is a fixed `w_s`), fit the source ridge classifier, draw
    `target.n` target samples, fine-tune for every alpha and take the exact conditional accuracy
    `Phi(w^T mu_t / |w|)`.

    Args:
        source: a `SourceStats`, or a fixed classifier `w_s` (1-D array of length p).
        target: the `TargetStats`.
        alpha: scalar or 1-D array (k,) of alphas.
        trials: number of independent trials (>= 1; keyword-only).
        random_state: None, an int seed or a `np.random.Generator` (keyword-only).

    Returns:
        EmpiricalCurve: `(alpha, mean, stderr, per_trial)`, per_trial of shape (trials, k); stderr is NaN for a
        single trial (undefined).

    Raises:
        ValueError: when `trials` is not a positive integer, `alpha` is not finite or the dimensions differ.

    Example:
        >>> target = TargetStats.from_alignment(SourceStats.from_norm(20, 1.5, 100, 1.0), 0.8, 0.6, 40, 1.0)
        >>> curve = monte_carlo_accuracy(np.ones(20) / 20, target, [0.0, 1.0], trials=3, random_state=0)
        >>> curve.per_trial.shape
        (3, 2)
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
    """Draw `x = y * mean + C^{1/2} z`, `z ~ N(0, I_p)`, with balanced labels (half +1, half -1, shuffled).

    The general-covariance model of theory/THEORY.md section 8.

    Args:
        n_samples: number of points.
        mean: (p,) the class mean.
        cov: (p, p) covariance matrix or a `Spectrum`; None for the identity.
        random_state: None, an int seed or a `np.random.Generator`.

    Returns:
        tuple: `(X, y)`, X of shape (n_samples, p), y of shape (n_samples,) in {-1, +1}.

    Raises:
        ValueError: when `mean` is not a finite 1-D array or `cov` is not a valid p x p covariance.

    Example:
        >>> X, y = make_gaussian_mixture(4, np.zeros(2), cov=np.diag([1.0, 4.0]), random_state=0)
        >>> X.shape
        (4, 2)
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
