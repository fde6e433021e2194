"""The classification head alone, on precomputed pooled features: the frozen-encoder methods at a fraction of the
cost of running the encoder.

When the encoder is frozen (head-only training, or alpha on the pre-trained head alone), every input's pooled
feature vector is fixed, so training the head on those features is the same computation as training it inside
the network: `apply_head(params, features, config)` equals `apply(params, tokens, model_config)` whenever
`features = pooled_features(params, tokens, model_config)` (checked in tests/nn/test_heads.py to float32 rounding).
`embed(model, texts, ...)` gives these features when the model has no pooler (`feature_model`) and the same
pooling and `max_length`. `rmt_alpha.nn.finetune_network` accepts a `HeadConfig` in place of a `TransformerConfig`;
its inputs are then float feature rows, not token ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from rmt_alpha._validation import check_count
from rmt_alpha.nn._encoder import dense
from rmt_alpha.nn._models import TransformerConfig


@dataclass(frozen=True)
class HeadConfig:
    """A linear classification head on `d_model`-dimensional features: `logits = x @ head/kernel + head/bias`.

    Attributes:
        d_model: feature width (the encoder's hidden size).
        num_classes: outputs of the head.
    """

    d_model: int
    num_classes: int = 2

    def __post_init__(self):
        check_count("d_model", self.d_model)
        check_count("num_classes", self.num_classes, minimum=2)

    @classmethod
    def of(cls, config: TransformerConfig) -> HeadConfig:
        """The head of an encoder config (its classifier must be "linear": the head is then one dense layer).

        Args:
            config: the encoder's `TransformerConfig`.

        Returns:
            HeadConfig: its `d_model` and `num_classes`.

        Raises:
            ValueError: the classifier is not "linear".
        """
        if config.classifier != "linear":
            raise ValueError(f"HeadConfig.of needs a 'linear' classifier, got {config.classifier!r}")
        return cls(config.d_model, config.num_classes)


def apply_head(params: dict, features, config: HeadConfig):
    """Class logits, shape (batch, num_classes), of features (batch, d_model): `dense(params["head"], features)`.

    Args:
        params: a tree with a "head" entry `{"kernel": (d_model, num_classes), "bias": (num_classes,)}` (other
            entries, such as a frozen encoder's, are ignored).
        features: (batch, d_model) float array.
        config: the `HeadConfig`.

    Returns:
        (batch, num_classes) array.

    Raises:
        ValueError: `features` is not of shape (batch, d_model).
    """
    features = jnp.asarray(features)
    if features.ndim != 2 or features.shape[1] != config.d_model:
        raise ValueError(f"features must have shape (batch, {config.d_model}), got {features.shape}")
    return dense(params["head"], features)


__all__ = ["HeadConfig", "apply_head"]
