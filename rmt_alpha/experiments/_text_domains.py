"""The review-text domains as a real encoder's features: all-MiniLM-L6-v2, mean-pooled, one `Domain` per text domain
(theory/THEORY.md sections 1 and 8: the linear theory is then checked on the features a transformer really makes).

Two groups of domains share a labelling scheme and are paired only within their group: VADER's four (movie
snippets, Amazon product snippets, New York Times editorial snippets, tweets; ratings thresholded at +-0.5, the
neutral band dropped) and the three UCI sentence domains (Amazon, IMDb, Yelp), 18 ordered pairs in all. VADER's
domains are unbalanced (tweets 68% positive, editorials 40%); see `rmt_alpha.experiments._prediction` for what that
does to the theory's symmetric-mixture assumption.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rmt_alpha.data._domains import Domain

TEXT_GROUPS = {"vader": ("vader-movies", "vader-products", "vader-editorials", "vader-tweets"),
               "uci": ("uci-amazon", "uci-imdb", "uci-yelp")}


def text_pairs(groups=tuple(TEXT_GROUPS)) -> list[tuple[str, str]]:
    """The ordered (source, target) pairs of distinct domains within each group: 12 VADER + 6 UCI = 18.

    Args:
        groups: names of `TEXT_GROUPS` ("vader", "uci"; default both), as a list or tuple.

    Returns:
        list of (source name, target name), group by group.

    Raises:
        ValueError: `groups` is empty, a string, or names an unknown group.

    Example:
        >>> from rmt_alpha.experiments import text_pairs
        >>> len(text_pairs()), text_pairs(["uci"])[0]
        (18, ('uci-amazon', 'uci-imdb'))
    """
    unknown = [group for group in groups if group not in TEXT_GROUPS]
    if unknown or not groups or isinstance(groups, str):
        raise ValueError(f"groups must be a non-empty list of {sorted(TEXT_GROUPS)}, got {groups!r}")
    return [(source, target) for group in groups for source in TEXT_GROUPS[group] for target in TEXT_GROUPS[group]
            if source != target]


def feature_model(model):
    """The pre-trained model with the configuration that produces `embed(..., pooling="mean")` features: the mean
    over real tokens of the last hidden states, no pooler (what sentence-transformers does with MiniLM)."""
    return model._replace(config=dataclasses.replace(model.config, pooling="mean", pooler=False))


def encoder_domains(model, texts: dict, *, max_length: int = 64, cache=True, progress=None) -> dict[str, Domain]:
    """Each text domain's mean-pooled encoder features as a `Domain` (X float64 (n, d), y in {-1, +1}).

    Args:
        model: a `Pretrained` (e.g. `load_pretrained(find_item("minilm"), num_classes=2)`).
        texts: {name: TextDomain} from `rmt_alpha.data.load_review_text`.
        max_length: tokens kept per text, special tokens included (the fine-tuning runs use the same).
        cache: as `rmt_alpha.nn.embed` (by default the features are computed once and read back after).
        progress: as `rmt_alpha.nn.embed`.

    Returns:
        {name: Domain}.
    """
    from rmt_alpha.nn import embed

    domains = {}
    for name, domain in texts.items():
        X = embed(model, domain.texts, pooling="mean", max_length=max_length, cache=cache, progress=progress)
        domains[name] = Domain(name, np.asarray(X, np.float64), np.asarray(domain.y, np.float64))
    return domains


__all__ = ["TEXT_GROUPS", "encoder_domains", "feature_model", "text_pairs"]
