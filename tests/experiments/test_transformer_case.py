"""The registered transformer case: the plan as data, the registered statistics (pooled interval, Holm, the sign
verdict) against hand computations, and the unit-by-unit runner on the real encoder and text: a run stopped after its
first unit resumes and gives the same tables (skipped, with the reason, when the data are not fetched)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.stats

from rmt_alpha.experiments._case_plan import REGISTERED_PLAN, CaseArm, CasePlan
from rmt_alpha.experiments._case_report import case_tables, holm, pooled_difference, sign_verdict
from rmt_alpha.experiments._text_finetune import FinetuneSettings

from .test_text_transfer import needs_data


def test_the_registered_plan_is_what_the_registration_says():
    plan = REGISTERED_PLAN
    assert [(a.source, a.target, a.n_train) for a in plan.arms] == [
        ("vader-products", "vader-movies", 20), ("vader-tweets", "vader-editorials", 50),
        ("uci-imdb", "uci-amazon", 50)]
    assert plan.seeds == tuple(range(10, 70)) and plan.primary == ("lora", "alpha_lora", "lora_more_data")
    assert plan.finetune == FinetuneSettings()       # the stored run's settings, n_train set per arm
    units = plan.units()
    per_method = {m: sum(1 for _, _, x in units if x == m) for m in dict.fromkeys(m for _, _, m in units)}
    assert per_method["alpha_lora"] == 180 and per_method["dora"] == 60 and per_method["frozen_ridge_alpha1"] == 180
    assert len(units) == 3 * 60 * 9 + 3 * 20 * 2
    # seed-major: the first 3 * 11 units are seed 10 on every arm (3 primary, 2 secondary, 6 cheap methods)
    assert {seed for _, seed, _ in units[:33]} == {10} and units[33][1] == 11
    assert plan.settings(plan.arms[0]).n_train == 20 and plan.settings(plan.arms[1]).n_train == 50
    with pytest.raises(ValueError, match="must be a pair of text_pairs"):
        CaseArm("uci-imdb", "vader-movies", 20, 0)
    with pytest.raises(ValueError, match="distinct pair_index"):
        CasePlan(arms=(CaseArm("uci-imdb", "uci-amazon", 20, 0), CaseArm("uci-imdb", "uci-yelp", 20, 0)), seeds=(1,))
    with pytest.raises(ValueError, match="primary must hold methods of"):
        CasePlan(arms=plan.arms, seeds=(1,), primary=("prefix",))


def test_pooled_interval_holm_and_the_sign_verdict_by_hand():
    rng = np.random.default_rng(0)
    diffs = [rng.normal(0.01, 0.02, 60), rng.normal(0.0, 0.03, 60), rng.normal(-0.005, 0.02, 40)]
    rows = [{"mean_difference": d.mean(), "stderr": d.std(ddof=1) / np.sqrt(d.size), "seeds": d.size} for d in diffs]
    row = pooled_difference(rows)
    se = np.sqrt(sum(r["stderr"] ** 2 for r in rows)) / 3
    df = sum(r["stderr"] ** 2 for r in rows) ** 2 / sum(r["stderr"] ** 4 / (r["seeds"] - 1) for r in rows)
    mean = np.mean([d.mean() for d in diffs])
    assert row["mean_difference"] == pytest.approx(mean, abs=1e-15) and row["stderr"] == pytest.approx(se, rel=1e-12)
    assert row["df"] == pytest.approx(df, rel=1e-12) and 39 <= row["df"] <= 157    # in [min (m - 1), sum (m - 1)]
    half = scipy.stats.t.ppf(0.975, df) * se
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((mean - half, mean + half), abs=1e-12)
    assert row["p_value"] == pytest.approx(2 * scipy.stats.t.sf(abs(mean / se), df), rel=1e-10)
    assert pooled_difference(rows[:1] + [{"mean_difference": 0.0, "stderr": None, "seeds": 1}])["stderr"] is None
    # Holm over three p-values: sorted 0.01, 0.02, 0.04 -> 3 * 0.01, max(0.03, 2 * 0.02), max(0.04, 0.04); None kept
    adjusted = holm([0.04, 0.01, None, 0.02])
    assert adjusted[2] is None and [adjusted[i] for i in (1, 3, 0)] == pytest.approx([0.03, 0.04, 0.04])
    assert sign_verdict(0.015, 0.001, 0.02) == "supported" and sign_verdict(-0.016, 0.001, 0.02) == "contradicted"
    assert sign_verdict(0.015, -0.001, 0.02) == "not resolved" and sign_verdict(None, 0.01, 0.02) == "not resolved"


def test_case_tables_pair_by_seed_and_flag_the_precision():
    runs = []
    for seed in range(10):
        for method, accuracy in (("alpha_lora", 0.80 + 0.001 * seed), ("lora_more_data", 0.79), ("lora", 0.78)):
            runs.append({"source": "a", "target": "b", "seed": seed, "method": method, "test_accuracy": accuracy})
    runs.append({"source": "a", "target": "b", "seed": 99, "method": "alpha_lora", "test_accuracy": 0.0})  # unpaired
    predictions = [{"source": "a", "target": "b", "predicted_gain_over_control": 0.01,
                    "predicted_gain_covariance": -0.01}]
    tables = case_tables(runs, [("a", "b")], predictions)
    primary = next(r for r in tables["paired"] if (r["method"], r["baseline"]) == ("alpha_lora", "lora_more_data"))
    assert primary["seeds"] == 10 and primary["mean_difference"] == pytest.approx(0.0145)
    assert primary["sign"] == "supported" and primary["holm_p_value"] == primary["p_value"]
    versus_lora = next(r for r in tables["paired"] if (r["method"], r["baseline"]) == ("alpha_lora", "lora"))
    assert versus_lora["sign"] == "contradicted"
    pooled = next(r for r in tables["pooled"] if r["primary"])
    assert pooled["precision_met"] is True and pooled["half_width"] < 0.005


@pytest.mark.integration
@needs_data
def test_a_stopped_case_resumes_with_the_same_tables(tmp_path):
    from rmt_alpha.data import find_item
    from rmt_alpha.experiments._transformer_case import case_settings, case_store, run_transformer_case
    from rmt_alpha.experiments._units import UnitStore
    from rmt_alpha.nn import load_pretrained

    base = FinetuneSettings()
    small = FinetuneSettings(n_held_out=10, n_val=20, n_test=60, pool_size=100, max_length=32, head_max_epochs=3,
                             finetune=dataclasses.replace(base.finetune, max_epochs=1, patience=1))
    plan = CasePlan(arms=(CaseArm("uci-imdb", "uci-amazon", 20, 1),), seeds=(10, 11), primary=("lora",),
                    secondary=("head_only",), secondary_seeds=1,
                    cheap=("frozen_ridge_alpha1", "frozen_ridge_choose_alpha"), finetune=small)
    model = load_pretrained(find_item("minilm"), num_classes=2)
    full = run_transformer_case(plan, str(tmp_path / "full"), str(tmp_path / "full_out"), model=model,
                                progress=False)
    assert full.complete and len(full.runs) == 7 and full.status["units_computed_now"] == 7

    class Stop(Exception):
        pass

    class StopAfterOne(UnitStore):      # the plan's store, stopping before it computes a second unit
        def __call__(self, name, compute):
            if self.names() and name not in self.names():
                raise Stop
            return super().__call__(name, compute)

    units = tmp_path / "resumed"
    with pytest.raises(Stop):
        run_transformer_case(plan, str(units), None, model=model, progress=False,
                             store=StopAfterOne(units, case_settings(plan), text=True))
    assert len(case_store(plan, str(units)).names()) == 1
    partial = run_transformer_case(plan, str(units), str(tmp_path / "partial"), max_units=0, model=model,
                                   progress=False)
    assert not partial.complete and partial.status["units_done"] == 1
    with open(partial.files["table"], encoding="utf-8") as handle:
        assert "INCOMPLETE (1 of 7 units)" in handle.read()
    resumed = run_transformer_case(plan, str(units), str(tmp_path / "resumed_out"), model=model, progress=False)
    assert resumed.complete and resumed.status["units_computed_now"] == 6

    def as_text(result):     # the tables without the seconds, as text (NaN cells compare equal)
        rows = {name: [{k: v for k, v in row.items() if "wall_time" not in k} for row in table]
                for name, table in result.tables.items()}
        return json.dumps(rows, sort_keys=True, default=str)

    assert as_text(resumed) == as_text(full)
    assert [r["test_accuracy"] for r in resumed.runs] == [r["test_accuracy"] for r in full.runs]
    with open(resumed.files["results"], encoding="utf-8") as handle:
        stored = json.load(handle)
    assert stored["status"]["version"] and "commit" in stored["status"] and stored["plan"]["seeds"] == [10, 11]
    assert stored["status"]["unit_commits"] == sorted({str(r["computed_by"]["commit"]) for r in stored["runs"]})
    assert all(run["computed_by"]["platform"] == "cpu" for run in stored["runs"])
    frozen = [r for r in stored["runs"] if r["method"] == "frozen_ridge_choose_alpha"]
    assert all(r["trainable"] == 385 and np.isfinite(r["frozen_alpha"]) for r in frozen)
    with pytest.raises(ValueError, match="holds the units of a run with other settings"):
        case_store(dataclasses.replace(plan, seeds=(10, 12)), str(units))


def _stored_case():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    stored = json.loads((root / "theory" / "results" / "transformer_case.json").read_text())
    return root, stored


def test_the_stored_case_is_complete_and_recomputes_from_its_runs():
    """theory/results/transformer_case.json: complete (every unit of the plan), and its tables are the registered
    analysis of its own runs (recomputed here from the runs and predictions it holds)."""
    _, stored = _stored_case()
    assert stored["status"]["complete"] and stored["status"]["units_done"] == len(REGISTERED_PLAN.units()) == 1740
    arms = [(arm.source, arm.target) for arm in REGISTERED_PLAN.arms]
    again = case_tables(stored["runs"], arms, stored["predictions"])
    for key in ("pooled", "paired"):
        assert len(again[key]) == len(stored["tables"][key])
        for ours, theirs in zip(again[key], stored["tables"][key]):
            assert ours["mean_difference"] == pytest.approx(theirs["mean_difference"], abs=1e-12)
            assert ours["ci_low"] == pytest.approx(theirs["ci_low"], abs=1e-12)


def test_the_docs_state_the_registered_analysis():
    """docs/results.md and the README quote the stored analysis: the pooled table, the primary comparison per pair
    with Holm's p and the theory's sign, the frozen-feature check and the costs (notebook 4's statements are checked
    by tests/test_notebooks.py)."""
    root, stored = _stored_case()
    page = " ".join((root / "docs" / "results.md").read_text(encoding="utf-8").split())
    pooled = {(r["method"], r["baseline"]): r for r in stored["tables"]["pooled"]}
    paired = stored["tables"]["paired"]

    def pt(value, spec="+.2f"):
        return format(100 * value, spec)

    for row in pooled.values():
        interval = f"[{pt(row['ci_low'])}, {pt(row['ci_high'])}]"
        assert f"| {row['seeds_per_arm'][0]} | {pt(row['mean_difference'])} | {interval} |" in page
    primary = pooled[("alpha_lora", "lora_more_data")]
    assert primary["precision_met"] and f"half-width {pt(primary['half_width'], '.2f')} pt" in page
    per_pair = [r for r in paired if (r["method"], r["baseline"]) == ("alpha_lora", "lora_more_data")]
    assert all(r["ci_high"] < 0 and r["holm_p_value"] < 0.05 for r in per_pair)
    assert f"every pair ({', '.join(pt(r['mean_difference']) for r in per_pair)} pt;" in page
    assert [r["sign"] for r in per_pair] == ["contradicted", "contradicted", "supported"]
    assert f"predicted {pt(per_pair[2]['predicted'])} pt) and is contradicted on the other two (predicted " \
           f"{pt(per_pair[0]['predicted'])} and {pt(per_pair[1]['predicted'])} pt)" in page
    frozen = [r for r in paired if (r["method"], r["baseline"]) == ("frozen_ridge_choose_alpha", "frozen_ridge_alpha1")]
    assert all(r["sign"] == "supported" for r in frozen)
    assert (f"on every pair ({', '.join(pt(r['mean_difference']) for r in frozen)} pt against the predicted "
            f"{', '.join(pt(r['predicted']) for r in frozen)};") in page
    versus = pooled[("frozen_ridge_choose_alpha", "lora")]
    assert (f"by {pt(-versus['mean_difference'], '.2f')} pt (95% interval {pt(-versus['ci_high'], '.2f')} to "
            f"{pt(-versus['ci_low'], '.2f')})") in page
    methods = stored["tables"]["methods"]

    def cost(method):
        values = [r["wall_time_mean"] for r in methods if r["method"] == method]
        return f"{min(values):.0f} to {max(values):.0f} s"

    assert (f"for {cost('lora')} per run on a CPU and 74,498 trainable parameters against "
            f"{cost('frozen_ridge_choose_alpha')} and 385") in page
    assert f"it costs {cost('alpha_lora')} per run" in page
    readme = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    assert (f"α-LoRA as configured loses to LoRA trained on all the labelled rows it uses "
            f"({pt(primary['mean_difference'])} pt, 95% "
            f"interval {pt(primary['ci_low'])} to {pt(primary['ci_high'])})") in readme
    gain = pt(-versus["mean_difference"], ".2f")
    assert f"LoRA beats the frozen encoder's ridge head at `choose_alpha`'s α by {gain} pt" in readme
    choice = pt(pooled[("frozen_ridge_choose_alpha", "frozen_ridge_alpha1")]["mean_difference"])
    assert f"`choose_alpha`'s α beats α = 1 by {choice} pt, as the theory predicts" in readme
