"""The Amazon Review and digits campaigns: every pair, sample size and gamma setting of the honest
protocol, paper mode and the theory check, gathered into tables (theory/THEORY.md sections 4, 5 and 8).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha.experiments._alpha_choices import ALPHA_CHOICES, ALPHA_GRID
from rmt_alpha.experiments._paper_mode import (
    PAPER_METHODS,
    PAPER_TABLE1,
    run_paper_table,
)
from rmt_alpha.experiments._prediction import predict_vs_measure
from rmt_alpha.experiments._transfer import run_transfer, summary_rows

CURVE_PAIRS = (("books", "dvd"), ("dvd", "elec"), ("kitchen", "books"))
GAMMA_SWEEP = ((1.0, 1.0), (1.0, 0.1), (1.0, 10.0), (0.1, 1.0), (10.0, 1.0))


class Experiment(NamedTuple):
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
    rows = []
    for check in checks:
        for alpha in (0.0, 1.0):
            index = int(np.argmin(np.abs(check.alpha - alpha)))
            measured, stderr = check.measured.mean[index], check.measured.stderr[index]
            rows.append({"source": check.source, "target": check.target, "whiten": check.whiten, "alpha": alpha,
                         "measured": float(measured), "stderr": float(stderr),
                         "predicted_isotropic": float(check.predicted_isotropic[index]),
                         "predicted_covariance": float(check.predicted_covariance[index]),
                         "gap_isotropic": float(check.predicted_isotropic[index] - measured),
                         "gap_covariance": float(check.predicted_covariance[index] - measured),
                         "max_abs_gap_isotropic_over_grid": float(np.max(np.abs(check.predicted_isotropic
                                                                                - check.measured.mean))),
                         "max_abs_gap_covariance_over_grid": float(np.max(np.abs(check.predicted_covariance
                                                                                 - check.measured.mean))),
                         "alpha_star_isotropic": check.alpha_star_isotropic,
                         "alpha_star_covariance": check.alpha_star_covariance,
                         **_semi_empirical_columns(check, index, measured)})
    return rows


def _semi_empirical_columns(check, index: int, measured: float) -> dict:
    """The semi-empirical prediction's columns (theory/THEORY.md section 9; NaN when it was not computed) and the
    measured loss at each theory's alpha* against the best grid alpha."""
    semi = check.predicted_semi_empirical
    semi = np.full(check.alpha.shape, np.nan) if semi is None else np.asarray(semi)
    best = float(np.max(check.measured.mean))
    return {"predicted_semi_empirical": float(semi[index]), "gap_semi_empirical": float(semi[index] - measured),
            "max_abs_gap_semi_empirical_over_grid": float(np.max(np.abs(semi - check.measured.mean))),
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


def run_amazon_experiment(directory=None, *, quick: bool = False, seed: int = 0, progress=None) -> Experiment:
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
        Experiment: the tables, checks and settings.
    """
    from rmt_alpha.data._domains import amazon_pairs, load_amazon

    say = progress or (lambda line: None)
    domains = load_amazon(directory)
    pairs = amazon_pairs()
    splits = 5 if quick else 20
    configs = [(20, 1.0, 1.0, False, not quick)]
    if not quick:
        configs += [(40, 1.0, 1.0, False, False), (100, 1.0, 1.0, False, False), (20, 1.0, 1.0, True, False)]
        configs += [(20, gs, g, False, False) for gs, g in GAMMA_SWEEP[1:]]
    results = []
    for n, source_gamma, gamma, whiten, covariance in configs:
        say(f"honest protocol: n={n}, gammas=({source_gamma:g}, {gamma:g}), whiten={whiten}")
        for source, target in pairs:
            results.append(run_transfer(domains[source], domains[target], n=n, source_gamma=source_gamma,
                                        gamma=gamma, splits=splits, seed=seed, whiten=whiten,
                                        covariance=covariance,
                                        pool_sizes=() if quick or n != 20 or whiten or (source_gamma, gamma) != (1, 1)
                                        else (50, 100, 300)))
    honest = summary_rows(results)
    say("paper mode")
    paper = run_paper_table(domains, pairs, seeds=1 if quick else 3, splits=5 if quick else 10)
    say("prediction vs measurement")
    checks = [predict_vs_measure(domains[s], domains[t], ALPHA_GRID, splits=splits, seed=seed,
                                 semi_empirical=not quick) for s, t in pairs]
    if not quick:
        checks += [predict_vs_measure(domains[s], domains[t], ALPHA_GRID, splits=splits, seed=seed, whiten=True)
                   for s, t in pairs]
    tables = {"honest": honest,
              "honest_average": _averages(honest, ("n", "source_gamma", "gamma", "whiten")),
              "paper_mode": _paper_rows(paper),
              "prediction": _check_rows(checks)}
    settings = {"splits": splits, "seed": seed, "quick": quick, "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1],
                "methods": ALPHA_CHOICES, "pool_size": "min(1000, (rows - n) // 2)", "cv_folds": 5, "pool_rounds": 3,
                "preprocessing": "source standardised with its own features; target with its training + pool "
                                 "features (never test rows); paper mode and the theory check: each domain with "
                                 "all its rows", "paper_mode": "statistics from the whole target domain (test rows "
                                 "included), this package's isotropic alpha* (not the paper's formula), "
                                 "max(acc, 1 - acc) as the paper, plain accuracy beside it"}
    return Experiment(tables, checks, settings)


def run_digits_experiment(*, quick: bool = False, seed: int = 0, progress=None) -> Experiment:
    """The same honest protocol and theory check on scikit-learn's digits (`rmt_alpha.data.DIGIT_TASKS`).

    n = 20, gammas (1, 1).

    Args:
        quick: 5 splits only.
        seed: seed of the random splits.
        progress: optional callable taking a status line.

    Returns:
        Experiment: the tables, checks and settings.
    """
    from rmt_alpha.data._domains import load_digit_tasks

    say = progress or (lambda line: None)
    splits = 5 if quick else 20
    results, checks = [], []
    for name, (source, target) in load_digit_tasks().items():
        say(f"digits {name}")
        results.append(run_transfer(source, target, n=20, splits=splits, seed=seed, covariance=True))
        checks.append(predict_vs_measure(source, target, ALPHA_GRID, splits=splits, seed=seed))
    honest = summary_rows(results)
    tables = {"honest": honest, "honest_average": _averages(honest, ("n", "source_gamma", "gamma", "whiten")),
              "prediction": _check_rows(checks)}
    return Experiment(tables, checks, {"splits": splits, "seed": seed, "quick": quick, "methods": ALPHA_CHOICES})
