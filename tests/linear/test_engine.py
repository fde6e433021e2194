"""The fitting engine for given arrays (rmt_alpha.linear) against the plain numpy reference on the same arrays.

Tolerances: same arithmetic in another form (affine shortcut vs direct solve, JAX vs numpy, float64): 1e-9
relative, a few thousand ulps of float64 for systems with condition number below 1e3; float32 against float64 on
the same arrays: 1e-4 absolute in accuracy (float32 epsilon 1.2e-7 times a condition number below 1e3).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmt_alpha import linear
from rmt_alpha.simulate import _reference as reference

ALPHA = np.array([-1.0, 0.0, 1.0, 2.0, 4.0])


def _given_w_s(p: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    w_s = 0.3 * rng.standard_normal(p) / np.sqrt(p)
    w_s[0] += 0.5
    return w_s


@pytest.mark.parametrize("n", [300, 40], ids=["primal p<=n", "dual p>n"])
def test_fit_ridge_matches_numpy_reference(n):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((n, 120)), rng.choice([-1.0, 1.0], size=n)
    np.testing.assert_allclose(linear.fit_ridge(X, y, 0.7), reference.fit_ridge_classifier(X, y, 0.7),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(linear.fit_ridge(X, (y + 1) / 2, 0.7), linear.fit_ridge(X, y, 0.7), rtol=1e-12)


@pytest.mark.parametrize("arguments, message", [
    ((np.ones((4, 3)), [1, -1, 1], 1.0), r"X must have shape \(n, p\) and y \(n,\), got \(4, 3\) and \(3,\)"),
    ((np.ones((4, 3)), [1, -1, 2, 1], 1.0), r"y must hold labels in \{-1, \+1\} or \{0, 1\}"),
    ((np.ones((4, 3)), [1, -1, 1, -1], 0.0), "gamma must be a finite number > 0, got 0.0"),
    ((np.full((4, 3), np.nan), [1, -1, 1, -1], 1.0), "X must not contain NaN"),
])
def test_fit_ridge_rejects_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        linear.fit_ridge(*arguments)


@pytest.mark.parametrize("n", [300, 60], ids=["primal p<=n", "dual p>n"])
def test_affine_shortcut_matches_direct_solve_per_alpha(n):
    rng = np.random.default_rng(0)
    p, gamma = 120, 0.7
    X, y = reference.make_mixture(n, rng.standard_normal(p) / 5, rng)
    w_s = rng.standard_normal(p) / np.sqrt(p)
    with jax.enable_x64(True):
        fine = linear.fit_affine(jnp.asarray(w_s), jnp.asarray(X), jnp.asarray(y), gamma)
        shortcut = np.asarray(fine.at(jnp.asarray(ALPHA)))
        gram = X.T @ X / n + gamma * np.eye(p)
        direct = np.stack([np.asarray(jnp.linalg.solve(gram, X.T @ y / n + a * gamma * w_s)) for a in ALPHA])
    np.testing.assert_allclose(shortcut, direct, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [300, 60], ids=["primal p<=n", "dual p>n"])
def test_engine_matches_numpy_reference_on_same_arrays(n):
    rng = np.random.default_rng(1)
    mean = np.r_[1.0, 0.5, np.zeros(118)]
    X, y = reference.make_mixture(n, mean, rng)
    Xs, ys = reference.make_mixture(90, mean, rng)
    with jax.enable_x64(True):
        w_s = np.asarray(linear.ridge_classifier(jnp.asarray(Xs), jnp.asarray(ys), 0.5))
        np.testing.assert_allclose(w_s, reference.fit_ridge_classifier(Xs, ys, 0.5), rtol=1e-9, atol=1e-12)
        fine = linear.fit_affine(jnp.asarray(w_s), jnp.asarray(X), jnp.asarray(y), 2.0)
        expected_w = reference.fit_finetuned(X, y, 2.0, w_s, ALPHA)
        np.testing.assert_allclose(np.asarray(fine.at(jnp.asarray(ALPHA))), expected_w, rtol=1e-9, atol=1e-12)
        scores = linear.exact_scores(fine, jnp.asarray(mean), jnp.asarray(ALPHA))
    np.testing.assert_allclose(scores.accuracy, reference.conditional_accuracy(expected_w, mean), rtol=1e-9)
    np.testing.assert_allclose(scores.margin_mean, expected_w @ mean, rtol=1e-9)
    np.testing.assert_allclose(scores.margin_second_moment,
                               np.sum(expected_w**2, axis=1) + (expected_w @ mean) ** 2, rtol=1e-9)

def _spd_batch(shape, m=6, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*shape, m, m))
    return a @ np.swapaxes(a, -1, -2) + m * np.eye(m), rng.standard_normal((*shape, m, 2))


def test_ridge_classifier_keeps_the_dtype_of_float32_data_under_x64():
    """A float32 design stays float32 when JAX's 64-bit mode is on (the zero source takes X's dtype)."""
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        X = jnp.asarray(rng.standard_normal((8, 3)), jnp.float32)
        y = jnp.asarray([1.0, -1.0] * 4, jnp.float32)
        w = linear.ridge_classifier(X, y, 0.5)
        assert w.dtype == jnp.float32
        np.testing.assert_allclose(w, linear.ridge_classifier(X.astype(jnp.float64), y.astype(jnp.float64), 0.5),
                                   rtol=1e-5)


def test_spd_solve_under_nested_and_partial_vmap_matches_numpy():
    """Nested vmap, a matrix shared by the batch, a right-hand side shared by the batch: each against
    np.linalg.solve (float64, condition number below 10: 1e-12)."""
    matrices, rhs = _spd_batch((3, 4))
    with jax.enable_x64(True):
        nested = jax.jit(jax.vmap(jax.vmap(linear.spd_solve)))(matrices, rhs)
        shared_matrix = jax.vmap(linear.spd_solve, in_axes=(None, 0))(matrices[0, 0], rhs[0])
        shared_vector = jax.vmap(linear.spd_solve, in_axes=(None, 0))(matrices[0, 0], rhs[0, :, :, 0])
        shared_rhs = jax.vmap(linear.spd_solve, in_axes=(0, None))(matrices[0], rhs[0, 0])
    np.testing.assert_allclose(nested, np.linalg.solve(matrices, rhs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shared_matrix, np.linalg.solve(matrices[0, 0], rhs[0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shared_vector, np.linalg.solve(matrices[0, 0], rhs[0, :, :, 0].T).T, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(shared_rhs, np.linalg.solve(matrices[0], rhs[0, 0]), rtol=1e-12, atol=1e-12)


def test_spd_solve_gradient_matches_finite_differences():
    """d/dt sum(solve(M + t S, b + t c)) at t = 0 for symmetric S: reverse mode against a central difference
    (float64, step 1e-6: truncation error ~1e-12 times the third derivative; 1e-7 relative)."""
    matrices, rhs = _spd_batch(())
    rng = np.random.default_rng(1)
    direction = rng.standard_normal(matrices.shape)
    direction = direction + direction.T
    shift = rng.standard_normal(rhs.shape)
    with jax.enable_x64(True):
        grad_m, grad_b = map(np.asarray, jax.grad(lambda m, b: linear.spd_solve(m, b).sum(), argnums=(0, 1))(
            matrices, rhs))
    directional = float(np.sum(grad_m * direction) + np.sum(grad_b * shift))
    step = 1e-6
    finite = (np.linalg.solve(matrices + step * direction, rhs + step * shift).sum()
              - np.linalg.solve(matrices - step * direction, rhs - step * shift).sum()) / (2 * step)
    np.testing.assert_allclose(directional, finite, rtol=1e-7)


def _lapack_calls(hlo_text):
    """(name, operand types) of every custom call in a StableHLO module's text."""
    return re.findall(r"custom_call @(\w+)\(.*?\) .*?: \((.*?)\) ->", hlo_text)


