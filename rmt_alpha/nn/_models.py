"""A transformer encoder classifier in pure JAX: the small pre-norm test bed of theory/THEORY.md section 7, and the
post-norm BERT/RoBERTa layout that `rmt_alpha.nn` loads checkpoints into.

Parameters are a plain nested dict (a pytree); every linear weight is a `{"kernel", "bias"}` dict with the kernel in
the `(in, out)` layout, `y = x @ kernel + bias` (flax's Dense layout). Paths such as
`"blocks/0/attn/query/kernel"` name the weights; `rmt_alpha.nn` selects them by glob patterns.

    embed/token (vocab, d), embed/position (max_len, d)
    blocks/<i>/ln1, attn/{query,key,value,out}, ln2, mlp/{fc1,fc2}     (pre-norm: x + f(LN(x)))
    final_ln, head (d, num_classes)                                    (mean pooling, then the head)

With `norm_position="post"` (BERT/RoBERTa, Devlin et al. 2019, Liu et al. 2019) the layout is

    embed/token, embed/position, [embed/token_type (type_vocab_size, d)], embed/ln     x = LN(sum of embeddings)
    blocks/<i>/attn/{query,key,value,out}, ln1, mlp/{fc1,fc2}, ln2   x = LN1(x + attn(x)); x = LN2(x + mlp(x))
    [pooler (d, d)]   BERT's pooler: tanh(dense(first token)), pre-trained, part of the encoder
    head              "linear": (d, num_classes); "dense_tanh" (RoBERTa's classification head):
                      head/dense (d, d), tanh, head/out (d, num_classes)

Padding: with `pad_token_id` set, tokens equal to it are masked out as attention keys (and out of mean pooling);
RoBERTa's position ids are `position_offset + (number of non-pad tokens before)`, `position_offset - 1` at pads.
Token types (segments) are 1 after the first `sep_token_id` and before padding, else 0 (BERT's sentence pairs
`[CLS] a [SEP] b [SEP]`); `rmt_alpha.nn` checks this rule against the tokenizer's own type ids.

A kernel may also be an object with a `project(x)` method (the adapters' `AdaptedKernel`): the model then calls it
instead of `x @ kernel`, which is how alpha-LoRA runs its un-merged forward `alpha * (x W0) + s (x A) B`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha._validation import check_positive_float, check_sample_count

_NORM_POSITIONS = ("pre", "post")   # post: BERT/RoBERTa
_ACTIVATIONS = ("relu", "gelu")     # gelu: the exact erf form, x * Phi(x), as BERT/RoBERTa
_POOLINGS = ("mean", "first")
_CLASSIFIERS = ("linear", "dense_tanh")


@dataclass(frozen=True)
class TransformerConfig:
    """Shape and variant of the encoder; checked when built (theory/THEORY.md section 7's test bed).

    A frozen, hashable dataclass, so it can be a static argument of `jax.jit`.

    Attributes:
        vocab_size: size of the token vocabulary.
        max_len: sequence length (positions 0 .. max_len - 1).
        d_model: model width.
        num_heads: attention heads (must divide d_model).
        d_mlp: MLP hidden width.
        num_layers: number of blocks.
        num_classes: outputs of the head (>= 2).
        norm_position: "pre" (x + f(LN(x)), then a final LayerNorm) or "post" (BERT: LN of the embeddings,
            x = LN(x + f(x)), no final LayerNorm).
        activation: MLP non-linearity, "relu" or "gelu" (exact, x * Phi(x)).
        type_vocab_size: token-type (segment) embeddings; 0 = none.
        position_offset: first position id of a non-pad token (RoBERTa: padding_idx + 1 = 2; then
            `pad_token_id` must be `position_offset - 1`). Sequences hold at most `max_len - position_offset` tokens.
        init_scale: standard deviation of the normal initialisation of embeddings and kernels (> 0).
        layer_norm_eps: LayerNorm epsilon (> 0).
        pooling: "mean" (over non-pad tokens) or "first" (the [CLS] / <s> token).
        pooler: BERT's pooler `tanh(dense(.))` on the pooled token (a pre-trained encoder weight, not the head).
        classifier: "linear" head, or "dense_tanh" (RoBERTa's classification head, dense + tanh + linear).
        pad_token_id: the padding token (masked as attention key); None = no padding.
        sep_token_id: the separator that ends segment 0 (token types); None = one segment.

    Raises:
        ValueError: when a field is out of its range (named in the message, with the value received).

    Example:
        >>> TransformerConfig(d_model=32, num_heads=4).d_mlp
        128
    """

    vocab_size: int = 600
    max_len: int = 32
    d_model: int = 64
    num_heads: int = 4
    d_mlp: int = 128
    num_layers: int = 2
    num_classes: int = 2
    norm_position: str = "pre"
    activation: str = "relu"
    type_vocab_size: int = 0
    position_offset: int = 0
    init_scale: float = 0.02
    layer_norm_eps: float = 1e-5
    pooling: str = "mean"
    pooler: bool = False
    classifier: str = "linear"
    pad_token_id: int | None = None
    sep_token_id: int | None = None

    def __post_init__(self):
        for name in ("vocab_size", "max_len", "d_model", "num_heads", "d_mlp", "num_layers"):
            check_sample_count(name, getattr(self, name))
        check_sample_count("num_classes", self.num_classes, minimum=2)
        if self.d_model % self.num_heads:
            raise ValueError(f"num_heads must divide d_model, got num_heads={self.num_heads}, "
                             f"d_model={self.d_model}")
        if self.norm_position not in _NORM_POSITIONS:
            raise ValueError(f"norm_position must be one of {_NORM_POSITIONS}, got {self.norm_position!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {self.activation!r}")
        if self.pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {self.pooling!r}")
        if self.classifier not in _CLASSIFIERS:
            raise ValueError(f"classifier must be one of {_CLASSIFIERS}, got {self.classifier!r}")
        check_sample_count("type_vocab_size", self.type_vocab_size, minimum=0)
        check_sample_count("position_offset", self.position_offset, minimum=0)
        for name in ("pad_token_id", "sep_token_id"):
            value = getattr(self, name)
            if value is not None and not 0 <= check_sample_count(name, value, minimum=0) < self.vocab_size:
                raise ValueError(f"{name} must be None or a token id in [0, {self.vocab_size}), got {value!r}")
        if self.position_offset and self.pad_token_id != self.position_offset - 1:
            raise ValueError(f"position_offset = {self.position_offset} needs pad_token_id = position_offset - 1 "
                             f"(RoBERTa's padding_idx), got pad_token_id={self.pad_token_id!r}")
        if self.position_offset >= self.max_len:
            raise ValueError(f"position_offset must be < max_len = {self.max_len}, got {self.position_offset}")
        check_positive_float("init_scale", self.init_scale)
        check_positive_float("layer_norm_eps", self.layer_norm_eps)


def parameter_shapes(config: TransformerConfig) -> dict:
    """Path -> shape of every parameter, in a fixed order.

    Args:
        config: the `TransformerConfig`.

    Returns:
        dict: `{"embed/token": (vocab_size, d_model), ...}`, one entry per leaf of `init_params`.

    Example:
        >>> parameter_shapes(TransformerConfig(num_layers=1))["blocks/0/mlp/fc1/kernel"]
        (64, 128)
    """
    c, shapes = config, {"embed/token": (config.vocab_size, config.d_model),
                         "embed/position": (config.max_len, config.d_model)}
    if c.type_vocab_size:
        shapes["embed/token_type"] = (c.type_vocab_size, c.d_model)
    if c.norm_position == "post":
        shapes["embed/ln/scale"] = shapes["embed/ln/bias"] = (c.d_model,)
    for layer in range(c.num_layers):
        prefix = f"blocks/{layer}"
        dense_shapes = {f"attn/{name}": (c.d_model, c.d_model) for name in ("query", "key", "value", "out")}
        dense_shapes.update({"mlp/fc1": (c.d_model, c.d_mlp), "mlp/fc2": (c.d_mlp, c.d_model)})
        for norm in ("ln1", "ln2"):
            shapes[f"{prefix}/{norm}/scale"] = shapes[f"{prefix}/{norm}/bias"] = (c.d_model,)
        for name, (n_in, n_out) in dense_shapes.items():
            shapes[f"{prefix}/{name}/kernel"], shapes[f"{prefix}/{name}/bias"] = (n_in, n_out), (n_out,)
    if c.norm_position == "pre":
        shapes["final_ln/scale"] = shapes["final_ln/bias"] = (c.d_model,)
    if c.pooler:
        shapes["pooler/kernel"], shapes["pooler/bias"] = (c.d_model, c.d_model), (c.d_model,)
    if c.classifier == "dense_tanh":
        shapes["head/dense/kernel"], shapes["head/dense/bias"] = (c.d_model, c.d_model), (c.d_model,)
        shapes["head/out/kernel"], shapes["head/out/bias"] = (c.d_model, c.num_classes), (c.num_classes,)
    else:
        shapes["head/kernel"], shapes["head/bias"] = (c.d_model, c.num_classes), (c.num_classes,)
    return shapes


def init_params(key, config: TransformerConfig) -> dict:
    """Deterministic parameters from a key: normal(0, init_scale) embeddings and kernels, zero biases, unit norms.

    One normal draw of all random entries (one compilation, whatever the shapes), sliced in `parameter_shapes` order.

    Args:
        key: a JAX PRNG key.
        config: the `TransformerConfig`.

    Returns:
        dict: the nested parameter dict (float32 jnp arrays), laid out as in the module docstring.

    Example:
        >>> params = init_params(jax.random.key(0), TransformerConfig(num_layers=1))
        >>> params["head"]["kernel"].shape
        (64, 2)
    """
    shapes = parameter_shapes(config)
    random_paths = [p for p in shapes if (p.startswith("embed/") and not p.startswith("embed/ln/"))
                    or p.endswith("/kernel")]
    sizes = [int(np.prod(shapes[p])) for p in random_paths]
    draws = np.asarray(config.init_scale * jax.random.normal(key, (sum(sizes),), jnp.float32))
    flat, offset = {}, 0
    for path, size in zip(random_paths, sizes):
        flat[path] = jnp.asarray(draws[offset: offset + size].reshape(shapes[path]))
        offset += size
    for path, shape in shapes.items():
        if path not in flat:
            flat[path] = jnp.ones(shape, jnp.float32) if path.endswith("/scale") else jnp.zeros(shape, jnp.float32)
    return unflatten_tree(flat)


def dense(p: dict, x):
    """A linear layer `x @ kernel + bias`.

    A kernel with a `project` method (an adapted weight, `AdaptedKernel`) computes its own `x @ kernel`.

    Args:
        p: the layer's `{"kernel": (in, out), "bias": (out,)}` dict (the kernel may be an `AdaptedKernel`).
        x: (..., in) inputs.

    Returns:
        jax.Array: (..., out).

    Example:
        >>> dense({"kernel": jnp.eye(2), "bias": jnp.ones(2)}, jnp.array([1.0, 2.0])).tolist()
        [2.0, 3.0]
    """
    kernel = p["kernel"]
    y = kernel.project(x) if hasattr(kernel, "project") else x @ kernel
    return y + p["bias"]


def layer_norm(p: dict, x, eps: float):
    """LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * scale + bias`.

    Args:
        p: `{"scale": (d,), "bias": (d,)}`.
        x: (..., d) inputs.
        eps: the epsilon added to the variance (> 0).

    Returns:
        jax.Array: same shape as x.
    """
    mean = x.mean(-1, keepdims=True)
    var = jnp.square(x - mean).mean(-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * p["scale"] + p["bias"]


def _attention(p, x, num_heads, mask=None):
    """Multi-head self-attention; `mask` (batch, length) bool hides the keys where it is False."""
    batch, length, d = x.shape
    split = lambda t: t.reshape(batch, length, num_heads, d // num_heads)
    q, k, v = (split(dense(p[name], x)) for name in ("query", "key", "value"))
    logits = jnp.einsum("blhd,bmhd->bhlm", q, k) / np.sqrt(d // num_heads)
    if mask is not None:
        logits = jnp.where(mask[:, None, None, :], logits, jnp.finfo(logits.dtype).min)
    weights = jax.nn.softmax(logits, axis=-1)
    mixed = jnp.einsum("bhlm,bmhd->blhd", weights, v).reshape(batch, length, d)
    return dense(p["out"], mixed)


def _activation(config: TransformerConfig):
    return jax.nn.relu if config.activation == "relu" else lambda t: jax.nn.gelu(t, approximate=False)


def padding_mask(tokens, config: TransformerConfig):
    """`tokens != pad_token_id` (True on real tokens), or None when the config has no padding token.

    Args:
        tokens: (batch, length) integer tokens.
        config: the `TransformerConfig`.

    Returns:
        jax.Array of bool, shape (batch, length), or None.
    """
    return None if config.pad_token_id is None else jnp.asarray(tokens) != config.pad_token_id


def token_type_ids(tokens, config: TransformerConfig):
    """Segment ids: 1 after the first `sep_token_id` and before padding, else 0 (BERT's `[CLS] a [SEP] b [SEP]`).

    All zeros without a `sep_token_id` (one segment; RoBERTa, whose type vocabulary has one entry).

    Args:
        tokens: (batch, length) integer tokens.
        config: the `TransformerConfig`.

    Returns:
        jax.Array: int32 of shape (batch, length).

    Example:
        >>> config = TransformerConfig(vocab_size=10, sep_token_id=2, pad_token_id=0)
        >>> token_type_ids(jnp.array([[1, 5, 2, 6, 2, 0]]), config).tolist()
        [[0, 0, 0, 1, 1, 0]]
    """
    tokens = jnp.asarray(tokens)
    if config.sep_token_id is None:
        return jnp.zeros(tokens.shape, jnp.int32)
    is_sep = (tokens == config.sep_token_id).astype(jnp.int32)
    after_first_sep = (jnp.cumsum(is_sep, axis=-1) - is_sep) > 0
    mask = padding_mask(tokens, config)
    return (after_first_sep if mask is None else after_first_sep & mask).astype(jnp.int32)


def _embed(params: dict, tokens, config: TransformerConfig, token_types, mask):
    c, length = config, tokens.shape[-1]
    if length + c.position_offset > c.max_len:
        raise ValueError(f"tokens have length {length}, more than max_len - position_offset = "
                         f"{c.max_len - c.position_offset} positions")
    if c.position_offset == 0:
        x = params["embed"]["token"][tokens] + params["embed"]["position"][:length]
    else:   # RoBERTa: padding_idx + cumulative count of real tokens; padding_idx at pads
        counts = jnp.cumsum(mask.astype(jnp.int32), axis=-1)
        positions = jnp.where(mask, counts + c.position_offset - 1, c.position_offset - 1)
        x = params["embed"]["token"][tokens] + params["embed"]["position"][positions]
    if c.type_vocab_size:
        types = token_type_ids(tokens, c) if token_types is None else jnp.asarray(token_types)
        x = x + params["embed"]["token_type"][types]
    if c.norm_position == "post":
        x = layer_norm(params["embed"]["ln"], x, c.layer_norm_eps)
    return x


def hidden_states(params: dict, tokens, config: TransformerConfig, token_types=None, attention_mask=None):
    """The encoder's output sequence (Hugging Face's `last_hidden_state`), before any pooling.

    Pre-norm: the blocks `x + f(LN(x))`, then the final LayerNorm. Post-norm (BERT/RoBERTa): `x = LN(embeddings)`,
    then per block `x = LN1(x + attn(x))`, `x = LN2(x + fc2(act(fc1(x))))`.

    Args:
        params: the parameter tree.
        tokens: (batch, length) int token ids.
        config: the `TransformerConfig`.
        token_types: (batch, length) segment ids; default `token_type_ids(tokens, config)`.
        attention_mask: (batch, length) bool, False at keys to ignore; default `padding_mask(tokens, config)`.

    Returns:
        (batch, length, d_model) array; rows at padded positions are computed but carry no meaning.
    """
    c = config
    tokens = jnp.asarray(tokens)
    mask = padding_mask(tokens, c) if attention_mask is None else jnp.asarray(attention_mask, bool)
    if c.position_offset and attention_mask is not None:
        raise ValueError("attention_mask cannot be given with position_offset > 0: RoBERTa's positions are "
                         "computed from the padding tokens")
    x = _embed(params, tokens, c, token_types, mask)
    act = _activation(c)
    for layer in range(c.num_layers):
        block = params["blocks"][str(layer)]
        if c.norm_position == "pre":
            x = x + _attention(block["attn"], layer_norm(block["ln1"], x, c.layer_norm_eps), c.num_heads, mask)
            hidden = act(dense(block["mlp"]["fc1"], layer_norm(block["ln2"], x, c.layer_norm_eps)))
            x = x + dense(block["mlp"]["fc2"], hidden)
        else:
            x = layer_norm(block["ln1"], x + _attention(block["attn"], x, c.num_heads, mask), c.layer_norm_eps)
            hidden = act(dense(block["mlp"]["fc1"], x))
            x = layer_norm(block["ln2"], x + dense(block["mlp"]["fc2"], hidden), c.layer_norm_eps)
    if c.norm_position == "pre":
        x = layer_norm(params["final_ln"], x, c.layer_norm_eps)
    return x


def pool(x, mask, pooling: str):
    """Pool a sequence to one vector per row ("first": the [CLS] / <s> token; "mean": the masked mean).

    "first" `x[:, 0]`; "mean" `sum_t m_t x_t / sum_t m_t` over the positions where `mask` is True (all positions
    when it is None).

    Args:
        x: (batch, length, d) hidden states.
        mask: (batch, length) bool, or None.
        pooling: "mean" or "first".

    Returns:
        (batch, d) array.
    """
    if pooling not in _POOLINGS:
        raise ValueError(f"pooling must be one of {_POOLINGS}, got {pooling!r}")
    if pooling == "first":
        return x[:, 0]
    if mask is None:
        return x.mean(axis=1)
    weights = jnp.asarray(mask).astype(x.dtype)[..., None]
    return (x * weights).sum(axis=1) / weights.sum(axis=1)


def pooled_features(params: dict, tokens, config: TransformerConfig, token_types=None, attention_mask=None):
    """The encoder's pooled features, shape (batch, d_model), for tokens (batch, length).

    `hidden_states`, then `pool` with `config.pooling` (the mean over non-pad tokens, or the first token) and,
    with `config.pooler`, BERT's `tanh(x_pooled @ W_pool + b_pool)`.

    Args:
        params: the parameter tree.
        tokens: (batch, length) int token ids.
        config: the `TransformerConfig`.
        token_types: (batch, length) segment ids; default `token_type_ids(tokens, config)`.
        attention_mask: (batch, length) bool, False at keys to ignore; default `padding_mask(tokens, config)`.

    Returns:
        (batch, d_model) array.
    """
    x = hidden_states(params, tokens, config, token_types, attention_mask)
    mask = padding_mask(tokens, config) if attention_mask is None else jnp.asarray(attention_mask, bool)
    pooled = pool(x, mask, config.pooling)
    return jnp.tanh(dense(params["pooler"], pooled)) if config.pooler else pooled


def apply(params: dict, tokens, config: TransformerConfig, token_types=None, attention_mask=None):
    """Class logits, shape (batch, num_classes), for integer tokens of shape (batch, length).

    The head is `config.classifier`: "linear" (`h @ W + b`) or "dense_tanh" (RoBERTa's
    `tanh(h @ W_dense + b_dense) @ W_out + b_out`), on `pooled_features`. `config` is static: wrap as
    `jax.jit(apply, static_argnums=2)` (the config is a frozen, hashable dataclass).

    Args:
        params: the parameter dict (`init_params`, a checkpoint, or `adapted_params`).
        tokens: (batch, length) integer tokens.
        config: the `TransformerConfig`.
        token_types: (batch, length) segment ids; None for `token_type_ids(tokens, config)`.
        attention_mask: (batch, length) bool, True on real tokens; None for `padding_mask(tokens, config)`.

    Returns:
        jax.Array: (batch, num_classes) logits.

    Raises:
        ValueError: as `pooled_features`.
    """
    pooled = pooled_features(params, tokens, config, token_types, attention_mask)
    if config.classifier == "dense_tanh":
        return dense(params["head"]["out"], jnp.tanh(dense(params["head"]["dense"], pooled)))
    return dense(params["head"], pooled)


def flatten_tree(tree: dict, prefix: str = "") -> dict:
    """`{"a/b/c": leaf}` for a nested dict of string keys (the path names used throughout).

    Args:
        tree: a nested dict whose keys are strings without "/".
        prefix: the path of `tree` itself ("" at the root).

    Returns:
        dict: path -> leaf.

    Raises:
        ValueError: for a key that is not a string or holds "/".

    Example:
        >>> flatten_tree({"a": {"b": 1, "c": 2}})
        {'a/b': 1, 'a/c': 2}
    """
    flat = {}
    for key, value in tree.items():
        if not isinstance(key, str) or "/" in key:
            raise ValueError(f"tree keys must be strings without '/', got {key!r} under {prefix or 'the root'!r}")
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(flatten_tree(value, path))
        else:
            flat[path] = value
    return flat


def unflatten_tree(flat: dict) -> dict:
    """The inverse of `flatten_tree`.

    Args:
        flat: dict path -> leaf, paths joined by "/".

    Returns:
        dict: the nested dict.

    Example:
        >>> unflatten_tree({"a/b": 1, "a/c": 2})
        {'a': {'b': 1, 'c': 2}}
    """
    tree: dict = {}
    for path, leaf in flat.items():
        *parents, last = path.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = leaf
    return tree


def save_tree(path: str, tree: dict, **metadata) -> None:
    """Write a nested dict of arrays to `.npz` (keys are the flattened paths), atomically (temp file + os.replace).

    Args:
        path: the output file.
        tree: nested dict of arrays (string keys without "/").
        **metadata: values (e.g. a config dict) stored as JSON under the reserved key `__metadata__`.

    Returns:
        None.

    Raises:
        ValueError: for a key that is not a string or holds "/".

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "tree.npz")
        >>> save_tree(path, {"head": {"bias": np.zeros(2)}}, step=3)
        >>> tree, metadata = load_tree(path)
        >>> tree["head"]["bias"].shape, metadata
        ((2,), {'step': 3})
        >>> folder.cleanup()
    """
    arrays = {key: np.asarray(value) for key, value in flatten_tree(tree).items()}
    arrays["__metadata__"] = np.asarray(json.dumps(metadata, default=str))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())


def load_tree(path: str) -> tuple[dict, dict]:
    """Read what `save_tree` wrote.

    Args:
        path: the `.npz` file.

    Returns:
        tuple: `(tree, metadata)`, the nested dict of jnp arrays and the metadata dict.
    """
    with np.load(path) as data:
        metadata = json.loads(str(data["__metadata__"]))
        flat = {key: jnp.asarray(data[key]) for key in data.files if key != "__metadata__"}
    return unflatten_tree(flat), metadata
