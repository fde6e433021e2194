"""Loading BERT/RoBERTa checkpoints: every tensor placed, the forward against a numpy re-implementation of the
BERT/RoBERTa equations written from the checkpoint's own tensors, tokenisation, and the errors of bad checkpoints.

The checkpoints are tiny (2 layers, d = 16) but carry the real tensor names and torch layouts of roberta-base and
bert-base-uncased (tests/tiny_checkpoint.py). The real checkpoints cannot be tested here (no network).
"""

import json
import os

import jax
import numpy as np
import pytest
from safetensors.numpy import save_file
from scipy.special import erf

from rmt_alpha.nn._adapter_stats import parameter_counts
from rmt_alpha.nn._adapters import AdapterConfig, adapted_params, init_adapters
from rmt_alpha.nn._encoder import apply
from rmt_alpha.nn._models import TransformerConfig
from rmt_alpha.nn._pretrained import load_pretrained, tokenize
from rmt_alpha.nn._trees import flatten_tree
from tests.nn.tiny_checkpoint import make_checkpoint

FAMILIES = ("roberta", "bert")
PAIRS = (["the cat sat on the mat", "a dog ran", "what a great movie , nobody liked the ending"],
         ["is the cat on the mat", "the dog is in the park today", "it will rain"])


@pytest.fixture(scope="module", params=FAMILIES)
def checkpoint(request, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp(request.param))
    tensors = make_checkpoint(directory, request.param)
    return request.param, directory, tensors


def _with_test_head(model, seed=0):
    """The model's params with a head of O(1) random weights (the fresh head's N(0, 0.02) would make the logits
    so small that an absolute tolerance on them would check little)."""
    rng = np.random.default_rng(seed)
    head = jax.tree_util.tree_map(lambda v: np.asarray(rng.standard_normal(v.shape), np.float32),
                                  model.params["head"])
    return {**model.params, "head": head}


def _numpy_logits(tensors, family, hf, head, ids, types, mask):
    """BERT/RoBERTa in float64 numpy, from the torch-named tensors (Linear: x @ W.T + b), with an explicit loop
    over heads, additive -1e9 masking of padded keys, the exact erf GELU, and Hugging Face's position ids."""
    t = {name: np.asarray(value, np.float64) for name, value in tensors.items()}
    p = family + "."
    g, b = ("gamma", "beta") if family == "bert" else ("weight", "bias")
    eps, pad = hf["layer_norm_eps"], hf["pad_token_id"]

    def ln(x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * t[f"{name}.{g}"] + t[f"{name}.{b}"]

    lin = lambda x, name: x @ t[f"{name}.weight"].T + t[f"{name}.bias"]
    if family == "roberta":           # create_position_ids_from_input_ids
        real = (ids != pad).astype(int)
        positions = np.cumsum(real, axis=1) * real + pad
    else:
        positions = np.broadcast_to(np.arange(ids.shape[1]), ids.shape)
    x = (t[p + "embeddings.word_embeddings.weight"][ids] + t[p + "embeddings.position_embeddings.weight"][positions]
         + t[p + "embeddings.token_type_embeddings.weight"][types])
    x = ln(x, p + "embeddings.LayerNorm")
    heads, d = hf["num_attention_heads"], hf["hidden_size"]
    size = d // heads
    for i in range(hf["num_hidden_layers"]):
        layer = f"{p}encoder.layer.{i}"
        q, k, v = (lin(x, f"{layer}.attention.self.{n}") for n in ("query", "key", "value"))
        context = []
        for h in range(heads):
            cut = slice(h * size, (h + 1) * size)
            scores = q[..., cut] @ np.swapaxes(k[..., cut], 1, 2) / np.sqrt(size) + (1 - mask[:, None, :]) * -1e9
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            context.append(weights / weights.sum(-1, keepdims=True) @ v[..., cut])
        x = ln(x + lin(np.concatenate(context, -1), f"{layer}.attention.output.dense"),
               f"{layer}.attention.output.LayerNorm")
        hidden = lin(x, f"{layer}.intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
        x = ln(x + lin(hidden, f"{layer}.output.dense"), f"{layer}.output.LayerNorm")
    first = x[:, 0]
    head = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), head)
    if family == "bert":              # BertForSequenceClassification: pooler, then classifier
        pooled = np.tanh(lin(first, p + "pooler.dense"))
        return pooled @ head["kernel"] + head["bias"]
    hidden = np.tanh(first @ head["dense"]["kernel"] + head["dense"]["bias"])   # RobertaClassificationHead
    return hidden @ head["out"]["kernel"] + head["out"]["bias"]


