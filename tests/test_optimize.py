"""alpha*, alpha_bar, gamma* and the joint optimum against dense grids and scipy.optimize."""

import math

import numpy as np
import pytest
import scipy.optimize

from rmt_alpha import (
    SourceStats,
    TargetStats,
    alpha_bar,
    optimal_alpha,
    optimal_alpha_gamma,
    optimal_gamma,
    predicted_accuracy,
)
from rmt_alpha._problem import argmax_from_stationary

CONFIGS = [
    (400, 2000, 100, 1.5, 0.8, 0.6, 1.0, 1.0),   # theory/THEORY.md's example
    (200, 400, 400, 1.0, 0.3, 1.2, 0.5, 0.2),    # eta < 1, weak alignment
    (300, 3000, 30, 2.0, -0.7, 0.5, 2.0, 3.0),   # eta = 10, negative beta: alpha* < 0
    (100, 50, 20, 0.5, 1.5, 0.1, 0.1, 0.01),     # small gammas, a source weaker than its target
]


def _pair(config):
    p, big_n, n, source_norm, beta, perp_norm, gamma_s, gamma = config
    source = SourceStats.from_norm(p, source_norm, big_n, gamma_s)
    return source, TargetStats.from_alignment(source, beta, perp_norm, n, gamma)


@pytest.mark.parametrize("config", CONFIGS)
def test_alpha_star_is_the_argmax_of_a_grid_and_of_scipy(config):
    source, target = _pair(config)
    best = optimal_alpha(source, target)
    grid = np.linspace(best - 5, best + 5, 200_001)  # spacing 5e-5
    accuracy = predicted_accuracy(source, target, grid)
    assert abs(grid[np.argmax(accuracy)] - best) <= 1e-4
    found = scipy.optimize.minimize_scalar(lambda a: -predicted_accuracy(source, target, a),
                                           bracket=(best - 1, best + 1), tol=1e-12)
    # The accuracy is flat at its maximum: compare values tightly and positions to the curvature's precision.
    assert predicted_accuracy(source, target, best) >= -found.fun - 1e-12
    assert abs(found.x - best) < 1e-4


def test_negative_alignment_gives_negative_alpha_star():
    source, target = _pair(CONFIGS[2])
    assert optimal_alpha(source, target) < 0


@pytest.mark.parametrize("config", CONFIGS)
def test_alpha_bar_is_where_accuracy_is_one_half(config):
    source, target = _pair(config)
    np.testing.assert_allclose(predicted_accuracy(source, target, alpha_bar(source, target)), 0.5, atol=1e-12)


def test_degenerate_source_orthogonal_to_target():
    """s = <w_s, mu_t> = 0: alpha only adds variance, so alpha* = 0 and alpha_bar does not exist."""
    target = TargetStats(np.array([1.0, 0.0, 0.0]), n=3, gamma=1.0)
    w_s = np.array([0.0, 2.0, 0.0])
    assert optimal_alpha(w_s, target) == 0.0
    assert alpha_bar(w_s, target) == math.inf
    accuracy = predicted_accuracy(w_s, target, np.linspace(-3, 3, 61))
    assert np.argmax(accuracy) == 30


def test_degenerate_zero_source_and_zero_target_mean():
    """w_s = 0: alpha is irrelevant; mu_t = 0: every classifier is at chance. alpha* = 0, no NaN."""
    target = TargetStats(np.array([1.0, 0.0]), n=4, gamma=1.0)
    assert optimal_alpha(np.zeros(2), target) == 0.0
    np.testing.assert_allclose(predicted_accuracy(np.zeros(2), target, [-2.0, 0.0, 5.0]),
                               predicted_accuracy(np.zeros(2), target, 0.0), rtol=1e-15)
    chance = TargetStats(np.zeros(2), n=4, gamma=1.0)
    assert optimal_alpha(np.array([1.0, 1.0]), chance) == 0.0
    np.testing.assert_allclose(predicted_accuracy(np.array([1.0, 1.0]), chance, [0.0, 3.0]), 0.5)


def test_argmax_from_stationary_against_grids():
    """For random ratios r = (e0 + e1 a) / sqrt(v0 + v1 a + v2 a^2) (both signs of den), the returned alpha is
    the grid maximiser, or +-inf exactly when the grid maximiser sits on the grid's edge in that direction."""
    rng = np.random.default_rng(0)
    grid = np.linspace(-200, 200, 400_001)
    for _ in range(50):
        e0, e1 = rng.normal(size=2)
        v0, v2 = rng.uniform(0.1, 2, size=2)
        v1 = rng.uniform(-1.9, 1.9) * np.sqrt(v0 * v2)  # keeps the quadratic positive
        ratio = (e0 + e1 * grid) / np.sqrt(v0 + v1 * grid + v2 * grid**2)
        best = argmax_from_stationary(e1 * v0 - e0 * v1 / 2, e0 * v2 - e1 * v1 / 2, e1)
        if np.isfinite(best):
            if abs(best) < 150:
                assert abs(grid[np.argmax(ratio)] - best) < 2e-3
        else:
            edge = grid[-1] if best > 0 else grid[0]
            # the supremum is approached at the edge: no interior point beats it
            assert ratio.max() <= (e0 + e1 * edge) / np.sqrt(v0 + v1 * edge + v2 * edge**2) + 1e-12


