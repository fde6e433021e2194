"""The numbers of theory/real_features.md's tables are those of the stored results their commands wrote
(theory/results/real_features_variants_n*.json, fidelity_*.json), at the digits shown: a table cannot drift from
the run it quotes, and each stored result says which law mode (in-sample or not) each of its rows is."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTE = (ROOT / "theory" / "real_features.md").read_text(encoding="utf-8")
RESULTS = ROOT / "theory" / "results"
VARIANT_LABELS = {"section 8": "section 8 (Gaussian mixture", "test side only": "test side only",
                  "training side only": "training side only", "test row included": "test row included",
                  "section 9": "**section 9", "actual w, Gaussian test": "(reference: actual w over",
                  "actual w moments, accuracy over the rows": "(reference: actual mean and covariance"}
LAW_LABELS = {"whole-domain": "whole domain (in-sample)", "held-out-half": "held-out half (out-of-sample)",
              "pseudo-labelled-pool": "pseudo-labelled pool (out-of-sample)"}


def _cells(line: str) -> list[list[float]]:
    """The numbers of each cell after the first of a markdown table row (the minus sign normalised)."""
    cells = line.replace("−", "-").strip().strip("|").split("|")[1:]
    return [[float(token) for token in re.findall(r"[-+]?\d+(?:\.\d+)?", cell)] for cell in cells]


def _table(start: str, stop: str | None = None) -> list[str]:
    """The table rows of the note between the line that starts with `start` and the next `stop` (or the end)."""
    text = NOTE[NOTE.index(start):]
    text = text[:text.index(stop)] if stop else text
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("|---")]


def _row(rows: list[str], label: str) -> list[list[float]]:
    [line] = [line for line in rows if label in line.split("|")[1]]
    return _cells(line)


@pytest.mark.parametrize("n", [20, 100])
def test_variant_tables_quote_the_stored_run(n):
    stored = json.loads((RESULTS / f"real_features_variants_n{n}.json").read_text())
    assert stored["settings"]["n"] == n and stored["settings"]["law"].startswith("whole-domain (in-sample)")
    assert stored["provenance"]["command"].startswith("python benchmarks/real_features_variants.py")
    rows = _table(f"## n = {n} (12 pairs)", "## n = 100" if n == 20 else "**Rows removed.**")
    for name, label in VARIANT_LABELS.items():
        quoted = _row(rows, label)
        table = stored["table"][name]
        expected = [round(100 * table["max_abs_gap"], 2), round(100 * table["mean_gap"], 2),
                    round(table["abs_alpha_star_error"], 2), round(100 * table["loss_at_alpha_star"], 2)]
        np.testing.assert_allclose([cell[0] for cell in quoted[:4]], expected, atol=1e-9, err_msg=name)
        assert quoted[4] == [table["pairs_within_0.1pt"], 12], name


@pytest.mark.parametrize("name, start, stop", [
    ("fidelity_amazon_n20.json", "## Out of sample", "At n = 100"),
    ("fidelity_amazon_n100.json", "At n = 100", "- **Held-out half.**"),
    ("fidelity_text_n20.json", "**Out of sample.** The same halves", None)])
def test_out_of_sample_tables_quote_the_stored_run(name, start, stop):
    stored = json.loads((RESULTS / name).read_text())
    assert {row["law"] for row in stored["prediction"]} == set(LAW_LABELS)
    assert all(row["in_sample"] == (row["law"] == "whole-domain") for row in stored["prediction"])
    rows = _table(start, stop)
    for summary in stored["summary"]:
        quoted = _row(rows, LAW_LABELS[summary["law"]])

        def points(key):
            return round(100 * summary[key], 2)

        assert quoted[0] == [points("mean_abs_gap_covariance"), points("max_abs_gap_covariance")]
        assert quoted[1] == [points("mean_abs_gap_semi_empirical"), points("max_abs_gap_semi_empirical")]
        if summary["law"] == "whole-domain":
            assert quoted[2] == [] and np.isnan(summary["noise_floor_max"])
        else:
            assert quoted[2] == [points("noise_floor_mean"), points("noise_floor_max")]
        assert quoted[3] == [round(summary["abs_alpha_star_error_covariance"], 2),
                             round(summary["abs_alpha_star_error_semi_empirical"], 2)]
        assert quoted[4] == [points("loss_at_alpha_star_covariance"), points("loss_at_alpha_star_semi_empirical")]
        assert quoted[5] == [summary["pairs_within_0.1pt_covariance"], summary["pairs_within_0.1pt_semi_empirical"]]


def test_theory_quotes_the_out_of_sample_runs():
    """THEORY section 9's out-of-sample sentence quotes the held-out rows of the stored Amazon runs."""
    theory = (ROOT / "theory" / "THEORY.md").read_text(encoding="utf-8")
    sentence = theory[theory.index("**Out of sample** (the law = the labelled rows"):]
    sentence = sentence[:sentence.index("theory/real_features.md")]
    held_out = [next(row for row in json.loads((RESULTS / f"fidelity_amazon_n{n}.json").read_text())["summary"]
                     if row["law"] == "held-out-half") for n in (20, 100)]
    quoted = [float(token) for token in re.findall(r"\d+\.\d+", sentence)]
    expected = [round(100 * row[key], 2) for key in ("max_abs_gap_semi_empirical", "noise_floor_max",
                                                     "max_abs_gap_covariance") for row in held_out]
    assert quoted == expected


