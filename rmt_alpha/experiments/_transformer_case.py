"""The registered transformer case, run unit by unit and resumable across sessions and machines
(theory/transformer_registration.md; the plan is `rmt_alpha.experiments._case_plan.REGISTERED_PLAN`).

A unit is one run of one method on one seed of one arm (`run_method`), kept as a small JSON file in `units` (a
`UnitStore` with `text=True`) with the package version, git commit, platform and device that computed it. The
folder may live inside the repository, so finished units can be committed and a later session, on this machine or on
a GPU machine (benchmarks/gpu_transformer_case.py), continues where the last one stopped: the store refuses units of
another plan. Units are run seed-major, so after k seeds every arm has its first k seeds.

Once every unit is done, `out` receives transformer_case.json (the plan, the registered analysis, every run, the
predictions, version and commit) and transformer_case.md; while units are missing the same files say INCOMPLETE.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import NamedTuple

from rmt_alpha._io import atomic_write
from rmt_alpha.experiments._case_plan import REGISTERED_PLAN, CasePlan, plan_predictions
from rmt_alpha.experiments._case_report import case_markdown, case_tables
from rmt_alpha.experiments._provenance import provenance
from rmt_alpha.experiments._text_finetune import method_resources, pair_inputs, run_method, seed_inputs
from rmt_alpha.experiments._text_report import method_rows
from rmt_alpha.experiments._units import UnitStore

REGISTRATION = "theory/transformer_registration.md"


class CaseResult(NamedTuple):
    """Outcome of `run_transformer_case`.

    Attributes:
        complete: every unit of the plan is done.
        runs: the run records done so far (`run_method`), with their `computed_by` provenance.
        resources: per method, its parameter counts and step memory (`method_resources`).
        predictions: `plan_predictions` (one row per arm).
        tables: `case_tables` ("paired", "pooled") and "methods" (`method_rows`).
        status: units done and in all, units computed by this call, seconds it spent computing, the version and
            commit of this call, and the platforms and commits that computed the units.
        files: {name: path} written.
        new_units: the names of the units this call computed.
    """

    complete: bool
    runs: list
    resources: dict
    predictions: list
    tables: dict
    status: dict
    files: dict
    new_units: list


def unit_name(arm, seed: int, method: str) -> str:
    """`<pair index>_<source>_<target>_n<n_train>_s<seed>_<method>`, e.g.
    `2_vader-products_vader-movies_n20_s10_lora`."""
    return f"{arm.pair_index}_{arm.source}_{arm.target}_n{arm.n_train}_s{seed}_{method}"


def case_settings(plan: CasePlan) -> dict:
    """What a plan's units depend on: the plan and the package version (not the commit: a later commit of the same
    version continues the units)."""
    from rmt_alpha import __version__

    return {"plan": dataclasses.asdict(plan), "version": __version__}


def case_store(plan: CasePlan, units: str) -> UnitStore:
    """The `UnitStore` of a plan: JSON units in `units`, refused if the folder holds another plan's units."""
    return UnitStore(units, case_settings(plan), text=True)


