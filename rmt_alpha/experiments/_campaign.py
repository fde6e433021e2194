"""Transfer campaigns on any dict of `Domain`s: every pair, sample size and gamma setting of the honest protocol and
the theory check (`run_campaign`, `campaign_tables`); the Amazon campaign adds paper mode, the digits one is the
same protocol on scikit-learn's digits, and the encoder-feature campaign of the text domains lives in
`rmt_alpha.experiments._text_transfer.run_text_theory` (theory/THEORY.md sections 4, 5 and 8).
"""

from __future__ import annotations

import functools
import sys
from typing import NamedTuple

import numpy as np

from rmt_alpha.experiments._alpha_choices import ALPHA_CHOICES, ALPHA_GRID
from rmt_alpha.experiments._laws import check_law
from rmt_alpha.experiments._paper_mode import (
    PAPER_METHODS,
    PAPER_TABLE1,
    run_paper_table,
)
from rmt_alpha.experiments._prediction import THEORIES, predict_vs_measure, prediction_gaps
from rmt_alpha.experiments._transfer import run_transfer, summary_rows

CURVE_PAIRS = (("books", "dvd"), ("dvd", "elec"), ("kitchen", "books"))
GAMMA_SWEEP = ((1.0, 1.0), (1.0, 0.1), (1.0, 10.0), (0.1, 1.0), (10.0, 1.0))


class CampaignResult(NamedTuple):
    """Tables (lists of row dicts, ready for CSV/JSON), the theory checks behind the curves, and the settings.

    Attributes:
        tables: `{table name: list of row dicts}`.
        checks: list of `PredictionCheck` behind the prediction curves.
        settings: the settings the campaign ran with (for the record).
    """

    tables: dict
    checks: list
    settings: dict


