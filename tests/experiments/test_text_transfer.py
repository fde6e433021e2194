"""Text transfer on a real encoder: the pieces (pairs, source head, splits, paired statistics, the choice of the
fine-tuned pairs, the centring the theory assumes) and the quick path end to end on the real all-MiniLM-L6-v2 and
the real review text (skipped, with the reason, when they are not fetched: `rmt-alpha fetch minilm reviews-text`)."""

import dataclasses
import json
import os

import numpy as np
import pytest
import scipy.stats

from rmt_alpha.data import Domain, find_item
from rmt_alpha.experiments import (
    TextTransferConfig,
    check_from_record,
    predict_vs_measure,
    run_text_transfer,
    text_pairs,
)
from rmt_alpha.experiments._finetune_report import paired_difference
from rmt_alpha.experiments._text_finetune import FinetuneSettings, head_params, source_head, split_rows
from rmt_alpha.experiments._text_transfer import choose_finetune_pairs


def _missing() -> str:
    reasons = []
    for name in ("minilm", "reviews-text"):
        try:
            find_item(name)
        except FileNotFoundError as error:
            reasons.append(f"{name} not fetched ({str(error).splitlines()[0]})")
    return "; ".join(reasons)


MISSING = _missing()
needs_data = pytest.mark.skipif(bool(MISSING), reason=MISSING or "data present")


def test_pairs_stay_within_a_labelling_scheme():
    pairs = text_pairs()
    assert len(pairs) == 18 and len(set(pairs)) == 18
    assert all(s.split("-")[0] == t.split("-")[0] and s != t for s, t in pairs)
    with pytest.raises(ValueError, match="groups must be a non-empty list of"):
        text_pairs(["imdb"])
    with pytest.raises(ValueError, match="theory_pairs must be pairs of text_pairs"):
        TextTransferConfig(theory_pairs=[("uci-imdb", "vader-movies")])


def test_paired_difference_matches_scipy_and_a_hand_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, 10), rng.normal(0.79, 0.02, 10)
    row = paired_difference(a, b)
    diff = a - b
    se = diff.std(ddof=1) / np.sqrt(10)
    half = scipy.stats.t.ppf(0.975, 9) * se
    assert row["mean_difference"] == pytest.approx(diff.mean(), abs=1e-15)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((diff.mean() - half, diff.mean() + half), abs=1e-12)
    assert row["p_value"] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert row["wins"] + row["losses"] + row["ties"] == 10
    tied = paired_difference([0.8, 0.8], [0.8, 0.8])               # no spread: no interval, no test
    assert tied["ci_low"] is None and tied["p_value"] is None and tied["ties"] == 2


def test_source_head_is_the_ridge_classifier_on_target_standardised_features():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=16) / 4
    y = np.where(rng.random(400) < 0.5, 1.0, -1.0)
    X = y[:, None] * mean + rng.normal(size=(400, 16)) * rng.uniform(0.5, 2.0, 16) + 3.0
    w_s, scale = source_head(X, y, 1.0)
    assert scale > 0
    target = X[:200] + 1.0                      # a shifted domain: the head standardises with its own rows
    head = head_params(w_s, scale, target)
    logits = target @ np.asarray(head["kernel"], np.float64) + np.asarray(head["bias"], np.float64)
    standardised = (target - target.mean(0)) / target.std(0)
    # float32 weights: the logit difference equals c w_s . (x - m_t) / s_t to float32 rounding.
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], scale * standardised @ w_s, rtol=1e-5, atol=1e-5)


def test_splits_are_disjoint_and_too_small_domains_are_refused():
    settings = FinetuneSettings(seeds=2, n_train=20, n_held_out=10, n_val=10, n_test=30, pool_size=20)
    rows = split_rows(100, settings, seed=3)
    everything = np.concatenate(list(rows.values()))
    assert len(set(everything.tolist())) == everything.size == settings.rows()
    assert {k: len(v) for k, v in rows.items()} == {"train": 20, "held_out": 10, "val": 10, "pool": 20, "test": 30}
    assert not np.array_equal(split_rows(100, settings, seed=4)["test"], rows["test"])
    with pytest.raises(ValueError, match="the target domain has 50 rows, fewer than the 90"):
        split_rows(50, settings, seed=0)
    with pytest.raises(ValueError, match="methods must be a non-empty subset"):
        FinetuneSettings(methods=("prefix",))


