"""Synthetic "review" token sequences with a controllable domain shift (the transformer case's task).

A review is `seq_len` tokens: filler words (common ones and words specific to the domain), `n_sentiment` sentiment
words, each negated with probability `negation_rate` by a negator token just before it. The label is the sign of
the sum of the *effective* polarities (word polarity, times -1 when negated), so reading the label needs
attention to the previous token. Labels are balanced by symmetry (an odd number of effective polarities, each +-1
with probability 1/2).

Domain shift. Each domain has `n_sentiment_words` positive and as many negative words. The target's sentiment
words are a fraction `sharing` of the source's (per polarity) plus new target-only words: `sharing` is the
analogue of the linear model's beta. A fraction `flip_fraction` of the shared words has the opposite polarity in
the target (the source direction is partly wrong for the target). Filler vocabulary is half domain-specific.

Token layout: negators, common fillers, source fillers, target fillers, source positive, source negative,
target-only positive, target-only negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rmt_alpha._validation import check_count, describe_value

DOMAINS = ("source", "target")


@dataclass(frozen=True)
class ReviewTask:
    """Vocabulary and sequence design of a synthetic source/target review pair (theory/THEORY.md section 7).

    `sharing` plays the part of the linear model's beta (theory/THEORY.md section 1).

    Attributes:
        sharing: fraction of each polarity's target sentiment words taken from the source's, in [0, 1].
        flip_fraction: fraction of the shared words whose polarity is reversed in the target, in [0, 1].
        seq_len: tokens per review (>= 2 * n_sentiment).
        n_sentiment: sentiment words per review (odd, so the label is never a tie).
        negation_rate: probability that a sentiment word is preceded by a negator, in [0, 1].
        n_sentiment_words: sentiment words per polarity and domain.
        n_common: filler words shared by both domains.
        n_domain_words: filler words specific to each domain.
        n_negators: negator tokens.
        domain_filler_rate: probability that a filler token is domain-specific, in [0, 1].

    Raises:
        ValueError: when a field is out of its range (named in the message).

    Example:
        >>> from rmt_alpha.data import ReviewTask
        >>> ReviewTask(sharing=0.25).n_shared
        10
    """

    sharing: float = 0.5
    flip_fraction: float = 0.0
    seq_len: int = 32
    n_sentiment: int = 3
    negation_rate: float = 0.25
    n_sentiment_words: int = 40
    n_common: int = 150
    n_domain_words: int = 100
    n_negators: int = 3
    domain_filler_rate: float = 0.5

    def __post_init__(self):
        for name in ("sharing", "flip_fraction", "negation_rate", "domain_filler_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float, np.floating)) and 0.0 <= float(value) <= 1.0):
                raise ValueError(f"{name} must be a number in [0, 1], got {describe_value(value)}")
        for name in ("n_sentiment_words", "n_common", "n_domain_words", "n_negators"):
            check_count(name, getattr(self, name))
        check_count("n_sentiment", self.n_sentiment)
        if self.n_sentiment % 2 == 0:
            raise ValueError(f"n_sentiment must be odd (no ties in the label), got {self.n_sentiment}")
        check_count("seq_len", self.seq_len)
        if self.seq_len < 2 * self.n_sentiment:
            raise ValueError(f"seq_len must be >= 2 * n_sentiment = {2 * self.n_sentiment} (a slot for each "
                             f"sentiment word and its negator), got {self.seq_len}")

    # -- vocabulary layout -------------------------------------------------------------------------------------
    def _start(self, block: str) -> int:
        sizes = [("negators", self.n_negators), ("common", self.n_common), ("source_fill", self.n_domain_words),
                 ("target_fill", self.n_domain_words), ("source_pos", self.n_sentiment_words),
                 ("source_neg", self.n_sentiment_words), ("target_pos", self.n_sentiment_words),
                 ("target_neg", self.n_sentiment_words)]
        start = 0
        for name, size in sizes:
            if name == block:
                return start
            start += size
        return start  # "end": the vocabulary size

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens."""
        return self._start("end")

    @property
    def n_shared(self) -> int:
        """Shared sentiment words per polarity: `round(sharing * n_sentiment_words)`."""
        return int(round(self.sharing * self.n_sentiment_words))

    @property
    def n_flipped(self) -> int:
        """Shared words per polarity whose polarity is reversed in the target."""
        return int(round(self.flip_fraction * self.n_shared))

    def sentiment_words(self, domain: str) -> tuple[np.ndarray, np.ndarray]:
        """The positive and negative sentiment token ids of a domain (the target's with their target polarities).

        Args:
            domain: "source" or "target".

        Returns:
            tuple: `(positive, negative)`, int arrays of shape (n_sentiment_words,) each.

        Raises:
            ValueError: when `domain` is unknown.

        Example:
            >>> from rmt_alpha.data import ReviewTask
            >>> positive, negative = ReviewTask().sentiment_words("source")
            >>> positive.shape, negative.shape
            ((40,), (40,))
        """
        _check_domain(domain)
        k = self.n_sentiment_words
        source_pos = np.arange(k) + self._start("source_pos")
        source_neg = np.arange(k) + self._start("source_neg")
        if domain == "source":
            return source_pos, source_neg
        own = k - self.n_shared
        target_pos = np.concatenate([source_pos[: self.n_shared], np.arange(own) + self._start("target_pos")])
        target_neg = np.concatenate([source_neg[: self.n_shared], np.arange(own) + self._start("target_neg")])
        flip = self.n_flipped  # the first `flip` shared words of each polarity swap sides
        positive = np.concatenate([target_neg[:flip], target_pos[flip:]])
        negative = np.concatenate([target_pos[:flip], target_neg[flip:]])
        return positive, negative

    def prior_polarity(self) -> np.ndarray:
        """Per token, +1 / -1 / 0: the source polarity of source words and the target polarity of target-only words.

        What a model pre-trained on broad text might already know.

        Returns:
            np.ndarray: shape (vocab_size,), values in {-1, 0, +1}.
        """
        polarity = np.zeros(self.vocab_size)
        k = self.n_sentiment_words
        for block, sign in (("source_pos", 1), ("source_neg", -1), ("target_pos", 1), ("target_neg", -1)):
            polarity[self._start(block): self._start(block) + k] = sign
        return polarity


