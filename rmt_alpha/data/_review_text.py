"""Real labelled review text in seven domains, for the transformer case (`rmt-alpha fetch reviews-text`).

VADER's ground truth (Hutto & Gilbert, ICWSM 2014; MIT): sentence-level snippets, each with the mean rating of
about 20 people on a scale from -4 (extremely negative) to +4 (extremely positive):

    vader-movies       movie-review snippets (rotten tomatoes, from Pang & Lee 2004)     10,605 rows
    vader-products     Amazon product-review snippets (from Hu & Liu 2004)                3,708 rows
    vader-editorials   New York Times editorial snippets                                  5,190 rows
    vader-tweets       tweets                                                             4,200 rows

A row is positive (+1) when its mean rating is >= `neutral`, negative (-1) when <= -`neutral`, and dropped in the
neutral band in between (default `neutral = 0.5`: one eighth of the scale's half-width; it drops 5% of the movie
snippets, 20% of the product snippets, 43% of the editorial snippets and 18% of the tweets).

UCI's Sentiment Labelled Sentences (Kotzias et al., KDD 2015; CC BY 4.0), as shipped in the npm package
`sentiment` 5.0.2: 500 positive (1 -> +1) and 500 negative (0 -> -1) sentences per domain, plus one empty entry per
file, dropped:

    uci-amazon   cell-phone reviews on Amazon;   uci-imdb   movie reviews;   uci-yelp   restaurant reviews

In every domain: HTML entities are decoded (`&amp;` -> `&`, the tweets have 127), surrounding white space is
stripped, empty texts are dropped, and among the rows kept a text that repeats an earlier one of the same domain is
dropped (the first is kept), so that no sentence can sit on both sides of a train/test split. The counts after all
this, at neutral = 0.5 (texts: positive / negative):

    vader-movies 10,070: 4,995 / 5,075     vader-products 2,977: 1,744 / 1,233    vader-editorials 2,931: 1,175 / 1,756
    vader-tweets 3,432: 2,345 / 1,087      uci-amazon 990: 493 / 497              uci-imdb 997: 498 / 499
    uci-yelp 996: 499 / 497

`rmt-alpha fetch reviews-text` prints them too.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rmt_alpha.data._cache import find_item

_VADER_FILES = {"vader-movies": "vader/movieReviewSnippets_GroundTruth.txt",
                "vader-products": "vader/amazonReviewSnippets_GroundTruth.txt",
                "vader-editorials": "vader/nytEditorialSnippets_GroundTruth.txt",
                "vader-tweets": "vader/tweets_GroundTruth.txt"}
_UCI_FILES = {"uci-amazon": "uci/amazon.json", "uci-imdb": "uci/imdb.json", "uci-yelp": "uci/yelp.json"}
REVIEW_TEXT_DOMAINS = tuple(_VADER_FILES) + tuple(_UCI_FILES)
"""The seven review-text domains: VADER's four, then UCI's three."""
VADER_RATING_LIMIT = 4.0   # ratings lie in [-4, 4]


class TextDomain(NamedTuple):
    """One labelled text domain: `texts` (list of n str) and labels `y` (n,) float64 in {-1, +1}.

    Attributes:
        name: the domain's name (one of `REVIEW_TEXT_DOMAINS`).
        texts: list of n str, the review sentences.
        y: (n,) float64 labels in {-1, +1}.
    """

    name: str
    texts: list
    y: np.ndarray


def _clean(pairs, name: str) -> TextDomain:
    """Decode HTML entities, strip, drop empty and repeated texts (first kept); pairs are (text, label)."""
    seen, texts, labels = set(), [], []
    for text, label in pairs:
        text = html.unescape(text).strip()
        if not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(label)
    return TextDomain(name, texts, np.asarray(labels, np.float64))


def _read_vader(path: Path, name: str, neutral: float) -> TextDomain:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}, line {number}: expected 3 tab-separated fields (id, rating, text), "
                             f"got {len(parts)}")
        try:
            rating = float(parts[1])
        except ValueError as error:
            raise ValueError(f"{path}, line {number}: the rating {parts[1]!r} is not a number") from error
        rows.append((parts[2], rating))
    kept = [(text, 1.0 if rating >= neutral else -1.0) for text, rating in rows
            if rating >= neutral or rating <= -neutral]
    return _clean(kept, name)


def _read_uci(path: Path, name: str) -> TextDomain:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    pairs = []
    for entry in entries:
        text, label = entry.get("text") or "", entry.get("class")
        if not text.strip() and label is None:      # the one empty entry per file
            continue
        if label not in (0, 1):
            raise ValueError(f"{path}: 'class' must be 0 or 1, got {label!r} for {text[:40]!r}")
        pairs.append((text, 2.0 * label - 1.0))
    return _clean(pairs, name)


def load_review_text(domains=None, *, neutral: float = 0.5, directory=None) -> dict:
    """Labelled review text per domain: `{name: TextDomain(name, texts, y)}`, y in {-1, +1}.

    Args:
        domains: names from `REVIEW_TEXT_DOMAINS` (default: all seven, in that order).
        neutral: VADER domains only: mean ratings in (-neutral, neutral) are dropped, >= neutral is positive,
            <= -neutral negative. In (0, 4).
        directory: the `review_text` folder (default: found by `find_item("reviews-text")`, every file checked against
            its pinned SHA-256; a folder given here is read as it is).

    Returns:
        dict: name -> `TextDomain` with `texts` (n strings) and `y` (n,) float64.

    Raises:
        FileNotFoundError: the data was not fetched (the message says `rmt-alpha fetch reviews-text` and how to do it
            by hand).
        CorruptFileError: a file differs from the pinned one (named, with the expected SHA-256).

    Example:
        >>> from rmt_alpha.data import load_review_text
        >>> text = load_review_text(["uci-yelp"])     # doctest: +SKIP
        >>> len(text["uci-yelp"].texts), text["uci-yelp"].y[:3]     # doctest: +SKIP
        (996, array([ 1., -1., -1.]))
    """
    chosen = REVIEW_TEXT_DOMAINS if domains is None else tuple(domains)
    unknown = [d for d in chosen if d not in REVIEW_TEXT_DOMAINS]
    if unknown or not chosen:
        raise ValueError(f"domains must be a non-empty selection of {REVIEW_TEXT_DOMAINS}, got {list(chosen)}")
    if isinstance(neutral, bool) or not isinstance(neutral, (int, float)) or not 0 < neutral < VADER_RATING_LIMIT:
        raise ValueError(f"neutral must be a number in (0, {VADER_RATING_LIMIT:g}) (half-width of the dropped band "
                         f"of mean ratings), got {neutral!r}")
    folder = find_item("reviews-text") if directory is None else Path(directory)
    result = {}
    for name in chosen:
        relative = _VADER_FILES.get(name) or _UCI_FILES[name]
        path = folder / relative
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (directory={directory!s}); `rmt-alpha fetch "
                                    "reviews-text` writes the whole folder")
        result[name] = (_read_vader(path, name, float(neutral)) if name in _VADER_FILES
                        else _read_uci(path, name))
    return result
