"""rmt_alpha._phase: the phase maps against the scalar API point by point, and the decision values against the
theory's two moments."""

import numpy as np
import pytest
import scipy.stats

from rmt_alpha import SourceStats, TargetStats, margin_moments, optimal_alpha, predicted_accuracy
from rmt_alpha._phase import PhaseMap, phase_map
from rmt_alpha.simulate._decision import decision_values
from tests.conftest import K_SE, check_power
from tests.theory_reference import literal_moments, literal_ridge_source


def _stats(beta, n_over_p, gamma, source_norm=1.5, perp_norm=0.6, source_n_over_p=5.0, source_gamma=1.0, p=400):
    source = SourceStats.from_norm(p, source_norm, int(round(source_n_over_p * p)), source_gamma)
    target = TargetStats.from_alignment(source, beta, perp_norm, int(round(n_over_p * p)), gamma)
    return source, target


def _literal_point(beta, n_over_p, gamma, source_norm, perp_norm, source_n_over_p, source_gamma):
    """alpha* and the accuracies at 0, 1, alpha* transcribed from theory/THEORY.md sections 2 and 3, one point:
    the ridge source's `1 / lam_s` and `|w_s|^2`, `s = beta |mu_s|^2 / lam_s`, `E = e0 + e1 alpha` and
    `E2 = T1 + alpha T2 + alpha^2 T3` (tests/theory_reference.py), `Var = E2 - E^2 = v0 + v1 alpha + v2 alpha^2`
    and `alpha* = (e1 v0 - e0 v1 / 2) / (e0 v2 - e1 v1 / 2)`."""
    m_s = source_norm**2
    inverse_lam, omega = literal_ridge_source(m_s, 1 / source_n_over_p, source_gamma)
    m, s, eta = beta**2 * m_s + perp_norm**2, beta * m_s * inverse_lam, 1 / n_over_p
    (e0, e_one, _), (t1, t_one, t_minus) = literal_moments(m, s, omega, eta, gamma, np.array([0.0, 1.0, -1.0]))
    e1, t2, t3 = e_one - e0, (t_one - t_minus) / 2, (t_one + t_minus) / 2 - t1
    v0, v1, v2 = t1 - e0**2, t2 - 2 * e0 * e1, t3 - e1**2
    best = (e1 * v0 - e0 * v1 / 2) / (e0 * v2 - e1 * v1 / 2)
    alphas = np.array([0.0, 1.0, best])
    return best, scipy.stats.norm.cdf((e0 + e1 * alphas) / np.sqrt(v0 + v1 * alphas + v2 * alphas**2))


@pytest.mark.parametrize("y", ["n_over_p", "gamma"])
def test_phase_grid_matches_a_literal_transcription(y):
    """Every grid point against `_literal_point` (iterated fixed points, the document's T1, T2, T3 and alpha*
    formula, naive subtractions that are safe at these values): 1e-8 relative."""
    beta = np.array([-0.4, 0.1, 0.8, 1.3])
    second = np.array([0.05, 0.25, 1.0, 4.0]) if y == "n_over_p" else np.array([0.05, 1.0, 20.0])
    grid = {"n_over_p": 0.25, "gamma": 1.0, y: second[:, None]}
    fixed = {"source_norm": 1.2, "perp_norm": 0.7, "source_n_over_p": 2.5, "source_gamma": 0.5}
    phase = phase_map(beta[None, :], grid["n_over_p"], grid["gamma"], **fixed)
    for i in range(second.size):
        for j in range(beta.size):
            point = {"n_over_p": 0.25, "gamma": 1.0, y: second[i]}
            best, accuracy = _literal_point(beta[j], point["n_over_p"], point["gamma"], **fixed)
            np.testing.assert_allclose(phase.alpha_star[i, j], best, rtol=1e-8)
            np.testing.assert_allclose([phase.accuracy_zero[i, j], phase.accuracy_one[i, j],
                                        phase.accuracy_star[i, j]], accuracy, rtol=1e-8)


def test_phase_map_reproduces_theory_example():
    # theory/THEORY.md section 3: alpha* = 1.7105, accuracy 0.7551 and 0.8493 at alpha = 0 and 1 (4 printed digits).
    phase = phase_map(0.8, 0.25, 1.0, source_norm=1.5, perp_norm=0.6, source_n_over_p=5.0, source_gamma=1.0)
    assert isinstance(phase, PhaseMap)
    np.testing.assert_allclose([phase.alpha_star, phase.accuracy_zero, phase.accuracy_one],
                               [1.7105, 0.7551, 0.8493], atol=5e-5)


