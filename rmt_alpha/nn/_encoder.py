"""The encoder's forward pass (theory/THEORY.md section 7 adapts its dense layers): embeddings, attention, pre- or
post-norm blocks, the hidden states, pooling and the classifier head."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha.nn._models import _POOLINGS, TransformerConfig


def dense(p: dict, x):
    """A linear layer `x @ kernel + bias`.

    A kernel with a `project` method (an adapted weight, `AdaptedKernel`) computes its own `x @ kernel`.

    Args:
        p: the layer's `{"kernel": (in, out), "bias": (out,)}` dict (the kernel may be an `AdaptedKernel`).
        x: (..., in) inputs.

    Returns:
        jax.Array: (..., out).

    Example:
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.nn._encoder import dense
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
        >>> import jax.numpy as jnp
        >>> from rmt_alpha.nn import TransformerConfig
        >>> from rmt_alpha.nn._encoder import token_type_ids
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
