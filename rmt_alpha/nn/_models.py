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

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from rmt_alpha._validation import check_count, check_positive_float, describe_value
from rmt_alpha.nn._trees import unflatten_tree

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
        >>> from rmt_alpha.nn import TransformerConfig
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
            check_count(name, getattr(self, name))
        check_count("num_classes", self.num_classes, minimum=2)
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
        check_count("type_vocab_size", self.type_vocab_size, minimum=0)
        check_count("position_offset", self.position_offset, minimum=0)
        for name in ("pad_token_id", "sep_token_id"):
            value = getattr(self, name)
            if value is not None and not 0 <= check_count(name, value, minimum=0) < self.vocab_size:
                raise ValueError(f"{name} must be None or a token id in [0, {self.vocab_size}), got "
                                 f"{describe_value(value)}")
        if self.position_offset and self.pad_token_id != self.position_offset - 1:
            raise ValueError(f"position_offset = {self.position_offset} needs pad_token_id = position_offset - 1 "
                             f"(RoBERTa's padding_idx), got pad_token_id={describe_value(self.pad_token_id)}")
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
        >>> from rmt_alpha.nn import TransformerConfig
        >>> from rmt_alpha.nn._models import parameter_shapes
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
        >>> import jax
        >>> from rmt_alpha.nn import TransformerConfig, init_params
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


