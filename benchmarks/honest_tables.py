"""The honest protocol's tables of ways to choose alpha, on the 12 Amazon Review pairs and the 18 review-text pairs
(all-MiniLM-L6-v2 features) at n = 20, 50 and 100, with the references that look at test labels
(`rmt_alpha.experiments.run_transfer`, its covariance-aware methods included; theory/choose_alpha_rule.md).

Per (data set, n, pair) unit: 20 random target splits (seed 0) of n labelled rows, a pool of
min(1000, (rows - n) // 2) unlabelled rows and the rest as test rows, all disjoint; every method sees its split's
labelled rows and pool only. Per data set and n, over the pairs: each method's mean accuracy, its gain over
alpha = 1 (mean over pairs of the pair's mean over splits, +- the standard error over pairs), the pairs it beats
and loses to alpha = 1 on, a two-sided sign test of those (ties dropped), its worst pair, and its distance below the
best fixed alpha; then one summary row per data set and n (docs/results.md's table). The analysis was fixed before
the run: the default is compared with alpha = 1 and with the
previous default (the covariance-aware pool choice) by these numbers, nothing else.

Units are kept in `--units` as they finish (JSON, resumable: a run started again does only what is missing); the
summary goes to `--out`, stamped with the package version, the git commit and the settings.

Run: python benchmarks/honest_tables.py --out theory/results/choice_tables.json
     [--units theory/results/choice_table_units] [--data amazon text] [--ns 20 50 100] [--splits 20]
About 40 minutes on two busy CPU cores (text 30, Amazon 10).
"""

import argparse
import json
import os
import sys

import numpy as np
import scipy.stats
from _provenance import provenance
from choose_alpha_variants import load

from rmt_alpha._io import atomic_write
from rmt_alpha.experiments import ALPHA_CHOICES, ALPHA_GRID, run_transfer
from rmt_alpha.experiments._units import UnitStore

TABLE = {"alpha=1": "alpha = 1 (plain fine-tuning)", "pool covariance": "previous default (covariance-aware pool)",
         "choose_alpha default": "default (choose_alpha)", "alpha* theory": "labelled rows only",
         "CV": "5-fold CV", "best fixed alpha": "best fixed alpha (test labels)",
         "split-half oracle": "split-half oracle (test labels)", "oracle": "oracle (test labels)"}
"""The rows of the printed tables (stored: every method of `run_transfer`), in order, with their labels."""


def unit(domains, source: str, target: str, n: int, splits: int) -> dict:
    """One pair at one n: each method's accuracy and alpha per split, and its seconds per split."""
    result = run_transfer(domains[source], domains[target], n=n, splits=splits, seed=0, covariance=True)
    return {"source": source, "target": target, "n": n,
            "accuracy": {name: method.accuracy.tolist() for name, method in result.methods.items()},
            "alpha": {name: method.alpha.tolist() for name, method in result.methods.items()},
            "seconds": dict(result.seconds)}


def summarise(units: list[dict]) -> dict:
    """Per method, over the pairs of `units` (one data set, one n): the numbers of the module docstring."""
    accuracy = {name: np.array([np.mean(u["accuracy"][name]) for u in units]) for name in units[0]["accuracy"]}
    plain, fixed = accuracy["alpha=1"], accuracy["best fixed alpha"]
    rows = {}
    for name, per_pair in accuracy.items():
        gain = per_pair - plain
        wins, losses = int(np.sum(gain > 0)), int(np.sum(gain < 0))
        sign = scipy.stats.binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        rows[name] = {"accuracy": float(per_pair.mean()), "gain_over_alpha_1": float(gain.mean()),
                      "gain_stderr_over_pairs": float(gain.std(ddof=1) / np.sqrt(gain.size)),
                      "pairs_better": wins, "pairs_worse": losses, "sign_test_p": float(sign),
                      "worst_pair_gain": float(gain.min()), "below_best_fixed_alpha": float((fixed - per_pair).mean()),
                      "seconds_per_split": float(np.mean([u["seconds"].get(name, np.nan) for u in units])),
                      "data_used": ALPHA_CHOICES[name]}
    return {"pairs": len(units), "methods": rows}


