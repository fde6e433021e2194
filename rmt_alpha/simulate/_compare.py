"""Theory against simulation, alpha by alpha (theory/THEORY.md sections 2 and 3): the predicted accuracy,
`E[y g]` and `E[g^2]` next to their Monte-Carlo means, standard errors and the gap in standard errors."""

from __future__ import annotations

import numpy as np

from rmt_alpha._accuracy import margin_moments, predicted_accuracy
from rmt_alpha._stats import TargetStats
from rmt_alpha._validation import check_count
from rmt_alpha.simulate._montecarlo import simulate

QUANTITIES = (("", "accuracy"), ("margin_mean_", "margin_mean"), ("second_moment_", "margin_second_moment"))


def compare_with_theory(source, target: TargetStats, alpha, *, trials: int, seed: int = 0,
                        n_test: int | None = None, dtype="float32", progress: bool | None = False) -> list[dict]:
    """Theory against simulation, one row per alpha, for the accuracy, `E[y g]` and `E[g^2]`.

    The theory is the deterministic equivalent of theory/THEORY.md section 2 (`predicted_accuracy`,
    `margin_moments`); the simulation is `simulate`. Each row holds the theory, the simulation mean, its standard
    error and the gap in standard errors, for the accuracy (no prefix), `E[y g]` (`margin_mean_*`) and `E[g^2]`
    (`second_moment_*`).

    Args:
        source: a `SourceStats` or a fixed classifier `w_s` (as in `simulate`).
        target: the `TargetStats`.
        alpha: 1-D array of alphas, shape (k,).
        trials: Monte-Carlo trials (>= 2: a standard error needs two; keyword-only).
        seed: integer seed (keyword-only; as in `simulate`).
        n_test: test points per trial, or None for the exact conditional accuracy (keyword-only; as in `simulate`).
        dtype: 'float32' or 'float64' (keyword-only; as in `simulate`).
        progress: show a progress bar (None: automatic; keyword-only; as in `simulate`).

    Returns:
        list of dict: k rows with keys `alpha`, `predicted`, `measured`, `stderr`, `gap_in_stderr` and the same four
        with the prefixes `margin_mean_` and `second_moment_`.

    Raises:
        ValueError: when `trials` < 2, or for any input `simulate` rejects.

    Example:
        >>> from rmt_alpha import SourceStats, TargetStats
        >>> from rmt_alpha.simulate import compare_with_theory
        >>> src = SourceStats.from_norm(40, 1.5, 200, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 30, 1.0)
        >>> sorted(compare_with_theory(src, tgt, [1.0], trials=8)[0])[:3]
        ['alpha', 'gap_in_stderr', 'margin_mean_gap_in_stderr']
    """
    trials = check_count("trials", trials, minimum=2)
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    result = simulate(source, target, alpha, trials=trials, seed=seed, n_test=n_test, dtype=dtype, progress=progress)
    moments = margin_moments(source, target, alpha)
    theory = {"accuracy": np.atleast_1d(predicted_accuracy(source, target, alpha)),
              "margin_mean": np.atleast_1d(moments.mean), "margin_second_moment": np.atleast_1d(moments.second_moment)}
    rows = []
    for i, value in enumerate(alpha):
        row = {"alpha": float(value)}
        for prefix, name in QUANTITIES:
            curve = getattr(result, name)
            row.update({f"{prefix}predicted": float(theory[name][i]), f"{prefix}measured": float(curve.mean[i]),
                        f"{prefix}stderr": float(curve.stderr[i]),
                        f"{prefix}gap_in_stderr": float((curve.mean[i] - theory[name][i]) / curve.stderr[i])})
        rows.append(row)
    return rows