def _mean_se(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else np.nan


def _paper_rows(results) -> list[dict]:
    rows = []
    for result in results:
        row = {"source": result.source, "target": result.target, "draws": result.accuracy["alpha=1"].size,
               "alpha_star": float(result.alpha["alpha* theory"][0])}
        for name, short in zip(PAPER_METHODS, ("alpha0", "alpha1", "alpha_star")):
            row[f"{short}_max_convention"], row[f"{short}_se"] = _mean_se(result.paper_accuracy[name])
            row[f"{short}_plain"] = float(result.accuracy[name].mean())
            paper = PAPER_TABLE1.get((result.source, result.target))
            row[f"{short}_paper"] = paper[PAPER_METHODS.index(name)] / 100 if paper else np.nan
        rows.append(row)
    return rows


def _check_rows(checks) -> list[dict]:
    """One row per check and alpha in (0, 1): the law's mode (in-sample or not), the measured and predicted accuracy
    there, and over the whole alpha grid the mean and largest |predicted - measured| (`prediction_gaps`: split by
    split in the pseudo-labelled-pool mode) beside the sampling-noise floor (out-of-sample modes), alpha* of each
    theory, the measured curve's best grid alpha, and the predicted and measured gains of alpha* over alpha = 1."""
    rows = []
    for check in checks:
        measured_curve = check.measured.mean
        best = int(np.argmax(measured_curve))
        one = int(np.argmin(np.abs(check.alpha - 1.0)))
        # the gains at the grid point nearest alpha*; NaN when alpha* is +-inf or undefined (no point to take)
        finite = np.isfinite(check.alpha_star_covariance)
        star = int(np.argmin(np.abs(check.alpha - check.alpha_star_covariance))) if finite else one
        at_star = (lambda value: float(value)) if finite else (lambda value: float("nan"))
        gaps = {theory: prediction_gaps(check, theory) for theory in THEORIES}
        over_grid = {f"{kind}_{theory}_over_grid": gaps[theory][i] for i, kind in ((0, "mean_abs_gap"),
                                                                                   (1, "max_abs_gap"))
                     for theory in ("isotropic", "covariance")}
        signed = {f"mean_gap_{theory}_over_grid": gaps[theory][2] for theory in THEORIES}
        for alpha in (0.0, 1.0):
            index = int(np.argmin(np.abs(check.alpha - alpha)))
            measured, stderr = measured_curve[index], check.measured.stderr[index]
            rows.append({"source": check.source, "target": check.target, "n": check.n, "centre": check.centre,
                         "whiten": check.whiten, "law": check.law, "in_sample": check.in_sample, "alpha": alpha,
                         "measured": float(measured), "stderr": float(stderr),
                         "predicted_isotropic": float(check.predicted_isotropic[index]),
                         "predicted_covariance": float(check.predicted_covariance[index]),
                         "gap_isotropic": float(check.predicted_isotropic[index] - measured),
                         "gap_covariance": float(check.predicted_covariance[index] - measured),
                         **over_grid,
                         "noise_floor_max_over_grid": check.noise_floor,
                         "noise_floor_mean_over_grid": check.noise_floor_mean,
                         "alpha_star_isotropic": check.alpha_star_isotropic,
                         "alpha_star_covariance": check.alpha_star_covariance,
                         "measured_best_alpha": float(check.alpha[best]),
                         "predicted_gain_covariance": at_star(check.predicted_covariance[star]
                                                              - check.predicted_covariance[one]),
                         "measured_gain_at_alpha_star_covariance": at_star(measured_curve[star] - measured_curve[one]),
                         "measured_gain_best": float(measured_curve[best] - measured_curve[one]),
                         **_semi_empirical_columns(check, index, measured, gaps["semi_empirical"]), **signed,
                         "pseudo_label_accuracy": check.pseudo_label_accuracy})
    return rows


def _semi_empirical_columns(check, index: int, measured: float, gaps) -> dict:
    """The semi-empirical prediction's columns (theory/THEORY.md section 9; NaN when it was not computed) and the
    measured loss at each theory's alpha* against the best grid alpha."""
    semi = check.predicted_semi_empirical
    semi = np.full(check.alpha.shape, np.nan) if semi is None else np.asarray(semi)
    best = float(np.max(check.measured.mean))
    return {"predicted_semi_empirical": float(semi[index]), "gap_semi_empirical": float(semi[index] - measured),
            "mean_abs_gap_semi_empirical_over_grid": gaps[0], "max_abs_gap_semi_empirical_over_grid": gaps[1],
            "alpha_star_semi_empirical": check.alpha_star_semi_empirical,
            "loss_at_alpha_star_covariance": best - check.measured_at_alpha_star_covariance,
            "loss_at_alpha_star_semi_empirical": best - check.measured_at_alpha_star_semi_empirical}


def _averages(rows, keys) -> list[dict]:
    """Mean accuracy over pairs per configuration and method (the standard error is over the pairs' means)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys) + (row["method"],), []).append(row["accuracy"])
    out = []
    for key, values in groups.items():
        mean, se = _mean_se(values)
        out.append({**dict(zip(keys + ("method",), key)), "pairs": len(values), "accuracy": mean,
                    "stderr_over_pairs": se})
    return out


class Setting(NamedTuple):
    """One configuration of the honest protocol (`run_transfer`'s arguments; theory/THEORY.md section 5).

    Attributes:
        n: labelled target rows per split.
        source_gamma: ridge strength of the source classifier.
        gamma: fine-tuning ridge strength.
        whiten: whiten with the source covariance.
        covariance: also the covariance-aware pool method (section 8).
        pool_sizes: extra (smaller) pool sizes for which the pool method is repeated.
    """

    n: int
    source_gamma: float = 1.0
    gamma: float = 1.0
    whiten: bool = False
    covariance: bool = False
    pool_sizes: tuple = ()


class Check(NamedTuple):
    """One prediction-vs-measurement configuration (`predict_vs_measure`'s arguments).

    Attributes:
        n: labelled target rows per split.
        whiten: whiten with the source covariance.
        centre: "mean" or "midpoint" (as `predict_vs_measure`).
        semi_empirical: also the semi-empirical prediction (theory/THEORY.md section 9).
        law: where the theory's law comes from: "whole-domain" (in-sample), "held-out-half" or
            "pseudo-labelled-pool" (as `predict_vs_measure`).
    """

    n: int = 20
    whiten: bool = False
    centre: str = "mean"
    semi_empirical: bool = False
    law: str = "whole-domain"


def run_campaign(domains: dict, pairs, settings, checks=(Check(),), *, splits: int = 20, seed: int = 0,
                 progress=None, store=None) -> tuple[list, list]:
    """The honest protocol (`run_transfer`) on every pair for every setting, and the theory check
    (`predict_vs_measure`) on every pair for every check configuration: the engine of every transfer campaign
    (Amazon, digits, the text domains' encoder features; theory/THEORY.md sections 5 and 8).

    Args:
        domains: {name: Domain}.
        pairs: [(source name, target name), ...], names of `domains`.
        settings: `Setting`s (or tuples of their fields).
        checks: `Check`s (or tuples of their fields); each is run on the grid `ALPHA_GRID`.
        splits: random target splits per pair and setting (or check).
        seed: seed of the splits.
        progress: None, or a callable taking a status line (then a progress bar is shown too).
        store: None, or a `UnitStore` keeping each (setting or check, pair) result as it is done, so that a run
            started again resumes.

    Returns:
        `(results, checks)`: lists of `TransferResult` (settings outer, pairs inner) and `PredictionCheck` (checks
        outer, pairs inner).

    Raises:
        ValueError: `pairs` is empty, or not (source, target) names of `domains`.
    """
    from tqdm.auto import tqdm

    def say(line: str) -> None:
        if progress is not None:
            with tqdm.external_write_mode(file=sys.stderr):   # the bar is cleared, the line written, the bar redrawn
                progress(line)

    pairs = [tuple(pair) for pair in pairs]
    missing = sorted({name for pair in pairs for name in pair} - set(domains))
    if missing or not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"pairs must be (source, target) names of the given domains {sorted(domains)}, got "
                         f"{pairs}" + (f" (unknown: {missing})" if missing else ""))
    settings, checks = [Setting(*s) for s in settings], [Check(*c) for c in checks]
    for check in checks:
        check_law(check.law)
    bar = tqdm(total=len(pairs) * (len(settings) + len(checks)), desc="transfer campaign",
               disable=progress is None, leave=False, file=sys.stderr)
    unit = store if store is not None else (lambda name, compute: compute())
    results, done = [], []
    for index, setting in enumerate(settings):
        say(f"honest protocol: n={setting.n}, gammas=({setting.source_gamma:g}, {setting.gamma:g}), "
            f"whiten={setting.whiten}")
        for source, target in pairs:
            results.append(unit(f"honest_{index}_{source}_{target}", functools.partial(
                run_transfer, domains[source], domains[target], n=setting.n, source_gamma=setting.source_gamma,
                gamma=setting.gamma, splits=splits, seed=seed, whiten=setting.whiten, covariance=setting.covariance,
                pool_sizes=setting.pool_sizes)))
            bar.update(1)
    for index, check in enumerate(checks):
        say(f"prediction vs measurement: n={check.n}, whiten={check.whiten}, centre={check.centre}, law={check.law}")
        for source, target in pairs:
            done.append(unit(f"check_{index}_{source}_{target}", functools.partial(
                predict_vs_measure, domains[source], domains[target], ALPHA_GRID, n=check.n, splits=splits,
                seed=seed, whiten=check.whiten, centre=check.centre, semi_empirical=check.semi_empirical,
                law=check.law)))
            bar.update(1)
    bar.close()
    return results, done


def campaign_tables(results, checks) -> dict:
    """The tables every campaign writes: "honest" (per pair, setting and method), "honest_average" (over pairs)
    and "prediction" (theory vs measurement; each row says its law's mode, "law" and "in_sample", so in-sample and
    out-of-sample rows are never mixed silently).

    Args:
        results: `TransferResult`s (the first list `run_campaign` returns).
        checks: `PredictionCheck`s (its second list).

    Returns:
        dict: `{table name: list of row dicts}` for the three tables.
    """
    honest = summary_rows(results)
    return {"honest": honest, "honest_average": _averages(honest, ("n", "source_gamma", "gamma", "whiten")),
            "prediction": _check_rows(checks)}


def run_amazon_experiment(directory=None, *, quick: bool = False, seed: int = 0, progress=None) -> CampaignResult:
    """Every table of the Amazon campaign on the 12 pairs.

    The honest table (n = 20, 40, 100; gammas (1, 1) and `GAMMA_SWEEP` at n = 20; whitened at n = 20), the
    pool-size study, paper mode next to the paper's Table 1, and prediction vs measurement (isotropic and
    covariance-aware, standardised and whitened).

    Args:
        directory: the Amazon data folder (as `load_amazon`).
        quick: n = 20 and gammas (1, 1) only, 5 splits, no covariance-aware method, paper mode on 1 x 5 draws, no
            whitening check: under a minute.
        seed: seed of the random splits.
        progress: optional callable taking a status line.

    Returns:
        CampaignResult: the tables, checks and settings.
    """
    from rmt_alpha.data._domains import amazon_pairs, load_amazon

    say = progress or (lambda line: None)
    domains = load_amazon(directory)
    pairs = amazon_pairs()
    splits = 5 if quick else 20
    settings = [Setting(20, covariance=not quick, pool_sizes=() if quick else (50, 100, 300))]
    checks = [Check(20, semi_empirical=not quick)]
    if not quick:
        settings += [Setting(40), Setting(100), Setting(20, whiten=True)]
        settings += [Setting(20, gs, g) for gs, g in GAMMA_SWEEP[1:]]
        checks += [Check(20, whiten=True)]
    results, checks = run_campaign(domains, pairs, settings, checks, splits=splits, seed=seed, progress=progress)
    say("paper mode")
    paper = run_paper_table(domains, pairs, seeds=1 if quick else 3, splits=5 if quick else 10)
    tables = campaign_tables(results, checks)
    tables = {"honest": tables["honest"], "honest_average": tables["honest_average"],
              "paper_mode": _paper_rows(paper), "prediction": tables["prediction"]}
    semi = ("not computed in a quick run (--quick): the semi-empirical theory (theory/THEORY.md section 9) solves a "
            "fixed point over every row of the target domain, a few seconds per pair; run without --quick for it"
            if quick else "the semi-empirical theory (theory/THEORY.md section 9) is computed for the standardised "
            "check only (- on the whitened rows)")
    settings = {"splits": splits, "seed": seed, "quick": quick, "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1],
                "methods": ALPHA_CHOICES, "pool_size": "min(1000, (rows - n) // 2)", "cv_folds": 5, "pool_rounds": 3,
                "preprocessing": "source standardised with its own features; target with its training + pool "
                                 "features (never test rows); paper mode and the theory check: each domain with "
                                 "all its rows", "paper_mode": "statistics from the whole target domain (test rows "
                                 "included), this package's isotropic alpha* (not the paper's formula), "
                                 "max(acc, 1 - acc) as the paper, plain accuracy beside it", "semi_empirical": semi}
    return CampaignResult(tables, checks, settings)


def run_digits_experiment(*, quick: bool = False, seed: int = 0, progress=None) -> CampaignResult:
    """The same honest protocol and theory check on scikit-learn's digits (`rmt_alpha.data.DIGIT_TASKS`).

    n = 20, gammas (1, 1).

    Args:
        quick: 5 splits only.
        seed: seed of the random splits.
        progress: optional callable taking a status line.

    Returns:
        CampaignResult: the tables, checks and settings.
    """
    from rmt_alpha.data._domains import load_digit_tasks

    splits = 5 if quick else 20
    domains, pairs = {}, []
    for name, (source, target) in load_digit_tasks().items():
        domains[f"{name}: source"], domains[f"{name}: target"] = source, target
        pairs.append((f"{name}: source", f"{name}: target"))
    results, checks = run_campaign(domains, pairs, [Setting(20, covariance=True)], [Check(20)], splits=splits,
                                   seed=seed, progress=progress)
    return CampaignResult(campaign_tables(results, checks), checks,
                      {"splits": splits, "seed": seed, "quick": quick, "methods": ALPHA_CHOICES,
                       "semi_empirical": "not computed for the digit tasks: the semi-empirical theory "
                                         "(theory/THEORY.md section 9) is run by `rmt-alpha amazon` without --quick"})
