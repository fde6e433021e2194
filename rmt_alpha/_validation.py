"""Input checks shared by the public API: each error names the parameter, what was expected and what came in."""

from __future__ import annotations

import numbers

import numpy as np


def describe_value(value) -> str:
    """A received value as error messages print it: a number plainly (numpy and jax scalars as the Python number,
    so `nan` or `-5`, never `np.float64(nan)`), an array by its shape and dtype, anything else by its repr cut at
    60 characters.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha._validation import describe_value
        >>> [describe_value(v) for v in (np.float64("nan"), np.int64(-5), 0.5, "x", np.zeros((2, 3)))]
        ['nan', '-5', '0.5', "'x'", 'array of shape (2, 3) and dtype float64']
    """
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, type):
        if np.shape(value) != ():
            return f"array of shape {tuple(np.shape(value))} and dtype {value.dtype}"
        value = np.asarray(value).item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_positive_float(name: str, value, *, allow_zero: bool = False) -> float:
    """Return `value` as a finite float > 0 (>= 0 with `allow_zero`), or raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if not (isinstance(value, np.ndarray) and value.ndim == 0):
            raise TypeError(f"{name} must be a real number, got {describe_value(value)}")
    value = float(value)
    bound = "a finite number >= 0" if allow_zero else "a finite number > 0"
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_count(name: str, value, *, minimum: int = 1) -> int:
    """Return `value` as an int >= `minimum` (a count: samples, trials, layers, epochs, a dimension); integral floats
    such as 1e7 are accepted."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {describe_value(value)}")
    if not np.isfinite(value) or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {describe_value(value)}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {int(value)}")
    return int(value)


def check_vector(name: str, value, *, length: int | None = None) -> np.ndarray:
    """Return `value` as a read-only finite float64 1-D array (of `length` if given)."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a 1-D array of real numbers, got {describe_value(value)}") from error
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got an array of shape {array.shape}")
    if length is not None and array.size != length:
        raise ValueError(f"{name} must have length {length} (the dimension p), got length {array.size}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} must contain only finite numbers, got {float(array[bad])!r} at index {bad}")
    array.setflags(write=False)
    return array


def _not_real(value, array: np.ndarray) -> str | None:
    """What in `value` (seen as `array`) is not a real number, or None when everything is."""
    if array.dtype.kind in "iuf":
        return None
    if array.dtype.kind != "O":
        return f"type {type(value).__name__}" if array.ndim == 0 and not isinstance(value, np.ndarray) else (
            f"dtype {array.dtype}")
    for item in array.flat:
        if not isinstance(item, (numbers.Real, np.integer, np.floating)) or isinstance(item, (bool, np.bool_)):
            return f"type {type(item).__name__}" if array.ndim == 0 else f"an element of type {type(item).__name__}"
    return None


def check_real_array(name: str, value) -> np.ndarray:
    """Return `value` as a float64 array of any shape with no NaN (infinities are allowed).

    Only real numbers are accepted: None, strings, booleans and complex numbers raise a TypeError naming their type
    (numpy alone would turn None into NaN and '1' into 1.0).
    """
    try:
        received = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {describe_value(value)}"
                        ) from error
    problem = _not_real(value, received)
    if problem is not None:
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {describe_value(value)} "
                        f"({problem})")
    array = np.asarray(received, dtype=np.float64)
    if np.any(np.isnan(array)):
        raise ValueError(f"{name} must not contain NaN, got {np.count_nonzero(np.isnan(array))} NaN value(s)")
    return array


def check_finite_array(name: str, value) -> np.ndarray:
    """Return `value` as a float64 array of any shape with only finite entries."""
    array = check_real_array(name, value)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers, got an infinite value")
    return array


def check_positive_array(name: str, value) -> np.ndarray:
    """Return `value` as a float64 array (0-d for a scalar) of finite entries > 0."""
    array = check_finite_array(name, value)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got a minimum of {float(array.min())!r}")
    return array[()] if array.ndim == 0 else array


def check_finite_float(name: str, value) -> float:
    """Return `value` as a finite float, or raise naming `name` (TypeError for a non-number)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {describe_value(value)}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {float(value)!r}")
    return float(value)


def check_seed(seed) -> np.uint32:
    """A seed for `jax.random.key`: an integer in [0, 2**32)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {describe_value(seed)}")
    return np.uint32(seed)


def check_signed_labels(name: str, y, n: int | None = None) -> np.ndarray:
    """Binary labels in {-1, +1} (float64), with `n` labels on the last axis when `n` is given."""
    y = check_finite_array(name, y)
    if (n is not None and y.shape[-1:] != (n,)) or not np.all(np.isin(y, (-1.0, 1.0))):
        expected = "labels" if n is None else f"{n} labels"
        raise ValueError(f"{name} must hold {expected} in {{-1, +1}}, got shape {y.shape} and the values "
                         f"{np.unique(y)[:4].tolist()}")
    return y


def as_signed_labels(name: str, y) -> np.ndarray:
    """Binary labels as float64 in {-1, +1}: {-1, +1} are kept, {0, 1} are mapped explicitly by `2 y - 1`."""
    y = check_finite_array(name, y)
    values = set(np.unique(y).tolist())
    if values <= {-1.0, 1.0}:
        return y
    if values <= {0.0, 1.0}:
        return 2.0 * y - 1.0
    raise ValueError(f"{name} must hold labels in {{-1, +1}} or {{0, 1}}, got the values {sorted(values)[:6]}")


def check_rows(name: str, X, p: int | None = None, minimum: int = 1, width_of: str = "") -> np.ndarray:
    """A 2-D finite float64 array of at least `minimum` rows (and `p` columns when given, the width of `width_of`),
    or an error naming `name`."""
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
        raise ValueError(f"{name} must contain only finite numbers, got {float(X[tuple(bad)])!r} at row {bad[0]}, "
                         f"column {bad[1]}")
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