def test_alpha_star_vectorised_over_gamma(example):
    source, target = example
    gammas = np.array([0.1, 1.0, 10.0])
    vector = optimal_alpha(source, target, gamma=gammas)
    loop = [optimal_alpha(source, TargetStats(target.mean, target.n, g)) for g in gammas]
    np.testing.assert_allclose(vector, loop, rtol=1e-14)


def test_optimal_gamma_against_grid(example):
    source, target = example
    result = optimal_gamma(source, target, alpha=1.0)
    grid = np.geomspace(1e-3, 1e4, 20001)
    accuracy = predicted_accuracy(source, target, 1.0, gamma=grid)
    assert result.accuracy >= accuracy.max() - 1e-12
    assert abs(np.log(result.gamma) - np.log(grid[np.argmax(accuracy)])) < 2e-3


@pytest.mark.parametrize("config", CONFIGS[:2])
def test_joint_optimum_against_two_dimensional_grid(config):
    """Within a search range, the joint optimum beats every point of a dense (alpha, gamma) grid over it. White
    noise pushes gamma to the range's upper edge (see optimal_alpha_gamma), which the search reports."""
    source, target = _pair(config)
    with pytest.warns(RuntimeWarning, match="edge of search_range"):
        joint = optimal_alpha_gamma(source, target, search_range=(1e-2, 1e2))
    assert joint.gamma == pytest.approx(1e2)
    alphas = np.linspace(-3, 5, 1601)[:, None]
    gammas = np.geomspace(1e-2, 1e2, 801)[None, :]
    grid = predicted_accuracy(source, target, alphas, gamma=gammas)
    assert joint.accuracy >= grid.max() - 1e-12
    np.testing.assert_allclose(joint.alpha, optimal_alpha(source, target, gamma=joint.gamma), rtol=1e-12)


def test_joint_optimum_on_the_edge_warns(example):
    """With white noise, gamma -> infinity (the mean-difference classifier plus a multiple of w_s) is best."""
    source, target = example
    with pytest.warns(RuntimeWarning, match="edge of search_range"):
        joint = optimal_alpha_gamma(source, target)
    assert joint.gamma == pytest.approx(1e6)
    assert joint.accuracy > predicted_accuracy(source, target, optimal_alpha(source, target))


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_alpha_star_and_alpha_bar_of_a_scaled_classifier_scale_inversely(example, scale):
    """alpha* and alpha_bar of `scale w_s` are those of w_s divided by scale (only alpha w_s matters), to 1e-12,
    where |w_s|^2 underflows (1e-400) or overflows (1e400); with and without a target covariance."""
    _, target = example
    w_s = np.random.default_rng(17).standard_normal(target.p) / np.sqrt(target.p) + target.mean / 3
    for tgt in (target, TargetStats(target.mean, target.n, target.gamma, cov=np.diag(np.linspace(0.5, 2, target.p)))):
        assert optimal_alpha(scale * w_s, tgt) * scale == pytest.approx(optimal_alpha(w_s, tgt), rel=1e-12)
        assert alpha_bar(scale * w_s, tgt) * scale == pytest.approx(alpha_bar(w_s, tgt), rel=1e-12)
        assert np.isfinite(optimal_alpha(scale * w_s, tgt))


def test_optimal_gamma_takes_one_alpha(example):
    with pytest.raises(ValueError, match=r"alpha must be a single number .* got an array of shape \(2,\)"):
        optimal_gamma(*example, alpha=[1.0, 2.0])


def test_optimal_gamma_names_a_bad_alpha(example):
    with pytest.raises(ValueError, match="^alpha "):
        optimal_gamma(*example, alpha=np.nan)


def test_gamma_search_range_validated(example):
    source, target = example
    with pytest.raises(ValueError, match="search_range"):
        optimal_gamma(source, target, 1.0, search_range=(10.0, 1.0))
    with pytest.raises(ValueError, match="search_range"):
        optimal_gamma(source, target, 1.0, search_range=(0.0, 1.0))


def test_alpha_bar_broadcasts_when_the_source_is_orthogonal():
    target = TargetStats(np.array([1.0, 0.0]), n=4, gamma=1.0)
    values = alpha_bar(np.array([0.0, 1.0]), target, gamma=np.array([0.5, 1.0, 2.0]))
    assert values.shape == (3,) and np.all(np.isinf(values))
    with pytest.raises(ValueError, match="search_range must be a pair"):
        optimal_gamma(np.array([1.0, 0.0]), target, 1.0, search_range=(1.0, 2.0, 3.0))
