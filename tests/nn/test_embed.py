"""embed: batching by length changes nothing (against one unpadded text at a time), masked mean and first-token
pooling, normalisation, the disk cache, the number of compilations, special-token strings inside texts, the errors;
and all-MiniLM-L6-v2 against values recorded from Hugging Face transformers (when fetched: `rmt-alpha fetch
minilm`)."""

import jax
import numpy as np
import pytest

from rmt_alpha.data import find_item
from rmt_alpha.nn import _embed, embed, load_pretrained
from rmt_alpha.nn._encoder import hidden_states
from rmt_alpha.nn._pretrained import tokenize
from tests.nn.tiny_checkpoint import CORPUS, make_checkpoint

TEXTS = CORPUS + ["the", "", "the film was wonderful and moving , the plot was dull and the acting was poor " * 2]


@pytest.fixture(scope="module", params=["bert", "roberta"])
def model(request, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp(request.param))
    make_checkpoint(directory, request.param)
    return load_pretrained(directory, num_classes=2)


def _one_padded_batch(model, texts, pooling):
    """All texts in one batch padded to the longest, in their own order, pooled in numpy over the tokenizer's mask
    (that more padding changes nothing in the encoder itself is tested in test_pretrained.py)."""
    ids = tokenize(model, texts, max_length=38)
    h = np.asarray(jax.jit(hidden_states, static_argnums=2)(model.params, ids, model.config))
    if pooling == "first":
        return h[:, 0]
    mask = np.zeros(ids.shape)
    for row, encoding in enumerate(model.tokenizer.encode_batch(texts)):
        mask[row, : len(encoding.ids)] = 1.0
    return (h * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_batched_by_length_equals_one_padded_batch(model, pooling):
    expected = _one_padded_batch(model, TEXTS, pooling)
    # batch_size 4: several batches, a short last one, rows reordered by length and padded to 16, 32 or 38 tokens
    got = embed(model, TEXTS, pooling=pooling, batch_size=4, max_length=38, cache=False)
    assert got.shape == (len(TEXTS), 16) and got.dtype == np.float32
    # float32 through 2 post-norm layers; other paddings only add masked keys (exact zeros after the softmax) and
    # change XLA's summation order: 2e-5 on O(1) values is ~100 ulps
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert np.array_equal(got, embed(model, TEXTS, pooling=pooling, batch_size=4, max_length=38, cache=False))
    unit = embed(model, TEXTS, pooling=pooling, normalize=True, batch_size=4, max_length=38, cache=False)
    np.testing.assert_allclose(unit, got / np.linalg.norm(got, axis=1, keepdims=True), atol=1e-6)


def test_one_compilation_per_padded_length(model):
    _embed._embed_jit.clear_cache()
    texts = ["the cat"] * 11 + [" ".join(["the cat sat on the mat"] * 5)]   # ~4 tokens, and ~32 tokens
    embed(model, texts, batch_size=4, max_length=38, cache=False)
    # three batches: two of short texts padded to 16 tokens, the last (with the long text) to 32 or 38: 2 shapes
    assert _embed._embed_jit._cache_size() == 2


def test_special_token_strings_inside_a_text_are_text(model):
    literal = "[SEP]" if model.family == "bert" else "<pad>"
    ids = tokenize(model, [f"the cat {literal} sat"], max_length=38)
    assert model.config.pad_token_id not in ids[0, : (ids[0] != model.config.pad_token_id).sum()]
    if model.family == "bert":   # lower-cased and split at punctuation: "[SEP]" reads as "[ sep ]"
        np.testing.assert_array_equal(ids, tokenize(model, ["the cat [ sep ] sat"], max_length=38))
    got = embed(model, [f"the cat {literal} sat", literal, f"{literal} {literal}"], batch_size=4, max_length=38,
                cache=False)
    assert np.isfinite(got).all()


def test_the_disk_cache_is_keyed_by_model_texts_and_settings(model, tmp_path, monkeypatch):
    first = embed(model, TEXTS, batch_size=4, max_length=38, cache=tmp_path)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"
    monkeypatch.setattr(_embed, "_embed_jit", lambda *a, **k: pytest.fail("recomputed instead of read"))
    assert np.array_equal(embed(model, TEXTS, batch_size=4, max_length=38, cache=tmp_path), first)
    monkeypatch.undo()
    embed(model, TEXTS[:-1], batch_size=4, max_length=38, cache=tmp_path)                  # other texts
    embed(model, TEXTS, pooling="first", batch_size=4, max_length=38, cache=tmp_path)      # other pooling
    changed = jax.tree_util.tree_map(lambda a: a, model.params)
    changed["blocks"]["0"]["mlp"]["fc1"]["bias"] = changed["blocks"]["0"]["mlp"]["fc1"]["bias"] + 1.0
    embed(model._replace(params=changed), TEXTS, batch_size=4, max_length=38,
          cache=tmp_path)   # other weights
    assert len(list(tmp_path.iterdir())) == 4 and not list(tmp_path.glob(".*"))   # no temporary file left
    for damage in (lambda: np.save(files[0], np.zeros((2, 2), np.float32)), lambda: files[0].write_bytes(b"\x93NU")):
        damage()                                                              # a damaged entry is recomputed
        assert np.array_equal(embed(model, TEXTS, batch_size=4, max_length=38, cache=tmp_path), first)


def test_default_cache_lives_in_the_data_cache(model, tmp_path, monkeypatch):
    monkeypatch.setenv("RMT_ALPHA_DATA", str(tmp_path))
    embed(model, ["a"], batch_size=4, max_length=38)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 1
    embed(model, ["b"], batch_size=4, max_length=38, cache=False)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 1


def test_progress_bar_on_request(model, capsys):
    embed(model, TEXTS, batch_size=4, max_length=38, cache=False, progress=True)
    assert "embed" in capsys.readouterr().err
    embed(model, TEXTS, batch_size=4, max_length=38, cache=False)             # 4 batches: no bar by default
    assert "embed" not in capsys.readouterr().err


def test_bad_arguments_are_named(model):
    assert embed(model, [], cache=False).shape == (0, 16)
    for kwargs, message in [(dict(pooling="max"), "pooling must be one of"),
                            (dict(batch_size=0), "batch_size must be a positive int"),
                            (dict(max_length=1000), r"max_length must be an int in \[2, 40\]"),
                            (dict(normalize="yes"), "normalize must be True or False")]:
        with pytest.raises((ValueError, TypeError), match=message):
            embed(model, ["a"], cache=False, **{"batch_size": 4, **kwargs})
    with pytest.raises(TypeError, match="one str"):
        embed(model, "a sentence", cache=False)
    with pytest.raises(TypeError, match="must all be str, got int at index 1"):
        embed(model, ["a", 3], cache=False)
    with pytest.raises(TypeError, match="model must be a Pretrained"):
        embed(model.params, ["a"], cache=False)
    with pytest.raises(TypeError, match="cache must be True, False or a folder path, got None"):
        embed(model, ["a"], cache=None)


try:
    MINILM = find_item("minilm")
except FileNotFoundError as missing:
    MINILM, WHY = None, str(missing).splitlines()[0]
else:
    WHY = ""
needs_minilm = pytest.mark.skipif(MINILM is None, reason=f"MiniLM not fetched: {WHY}")

# Recorded once with transformers 5.24 on torch 2.13.0 (CPU): AutoModel of the same folder, the tokenizer with
# split_special_tokens=True, the attention-masked mean of last_hidden_state, unit-normalised; the first 6 values.
# (tests/nn/test_reference.py recomputes them when transformers and torch are installed.)
GOLDEN_TEXTS = ["A delightful film, beautifully acted.", "The battery died after an hour.",
                "the cat [SEP] sat <pad> on [PAD] the mat"]
GOLDEN = [[-0.0157627, -0.0115916, -0.0101721, -0.015674, -0.0804858, 0.0665487],
          [-0.0149138, 0.0574292, -0.0093593, 0.0265447, 0.0596739, -0.0547127],
          [0.0983081, -0.0388163, -0.0660793, 0.0037128, -0.0134249, 0.0115947]]


@needs_minilm
def test_minilm_matches_values_recorded_from_transformers(tmp_path):
    model = load_pretrained(MINILM, num_classes=2)
    assert (model.config.d_model, model.config.num_layers, model.family) == (384, 6, "bert")
    got = embed(model, GOLDEN_TEXTS, normalize=True, cache=tmp_path)
    assert got.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)
    # float32 in both implementations; measured max |diff| over all 384 x 7 values was 3.4e-7 (normalised):
    # 1e-5 allows other BLAS/XLA summation orders and nothing of a wrong equation (values are ~0.05)
    np.testing.assert_allclose(got[:, :6], GOLDEN, atol=1e-5)
    again = embed(model, GOLDEN_TEXTS, normalize=True, cache=False)
    assert np.array_equal(got, again)                                          # deterministic
