"""JAX Monte-Carlo of the linear alpha-LoRA model (theory/THEORY.md section 1), on one device or many.

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
axis sharded over a device mesh by `rmt_alpha.simulate._sharding`. alpha, gamma, the means, `w_s` and the seed are
traced (a new value never recompiles); only the sizes are static. Trial i always uses `fold_in(key(seed), i)`, so the
numbers do not depend on the device count or the chunking. Random numbers are drawn in float32 and then cast, so
`dtype="float64"` sees exactly the same draws as float32 (and runs in a `jax.enable_x64` context: the session's
own precision setting is left alone). Data follow scikit-learn: `X` has shape (n_samples, p), labels in {-1, +1}.

The pure pieces (`draw_mixture`, `source_classifier`, `trial`; the fit itself is `rmt_alpha.linear`) are
jax-traceable and unchecked; `simulate`, `empirical_accuracy` and `fit_and_score` check their inputs and compile.
Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA", arXiv 2510.21345; theory/THEORY.md.
"""

from __future__ import annotations

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
from tqdm.std import tqdm  # a text bar on stderr: tqdm.auto warns in a notebook without ipywidgets

from rmt_alpha._results import EmpiricalCurve, summarize
from rmt_alpha._sources import is_source_list
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._validation import (
    check_count,
    check_finite_array,
    check_seed,
    check_vector,
)
from rmt_alpha.linear._engine import (
    Scores,
    alpha_grid,
    exact_scores,
    fit_affine,
    precision,
    ridge_classifier,
    test_scores,
    working_dtype,
)
from rmt_alpha.simulate import _sharding

DRAW_DTYPE = jnp.float32  # every random number is drawn in this dtype, then cast to the working dtype
CHUNK_BYTES = 1 << 30     # default working-memory budget of one chunk of trials


class Simulation(NamedTuple):
    """Monte-Carlo curves over alpha: accuracy, `E[y g]` and `E[g^2]`, each an `EmpiricalCurve`.

    Each curve holds per-trial values, mean and standard error, to compare with `predicted_accuracy` and
    `margin_moments` term by term.

    Attributes:
        accuracy: `EmpiricalCurve` of the test accuracy.
        margin_mean: `EmpiricalCurve` of `E[y g]`.
        margin_second_moment: `EmpiricalCurve` of `E[g^2]`.
    """

    accuracy: EmpiricalCurve
    margin_mean: EmpiricalCurve
    margin_second_moment: EmpiricalCurve


# ----------------------------------------------------------------------------------------------- pure pieces

