"""The one fitting engine for given arrays (theory/THEORY.md section 1), shared by the Monte-Carlo
(`rmt_alpha.simulate`) and the real-data experiments (`rmt_alpha.experiments`), so that neither imports the other.

`fit_affine(w_s, X, y, gamma)` gives the alpha-fine-tuned ridge classifier
`w_alpha = Q (X^T y / n + alpha gamma w_s)` as `target_part + alpha * source_part` (one factorisation for every
alpha); `ridge_classifier` is its alpha = 0 part with `w_s = 0`; `exact_scores` and `test_scores` score a grid of
alphas; `fit_and_score` does all of it on given arrays, vectorised over splits, with its inputs checked.
Every factorisation is an `spd_solve`; `solve_one_at_a_time(platform)` is where a vmapped batch of them is
decided to run one at a time (CPU) or as one batched call (GPU, TPU).
"""

from rmt_alpha.linear._engine import (
    FineTuned as FineTuned,
    Scores as Scores,
    exact_scores as exact_scores,
    fit_affine as fit_affine,
    ridge_classifier as ridge_classifier,
    solve_one_at_a_time as solve_one_at_a_time,
    spd_solve as spd_solve,
    test_scores as test_scores,
)
from rmt_alpha.linear._given_data import (
    fit_and_score as fit_and_score,
    fit_ridge as fit_ridge,
)

__all__ = [
    "FineTuned",
    "Scores",
    "exact_scores",
    "fit_affine",
    "fit_and_score",
    "fit_ridge",
    "ridge_classifier",
    "solve_one_at_a_time",
    "spd_solve",
    "test_scores",
]
