"""Estimators of theory/THEORY.md sections 5 and 8: unbiasedness on synthetic data, against independent references.

Unbiasedness is checked over R independent replicates: |mean(estimate) - truth| < K standard errors of that mean
(K = 4: a two-sided normal tail of 6e-5 per check, so the tests do not flake, while a bias of the size of the naive
estimator's (tr(C) / n) sits tens of standard errors away, as the tests show).
"""

import numpy as np
import pytest
import scipy.special

from rmt_alpha._estimation import (
    bootstrap_weights,
    estimate_alignment,
    estimate_from_pool,
    estimate_invariants,
    fit_labeller,
    pair_statistics,
    target_covariance,
    target_stats_from_invariants,
)
from rmt_alpha.simulate._reference import make_gaussian_mixture

K = 4.0


@pytest.fixture
def anisotropic():
    """p = 60, |mu|^2 = 1.44, a covariance with eigenvalues from 0.2 to 3 in a random basis, and a w_s."""
    rng = np.random.default_rng(11)
    p = 60
    mu = rng.standard_normal(p)
    mu *= 1.2 / np.linalg.norm(mu)
    basis, _ = np.linalg.qr(rng.standard_normal((p, p)))
    cov = (basis * np.geomspace(0.2, 3.0, p)) @ basis.T
    w_s = 0.3 * mu + 0.1 * rng.standard_normal(p)
    return mu, cov, w_s


def _replicates(mu, cov, n, reps, seed):
    """reps independent draws of n points of `x = y mu + C^{1/2} z` (random +-1 labels), vectorised."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1.0, 1.0], size=(reps, n))
    noise = rng.standard_normal((reps, n, mu.size)) @ np.linalg.cholesky(cov).T
    return y[..., None] * mu + noise, y


def _within(estimates, truth):
    se = estimates.std(ddof=1) / np.sqrt(estimates.size)
    return abs(estimates.mean() - truth) < K * se, (estimates.mean(), truth, se)


def test_s_and_m_estimators_are_unbiased_and_the_naive_norm_is_not(anisotropic):
    mu, cov, w_s = anisotropic
    X, y = _replicates(mu, cov, n=10, reps=3000, seed=0)
    estimate = estimate_invariants(w_s, X, y)
    ok, info = _within(estimate.s, w_s @ mu)
    assert ok, info
    ok, info = _within(estimate.m, mu @ mu)
    assert ok, info
    naive = np.einsum("ri,ri->r", (y[..., None] * X).mean(1), (y[..., None] * X).mean(1))
    ok, info = _within(naive - np.trace(cov) / 10, mu @ mu)  # the naive norm is off by exactly tr(C) / n
    assert ok, info
    assert abs(naive.mean() - mu @ mu) > 20 * naive.std(ddof=1) / np.sqrt(naive.size)
    assert estimate.omega == pytest.approx(w_s @ w_s) and estimate.n == 10


def test_pair_statistics_against_a_double_loop():
    Z = np.random.default_rng(2).standard_normal((7, 5))
    pairs = sum(Z[i] @ Z[j] for i in range(7) for j in range(7) if i != j) / (7 * 6)
    mean, u = pair_statistics(Z)
    assert u == pytest.approx(pairs, rel=1e-12)
    np.testing.assert_allclose(mean, Z.mean(0), rtol=1e-12)


def test_pool_estimator_matches_the_pseudo_label_relation(anisotropic):
    """For a labeller independent of the pool, E[y_hat u] = (2 Phi(r) - 1) mu + 2 phi(r) C w / sigma (the module
    docstring); the pool's s is unbiased for <w_s, E[y_hat u]> and its m for |E[y_hat u]|^2."""
    mu, cov, w_s = anisotropic
    rng = np.random.default_rng(5)
    labeller = mu + 0.15 * rng.standard_normal(mu.size)
    sigma = np.sqrt(labeller @ cov @ labeller)
    r = labeller @ mu / sigma
    expected = ((2 * scipy.special.ndtr(r) - 1) * mu
                + 2 * np.exp(-r * r / 2) / np.sqrt(2 * np.pi) * cov @ labeller / sigma)
    U, _ = _replicates(mu, cov, n=40, reps=2000, seed=100)
    found = estimate_from_pool(U, np.broadcast_to(labeller, (2000, mu.size)), w_s)
    ok, info = _within(found.s, w_s @ expected)
    assert ok, info
    ok, info = _within(found.m, expected @ expected)
    assert ok, info
    assert abs(found.s.mean() - w_s @ mu) > 10 * found.s.std(ddof=1) / np.sqrt(2000)  # the labeller's bias is real
    np.testing.assert_allclose(np.einsum("ri,ri->r", found.mean, found.mean)[found.m > 0], found.m[found.m > 0],
                               rtol=1e-10)  # the returned mean carries the unbiased norm