def test_every_tensor_is_placed_or_deliberately_ignored(checkpoint):
    family, directory, tensors = checkpoint
    model = load_pretrained(directory, num_classes=3)
    assert model.family == family
    assert set(model.placed) | set(model.ignored) == set(tensors)
    assert not set(model.placed) & set(model.ignored)
    expected_ignored = ({n for n in tensors if n.startswith("cls.")} if family == "bert" else
                        {n for n in tensors if n.startswith(("lm_head.", "roberta.pooler."))})
    assert set(model.ignored) == expected_ignored
    flat = flatten_tree(model.params)
    for name, path in model.placed.items():
        value = tensors[name]
        is_linear_weight = name.endswith(".weight") and value.ndim == 2 and "embeddings" not in name
        np.testing.assert_array_equal(flat[path], value.T if is_linear_weight else value)   # exact copy
    # every parameter but the fresh classification head comes from exactly one tensor
    assert sorted(model.placed.values()) == sorted(p for p in flat if not p.startswith("head/"))
    assert len(set(model.placed.values())) == len(model.placed)
    c = model.config
    assert (c.norm_position, c.activation, c.pooling) == ("post", "gelu", "first")
    if family == "roberta":
        assert (c.position_offset, c.pad_token_id, c.type_vocab_size, c.classifier, c.pooler) == \
            (2, 1, 1, "dense_tanh", False)
        assert flat["head/out/kernel"].shape == (16, 3)
    else:
        assert (c.position_offset, c.pad_token_id, c.sep_token_id, c.classifier, c.pooler) == \
            (0, 0, 3, "linear", True)
        assert flat["head/kernel"].shape == (16, 3)


def test_forward_matches_numpy_reference(checkpoint):
    family, directory, tensors = checkpoint
    model = load_pretrained(directory, num_classes=3)
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as handle:
        hf = json.load(handle)
    ids = tokenize(model, *PAIRS, max_length=40)
    # the tokenizer's own type ids and attention mask (not the model's rule that recomputes them from the ids)
    encodings = model.tokenizer.encode_batch(list(zip(*PAIRS)))
    assert max(len(e.ids) for e in encodings) == ids.shape[1]          # nothing truncated
    types, mask = np.zeros_like(ids), np.zeros(ids.shape)
    for row, e in enumerate(encodings):
        types[row, :len(e.ids)], mask[row, :len(e.ids)] = e.type_ids, e.attention_mask
    assert mask.min() == 0 and (family == "roberta" or types.max() == 1)   # padding and segments are exercised
    params = _with_test_head(model)
    expected = _numpy_logits(tensors, family, hf, params["head"], ids, types, mask)
    eager = np.asarray(apply(params, ids, model.config))
    jitted = np.asarray(jax.jit(apply, static_argnums=2)(params, ids, model.config))
    # float32 vs float64 through 2 post-norm blocks (LayerNorm keeps activations O(1)) and an O(1) head:
    # 2e-4 absolute is ~1e3 float32 ulps of the O(1) logits, far below any error of the equations.
    np.testing.assert_allclose(eager, expected, atol=2e-4)
    # jit vs eager, and more padding (other shapes): XLA orders float32 sums differently; logits reach ~7 in
    # size, so a relative 1e-5 (~100 ulps) allows the rounding and nothing else.
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-5)
    # more padding changes nothing (masks, and RoBERTa's positions counted over real tokens only)
    padded = np.pad(ids, ((0, 0), (0, 6)), constant_values=model.config.pad_token_id)
    np.testing.assert_allclose(np.asarray(apply(params, padded, model.config)), eager, rtol=1e-5, atol=1e-5)


