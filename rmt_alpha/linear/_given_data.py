"""Fine-tune on given arrays and score on given test arrays, vectorised over many splits in one compiled call
(theory/THEORY.md section 1): the entry point of the real-data experiments into the fitting engine."""

from __future__ import annotations

import functools

import jax
import numpy as np

from rmt_alpha._validation import as_signed_labels, check_finite_array, check_positive_float, check_vector
from rmt_alpha.linear._engine import (
    Scores,
    alpha_grid,
    fit_affine,
    precision,
    ridge_classifier,
    test_scores,
    working_dtype,
)


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
    return test_scores(fit_affine(w_s, X, y, gamma), X_test, y_test, alpha)


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
    """Fine-tune on given target data for every alpha and score on given test data, vectorised over splits.

    The engine's `fit_affine` and `test_scores` for real features, in one compiled call for many target splits:
    `w_alpha = Q (X^T y / n + alpha gamma w_s)`, `Q = (X^T X / n + gamma I)^-1` (theory/THEORY.md section 1); the
    scores are the test accuracy (`y g > 0`), `mean(y g)` and `mean(g^2)` of `g = X_test w_alpha`. Labels may be
    {-1, +1} or {0, 1} (mapped by `2 y - 1`). A test part without a split axis is shared by every split; the split
    counts of the train and test parts must agree when both have one.

    Args:
        source: the source classifier `w_s` (1-D, length p), or a pair `(source_X, source_y)` of source data
            ((N, p) and (N,)) on which the ridge classifier is fitted with `source_gamma`.
        X: target training features: (n, p), or stacked splits (splits, n, p), or, with `train_index`, the pool of
            rows (n_pool, p) to select from.
        y: target training labels, (n,), (splits, n) or (n_pool,), matching `X`.
        X_test: target test features, in the same three layouts as `X` (the pool with `test_index`).
        y_test: target test labels, matching `X_test`.
        alpha: scalar or 1-D array (k,) of alphas.
        gamma: fine-tuning ridge strength > 0 (keyword-only).
        source_gamma: the source ridge strength (> 0), required with source data (keyword-only).
        train_index: None, or integer rows of `X` of shape (n,) or (splits, n) (keyword-only).
        test_index: None, or integer rows of `X_test` of shape (n_test,) or (splits, n_test); when `X_test is X`,
            disjoint from `train_index` in every split (keyword-only).
        dtype: 'float32' or 'float64', the working precision (as in `simulate`; keyword-only).

    Returns:
        Scores: float64 numpy arrays of shape (k,), or (splits, k) when any part has a split axis.

    Raises:
        ValueError: for a malformed input (shapes, labels, indices out of range, overlapping train and test rows,
            a missing `source_gamma`), naming the parameter; or when the scores are not finite in `dtype`.
        TypeError: for non-integer indices or an unknown dtype.

    Example:
        30 random splits of a pool, 20 training rows and 100 test rows each:

        >>> import numpy as np
        >>> from rmt_alpha.linear import fit_and_score
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
    alpha = alpha_grid(alpha)
    dtype = working_dtype(dtype)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(f"source must be w_s or a pair (source_X, source_y), got a tuple of {len(source)}")
        if source_gamma is None:
            raise ValueError("source_gamma is required when source is source data (source_X, source_y)")
        w_s = fit_ridge(source[0], source[1], source_gamma, names=("source_X", "source_y", "source_gamma"))
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
    with precision(dtype):
        cast = functools.partial(np.asarray, dtype=dtype)
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


def fit_ridge(X, y, gamma, *, names=("X", "y", "gamma")) -> np.ndarray:
    """The ridge classifier `w = (X^T X / n + gamma I)^-1 X^T y / n` of given data, in float64.

    The engine's `ridge_classifier` (primal or dual form by shape; theory/THEORY.md section 1), with its inputs checked.

    Args:
        X: (n, p) features.
        y: (n,) labels in {-1, +1} or {0, 1} (mapped by `2 y - 1`).
        gamma: ridge strength > 0.
        names: the argument names used in error messages, `(X, y, gamma)` (keyword-only).

    Returns:
        np.ndarray: `w`, float64 of shape (p,).

    Raises:
        ValueError: when `gamma` is not positive, the data are not finite or the shapes do not match.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.linear import fit_ridge
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> fit_ridge(X, [1, 1, -1, -1], 0.5).round(3)
        array([0.5, 0.5])
    """
    X_name, y_name, gamma_name = names
    gamma = check_positive_float(gamma_name, gamma)
    X = _check_features(X_name, X)
    y = as_signed_labels(y_name, y)
    if X.ndim != 2 or y.shape != X.shape[:1]:
        raise ValueError(f"{X_name} must have shape (n, p) and {y_name} (n,), got {X.shape} and {y.shape}")
    with precision(np.dtype(np.float64)):
        w = jax.jit(ridge_classifier)(X, y, np.float64(gamma))
        return np.asarray(w, dtype=np.float64)