def test_fine_tuned_pairs_are_the_largest_and_smallest_predicted_gain():
    def row(source, target, n, gain, centre="mean"):
        return {"source": source, "target": target, "n": n, "alpha": 1.0, "centre": centre, "whiten": False,
                "predicted_gain_covariance": gain}

    rows = [row("a", "b", 50, 0.01), row("b", "a", 50, 0.002), row("a", "c", 50, 0.03), row("c", "a", 20, 0.5),
            row("b", "c", 50, 0.9, centre="midpoint")]
    assert choose_finetune_pairs(rows, 48) == [("a", "c"), ("b", "a")]
    assert choose_finetune_pairs(rows, 48, min_rows=({"a": 10, "b": 500, "c": 500}, 100)) == [("a", "c"), ("a", "b")]
    assert choose_finetune_pairs(rows, 20) == [("c", "a")]
    # a pair whose alpha* is infinite has no gain to rank (NaN), and is not chosen
    assert choose_finetune_pairs(rows + [row("c", "b", 50, float("nan"))], 48) == [("a", "c"), ("b", "a")]


def test_gains_at_an_infinite_alpha_star_are_not_a_number():
    from rmt_alpha.experiments._campaign import _check_rows

    alpha = np.array([0.0, 1.0, 2.0])
    record = {"source": "a", "target": "b", "n": 20, "centre": "mean", "whiten": False, "alpha": alpha.tolist(),
              "measured_mean": [0.6, 0.7, 0.75], "measured_stderr": [0.01] * 3, "predicted_isotropic": [0.6, 0.7, 0.8],
              "predicted_covariance": [0.6, 0.7, 0.8], "alpha_star_isotropic": np.inf, "alpha_star_covariance": np.inf}
    rows = _check_rows([check_from_record(record)])
    assert all(np.isnan(r["predicted_gain_covariance"]) and np.isnan(r["measured_gain_at_alpha_star_covariance"])
               for r in rows)
    finite = _check_rows([check_from_record({**record, "alpha_star_covariance": 2.0})])[1]
    assert finite["predicted_gain_covariance"] == pytest.approx(0.1)
    assert finite["measured_gain_at_alpha_star_covariance"] == pytest.approx(0.05)


def test_midpoint_centring_is_what_the_theory_assumes_on_unbalanced_classes():
    """A symmetric Gaussian mixture with 75% positive rows: centred at the class midpoint the data are the theory's
    model, centred at the overall mean every row carries an offset (pi_- - pi_+) mu the theory does not model."""
    rng = np.random.default_rng(2)
    p = 40
    mu_s = rng.normal(size=p) * 0.35
    mu_t = 0.8 * mu_s + rng.normal(size=p) * 0.2

    def domain(name, mean, rows, positive):
        y = np.where(rng.random(rows) < positive, 1.0, -1.0)
        return Domain(name, y[:, None] * mean + rng.normal(size=(rows, p)) + 5.0, y)

    source, target = domain("s", mu_s, 4000, 0.5), domain("t", mu_t, 6000, 0.75)
    grid = np.array([0.0, 1.0, 2.0])
    mid = predict_vs_measure(source, target, grid, n=40, splits=40, centre="midpoint")
    mean = predict_vs_measure(source, target, grid, n=40, splits=40, centre="mean")
    # Midpoint: the deterministic equivalent at p = 40 against 40 splits; tolerance 4 standard errors of the
    # measured mean plus 0.005 for the finite-p error of the equivalent (seen: gaps below 0.001).
    gap = np.abs(mid.predicted_covariance - mid.measured.mean)
    assert np.all(gap <= 4 * mid.measured.stderr + 0.005), (gap, mid.measured.stderr)
    # Overall mean: the offset costs the bias-free classifier accuracy (seen: 0.97 -> 0.85 at alpha = 1) and the
    # theory, which does not model it, over-predicts (seen: by 5 to 7 points).
    assert np.all(mean.measured.mean < mid.measured.mean - 0.05)
    assert np.all(mean.predicted_covariance - mean.measured.mean > 0.03)
    with pytest.raises(ValueError, match="centre must be one of"):
        predict_vs_measure(source, target, grid, centre="median")