def test_encode_truncates_pads_and_refuses_rows_the_model_would_misread(checkpoint):
    family, directory, _ = checkpoint
    model = load_pretrained(directory, num_classes=2)
    ids = tokenize(model, PAIRS[0], PAIRS[1], max_length=8, width=10)
    assert ids.shape == (3, 10)
    assert np.all(ids[:, 8:] == model.config.pad_token_id)         # truncated to 8, padded to 10
    single = tokenize(model, ["the cat"], max_length=24)
    assert single[0, 0] == model.tokenizer.encode("x").ids[0]      # starts with [CLS] / <s>
    # a separator (BERT: would end segment 0 early) or padding token (RoBERTa: would be masked) typed inside the
    # text is text: the row holds only the template's special tokens, and the model's types and mask stay right
    literal, special = (("[SEP]", model.config.sep_token_id) if family == "bert"
                        else ("<pad>", model.config.pad_token_id))
    typed = tokenize(model, [f"the cat {literal} sat"], ["a dog"], max_length=24)
    plain = tokenize(model, ["the cat sat"], ["a dog"], max_length=24)
    assert np.count_nonzero(typed == special) == np.count_nonzero(plain == special)
    if family == "bert":   # lower-cased and split at punctuation, as if typed "[ sep ]"
        np.testing.assert_array_equal(typed, tokenize(model, ["the cat [ sep ] sat"], ["a dog"], max_length=24))
    with pytest.raises(ValueError, match="max_length"):
        tokenize(model, ["a"], max_length=1000)
    with pytest.raises(ValueError, match="second must have"):
        tokenize(model, ["a", "b"], ["c"], max_length=24)


def test_adapters_select_query_and_value_of_the_loaded_encoder(checkpoint):
    _, directory, _ = checkpoint
    model = load_pretrained(directory, num_classes=2)
    config = AdapterConfig(targets=("blocks/*/attn/query/kernel", "blocks/*/attn/value/kernel"), rank=8,
                           lora_alpha=8.0)
    adapters = init_adapters(jax.random.key(0), model.params, config)
    counts = parameter_counts(model.params, adapters)
    # by hand: 2 layers x {query, value}: A (16 x 8) + B (8 x 16) = 256 each -> 1024; alpha 16 each -> 64
    assert (counts.lora, counts.alpha) == (1024, 64)
    ids = tokenize(model, *PAIRS, max_length=24)
    np.testing.assert_array_equal(apply(adapted_params(model.params, adapters, config), ids, model.config),
                                  apply(model.params, ids, model.config))   # B = 0 and alpha = 1: exact


def _broken(tmp_path, family, hook=None, edit_config=None):
    directory = str(tmp_path / family)
    make_checkpoint(directory, family, tensors_hook=hook)
    if edit_config:
        path = os.path.join(directory, "config.json")
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
        edit_config(config)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(config, handle)
    return directory


def test_tensors_that_do_not_match_the_config_are_named(tmp_path):
    def wrong_shape(tensors, _):
        tensors["roberta.encoder.layer.1.attention.self.value.weight"] = np.zeros((16, 8), np.float32)

    with pytest.raises(ValueError, match=r"layer\.1\.attention\.self\.value\.weight.*\(16, 8\).*\(16, 16\)"):
        load_pretrained(_broken(tmp_path, "roberta", hook=wrong_shape), 2)
    with pytest.raises(ValueError, match=r"unexpected tensors.*num_hidden_layers=1.*layer\.1\."):
        load_pretrained(_broken(tmp_path, "bert", edit_config=lambda c: c.update(num_hidden_layers=1)), 2)


