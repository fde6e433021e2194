"""The JAX Monte-Carlo of the linear alpha-LoRA model (theory/THEORY.md section 1), on one device or many,
and its plain numpy reference.

`simulate(source, target, alpha, trials=...)` returns the accuracy, `E[y g]` and `E[g^2]` curves (each an
`EmpiricalCurve`); `empirical_accuracy` the accuracy curve alone. Single trials are key-first (`trial`,
`draw_mixture`, `source_classifier`); the trial axis is sharded over a device mesh. The numpy reference
(`monte_carlo_accuracy`, `fit_finetuned`, `make_mixture`, `make_gaussian_mixture`) is a slow, literal
implementation kept as a test oracle.
"""

from rmt_alpha.simulate._compare import (
    compare_with_theory as compare_with_theory,
)
from rmt_alpha.simulate._decision import (
    DecisionValues as DecisionValues,
    decision_values as decision_values,
)
from rmt_alpha.simulate._montecarlo import (
    Simulation as Simulation,
    draw_mixture as draw_mixture,
    empirical_accuracy as empirical_accuracy,
    simulate as simulate,
    source_classifier as source_classifier,
    trial as trial,
)
from rmt_alpha.simulate._reference import (
    conditional_accuracy as conditional_accuracy,
    fit_finetuned as fit_finetuned,
    fit_ridge_classifier as fit_ridge_classifier,
    make_gaussian_mixture as make_gaussian_mixture,
    make_mixture as make_mixture,
    monte_carlo_accuracy as monte_carlo_accuracy,
)

__all__ = [
    "DecisionValues",
    "Simulation",
    "compare_with_theory",
    "conditional_accuracy",
    "decision_values",
    "draw_mixture",
    "empirical_accuracy",
    "fit_finetuned",
    "fit_ridge_classifier",
    "make_gaussian_mixture",
    "make_mixture",
    "monte_carlo_accuracy",
    "simulate",
    "source_classifier",
    "trial",
]
