"""JAX Monte-Carlo of the linear alpha-LoRA model (THEORY.md section 1), on one device or many.

One trial draws the source sample (N points of `x = y mu_s + z`) and fits the source ridge classifier (or takes a
given `w_s`), draws n target points, fits the fine-tuned classifier for a whole grid of alphas, and scores it.
The fit is affine in alpha,

    w_alpha = Q X^T y / n + alpha * gamma Q w_s = target_part + alpha * source_part,   Q = (X^T X / n + gamma I)^-1,

so a grid of alphas costs one Cholesky factorisation per trial (two right-hand sides), and the scores are
scalar functions of alpha: `w^T mu_t = a + alpha b`, `|w|^2 = A + 2 alpha B + alpha^2 C`. When p > n the
factorisation is of the n x n kernel instead (push-through and Woodbury identities), likewise for the source
when p > N; the choice is made statically from the shapes.

Scores per trial and alpha (`Scores`): the accuracy, `E[y g]` and `E[g^2]` of the decision `g = w^T x` on the
target task, either exact given w (`Phi(w^T mu_t / |w|)`, `w^T mu_t`, `|w|^2 + (w^T mu_t)^2`; the default,
noise-free) or averaged over a finite test set of `n_test` fresh points.

Layout: key-first single-trial `trial(key, ...)`, `jax.vmap` over trials, `jax.jit` over everything, the trial
axis sharded over a device mesh by `rmt_alpha._sharding`. alpha, gamma, the means, `w_s` and the seed are traced
(a new value never recompiles); only the sizes are static. Trial i always uses `fold_in(key(seed), i)`, so the
numbers do not depend on the device count or the chunking. Random numbers are drawn in float32 and then cast, so
`dtype="float64"` sees exactly the same draws as float32 (and runs in a `jax.enable_x64` context: the session's
own precision setting is left alone). Data follow scikit-learn: `X` has shape (n_samples, p), labels in {-1, +1}.

The pure pieces (`draw_mixture`, `ridge_classifier`, `finetune`, `exact_scores`, `test_scores`, `trial`) are
jax-traceable and unchecked; `simulate`, `empirical_accuracy` and `fit_and_score` check their inputs and compile.
Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA", arXiv 2510.21345; THEORY.md.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import jax.scipy.sparse.linalg
import jax.scipy.special
import numpy as np
from tqdm.auto import tqdm

from rmt_alpha import _sharding
from rmt_alpha._validation import (
    check_finite_array,
    check_positive_float,
    check_sample_count,
    check_seed,
    check_vector,
)
from rmt_alpha.results import EmpiricalCurve, summarize
from rmt_alpha.stats import SourceStats, TargetStats, check_same_dimension

DRAW_DTYPE = jnp.float32  # every random number is drawn in this dtype, then cast to the working dtype
CHUNK_BYTES = 1 << 30     # default working-memory budget of one chunk of trials


class FineTuned(NamedTuple):
    """The fine-tuned classifier as an affine function of alpha: `w_alpha = target_part + alpha * source_part`.

    `target_part = Q X^T y / n` (the target-only ridge, alpha = 0), `source_part = gamma Q w_s`; both shape (p,).
    """

    target_part: jax.Array
    source_part: jax.Array

    def at(self, alpha) -> jax.Array:
        """`w_alpha` for every alpha: shape alpha.shape + (p,)."""
        return self.target_part + jnp.asarray(alpha)[..., None] * self.source_part


class Scores(NamedTuple):
    """Per-alpha scores of `sign(g)`, `g = w_alpha^T x`, on the target task (each shape (..., k))."""

    accuracy: jax.Array              # P(y g > 0)
    margin_mean: jax.Array           # E[y g]
    margin_second_moment: jax.Array  # E[g^2]


class Simulation(NamedTuple):
    """Monte-Carlo curves over alpha: accuracy, `E[y g]` and `E[g^2]`, each an `EmpiricalCurve` (per-trial values,
    mean and standard error), to compare with `predicted_accuracy` and `margin_moments` term by term."""

    accuracy: EmpiricalCurve
    margin_mean: EmpiricalCurve
    margin_second_moment: EmpiricalCurve


# ----------------------------------------------------------------------------------------------- pure pieces

def draw_mixture(key, n_samples: int, mean, dtype=None):
    """Draw `x = y * mean + z`, `z ~ N(0, I_p)`, balanced labels (half +1, half -1, shuffled).

    Randoms are drawn in float32 and cast to `dtype` (default: mean's dtype), so every precision sees the same
    draws. Returns `(X, y)`: X of shape (n_samples, p), y of shape (n_samples,) in {-1, +1}.
    """
    mean = jnp.asarray(mean)
    dtype = mean.dtype if dtype is None else dtype
    label_key, noise_key = jax.random.split(key)
    labels = jnp.where(jnp.arange(n_samples) < (n_samples + 1) // 2, 1.0, -1.0)
    y = jax.random.permutation(label_key, labels).astype(dtype)
    z = jax.random.normal(noise_key, (n_samples, mean.shape[0]), DRAW_DTYPE).astype(dtype)
    return y[:, None] * mean.astype(dtype)[None, :] + z, y


def finetune(w_s, X, y, gamma) -> FineTuned:
    """`w_alpha = Q (X^T y / n + alpha gamma w_s)`, `Q = (X^T X / n + gamma I)^-1`, as `FineTuned` parts.

    One Cholesky factorisation with two right-hand sides serves every alpha. p <= n: the p x p system.
    p > n: the n x n kernel `K = X X^T / n + gamma I`, with `Q X^T y / n = X^T K^-1 y / n` (push-through) and
    `gamma Q w_s = w_s - X^T K^-1 X w_s / n` (Woodbury).

    Args:
        w_s: (p,) source classifier. X: (n, p). y: (n,) in {-1, +1}. gamma: ridge strength > 0 (traced).
    """
    n, p = X.shape
    if p <= n:
        gram = X.T @ X / n + gamma * jnp.eye(p, dtype=X.dtype)
        rhs = jnp.stack([X.T @ y / n, gamma * w_s], axis=1)
        target_part, source_part = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(gram), rhs).T
        return FineTuned(target_part, source_part)
    kernel = X @ X.T / n + gamma * jnp.eye(n, dtype=X.dtype)
    rhs = jnp.stack([y, X @ w_s], axis=1)
    dual_y, dual_w = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(kernel), rhs).T
    return FineTuned(X.T @ dual_y / n, w_s - X.T @ dual_w / n)


def ridge_classifier(X, y, gamma):
    """The ridge classifier `w = (X^T X / n + gamma I)^-1 X^T y / n`: `finetune`'s target part (primal or dual)."""
    return finetune(jnp.zeros(X.shape[1], X.dtype), X, y, gamma).target_part


def source_classifier(key, mean, n_samples: int, gamma):
    """The ridge classifier of a fresh source sample of `n_samples` points of `x = y mean + z` (THEORY.md section 1).

    The fit sees the sample only through `Xs^T Xs` and `Xs^T ys`. With `u = Zs^T ys ~ N(0, N I_p)` and
    `W = Zs^T (I - ys ys^T / N) Zs ~ Wishart_p(N - 1, I)` independent of u, the class-mean estimate is
    `c = Xs^T ys / N = mean + u / N` and `Xs^T Xs / N = c c^T + W / N`, so (Sherman-Morrison)

        w_s = (c c^T + W / N + gamma I)^-1 c = v / (1 + c^T v),   v = (W / N + gamma I)^-1 c.

    When N > p these statistics are drawn directly, exactly in distribution (W by the Bartlett decomposition
    `W = L L^T`, L lower triangular with `L_ii^2 ~ chi^2(N - 1 - i)` and standard normals below the diagonal):
    about p^2 / 2 random numbers instead of N p. v is found by conjugate gradients with the matrix-free product
    `x -> L (L^T x) / N + gamma x` (`jax.scipy.sparse.linalg.cg`; the condition number is at most
    `((1 + sqrt(p / N))^2 + gamma) / gamma` asymptotically, so a few dozen iterations of 2 p^2 operations each,
    against the N p^2 Gram matrix of the sample). A solve whose final relative residual exceeds
    sqrt(machine epsilon) returns NaN, which `simulate` reports as an error. When N <= p the sample itself is
    drawn and fitted in the dual form (`draw_mixture` and `ridge_classifier`).
    """
    mean = jnp.asarray(mean)
    p = mean.shape[0]
    if n_samples <= p:
        return ridge_classifier(*draw_mixture(key, n_samples, mean), gamma)
    mean_key, chi_key, lower_key = jax.random.split(key, 3)
    u = jax.random.normal(mean_key, (p,), DRAW_DTYPE) * np.float32(np.sqrt(n_samples))
    half_dof = (n_samples - 1 - jnp.arange(p, dtype=DRAW_DTYPE)) / 2.0
    diagonal = jnp.sqrt(2.0 * jax.random.gamma(chi_key, half_dof, dtype=DRAW_DTYPE))
    rows, columns = np.tril_indices(p, -1)
    below = jax.random.normal(lower_key, (rows.size,), DRAW_DTYPE)
    lower = jnp.zeros((p, p), DRAW_DTYPE).at[rows, columns].set(below) + jnp.diag(diagonal)
    lower = lower.astype(mean.dtype)
    class_mean = mean + u.astype(mean.dtype) / n_samples

    def regularised(x):
        return lower @ (lower.T @ x) / n_samples + gamma * x

    epsilon = jnp.finfo(mean.dtype).eps
    v, _ = jax.scipy.sparse.linalg.cg(regularised, class_mean, tol=10 * epsilon, maxiter=p)
    residual = jnp.linalg.norm(regularised(v) - class_mean) / jnp.linalg.norm(class_mean)
    v = jnp.where(residual <= jnp.sqrt(epsilon), v, jnp.nan)
    return v / (1.0 + class_mean @ v)


def exact_scores(fine: FineTuned, mean, alpha) -> Scores:
    """Exact scores given w on the mixture with this mean: `Phi(w^T mu / |w|)`, `w^T mu`, `|w|^2 + (w^T mu)^2`.

    Computed from five inner products, `w^T mu = a + alpha b` and `|w|^2 = A + 2 alpha B + alpha^2 C`, so a grid
    of alphas never materialises the (k, p) classifiers. alpha: shape (k,).
    """
    t, s = fine
    margin = t @ mean + alpha * (s @ mean)
    norm_sq = t @ t + 2.0 * alpha * (t @ s) + alpha**2 * (s @ s)
    accuracy = jax.scipy.special.ndtr(margin / jnp.sqrt(norm_sq))
    return Scores(accuracy, margin, norm_sq + margin**2)


def test_scores(fine: FineTuned, X_test, y_test, alpha) -> Scores:
    """Test-set scores: the fraction with `y g > 0` (a tie `g = 0` counts as wrong), `mean(y g)`, `mean(g^2)`.

    `g = X_test target_part + alpha X_test source_part`, two matrix-vector products for the whole grid.
    X_test: (n_test, p); y_test: (n_test,) in {-1, +1}; alpha: (k,).
    """
    g = (X_test @ fine.target_part)[:, None] + (X_test @ fine.source_part)[:, None] * alpha[None, :]
    signed = y_test[:, None] * g
    return Scores(jnp.mean((signed > 0).astype(g.dtype), axis=0), jnp.mean(signed, axis=0), jnp.mean(g * g, axis=0))


def trial(key, source, target_mean, alpha, source_gamma, gamma, *, source_n, n, n_test) -> Scores:
    """One Monte-Carlo trial: source fit (`source_classifier`, unless w_s is given), target draw, fine-tuning
    for every alpha, scores.

    Args:
        key: a PRNG key. source: `mu_s` (p,) when `source_n` is an int (the source ridge classifier is fitted
            on `source_n` fresh points with `source_gamma`), or the fixed classifier `w_s` (p,) when it is None.
        target_mean: `mu_t` (p,). alpha: (k,). gamma: fine-tuning ridge strength.
        n: target training size. n_test: None for exact scores, else the size of a fresh test set.
    Returns:
        `Scores`, each of shape (k,).
    """
    source_key, target_key, test_key = jax.random.split(key, 3)
    if source_n is None:
        w_s = source
    else:
        w_s = source_classifier(source_key, source, source_n, source_gamma)
    fine = finetune(w_s, *draw_mixture(target_key, n, target_mean), gamma)
    if n_test is None:
        return exact_scores(fine, target_mean, alpha)
    return test_scores(fine, *draw_mixture(test_key, n_test, target_mean), alpha)


@functools.partial(jax.jit, static_argnames=("source_n", "n", "n_test"))
def _simulate_trials(seed, trial_indices, source, target_mean, alpha, source_gamma, gamma, *, source_n, n, n_test):
    """`trial` for every index, key `fold_in(key(seed), index)`; vmapped, compiled once per shape."""
    base_key = jax.random.key(seed)
    keys = jax.vmap(lambda index: jax.random.fold_in(base_key, index))(trial_indices)
    one = functools.partial(trial, source_n=source_n, n=n, n_test=n_test)
    return jax.vmap(one, in_axes=(0, None, None, None, None, None))(keys, source, target_mean, alpha,
                                                                      source_gamma, gamma)


# ------------------------------------------------------------------------------------------------- checks

def _working_dtype(dtype) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from error
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {resolved}")
    return resolved


def _precision(dtype: np.dtype):
    """`jax.enable_x64` around float64 work (the session's global setting is not touched)."""
    return jax.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()


def _alpha_grid(alpha) -> np.ndarray:
    alpha = np.atleast_1d(check_finite_array("alpha", alpha))
    if alpha.ndim != 1:
        raise ValueError(f"alpha must be a scalar or a 1-D array, got an array of shape {alpha.shape}")
    return alpha


def _default_chunk(per_trial_values: int, itemsize: int, trials: int, mesh, progress: bool) -> int:
    """Trials per compiled call: within `CHUNK_BYTES`, about ten chunks when a progress bar is shown."""
    chunk = max(1, CHUNK_BYTES // (per_trial_values * itemsize))
    if progress:
        chunk = min(chunk, math.ceil(trials / 10))
    return _sharding.padded_count(min(chunk, trials), mesh)


# ------------------------------------------------------------------------------------------------- public API

def simulate(source, target: TargetStats, alpha, *, trials: int, seed: int = 0, n_test: int | None = None,
             dtype="float32", devices=None, chunk_trials: int | None = None, progress: bool | None = False
             ) -> Simulation:
    """Monte-Carlo accuracy, `E[y g]` and `E[g^2]` of the alpha-fine-tuned classifier, for every alpha.

    Per trial: fit the source ridge classifier on `source.n` fresh points (or use the given `w_s`), draw
    `target.n` target points, fine-tune `w_alpha = Q (X^T y / n + alpha gamma w_s)` for the whole grid (one
    factorisation), and score: exactly given w (default, `Phi(w^T mu_t / |w|)`) or on `n_test` fresh points.

    Args:
        source: a `SourceStats` (a fresh source sample and ridge fit every trial) or a fixed classifier `w_s`
            (1-D array of length p).
        target: the `TargetStats` (mean, n, gamma).
        alpha: scalar or 1-D array of alphas, shape (k,).
        trials: number of independent trials (>= 1). seed: integer in [0, 2**32).
        n_test: None for the exact conditional scores, else the size of a fresh test set per trial.
        dtype: 'float32' (default; fast on every accelerator) or 'float64' (run inside `jax.enable_x64`; use it
            for very small gamma, where float32 factorisations lose accuracy). Both see the same random draws.
        devices: None (every visible device, across processes), an int k (the first k) or a list of devices;
            the trial axis is sharded over them.
        chunk_trials: trials per compiled call (rounded up to a multiple of the device count); default: as many
            as fit in about 1 GiB of working memory. The numbers do not depend on it.
        progress: show a tqdm bar over chunks on stderr (None: only when stderr is a terminal).
    Returns:
        `Simulation(accuracy, margin_mean, margin_second_moment)`, each an `EmpiricalCurve` with per-trial
        values of shape (trials, k); results are float64 numpy arrays.
    Raises:
        ValueError or TypeError for bad input, before anything is compiled; ValueError if a factorisation broke
        down (non-finite results: gamma too small for the precision).

    Example:
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(400, 1.5, 0.8, 0.6, 100, 1.0)
        >>> sim = simulate(src, tgt, [0.0, 1.0, 3.0], trials=64, seed=0)   # compare with predicted_accuracy
    """
    if not isinstance(target, TargetStats):
        raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
    if isinstance(source, SourceStats):
        source_vector, source_n, source_gamma = source.mean, source.n, source.gamma
    else:
        if isinstance(source, TargetStats):
            raise TypeError("source must be a SourceStats or a 1-D classifier array w_s, got a TargetStats")
        source_vector, source_n, source_gamma = check_vector("source (the classifier w_s)", source), None, 1.0
    check_same_dimension(source_vector, target)
    alpha = _alpha_grid(alpha)
    trials = check_sample_count("trials", trials)
    n_test = None if n_test is None else check_sample_count("n_test", n_test)
    seed = check_seed(seed)
    dtype = _working_dtype(dtype)
    mesh = _sharding.trial_mesh(devices)
    if progress is None:
        progress = sys.stderr.isatty()
    p = target.p
    per_trial_values = (p * (source_n or 0) + min(p, source_n or 1) ** 2 + target.n * p + min(p, target.n) ** 2
                        + (n_test or 0) * (p + alpha.size))
    if chunk_trials is None:
        chunk = _default_chunk(per_trial_values, dtype.itemsize, trials, mesh, progress)
    else:
        chunk = _sharding.padded_count(check_sample_count("chunk_trials", chunk_trials), mesh)
    chunk = min(chunk, _sharding.padded_count(trials, mesh))

    arguments = (np.asarray(source_vector, dtype), np.asarray(target.mean, dtype), np.asarray(alpha, dtype),
                 np.asarray(source_gamma, dtype), np.asarray(target.gamma, dtype))
    pieces = []
    with _precision(dtype), tqdm(total=trials, unit="trial", file=sys.stderr, disable=not progress,
                                 desc="simulate") as bar:
        for start in range(0, trials, chunk):
            indices = _sharding.shard_trials(np.arange(start, start + chunk, dtype=np.uint32), mesh)
            scores = _simulate_trials(seed, indices, *arguments, source_n=source_n, n=target.n, n_test=n_test)
            pieces.append(_sharding.gather(scores))
            bar.update(min(chunk, trials - start))
    per_trial = Scores(*(np.concatenate(values)[:trials].astype(np.float64) for values in zip(*pieces)))
    if not all(np.all(np.isfinite(values)) for values in per_trial):
        raise ValueError(f"the simulation produced non-finite values in {dtype} (gamma={target.gamma:g}"
                         f"{'' if source_n is None else f', source gamma={source_gamma:g}'} is too small for "
                         f"this precision); use dtype='float64' or a larger gamma")
    return Simulation(*(summarize(alpha, values) for values in per_trial))


def empirical_accuracy(source, target: TargetStats, alpha, *, trials: int, seed: int = 0, n_test: int | None = None,
                       dtype="float32", devices=None, chunk_trials: int | None = None,
                       progress: bool | None = False) -> EmpiricalCurve:
    """The Monte-Carlo accuracy-vs-alpha curve: `simulate(...).accuracy` (same arguments, see `simulate`).

    Returns:
        `EmpiricalCurve(alpha, mean, stderr, per_trial)`, per_trial of shape (trials, k).
    """
    return simulate(source, target, alpha, trials=trials, seed=seed, n_test=n_test, dtype=dtype, devices=devices,
                    chunk_trials=chunk_trials, progress=progress).accuracy


# ----------------------------------------------------------------------------------------- given data arrays

def as_signed_labels(name: str, y) -> np.ndarray:
    """Labels as float64 in {-1, +1}: {-1, +1} are kept, {0, 1} are mapped explicitly by `2 y - 1`."""
    y = check_finite_array(name, y)
    values = set(np.unique(y).tolist())
    if values <= {-1.0, 1.0}:
        return y
    if values <= {0.0, 1.0}:
        return 2.0 * y - 1.0
    raise ValueError(f"{name} must hold labels in {{-1, +1}} or {{0, 1}}, got the values {sorted(values)[:6]}")


def _check_features(name: str, X) -> np.ndarray:
    X = check_finite_array(name, X)
    if X.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (n_samples, p) or (splits, n_samples, p), got shape {X.shape}")
    return X


def _check_index(name: str, index, pool_size: int) -> np.ndarray:
    index = np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array of row indices, got dtype {index.dtype}")
    if index.ndim not in (1, 2) or index.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (n_samples,) or (splits, n_samples), got shape {index.shape}")
    if index.min() < 0 or index.max() >= pool_size:
        raise ValueError(f"{name} must index rows 0..{pool_size - 1} of its data, got values from {index.min()} "
                         f"to {index.max()}")
    return index


def _data_part(X_name, X, y_name, y, index_name, index, p):
    """Checked `(X, y, index, batched axis)` for one data part (train or test); axis 0 is batched or None."""
    X = _check_features(X_name, X)
    y = as_signed_labels(y_name, y)
    if X.shape[-1] != p:
        raise ValueError(f"{X_name} must have p = {p} columns (the length of w_s), got {X.shape[-1]}")
    if y.shape != X.shape[:-1]:
        raise ValueError(f"{y_name} must have shape {X.shape[:-1]} to match {X_name} {X.shape}, got {y.shape}")
    if index is None:
        return X, y, None, (0 if X.ndim == 3 else None)
    if X.ndim != 2:
        raise ValueError(f"with {index_name}, {X_name} must be the pool of rows (n_pool, p), got shape {X.shape}")
    index = _check_index(index_name, index, X.shape[0])
    return X, y, index, (0 if index.ndim == 2 else None)


def _split_scores(w_s, X, y, X_test, y_test, alpha, gamma, train_index, test_index) -> Scores:
    if train_index is not None:
        X, y = X[train_index], y[train_index]
    if test_index is not None:
        X_test, y_test = X_test[test_index], y_test[test_index]
    return test_scores(finetune(w_s, X, y, gamma), X_test, y_test, alpha)


@functools.partial(jax.jit, static_argnames=("train_axis", "test_axis"))
def _score_splits(w_s, X, y, X_test, y_test, alpha, gamma, train_index, test_index, *, train_axis, test_axis):
    """`_split_scores` vmapped over the split axis of whichever inputs carry one."""
    data_axis = train_axis if train_index is None else None
    test_data_axis = test_axis if test_index is None else None
    index_axis = train_axis if train_index is not None else None
    test_index_axis = test_axis if test_index is not None else None
    return jax.vmap(_split_scores, in_axes=(None, data_axis, data_axis, test_data_axis, test_data_axis, None, None,
                                            index_axis, test_index_axis))(
        w_s, X, y, X_test, y_test, alpha, gamma, train_index, test_index)


def _check_disjoint(train_rows, test_rows) -> None:
    """Raise when a split scores rows it was trained on (train and test index the same pool)."""
    for split in range(max(train_rows.shape[0], test_rows.shape[0])):
        shared = np.intersect1d(train_rows[split % train_rows.shape[0]], test_rows[split % test_rows.shape[0]])
        if shared.size:
            raise ValueError(f"train_index and test_index share rows of the pool in split {split} (e.g. row "
                             f"{int(shared[0])}): test rows must be disjoint from training rows")


def fit_and_score(source, X, y, X_test, y_test, alpha, *, gamma, source_gamma=None, train_index=None,
                  test_index=None, dtype="float32") -> Scores:
    """Fine-tune on given target data for every alpha and score on given test data: the simulator's own engine
    (`finetune` and `test_scores`), for real features. Vectorised over many target splits in one compiled call.

    `w_alpha = Q (X^T y / n + alpha gamma w_s)`; scores are the test accuracy (`y g > 0`), `mean(y g)` and
    `mean(g^2)` of `g = X_test w_alpha`.

    Args:
        source: the source classifier `w_s` (1-D, length p), or a pair `(source_X, source_y)` of source data
            ((N, p) and (N,)) on which the ridge classifier is fitted with `source_gamma`.
        X, y: target training data, (n, p) and (n,), or stacked splits (splits, n, p) and (splits, n); or, with
            `train_index` of shape (n,) or (splits, n), the pool of rows (n_pool, p), (n_pool,) to select from.
        X_test, y_test: target test data, in the same three layouts (with `test_index`).
        alpha: scalar or 1-D array (k,). gamma: fine-tuning ridge strength > 0.
        source_gamma: the source ridge strength (> 0), required with source data.
        dtype: 'float32' or 'float64' (as in `simulate`).
        Labels may be {-1, +1} or {0, 1} (mapped by `2 y - 1`). A test part without a split axis is shared by
        every split; the split counts of the train and test parts must agree when both have one.
    Returns:
        `Scores` of float64 numpy arrays, shape (k,), or (splits, k) when any part has a split axis.

    Example (30 random splits of a pool: 20 training rows and 100 test rows each):
        >>> rng = np.random.default_rng(0)
        >>> pool_y = np.where(np.arange(500) % 2 == 0, 1.0, -1.0)
        >>> pool_X = np.outer(pool_y, np.full(10, 0.5)) + rng.standard_normal((500, 10))
        >>> rows = np.stack([rng.permutation(500)[:120] for _ in range(30)])
        >>> scores = fit_and_score(np.full(10, 0.1), pool_X, pool_y, pool_X, pool_y, [0.0, 1.0], gamma=1.0,
        ...                        train_index=rows[:, :20], test_index=rows[:, 20:])
        >>> scores.accuracy.shape
        (30, 2)
    """
    same_pool = X is X_test  # then train_index and test_index select from one pool and must not overlap
    gamma = check_positive_float("gamma", gamma)
    alpha = _alpha_grid(alpha)
    dtype = _working_dtype(dtype)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(f"source must be w_s or a pair (source_X, source_y), got a tuple of {len(source)}")
        if source_gamma is None:
            raise ValueError("source_gamma is required when source is source data (source_X, source_y)")
        source_gamma = check_positive_float("source_gamma", source_gamma)
        source_X = _check_features("source_X", source[0])
        source_y = as_signed_labels("source_y", source[1])
        if source_X.ndim != 2 or source_y.shape != source_X.shape[:1]:
            raise ValueError(f"source_X must have shape (N, p) and source_y (N,), got {source_X.shape} and "
                             f"{source_y.shape}")
        p = source_X.shape[1]
    else:
        w_s = check_vector("source (the classifier w_s)", source)
        p = w_s.size
    X, y, train_index, train_axis = _data_part("X", X, "y", y, "train_index", train_index, p)
    X_test, y_test, test_index, test_axis = _data_part("X_test", X_test, "y_test", y_test, "test_index", test_index,
                                                       p)
    train_splits = None if train_axis is None else (X if train_index is None else train_index).shape[0]
    test_splits = None if test_axis is None else (X_test if test_index is None else test_index).shape[0]
    if train_splits is not None and test_splits is not None and train_splits != test_splits:
        raise ValueError(f"the training data have {train_splits} splits and the test data {test_splits}")
    if train_index is not None and test_index is not None and same_pool:
        _check_disjoint(np.atleast_2d(train_index), np.atleast_2d(test_index))
    batched = train_axis is not None or test_axis is not None
    with _precision(dtype):
        cast = functools.partial(np.asarray, dtype=dtype)
        if isinstance(source, tuple):
            w_s = jax.jit(ridge_classifier)(cast(source_X), cast(source_y), cast(source_gamma))
        if not batched:  # one split: give the training part a split axis of 1
            X, y = X[None], y[None]
            train_axis = 0
        scores = _score_splits(cast(w_s), cast(X), cast(y), cast(X_test), cast(y_test), cast(alpha), cast(gamma),
                               train_index, test_index, train_axis=train_axis, test_axis=test_axis)
        scores = Scores(*(np.asarray(values, dtype=np.float64) for values in scores))
    if not batched:
        scores = Scores(*(values[0] for values in scores))
    if not all(np.all(np.isfinite(values)) for values in scores):
        raise ValueError(f"fit_and_score produced non-finite values in {dtype} (gamma={gamma:g} is too small for "
                         "this precision); use dtype='float64' or a larger gamma")
    return scores