def markdown(summary: dict, label: str) -> str:
    """A table of `TABLE`'s rows for one data set and n."""
    lines = [f"**{label}** ({summary['pairs']} pairs)", "",
             "| method | accuracy | gain over alpha = 1 (pt) | better / worse | sign test p | worst pair (pt) | "
             "below best fixed (pt) |", "|---|---|---|---|---|---|---|"]
    for name, text in TABLE.items():
        row = summary["methods"][name]
        lines.append(f"| {text} | {row['accuracy']:.4f} | {100 * row['gain_over_alpha_1']:+.2f} +- "
                     f"{100 * row['gain_stderr_over_pairs']:.2f} | {row['pairs_better']} / {row['pairs_worse']} | "
                     f"{row['sign_test_p']:.2g} | {100 * row['worst_pair_gain']:+.2f} | "
                     f"{100 * row['below_best_fixed_alpha']:.2f} |")
    return "\n".join(lines)


def summary_table(tables: dict) -> str:
    """One row per data set and n (the docs' table): alpha = 1's accuracy, the default's gain with its standard
    error, pairs better / worse, sign test, worst pair and distance below the best fixed alpha, and the other
    methods' gains (points)."""
    lines = ["| data, n | alpha = 1 | default: gain (pt) | better / worse | sign test p | worst pair | below best "
             "fixed | previous default | labelled rows only | 5-fold CV | split-half oracle | best fixed alpha | "
             "oracle |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, table in tables.items():
        rows = table["methods"]
        default = rows["choose_alpha default"]
        others = " | ".join(f"{100 * rows[name]['gain_over_alpha_1']:+.2f}" for name in
                            ("pool covariance", "alpha* theory", "CV", "split-half oracle", "best fixed alpha",
                             "oracle"))
        dataset, n = key.rsplit("_n", 1)
        lines.append(f"| {dataset}, {n} | {rows['alpha=1']['accuracy']:.4f} | "
                     f"{100 * default['gain_over_alpha_1']:+.2f} +- {100 * default['gain_stderr_over_pairs']:.2f} | "
                     f"{default['pairs_better']} / {default['pairs_worse']} | {default['sign_test_p']:.2g} | "
                     f"{100 * default['worst_pair_gain']:+.2f} | {100 * default['below_best_fixed_alpha']:.2f} | "
                     f"{others} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the summary JSON to write")
    parser.add_argument("--units", default="theory/results/choice_table_units", help="folder of the finished units")
    parser.add_argument("--data", nargs="+", choices=("amazon", "text"), default=["amazon", "text"])
    parser.add_argument("--ns", nargs="+", type=int, default=[20, 50, 100])
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    settings = {"splits": args.splits, "seed": 0, "source_gamma": 1.0, "gamma": 1.0, "whiten": False,
                "covariance_methods": True, "pool_size": "min(1000, (rows - n) // 2)", "bootstrap": 200,
                "alpha_grid": [float(ALPHA_GRID[0]), float(ALPHA_GRID[-1]), 0.1]}
    store = UnitStore(args.units, settings, text=True)
    tables = {}
    for dataset in args.data:
        domains, pairs = load(dataset)
        for n in args.ns:
            units = [store(f"{dataset}_n{n}_{s}_{t}", lambda s=s, t=t: unit(domains, s, t, n, args.splits))
                     for s, t in pairs]
            tables[f"{dataset}_n{n}"] = summarise(units)
            print(markdown(tables[f"{dataset}_n{n}"], f"{dataset}, n = {n}"), "\n", flush=True)
    print(summary_table(tables))
    payload = {"provenance": stamp, "settings": {**settings, "data": args.data, "ns": args.ns}, "tables": tables}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