def test_a_vmapped_batch_of_solves_is_one_factorisation_at_a_time_on_cpu_and_batched_on_gpu():
    """The choice made by `solve_one_at_a_time`, read off the lowered programs: on CPU every LAPACK call sees one
    matrix (2-D operands, inside a loop), so no call can wait on jaxlib's thread pool; for GPU (lowered without a
    GPU) one batched cuSOLVER call keeps the fast path."""
    assert linear.solve_one_at_a_time("cpu") and not linear.solve_one_at_a_time("cuda")
    matrices, rhs = _spd_batch((3,))
    traced = jax.jit(jax.vmap(linear.spd_solve)).trace(matrices.astype(np.float32), rhs.astype(np.float32))
    cpu_calls = _lapack_calls(traced.lower(lowering_platforms=("cpu",)).as_text())
    assert {name for name, _ in cpu_calls} == {"lapack_spotrf_ffi", "lapack_strsm_ffi"}
    assert all(operand.count("x") == 2 for _, types in cpu_calls for operand in types.split(", ")), cpu_calls
    gpu_calls = _lapack_calls(traced.lower(lowering_platforms=("cuda",)).as_text())
    assert ("cusolver_potrf_ffi", "tensor<3x6x6xf32>") in gpu_calls, gpu_calls


def _split_data(splits=3, n=40, n_test=100, p=60, seed=0):
    rng = np.random.default_rng(seed)
    mean = np.r_[1.0, 0.7, np.zeros(p - 2)]
    train = [reference.make_mixture(n, mean, rng) for _ in range(splits)]
    test = [reference.make_mixture(n_test, mean, rng) for _ in range(splits)]
    return mean, train, test


def _numpy_test_scores(w_s, X, y, X_test, y_test, gamma):
    g = X_test @ reference.fit_finetuned(X, y, gamma, w_s, ALPHA).T
    return (np.mean(y_test[:, None] * g > 0, axis=0), np.mean(y_test[:, None] * g, axis=0), np.mean(g * g, axis=0))


