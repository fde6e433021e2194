"""The frozen-encoder rows of the text transfer: a ridge head on the frozen encoder's mean-pooled features, on a
fine-tuning seed's own rows, at alpha = 1 and at `rmt_alpha.choose_alpha`'s alpha (theory/THEORY.md sections 1, 3
and 5).

It is the honest protocol of step 1 on one split: the source standardised with its own rows and its ridge head
`w_s` fitted on every source row; the target standardised with the seed's training and pool rows (never the
validation or test rows); the alpha-fine-tuned ridge `w_alpha = Q (X^T y / n + alpha gamma w_s)` on the seed's
`n_train` labelled rows (`rmt_alpha.linear.fit_affine`, through `fit_splits`); `choose_alpha` with its default
settings and the seed's pool as its unlabelled rows. Nothing here sees the held-out labels alpha-LoRA's optimizer
sees, nor the validation labels (their accuracy is reported, never used).
"""

from __future__ import annotations

import time

import numpy as np

from rmt_alpha._choose import choose_alpha
from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._splits import Splits, fit_splits, split_accuracy

FROZEN_METHODS = ("frozen_ridge_alpha1", "frozen_ridge_choose_alpha")


def frozen_ridge(source: Domain, target: Domain, rows: dict, method: str, *, source_gamma: float = 1.0,
                 gamma: float = 1.0) -> dict:
    """One frozen-encoder row on one seed's rows: its alpha, test and validation accuracy, cost and size.

    Args:
        source: the source `Domain` of encoder features (every row fits `w_s`).
        target: the target `Domain` of encoder features.
        rows: the seed's disjoint row indices into `target` ("train", "val", "pool", "test"; `split_rows`).
        method: one of `FROZEN_METHODS`.
        source_gamma: ridge strength of the source head.
        gamma: fine-tuning ridge strength (choose_alpha's default, 1).

    Returns:
        dict: test_accuracy, val_accuracy, alpha (the alpha used), alpha_estimate, choice_reason and choice_theory
        (choose_alpha's, None at alpha = 1), trainable (the p weights of `w_alpha`, plus alpha when it is chosen)
        and wall_time (seconds: preprocessing, choice, fit and scoring).

    Raises:
        ValueError: an unknown `method`.
    """
    if method not in FROZEN_METHODS:
        raise ValueError(f"method must be one of {FROZEN_METHODS}, got {method!r}")
    started = time.perf_counter()
    scored = np.concatenate([rows["val"], rows["test"]])
    w_s, data = preprocess(source, target, Splits(rows["train"][None], rows["pool"][None], scored[None]),
                           source_gamma=source_gamma)
    choice = None
    if method == "frozen_ridge_choose_alpha":
        choice = choose_alpha(w_s, data.X_train[0], data.y_train[0], unlabelled=data.X_pool[0], gamma=gamma)
    alpha = 1.0 if choice is None else float(choice.alpha)
    fitted = fit_splits(w_s, data.X_train, data.y_train, gamma)
    n_val = len(rows["val"])
    val, test = (split_accuracy(fitted, data.X_test[:, part], data.y_test[:, part], np.array([[alpha]]))[0, 0]
                 for part in (slice(None, n_val), slice(n_val, None)))
    p = data.X_train.shape[-1]
    return {"test_accuracy": float(test), "val_accuracy": float(val),
            "alpha": alpha, "alpha_estimate": None if choice is None else float(choice.alpha_estimate),
            "choice_reason": None if choice is None else choice.reason,
            "choice_theory": None if choice is None else f"{choice.covariance}: {choice.covariance_reason}",
            "trainable": p + (choice is not None),
            "wall_time": time.perf_counter() - started}


__all__ = ["FROZEN_METHODS", "frozen_ridge"]
