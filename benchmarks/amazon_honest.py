"""The honest protocol on the 12 Amazon Review pairs at n = 20 (20 splits, seed 0, gammas (1, 1); `run_transfer`'s
defaults), with its three references: the test-set oracle, the best fixed alpha and the split-half oracle
(`rmt_alpha.experiments._references`; they look at test labels, so they are ceilings, never methods).

Usage: python benchmarks/amazon_honest.py --out theory/results/amazon_honest_n20.json
About 3 minutes on two busy CPU cores. Writes the per-pair table and the mean over pairs of every method and
reference (with provenance and settings) and prints the means.
"""

import argparse
import json
import os
import sys

import numpy as np
from _provenance import provenance

from rmt_alpha._io import atomic_write
from rmt_alpha.data import amazon_pairs, load_amazon
from rmt_alpha.experiments import ALPHA_CHOICES, ALPHA_GRID, run_transfer, summary_rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    domains = load_amazon()
    results = [run_transfer(domains[s], domains[t], n=args.n, splits=args.splits, seed=args.seed)
               for s, t in amazon_pairs()]
    rows = summary_rows(results)
    means = {}
    plain = np.array([r.methods["alpha=1"].accuracy.mean() for r in results])
    for name in results[0].methods:
        per_pair = np.array([r.methods[name].accuracy.mean() for r in results])
        gain = per_pair - plain
        means[name] = {"accuracy": float(per_pair.mean()),
                       "gain_over_alpha_1": float(gain.mean()),
                       "gain_stderr_over_pairs": float(gain.std(ddof=1) / np.sqrt(gain.size)),
                       "pairs_above_alpha_1": int(np.sum(gain > 0)), "data_used": ALPHA_CHOICES.get(name, "")}
    settings = {"pairs": [list(p) for p in amazon_pairs()], "n": args.n, "splits": args.splits, "seed": args.seed,
                "source_gamma": 1.0, "gamma": 1.0, "whiten": False, "covariance_method": False,
                "pool_size": "min(1000, (rows - n) // 2)", "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1]}
    payload = {"provenance": stamp, "settings": settings, "mean_over_pairs": means, "honest": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, json.dumps(payload, indent=1, default=float))
    for name, mean in means.items():
        print(f"{name:18s} {mean['accuracy']:.4f}  vs alpha = 1: {100 * mean['gain_over_alpha_1']:+.2f} "
              f"+- {100 * mean['gain_stderr_over_pairs']:.2f} pt, above on {mean['pairs_above_alpha_1']}"
              f"/{len(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