def test_fit_and_score_matches_numpy_on_one_split():
    mean, train, test = _split_data(splits=1)
    w_s = _given_w_s(mean.size)
    scores = linear.fit_and_score(w_s, *train[0], *test[0], ALPHA, gamma=0.9, dtype="float64")
    for got, expected in zip(scores, _numpy_test_scores(w_s, *train[0], *test[0], 0.9)):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert scores.accuracy.shape == (ALPHA.size,)


def test_fit_and_score_stacked_splits_index_pools_and_source_data_agree_with_a_loop():
    mean, train, test = _split_data(splits=3)
    rng = np.random.default_rng(2)
    Xs, ys = reference.make_mixture(200, mean, rng)
    w_s = reference.fit_ridge_classifier(Xs, ys, 1.5)
    X, y = np.stack([t[0] for t in train]), np.stack([t[1] for t in train])
    X_test, y_test = np.stack([t[0] for t in test]), np.stack([t[1] for t in test])
    stacked = linear.fit_and_score((Xs, (ys + 1) / 2), X, y, X_test, y_test, ALPHA, gamma=0.9, source_gamma=1.5,
                                dtype="float64")  # source labels given as {0, 1}
    loop = np.stack([_numpy_test_scores(w_s, X[i], y[i], X_test[i], y_test[i], 0.9) for i in range(3)], axis=1)
    for got, expected in zip(stacked, loop):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    pool_X, pool_y = np.concatenate([X.reshape(-1, mean.size), X_test.reshape(-1, mean.size)]), np.r_[
        y.ravel(), y_test.ravel()]
    train_rows = np.arange(3 * 40).reshape(3, 40)
    test_rows = 120 + np.arange(3 * 100).reshape(3, 100)
    pooled = linear.fit_and_score(w_s, pool_X, (pool_y > 0).astype(int), pool_X, pool_y, ALPHA, gamma=0.9,
                               train_index=train_rows, test_index=test_rows, dtype="float64")
    for got, expected in zip(pooled, stacked):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    shared_test = linear.fit_and_score(w_s, X, y, X_test[0], y_test[0], ALPHA, gamma=0.9, dtype="float64")
    np.testing.assert_allclose(shared_test.accuracy[0], stacked.accuracy[0], rtol=1e-9)
    single = linear.fit_and_score(w_s, X, y, X_test, y_test, ALPHA, gamma=0.9)  # float32 within its precision
    np.testing.assert_allclose(single.margin_mean, stacked.margin_mean, rtol=1e-4, atol=1e-5)


def _bad_data(case):
    mean, train, test = _split_data(splits=1, p=10)
    (X, y), (X_test, y_test) = train[0], test[0]
    w_s = np.ones(10)
    arguments = {"source": w_s, "X": X, "y": y, "X_test": X_test, "y_test": y_test}
    if case == "labels":
        arguments["y"] = np.where(y > 0, 2.0, 0.0)
    elif case == "nan":
        arguments["X"] = X.copy()
        arguments["X"][3, 4] = np.nan
    elif case == "shapes":
        arguments["y"] = y[:-1]
    elif case == "p":
        arguments["X_test"] = X_test[:, :9]
    elif case == "index":
        arguments["train_index"] = np.array([0, 1, 400])
    elif case == "splits":
        arguments["X"], arguments["y"] = np.stack([X, X]), np.stack([y, y])
        arguments["X_test"], arguments["y_test"] = np.stack([X_test] * 3), np.stack([y_test] * 3)
    elif case == "source_gamma":
        arguments["source"] = (X, y)
    elif case == "overlap":
        arguments["X_test"], arguments["y_test"] = arguments["X"], arguments["y"]
        arguments["train_index"], arguments["test_index"] = np.array([[0, 1, 2]]), np.array([[2, 3, 4, 5]])
    return arguments


@pytest.mark.parametrize("case, message", [
    ("labels", r"\{-1, \+1\} or \{0, 1\}"), ("nan", "X must not contain NaN"), ("shapes", "y must have shape"),
    ("p", "X_test must have p = 10"), ("index", "train_index must index rows"), ("splits", "2 splits"),
    ("source_gamma", "source_gamma is required"), ("overlap", "share rows of the pool in split 0 \\(e.g. row 2\\)"),
])
def test_fit_and_score_rejects_bad_data(case, message):
    arguments = _bad_data(case)
    with pytest.raises(ValueError, match=message):
        linear.fit_and_score(arguments.pop("source"), arguments.pop("X"), arguments.pop("y"), arguments.pop("X_test"),
                          arguments.pop("y_test"), ALPHA, gamma=1.0, **arguments)


def test_precision_holds_blas_to_one_thread_and_restores_it():
    """Inside `precision` every BLAS library (scipy's OpenBLAS, which jaxlib's CPU LAPACK calls, included) runs one
    thread; outside, what was there before; the session's x64 setting is untouched."""
    import threadpoolctl

    from rmt_alpha.linear._engine import precision

    def blas_threads():
        return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        with precision(dtype):
            assert blas_threads() and set(blas_threads()) == {1}
            assert jax.config.jax_enable_x64 == (dtype == np.float64)
        assert blas_threads() == before and not jax.config.jax_enable_x64
