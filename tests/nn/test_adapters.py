"""alpha-LoRA / DoRA adapters: exact identity at init, merge vs un-merged forward, layouts, unmerge, counts, errors."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rmt_alpha.nn._adapter_stats import parameter_counts
from rmt_alpha.nn._adapters import LAYOUTS, AdaptedKernel, AdapterConfig, adapted_params, init_adapters, select_paths
from rmt_alpha.nn._encoder import apply
from rmt_alpha.nn._merging import merge, unmerge
from rmt_alpha.nn._models import TransformerConfig, init_params
from rmt_alpha.nn._trees import flatten_tree, unflatten_tree

TINY = TransformerConfig(vocab_size=10, max_len=5, d_model=4, num_heads=2, d_mlp=8, num_layers=1, num_classes=2)
SMALL = TransformerConfig(vocab_size=20, max_len=6, d_model=8, num_heads=2, d_mlp=16, num_layers=2, init_scale=0.3)
TOKENS = np.random.default_rng(0).integers(0, 20, (6, 6))
base_forward = jax.jit(lambda params: apply(params, TOKENS, SMALL))


def adapter_forward(config):
    """The un-merged adapted forward, jitted as in training."""
    return jax.jit(lambda params, adapters: apply(adapted_params(params, adapters, config), TOKENS, SMALL))


def _perturbed(adapters, seed, scale=0.3):
    """Adapters moved away from their initial values (B != 0, alpha != 1), as after training."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda x: x + np.float32(scale) * rng.standard_normal(x.shape, np.float32),
                                  adapters)


@pytest.mark.parametrize("kind, rescale_bias", [("alpha_lora", False), ("alpha_lora", True)])
def test_adapted_model_equals_base_at_init_exactly(kind, rescale_bias):
    params = init_params(jax.random.key(0), SMALL)
    config = AdapterConfig(rank=2, kind=kind, rescale_bias=rescale_bias, targets=("blocks/*/attn/*/kernel",
                           "blocks/*/mlp/*/kernel", "head/kernel"))
    adapters = init_adapters(jax.random.key(1), params, config)
    base = base_forward(params)
    adapted = adapter_forward(config)(params, adapters)
    np.testing.assert_array_equal(np.asarray(adapted), np.asarray(base))   # bitwise, not approximately