def run_transformer_case(plan: CasePlan = REGISTERED_PLAN, units: str = "theory/results/text_finetune_units",
                         out: str | None = "theory/results", *, max_units: int | None = None,
                         max_seconds: float | None = None, store=None, model=None, texts=None,
                         progress: bool = True) -> CaseResult:
    """Run the units of `plan` not yet in `units`, then write the registered analysis of what is done.

    Args:
        plan: a `CasePlan` (default: the registered one).
        units: the unit folder (created if absent).
        out: folder of transformer_case.json and transformer_case.md (None: write nothing).
        max_units: compute at most this many new units, then report (None: all; 0: report only).
        max_seconds: start no new unit once this many seconds were spent computing units (None: no limit).
        store: a `UnitStore` to use instead of `case_store(plan, units)` (e.g. one that stops, in a test).
        model: a `Pretrained` MiniLM (default: `load_pretrained(find_item("minilm"))`).
        texts: {name: TextDomain} (default: `load_review_text` of the arms' domains).
        progress: a tqdm bar on stderr.

    Returns:
        CaseResult.
    """
    from tqdm.auto import tqdm

    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments._text_domains import encoder_domains, feature_model
    from rmt_alpha.nn import load_pretrained

    store = store if store is not None else case_store(plan, units)
    model = feature_model(model if model is not None else load_pretrained(find_item("minilm"), num_classes=2))
    names = sorted({name for arm in plan.arms for name in (arm.source, arm.target)})
    texts = texts if texts is not None else load_review_text(names)
    domains = encoder_domains(model, {name: texts[name] for name in names}, max_length=plan.finetune.max_length,
                              progress=False)
    pairs = {arm: pair_inputs(model, domains[arm.source], domains[arm.target], texts[arm.target].texts,
                              plan.settings(arm)) for arm in plan.arms}
    seeded_cache: dict = {}

    def seeded(arm, seed):
        if (arm, seed) not in seeded_cache:
            seeded_cache.clear()                       # seed-major order: one seed's inputs at a time
            seeded_cache[(arm, seed)] = seed_inputs(pairs[arm], plan.settings(arm), seed, arm.pair_index)
        return seeded_cache[(arm, seed)]

    computed_by = provenance()      # the code this process loaded, whatever the working tree becomes meanwhile

    def compute(arm, seed, method):
        run = run_method(model, pairs[arm], seeded(arm, seed), method, plan.settings(arm))
        return {**run, "arm": arm.name, "unit": unit_name(arm, seed, method), "computed_by": computed_by}

    order = plan.units()
    done = set(store.names())
    new_units, seconds, runs = [], 0.0, []
    bar = tqdm(total=len(order), desc="transformer case", disable=not progress, initial=0)
    for arm, seed, method in order:
        name = unit_name(arm, seed, method)
        budget_spent = ((max_units is not None and len(new_units) >= max_units)
                        or (max_seconds is not None and seconds >= max_seconds))
        bar.update(1)
        if name not in done and budget_spent:
            continue
        started = time.perf_counter()
        runs.append(store(name, lambda arm=arm, seed=seed, method=method: compute(arm, seed, method)))
        if name not in done:
            new_units.append(name)
            seconds += time.perf_counter() - started
    bar.close()
    resources = {}
    for method in dict.fromkeys(m for _, _, m in order):      # once per method, with the first arm and seed
        arm, seed = next((a, s) for a, s, m in order if m == method)
        if (max_units is None and max_seconds is None) or f"resources_{method}" in done:
            resources[method] = store(f"resources_{method}", lambda arm=arm, seed=seed, method=method: {
                **method_resources(model, pairs[arm], seeded(arm, seed), method, plan.settings(arm)),
                "computed_by": computed_by})

    predictions = plan_predictions(plan, domains)
    arms = [(arm.source, arm.target) for arm in plan.arms]
    tables = {**case_tables(runs, arms, predictions), "methods": method_rows(runs, resources)}
    here = computed_by
    status = {"complete": len(runs) == len(order), "units_done": len(runs), "units_total": len(order),
              "units_computed_now": len(new_units), "seconds_computing_now": seconds, "version": here["version"],
              "commit": here["commit"], "dirty": here["dirty"],
              "platforms": sorted({run["computed_by"]["platform"] for run in runs}),
              "unit_commits": sorted({str(run["computed_by"]["commit"]) for run in runs})}
    files = {}
    if out is not None:
        payload = {"registration": REGISTRATION, "status": status, "plan": dataclasses.asdict(plan),
                   "predictions": predictions, "tables": tables, "resources": resources, "runs": runs}
        files["results"] = atomic_write(os.path.join(out, "transformer_case.json"),
                                        json.dumps(payload, indent=1, default=str, allow_nan=True))
        files["table"] = atomic_write(os.path.join(out, "transformer_case.md"),
                                      case_markdown(tables, tables["methods"], status))
    return CaseResult(status["complete"], runs, resources, predictions, tables, status, files, new_units)


__all__ = ["REGISTRATION", "CaseResult", "case_settings", "case_store", "run_transformer_case", "unit_name"]
