"""Resumable runs: a `UnitStore` keeps each unit's result, a restarted campaign computes only what is missing and
gives the same tables, and a folder of other settings is refused."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rmt_alpha.data._domains import Domain
from rmt_alpha.experiments import Check, Setting, campaign_tables, run_campaign
from rmt_alpha.experiments._units import UnitStore


def test_unit_store_keeps_results_and_refuses_other_settings(tmp_path):
    store = UnitStore(tmp_path, {"n": 20, "pairs": [["a", "b"]]})
    calls = []
    assert store("pair_0", lambda: calls.append(1) or {"accuracy": 0.8}) == {"accuracy": 0.8}
    again = UnitStore(tmp_path, {"pairs": [["a", "b"]], "n": 20})   # key order does not matter
    assert again("pair_0", lambda: calls.append(1) or None) == {"accuracy": 0.8}
    assert calls == [1] and again.loaded == 1
    assert sorted(os.listdir(tmp_path)) == ["pair_0.pkl", "settings.json"]   # no temporary file left behind
    with pytest.raises(ValueError, match="holds the units of a run with other settings"):
        UnitStore(tmp_path, {"n": 50, "pairs": [["a", "b"]]})
    with pytest.raises(ValueError, match="unit names are letters, digits"):
        store("../escape", lambda: 0)


def test_text_units_are_json_that_reads_back_the_same(tmp_path):
    store = UnitStore(tmp_path, {"n": 20}, text=True)
    value = {"accuracy": np.float32(0.8125), "steps": np.int64(15), "alpha": np.array([1.0, 0.5]), "nan": np.nan,
             "reason": None}
    first = store("arm_s0_lora", lambda: value)
    again = UnitStore(tmp_path, {"n": 20}, text=True)("arm_s0_lora", lambda: None)
    assert first == {**again, "nan": first["nan"]} and np.isnan(again["nan"])     # NaN != NaN: compared apart
    assert first["accuracy"] == 0.8125 and first["steps"] == 15 and first["alpha"] == [1.0, 0.5]
    with open(tmp_path / "arm_s0_lora.json", encoding="utf-8") as handle:
        assert json.load(handle)["steps"] == 15                     # plain JSON on disk: no code runs to read it
    assert store.names() == ["arm_s0_lora"]
    with pytest.raises(ValueError, match="not 'settings'"):
        store("settings", lambda: 0)
    with pytest.raises(TypeError, match="a JSON unit holds dicts, lists"):
        store("odd", lambda: {"x": object()})


def test_interrupted_campaign_resumes_with_the_same_tables(tmp_path):
    rng = np.random.default_rng(4)
    p = 12
    mean = rng.normal(size=p) * 0.5

    def domain(name, shift):
        y = np.where(rng.random(300) < 0.5, 1.0, -1.0)
        return Domain(name, y[:, None] * (mean + shift) + rng.normal(size=(300, p)), y)

    domains = {"a": domain("a", 0.0), "b": domain("b", rng.normal(size=p) * 0.2)}
    pairs, settings, checks = [("a", "b"), ("b", "a")], [Setting(20)], [Check(20)]
    full = run_campaign(domains, pairs, settings, checks, splits=3, store=UnitStore(tmp_path / "full", {}))

    # A run stopped after its first unit: the second unit raises.
    class Stop(Exception):
        pass

    interrupted = UnitStore(tmp_path / "resumed", {})
    original = interrupted.__call__

    def stop_after_one(name, compute):
        if os.listdir(interrupted.folder) != ["settings.json"]:
            raise Stop
        return original(name, compute)

    with pytest.raises(Stop):
        run_campaign(domains, pairs, settings, checks, splits=3, store=stop_after_one)
    resumed = UnitStore(tmp_path / "resumed", {})
    again = run_campaign(domains, pairs, settings, checks, splits=3, store=resumed)
    assert resumed.loaded == 1
    def as_text(tables):   # the tables without their timings, as text (NaN cells compare equal)
        rows = {name: [{k: v for k, v in row.items() if k != "ms_per_split"} for row in table]
                for name, table in tables.items()}
        return json.dumps(rows, sort_keys=True, default=str)

    assert as_text(campaign_tables(*again)) == as_text(campaign_tables(*full))
