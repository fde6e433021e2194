"""Result types shared by the simulators and the experiments (NamedTuples: pytrees, so vmap batches them)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EmpiricalCurve(NamedTuple):
    """A measured accuracy-vs-alpha curve.

    Attributes:
        alpha: the alphas, shape (k,).
        mean: mean accuracy over trials, shape (k,).
        stderr: standard error of that mean, `std(ddof=1) / sqrt(trials)`, shape (k,).
        per_trial: the accuracy of every trial, shape (trials, k).
    """

    alpha: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    per_trial: np.ndarray


def summarize(alpha, per_trial) -> EmpiricalCurve:
    """Mean and standard error over the trial axis (axis 0) of `per_trial` (trials, k)."""
    per_trial = np.asarray(per_trial, dtype=np.float64)
    trials = per_trial.shape[0]
    stderr = per_trial.std(axis=0, ddof=1) / np.sqrt(trials) if trials > 1 else np.full(per_trial.shape[1:], np.nan)
    return EmpiricalCurve(np.asarray(alpha, dtype=np.float64), per_trial.mean(axis=0), stderr, per_trial)
