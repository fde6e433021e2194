"""The regression variant (theory/THEORY.md section 6): the risk against a literal transcription of the theory
document and against Monte-Carlo, and alpha* against a direct minimisation of the transcribed risk (which never
computes alpha*)."""

import numpy as np
import pytest
import scipy.optimize

from rmt_alpha import regression_optimal_alpha, regression_risk
from tests.conftest import assert_within_standard_errors, detectable_shift, standard_error
from tests.theory_reference import literal_regression_risk


def _monte_carlo_risk(w_t, w_s, sigma, n, gamma, alpha, trials, seed, chunk=50):
    """Per trial (trials, alphas): the test risk E |y - W_alpha x|^2 for white x, exact given X and averaged
    exactly over the label noise E. With Q = (X X^T / n + gamma I)^-1, W_t - W_alpha = gamma (W_t - alpha W_s) Q
    - sigma E X^T Q / n, so the risk given X is

        gamma^2 |(W_t - alpha W_s) Q|_F^2 + sigma^2 d (tr Q - gamma tr Q^2) / n + sigma^2 d

    (E |E X^T Q|_F^2 = d tr(Q X X^T Q) = d n (tr Q - gamma tr Q^2)). Trials are drawn and inverted in batches."""
    rng = np.random.default_rng(seed)
    d, p = w_t.shape
    risks = []
    for start in range(0, trials, chunk):
        X = rng.standard_normal((min(chunk, trials - start), p, n))
        Q = np.linalg.inv(X @ X.transpose(0, 2, 1) / n + gamma * np.eye(p))
        target_part, source_part = w_t @ Q, w_s @ Q
        misfit = target_part[:, None] - alpha[None, :, None, None] * source_part[:, None]
        noise = sigma**2 * d * (np.trace(Q, axis1=1, axis2=2) - gamma * np.sum(Q * Q, axis=(1, 2))) / n
        risks.append(gamma**2 * np.sum(misfit**2, axis=(2, 3)) + noise[:, None] + sigma**2 * d)
    return np.concatenate(risks)


def _maps(p, d, seed):
    rng = np.random.default_rng(seed)
    w_t = rng.standard_normal((d, p)) / np.sqrt(p)
    return w_t, 0.7 * w_t + 0.5 * rng.standard_normal((d, p)) / np.sqrt(p)


def test_risk_equals_the_literal_transcription():
    """theory/THEORY.md section 6 as written (iterated fixed point, traces, no completed square) at 1e-10."""
    w_t, w_s = _maps(50, 4, 0)
    alpha = np.linspace(-2, 3, 11)
    for n, gamma, sigma in [(30, 0.3, 1.0), (200, 2.0, 0.0), (50, 1.0, 0.4)]:
        np.testing.assert_allclose(regression_risk(w_s, w_t, sigma, n, gamma, alpha),
                                   literal_regression_risk(w_t, w_s, sigma, n, gamma, alpha), rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_optimal_alpha_minimises_the_transcribed_risk(seed):
    """Brent's method on the literal risk (which never forms alpha*) agrees with alpha* (about 1 here) to 1e-6:
    the minimum is flat, so its position is only known to about sqrt(machine epsilon); alpha* off by 0.01% fails."""
    rng = np.random.default_rng(seed)
    w_t = rng.standard_normal((4, 50))
    w_s = 0.5 * w_t + 0.5 * rng.standard_normal((4, 50))
    found = scipy.optimize.minimize_scalar(lambda a: literal_regression_risk(w_t, w_s, 1.0, 30, 0.3, a),
                                           bracket=(-5.0, 5.0), tol=1e-12)
    best = regression_optimal_alpha(w_s, w_t)
    assert abs(found.x - best) <= 1e-6
    assert regression_optimal_alpha(np.zeros_like(w_s), w_t) == 0.0


# 100 trials, K_SE standard errors and no slack (the measured gaps are within 1.6 standard errors: the O(1/p)
# finite-size bias, at most 0.6% here, is below the noise). Power, asserted from the trials' own standard errors:
# a relative error in the risk of 0.93% (p = 200, n = 100) or 0.61% (n = 400) is caught with probability >= 0.9
# (before: 20 trials and 1% slack, so nothing below about 3%).
@pytest.mark.parametrize("p, n, gamma", [(200, 100, 0.5), (200, 400, 1.0)])
def test_risk_against_monte_carlo(p, n, gamma):
    w_t, w_s = _maps(p, 3, p + n)
    alpha = np.array([0.0, 0.5, 1.0, 2.0])
    risks = _monte_carlo_risk(w_t, w_s, 0.5, n, gamma, alpha, trials=100, seed=1)
    predicted = regression_risk(w_s, w_t, 0.5, n, gamma, alpha)
    assert_within_standard_errors(predicted, risks, f"risk p={p} n={n}")
    detectable = float(np.min(detectable_shift(standard_error(risks)) / predicted))
    assert detectable <= 0.01, f"detects a relative error in the risk of {detectable:.4f} only"


def test_risk_broadcasts_and_rejects_bad_input():
    w = np.ones((2, 5))
    assert regression_risk(w, w, 0.1, 10, np.array([[0.5], [1.0]]), np.array([0.0, 1.0, 2.0])).shape == (2, 3)
    with pytest.raises(ValueError, match="source_weights must have the shape"):
        regression_risk(np.ones((3, 5)), w, 0.1, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="noise_std"):
        regression_risk(w, w, -1.0, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        regression_risk(w, w, 0.1, 10, 0.0, 1.0)
    with pytest.raises(ValueError, match="^n must be a whole number"):
        regression_risk(w, w, 0.1, 0, 1.0, 1.0)
    with pytest.raises(ValueError, match="^source_weights "):
        regression_risk(np.full((2, 5), np.nan), w, 0.1, 10, 1.0, 1.0)
