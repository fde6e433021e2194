"""The Amazon experiment runners (rmt_alpha.experiments: run_amazon_experiment, check_pairs, predict_vs_measure,
run_paper_table) on a small deterministic subset of the real files: 240 rows of each domain (the first 120
positive and the first 120 negative reviews), written to a temporary folder and read back through the loaders.
The measured accuracies are recomputed from scratch with the plain numpy reference, so the runners' plumbing
(standardisation, splits, fitting, scoring) is checked against an independent implementation."""

import numpy as np
import pytest
import scipy.io

from rmt_alpha.data._domains import AMAZON_DOMAINS, amazon_directory, load_amazon
from rmt_alpha.experiments import (
    ALPHA_GRID,
    check_pairs,
    format_campaign,
    predict_vs_measure,
    run_amazon_experiment,
)
from rmt_alpha.experiments._paper_mode import run_paper_table
from rmt_alpha.experiments._splits import draw_splits
from rmt_alpha.simulate._reference import fit_finetuned, fit_ridge_classifier

ROWS_PER_CLASS = 120

try:
    AMAZON = amazon_directory()
    AMAZON_ABSENT = ""
except (FileNotFoundError, ValueError) as missing:
    AMAZON, AMAZON_ABSENT = None, str(missing)
pytestmark = pytest.mark.skipif(bool(AMAZON_ABSENT), reason=f"Amazon Review data absent: {AMAZON_ABSENT}")


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """The first ROWS_PER_CLASS rows of each class of every domain, as .mat files in the loaders' format."""
    folder = tmp_path_factory.mktemp("amazon_subset")
    for name, domain in load_amazon(AMAZON).items():
        rows = np.concatenate([np.flatnonzero(domain.y > 0)[:ROWS_PER_CLASS],
                               np.flatnonzero(domain.y < 0)[:ROWS_PER_CLASS]])
        scipy.io.savemat(folder / f"{name}_400.mat", {"fts": domain.X[rows], "labels": (domain.y[rows] > 0)[:, None]
                                                     .astype(np.uint8)})
    return folder


def _standardised(X):
    scale = X.std(0)
    return (X - X.mean(0)) / np.where(scale > 0, scale, 1.0)


def _measured_by_hand(source, target, alpha, n, splits, seed, gamma=1.0):
    """Plain accuracy on the rest of the target domain after fine-tuning on n drawn rows, with numpy only (each
    domain standardised with its own rows, source ridge on every source row)."""
    Xs, Xt = _standardised(source.X), _standardised(target.X)
    w_s = fit_ridge_classifier(Xs, source.y, 1.0)
    train = draw_splits(Xt.shape[0], n, 0, splits, seed).train
    accuracy = np.empty((splits, alpha.size))
    for split, rows in enumerate(train):
        rest = np.setdiff1d(np.arange(Xt.shape[0]), rows)
        w = fit_finetuned(Xt[rows], target.y[rows], gamma, w_s, alpha)
        accuracy[split] = np.mean(target.y[rest, None] * (Xt[rest] @ w.T) > 0, axis=0)
    return accuracy


def test_predict_vs_measure_and_check_pairs_against_a_hand_computation(subset):
    domains = load_amazon(subset)
    alpha = np.array([0.0, 1.0, 2.5])
    check = predict_vs_measure(domains["books"], domains["dvd"], alpha, n=20, splits=4, seed=3, covariance=False)
    np.testing.assert_allclose(check.measured.per_trial,
                               _measured_by_hand(domains["books"], domains["dvd"], alpha, 20, 4, 3), atol=1e-12)
    assert np.all(np.isnan(check.predicted_covariance)) and np.all((check.predicted_isotropic > 0.5)
                                                                   & (check.predicted_isotropic < 1))
    [through_loader] = check_pairs([("books", "dvd")], alpha, directory=subset, n=20, splits=4, seed=3)
    np.testing.assert_array_equal(through_loader.measured.per_trial, check.measured.per_trial)
    np.testing.assert_allclose(through_loader.predicted_isotropic, check.predicted_isotropic, rtol=1e-12)
    with pytest.raises(ValueError, match="pairs must be"):
        check_pairs([("books",)], alpha, directory=subset)


def test_paper_table_on_the_subset_is_deterministic_and_plain_below_max_convention(subset):
    domains = load_amazon(subset, domains=("kitchen", "elec"))
    first, second = (run_paper_table(domains, [("kitchen", "elec")], seeds=1, splits=3) for _ in range(2))
    for name, accuracy in first[0].accuracy.items():
        np.testing.assert_array_equal(accuracy, second[0].accuracy[name])
        np.testing.assert_array_equal(first[0].paper_accuracy[name], np.maximum(accuracy, 1 - accuracy))


def test_amazon_campaign_quick_on_the_subset(subset):
    """The whole quick campaign (12 pairs) on the subset: every table present and sized, accuracies in [0, 1], the
    oracle at least as good as every grid method on average, the theory-check rows equal to predict_vs_measure,
    and its measured accuracy equal to the numpy hand computation for one pair."""
    experiment = run_amazon_experiment(subset, quick=True, seed=0)
    tables = experiment.tables
    assert set(tables) == {"honest", "honest_average", "paper_mode", "prediction"}
    assert len(tables["paper_mode"]) == 12 and len(tables["prediction"]) == 24 and len(experiment.checks) == 12
    assert {(row["source"], row["target"]) for row in tables["honest"]} == {
        (s, t) for s in AMAZON_DOMAINS for t in AMAZON_DOMAINS if s != t}
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in tables["honest"])
    mean = {row["method"]: row["accuracy"] for row in tables["honest_average"]}
    assert all(mean["oracle"] >= mean[name] - 1e-12 for name in ("alpha=0", "alpha=1", "CV"))
    books_dvd = next(c for c in experiment.checks if (c.source, c.target) == ("books", "dvd"))
    domains = load_amazon(subset)
    by_hand = _measured_by_hand(domains["books"], domains["dvd"], ALPHA_GRID, 20, experiment.settings["splits"], 0)
    np.testing.assert_allclose(books_dvd.measured.per_trial, by_hand, atol=1e-12)
    row = next(r for r in tables["prediction"] if (r["source"], r["target"], r["alpha"]) == ("books", "dvd", 1.0))
    index = int(np.argmin(np.abs(ALPHA_GRID - 1.0)))
    assert row["measured"] == pytest.approx(by_hand[:, index].mean(), abs=1e-12)
    text = format_campaign(experiment)           # the semi-empirical column is empty in --quick, and says why
    assert "nan" not in text and "\nsemi: not computed in a quick run (--quick): the semi-empirical theory" in text
