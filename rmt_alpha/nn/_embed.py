"""`embed`: sentence embeddings from a pre-trained encoder (e.g. all-MiniLM-L6-v2), jitted, batched by length, cached.

The texts are tokenized with the checkpoint's own tokenizer (special-token strings typed in a text are text), sorted
by token count and cut into batches of `batch_size` rows; each batch is padded to the next length of a short ladder
(16, 32, 64, ... up to `max_length`), so a corpus compiles the encoder once per rung, not once per batch. The
encoder's last hidden states (Hugging Face's `last_hidden_state`) are pooled ("mean": the average over the real
tokens, padding excluded by the attention mask, as sentence-transformers does; "first": the [CLS] / <s> vector, with
no pooler), optionally scaled to unit length, and returned in the order of the texts.

With `cache` on, the result is stored as `.npy` under `<data cache>/embeddings/`, keyed by the SHA-256 of the model
(its config, tokenizer and every weight), the texts, and the settings, and written atomically: an experiment that
embeds the same corpus again reads it back instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.std import tqdm  # a text bar on stderr: tqdm.auto warns in a notebook without ipywidgets

from rmt_alpha._io import atomic_write, cache_root
from rmt_alpha.nn._encoder import hidden_states, padding_mask, pool
from rmt_alpha.nn._pretrained import Pretrained, tokenize
from rmt_alpha.nn._trees import flatten_tree

POOLINGS = ("mean", "first")
DEFAULT_MAX_LENGTH = 256
_SHORTEST_RUNG = 16
_CACHE_VERSION = "1"


def _ladder(max_length: int) -> list:
    """Padded lengths: 16, 32, 64, ... below max_length, then max_length."""
    rungs, length = [], _SHORTEST_RUNG
    while length < max_length:
        rungs.append(length)
        length *= 2
    return rungs + [max_length]


def model_fingerprint(model: Pretrained) -> str:
    """SHA-256 of a model's config, tokenizer and every weight (in path order): the cache key's model part."""
    digest = hashlib.sha256()
    digest.update(repr(model.config).encode())
    digest.update(model.tokenizer.to_str().encode())
    for path, leaf in sorted(flatten_tree(model.params).items()):
        if path.startswith("head/"):
            continue            # the fresh classification head plays no part in an embedding
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{path}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _texts_digest(texts) -> str:
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _read_cached(path: Path):
    """The array stored at `path`, or None when there is none or it cannot be read (then it is recomputed)."""
    try:
        return np.load(path)
    except (OSError, ValueError, EOFError):
        return None


def _embed_batch(params, ids, config, pooling: str, normalize: bool):
    mask = padding_mask(ids, config)
    x = pool(hidden_states(params, ids, config), mask, pooling)
    if normalize:
        x = x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return x


_embed_jit = jax.jit(_embed_batch, static_argnames=("config", "pooling", "normalize"))


def _check(texts, pooling, normalize, batch_size, max_length, model):
    if not isinstance(model, Pretrained):
        raise TypeError(f"model must be a Pretrained (from load_pretrained), got {type(model).__name__}")
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, got one str (wrap it in a list)")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts must all be str, got {type(texts[bad]).__name__} at index {bad}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    limit = model.config.max_len - model.config.position_offset
    if max_length is None:
        max_length = min(DEFAULT_MAX_LENGTH, limit)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 2 <= max_length <= limit:
        raise ValueError(f"max_length must be an int in [2, {limit}] (the checkpoint's positions), "
                         f"got {max_length!r}")
    return texts, max_length


def embed(model: Pretrained, texts, *, pooling: str = "mean", normalize: bool = False, batch_size: int = 64,
          max_length: int | None = None, cache=True, progress: bool | None = None) -> np.ndarray:
    """Sentence embeddings, shape (len(texts), d), from a pre-trained encoder's last hidden states.

    `e_i = pool(h_i)`, with `h_i` (L_i, d) the encoder's output on the tokens of text i (truncated to `max_length`
    tokens, special tokens included), "mean": `e_i = (1 / L_i) sum_t h_it` over the real tokens only, "first":
    `e_i = h_i0` (the [CLS] / <s> token, no pooler); `normalize` divides by `|e_i|`.

    Args:
        model: a `Pretrained` from `load_pretrained` (BERT or RoBERTa); its head is not used.
        texts: sequence of n strings (an empty text gives the embedding of the special tokens alone).
        pooling: "mean" (sentence-transformers' mean pooling) or "first".
        normalize: scale each embedding to unit Euclidean norm (all-MiniLM-L6-v2 as sentence-transformers ships it
            does).
        batch_size: rows per forward pass (memory grows as batch_size * max_length * d).
        max_length: tokens kept per text, special tokens included (default: 256, as all-MiniLM-L6-v2 was trained, or
            the checkpoint's position table if shorter).
        cache: True: read and write `<cache_root()>/embeddings/`; a folder: use that; False: no disk cache.
        progress: show a tqdm bar (default: when there are more than 20 batches).

    Returns:
        numpy.ndarray: (n, d) float32, row i the embedding of texts[i]; the same inputs give the same array bit for bit.

    Example:
        >>> from rmt_alpha.data import minilm_directory                        # after `rmt-alpha fetch minilm`
        >>> from rmt_alpha.nn import embed, load_pretrained
        >>> model = load_pretrained(minilm_directory(), num_classes=2)       # doctest: +SKIP
        >>> embed(model, ["a fine film", "a dull film"], normalize=True).shape  # doctest: +SKIP
        (2, 384)
    """
    texts, max_length = _check(texts, pooling, normalize, batch_size, max_length, model)
    d = model.config.d_model
    if not texts:
        return np.zeros((0, d), np.float32)
    path = None
    if not (cache is True or cache is False or isinstance(cache, (str, os.PathLike))):
        raise TypeError(f"cache must be True, False or a folder path, got {cache!r}")
    if cache is not False:
        folder = cache_root() / "embeddings" if cache is True else Path(cache)
        settings = json.dumps({"pooling": pooling, "normalize": normalize, "max_length": max_length,
                               "version": _CACHE_VERSION}, sort_keys=True)
        key = hashlib.sha256(f"{model_fingerprint(model)}|{_texts_digest(texts)}|{settings}".encode()).hexdigest()
        path = folder / f"{key[:32]}-{pooling}{'-normalized' if normalize else ''}.npy"
        cached = _read_cached(path)
        if cached is not None and cached.shape == (len(texts), d):
            return cached
    ids = tokenize(model, texts, max_length=max_length)
    lengths = (ids != model.config.pad_token_id).sum(axis=1)   # typed pad strings are text: pads are trailing
    order = np.argsort(lengths, kind="stable")
    rungs = _ladder(max_length)
    starts = range(0, len(texts), batch_size)
    out = np.empty((len(texts), d), np.float32)
    show = len(starts) > 20 if progress is None else bool(progress)
    for start in tqdm(starts, desc="embed", unit="batch", disable=not show, file=sys.stderr):
        rows = order[start: start + batch_size]
        width = next(rung for rung in rungs if rung >= lengths[rows].max())
        batch = np.full((batch_size, width), model.config.pad_token_id, np.int32)
        batch[: len(rows), : ids.shape[1]] = ids[rows, :width]
        batch[len(rows):] = batch[0]       # fill a short last batch with a real row: one shape per rung
        out[rows] = np.asarray(_embed_jit(model.params, batch, model.config, pooling, normalize))[: len(rows)]
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, out)
        atomic_write(path, buffer.getvalue())
    return out
