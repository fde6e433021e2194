"""rmt_alpha: random-matrix theory of alpha-LoRA (arXiv 2510.21345).

The deterministic-equivalent solver (`predicted_accuracy`, `optimal_alpha`, ...; with covariances,
`CovarianceProblem`), the JAX simulator (module `rmt_alpha.simulate`), the real-data experiments (`run_transfer`,
`run_amazon_experiment`), the transformer case (modules `rmt_alpha.adapters`, `rmt_alpha.finetune`,
`rmt_alpha.transformer_experiment`, `rmt_alpha.pretrained`), figures (`rmt_alpha.plots`) and the command line
`rmt-alpha`. The maths is in THEORY.md and `theory/`.
"""

from rmt_alpha.adapters import AdapterConfig
from rmt_alpha.covariance import (
    CovarianceProblem,
    FixedPoint,
    MarginCoefficients,
    covariance_conditional_accuracy,
    covariance_margin_moments,
    estimate_covariance,
    estimate_source_stats,
    estimate_target_stats,
    make_gaussian_mixture,
    ridge_classifier_moments,
    solve_fixed_point,
)
from rmt_alpha.data import Domain, amazon_pairs, load_amazon, load_amazon_domain, load_digit_pair, load_digit_tasks
from rmt_alpha.estimation import (
    estimate_alignment,
    estimate_from_pool,
    fit_standardization,
    source_whitening,
    target_stats_from_invariants,
)
from rmt_alpha.finetune import FinetuneConfig
from rmt_alpha.glue import read_task
from rmt_alpha.glue_experiment import GlueConfig, run_glue
from rmt_alpha.models import TransformerConfig
from rmt_alpha.optimize import (
    GammaOptimum,
    alpha_bar,
    optimal_alpha,
    optimal_alpha_gamma,
    optimal_gamma,
)
from rmt_alpha.pretrained import load_pretrained
from rmt_alpha.regression import regression_optimal_alpha, regression_risk
from rmt_alpha.results import EmpiricalCurve
from rmt_alpha.reviews import ReviewTask, make_reviews
from rmt_alpha.stats import Alignment, SourceStats, Spectrum, TargetStats, alignment
from rmt_alpha.theory import (
    Moments,
    margin_moments,
    predicted_accuracy,
    predicted_risk,
    ridge_scalars,
    source_accuracy,
    source_invariants,
)
from rmt_alpha.transfer import (
    predict_vs_measure,
    run_amazon_experiment,
    run_digits_experiment,
    run_paper_mode,
    run_paper_table,
    run_transfer,
)
from rmt_alpha.transformer_experiment import ExperimentConfig, run_experiment

__version__ = "0.1.0"

__all__ = [
    "AdapterConfig",
    "Alignment",
    "CovarianceProblem",
    "Domain",
    "EmpiricalCurve",
    "ExperimentConfig",
    "FinetuneConfig",
    "FixedPoint",
    "GammaOptimum",
    "GlueConfig",
    "MarginCoefficients",
    "Moments",
    "ReviewTask",
    "SourceStats",
    "Spectrum",
    "TargetStats",
    "TransformerConfig",
    "alignment",
    "alpha_bar",
    "amazon_pairs",
    "covariance_conditional_accuracy",
    "covariance_margin_moments",
    "estimate_alignment",
    "estimate_covariance",
    "estimate_from_pool",
    "estimate_source_stats",
    "estimate_target_stats",
    "fit_standardization",
    "load_amazon",
    "load_amazon_domain",
    "load_digit_pair",
    "load_digit_tasks",
    "load_pretrained",
    "make_gaussian_mixture",
    "make_reviews",
    "margin_moments",
    "optimal_alpha",
    "optimal_alpha_gamma",
    "optimal_gamma",
    "predict_vs_measure",
    "predicted_accuracy",
    "predicted_risk",
    "read_task",
    "regression_optimal_alpha",
    "regression_risk",
    "ridge_classifier_moments",
    "ridge_scalars",
    "run_amazon_experiment",
    "run_digits_experiment",
    "run_experiment",
    "run_glue",
    "run_paper_mode",
    "run_paper_table",
    "run_transfer",
    "solve_fixed_point",
    "source_accuracy",
    "source_invariants",
    "source_whitening",
    "target_stats_from_invariants",
]