def draw_mixture(key, n_samples: int, mean, dtype=None):
    """Draw `x = y * mean + z`, `z ~ N(0, I_p)`, balanced labels (half +1, half -1, shuffled).

    Randoms are drawn in float32 and cast to `dtype`, so every precision sees the same draws
    (theory/THEORY.md section 1).

    Args:
        key: a JAX PRNG key.
        n_samples: number of points.
        mean: (p,) the class mean.
        dtype: the output dtype (default: mean's dtype).

    Returns:
        `(X, y)`: X of shape (n_samples, p), y of shape (n_samples,) in {-1, +1}.
    """
    mean = jnp.asarray(mean)
    dtype = mean.dtype if dtype is None else dtype
    label_key, noise_key = jax.random.split(key)
    labels = jnp.where(jnp.arange(n_samples) < (n_samples + 1) // 2, 1.0, -1.0)
    y = jax.random.permutation(label_key, labels).astype(dtype)
    z = jax.random.normal(noise_key, (n_samples, mean.shape[0]), DRAW_DTYPE).astype(dtype)
    return y[:, None] * mean.astype(dtype)[None, :] + z, y


def source_classifier(key, mean, n_samples: int, gamma):
    """The ridge classifier of a fresh source sample of `n_samples` points of `x = y mean + z`.

    The model is that of theory/THEORY.md section 1.
    The fit sees the sample only through `Xs^T Xs` and `Xs^T ys`. With `u = Zs^T ys ~ N(0, N I_p)` and
    `W = Zs^T (I - ys ys^T / N) Zs ~ Wishart_p(N - 1, I)` independent of u, the class-mean estimate is
    `c = Xs^T ys / N = mean + u / N` and `Xs^T Xs / N = c c^T + W / N`, so (Sherman-Morrison)

        w_s = (c c^T + W / N + gamma I)^-1 c = v / (1 + c^T v),   v = (W / N + gamma I)^-1 c.

    When N > p, v is drawn exactly in distribution from 4 p - 1 random numbers instead of the sample's N p: the
    Golub-Kahan bidiagonalisation of a Gaussian (N - 1) x p matrix started at `q = c / |c|` gives
    `W = V B^T B V^T` with `V e_1 = q`, B upper bidiagonal with independent
    `B_ii ~ chi(N - i)` and `B_i,i+1 ~ chi(p - i)` (i = 1..p; Dumitriu and Edelman 2002), and, W being orthogonally
    invariant and independent of c, V's other columns a uniformly random orthonormal basis of `q`'s complement,
    independent of B. So with `t = (B^T B / N + gamma I)^-1 e_1` (a tridiagonal solve, by a backward recurrence),

        v = |c| (t_1 q + |t_2:p| r),   r uniform on the unit sphere orthogonal to q.

    When N <= p the sample itself is drawn and fitted in the dual form (`draw_mixture` and `ridge_classifier`).

    Args:
        key: a JAX PRNG key.
        mean: (p,) the source class mean `mu_s`.
        n_samples: N, the source sample size.
        gamma: the source ridge strength.

    Returns:
        (p,) the classifier `w_s`.
    """
    mean = jnp.asarray(mean)
    p = mean.shape[0]
    if n_samples <= p:
        return ridge_classifier(*draw_mixture(key, n_samples, mean), gamma)
    mean_key, diagonal_key, upper_key, direction_key = jax.random.split(key, 4)
    dtype = mean.dtype
    u = jax.random.normal(mean_key, (p,), DRAW_DTYPE) * np.float32(np.sqrt(n_samples))
    index = jnp.arange(p, dtype=DRAW_DTYPE)
    diagonal_sq = 2.0 * jax.random.gamma(diagonal_key, (n_samples - 1 - index) / 2.0, dtype=DRAW_DTYPE)
    upper_sq = 2.0 * jax.random.gamma(upper_key, (p - 1 - index[:-1]) / 2.0, dtype=DRAW_DTYPE)
    g = jax.random.normal(direction_key, (p,), DRAW_DTYPE).astype(dtype)
    diagonal_sq, upper_sq = diagonal_sq.astype(dtype), upper_sq.astype(dtype)
    # T = B^T B / N + gamma I: T_ii = (d_i^2 + e_(i-1)^2) / N + gamma, T_i,i+1 = d_i e_i / N
    main = (diagonal_sq + jnp.concatenate([jnp.zeros(1, dtype), upper_sq])) / n_samples + gamma
    off = jnp.sqrt(diagonal_sq[:-1] * upper_sq) / n_samples
    t_first, t_rest_norm = _first_column_of_inverse(main, off)
    class_mean = mean + u.astype(dtype) / n_samples
    norm = jnp.linalg.norm(class_mean)
    q = class_mean / norm
    r = g - (g @ q) * q
    r = r / jnp.linalg.norm(r)
    v = norm * (t_first * q + t_rest_norm * r)
    return v / (1.0 + norm * norm * t_first)


def _first_column_of_inverse(main, off):
    """`t = T^-1 e_1` for the symmetric tridiagonal T (diagonal `main` (p,), off-diagonal `off` (p - 1,)), as
    `(t_1, |t_2:p|)`. Rows 2..p of `T t = e_1` give `t_i = s_i t_(i-1)` with the backward recurrence
    `s_p = -off_(p-1) / main_p`, `s_i = -off_(i-1) / (main_i + off_i s_(i+1))`; row 1 gives
    `t_1 = 1 / (main_1 + off_1 s_2)`. For a positive definite T every denominator is positive (a Schur complement)."""

    if main.shape[0] == 1:
        return 1.0 / main[0], jnp.zeros((), main.dtype)

    def backward(following, row):
        diagonal, below, above = row
        ratio = -below / (diagonal + above * following)
        return ratio, ratio

    rows = (main[1:], off, jnp.concatenate([off[1:], jnp.zeros(1, off.dtype)]))
    following, ratios = jax.lax.scan(backward, jnp.zeros((), main.dtype), rows, reverse=True)
    t_first = 1.0 / (main[0] + off[0] * following)
    products = jnp.cumprod(ratios)
    return t_first, jnp.abs(t_first) * jnp.sqrt(jnp.sum(products * products))


def trial(key, source, target_mean, alpha, source_gamma, gamma, *, source_n, n, n_test) -> Scores:
    """One Monte-Carlo trial: source fit (`source_classifier`, unless w_s is given), target draw, fine-tuning, scores.

    Fine-tuning is done for every alpha at once (theory/THEORY.md section 1).

    Args:
        key: a PRNG key.
        source: `mu_s` (p,) when `source_n` is an int (the source ridge classifier is fitted on `source_n` fresh
            points with `source_gamma`), or the fixed classifier `w_s` (p,) when it is None. Several sources
            (theory/THEORY.md section 10): (K, p) rows, `source_gamma` (K,) and `source_n` a tuple of K entries.
        target_mean: `mu_t` (p,).
        alpha: (k,) base-rescaling factors, or (k, K) alpha vectors for K sources.
        source_gamma: the source ridge strength.
        gamma: fine-tuning ridge strength.
        source_n: source sample size, or None for a fixed `w_s` (a tuple for K sources).
        n: target training size.
        n_test: None for exact scores, else the size of a fresh test set.

    Returns:
        `Scores`, each of shape (k,).
    """
    source_key, target_key, test_key = jax.random.split(key, 3)
    fine = fit_affine(_draw_sources(source_key, source, source_gamma, source_n),
                      *draw_mixture(target_key, n, target_mean), gamma)
    if n_test is None:
        return exact_scores(fine, target_mean, alpha)
    return test_scores(fine, *draw_mixture(test_key, n_test, target_mean), alpha)


def _draw_sources(key, source, source_gamma, source_n):
    """The source classifier of a trial: (p,) for one source, (p, K) for K (`trial`'s arguments); each ridge
    source from its own key, independent of the others."""
    if not isinstance(source_n, tuple):
        return source if source_n is None else source_classifier(key, source, source_n, source_gamma)
    keys = jax.random.split(key, len(source_n))
    return jnp.stack([row if count is None else source_classifier(k, row, count, g)
                      for k, row, count, g in zip(keys, source, source_n, source_gamma)], axis=1)


@functools.partial(jax.jit, static_argnames=("source_n", "n", "n_test"))
def _simulate_trials(seed, trial_indices, source, target_mean, alpha, source_gamma, gamma, *, source_n, n, n_test):
    """`trial` for every index, key `fold_in(key(seed), index)`; vmapped, compiled once per shape."""
    base_key = jax.random.key(seed)
    keys = jax.vmap(lambda index: jax.random.fold_in(base_key, index))(trial_indices)
    one = functools.partial(trial, source_n=source_n, n=n, n_test=n_test)
    return jax.vmap(one, in_axes=(0, None, None, None, None, None))(keys, source, target_mean, alpha,
                                                                      source_gamma, gamma)


# ------------------------------------------------------------------------------------------------- checks

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
    The predictions it checks are those of theory/THEORY.md section 2.

    Args:
        source: a `SourceStats` (a fresh source sample and ridge fit every trial) or a fixed classifier `w_s`
            (1-D array of length p); or a list of K of them (theory/THEORY.md section 10: each ridge source drawn
            afresh and independently every trial, `w_alpha = Q (X^T y / n + gamma W alpha)`).
        target: the `TargetStats` (mean, n, gamma).
        alpha: scalar or 1-D array of alphas, shape (k,); with K sources, alpha vectors of shape (k, K).
        trials: number of independent trials (>= 1).
        seed: integer in [0, 2**32).
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
        ValueError: bad input (before anything is compiled), or a factorisation broke down (non-finite results:
            gamma too small for the precision).
        TypeError: `target` not a `TargetStats`, or `source` of the wrong type.

    Example:
        >>> from rmt_alpha import SourceStats, TargetStats
        >>> from rmt_alpha.simulate import simulate
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> sim = simulate(src, tgt, [0.0, 1.0, 3.0], trials=64, seed=0)   # compare with predicted_accuracy
    """
    if not isinstance(target, TargetStats):
        raise TypeError(f"target must be a TargetStats, got {type(target).__name__}")
    if is_source_list(source):
        if len(source) == 0:
            raise ValueError("source must be a non-empty list of sources (SourceStats or classifiers w_k)")
        drawn = [_one_source(item, f"source[{k}]", target) for k, item in enumerate(source)]
        source_vector = np.stack([vector for vector, _, _ in drawn])
        source_n = tuple(count for _, count, _ in drawn)
        source_gamma = np.array([value for _, _, value in drawn])
        alpha = np.atleast_2d(check_finite_array("alpha", alpha))
        if alpha.ndim != 2 or alpha.shape[1] != len(source):
            raise ValueError(f"alpha must have shape (k, {len(source)}) (one row per alpha vector, one column per "
                             f"source), got shape {np.shape(alpha)}")
    else:
        source_vector, source_n, source_gamma = _one_source(source, "source", target)
        alpha = alpha_grid(alpha)
    trials = check_count("trials", trials)
    n_test = None if n_test is None else check_count("n_test", n_test)
    seed = check_seed(seed)
    dtype = working_dtype(dtype)
    mesh = _sharding.trial_mesh(devices)
    if progress is None:
        progress = sys.stderr.isatty()
    p = target.p
    counts = source_n if isinstance(source_n, tuple) else (source_n,)
    per_trial_values = (sum(p * (count or 0) + min(p, count or 1) ** 2 for count in counts) + target.n * p
                        + min(p, target.n) ** 2 + (n_test or 0) * (p + alpha.size))
    if chunk_trials is None:
        chunk = _default_chunk(per_trial_values, dtype.itemsize, trials, mesh, progress)
    else:
        chunk = _sharding.padded_count(check_count("chunk_trials", chunk_trials), mesh)
    chunk = min(chunk, _sharding.padded_count(trials, mesh))

    arguments = (np.asarray(source_vector, dtype), np.asarray(target.mean, dtype), np.asarray(alpha, dtype),
                 np.asarray(source_gamma, dtype), np.asarray(target.gamma, dtype))
    pieces = []
    with precision(dtype), tqdm(total=trials, unit="trial", file=sys.stderr, disable=not progress,
                                 desc="simulate") as bar:
        for start in range(0, trials, chunk):
            indices = _sharding.shard_trials(np.arange(start, start + chunk, dtype=np.uint32), mesh)
            scores = _simulate_trials(seed, indices, *arguments, source_n=source_n, n=target.n, n_test=n_test)
            pieces.append(_sharding.gather(scores))
            bar.update(min(chunk, trials - start))
    per_trial = Scores(*(np.concatenate(values)[:trials].astype(np.float64) for values in zip(*pieces)))
    if not all(np.all(np.isfinite(values)) for values in per_trial):
        ridge = ", ".join(f"{value:g}" for value, count in zip(np.atleast_1d(source_gamma), counts)
                          if count is not None)
        raise ValueError(f"the simulation produced non-finite values in {dtype} (gamma={target.gamma:g}"
                         f"{f', source gamma={ridge}' if ridge else ''} is too small for "
                         f"this precision); use dtype='float64' or a larger gamma")
    return Simulation(*(summarize(alpha, values) for values in per_trial))


def _one_source(source, name: str, target: TargetStats):
    """`(vector, n, gamma)` of one source: a `SourceStats` (its mean, drawn afresh each trial) or a fixed classifier
    (n None)."""
    if isinstance(source, SourceStats):
        if source.p != target.p:
            raise ValueError(f"{name} must have dimension {target.p} (the target's p), got {source.p}")
        return source.mean, source.n, source.gamma
    if isinstance(source, TargetStats):
        raise TypeError(f"{name} must be a SourceStats or a 1-D classifier array w_s, got a TargetStats")
    return check_vector(f"{name} (the classifier w_s)", source, length=target.p), None, 1.0


def empirical_accuracy(source, target: TargetStats, alpha, *, trials: int, seed: int = 0, n_test: int | None = None,
                       dtype="float32", devices=None, chunk_trials: int | None = None,
                       progress: bool | None = False) -> EmpiricalCurve:
    """The Monte-Carlo accuracy-vs-alpha curve: `simulate(...).accuracy` (same arguments, see `simulate`).

    Args:
        source: a `SourceStats` or a fixed classifier `w_s` (p,).
        target: the `TargetStats` (mean, n, gamma).
        alpha: scalar or 1-D array of alphas, shape (k,).
        trials: number of independent trials (>= 1).
        seed: integer in [0, 2**32).
        n_test: None for the exact conditional scores, else the size of a fresh test set per trial.
        dtype: 'float32' or 'float64'.
        devices: None, an int k or a list of devices (the trial axis is sharded over them).
        chunk_trials: trials per compiled call.
        progress: show a tqdm bar over chunks on stderr.

    Returns:
        `EmpiricalCurve(alpha, mean, stderr, per_trial)`, per_trial of shape (trials, k).

    Raises:
        ValueError: as `simulate`.
        TypeError: as `simulate`.
    """
    return simulate(source, target, alpha, trials=trials, seed=seed, n_test=n_test, dtype=dtype, devices=devices,
                    chunk_trials=chunk_trials, progress=progress).accuracy
