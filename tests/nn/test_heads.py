"""The head alone on pooled features equals the frozen-encoder network; trainable parts are chosen by name and a
model without a `head` is refused; an adapted weight is frozen while its adapter trains."""

import dataclasses

import jax
import numpy as np
import pytest

from rmt_alpha.data._synthetic_reviews import ReviewTask, make_reviews
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._encoder import apply, pooled_features
from rmt_alpha.nn._finetune import finetune_network, init_state
from rmt_alpha.nn._heads import HeadConfig, apply_head
from rmt_alpha.nn._methods import FinetuneConfig, parameter_labels
from rmt_alpha.nn._models import TransformerConfig, init_params
from rmt_alpha.nn._trees import flatten_tree

TASK = ReviewTask(sharing=0.5)
MODEL = TransformerConfig(vocab_size=TASK.vocab_size, max_len=32, d_model=8, num_heads=2, d_mlp=16, num_layers=1)
X, Y = make_reviews(128, TASK, "target", random_state=0)
PARAMS = init_params(jax.random.key(0), MODEL)
HEAD = HeadConfig.of(MODEL)
BASE = FinetuneConfig(method="head_only", batch_size=16, max_epochs=2, patience=5, alpha_every=2,
                      alpha_batch_size=8, alpha_learning_rate=0.05)


def test_head_on_features_equals_the_network_with_a_frozen_encoder():
    features = np.asarray(pooled_features(PARAMS, X, MODEL))
    # float32 throughout; the same dense layer on the same pooled rows: equal to rounding.
    np.testing.assert_allclose(apply_head(PARAMS, features, HEAD), apply(PARAMS, X, MODEL), rtol=1e-6, atol=1e-6)
    # head-only training on the features follows the same path as inside the network (same key: same batches).
    train, val = slice(0, 64), slice(64, 128)
    net = finetune_network(jax.random.key(3), PARAMS, MODEL, BASE, (X[train], Y[train]), (X[val], Y[val]))
    head = finetune_network(jax.random.key(3), {"head": PARAMS["head"]}, HEAD, BASE,
                            (features[train], Y[train]), (features[val], Y[val]))
    assert net.val_history == head.val_history and net.steps == head.steps
    for path, value in flatten_tree(head.state["params"]["head"]).items():
        # a few AdamW steps, float32: gradients summed in another order drift by a few ulps per step.
        np.testing.assert_allclose(value, flatten_tree(net.state["params"]["head"])[path], rtol=1e-4, atol=1e-6)


def test_a_model_whose_classifier_is_not_named_head_is_refused():
    renamed = {("classifier" if k == "head" else k): v for k, v in PARAMS.items()}
    for method in ("head_only", "lora", "alpha_lora", "dora"):
        with pytest.raises(ValueError, match=r"classifier found by name under params\['head'\].*'classifier'"):
            parameter_labels({"params": renamed, "adapters": {}}, method)
    labels = flatten_tree(parameter_labels({"params": renamed, "adapters": {}}, "full"))
    assert set(labels.values()) == {"train"}                    # "full" needs no name


def test_alpha_on_the_pretrained_head_keeps_w0_frozen_and_trains_the_update_and_alpha():
    adapter = AdapterConfig(targets=("head/kernel",), rank=2, lora_alpha=2.0)
    config = dataclasses.replace(BASE, method="alpha_lora", adapter=adapter)
    params = {"head": PARAMS["head"]}
    labels = flatten_tree(parameter_labels(init_state(jax.random.key(0), params, config), "alpha_lora"))
    assert labels == {"params/head/kernel": "frozen", "params/head/bias": "train",
                      "adapters/head/kernel/lora_A": "train", "adapters/head/kernel/lora_B": "train",
                      "adapters/head/kernel/alpha": "alpha"}
    features = np.asarray(pooled_features(PARAMS, X, MODEL))
    result = finetune_network(jax.random.key(1), params, HEAD, config, (features[:64], Y[:64]),
                              (features[64:96], Y[64:96]), held_out=(features[96:], Y[96:]))
    np.testing.assert_array_equal(result.state["params"]["head"]["kernel"], PARAMS["head"]["kernel"])
    assert result.alpha_steps and np.any(np.asarray(result.state["adapters"]["head"]["kernel"]["alpha"]) != 1.0)


def test_feature_rows_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="features must be finite rows of width d_model = 8"):
        finetune_network(jax.random.key(0), {"head": PARAMS["head"]}, HEAD, BASE, (np.zeros((32, 5)), Y[:32]),
                         (np.zeros((8, 8)), Y[:8]))
    with pytest.raises(TypeError, match="model_config must be a TransformerConfig or a HeadConfig"):
        finetune_network(jax.random.key(0), PARAMS, object(), BASE, (X[:32], Y[:32]), (X[:8], Y[:8]))
