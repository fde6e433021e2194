"""scikit-learn estimators: the alpha-fine-tuned classifier for pipelines and grid searches.

`AlphaLoRAClassifier(source=w_s, alpha="auto")` fits `w_alpha = (X^T X / n + gamma I)^-1 (X^T y / n + alpha gamma w_s)`
with alpha chosen by `rmt_alpha.choose_alpha` (or given), and predicts with it.
"""

from rmt_alpha.sklearn._classifier import (
    AlphaLoRAClassifier as AlphaLoRAClassifier,
)

__all__ = ["AlphaLoRAClassifier"]
