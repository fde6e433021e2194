"""The prepared problem: its methods against the free functions, batches against loops, jit and grad against
numpy and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmt_alpha import (
    CovarianceProblem,
    IsotropicProblem,
    SourceStats,
    TargetStats,
    alpha_bar,
    margin_moments,
    optimal_alpha,
    optimal_gamma,
    predicted_accuracy,
    prepare,
)

ALPHAS = np.array([-1.0, 0.0, 0.5, 1.0, 3.0])


def _pair(p=200, n=50, cov=False, seed=0):
    rng = np.random.default_rng(seed)
    source = SourceStats.from_norm(p, 1.5, 4 * p, 1.0)
    target = TargetStats.from_alignment(source, 0.8, 0.6, n, 1.0)
    if cov:
        basis, _ = np.linalg.qr(rng.standard_normal((p, p)))
        spectrum = np.linspace(0.3, 2.5, p)
        target = TargetStats(target.mean, n, 1.0, cov=(basis * spectrum) @ basis.T)
    return source, target


@pytest.mark.parametrize("cov", [False, True])
def test_methods_equal_the_free_functions(cov):
    # the free functions call the methods: identical floats (1e-12 allows for nothing but rounding)
    source, target = _pair(cov=cov)
    problem = prepare(source, target)
    assert isinstance(problem, CovarianceProblem if cov else IsotropicProblem)
    np.testing.assert_allclose(problem.predicted_accuracy(ALPHAS), predicted_accuracy(source, target, ALPHAS),
                               rtol=1e-12)
    np.testing.assert_allclose(problem.margin_moments(ALPHAS).variance,
                               margin_moments(source, target, ALPHAS).variance, rtol=1e-12)
    assert problem.optimal_alpha() == pytest.approx(optimal_alpha(source, target), rel=1e-12)
    assert problem.alpha_bar() == pytest.approx(alpha_bar(source, target), rel=1e-12)
    assert problem.optimal_gamma(1.0).gamma == pytest.approx(optimal_gamma(source, target, 1.0).gamma, rel=1e-9)


def test_isotropic_coefficients_reproduce_the_closed_form_moments():
    # e0 + e1 alpha and v0 + v1 alpha + v2 alpha^2 against theory/THEORY.md section 2's T1, T2, T3 written out
    source, target = _pair()
    w_s = np.random.default_rng(1).standard_normal(target.p) / 20
    problem = IsotropicProblem.from_stats(w_s, target)
    m, eta, gamma = target.mean_norm_sq, target.eta, target.gamma
    s, omega = float(w_s @ target.mean), float(w_s @ w_s)
    b = 1 + gamma - eta
    delta = (-b + np.sqrt(b * b + 4 * gamma * eta)) / (2 * gamma)
    kappa = gamma * (1 + delta)
    lam, h = m + 1 + kappa, 1 - eta / (1 + kappa) ** 2
    t1 = (m * ((m + 1) / lam - 2 * (1 - h)) / lam + (1 - h)) / h
    t2 = 2 * kappa * s * ((m + 1) / lam - (1 - h)) / (h * lam)
    t3 = kappa**2 * ((s / lam) ** 2 + (1 - h) * omega / eta + (1 - h) * s**2 * (m / lam - 2) / (eta * lam)) / h
    mean = (m + ALPHAS * kappa * s) / lam
    moments = problem.margin_moments(ALPHAS)
    np.testing.assert_allclose(moments.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(moments.second_moment, t1 + ALPHAS * t2 + ALPHAS**2 * t3, rtol=1e-10)


def test_a_batch_of_invariants_equals_a_loop():
    rng = np.random.default_rng(2)
    m = rng.uniform(0.5, 3.0, 64)
    omega = rng.uniform(0.05, 0.5, 64)
    s = rng.uniform(-0.9, 0.9, 64) * np.sqrt(m * omega)
    batch = IsotropicProblem.from_invariants(m, s, omega, eta=4.0, gamma=1.0)
    looped = [IsotropicProblem.from_invariants(m[i], s[i], omega[i], eta=4.0, gamma=1.0) for i in range(64)]
    np.testing.assert_allclose(batch.optimal_alpha(), [p.optimal_alpha() for p in looped], rtol=1e-12)
    np.testing.assert_allclose(batch.alpha_bar(), [p.alpha_bar() for p in looped], rtol=1e-12)
    curves = IsotropicProblem(*(np.asarray(f)[..., None] for f in batch)).predicted_accuracy(ALPHAS)
    np.testing.assert_allclose(curves, [p.predicted_accuracy(ALPHAS) for p in looped], rtol=1e-12)


def test_a_batch_refuses_the_single_problem_searches_by_name():
    batch = IsotropicProblem.from_invariants(np.array([1.0, 2.0]), 0.5, 0.3, eta=4.0, gamma=1.0)
    with pytest.raises(ValueError, match=r"^optimal_gamma needs a single problem, got a batch of shape \(2,\)"):
        batch.optimal_gamma(1.0)
    with pytest.raises(ValueError, match=r"^optimal_alpha_gamma needs a single problem"):
        batch.optimal_alpha_gamma()


def test_a_batch_of_target_means_with_one_covariance_equals_a_loop():
    source, target = _pair(p=80, n=30, cov=True)
    means = target.mean + np.random.default_rng(3).standard_normal((5, 80)) * 0.1
    batch = CovarianceProblem(source, target).with_target_means(means)
    single = [CovarianceProblem(source, TargetStats(mean, 30, 1.0, cov=target.cov)) for mean in means]
    np.testing.assert_allclose(batch.optimal_alpha(), [p.optimal_alpha() for p in single], rtol=1e-10)
    np.testing.assert_allclose(batch.alpha_bar(), [p.alpha_bar() for p in single], rtol=1e-10)


def test_jit_and_vmap_give_the_numpy_values():
    source, target = _pair()
    problem = prepare(source, target)
    with jax.enable_x64(True):
        traced = IsotropicProblem(*(jnp.asarray(field, dtype=jnp.float64) for field in problem))
        alpha = jax.jit(lambda pr: pr.optimal_alpha())(traced)
        curve = jax.jit(lambda pr, a: pr.predicted_accuracy(a))(traced, jnp.asarray(ALPHAS))
        many = IsotropicProblem(*(jnp.full(3, field) for field in traced))._replace(m=jnp.array([1.0, 1.5, 2.0]))
        vmapped = jax.vmap(lambda pr: pr.optimal_alpha())(many)
    # jit vs eager in float64: rounding only
    assert float(alpha) == pytest.approx(problem.optimal_alpha(), rel=1e-12)
    np.testing.assert_allclose(np.asarray(curve), problem.predicted_accuracy(ALPHAS), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(vmapped), [problem._replace(m=m).optimal_alpha() for m in (1.0, 1.5, 2.0)],
                               rtol=1e-12)


def test_gradients_match_finite_differences():
    source, target = _pair()
    problem = prepare(source, target)
    with jax.enable_x64(True):
        traced = IsotropicProblem(*(jnp.asarray(field, dtype=jnp.float64) for field in problem))
        d_alpha_d_m = jax.grad(lambda m: traced._replace(m=m).optimal_alpha())(traced.m)
        d_acc_d_alpha = jax.grad(lambda a: traced.predicted_accuracy(a))(jnp.float64(0.7))
    step = 1e-6  # central differences: error O(step^2) ~ 1e-12, rounding ~ 1e-16 / step ~ 1e-10
    fd_m = (problem._replace(m=problem.m + step).optimal_alpha()
            - problem._replace(m=problem.m - step).optimal_alpha()) / (2 * step)
    fd_alpha = (problem.predicted_accuracy(0.7 + step) - problem.predicted_accuracy(0.7 - step)) / (2 * step)
    assert float(d_alpha_d_m) == pytest.approx(fd_m, rel=1e-6)
    assert float(d_acc_d_alpha) == pytest.approx(fd_alpha, rel=1e-6)


def test_bad_invariants_are_refused_with_their_name():
    with pytest.raises(ValueError, match="m = "):
        IsotropicProblem.from_invariants(m=0.0, s=0.1, omega=1.0, eta=1.0, gamma=1.0)
    with pytest.raises(ValueError, match="Cauchy-Schwarz"):
        IsotropicProblem.from_invariants(m=1.0, s=2.0, omega=1.0, eta=1.0, gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        IsotropicProblem.from_invariants(m=1.0, s=0.5, omega=1.0, eta=1.0, gamma=1.0).optimal_alpha(-1.0)
    with pytest.raises(ValueError, match="single problem"):
        IsotropicProblem.from_invariants(m=np.array([1.0, 2.0]), s=0.5, omega=1.0, eta=1.0, gamma=1.0).optimal_gamma()
