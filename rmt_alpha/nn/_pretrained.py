"""Load a BERT/RoBERTa checkpoint (safetensors + config.json + tokenizer.json) into the project's JAX encoder.

A checkpoint directory holds what the public `roberta-base` / `bert-base-uncased` releases ship:

    config.json         model_type ("roberta" or "bert"), hidden_size, num_hidden_layers, num_attention_heads,
                        intermediate_size, vocab_size, max_position_embeddings, type_vocab_size, layer_norm_eps,
                        hidden_act ("gelu"), pad_token_id, initializer_range
    model.safetensors   (or model.safetensors.index.json and its shards) the torch state dict
    tokenizer.json      the `tokenizers` serialisation (vocabulary, normaliser, pair template)

Tensor names (after the "roberta." / "bert." prefix; `LayerNorm.gamma/beta` is accepted for `weight/bias`, as in
the bert-base-uncased file) and where they go; torch `nn.Linear` weights are (out, in) and become (in, out) kernels:

    embeddings.word_embeddings.weight (V, d)             embed/token
    embeddings.position_embeddings.weight (P, d)         embed/position
    embeddings.token_type_embeddings.weight (T, d)       embed/token_type
    embeddings.LayerNorm.{weight,bias}                   embed/ln/{scale,bias}
    encoder.layer.<i>.attention.self.{query,key,value}   blocks/<i>/attn/{query,key,value}
    encoder.layer.<i>.attention.output.dense             blocks/<i>/attn/out
    encoder.layer.<i>.attention.output.LayerNorm         blocks/<i>/ln1
    encoder.layer.<i>.intermediate.dense                 blocks/<i>/mlp/fc1
    encoder.layer.<i>.output.dense                       blocks/<i>/mlp/fc2
    encoder.layer.<i>.output.LayerNorm                   blocks/<i>/ln2
    pooler.dense                                         pooler (BERT; RoBERTa's sequence classifier ignores it)

Deliberately not used (pre-training heads and buffers): BERT's `cls.*` (masked-LM and next-sentence heads),
RoBERTa's `lm_head.*`, `embeddings.position_ids`, RoBERTa's `pooler.*`. Any other tensor, a missing tensor or a
shape that disagrees with config.json is an error naming the tensor and the file. The classification head is new,
as in `*ForSequenceClassification`: BERT `classifier` (d, C) after the pre-trained pooler; RoBERTa `dense` (d, d),
tanh, `out_proj` (d, C) on the `<s>` token; kernels normal(0, initializer_range), biases 0.

References: Devlin et al. 2019 (BERT), Liu et al. 2019 (RoBERTa); tensor names as in Hugging Face `transformers`.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha.nn._encoder import padding_mask, token_type_ids
from rmt_alpha.nn._models import TransformerConfig, parameter_shapes
from rmt_alpha.nn._trees import flatten_tree, unflatten_tree

FAMILIES = ("bert", "roberta")
_REQUIRED_CONFIG_KEYS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                         "intermediate_size", "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
                         "hidden_act", "pad_token_id")
_IGNORED = {
    "bert": (("cls.", "BERT's masked-LM / next-sentence pre-training heads"),
             ("embeddings.position_ids", "a buffer of position indices")),
    "roberta": (("lm_head.", "RoBERTa's masked-LM pre-training head"),
                ("embeddings.position_ids", "a buffer of position indices"),
                ("pooler.", "RobertaForSequenceClassification does not use the pooler")),
}


class Pretrained(NamedTuple):
    """A loaded checkpoint.

    Attributes:
        params: the project's parameter tree (encoder from the checkpoint, a fresh classification head).
        config: the `TransformerConfig` built from config.json and the tokenizer.
        tokenizer: the `tokenizers.Tokenizer` read from tokenizer.json.
        placed: checkpoint tensor name -> parameter path it was placed at.
        ignored: checkpoint tensor name -> why it is not used.
        family: "bert" or "roberta".
    """

    params: dict
    config: TransformerConfig
    tokenizer: object
    placed: dict
    ignored: dict
    family: str


def _require_file(directory: str, name: str, what: str) -> str:
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} not found: expected {path} (a checkpoint directory holds config.json, "
                                "model.safetensors and tokenizer.json of roberta-base or bert-base-uncased)")
    return path


def read_hf_config(directory: str) -> dict:
    """config.json of a checkpoint directory, checked for the keys and values this loader supports.

    Raises:
        FileNotFoundError: no config.json. ValueError: a missing key, an unsupported model_type, hidden_act or
            position_embedding_type.
    """
    path = _require_file(directory, "config.json", "config.json")
    with open(path, encoding="utf-8") as handle:
        try:
            config = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
    missing = [key for key in _REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(f"{path} lacks the keys {missing} (needed to build the encoder)")
    if config["model_type"] not in FAMILIES:
        raise ValueError(f"{path}: model_type must be one of {FAMILIES}, got {config['model_type']!r}")
    if config["hidden_act"] != "gelu":
        raise ValueError(f"{path}: hidden_act must be 'gelu' (the exact erf GELU of BERT/RoBERTa), "
                         f"got {config['hidden_act']!r}")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{path}: position_embedding_type must be 'absolute', "
                         f"got {config['position_embedding_type']!r}")
    return config


def model_config(hf_config: dict, num_classes: int, *, pooler: bool, sep_token_id: int | None = None
                 ) -> TransformerConfig:
    """The `TransformerConfig` of a BERT/RoBERTa config.json (post-norm, GELU, first-token pooling).

    RoBERTa: positions start at `pad_token_id + 1`, one token type, RoBERTa's dense-tanh head. BERT: positions
    start at 0, segments from `sep_token_id` when `type_vocab_size >= 2`, the pooler if the checkpoint has one.
    """
    roberta = hf_config["model_type"] == "roberta"
    return TransformerConfig(
        vocab_size=hf_config["vocab_size"], max_len=hf_config["max_position_embeddings"],
        d_model=hf_config["hidden_size"], num_heads=hf_config["num_attention_heads"],
        d_mlp=hf_config["intermediate_size"], num_layers=hf_config["num_hidden_layers"], num_classes=num_classes,
        norm_position="post", activation="gelu", type_vocab_size=hf_config["type_vocab_size"],
        position_offset=hf_config["pad_token_id"] + 1 if roberta else 0,
        init_scale=float(hf_config.get("initializer_range", 0.02)),
        layer_norm_eps=float(hf_config["layer_norm_eps"]), pooling="first", pooler=pooler and not roberta,
        classifier="dense_tanh" if roberta else "linear", pad_token_id=hf_config["pad_token_id"],
        sep_token_id=sep_token_id if hf_config["type_vocab_size"] >= 2 else None)


def _linear(hf: str, path: str, n_in: int, n_out: int) -> dict:
    return {f"{hf}.weight": (f"{path}/kernel", (n_out, n_in), True), f"{hf}.bias": (f"{path}/bias", (n_out,), False)}


def _norm(hf: str, path: str, d: int) -> dict:
    return {f"{hf}.weight": (f"{path}/scale", (d,), False), f"{hf}.bias": (f"{path}/bias", (d,), False)}


def tensor_map(hf_config: dict, *, pooler: bool) -> dict:
    """Checkpoint tensor name (without the model prefix) -> (parameter path, torch shape, transpose?)."""
    c = hf_config
    d, ff = c["hidden_size"], c["intermediate_size"]
    table = {"embeddings.word_embeddings.weight": ("embed/token", (c["vocab_size"], d), False),
             "embeddings.position_embeddings.weight": ("embed/position", (c["max_position_embeddings"], d), False),
             "embeddings.token_type_embeddings.weight": ("embed/token_type", (c["type_vocab_size"], d), False),
             **_norm("embeddings.LayerNorm", "embed/ln", d)}
    for i in range(c["num_hidden_layers"]):
        hf, ours = f"encoder.layer.{i}", f"blocks/{i}"
        for name in ("query", "key", "value"):
            table.update(_linear(f"{hf}.attention.self.{name}", f"{ours}/attn/{name}", d, d))
        table.update(_linear(f"{hf}.attention.output.dense", f"{ours}/attn/out", d, d))
        table.update(_norm(f"{hf}.attention.output.LayerNorm", f"{ours}/ln1", d))
        table.update(_linear(f"{hf}.intermediate.dense", f"{ours}/mlp/fc1", d, ff))
        table.update(_linear(f"{hf}.output.dense", f"{ours}/mlp/fc2", ff, d))
        table.update(_norm(f"{hf}.output.LayerNorm", f"{ours}/ln2", d))
    if pooler:
        table.update(_linear("pooler.dense", "pooler", d, d))
    return table


def _canonical(name: str) -> str:
    """`LayerNorm.gamma` / `LayerNorm.beta` (the original BERT release) -> `LayerNorm.weight` / `.bias`."""
    return re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name))


def read_safetensors(directory: str) -> tuple[dict, dict]:
    """All tensors of `model.safetensors` (or of the shards named by `model.safetensors.index.json`).

    Returns:
        `(tensors, files)`: name -> numpy array, and name -> the file it came from (for error messages).
    """
    from safetensors.numpy import load_file

    single = os.path.join(directory, "model.safetensors")
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.isfile(single):
        shards = [single]
    elif os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            weight_map = json.load(handle).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ValueError(f"{index} must hold a non-empty 'weight_map' of tensor name -> shard file")
        shards = [os.path.join(directory, name) for name in sorted(set(weight_map.values()))]
        for shard in shards:
            _require_file(directory, os.path.basename(shard), f"shard named in {index}")
    else:
        raise FileNotFoundError(f"model weights not found: expected {single} (or {index} with its shards); "
                                "download model.safetensors of roberta-base or bert-base-uncased")
    tensors, files = {}, {}
    for shard in shards:
        for name, value in load_file(shard).items():
            if name in tensors:
                raise ValueError(f"tensor {name!r} appears in both {files[name]} and {shard}")
            tensors[name], files[name] = value, shard
    return tensors, files


def _model_prefix(names, family: str) -> str:
    return f"{family}." if any(name.startswith(f"{family}.") for name in names) else ""


def map_checkpoint(tensors: dict, files: dict, hf_config: dict) -> tuple[dict, dict, dict, bool]:
    """Place every checkpoint tensor: `(flat params, placed, ignored, has_pooler)`.

    Raises:
        ValueError: a tensor with a shape that config.json does not imply, an expected tensor missing, a tensor
            that is neither expected nor a known unused one (e.g. a layer beyond num_hidden_layers).
    """
    family = hf_config["model_type"]
    prefix = _model_prefix(tensors, family)
    strip = lambda name: name[len(prefix):] if prefix and name.startswith(prefix) else name
    has_pooler = any(_canonical(strip(n)).startswith("pooler.") for n in tensors)
    table = tensor_map(hf_config, pooler=has_pooler and family == "bert")
    flat, placed, ignored, unexpected, wrong_shape, seen = {}, {}, {}, [], [], set()
    for name, value in tensors.items():
        key = _canonical(strip(name))
        if key in table:
            seen.add(key)
            path, shape, transpose = table[key]
            if tuple(value.shape) != shape:
                wrong_shape.append(f"{name!r} in {files[name]} has shape {tuple(value.shape)}, config.json implies "
                                   f"{shape}")
                continue
            flat[path] = jnp.asarray(np.asarray(value, np.float32).T if transpose else np.asarray(value, np.float32))
            placed[name] = path
            continue
        reason = next((why for start, why in _IGNORED[family] if key.startswith(start)), None)
        if reason is None:
            unexpected.append(name)
        else:
            ignored[name] = reason
    problems = []
    if wrong_shape:
        problems.append("tensors whose shapes do not match config.json: " + "; ".join(wrong_shape[:8]))
    missing = sorted(prefix + key for key in table if key not in seen)
    if missing:
        problems.append(f"tensors missing from the checkpoint ({len(missing)}; LayerNorm.gamma/beta would do for "
                        f"LayerNorm.weight/bias): {missing[:8]}")
    if unexpected:
        layers = hf_config["num_hidden_layers"]
        problems.append(f"unexpected tensors ({len(unexpected)}; config.json has num_hidden_layers={layers}, "
                        f"hidden_size={hf_config['hidden_size']}): {sorted(unexpected)[:8]}")
    if problems:
        sources = sorted(set(files.values()))
        raise ValueError(f"checkpoint {sources} does not match its config.json: " + " | ".join(problems))
    return flat, placed, ignored, has_pooler


def load_tokenizer(directory: str):
    """The `tokenizers.Tokenizer` of `directory/tokenizer.json`."""
    from tokenizers import Tokenizer

    path = _require_file(directory, "tokenizer.json", "tokenizer.json")
    try:
        return Tokenizer.from_file(path)
    except Exception as error:   # the Rust side raises a plain Exception
        raise ValueError(f"{path} is not a readable tokenizers file: {error}") from error


def separator_id(tokenizer) -> int | None:
    """The token that ends segment 0 in a sentence pair (the token before the first type-1 token), or None
    when the tokenizer gives every token type 0 (RoBERTa)."""
    encoding = tokenizer.encode("a", "b")
    types = list(encoding.type_ids)
    if 1 not in types:
        return None
    first = types.index(1)
    if first == 0:
        raise ValueError("the tokenizer's pair template starts with segment 1; cannot find the separator")
    return int(encoding.ids[first - 1])


def load_pretrained(directory: str, num_classes: int, key=None) -> Pretrained:
    """Read config.json, the safetensors weights and tokenizer.json of `directory` into the JAX encoder.

    The classification head (and nothing else) is freshly initialised from `key`.

    Args:
        directory: the checkpoint folder (config.json, model.safetensors or its sharded index, tokenizer.json).
        num_classes: outputs of the new classification head.
        key: JAX PRNG key of the head's initialisation (default `jax.random.key(0)`).

    Returns:
        Pretrained: the parameters, the `TransformerConfig` and the tokenizer.

    Raises:
        FileNotFoundError: a file of the checkpoint is missing.
        ValueError: a file is unreadable or disagrees with config.json (named in the message), or the checkpoint
            does not fill the encoder.

    Example:
        >>> from rmt_alpha.nn import apply, load_pretrained, tokenize
        >>> model = load_pretrained("checkpoints/roberta-base", num_classes=2)   # doctest: +SKIP
        >>> logits = apply(model.params, tokenize(model, ["a sentence"]), model.config)   # doctest: +SKIP
    """
    hf_config = read_hf_config(directory)
    tokenizer = load_tokenizer(directory)
    if tokenizer.get_vocab_size() > hf_config["vocab_size"]:
        raise ValueError(f"tokenizer.json has {tokenizer.get_vocab_size()} tokens, more than config.json's "
                         f"vocab_size = {hf_config['vocab_size']}")
    if tokenizer.id_to_token(hf_config["pad_token_id"]) is None:
        raise ValueError(f"config.json's pad_token_id = {hf_config['pad_token_id']} is not a token of tokenizer.json")
    tensors, files = read_safetensors(directory)
    flat, placed, ignored, has_pooler = map_checkpoint(tensors, files, hf_config)
    config = model_config(hf_config, num_classes, pooler=has_pooler, sep_token_id=separator_id(tokenizer))
    expected = [path for path in parameter_shapes(config) if not path.startswith("head/")]
    not_loaded = sorted(set(expected) - set(flat))
    if not_loaded or set(flat) - set(expected):
        raise ValueError(f"the checkpoint does not fill the encoder: not loaded {not_loaded}, "
                         f"unknown {sorted(set(flat) - set(expected))}")
    params = unflatten_tree({**flat, **flatten_tree({"head": init_head(key, config)})})
    return Pretrained(params, config, tokenizer, placed, ignored, hf_config["model_type"])


def init_head(key, config: TransformerConfig) -> dict:
    """A fresh classification head, as `*ForSequenceClassification` initialises it: kernels normal(0,
    init_scale) (BERT's `initializer_range`), biases 0. `key` defaults to `jax.random.key(0)`."""
    key = jax.random.key(0) if key is None else key
    shapes = {path: shape for path, shape in parameter_shapes(config).items() if path.startswith("head/")}
    keys = jax.random.split(key, len(shapes))
    flat = {path: (config.init_scale * jax.random.normal(k, shape, jnp.float32) if path.endswith("/kernel")
                   else jnp.zeros(shape, jnp.float32)) for k, (path, shape) in zip(keys, shapes.items())}
    return unflatten_tree(flat)["head"]


def tokenize(model: Pretrained, first, second=None, max_length: int = 128, *, width: int | None = None) -> np.ndarray:
    """Token ids, shape (n, L), of sentences (or sentence pairs) with the checkpoint's own tokenizer.

    Special tokens come only from the tokenizer's template (`[CLS] a [SEP] b [SEP]`, `<s> a </s></s> b </s>`):
    a special-token string typed inside a text ("[SEP]", "<pad>") is tokenized as ordinary text ("[", "sep", "]"),
    so user text can neither end a segment nor be masked as padding. Pairs are truncated "longest_first" to
    `max_length` tokens; rows are right-padded with `pad_token_id` to `width` (default: the longest row). The model
    recomputes the attention mask and the token types from the ids; this checks that they equal the tokenizer's
    own `attention_mask` and `type_ids` on every row.

    Args:
        model: a `Pretrained` from `load_pretrained`.
        first: list of n sentences (the first segment).
        second: optional list of n sentences (the second segment of each pair).
        max_length: tokens kept per row, special tokens included (in [2, the checkpoint's positions]).
        width: the padded row length (default: the longest row).

    Returns:
        np.ndarray: (n, L) int token ids.

    Raises:
        ValueError: empty input, pairs of different lengths, `max_length` beyond the position table, `width`
            shorter than a row, a row whose mask or types the model would get wrong (a tokenizer whose template
            disagrees with the model's rule).
    """
    config = model.config
    first = list(first)
    if not first:
        raise ValueError("first must hold at least one sentence, got an empty list")
    if second is not None:
        second = list(second)
        if len(second) != len(first):
            raise ValueError(f"second must have as many sentences as first ({len(first)}), got {len(second)}")
    limit = config.max_len - config.position_offset
    if not 2 <= max_length <= limit:
        raise ValueError(f"max_length must be in [2, {limit}] (the checkpoint's positions), got {max_length}")
    tokenizer = type(model.tokenizer).from_str(model.tokenizer.to_str())   # leave the caller's settings alone
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
    tokenizer.encode_special_tokens = True   # "[SEP]" or "<pad>" typed inside a text is text, not a special token
    inputs = first if second is None else list(zip(first, second))
    encodings = tokenizer.encode_batch(inputs)
    longest = max(len(e.ids) for e in encodings)
    width = longest if width is None else width
    if width < longest:
        raise ValueError(f"width must be >= the longest encoded row ({longest}), got {width}")
    ids = np.full((len(encodings), width), config.pad_token_id, np.int32)
    types, mask = np.zeros_like(ids), np.zeros(ids.shape, bool)
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        ids[row, :n], types[row, :n], mask[row, :n] = encoding.ids, encoding.type_ids, encoding.attention_mask
    derived_mask = np.asarray(padding_mask(ids, config))
    derived_types = np.asarray(token_type_ids(ids, config)) if config.type_vocab_size >= 2 else np.zeros_like(ids)
    bad = np.flatnonzero(np.any(derived_mask != mask, axis=1) | np.any(derived_types != types * mask, axis=1))
    if bad.size:
        row = int(bad[0])
        raise ValueError(f"row {row} ({inputs[row]!r}): the tokenizer's template marks padding or segments "
                         "differently from the model's rule (pad id and separator), so the model would mask or segment "
                         "this row otherwise")
    return ids


__all__ = ["FAMILIES", "Pretrained", "tokenize", "init_head", "load_pretrained", "load_tokenizer", "map_checkpoint",
           "model_config", "read_hf_config", "read_safetensors", "separator_id", "tensor_map"]