def test_invariants_are_reproduced_and_clipped(anisotropic):
    _, _, w_s = anisotropic
    target = target_stats_from_invariants(w_s, 0.2, 1.5, 20, 1.0)
    assert target.mean @ w_s == pytest.approx(0.2, rel=1e-12)
    assert target.mean_norm_sq == pytest.approx(1.5, rel=1e-12)
    clipped = target_stats_from_invariants(w_s, 0.2, -0.3, 20, 1.0)  # m below s^2 / |w_s|^2: along w_s
    assert clipped.mean_norm_sq == pytest.approx(0.04 / (w_s @ w_s), rel=1e-12)
    with pytest.raises(ValueError, match="s and m must be finite"):
        target_stats_from_invariants(w_s, np.nan, 1.0, 20, 1.0)
    with pytest.raises(ValueError, match="^w_s "):
        target_stats_from_invariants(np.r_[w_s[:-1], np.nan], 0.2, 1.5, 20, 1.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="X must have shape"):
        estimate_invariants(np.ones(4), np.zeros((1, 4)), np.ones(1))
    with pytest.raises(ValueError, match="w_s must have length 4"):
        estimate_invariants(np.ones(5), np.zeros((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match=r"labeller_w must have shape \(4,\)"):
        estimate_from_pool(np.zeros((3, 4)), np.ones(5), np.ones(4))


def test_deprecated_estimate_alignment_is_estimate_invariants(anisotropic):
    mu, cov, w_s = anisotropic
    X, y = _replicates(mu, cov, n=12, reps=1, seed=3)
    with pytest.warns(DeprecationWarning, match="estimate_invariants"):
        old = estimate_alignment(X[0], y[0], w_s)
    new = estimate_invariants(w_s, X[0], y[0])
    for got, expected in zip(old, new):
        np.testing.assert_array_equal(got, expected)


def test_weighted_pair_statistics_are_the_u_statistic_over_distinct_rows():
    rng = np.random.default_rng(15)
    Z = rng.standard_normal((7, 5))
    mean, pairs = pair_statistics(Z, np.ones((1, 7)))
    reference_pairs = sum(Z[i] @ Z[j] for i in range(7) for j in range(7) if i != j) / (7 * 6)
    np.testing.assert_allclose(mean[0], Z.mean(0), rtol=1e-12)
    assert pairs[0] == pytest.approx(reference_pairs, rel=1e-12)
    counts = np.array([[2.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0]])   # a bootstrap draw with ties
    expanded = np.repeat(np.arange(7), counts[0].astype(int))
    distinct = [Z[i] @ Z[j] for a, i in enumerate(expanded) for b, j in enumerate(expanded) if i != j]
    assert pair_statistics(Z, counts)[1][0] == pytest.approx(np.sum(distinct) / (8 * 8 - np.sum(counts**2)),
                                                             rel=1e-12)


def test_the_weighted_labeller_is_the_ridge_on_the_repeated_rows():
    rng = np.random.default_rng(16)
    X, y, v = rng.standard_normal((9, 30)), np.repeat([1.0, -1.0], [5, 4]), rng.standard_normal(30)
    counts = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 0, 1, 1, 1, 0, 3, 0, 1]], dtype=float)
    labeller = fit_labeller(X, y, v, 0.7, counts)
    for row, weights in enumerate(counts):
        rows = np.repeat(np.arange(9), weights.astype(int))
        Xr, yr = X[rows], y[rows]
        Q = np.linalg.inv(Xr.T @ Xr / rows.size + 0.7 * np.eye(30))
        for alpha in (0.0, 1.7):
            direct = Q @ (Xr.T @ yr / rows.size + alpha * 0.7 * v)
            dual = X.T @ (labeller.a[row] - alpha * labeller.c[row]) + alpha * v
            np.testing.assert_allclose(dual, direct, rtol=1e-9, atol=1e-12)


def test_the_pool_covariance_has_its_rank_one_bias_removed():
    # the unlabelled scatter estimates C + mu mu^T; with the true |mu|^2 and direction removed, C is recovered along mu
    p = 20
    mu = 1.5 * np.eye(p)[0]
    X, y = make_gaussian_mixture(40, mu, random_state=18)
    U = make_gaussian_mixture(20_000, mu, random_state=19)[0]
    estimate = target_covariance(X, y, (y[:, None] * X).mean(0), U, mu @ mu, np.eye(p)[0]).matrix()
    naive = U.T @ U / U.shape[0]
    assert naive[0, 0] == pytest.approx(1 + 2.25, abs=0.1)        # the bias the estimator removes
    # 20,000 rows: each entry has a standard error of about 0.007-0.02; 0.06 is over 3 of them
    np.testing.assert_allclose(estimate, np.eye(p), atol=0.06)


def test_bootstrap_weights_keep_both_classes_and_their_sizes():
    y = np.repeat([1.0, -1.0], [3, 5])
    weights = bootstrap_weights(y, 10, 50, np.random.default_rng(20))
    assert np.all(weights.labelled[0] == 1) and np.all(weights.unlabelled[0] == 1)
    np.testing.assert_array_equal(weights.labelled[:, y > 0].sum(1), 3)
    np.testing.assert_array_equal(weights.labelled[:, y < 0].sum(1), 5)
    np.testing.assert_array_equal(weights.unlabelled.sum(1), 10)
