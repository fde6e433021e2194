"""The one fitting engine for given arrays (theory/THEORY.md section 1): the ridge classifier and the
alpha-fine-tuned classifier as an affine function of alpha, and their scores.

    w_alpha = Q X^T y / n + alpha * gamma Q w_s = target_part + alpha * source_part,   Q = (X^T X / n + gamma I)^-1,

so a grid of alphas costs one Cholesky factorisation (two right-hand sides), and the scores are scalar functions
of alpha: `w^T mu_t = a + alpha b`, `|w|^2 = A + 2 alpha B + alpha^2 C`. When p > n the factorisation is of the
n x n kernel instead (push-through and Woodbury identities); the choice is made statically from the shapes.

Every factorisation goes through `spd_solve`, whose batching rule decides in one place (`solve_one_at_a_time`)
how a vmapped batch of solves runs: one factorisation at a time on CPU (batched LAPACK calls can deadlock
XLA:CPU's thread pool there, docs/upstream/jax_cpu_lapack_deadlock.md), one batched call elsewhere.

Scores per alpha (`Scores`): the accuracy, `E[y g]` and `E[g^2]` of the decision `g = w^T x` on the target task,
either exact given w (`Phi(w^T mu_t / |w|)`, `w^T mu_t`, `|w|^2 + (w^T mu_t)^2`; noise-free) or averaged over a
finite test set. These pieces are pure and jax-traceable; the Monte-Carlo (`rmt_alpha.simulate`) and the
real-data experiments (`rmt_alpha.experiments`, through `fit_and_score`) both fit through them.
Data follow scikit-learn: `X` has shape (n_samples, p), labels in {-1, +1}.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from typing import NamedTuple

import jax
import jax.custom_batching
import jax.numpy as jnp
import jax.scipy.linalg
import jax.scipy.special
import numpy as np
import threadpoolctl

from rmt_alpha._validation import check_finite_array


class FineTuned(NamedTuple):
    """The fine-tuned classifier as an affine function of alpha: `w_alpha = target_part + alpha * source_part`.

    A NamedTuple (a pytree, so `jax.vmap` batches it); built by `fit_affine` (theory/THEORY.md section 1).

    Attributes:
        target_part: (p,) `Q X^T y / n`, the target-only ridge classifier (alpha = 0).
        source_part: (p,) `gamma Q w_s`, the part multiplied by alpha; (p, K) `gamma Q W` for K sources
            (theory/THEORY.md section 10: `w_alpha = target_part + source_part @ alpha`, alpha of shape (K,)).

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import FineTuned
        >>> fine = FineTuned(jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0]))
        >>> fine.at(jnp.array([0.0, 1.0])).tolist()
        [[1.0, 0.0], [1.0, 2.0]]
    """

    target_part: jax.Array
    source_part: jax.Array

    def at(self, alpha) -> jax.Array:
        """The classifiers `w_alpha = target_part + alpha * source_part` for every alpha.

        Args:
            alpha: scalar or array of any shape, the base-rescaling factors.

        Returns:
            jax.Array of shape alpha.shape + (p,): one classifier per alpha.
        """
        return self.target_part + jnp.asarray(alpha)[..., None] * self.source_part


class Scores(NamedTuple):
    """Per-alpha scores of `sign(g)`, `g = w_alpha^T x`, on the target task (theory/THEORY.md section 1).

    Attributes:
        accuracy: (..., k) `P(y g > 0)`, exact (`Phi(w^T mu / |w|)`) or the test-set fraction.
        margin_mean: (..., k) `E[y g]`.
        margin_second_moment: (..., k) `E[g^2]`.
    """

    accuracy: jax.Array              # P(y g > 0)
    margin_mean: jax.Array           # E[y g]
    margin_second_moment: jax.Array  # E[g^2]


PLATFORMS = ("cpu", "cuda", "rocm", "tpu")


def solve_one_at_a_time(platform: str) -> bool:
    """Whether a vmapped batch of `spd_solve`s on `platform` runs one factorisation at a time (`jax.lax.map`)
    rather than as one batched LAPACK call (`jax.vmap`). The only place this choice is made.

    True on CPU. jaxlib's CPU LAPACK kernels (potrf, trsm, ...; jax 0.10) split a batch into tasks on XLA:CPU's
    intra-op thread pool and block the calling pool thread until they finish. Two such calls in flight at once
    (two devices, or two independent factorisations in one program) can leave every pool thread blocked on tasks
    that no free thread remains to run: a deadlock (docs/upstream/jax_cpu_lapack_deadlock.md). An unbatched call
    runs inline on its thread and never waits, whatever the device count, core count, sizes or chunking.
    Elsewhere (GPU, TPU) the batched solver is kept: it is the fast path and uses no such pool.

    Args:
        platform: a JAX platform name ('cpu', 'cuda', 'rocm', 'tpu').
    Returns:
        True for 'cpu', False otherwise.
    """
    return platform == "cpu"


def _cholesky_solve(matrix, rhs):
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(matrix), rhs)


@jax.custom_batching.custom_vmap
def _cholesky_solve_batchable(matrix, rhs):
    return _cholesky_solve(matrix, rhs)


@_cholesky_solve_batchable.def_vmap
def _batched_cholesky_solve(axis_size, in_batched, matrix, rhs):
    """The vmap rule: a batch of solves, by `jax.lax.map` or by one batched call (`solve_one_at_a_time`)."""
    matrix_batched, rhs_batched = in_batched
    if not rhs_batched:
        rhs = jnp.broadcast_to(rhs, (axis_size, *rhs.shape))
    if not matrix_batched:  # one matrix for the whole batch: one factorisation, the batch as extra columns
        columns = jnp.moveaxis(rhs.reshape(axis_size, rhs.shape[1], -1), 0, 1).reshape(rhs.shape[1], -1)
        solved = _cholesky_solve_batchable(matrix, columns).reshape(rhs.shape[1], axis_size, -1)
        return jnp.moveaxis(solved, 1, 0).reshape(rhs.shape), True

    def mapped(matrix, rhs):
        return jax.lax.map(lambda pair: _cholesky_solve_batchable(*pair), (matrix, rhs))

    batched = jax.vmap(_cholesky_solve)
    branches = {platform: mapped if solve_one_at_a_time(platform) else batched for platform in PLATFORMS}
    return jax.lax.platform_dependent(matrix, rhs, default=batched, **branches), True


def spd_solve(matrix, rhs):
    """`matrix^-1 rhs` for a symmetric positive definite matrix, by a Cholesky factorisation.

    Under `jax.vmap` the batch is solved as `solve_one_at_a_time` decides for the platform (one factorisation at
    a time on CPU, never a batched LAPACK call there); differentiable in both arguments
    (`jax.lax.custom_linear_solve`, symmetric).

    Args:
        matrix: (m, m) symmetric positive definite (only its lower triangle is read by the factorisation).
        rhs: (m,) or (m, k) right-hand sides.
    Returns:
        The solution, shaped like rhs.

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import spd_solve
        >>> spd_solve(jnp.array([[4.0, 2.0], [2.0, 3.0]]), jnp.array([2.0, 1.0]))
        Array([0.5, 0. ], dtype=float32)
    """
    return jax.lax.custom_linear_solve(lambda x: matrix @ x, rhs,
                                       lambda _, b: _cholesky_solve_batchable(matrix, b), symmetric=True)


def fit_affine(w_s, X, y, gamma) -> FineTuned:
    """The alpha-fine-tuned ridge classifier as `FineTuned` parts, one factorisation for every alpha.

    `w_alpha = Q (X^T y / n + alpha gamma w_s)`, `Q = (X^T X / n + gamma I)^-1` (theory/THEORY.md section 1).
    One Cholesky factorisation (`spd_solve`) with two right-hand sides serves every alpha. p <= n: the p x p
    system.
    p > n: the n x n kernel `K = X X^T / n + gamma I`, with `Q X^T y / n = X^T K^-1 y / n` (push-through) and
    `gamma Q w_s = w_s - X^T K^-1 X w_s / n` (Woodbury). Pure and jax-traceable; inputs are not checked.

    Args:
        w_s: (p,) the source (pre-trained) classifier, or (p, K) the columns of K sources (section 10).
        X: (n, p) target training features.
        y: (n,) target labels in {-1, +1}.
        gamma: ridge strength > 0 (traced: a new value does not recompile).

    Returns:
        FineTuned: `target_part = Q X^T y / n` (p,) and `source_part = gamma Q w_s`, shaped like `w_s`.

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import fit_affine
        >>> X = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> y = jnp.array([1.0, 1.0, -1.0, -1.0])
        >>> fine = fit_affine(jnp.array([1.0, 0.0]), X, y, 0.5)
        >>> fine.target_part.tolist(), fine.source_part.tolist()
        ([0.5, 0.5], [0.5, 0.0])
    """
    n, p = X.shape
    W = w_s.reshape(p, -1)                                   # (p, K); K = 1 for one source
    if p <= n:
        gram = X.T @ X / n + gamma * jnp.eye(p, dtype=X.dtype)
        solved = spd_solve(gram, jnp.concatenate([(X.T @ y / n)[:, None], gamma * W], axis=1))
        return FineTuned(solved[:, 0], solved[:, 1:].reshape(w_s.shape))
    kernel = X @ X.T / n + gamma * jnp.eye(n, dtype=X.dtype)
    dual = spd_solve(kernel, jnp.concatenate([y[:, None], X @ W], axis=1))
    return FineTuned(X.T @ dual[:, 0] / n, (W - X.T @ dual[:, 1:] / n).reshape(w_s.shape))


def ridge_classifier(X, y, gamma):
    """The ridge classifier `w = (X^T X / n + gamma I)^-1 X^T y / n`: `fit_affine`'s target part (primal or dual).

    theory/THEORY.md section 1 (the source classifier `w_s` when fitted on source data).

    Args:
        X: (n, p) features.
        y: (n,) labels in {-1, +1}.
        gamma: ridge strength > 0.

    Returns:
        jax.Array of shape (p,).

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import ridge_classifier
        >>> X = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> ridge_classifier(X, jnp.array([1.0, 1.0, -1.0, -1.0]), 0.5).tolist()
        [0.5, 0.5]
    """
    return fit_affine(jnp.zeros(X.shape[1], X.dtype), X, y, gamma).target_part

def exact_scores(fine: FineTuned, mean, alpha) -> Scores:
    """Exact scores of the fine-tuned classifier on the mixture with this mean, for a grid of alphas.

    Accuracy `Phi(w^T mu / |w|)`, `E[y g] = w^T mu`, `E[g^2] = |w|^2 + (w^T mu)^2` (noise-free; theory/THEORY.md
    section 1). Computed from five inner products, `w^T mu = a + alpha b` and `|w|^2 = A + 2 alpha B + alpha^2 C`,
    so a grid of alphas never materialises the (k, p) classifiers.

    Args:
        fine: the `FineTuned` parts, each of shape (p,) (or `source_part` (p, K) for K sources).
        mean: (p,) the target mean `mu_t`.
        alpha: (k,) the alphas (or (k, K) alpha vectors for K sources).

    Returns:
        Scores: accuracy, margin_mean and margin_second_moment, each of shape (k,).

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import FineTuned, exact_scores
        >>> fine = FineTuned(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
        >>> exact_scores(fine, jnp.array([1.0, 0.0]), jnp.array([0.0])).margin_second_moment.tolist()
        [2.0]
    """
    t, s = fine
    if s.ndim == 2:   # K sources: w = t + s @ alpha_j for each row alpha_j
        margin = t @ mean + alpha @ (s.T @ mean)
        norm_sq = t @ t + 2.0 * alpha @ (s.T @ t) + jnp.einsum("jk,kl,jl->j", alpha, s.T @ s, alpha)
    else:
        margin = t @ mean + alpha * (s @ mean)
        norm_sq = t @ t + 2.0 * alpha * (t @ s) + alpha**2 * (s @ s)
    accuracy = jax.scipy.special.ndtr(margin / jnp.sqrt(norm_sq))
    return Scores(accuracy, margin, norm_sq + margin**2)


def test_scores(fine: FineTuned, X_test, y_test, alpha) -> Scores:
    """Test-set scores of the fine-tuned classifier for a grid of alphas.

    The fraction with `y g > 0` (a tie `g = 0` counts as wrong), `mean(y g)` and `mean(g^2)`, where
    `g = X_test target_part + alpha X_test source_part`: two matrix-vector products for the whole grid.

    Args:
        fine: the `FineTuned` parts, each of shape (p,) (or `source_part` (p, K) for K sources).
        X_test: (n_test, p) test features.
        y_test: (n_test,) test labels in {-1, +1}.
        alpha: (k,) the alphas (or (k, K) alpha vectors for K sources).

    Returns:
        Scores: accuracy, margin_mean and margin_second_moment, each of shape (k,).

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.linear import FineTuned, test_scores
        >>> fine = FineTuned(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
        >>> X_test, y_test = jnp.array([[1.0, -2.0], [-1.0, 0.0]]), jnp.array([1.0, -1.0])
        >>> test_scores(fine, X_test, y_test, jnp.array([0.0, 1.0])).accuracy.tolist()
        [1.0, 0.5]
    """
    if fine.source_part.ndim == 2:
        g = (X_test @ fine.target_part)[:, None] + (X_test @ fine.source_part) @ alpha.T
    else:
        g = (X_test @ fine.target_part)[:, None] + (X_test @ fine.source_part)[:, None] * alpha[None, :]
    signed = y_test[:, None] * g
    return Scores(jnp.mean((signed > 0).astype(g.dtype), axis=0), jnp.mean(signed, axis=0), jnp.mean(g * g, axis=0))

def working_dtype(dtype) -> np.dtype:
    """The checked working precision: float32 or float64.

    Args:
        dtype: anything `np.dtype` accepts ('float32', 'float64', np.float32, ...).

    Returns:
        np.dtype: float32 or float64.

    Raises:
        TypeError: when `dtype` is not a dtype.
        ValueError: when it is a dtype other than float32 and float64.

    Example:
        >>> from rmt_alpha.linear._engine import working_dtype
        >>> working_dtype("float64")
        dtype('float64')
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from error
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {resolved}")
    return resolved


@contextlib.contextmanager
def precision(dtype: np.dtype):
    """The context the engine's compiled work runs in: `jax.enable_x64` around float64 work (the session's global
    setting is not touched), and one thread for the BLAS/LAPACK libraries (threadpoolctl).

    jaxlib's CPU factorisations call scipy's OpenBLAS, whose own threads compete with XLA's, which already run one
    factorisation per device (`solve_one_at_a_time`): on two busy cores a batch of 400 x 400 fits took 938 ms per
    fit with OpenBLAS's default threads and 10.7 ms with one (benchmarks/simulate_speed.py). The limit is lifted
    when the context exits; the work must finish inside it (the callers convert their results to numpy there).

    Args:
        dtype: the working dtype (from `working_dtype`).

    Yields:
        Nothing: the body runs in float64 (for float64) with one BLAS/LAPACK thread.
    """
    x64 = jax.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()
    with _blas_controller().limit(limits=1, user_api="blas"), x64:
        yield


@functools.cache
def _blas_controller() -> threadpoolctl.ThreadpoolController:
    """The process's thread-pool libraries, inspected once (`threadpool_limits` scans every loaded library on each
    call: 3 to 9 ms, as much as a chunk of 64 simulated trials takes at p = 400). scipy's OpenBLAS, which jaxlib's
    CPU LAPACK calls, is loaded first, so that the controller sees it."""
    importlib.import_module("scipy.linalg")
    return threadpoolctl.ThreadpoolController()


def alpha_grid(alpha) -> np.ndarray:
    """The checked grid of alphas as a 1-D float64 array.

    Args:
        alpha: a finite scalar or 1-D array.

    Returns:
        np.ndarray of shape (k,) (k = 1 for a scalar).

    Raises:
        ValueError: when `alpha` is not finite or has more than one dimension.

    Example:
        >>> from rmt_alpha.linear._engine import alpha_grid
        >>> alpha_grid(2.0)
        array([2.])
    """
    alpha = np.atleast_1d(check_finite_array("alpha", alpha))
    if alpha.ndim != 1:
        raise ValueError(f"alpha must be a scalar or a 1-D array, got an array of shape {alpha.shape}")
    return alpha
