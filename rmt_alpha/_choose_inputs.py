"""Checked inputs of choose_alpha: feature rows, binary labels, and the source in any of its three forms (a classifier, a SourceStats, or source data fitted by ridge)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sklearn.linear_model

from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._theory import ridge_scalars
from rmt_alpha._validation import (
    as_signed_labels,
    check_vector,
    describe_value,
)


def check_rows(name: str, X, p: int | None = None, minimum: int = 1, width_of: str = "") -> np.ndarray:
    """A 2-D finite float64 array of at least `minimum` rows (and `p` columns when given), or an error naming it."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a 2-D array of real numbers, got {type(X).__name__}") from error
    if X.ndim != 2 or X.shape[0] < minimum:
        raise ValueError(f"{name} must be a 2-D array (rows, features) with at least {minimum} row(s), "
                         f"got shape {X.shape}")
    if p is not None and X.shape[1] != p:
        raise ValueError(f"{name} must have {p} columns (the width of {width_of}), got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name} must contain only finite numbers, got {describe_value(X[tuple(bad)])} at row "
                         f"{bad[0]}, column {bad[1]}")
    return X


def check_binary_labels(name: str, y, rows: int, rows_name: str) -> np.ndarray:
    """Labels in {-1, +1} or {0, 1} (mapped to -1, +1), one per row of `rows_name`, at least 2 of each class."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numeric labels in {{-1, +1}} or {{0, 1}}, got dtype {y.dtype}")
    y = as_signed_labels(name, np.ravel(y) if y.ndim == 2 and 1 in y.shape else y)
    if y.shape != (rows,):
        raise ValueError(f"{name} must have one label per row of {rows_name} ({rows}), got shape {y.shape}")
    counts = {label: int(np.sum(y == label)) for label in (-1.0, 1.0)}
    if min(counts.values()) < 2:
        raise ValueError(f"{name} must contain at least 2 rows of each class (the U-statistics and the residual "
                         f"covariance need pairs), got {counts[-1.0]} negative and {counts[1.0]} positive")
    return y


class _Source(NamedTuple):
    theory: object         # what the theory takes: w_s (p,) or a SourceStats
    vector: np.ndarray     # v with s = <v, mu_t>: w_s, or mu_s
    labeller: np.ndarray   # the source classifier inside the fine-tuned labeller: w_s, or E[w_s] = mu_s / lam_s
    description: str


def resolve_source(source, p: int, source_gamma: float) -> _Source:
    """`source` as a classifier `w_s` (1-D), a `SourceStats`, or source data `(X_s, y_s)` (a ridge classifier is
    fitted with `source_gamma`: `w_s = (X_s^T X_s / N + gamma_s I)^-1 X_s^T y_s / N`, scikit-learn's `Ridge`)."""
    if isinstance(source, TargetStats):
        raise TypeError("source must be a classifier w_s, a SourceStats or source data (X_s, y_s), got a TargetStats")
    if isinstance(source, SourceStats):
        if source.p != p:
            raise ValueError(f"source.mean must have length {p} (the width of X), got {source.p}")
        lam_s = source.mean_norm_sq + 1.0 + ridge_scalars(source.eta, source.gamma).kappa
        return _Source(source, source.mean, source.mean / lam_s,
                       f"SourceStats (ridge source theory: |mu_s| = {np.sqrt(source.mean_norm_sq):.4g}, "
                       f"n = {source.n}, gamma = {source.gamma:g}); the labeller uses E[w_s] = mu_s / lam_s")
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(f"source data must be a pair (X_s, y_s), got a tuple of length {len(source)}")
        X_s = check_rows("source X_s", source[0], p, minimum=4, width_of="X")
        y_s = check_binary_labels("source y_s", source[1], X_s.shape[0], "X_s")
        ridge = sklearn.linear_model.Ridge(alpha=X_s.shape[0] * source_gamma, fit_intercept=False).fit(X_s, y_s)
        w_s = check_vector("the fitted source classifier", ridge.coef_)
        return _Source(w_s, w_s, w_s, f"ridge classifier fitted on the source data ({X_s.shape[0]} rows, "
                                      f"gamma_s = {source_gamma:g})")
    w_s = check_vector("source (the classifier w_s)", source)
    if w_s.size != p:
        raise ValueError(f"source (the classifier w_s) must have length {p} (the width of X), got {w_s.size}")
    if not np.any(w_s):
        raise ValueError("source (the classifier w_s) must not be all zeros: alpha would have no effect")
    return _Source(w_s, w_s, w_s, "the given classifier w_s")