def test_the_results_page_quotes_the_stored_simulator_speed():
    """docs/results.md's simulator paragraph: the numbers of theory/results/simulate_speed_cpu.json at the digits
    shown (float32 one device and four, p = 2000, the Bartlett draws alone)."""
    stored = json.loads((RESULTS / "simulate_speed_cpu.json").read_text())
    assert stored["provenance"]["command"].startswith("python benchmarks/simulate_speed.py")
    one, four = (next(row for row in stored["simulator"] if row["dtype"] == "float32" and row["devices"] == devices)
                 for devices in (1, 4))
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8").replace("\n", " ")
    assert (f"float32 on one CPU device {one['trials_per_s']:.0f} trials/s, {one['speedup_vs_baseline']:.0f} times "
            f"the numpy loop of the same run and {100 * one['fraction_of_draws_alone']:.0f}% of the rate") in page
    assert f"on four forced CPU devices {four['trials_per_s']:.0f} trials/s" in page
    assert f"at p = 2000 {stored['p2000']['trials_per_s']:.0f} trials/s" in page
    assert f"allowed {stored['draws_alone_trials_per_s']['threefry2x32 (Bartlett draws)']:.0f} trials/s" in page
    assert f"load {stored['load_average_1min']:.1f})" in page


def test_the_simulator_guide_quotes_the_stored_generator_rates():
    """docs/guide/simulator.md: how many times slower each other JAX generator drew a trial's numbers than threefry
    in the stored run (philox: both variants, rounded to the unit)."""
    rates = json.loads((RESULTS / "simulate_speed_cpu.json").read_text())["draws_alone_trials_per_s"]
    slower = {name: round(rates["threefry2x32"] / rates[name]) for name in ("philox4x32", "philox2x32", "rbg",
                                                                            "unsafe_rbg")}
    assert slower["philox4x32"] == slower["philox2x32"]
    guide = (ROOT / "docs" / "guide" / "simulator.md").read_text(encoding="utf-8").replace("\n", " ")
    assert (f"philox drew a trial's numbers about {slower['philox4x32']} times slower on this 2-core CPU, rbg "
            f"{slower['rbg']} times and unsafe_rbg {slower['unsafe_rbg']} times") in guide


SOURCES_ROWS = {"best-predicted single source, at its": "best-predicted single source",
                "uniform mixture": "uniform mixture (alpha_k = 1/K)",
                "vector choice (`choose_alpha` with the list)": "vector choice (choose_alpha)",
                "combined directions in the manner of Zhang, Auddy and Li, isotropic noise":
                    "combined directions, isotropic noise (in the manner of Zhang et al.)",
                "the same, noise Gram matrix from the pool":
                    "combined directions, pool noise (in the manner of Zhang et al.)",
                "ceiling: best fixed single-source": "ceiling: best fixed single-source alpha",
                "ceiling: best fixed $\\alpha$ vector": "ceiling: best fixed alpha vector"}


def test_theory_several_sources_table_quotes_the_stored_amazon_run():
    """THEORY section 10.4: the Amazon table (mean test accuracy in %, per target and the mean) and the vector
    choice's gains over the best-predicted single source with their paired standard errors, as stored."""
    stored = json.loads((RESULTS / "several_sources_amazon_n20.json").read_text())
    theory = (ROOT / "theory" / "THEORY.md").read_text(encoding="utf-8")
    section = theory[theory.index("### 10.4"):]
    rows = [line for line in section[:section.index("On the review-text domains")].splitlines()
            if line.startswith("| ")][1:]
    for label, method in SOURCES_ROWS.items():
        [line] = [line for line in rows if label in line.split("|")[1]]
        values = [100 * target["mean_accuracy"][method] for target in stored["targets"]]
        expected = [f"{value:.2f}" for value in values] + [f"{np.mean(values):.2f}"]
        assert [cell.strip() for cell in line.strip().strip("|").split("|")[1:]] == expected, label
    gains = [target["vector_minus_best_predicted_single"] for target in stored["targets"]]
    text = section.replace("\n", " ")
    assert ("(" + ", ".join(f"{100 * g['mean']:+.2f}" for g in gains) + "; paired standard errors "
            + ", ".join(f"{100 * g['stderr']:.2f}" for g in gains) + ")") in text
    assert f"by {stored['summary']['mean_gain_pt']:+.2f} point on average" in text
    assert f"in {sum(t['fell_back'] for t in stored['targets'])} of the 80 splits" in text


