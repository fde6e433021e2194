"""The regression variant (theory/THEORY.md section 6) against Monte-Carlo and its alpha* against a grid."""

import numpy as np
import pytest

from rmt_alpha import regression_optimal_alpha, regression_risk


def _monte_carlo_risk(w_t, w_s, sigma, n, gamma, alpha, trials, seed):
    """Exact conditional test risk |W_t - W_alpha|_F^2 + sigma^2 d for white x, per trial."""
    rng = np.random.default_rng(seed)
    d, p = w_t.shape
    risks = np.empty((trials, alpha.size))
    for trial in range(trials):
        X = rng.standard_normal((p, n))
        Y = w_t @ X + sigma * rng.standard_normal((d, n))
        Q = np.linalg.inv(X @ X.T / n + gamma * np.eye(p))
        data_part, source_part = Y @ X.T / n @ Q, gamma * w_s @ Q
        for k, a in enumerate(alpha):
            risks[trial, k] = np.sum((w_t - data_part - a * source_part) ** 2) + sigma**2 * d
    return risks


@pytest.mark.parametrize("p, n, gamma", [(200, 100, 0.5), (200, 400, 1.0)])
def test_risk_against_monte_carlo(p, n, gamma):
    """Within 4 standard errors plus 1% (theory/THEORY.md measured about 0.5% at these sizes)."""
    rng = np.random.default_rng(p + n)
    d = 3
    w_t = rng.standard_normal((d, p)) / np.sqrt(p)
    w_s = 0.7 * w_t + 0.5 * rng.standard_normal((d, p)) / np.sqrt(p)
    alpha = np.array([0.0, 0.5, 1.0, 2.0])
    risks = _monte_carlo_risk(w_t, w_s, 0.5, n, gamma, alpha, trials=20, seed=1)
    predicted = regression_risk(w_s, w_t, 0.5, n, gamma, alpha)
    stderr = risks.std(axis=0, ddof=1) / np.sqrt(risks.shape[0])
    assert np.all(np.abs(risks.mean(axis=0) - predicted) <= 4 * stderr + 0.01 * predicted)


def test_optimal_alpha_minimises_risk_on_grid():
    rng = np.random.default_rng(0)
    w_t, w_s = rng.standard_normal((2, 4, 50))
    best = regression_optimal_alpha(w_s, w_t)
    grid = np.linspace(best - 2, best + 2, 40001)
    risk = regression_risk(w_s, w_t, 1.0, 30, 0.3, grid)
    assert abs(grid[np.argmin(risk)] - best) <= 1e-4
    assert regression_optimal_alpha(np.zeros_like(w_s), w_t) == 0.0


def test_risk_broadcasts_and_rejects_bad_input():
    w = np.ones((2, 5))
    assert regression_risk(w, w, 0.1, 10, np.array([[0.5], [1.0]]), np.array([0.0, 1.0, 2.0])).shape == (2, 3)
    with pytest.raises(ValueError, match="source_weights must have the shape"):
        regression_risk(np.ones((3, 5)), w, 0.1, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="noise_std"):
        regression_risk(w, w, -1.0, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        regression_risk(w, w, 0.1, 10, 0.0, 1.0)