@pytest.mark.parametrize("y", ["n_over_p", "gamma"])
def test_phase_grid_matches_scalar_api_point_by_point(y):
    # The vectorised grid against optimal_alpha / predicted_accuracy on SourceStats/TargetStats built per point
    # (a different code path: mean vectors, source_invariants, _stationary_terms). Same formulas, so only rounding
    # separates them: rtol 1e-10. Grid values are chosen so that n = n_over_p * 400 is a whole number.
    beta = np.array([-0.4, 0.1, 0.8, 1.3])
    second = np.array([0.05, 0.25, 1.0, 4.0]) if y == "n_over_p" else np.array([0.05, 1.0, 20.0])
    grid = {"n_over_p": 0.25, "gamma": 1.0, y: second[:, None]}
    phase = phase_map(beta[None, :], grid["n_over_p"], grid["gamma"], source_norm=1.2, perp_norm=0.7,
                      source_n_over_p=2.5, source_gamma=0.5)
    assert phase.alpha_star.shape == (second.size, beta.size)
    for i in range(second.size):
        for j in range(beta.size):
            point = {"n_over_p": 0.25, "gamma": 1.0, y: second[i]}
            source, target = _stats(beta[j], point["n_over_p"], point["gamma"], source_norm=1.2, perp_norm=0.7,
                                    source_n_over_p=2.5, source_gamma=0.5)
            best = optimal_alpha(source, target)
            np.testing.assert_allclose(phase.alpha_star[i, j], best, rtol=1e-10)
            np.testing.assert_allclose([phase.accuracy_zero[i, j], phase.accuracy_one[i, j], phase.accuracy_star[i, j]],
                                       predicted_accuracy(source, target, [0.0, 1.0, best]), rtol=1e-10)


def test_alpha_star_is_the_best_and_negative_transfer_where_expected():
    beta = np.linspace(-1.0, 2.0, 31)[None, :]
    n_over_p = np.geomspace(0.02, 10.0, 25)[:, None]
    phase = phase_map(beta, n_over_p)
    # alpha* maximises the accuracy, so it is never beaten by alpha = 0 or 1 (up to rounding).
    assert np.all(phase.gain_over_one >= -1e-12)
    assert np.all(phase.accuracy_star >= phase.accuracy_zero - 1e-12)
    # A source anti-aligned with the target (beta < 0) hurts when used with alpha = 1 ...
    assert np.all(phase.one_worse_than_zero[:, beta[0] < 0])
    # ... and a well-aligned source helps with few target samples (theory/THEORY.md's example region).
    assert not phase.one_worse_than_zero[np.argmin(np.abs(n_over_p[:, 0] - 0.25)), np.argmin(np.abs(beta[0] - 0.8))]
    # alpha* has the sign of beta (optimize.py: it has the sign of s).
    assert np.all(np.sign(phase.alpha_star) == np.sign(np.broadcast_to(beta, phase.alpha_star.shape)))


@pytest.mark.parametrize("kwargs, name", [
    (dict(beta=0.0, n_over_p=1.0, perp_norm=0.0), "perp_norm"),
    (dict(beta=0.5, n_over_p=0.0), "n_over_p"),
    (dict(beta=0.5, n_over_p=1.0, perp_norm=-1.0), "perp_norm"),
    (dict(beta=np.nan, n_over_p=1.0), "beta"),
    (dict(beta=0.5, n_over_p=1.0, source_n_over_p=-2.0), "source_n_over_p"),
])
def test_phase_map_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        phase_map(**kwargs)


def test_decision_values_are_affine_in_alpha_and_balanced():
    source, target = _stats(0.8, 0.25, 1.0, p=200)  # the shapes of the next test: one compilation for both
    values = [decision_values(source, target, a, n_test=2000, seed=3) for a in (0.0, 1.0, 2.0)]
    # Same seed: same data and classifier parts, so g(alpha) = t^T x + alpha s^T x exactly (float32 rounding).
    np.testing.assert_allclose(values[2].decision - 2 * values[1].decision + values[0].decision, 0.0, atol=1e-4)
    np.testing.assert_array_equal(values[0].labels, values[2].labels)
    assert values[1].alpha == 1.0 and values[1].decision.shape == (2000,)
    assert set(np.unique(values[1].labels)) == {-1.0, 1.0} and values[1].labels.sum() == 0


def test_decision_values_match_the_predicted_moments():
    # Over 10 independent trials (p = 200, n = 50, N = 1000), the per-trial mean of y g and variance of y g
    # average to E[y g] and Var[g] of margin_moments within K_SE standard errors (the spread over trials covers both
    # the test sampling and the trial-to-trial fluctuation of w; 4 s.e. keeps a false alarm below 1e-4, while the
    # O(1/p) deterministic-equivalent bias is far smaller than one s.e. here). This checks the decision values'
    # plumbing, not the theory (test_simulate.py does that to 1%): power (probability >= 0.9) 4.5% in E[y g],
    # 8% in Var[g].
    source, target = _stats(0.8, 0.25, 1.0, p=200)
    alpha = 1.5
    trials = [decision_values(source, target, alpha, n_test=2000, seed=seed) for seed in range(10)]
    signed = np.array([v.labels * v.decision for v in trials])
    moments = margin_moments(source, target, alpha)
    stderrs = {}
    for name, statistic, predicted in (("mean", signed.mean(axis=1), moments.mean),
                                       ("variance", signed.var(axis=1), moments.variance)):
        stderrs[name] = statistic.std(ddof=1) / np.sqrt(statistic.size)
        assert abs(statistic.mean() - predicted) < K_SE * stderrs[name], (statistic.mean(), predicted, stderrs[name])
    check_power("decision values", moments.mean, moments.variance, **stderrs)


def test_decision_values_rejects_bad_input(example):
    source, target = example
    with pytest.raises(TypeError, match="source"):
        decision_values(target, target, 1.0)
    with pytest.raises(ValueError, match="n_test"):
        decision_values(source, target, 1.0, n_test=1)
    with pytest.raises(ValueError, match="alpha"):
        decision_values(source, target, np.inf)