def test_dora_equals_base_at_init_up_to_the_norms_rounding():
    """DoRA's gain m / ||W0|| is 1 up to the rounding of two separately compiled norms (a few float32 ulps)."""
    params = init_params(jax.random.key(0), SMALL)
    config = AdapterConfig(rank=2, kind="dora")
    adapters = init_adapters(jax.random.key(1), params, config)
    np.testing.assert_allclose(adapter_forward(config)(params, adapters), base_forward(params), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, rescale_bias", [("alpha_lora", False), ("alpha_lora", True), ("dora", False)])
def test_merged_forward_equals_adapter_forward(kind, rescale_bias):
    params = init_params(jax.random.key(0), SMALL)
    params["blocks"]["0"]["attn"]["query"]["bias"] += 0.5   # non-zero biases, so rescale_bias matters
    config = AdapterConfig(rank=3, kind=kind, rescale_bias=rescale_bias)
    adapters = _perturbed(init_adapters(jax.random.key(1), params, config), 2)
    unmerged = adapter_forward(config)(params, adapters)
    merged = jax.jit(lambda p, a: apply(merge(p, a, config), TOKENS, SMALL))(params, adapters)
    # Same maths in another association order of float32 sums of <= 16 O(1) terms: 1e-5 is ~100 ulps.
    np.testing.assert_allclose(merged, unmerged, rtol=1e-5, atol=1e-5)
    assert not np.allclose(unmerged, base_forward(params), atol=1e-3)   # the adapters do act   # the adapters do act


def test_rescale_bias_option_scales_the_bias_by_alpha():
    params = init_params(jax.random.key(0), TINY)
    params["head"]["bias"] = jnp.array([0.5, -1.0])
    adapters = {"head": {"kernel": {"lora_A": jnp.ones((4, 1)), "lora_B": jnp.zeros((1, 2)),
                                    "alpha": jnp.array([2.0, 3.0])}}}
    kept = merge(params, adapters, AdapterConfig(rank=1, targets=("head/kernel",)))
    scaled = merge(params, adapters, AdapterConfig(rank=1, targets=("head/kernel",), rescale_bias=True))
    np.testing.assert_array_equal(kept["head"]["bias"], [0.5, -1.0])
    np.testing.assert_array_equal(scaled["head"]["bias"], [1.0, -3.0])
    np.testing.assert_array_equal(kept["head"]["kernel"], params["head"]["kernel"] * jnp.array([2.0, 3.0]))


def test_alpha_is_per_output_feature_in_both_layouts():
    """Changing alpha[j] changes only output feature j: column j for (in, out), row j for (out, in)."""
    rng = np.random.default_rng(0)
    w_in_out = jnp.asarray(rng.standard_normal((5, 3)), jnp.float32)
    a = jnp.asarray(rng.standard_normal((5, 2)), jnp.float32)
    b = jnp.asarray(rng.standard_normal((2, 3)), jnp.float32)
    alpha = jnp.array([1.0, 2.0, 0.5])
    in_out = AdapterConfig(rank=2, targets=("w",), lora_alpha=4.0)
    out_in = dataclasses.replace(in_out, layout="out_in")
    merged = merge({"w": w_in_out}, {"w": {"lora_A": a, "lora_B": b, "alpha": alpha}}, in_out)["w"]
    np.testing.assert_allclose(merged, w_in_out * alpha[None, :] + 2.0 * a @ b, rtol=1e-6)
    # PyTorch layout: weight (out, in), A (r, in), B (out, r): the transpose of the same layer.
    merged_t = merge({"w": w_in_out.T}, {"w": {"lora_A": a.T, "lora_B": b.T, "alpha": alpha}}, out_in)["w"]
    np.testing.assert_allclose(merged_t, merged.T, rtol=1e-6)
    x = jnp.asarray(rng.standard_normal((4, 5)), jnp.float32)
    from rmt_alpha.nn._adapters import AdaptedKernel
    y1 = AdaptedKernel(w_in_out, {"lora_A": a, "lora_B": b, "alpha": alpha}, in_out).project(x)
    y2 = AdaptedKernel(w_in_out.T, {"lora_A": a.T, "lora_B": b.T, "alpha": alpha}, out_in).project(x)
    np.testing.assert_allclose(y1, x @ merged, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-5)


def test_unmerge_recovers_the_base_and_refuses_tiny_alpha():
    params = init_params(jax.random.key(0), SMALL)
    config = AdapterConfig(rank=2, rescale_bias=True)
    adapters = _perturbed(init_adapters(jax.random.key(1), params, config), 3, scale=0.1)
    restored = flatten_tree(unmerge(merge(params, adapters, config), adapters, config))
    for path, value in flatten_tree(params).items():
        np.testing.assert_allclose(restored[path], value, rtol=1e-4, atol=1e-6)   # float32 divide by ~1
    flat = flatten_tree(adapters)
    flat["blocks/0/mlp/fc1/kernel/alpha"] = flat["blocks/0/mlp/fc1/kernel/alpha"].at[3].set(1e-9)
    with pytest.raises(ValueError, match=r"cannot unmerge 'blocks/0/mlp/fc1/kernel': output feature 3 "
                                         r"\(alpha\[3\] = 1e-09\) would be recovered with a relative error"):
        unmerge(merge(params, unflatten_tree(flat), config), unflatten_tree(flat), config)
    dora = AdapterConfig(rank=2, kind="dora")
    with pytest.raises(ValueError, match="unmerge needs alpha-LoRA"):
        unmerge(params, init_adapters(jax.random.key(1), params, dora), dora)


def test_unmerge_refuses_a_small_alpha_relative_to_the_update_and_a_nan_alpha():
    """alpha = 1e-5 with a LoRA update as large as W0 (float32): the merged weight keeps W0 only to about
    eps / alpha = 1e-2, which the relative test refuses; the same alpha with a zero update is recovered to float32
    rounding (1e-6). A NaN alpha is refused by unmerge and by merge (safe_merge)."""
    rng = np.random.default_rng(5)
    w0 = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    alpha = jnp.asarray([1.0, 1e-5, 1.0, 1.0], jnp.float32)
    config = AdapterConfig(rank=2, targets=("w",))
    large = {"w": {"lora_A": jnp.asarray(rng.standard_normal((6, 2)), jnp.float32),
                   "lora_B": jnp.asarray(rng.standard_normal((2, 4)), jnp.float32), "alpha": alpha}}
    merged = merge({"w": w0}, large, config)
    with pytest.raises(ValueError, match=r"cannot unmerge 'w': output feature 1 \(alpha\[1\] = 1e-05\)"):
        unmerge(merged, large, config)
    corrupted = np.abs(unmerge(merged, large, config, rtol=1.0)["w"][:, 1] - w0[:, 1]).max()
    assert corrupted > 1e-4  # what the default rtol refuses to return silently
    no_update = {"w": dict(large["w"], lora_B=jnp.zeros((2, 4), jnp.float32))}
    np.testing.assert_allclose(unmerge(merge({"w": w0}, no_update, config), no_update, config)["w"], w0,
                               rtol=1e-6)
    broken = {"w": dict(large["w"], alpha=alpha.at[2].set(jnp.nan))}
    with pytest.raises(ValueError, match=r"cannot unmerge 'w': alpha\[2\] = nan is not finite"):
        unmerge(merged, broken, config)
    with pytest.raises(ValueError, match=r"merging the adapter at 'w' gives non-finite values in 'w' \(non-finite "
                                         r"adapter entries: \['alpha'\]\)"):
        merge({"w": w0}, broken, config)
    assert np.isnan(jax.jit(lambda a: merge({"w": w0}, a, config)["w"])(broken)).any()  # traced: not checked


def test_dora_magnitude_has_one_entry_per_output_feature_and_starts_at_the_norm():
    params = init_params(jax.random.key(0), SMALL)
    adapters = flatten_tree(init_adapters(jax.random.key(1), params, AdapterConfig(rank=2, kind="dora")))
    magnitude = adapters["blocks/1/mlp/fc1/kernel/magnitude"]
    assert magnitude.shape == (16,)                                  # fc1 kernel is (8, 16): 16 outputs
    assert adapters["blocks/1/mlp/fc2/kernel/magnitude"].shape == (8,)
    np.testing.assert_allclose(magnitude, np.linalg.norm(params["blocks"]["1"]["mlp"]["fc1"]["kernel"], axis=0),
                               rtol=1e-6)
    assert not any(path.endswith("/alpha") for path in adapters)


def test_parameter_counts_by_hand():
    params = init_params(jax.random.key(0), TINY)
    counts = parameter_counts(params, init_adapters(jax.random.key(1), params, AdapterConfig(rank=2)))
    # q (4,4): 4*2 + 2*4 = 16; v: 16; fc1 (4,8): 4*2 + 2*8 = 24; fc2 (8,4): 24 -> 80 LoRA parameters.
    # alpha: 4 + 4 + 8 + 4 = 20 (one per output feature), overhead 20 / 80 = 0.25. Base: 250.
    assert counts == (250, 80, 20, 0)
    assert counts.alpha_overhead == 0.25


@pytest.mark.parametrize("config_kwargs, params_fix, message", [
    (dict(targets=("blocks/*/attn/nothing/kernel",)), None, "matches no weight"),
    (dict(targets=("blocks/*/attn/query/bias",)), None, "only 2-D weights"),
    (dict(rank=5), None, r"rank must be <= min\(in, out\) = 4"),
])
def test_bad_targets_and_ranks_are_refused(config_kwargs, params_fix, message):
    params = init_params(jax.random.key(0), TINY)
    with pytest.raises(ValueError, match=message):
        init_adapters(jax.random.key(1), params, AdapterConfig(**config_kwargs))


@pytest.mark.parametrize("kwargs, message", [
    (dict(targets=()), "targets must name at least one"),
    (dict(rank=0), "rank must be an integer >= 1"),
    (dict(kind="ia3"), "kind must be one of"),
    (dict(layout="io"), "layout must be one of"),
])
def test_bad_adapter_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdapterConfig(**kwargs)


def test_select_paths_is_sorted_and_deduplicated():
    params = init_params(jax.random.key(0), SMALL)
    paths = select_paths(params, ["blocks/*/attn/query/kernel", "blocks/0/attn/*/kernel"])
    assert paths == sorted(set(paths)) and len(paths) == 5


def test_non_numeric_alpha_settings_name_the_parameter():
    from rmt_alpha.nn._methods import FinetuneConfig

    with pytest.raises(TypeError, match="alpha_init must be a real number, got None"):
        AdapterConfig(alpha_init=None)
    with pytest.raises(TypeError, match="alpha_value must be a real number, got 'a'"):
        FinetuneConfig(alpha_value="a")


# ------------------------------------------------------------------------------------------------ DoRA, literally


def _dora_literal(w0, a, b, magnitude, scale, layout):
    """The DoRA paper's weight `m * (W0 + s B A) / ||W0 + s B A||`, the norm per output feature, in float64 numpy.
    "out_in": W0 (out, in), B (out, r), A (r, in), rows are output features; "in_out": the transposes."""
    w0, a, b, magnitude = (np.asarray(v, np.float64) for v in (w0, a, b, magnitude))
    if layout == "out_in":
        v = w0 + scale * b @ a
        return magnitude[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True)
    v = w0 + scale * a @ b
    return magnitude[None, :] * v / np.linalg.norm(v, axis=0, keepdims=True)


def _dora_layer(layout, seed=0):
    rng = np.random.default_rng(seed)
    w0 = jnp.asarray(rng.standard_normal((6, 5) if layout == "in_out" else (5, 6)), jnp.float32)
    config = AdapterConfig(rank=2, kind="dora", targets=("w",), layout=layout, lora_alpha=3.0)
    x = jnp.asarray(rng.standard_normal((16, 6)), jnp.float32)
    target = jnp.asarray(rng.standard_normal((16, 5)), jnp.float32)
    return w0, config, x, target


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dora_after_a_training_step_is_the_papers_formula(layout):
    """One Adam step from the initial adapters (B = 0, m = ||W0||) moves B, A and m; the merged weight and the
    un-merged forward then equal m * (W0 + s B A) / ||W0 + s B A|| computed from scratch in float64 (float32
    rounding: 1e-5). Leaving the update out of the norm, or taking it over the wrong axis, fails."""
    w0, config, x, target = _dora_layer(layout)
    adapters = init_adapters(jax.random.key(2), {"w": w0}, config)

    def loss(adapters):
        return jnp.mean((AdaptedKernel(w0, adapters["w"], config).project(x) - target) ** 2)

    optimizer = optax.adam(0.1)
    updates, _ = optimizer.update(jax.grad(loss)(adapters), optimizer.init(adapters))
    trained = optax.apply_updates(adapters, updates)["w"]
    assert np.abs(np.asarray(trained["lora_B"])).min() > 0.05   # every entry of B moved away from 0
    expected = _dora_literal(w0, trained["lora_A"], trained["lora_B"], trained["magnitude"], config.lora_scale, layout)
    np.testing.assert_allclose(merge({"w": w0}, {"w": trained}, config)["w"], expected, rtol=1e-5, atol=1e-6)
    forward = np.asarray(x, np.float64) @ (expected if layout == "in_out" else expected.T)
    np.testing.assert_allclose(AdaptedKernel(w0, trained, config).project(x), forward, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dora_gradient_treats_the_norm_as_a_constant(layout):
    """The gradient with respect to A, B and m is that of (m / c) * (W0 + s B A) with c = ||W0 + s B A|| computed
    beforehand and held fixed (DoRA paper section 4.3, PEFT), at float32 precision; the gradient through the norm
    differs by far more, so the test tells the two apart."""
    w0, config, x, target = _dora_layer(layout, seed=1)
    adapter = _perturbed(init_adapters(jax.random.key(3), {"w": w0}, config), 4, scale=0.5)["w"]
    in_axis = 0 if layout == "in_out" else 1
    s = config.lora_scale

    def direction(a, b):
        return w0 + s * (a @ b if layout == "in_out" else b @ a)

    def literal_loss(adapter, norm):
        m = adapter["magnitude"]
        gain = (m / norm)[None, :] if layout == "in_out" else (m / norm)[:, None]
        weight = gain * direction(adapter["lora_A"], adapter["lora_B"])
        return jnp.mean((x @ (weight if layout == "in_out" else weight.T) - target) ** 2)

    constant = jnp.asarray(np.linalg.norm(np.asarray(direction(adapter["lora_A"], adapter["lora_B"])), axis=in_axis))
    held = jax.grad(literal_loss)(adapter, constant)
    through = jax.grad(lambda a: literal_loss(a, jnp.linalg.norm(direction(a["lora_A"], a["lora_B"]), axis=in_axis)))(
        adapter)
    ours = jax.grad(lambda a: jnp.mean((AdaptedKernel(w0, a, config).project(x) - target) ** 2))(adapter)
    for name in ("lora_A", "lora_B", "magnitude"):
        np.testing.assert_allclose(ours[name], held[name], rtol=1e-4, atol=1e-6, err_msg=name)
    for name in ("lora_A", "lora_B"):
        assert np.abs(np.asarray(through[name]) - np.asarray(held[name])).max() > 1e-2 * np.abs(
            np.asarray(held[name])).max(), name