@needs_data
@pytest.mark.integration
def test_quick_path_on_the_real_encoder_and_text(tmp_path):
    from rmt_alpha.data import load_review_text
    from rmt_alpha.nn import load_pretrained, pooled_features
    from rmt_alpha.nn._pretrained import tokenize

    config = TextTransferConfig.quick()
    model = load_pretrained(find_item("minilm"), num_classes=2)
    result = run_text_transfer(config, str(tmp_path), progress=False, model=model)
    for path in result.files.values():
        assert os.path.getsize(path) > 0
    settings = config.finetune
    assert len(result.runs) == settings.seeds * len(settings.methods)
    assert all(0.5 < run["test_accuracy"] <= 1.0 for run in result.runs)
    frozen = [run for run in result.runs if run["method"].startswith("frozen")]
    assert len(frozen) == 2 * settings.seeds and all(run["steps_run"] == 0 for run in frozen)
    assert {row["trainable"] for row in result.tables["methods"] if row["method"].startswith("frozen")} == {384, 385}
    for run in result.runs:   # steps and alpha updates describe the returned state
        if run in frozen:
            continue
        assert run["steps"] <= run["steps_run"] and run["alpha_updates"] <= run["alpha_updates_run"]
        every = settings.method_config(run["method"]).alpha_every
        assert run["alpha_updates"] == (run["steps"] // every if run["method"] in ("head_alpha", "head_alpha_null",
                                                                                   "alpha_lora") else 0)
    link = result.tables["theory_link"][0]
    assert (link["source"], link["target"]) == config.finetune_pairs[0] and np.isfinite(link["predicted_gain"])
    assert any(row["method"] == "alpha_lora" and row["baseline"] == "lora" for row in result.tables["paired"])
    assert np.isfinite(link["encoder_control_gain"])   # alpha-LoRA against LoRA given the held-out rows too
    # the data control trains on the training and the held-out rows, every other trained method on n_train
    for run in (run for run in result.runs if run not in frozen):
        rows = settings.n_train + (settings.n_held_out if run["method"] == "lora_more_data" else 0)
        batch = settings.method_config(run["method"]).batch_size
        assert run["steps_run"] == run["epochs_run"] * (rows // batch), run["method"]
    with open(result.files["results"], encoding="utf-8") as handle:
        stored = json.load(handle)
    assert len(stored["runs"]) == len(result.runs)
    # The semi-empirical check at the first n, centred at the mean, survives the JSON round trip.
    record = next(r for r in stored["theory_curves"] if r["centre"] == "mean")
    check = next(c for c in result.theory.checks if c.centre == "mean")
    back = check_from_record(record)
    np.testing.assert_allclose(back.predicted_semi_empirical, check.predicted_semi_empirical, rtol=1e-12)
    assert back.alpha_star_semi_empirical == check.alpha_star_semi_empirical and np.isfinite(
        check.alpha_star_semi_empirical)
    # The head methods run on embed() features: the same numbers the network's pooled output gives.
    source, target = config.finetune_pairs[0]
    texts = load_review_text([target])[target].texts[:8]
    from rmt_alpha.experiments._text_domains import feature_model
    from rmt_alpha.nn import embed

    features = embed(model, texts, max_length=settings.max_length, cache=False)
    network = feature_model(model)
    tokens = tokenize(network, texts, max_length=settings.max_length)
    np.testing.assert_allclose(pooled_features(network.params, tokens, network.config), features, atol=2e-5)


def test_splits_keep_two_rows_of_each_class_for_the_estimators():
    from rmt_alpha.experiments._splits import draw_splits

    labels = np.where(np.arange(300) < 30, -1.0, 1.0)          # 10% negative: many plain draws have < 2
    plain = draw_splits(300, 12, 50, 200, seed=0)
    assert np.any(np.sum(labels[plain.train] < 0, axis=1) < 2)
    kept = draw_splits(300, 12, 50, 200, seed=0, labels=labels)
    assert np.all(np.sum(labels[kept.train] < 0, axis=1) >= 2) and np.all(np.sum(labels[kept.train] > 0, axis=1) >= 2)
    with pytest.raises(ValueError, match="each class needs at least min_per_class = 2"):
        draw_splits(300, 12, 50, 5, seed=0, labels=np.where(np.arange(300) < 1, -1.0, 1.0))


def _gaussian_domains(seed: int = 3, p: int = 12):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=p) * 0.4

    def domain(name, shift, rows):
        y = np.where(rng.random(rows) < 0.5, 1.0, -1.0)
        return Domain(name, y[:, None] * (mean + shift) + rng.normal(size=(rows, p)) * 1.5 + 2.0, y)

    return domain("s", 0.0, 600), domain("t", rng.normal(size=p) * 0.3, 400)


