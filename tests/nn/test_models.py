"""The encoder: determinism, shapes, parameter count by hand, a numpy re-implementation, jit vs eager, checkpoints."""

import os

import jax
import numpy as np
import pytest

from rmt_alpha.nn._encoder import apply, pooled_features
from rmt_alpha.nn._models import TransformerConfig, init_params
from rmt_alpha.nn._trees import flatten_tree, load_tree, save_tree, unflatten_tree

TINY = TransformerConfig(vocab_size=10, max_len=5, d_model=4, num_heads=2, d_mlp=8, num_layers=1, num_classes=2)


def test_parameter_count_by_hand():
    # token 10*4 + position 5*4 = 60; block: 2 LayerNorms 2*(4+4) = 16, q/k/v/out 4*(4*4+4) = 80,
    # fc1 4*8+8 = 40, fc2 8*4+4 = 36 -> 172; final LayerNorm 8; head 4*2+2 = 10. Total 250.
    params = init_params(jax.random.key(0), TINY)
    assert sum(np.size(v) for v in jax.tree_util.tree_leaves(params)) == 250
    assert params["blocks"]["0"]["mlp"]["fc1"]["kernel"].shape == (4, 8)   # (in, out) layout


def test_init_is_deterministic_from_the_key():
    a, b = init_params(jax.random.key(3), TINY), init_params(jax.random.key(3), TINY)
    c = init_params(jax.random.key(4), TINY)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a["embed"]["token"], c["embed"]["token"])


def _numpy_forward(params, tokens, config):
    """An independent float64 numpy implementation of the pre-norm encoder (explicit per-head loop)."""
    p = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), params)
    ln = lambda q, x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + config.layer_norm_eps) \
        * q["scale"] + q["bias"]
    lin = lambda q, x: x @ q["kernel"] + q["bias"]
    x = p["embed"]["token"][tokens] + p["embed"]["position"][: tokens.shape[1]]
    h = config.d_model // config.num_heads
    for layer in range(config.num_layers):
        blk = p["blocks"][str(layer)]
        z = ln(blk["ln1"], x)
        q, k, v = (lin(blk["attn"][n], z) for n in ("query", "key", "value"))
        heads = []
        for i in range(config.num_heads):
            s = q[..., i * h:(i + 1) * h] @ np.swapaxes(k[..., i * h:(i + 1) * h], 1, 2) / np.sqrt(h)
            w = np.exp(s - s.max(-1, keepdims=True))
            heads.append((w / w.sum(-1, keepdims=True)) @ v[..., i * h:(i + 1) * h])
        x = x + lin(blk["attn"]["out"], np.concatenate(heads, -1))
        x = x + lin(blk["mlp"]["fc2"], np.maximum(lin(blk["mlp"]["fc1"], ln(blk["ln2"], x)), 0))
    return lin(p["head"], ln(p["final_ln"], x).mean(1))


def test_forward_matches_numpy_reference_and_jit():
    config = TransformerConfig(vocab_size=30, max_len=7, d_model=8, num_heads=2, d_mlp=16, num_layers=2,
                               init_scale=0.5)   # large weights so attention is far from uniform
    params = init_params(jax.random.key(1), config)
    tokens = np.random.default_rng(0).integers(0, 30, (5, 7))
    eager = np.asarray(apply(params, tokens, config))
    jitted = np.asarray(jax.jit(apply, static_argnums=2)(params, tokens, config))
    # float32 vs float64 through two blocks of O(1) activations: 1e-4 absolute is ~1e3 float32 ulps of margin.
    np.testing.assert_allclose(eager, _numpy_forward(params, tokens, config), atol=1e-4)
    np.testing.assert_allclose(jitted, eager, atol=1e-5)
    assert pooled_features(params, tokens, config).shape == (5, 8)


@pytest.mark.parametrize("field, value, message", [
    ("num_heads", 3, "num_heads must divide d_model"),
    ("norm_position", "sandwich", "norm_position must be one of"),
    ("activation", "swish", "activation must be one of"),
    ("d_model", 0, "d_model"),
])
def test_bad_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig(**{**dict(d_model=4, num_heads=2), field: value})


def test_checkpoint_roundtrip_is_bitwise_and_atomic(tmp_path):
    params = init_params(jax.random.key(2), TINY)
    path = os.path.join(tmp_path, "sub", "params.npz")
    save_tree(path, params, note="x")
    loaded, metadata = load_tree(path)
    assert metadata == {"note": "x"}
    flat, flat_loaded = flatten_tree(params), flatten_tree(loaded)
    assert flat.keys() == flat_loaded.keys()
    for key in flat:
        np.testing.assert_array_equal(flat[key], flat_loaded[key])
    assert os.listdir(os.path.dirname(path)) == ["params.npz"]   # no temporary file left behind
    assert unflatten_tree(flat).keys() == params.keys()
