"""Review text: the labelling rule on hand-written files (threshold, neutral band, empty, repeated and HTML-escaped
texts), the counts of the pinned files (when fetched: `rmt-alpha fetch reviews-text`), and the errors."""

import json
import shutil

import numpy as np
import pytest

from rmt_alpha.data import REVIEW_TEXT_DOMAINS, CorruptFileError, find_item, load_review_text

try:
    FETCHED = find_item("reviews-text")
except FileNotFoundError as missing:
    FETCHED, WHY = None, str(missing).splitlines()[0]
else:
    WHY = ""
needs_text = pytest.mark.skipif(FETCHED is None, reason=f"review text not fetched: {WHY}")

# The pinned files (SHA-256 in rmt_alpha/data/_registry.py) at neutral = 0.5: (texts, positive, negative).
COUNTS = {"vader-movies": (10070, 4995, 5075), "vader-products": (2977, 1744, 1233),
          "vader-editorials": (2931, 1175, 1756), "vader-tweets": (3432, 2345, 1087),
          "uci-amazon": (990, 493, 497), "uci-imdb": (997, 498, 499), "uci-yelp": (996, 499, 497)}


def _write_folder(root):
    vader = root / "vader"
    vader.mkdir(parents=True)
    rows = ["1\t0.5\tat the threshold: positive", "2\t0.49\tinside the band: dropped", "3\t-0.5\tat minus: negative",
            "4\t-3.2\tvery bad", "5\t2.0\tR&amp;B was great", "6\t1.0\tat the threshold: positive",
            "7\t-1.0\t   ", "8\t0.0\tneutral"]
    (vader / "movieReviewSnippets_GroundTruth.txt").write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    uci = root / "uci"
    uci.mkdir()
    entries = [{"text": "Loved it.  ", "class": 1}, {"text": "Awful.", "class": 0}, {"text": "Loved it.", "class": 1},
               {"text": "", "class": None}]
    (uci / "yelp.json").write_text(json.dumps(entries), encoding="utf-8")
    return root


def test_the_labelling_rule_on_a_hand_written_folder(tmp_path):
    folder = _write_folder(tmp_path / "review_text")
    text = load_review_text(["vader-movies", "uci-yelp"], directory=folder)
    movies = text["vader-movies"]
    # by hand: >= 0.5 positive, <= -0.5 negative, (-0.5, 0.5) dropped, blank dropped, a repeat dropped, &amp; -> &
    assert movies.texts == ["at the threshold: positive", "at minus: negative", "very bad", "R&B was great"]
    np.testing.assert_array_equal(movies.y, [1.0, -1.0, -1.0, 1.0])
    assert movies.y.dtype == np.float64
    yelp = text["uci-yelp"]
    assert yelp.texts == ["Loved it.", "Awful."] and yelp.y.tolist() == [1.0, -1.0]
    wider = load_review_text(["vader-movies"], neutral=1.0, directory=folder)["vader-movies"]
    # the repeat of row 1 (rating 1.0) is now the first kept copy: repeats are dropped among the kept rows
    assert wider.texts == ["very bad", "R&B was great", "at the threshold: positive"]


@pytest.mark.parametrize("neutral", [0, -1, 4, 4.5, float("nan"), "0.5", True])
def test_neutral_must_lie_inside_the_rating_scale(tmp_path, neutral):
    with pytest.raises(ValueError, match=r"neutral must be a number in \(0, 4\)"):
        load_review_text(["vader-movies"], neutral=neutral, directory=_write_folder(tmp_path / "r"))


def test_unknown_domains_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="domains must be a non-empty selection"):
        load_review_text(["imdb"])
    with pytest.raises(FileNotFoundError, match=r"tweets_GroundTruth\.txt"):
        load_review_text(["vader-tweets"], directory=_write_folder(tmp_path / "r"))


def test_a_data_root_without_the_text_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RMT_ALPHA_DATA", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=r"(?s)rmt-alpha fetch reviews-text.*vaderSentiment-3\.3\.2\.tar\.gz"):
        load_review_text()


@needs_text
def test_counts_of_the_pinned_files():
    text = load_review_text()
    assert tuple(text) == REVIEW_TEXT_DOMAINS
    for name, domain in text.items():
        assert (len(domain.texts), int((domain.y > 0).sum()), int((domain.y < 0).sum())) == COUNTS[name], name
        assert len(set(domain.texts)) == len(domain.texts) and all(t and t == t.strip() for t in domain.texts)
        assert set(np.unique(domain.y)) == {-1.0, 1.0}
    assert not any("&amp;" in t for t in text["vader-tweets"].texts)


@needs_text
def test_a_corrupt_file_is_named_with_its_pinned_hash(tmp_path, monkeypatch):
    copy = tmp_path / "root" / "review_text"
    shutil.copytree(FETCHED, copy)
    with open(copy / "uci" / "imdb.json", "ab") as handle:
        handle.write(b" ")
    monkeypatch.setenv("RMT_ALPHA_DATA", str(tmp_path / "root"))
    with pytest.raises(CorruptFileError, match=r"imdb\.json.*expected 44a7b9082ed7"):
        load_review_text(["uci-yelp"])
