"""The regression variant of alpha fine-tuning (theory/THEORY.md section 6).

Multi-output ridge: `Y = W_t X + sigma E` with `X` (p x n) white, `W_t` (d x p), fine-tuned from a source map
`W_s` as `W_alpha = (Y X^T / n + alpha gamma W_s) Q`, `Q = (X X^T / n + gamma I)^-1`. With `kappa`, `h` the ridge
scalars of `(eta, gamma)` (`rmt_alpha._theory.ridge_scalars`), the test risk `E |y - W_alpha x|^2` on a fresh point
tends to

    [ kappa^2 |W_t - alpha W_s|_F^2 + sigma^2 d (1 + kappa)^2 ] / ((1 + kappa)^2 - eta),

theory/THEORY.md's expression with its square completed, and `(1 + kappa)^2 - eta = h (1 + kappa)^2 > 0`. It is
minimised at `alpha* = tr(W_t W_s^T) / tr(W_s W_s^T)`, whatever gamma and n.

Arguments come source first, as everywhere in the package (`(source, target)`).
"""

from __future__ import annotations

import numpy as np

from rmt_alpha._theory import ridge_scalars
from rmt_alpha._validation import check_count, check_finite_array, check_positive_array, check_positive_float


def _check_maps(source_weights, target_weights):
    w_t = check_finite_array("target_weights", target_weights)
    w_s = check_finite_array("source_weights", source_weights)
    if w_t.ndim not in (1, 2):
        raise ValueError(f"target_weights must be a (d, p) matrix or a (p,) vector, got shape {w_t.shape}")
    if w_t.shape != w_s.shape:
        raise ValueError(f"source_weights must have the shape of target_weights {w_t.shape}, got {w_s.shape}")
    return np.atleast_2d(w_t), np.atleast_2d(w_s)


def regression_risk(source_weights, target_weights, noise_std, n, gamma, alpha):
    """Asymptotic test risk of the alpha-fine-tuned multi-output ridge regression (theory/THEORY.md section 6).

    Broadcast over alpha and gamma.

    Args:
        source_weights: `W_s`, shape (d, p) (or (p,) for one output).
        target_weights: `W_t`, same shape.
        noise_std: `sigma >= 0`.
        n: target sample count.
        gamma: ridge strength(s) > 0.
        alpha: scalar or array.

    Returns:
        float64 array of the broadcast shape of alpha and gamma.

    Raises:
        ValueError: weights of different shapes, or an argument out of range (named in the message).

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import regression_risk
        >>> w_t = np.ones((1, 4))
        >>> float(regression_risk(0.5 * w_t, w_t, 0.0, n=4, gamma=1.0, alpha=2.0))  # alpha W_s = W_t: no error
        0.0
    """
    w_t, w_s = _check_maps(source_weights, target_weights)
    sigma = check_positive_float("noise_std", noise_std, allow_zero=True)
    n = check_count("n", n)
    gamma = check_positive_array("gamma", gamma)
    alpha = check_finite_array("alpha", alpha)
    d, p = w_t.shape
    _, kappa, h = ridge_scalars(p / n, gamma)
    # |W_t - alpha W_s|_F^2 = |W_t|^2 - 2 alpha tr(W_t W_s^T) + alpha^2 |W_s|^2: three traces serve an alpha grid.
    # The expansion loses up to eps |W_t|^2 in absolute terms where alpha W_s nearly equals W_t; the misfit is
    # clipped at 0 there, and the noise term sigma^2 d (1 + kappa)^2 is computed apart, so it keeps every digit.
    misfit = np.sum(w_t * w_t) - 2.0 * alpha * np.sum(w_t * w_s) + alpha**2 * np.sum(w_s * w_s)
    misfit = np.maximum(misfit, 0.0)
    return ((kappa**2 * misfit + sigma**2 * d * (1.0 + kappa) ** 2) / (h * (1.0 + kappa) ** 2))[()]


def regression_optimal_alpha(source_weights, target_weights) -> float:
    """`alpha* = tr(W_t W_s^T) / tr(W_s W_s^T)`, the risk minimiser (theory/THEORY.md section 6); 0 when `W_s = 0`.

    Args:
        source_weights: `W_s`, shape (d, p) (or (p,) for one output).
        target_weights: `W_t`, same shape.

    Returns:
        float: alpha*.

    Raises:
        ValueError: weights of different shapes.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha import regression_optimal_alpha
        >>> regression_optimal_alpha(0.5 * np.ones((1, 4)), np.ones((1, 4)))
        2.0
    """
    w_t, w_s = _check_maps(source_weights, target_weights)
    norm = float(np.sum(w_s * w_s))
    return float(np.sum(w_t * w_s)) / norm if norm > 0 else 0.0
