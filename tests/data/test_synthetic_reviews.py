"""The review generator: labels decoded independently, sharing and flips, balance and negation rates, errors."""

import numpy as np
import pytest

from rmt_alpha.data._synthetic_reviews import ReviewTask, make_reviews


def _decode(X, task, domain):
    """Label from the tokens alone: majority of word polarity, flipped after a negator (independent of the
    generator's internal effective polarities)."""
    positive, negative = task.sentiment_words(domain)
    polarity = np.zeros(task.vocab_size)
    polarity[positive], polarity[negative] = 1, -1
    negator = X < task.n_negators
    sign = polarity[X] * np.where(np.roll(negator, 1, axis=1), -1, 1)
    assert np.all((polarity[X] != 0).sum(axis=1) == task.n_sentiment)
    return (sign.sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("domain", ["source", "target"])
def test_labels_follow_negated_majority(domain):
    task = ReviewTask(sharing=0.5, flip_fraction=0.5)
    X, y = make_reviews(3000, task, domain, random_state=1)
    assert X.shape == (3000, 32) and X.dtype == np.int32 and y.dtype == np.int32
    assert X.min() >= 0 and X.max() < task.vocab_size
    np.testing.assert_array_equal(_decode(X, task, domain), y)


def test_label_balance_and_negation_rate_within_four_standard_errors():
    task = ReviewTask()
    X, y = make_reviews(4000, task, "source", random_state=2)
    # Bernoulli(1/2) mean over 4000: s.e. 0.0079; 4 s.e. keeps the false-alarm rate below 1e-4.
    assert abs(y.mean() - 0.5) < 4 * np.sqrt(0.25 / 4000)
    negated = (X < task.n_negators).sum() / (4000 * task.n_sentiment)
    assert abs(negated - 0.25) < 4 * np.sqrt(0.25 * 0.75 / (4000 * task.n_sentiment))


def test_sharing_and_flip_counts():
    task = ReviewTask(sharing=0.25, flip_fraction=0.5)
    source_pos, source_neg = task.sentiment_words("source")
    target_pos, target_neg = task.sentiment_words("target")
    shared = set(source_pos) | set(source_neg)
    assert len(shared & (set(target_pos) | set(target_neg))) == 2 * task.n_shared == 20
    assert len(set(target_pos) & set(source_neg)) == task.n_flipped == 5         # flipped: positive in the target
    assert len(set(target_pos) & set(source_pos)) == task.n_shared - task.n_flipped
    no_sharing = ReviewTask(sharing=0.0)
    assert not (set(np.concatenate(no_sharing.sentiment_words("target"))) & shared)
    X_target, _ = make_reviews(500, no_sharing, "target", random_state=0)
    X_source, _ = make_reviews(500, no_sharing, "source", random_state=0)
    assert not (set(X_target.ravel()) & shared) and set(X_source.ravel()) & shared


def test_reproducible_and_prior_polarity():
    task = ReviewTask()
    a, b = make_reviews(50, task, random_state=5), make_reviews(50, task, random_state=5)
    np.testing.assert_array_equal(a[0], b[0])
    prior = task.prior_polarity()
    pos, neg = task.sentiment_words("source")
    assert np.all(prior[pos] == 1) and np.all(prior[neg] == -1) and np.count_nonzero(prior) == 160


@pytest.mark.parametrize("kwargs, message", [
    (dict(sharing=1.5), "sharing must be a number in"),
    (dict(flip_fraction=-0.1), "flip_fraction"),
    (dict(n_sentiment=2), "n_sentiment must be odd"),
    (dict(seq_len=4), r"seq_len must be >= 2 \* n_sentiment = 6"),
])
def test_bad_task_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReviewTask(**kwargs)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="domain must be one of"):
        make_reviews(10, domain="books")
    with pytest.raises(ValueError, match="n_samples"):
        make_reviews(0)
    with pytest.raises(TypeError, match="task must be a ReviewTask"):
        make_reviews(10, task={"sharing": 0.5})
