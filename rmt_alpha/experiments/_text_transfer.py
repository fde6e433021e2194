"""The transformer case on a real encoder and real text, checked by the theory: `rmt-alpha text-transfer`.

1. Theory on frozen encoder features (theory/THEORY.md sections 5 and 8). all-MiniLM-L6-v2's mean-pooled features of
   every review-text domain; on every source -> target pair (`text_pairs`) and every n in `ns`: the honest protocol
   (alpha = 0, 1, the ways of choosing alpha, CV, the test-set oracle; `run_transfer`) and the isotropic and
   covariance-aware predictions of the accuracy curve and of alpha* against the measurement (`predict_vs_measure`,
   centred at the overall mean and at the class midpoint the theory assumes).
2. alpha-LoRA inside MiniLM (section 7; `rmt_alpha.experiments._text_finetune`) on `finetune_pairs`: by default
   ("auto") the pair where step 1 predicts the largest gain of alpha* over alpha = 1 at `n_train` labelled rows and
   the pair where it predicts the smallest, chosen from step 1's table before any fine-tuning.
3. The learned alphas against the shuffled-label null.

Each unit (a pair at one n, a fine-tuning seed) is kept in `out/units/` as soon as it is done: started again with the
same settings, an interrupted run redoes only what is missing (`rmt_alpha.experiments._units`).

Outputs in `out` (each written atomically): `text_theory_*.csv`, `text_theory.json` and `text_theory_curves.png`
(step 1, the same tables and figures as the Amazon experiment), `text_theory_grid.png` (every pair's predicted and
measured curves), `text_finetune.md`, `text_finetune_gains.png`, `text_finetune_alphas.png`, and `text_transfer.json`
(settings, every table, every run, timings).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha._validation import check_count
from rmt_alpha.experiments._alpha_choices import ALPHA_CHOICES, ALPHA_GRID
from rmt_alpha.experiments._campaign import CampaignResult, Check, Setting, campaign_tables, run_campaign
from rmt_alpha.experiments._text_domains import encoder_domains, feature_model, text_pairs
from rmt_alpha.experiments._text_finetune import (
    FROZEN_METHODS,
    HEAD_METHODS,
    LORA_MORE_DATA,
    METHODS,
    FinetuneSettings,
    run_pair,
)
from rmt_alpha.experiments._text_report import (
    alpha_null_rows,
    markdown_report,
    method_rows,
    paired_rows,
    theory_link_rows,
)
from rmt_alpha.experiments._units import UnitStore

QUICK_PAIR = ("uci-imdb", "uci-amazon")


@dataclass(frozen=True)
class TextTransferConfig:
    """Everything `run_text_transfer` depends on besides the data (defaults: the full run).

    Attributes:
        theory_pairs: (source, target) pairs of step 1 (None: all 18 of `text_pairs()`).
        ns: labelled target rows of step 1.
        splits: random target splits per pair and n (step 1).
        seed: seed of step 1's splits.
        covariance: include the covariance-aware pool method in step 1's honest table.
        semi_empirical: add the semi-empirical prediction (theory/THEORY.md section 9) to step 1's check at the
            first n, centred at the mean.
        finetune_pairs: pairs of step 2, or "auto" (module docstring).
        finetune: `FinetuneSettings` of steps 2 and 3.
    """

    theory_pairs: tuple | None = None
    ns: tuple = (20, 50, 100)
    splits: int = 20
    seed: int = 0
    covariance: bool = True
    semi_empirical: bool = True
    finetune_pairs: tuple | str = "auto"
    finetune: FinetuneSettings = FinetuneSettings()

    def __post_init__(self):
        pairs = text_pairs() if self.theory_pairs is None else [tuple(p) for p in self.theory_pairs]
        known = set(text_pairs())
        if not pairs or any(pair not in known for pair in pairs):
            raise ValueError(f"theory_pairs must be pairs of text_pairs() (same group, distinct), got {pairs}")
        object.__setattr__(self, "theory_pairs", tuple(pairs))
        object.__setattr__(self, "ns", tuple(check_count("ns", n, minimum=5) for n in self.ns))
        if not self.ns:
            raise ValueError("ns must hold at least one n, got none")
        check_count("splits", self.splits, minimum=2)
        if self.finetune_pairs != "auto":
            finetune = tuple(tuple(p) for p in self.finetune_pairs)
            if not finetune or any(pair not in known for pair in finetune):
                raise ValueError(f"finetune_pairs must be 'auto' or pairs of text_pairs(), got {self.finetune_pairs!r}")
            object.__setattr__(self, "finetune_pairs", finetune)
        if not isinstance(self.finetune, FinetuneSettings):
            raise TypeError(f"finetune must be a FinetuneSettings, got {type(self.finetune).__name__}")

    @classmethod
    def quick(cls, **overrides) -> TextTransferConfig:
        """The CI-sized run: one UCI pair, n = 20, 5 splits; fine-tuning with 2 paired seeds, 20 labelled rows, 2
        epochs of batch 10 and sequences cut at 32 tokens (the real MiniLM and the real text throughout).

        Args:
            **overrides: fields of `TextTransferConfig` that replace the CI-sized run's settings.

        Returns:
            TextTransferConfig: the CI-sized config.

        Example:
            >>> from rmt_alpha.experiments import TextTransferConfig
            >>> TextTransferConfig.quick(seed=1).theory_pairs
            (('uci-imdb', 'uci-amazon'),)
        """
        base = FinetuneSettings()
        finetune = FinetuneSettings(
            seeds=2, methods=HEAD_METHODS + FROZEN_METHODS + ("lora", "alpha_lora", LORA_MORE_DATA), n_train=20,
            n_held_out=20, n_val=20,
            n_test=100, pool_size=100, max_length=32, head_max_epochs=10,
            finetune=dataclasses.replace(base.finetune, max_epochs=2, patience=1, alpha_every=1))
        settings = dict(theory_pairs=(QUICK_PAIR,), ns=(20,), splits=5, covariance=False,
                        finetune_pairs=(QUICK_PAIR,), finetune=finetune)
        settings.update(overrides)
        return cls(**settings)


class TextTransferResult(NamedTuple):
    """Outcome of `run_text_transfer`: what steps 1-3 (module docstring) computed and the files they wrote.

    Attributes:
        theory: step 1's `CampaignResult` (tables, `PredictionCheck`s, settings).
        finetune_pairs: the (source, target) pairs fine-tuned in step 2 (given, or chosen by "auto").
        runs: one dict per pair, seed and method run in step 2.
        tables: the row lists of steps 2 and 3: "methods", "paired", "alpha_null" and "theory_link".
        resources: per method, its trainable parameter count and the compiled step's memory.
        timings: seconds per stage ("load_and_embed", "step1_theory", and one "step2_<source>-><target>" per pair).
        files: `{name: path}` of every file written.
    """

    theory: CampaignResult
    finetune_pairs: list
    runs: list
    tables: dict
    resources: dict
    timings: dict
    files: dict


def choose_finetune_pairs(prediction_rows, n: int, candidates=None, *, min_rows=None) -> list[tuple[str, str]]:
    """The pair with the largest and the pair with the smallest predicted gain of alpha* over alpha = 1
    (covariance-aware theory, whole-target statistics: the in-sample law, centred at the mean) at the n of step 1
    closest to `n`.

    Args:
        prediction_rows: step 1's "prediction" table. candidates: allowed pairs (default: all in the table).
        min_rows: {target name: rows} and the rows a seed needs, as `(sizes, needed)`: pairs whose target is too
            small are skipped.
    """
    rows = [r for r in prediction_rows if r["alpha"] == 1.0 and r.get("centre", "mean") == "mean"
            and not r["whiten"] and r.get("law", "whole-domain") == "whole-domain"]
    closest = min({r["n"] for r in rows}, key=lambda k: abs(k - n))
    rows = [r for r in rows if r["n"] == closest and (candidates is None or (r["source"], r["target"]) in candidates)
            and np.isfinite(r["predicted_gain_covariance"])]
    if min_rows is not None:
        sizes, needed = min_rows
        rows = [r for r in rows if sizes[r["target"]] >= needed]
    if not rows:
        raise ValueError("no step-1 pair is eligible for fine-tuning (too few target rows for one seed's splits)")
    ranked = sorted(rows, key=lambda r: r["predicted_gain_covariance"])
    chosen = [(ranked[-1]["source"], ranked[-1]["target"]), (ranked[0]["source"], ranked[0]["target"])]
    return list(dict.fromkeys(chosen))


def run_text_theory(domains: dict, config: TextTransferConfig, progress=None, store=None) -> CampaignResult:
    """Step 1 (module docstring) on encoder-feature `Domain`s."""
    settings = [Setting(n, covariance=config.covariance) for n in config.ns]
    checks = [Check(n, centre=centre, semi_empirical=config.semi_empirical and (n, centre) == (config.ns[0], "mean"))
              for n in config.ns for centre in ("mean", "midpoint")]
    results, done = run_campaign(domains, config.theory_pairs, settings, checks, splits=config.splits,
                                 seed=config.seed, progress=progress, store=store)
    return CampaignResult(campaign_tables(results, done), done, {
        "splits": config.splits, "seed": config.seed, "ns": list(config.ns), "methods": ALPHA_CHOICES,
        "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1], "features": "all-MiniLM-L6-v2, mean over real tokens "
        f"of the last hidden states, {config.finetune.max_length} tokens at most",
        "preprocessing": "honest protocol: source standardised with its own rows, target with its training + pool "
                         "rows; theory check: each domain with all its rows, centred at its overall mean or at the "
                         "midpoint of its class means (the symmetric mixture the theory assumes)",
        "semi_empirical": f"the semi-empirical theory (theory/THEORY.md section 9) is computed at n = {config.ns[0]}, "
                          "centred at the mean, only" if config.semi_empirical else "not computed "
                          "(TextTransferConfig.semi_empirical is False)"})


def run_text_transfer(config: TextTransferConfig, out: str, *, progress: bool = True, model=None,
                      texts=None) -> TextTransferResult:
    """Steps 1-3 (module docstring; theory/THEORY.md sections 5, 7 and 8); writes every output into `out`.

    Args:
        config: `TextTransferConfig`.
        out: output folder (created if missing).
        progress: tqdm bars and status lines on stderr.
        model: a `Pretrained` MiniLM (default: `load_pretrained(find_item("minilm"))`; its config is set to mean
            pooling without pooler, `feature_model`).
        texts: {name: TextDomain} (default: `load_review_text` of the domains the pairs name).

    Returns:
        TextTransferResult: step 1's experiment, the fine-tuned pairs, every run, the tables and the files written.
    """
    import sys

    from tqdm.auto import tqdm

    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.nn import load_pretrained

    say = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    timings, started = {}, time.perf_counter()
    model = feature_model(model if model is not None else load_pretrained(find_item("minilm"), num_classes=2))
    finetune_named = [] if config.finetune_pairs == "auto" else list(config.finetune_pairs)
    names = sorted({name for pair in list(config.theory_pairs) + finetune_named for name in pair})
    texts = texts if texts is not None else load_review_text(names)
    domains = encoder_domains(model, {name: texts[name] for name in names}, max_length=config.finetune.max_length,
                              progress=progress or False)
    timings["load_and_embed"] = time.perf_counter() - started

    from rmt_alpha import __version__

    store = UnitStore(os.path.join(out, "units"), {"config": dataclasses.asdict(config), "version": __version__})
    started = time.perf_counter()
    theory = run_text_theory(domains, config, progress=say, store=store)
    timings["step1_theory"] = time.perf_counter() - started
    os.makedirs(out, exist_ok=True)
    from rmt_alpha.experiments._campaign_report import write_campaign

    write_campaign(theory, out, "text_theory")          # step 1 is on disk before the long fine-tuning starts

    settings = config.finetune
    pairs = finetune_named or choose_finetune_pairs(
        theory.tables["prediction"], settings.n_train,
        min_rows=({name: len(domain.y) for name, domain in domains.items()}, settings.rows()))
    methods = [m for m in settings.methods if m in METHODS]
    bar = tqdm(total=len(pairs) * settings.seeds * len(methods), desc="fine-tuning MiniLM", disable=not progress,
               file=sys.stderr)
    runs, resources = [], {}
    for index, (source, target) in enumerate(pairs):
        started = time.perf_counter()
        pair_runs, resources = run_pair(model, domains[source], domains[target], texts[target].texts, settings,
                                        pair_index=index, store=store, bar=bar, resources=resources)
        runs += pair_runs
        timings[f"step2_{source}->{target}"] = time.perf_counter() - started
    bar.close()
    if say and store.loaded:
        say(f"resumed {store.loaded} finished units from {store.folder} (the timings cover this process only)")

    paired = paired_rows(runs)
    n_link = min(config.ns, key=lambda k: abs(k - settings.n_train))
    tables = {"methods": method_rows(runs, resources), "paired": paired, "alpha_null": alpha_null_rows(runs),
              "theory_link": theory_link_rows(theory.tables["prediction"], paired, runs, n_link)}
    files = write_text_transfer(theory, tables, runs, resources, timings, config, pairs, out)
    return TextTransferResult(theory, pairs, runs, tables, resources, timings, files)


def curve_record(check) -> dict:
    """A `PredictionCheck` as plain lists (for JSON): the law's mode, the alpha grid, the measured mean and standard
    error, the predictions and alpha* of each theory (the semi-empirical ones None / NaN when not computed) and the
    sampling-noise floor (NaN in-sample)."""
    return {"source": check.source, "target": check.target, "n": check.n, "centre": check.centre,
            "whiten": check.whiten, "law": check.law, "in_sample": check.in_sample,
            "noise_floor": check.noise_floor, "noise_floor_mean": check.noise_floor_mean,
            "alpha": check.alpha.tolist(), "measured_mean": check.measured.mean.tolist(),
            "measured_stderr": check.measured.stderr.tolist(),
            "predicted_isotropic": check.predicted_isotropic.tolist(),
            "predicted_covariance": check.predicted_covariance.tolist(),
            "predicted_semi_empirical": None if check.predicted_semi_empirical is None
            else check.predicted_semi_empirical.tolist(),
            "alpha_star_isotropic": check.alpha_star_isotropic, "alpha_star_covariance": check.alpha_star_covariance,
            "alpha_star_semi_empirical": check.alpha_star_semi_empirical}


def check_from_record(record: dict):
    """The `PredictionCheck` of a `curve_record` (e.g. read back from text_transfer.json), ready for the plots.

    Args:
        record: a dict as `curve_record` writes it.

    Returns:
        PredictionCheck: the measured curve (without its per-split accuracies) and the predictions; the fields a
        record does not hold keep their defaults (NaN measured accuracy at each alpha*; no semi-empirical
        prediction in a record written before it was stored; the whole-domain law in a record without one).
    """
    import numpy as np

    from rmt_alpha._results import EmpiricalCurve
    from rmt_alpha.experiments._prediction import PredictionCheck

    alpha = np.asarray(record["alpha"], np.float64)
    measured = EmpiricalCurve(alpha, np.asarray(record["measured_mean"]), np.asarray(record["measured_stderr"]), None)
    semi = record.get("predicted_semi_empirical")
    return PredictionCheck(record["source"], record["target"], record["whiten"], alpha, measured,
                           np.asarray(record["predicted_isotropic"]), np.asarray(record["predicted_covariance"]),
                           record["alpha_star_isotropic"], record["alpha_star_covariance"], record["n"],
                           record["centre"], None if semi is None else np.asarray(semi),
                           record.get("alpha_star_semi_empirical", float("nan")),
                           law=record.get("law", "whole-domain"), noise_floor=record.get("noise_floor", float("nan")),
                           noise_floor_mean=record.get("noise_floor_mean", float("nan")))


def write_text_transfer(theory: CampaignResult, tables: dict, runs: list, resources: dict, timings: dict,
                        config: TextTransferConfig, pairs, out: str) -> dict:
    """Every output file (module docstring), atomically; returns {name: path}."""
    import matplotlib.pyplot as plt

    from rmt_alpha.experiments._campaign_report import write_campaign
    from rmt_alpha.plots import figure_prediction_grid, plot_alpha_spread_vs_null, plot_paired_gains, save_figure

    os.makedirs(out, exist_ok=True)
    files = {f"theory_{i}": path for i, path in enumerate(write_campaign(theory, out, "text_theory",
                                                                           curve_pairs=pairs))}
    first_n = [c for c in theory.checks if c.centre == "mean" and c.n == config.ns[0] and c.law == "whole-domain"]
    figure = figure_prediction_grid(first_n)
    files["theory_grid"] = save_figure(figure, os.path.join(out, "text_theory_grid.png"))
    plt.close(figure)
    ax = plot_paired_gains(tables["paired"], tables["theory_link"])
    files["gains_figure"] = save_figure(ax.figure, os.path.join(out, "text_finetune_gains.png"))
    plt.close(ax.figure)
    if tables["alpha_null"]:
        ax = plot_alpha_spread_vs_null(tables["alpha_null"])
        files["alpha_figure"] = save_figure(ax.figure, os.path.join(out, "text_finetune_alphas.png"))
        plt.close(ax.figure)
    report = markdown_report(tables["methods"], tables["paired"], tables["alpha_null"], tables["theory_link"],
                             dataclasses.asdict(config.finetune), timings)
    files["table"] = atomic_write(os.path.join(out, "text_finetune.md"), report)
    payload = {"config": dataclasses.asdict(config), "finetune_pairs": [list(p) for p in pairs],
               "timings_seconds": timings, "theory_settings": theory.settings, "theory_tables": theory.tables,
               "theory_curves": [curve_record(check) for check in theory.checks],
               "finetune_tables": tables, "resources": resources, "runs": runs}
    files["results"] = atomic_write(os.path.join(out, "text_transfer.json"),
                                    json.dumps(payload, indent=1, default=str, allow_nan=True))
    return files


__all__ = ["QUICK_PAIR", "TextTransferConfig", "TextTransferResult", "check_from_record", "choose_finetune_pairs",
           "curve_record",
           "run_text_theory",
           "run_text_transfer", "write_text_transfer"]
