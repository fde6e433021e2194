"""rmt_alpha: random-matrix theory of alpha-LoRA (arXiv 2510.21345).

The deterministic-equivalent solver (`predicted_accuracy`, `optimal_alpha`, ...), a plain-numpy Monte-Carlo
reference, and the command line `rmt-alpha`. The maths is in THEORY.md and `theory/`.
"""

from rmt_alpha.optimize import (
    GammaOptimum,
    alpha_bar,
    optimal_alpha,
    optimal_alpha_gamma,
    optimal_gamma,
)
from rmt_alpha.regression import regression_optimal_alpha, regression_risk
from rmt_alpha.results import EmpiricalCurve
from rmt_alpha.stats import Alignment, SourceStats, TargetStats, alignment
from rmt_alpha.theory import (
    Moments,
    margin_moments,
    predicted_accuracy,
    predicted_risk,
    ridge_scalars,
    source_accuracy,
    source_invariants,
)

__version__ = "0.1.0"

__all__ = [
    "Alignment",
    "EmpiricalCurve",
    "GammaOptimum",
    "Moments",
    "SourceStats",
    "TargetStats",
    "alignment",
    "alpha_bar",
    "margin_moments",
    "optimal_alpha",
    "optimal_alpha_gamma",
    "optimal_gamma",
    "predicted_accuracy",
    "predicted_risk",
    "regression_optimal_alpha",
    "regression_risk",
    "ridge_scalars",
    "source_accuracy",
    "source_invariants",
]
