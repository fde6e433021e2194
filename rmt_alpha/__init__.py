"""rmt_alpha: random-matrix theory of alpha-LoRA (El Firdoussi, Chayti, Seddik, Jaggi, arXiv 2510.21345).

The top level is the maths: task statistics (`SourceStats`, `TargetStats`), the deterministic equivalents of the
alpha-fine-tuned classifier (`predicted_accuracy`, `margin_moments`; with covariances, `CovarianceProblem`), the
optimal alpha and gamma, the regression variant, phase maps and estimation from data. The subpackages build on it:
`linear` (the fitting engine for given arrays), `simulate` (the JAX Monte-Carlo), `data` (loaders), `nn`
(alpha-LoRA in a transformer), `experiments` (protocols, tables), `plots` (figures), `sklearn` (the estimator
`AlphaLoRAClassifier`); the command line is
`rmt-alpha` (`rmt_alpha.cli`). Every formula is derived in the repository's theory/THEORY.md.
"""

from rmt_alpha._accuracy import (
    margin_moments as margin_moments,
    predicted_accuracy as predicted_accuracy,
    predicted_risk as predicted_risk,
    source_accuracy as source_accuracy,
)
from rmt_alpha._choose import (
    AlphaChoice as AlphaChoice,
    choose_alpha as choose_alpha,
    estimate_target_stats as estimate_target_stats,
)
from rmt_alpha._choose_sources import SourcesChoice as SourcesChoice
from rmt_alpha._covariance import (
    CovarianceProblem as CovarianceProblem,
    covariance_conditional_accuracy as covariance_conditional_accuracy,
)
from rmt_alpha._estimation import (
    estimate_alignment as estimate_alignment,
    estimate_covariance as estimate_covariance,
    estimate_from_pool as estimate_from_pool,
    estimate_invariants as estimate_invariants,
    estimate_source_stats as estimate_source_stats,
    plugin_target_stats as plugin_target_stats,
    target_stats_from_invariants as target_stats_from_invariants,
)
from rmt_alpha._optimize import (
    alpha_bar as alpha_bar,
    optimal_alpha as optimal_alpha,
    optimal_alpha_gamma as optimal_alpha_gamma,
    optimal_gamma as optimal_gamma,
)
from rmt_alpha._phase import phase_map as phase_map
from rmt_alpha._prepare import prepare as prepare
from rmt_alpha._problem import (
    GammaOptimum as GammaOptimum,
    IsotropicProblem as IsotropicProblem,
)
from rmt_alpha._regression import (
    regression_optimal_alpha as regression_optimal_alpha,
    regression_risk as regression_risk,
)
from rmt_alpha._sources import SourcesProblem as SourcesProblem
from rmt_alpha._stats import (
    SourceStats as SourceStats,
    Spectrum as Spectrum,
    TargetStats as TargetStats,
    alignment as alignment,
)
from rmt_alpha._theory import (
    Moments as Moments,
    ridge_scalars as ridge_scalars,
)

__version__ = "0.1.0"

# the subpackages are imported on first use (`rmt_alpha.simulate` pulls in no experiment, and so on)
_SUBPACKAGES = ("data", "experiments", "linear", "nn", "plots", "simulate", "sklearn")


def __getattr__(name):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"rmt_alpha.{name}")
    raise AttributeError(f"module 'rmt_alpha' has no attribute {name!r}")


# Also importable from here, outside __all__: estimate_alignment (deprecated alias of estimate_invariants),
# estimate_from_pool and target_stats_from_invariants (building blocks of choose_alpha), GammaOptimum (the result
# type of optimal_gamma).
__all__ = [
    "AlphaChoice",
    "CovarianceProblem",
    "IsotropicProblem",
    "Moments",
    "SourceStats",
    "SourcesChoice",
    "SourcesProblem",
    "Spectrum",
    "TargetStats",
    "alignment",
    "alpha_bar",
    "choose_alpha",
    "covariance_conditional_accuracy",
    "data",
    "estimate_covariance",
    "estimate_invariants",
    "estimate_source_stats",
    "estimate_target_stats",
    "experiments",
    "linear",
    "margin_moments",
    "nn",
    "optimal_alpha",
    "optimal_alpha_gamma",
    "optimal_gamma",
    "phase_map",
    "plots",
    "plugin_target_stats",
    "predicted_accuracy",
    "predicted_risk",
    "prepare",
    "regression_optimal_alpha",
    "regression_risk",
    "ridge_scalars",
    "simulate",
    "sklearn",
    "source_accuracy",
]