def _check_domain(domain):
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")


def make_reviews(n_samples: int, task: ReviewTask | None = None, domain: str = "source", random_state=None):
    """Draw `n_samples` synthetic reviews of a domain (scikit-learn's `make_*` convention).

    Args:
        n_samples: number of reviews (>= 1).
        task: the `ReviewTask`; None for `ReviewTask()`.
        domain: "source" or "target".
        random_state: None, an int seed or a `np.random.Generator`.

    Returns:
        tuple: `(X, y)`, X int32 tokens of shape (n_samples, seq_len), y int32 labels of shape (n_samples,) in
        {0, 1} (1 = positive).

    Raises:
        ValueError: when `n_samples` is not a positive integer or `domain` is unknown.
        TypeError: when `task` is not a `ReviewTask`.

    Example:
        >>> from rmt_alpha.data import ReviewTask, make_reviews
        >>> X, y = make_reviews(100, ReviewTask(sharing=0.25), domain="target", random_state=0)
        >>> X.shape, y.shape
        ((100, 32), (100,))
    """
    n_samples = check_count("n_samples", n_samples)
    task = ReviewTask() if task is None else task
    if not isinstance(task, ReviewTask):
        raise TypeError(f"task must be a ReviewTask, got {type(task).__name__}")
    _check_domain(domain)
    rng = np.random.default_rng(random_state)
    length, m = task.seq_len, task.n_sentiment

    fill_start = task._start("source_fill" if domain == "source" else "target_fill")
    common = rng.integers(task.n_common, size=(n_samples, length)) + task._start("common")
    own = rng.integers(task.n_domain_words, size=(n_samples, length)) + fill_start
    X = np.where(rng.random((n_samples, length)) < task.domain_filler_rate, own, common)

    effective = rng.choice([-1, 1], size=(n_samples, m))
    y = (effective.sum(axis=1) > 0).astype(np.int32)
    negated = rng.random((n_samples, m)) < task.negation_rate
    word_sign = np.where(negated, -effective, effective)
    positive, negative = task.sentiment_words(domain)
    words = np.where(word_sign > 0, rng.choice(positive, size=(n_samples, m)),
                     rng.choice(negative, size=(n_samples, m)))
    segment = length // m            # one sentiment word per segment, never at a segment's first slot
    positions = np.arange(m) * segment + rng.integers(1, segment, size=(n_samples, m))
    rows = np.arange(n_samples)[:, None]
    X[rows, positions] = words
    negators = rng.integers(task.n_negators, size=(n_samples, m)) + task._start("negators")
    X[rows, positions - 1] = np.where(negated, negators, X[rows, positions - 1])
    return X.astype(np.int32), y
