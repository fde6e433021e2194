"""The encoder against the reference implementation: Hugging Face `transformers` on PyTorch (the optional
`[reference]` extra). Random tiny BERT and RoBERTa models built by transformers, saved with `save_pretrained` and
loaded by `load_pretrained`, give the same last hidden states; all-MiniLM-L6-v2 (when fetched) gives the same
sentence embeddings as transformers' AutoModel with masked mean pooling. Skipped when the extra is not installed.
"""

import numpy as np
import pytest

from rmt_alpha.data import find_item
from rmt_alpha.nn import embed, load_pretrained
from rmt_alpha.nn._encoder import hidden_states
from rmt_alpha.nn._pretrained import tokenize
from tests.nn.tiny_checkpoint import make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

FIRST = ["the cat sat on the mat", "a dog ran in the park today and it was nice", "what a great movie"]
SECOND = ["is the cat on the mat", "it will rain", "nobody liked the ending"]


def _random_model(family, directory):
    """A transformers model with every weight random (LayerNorm scales and all biases too), saved to `directory`."""
    vocab = make_tokenizer(family, str(directory))
    common = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                  initializer_range=0.5)
    torch.manual_seed(0)
    if family == "bert":
        model = transformers.BertModel(transformers.BertConfig(max_position_embeddings=40, type_vocab_size=2,
                                                               pad_token_id=0, layer_norm_eps=1e-12, **common))
    else:
        model = transformers.RobertaModel(transformers.RobertaConfig(
            max_position_embeddings=42, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
            layer_norm_eps=1e-5, **common))
    with torch.no_grad():
        for name, value in model.named_parameters():
            if "LayerNorm" in name:
                value.copy_(0.3 * torch.randn_like(value) + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                value.copy_(0.1 * torch.randn_like(value))
    model.eval().save_pretrained(str(directory))
    return model


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_hidden_states_match_transformers(family, tmp_path):
    reference = _random_model(family, tmp_path)
    ours = load_pretrained(str(tmp_path), num_classes=2)
    # sentence pairs: BERT's token types, RoBERTa's </s></s>, padding in every batch
    ids = tokenize(ours, FIRST, SECOND, max_length=40)
    encodings = ours.tokenizer.encode_batch(list(zip(FIRST, SECOND)))
    mask, types = np.zeros(ids.shape, np.int64), np.zeros(ids.shape, np.int64)
    for row, encoding in enumerate(encodings):
        mask[row, : len(encoding.ids)], types[row, : len(encoding.ids)] = 1, encoding.type_ids
    assert mask.min() == 0 and (family == "roberta" or types.max() == 1)
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask),
                             token_type_ids=torch.tensor(types)).last_hidden_state.numpy()
    got = np.asarray(hidden_states(ours.params, ids, ours.config))
    real = mask.astype(bool)
    # float32 in both; hidden states up to ~5 in size after 2 post-norm layers with random LayerNorm scales;
    # measured max |diff| 1.3e-5 (BERT) and 5e-6 (RoBERTa): 1e-4 is ~8x that, far below any equation error
    np.testing.assert_allclose(got[real], expected[real], atol=1e-4)


try:
    MINILM = find_item("minilm")
except FileNotFoundError:
    MINILM = None


@pytest.mark.skipif(MINILM is None, reason="MiniLM not fetched (rmt-alpha fetch minilm)")
@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_minilm_embeddings_match_transformers(pooling):
    texts = ["The film was a delight from start to finish.", "Terrible battery life; it died after an hour.",
             "I would not go back to this restaurant.", "ok", "", "the cat [SEP] sat <pad> on [PAD] the mat",
             "A much longer sentence " * 20]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(MINILM))
    reference = transformers.AutoModel.from_pretrained(str(MINILM)).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt",
                      split_special_tokens=True)    # "[SEP]" typed in a text is text, as in embed
    with torch.no_grad():
        hidden = reference(**batch).last_hidden_state
    if pooling == "mean":
        weights = batch["attention_mask"].unsqueeze(-1).float()
        expected = ((hidden * weights).sum(1) / weights.sum(1)).numpy()
    else:
        expected = hidden[:, 0].numpy()
    model = load_pretrained(MINILM, num_classes=2)
    np.testing.assert_array_equal(tokenize(model, texts, max_length=256), batch["input_ids"].numpy())
    got = embed(model, texts, pooling=pooling, cache=False)
    # float32 in both; values up to ~6; measured max |diff| 2.0e-6 (mean) and 1.9e-6 (first): 2e-5 allows other
    # summation orders only
    np.testing.assert_allclose(got, expected, atol=2e-5)