def test_missing_and_unknown_tensors_are_named(tmp_path):
    def drop_and_add(tensors, _):
        del tensors["bert.encoder.layer.0.output.LayerNorm.gamma"]
        tensors["bert.encoder.layer.0.adapter.weight"] = np.zeros((2, 2), np.float32)

    with pytest.raises(ValueError, match=r"missing.*layer\.0\.output\.LayerNorm\.weight.*unexpected.*adapter"):
        load_pretrained(_broken(tmp_path, "bert", hook=drop_and_add), 2)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "tokenizer.json"])
def test_missing_files_are_named(tmp_path, name):
    directory = _broken(tmp_path, "roberta")
    os.remove(os.path.join(directory, name))
    with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")):
        load_pretrained(directory, 2)


@pytest.mark.parametrize("key, value, message", [("hidden_act", "relu", "hidden_act"),
                                                 ("model_type", "gpt2", "model_type"),
                                                 ("position_embedding_type", "relative_key", "absolute")])
def test_unsupported_configs_are_refused(tmp_path, key, value, message):
    directory = _broken(tmp_path, "bert", edit_config=lambda c: c.update({key: value}))
    with pytest.raises(ValueError, match=message):
        load_pretrained(directory, 2)


def test_sharded_checkpoint_loads_like_the_single_file(tmp_path):
    directory = str(tmp_path / "sharded")
    tensors = make_checkpoint(directory, "roberta")
    single = load_pretrained(directory, 2)
    names = sorted(tensors)
    half = {n: tensors[n] for n in names[: len(names) // 2]}
    rest = {n: tensors[n] for n in names[len(names) // 2:]}
    save_file(half, os.path.join(directory, "model-00001-of-00002.safetensors"))
    save_file(rest, os.path.join(directory, "model-00002-of-00002.safetensors"))
    weight_map = {**{n: "model-00001-of-00002.safetensors" for n in half},
                  **{n: "model-00002-of-00002.safetensors" for n in rest}}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w", encoding="utf-8") as handle:
        json.dump({"metadata": {}, "weight_map": weight_map}, handle)
    os.remove(os.path.join(directory, "model.safetensors"))
    sharded = load_pretrained(directory, 2)
    for a, b in zip(jax.tree_util.tree_leaves(single.params), jax.tree_util.tree_leaves(sharded.params)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fields, message", [
    (dict(position_offset=2), "pad_token_id = position_offset - 1"),
    (dict(pad_token_id=99), "pad_token_id"),
    (dict(pooling="max"), "pooling"),
    (dict(classifier="mlp"), "classifier"),
    (dict(norm_position="middle"), "norm_position"),
])
def test_bad_encoder_variants_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig(vocab_size=10, d_model=4, num_heads=2, **fields)


def test_padding_mask_also_serves_the_pre_norm_encoder():
    from rmt_alpha.nn._models import init_params

    config = TransformerConfig(vocab_size=12, max_len=9, d_model=8, num_heads=2, d_mlp=16, init_scale=0.5,
                               pad_token_id=0)
    params = init_params(jax.random.key(0), config)
    tokens = np.random.default_rng(1).integers(1, 12, (4, 5))
    padded = np.pad(tokens, ((0, 0), (0, 4)))
    # masked attention keys and a mean over real tokens: the pads change nothing (float32 rounding only)
    np.testing.assert_allclose(apply(params, padded, config), apply(params, tokens, config), rtol=1e-5, atol=1e-6)
    unmasked = TransformerConfig(**{**config.__dict__, "pad_token_id": None})
    assert np.abs(np.asarray(apply(params, padded, unmasked) - apply(params, tokens, unmasked))).max() > 1e-3