def test_theory_several_sources_text_table_quotes_the_stored_run():
    """THEORY section 10.4's text-feature table is the stored run's own table (less the row without do no harm), and
    the differences its sentence states are the stored means'."""
    stored = json.loads((RESULTS / "several_sources_text_n20.json").read_text())
    theory = (ROOT / "theory" / "THEORY.md").read_text(encoding="utf-8")
    for line in stored["table"]:
        assert (line in theory) != line.startswith("| vector alpha*"), line
    targets = stored["targets"]

    def mean(method):
        return 100 * np.mean([target["mean_accuracy"][method] for target in targets])

    choice = mean("vector choice (choose_alpha)")
    text = theory.replace("\n", " ")
    gains = [100 * target["vector_minus_best_predicted_single"]["mean"] for target in targets]
    assert (f"every target ({stored['summary']['mean_gain_pt']:+.2f} point on average, the worst target "
            f"{min(gains):+.2f}; do no harm fell back in {sum(t['fell_back'] for t in targets)} of the 140 "
            "splits)") in text
    assert stored["summary"]["targets_where_vector_choice_wins"] == len(targets) == 7
    assert all(target["theory"] == {"semi-empirical": 20} for target in targets)
    assert f"the uniform mixture by {choice - mean('uniform mixture (alpha_k = 1/K)'):.2f} point" in text
    isotropic = choice - mean("vector choice, isotropic theory")
    assert f"the isotropic theory's vector choice by {isotropic:.2f} points" in text
    assert (f"stays {mean('ceiling: best fixed single-source alpha') - choice:.2f} point below the best fixed "
            f"single-source alpha and {mean('ceiling: best fixed alpha vector') - choice:.2f} below") in text
    combined = mean("combined directions, isotropic noise (in the manner of Zhang et al.)") - choice
    assert f"isotropic noise are {combined:.2f} points above it, above even the best fixed alpha vector" in text
    assert mean("combined directions, isotropic noise (in the manner of Zhang et al.)") > mean(
        "ceiling: best fixed alpha vector")


def test_theory_quotes_the_several_sources_monte_carlo_run():
    """THEORY section 10.2's semi-empirical several-sources check quotes the stored Monte-Carlo grid."""
    stored = json.loads((RESULTS / "semi_empirical_sources_mc.json").read_text())["summary"]
    text = (ROOT / "theory" / "THEORY.md").read_text(encoding="utf-8").replace("\n", " ")
    assert (f"the largest gap {stored['largest_gap_pt']:.2f} point, {stored['largest_gap_stderr']:.2f} standard "
            "errors") in text
    assert f"(at least {stored['worst_star_minus_best_random_pt']:+.2f} point above it;" in text
    assert stored["largest_gap_stderr"] <= 3.0 and stored["worst_star_minus_best_random_pt"] >= -0.4


def test_the_results_page_quotes_the_stored_several_sources_run():
    stored = json.loads((RESULTS / "several_sources_amazon_n20.json").read_text())
    targets = stored["targets"]

    def mean(method):
        return 100 * np.mean([target["mean_accuracy"][method] for target in targets])

    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8").replace("\n", " ")
    gains = [100 * target["vector_minus_best_predicted_single"]["mean"] for target in targets]
    assert (f"reaches {mean('vector choice (choose_alpha)'):.2f}% on average over the four targets, against "
            f"{mean('best-predicted single source'):.2f}% for the single source") in page
    assert f"(better on {sum(g > 0 for g in gains)} of 4 targets, {min(gains):+.2f} to {max(gains):+.2f} pt)" in page
    assert f"{mean('uniform mixture (alpha_k = 1/K)'):.2f}% for the uniform mixture" in page
    assert (f"{mean('ceiling: best fixed single-source alpha'):.2f}% for the best fixed single-source α and "
            f"{mean('ceiling: best fixed alpha vector'):.2f}% for the best fixed α vector") in page
    isotropic = mean("combined directions, isotropic noise (in the manner of Zhang et al.)")
    assert (f"reaches {isotropic:.2f}% with isotropic noise ({mean('vector choice (choose_alpha)') - isotropic:.2f} pt "
            "below the") in page
    assert f"and {mean('combined directions, pool noise (in the manner of Zhang et al.)'):.2f}% with the pool" in page


def test_the_results_page_quotes_the_stored_text_several_sources_run():
    stored = json.loads((RESULTS / "several_sources_text_n20.json").read_text())

    def mean(method):
        return 100 * np.mean([target["mean_accuracy"][method] for target in stored["targets"]])

    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8").replace("\n", " ")
    assert (f"reaches {mean('vector choice (choose_alpha)'):.2f}% on average over the seven targets, against "
            f"{mean('best-predicted single source'):.2f}% for the best-predicted single source (better on "
            f"{stored['summary']['targets_where_vector_choice_wins']} of 7)") in page
    assert (f"{mean('uniform mixture (alpha_k = 1/K)'):.2f}% for the uniform mixture and "
            f"{mean('vector choice, isotropic theory'):.2f}% for the isotropic theory's vector choice") in page
    assert (f"the ceilings are {mean('ceiling: best fixed single-source alpha'):.2f}% and "
            f"{mean('ceiling: best fixed alpha vector'):.2f}%") in page
    combined = mean("combined directions, isotropic noise (in the manner of Zhang et al.)")
    assert f"isotropic noise reach {combined:.2f}%, above both ceilings" in page
    assert combined > mean("ceiling: best fixed alpha vector")
