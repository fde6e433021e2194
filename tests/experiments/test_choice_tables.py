"""The honest tables of ways to choose alpha that docs/results.md quotes are those of the stored run
(theory/results/choice_tables.json, written by benchmarks/honest_tables.py), formatted by the script itself: a
table cannot drift from the run it quotes."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("honest_tables", ROOT / "benchmarks" / "honest_tables.py")


def _script():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))    # the script imports its neighbours
    try:
        module = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_the_results_page_quotes_the_stored_tables():
    stored = json.loads((ROOT / "theory" / "results" / "choice_tables.json").read_text(encoding="utf-8"))
    assert stored["provenance"]["command"].startswith("python benchmarks/honest_tables.py")
    assert set(stored["tables"]) == {f"{data}_n{n}" for data in ("amazon", "text") for n in (20, 50, 100)}
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    rows = _script().summary_table(stored["tables"]).splitlines()
    for row in rows:
        assert row in page, row
    for table in stored["tables"].values():     # every method saw its split's training rows and pool only
        assert "TEST labels" not in table["methods"]["choose_alpha default"]["data_used"]
        assert table["pairs"] in (12, 18)


def test_the_results_page_names_the_worst_text_pairs_with_their_standard_errors():
    """The sentence under the table: the default's worst text pair at each n and the standard error over its 20
    splits of the paired difference with alpha = 1, from the stored units; the previous default's pairs at n = 20."""
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    stored = json.loads((ROOT / "theory" / "results" / "choice_tables.json").read_text(encoding="utf-8"))
    losses, names, errors = [], [], []
    for n in (20, 50, 100):
        units = [json.loads(path.read_text()) for path in (ROOT / "theory" / "results" / "choice_table_units").glob(
            f"text_n{n}_*.json")]
        assert len(units) == 18
        paired = {(u["source"], u["target"]): [a - b for a, b in zip(u["accuracy"]["choose_alpha default"],
                                                                  u["accuracy"]["alpha=1"])] for u in units}
        pair = min(paired, key=lambda key: sum(paired[key]))
        differences = paired[pair]
        mean = sum(differences) / len(differences)
        variance = sum((d - mean) ** 2 for d in differences) / (len(differences) - 1)
        losses.append(f"{-100 * mean:.2f}")
        names.append(f"{pair[0]} → {pair[1]}")
        errors.append(f"{100 * (variance / len(differences)) ** 0.5:.2f}")
    text = page.replace("\n", " ")
    assert f"loses {losses[0]}, {losses[1]} and {losses[2]} pt to α = 1" in text
    assert f"({names[0]}, {names[1]}, {names[2]};" in text
    assert f"{errors[0]}, {errors[1]} and {errors[2]} pt)" in text
    previous = stored["tables"]["text_n20"]["methods"]["pool covariance"]
    assert f"the previous default {100 * previous['gain_over_alpha_1']:+.2f}, {previous['pairs_better']} of 18" in text


def test_the_readme_quotes_the_stored_gains():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("\n", " ")
    tables = json.loads((ROOT / "theory" / "results" / "choice_tables.json").read_text(encoding="utf-8"))["tables"]
    for data, pairs in (("text", 18), ("amazon", 12)):
        rows = [tables[f"{data}_n{n}"]["methods"]["choose_alpha default"] for n in (20, 50, 100)]
        gains = [f"{100 * row['gain_over_alpha_1']:+.2f}" for row in rows]
        better = [str(row["pairs_better"]) for row in rows]
        assert f"by {gains[0]}, {gains[1]} and {gains[2]} pt" in readme, data
        assert f"({better[0]}, {better[1]} and {better[2]} of {pairs}" in readme, data