def test_frozen_ridge_rows_are_the_linear_protocol_on_the_seeds_rows():
    """The frozen rows against an independent numpy computation of the honest protocol on one seed's rows
    (standardise the source with its rows and the target with its training and pool rows, ridge source head,
    w_alpha = (X^T X / n + gamma I)^-1 (X^T y / n + alpha gamma w_s)): float64 throughout, so 1e-12."""
    from rmt_alpha import choose_alpha
    from rmt_alpha.experiments._frozen_ridge import FROZEN_METHODS, frozen_ridge

    source, target = _gaussian_domains()
    settings = FinetuneSettings(n_train=30, n_held_out=10, n_val=20, n_test=100, pool_size=120)
    rows = split_rows(len(target.y), settings, seed=4)

    def standardise(X, fitted_on):
        return (X - fitted_on.mean(0)) / fitted_on.std(0)

    S = standardise(source.X, source.X)
    w_s = np.linalg.solve(S.T @ S / len(S) + np.eye(S.shape[1]), S.T @ source.y / len(S))
    fitted_on = target.X[np.concatenate([rows["train"], rows["pool"]])]
    X = standardise(target.X[rows["train"]], fitted_on)
    y = target.y[rows["train"]]
    pool = standardise(target.X[rows["pool"]], fitted_on)
    expected_alpha = choose_alpha(w_s, X, y, unlabelled=pool).alpha
    for method, alpha in zip(FROZEN_METHODS, (1.0, expected_alpha)):
        row = frozen_ridge(source, target, rows, method)
        w = np.linalg.solve(X.T @ X / len(X) + np.eye(X.shape[1]), X.T @ y / len(X) + alpha * w_s)
        for part, key in (("test", "test_accuracy"), ("val", "val_accuracy")):
            scores = standardise(target.X[rows[part]], fitted_on) @ w
            assert row[key] == pytest.approx(np.mean(scores * target.y[rows[part]] > 0), abs=1e-12), (method, part)
        assert row["alpha"] == pytest.approx(alpha, abs=1e-12)
        assert row["trainable"] == 12 + (method == "frozen_ridge_choose_alpha")
        assert row["wall_time"] > 0
    assert expected_alpha != 1.0           # the choice did move away from alpha = 1 on this draw
    # What the frozen rows never read: the held-out rows, the validation and test labels (fit and alpha unchanged).
    moved = target.X.copy()
    moved[rows["held_out"]] += 5.0
    flipped = target.y.copy()
    flipped[rows["test"]] *= -1
    row = frozen_ridge(source, Domain("t", moved, flipped), rows, "frozen_ridge_choose_alpha")
    reference = frozen_ridge(source, target, rows, "frozen_ridge_choose_alpha")
    assert row["alpha"] == reference["alpha"] and row["test_accuracy"] == pytest.approx(1 - reference["test_accuracy"])
    with pytest.raises(ValueError, match="method must be one of"):
        frozen_ridge(source, target, rows, "frozen_ridge_alpha2")


@pytest.mark.slow   # tests/nn/test_training.py::test_the_speedups_keep_a_seeds_numbers covers the same code
@needs_data
def test_the_speedups_keep_a_minilm_seed():
    """One seed of LoRA and alpha-LoRA inside the real MiniLM, with the batches cut to multiples of 8 tokens and
    evaluated 16 rows at a time (the defaults) and with the plain computation (every batch at the full 32 tokens,
    one evaluation call): the same validation and test accuracy, steps and alpha updates, and the learned alphas to
    float32 rounding (1e-5)."""
    from rmt_alpha.data import load_review_text
    from rmt_alpha.experiments import encoder_domains
    from rmt_alpha.experiments._text_domains import feature_model
    from rmt_alpha.experiments._text_finetune import pair_inputs, run_method, seed_inputs
    from rmt_alpha.nn import load_pretrained

    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    texts = load_review_text(["uci-imdb", "uci-amazon"])
    base = FinetuneSettings()
    fast = FinetuneSettings(n_train=20, n_held_out=20, n_val=30, n_test=100, pool_size=100, max_length=32,
                            finetune=dataclasses.replace(base.finetune, max_epochs=2, patience=2, alpha_every=1))
    plain = dataclasses.replace(fast, finetune=dataclasses.replace(fast.finetune, width_multiple=32, eval_chunk=500))
    domains = encoder_domains(model, texts, max_length=fast.max_length)
    pair = pair_inputs(model, domains["uci-imdb"], domains["uci-amazon"], texts["uci-amazon"].texts, fast)
    seeded = seed_inputs(pair, fast, seed=3)
    for method in ("lora", "alpha_lora"):
        a, b = (run_method(model, pair, seeded, method, settings) for settings in (fast, plain))
        for key in ("test_accuracy", "val_accuracy", "best_epoch", "steps", "alpha_updates"):
            assert a[key] == b[key], (method, key)
        for path, stats in a["alpha"].items():
            assert stats == pytest.approx(b["alpha"][path], abs=1e-5), (method, path)
