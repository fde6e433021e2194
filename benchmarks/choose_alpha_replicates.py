"""Do the cheap bootstrap replicates of the semi-empirical pool choice agree with re-solving the theory on each
replicate? `semi_empirical_choice(..., replicates="rows")` against `replicates="exact"` (same replicates: same
seed) on real splits (the honest protocol of benchmarks/choose_alpha_variants.py: n labelled rows, a pool, both
preprocessed from their own rows).

Per split: the replicates' alpha* (5%, 50%, 95% quantiles), their predicted gain over alpha = 1 at the data's
alpha* (10% quantile, and the share of replicates predicting no gain: what `choose_alpha`'s do-no-harm rule
tests against 1 - confidence = 10%), the alpha that rule would choose (alpha* kept, or the grid alpha with the best
10% quantile of the gain), and the correlation of the two paths' per-replicate gains at alpha = 2.

One JSON file per split in `--out` (skipped when present); a table at the end.

Run: python benchmarks/choose_alpha_replicates.py --out OUT [--units text:0:0 amazon:0:1 ...] [--bootstrap 200]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha._semi_empirical_choice import semi_empirical_choice
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._splits import draw_splits

UNITS = ("text:12:0", "text:3:1", "text:15:2", "text:8:3", "amazon:0:1", "amazon:7:2", "amazon:4:3", "amazon:10:4")
CONFIDENCE = 0.9


def do_no_harm(choice) -> tuple[float, float]:
    """The share of replicates predicting no gain at the data's alpha* (clipped to the grid), and the alpha the
    do-no-harm rule keeps (alpha* when that share is at most 1 - CONFIDENCE, else the grid alpha whose
    (1 - CONFIDENCE)-quantile of the gain is largest, ties towards 1)."""
    grid = choice.grid
    inside = float(np.clip(choice.alpha[0], grid[0], grid[-1]))
    at = choice.replicates.accuracy(np.r_[inside, 1.0])[1:]
    harmful = float(np.mean(at[:, 0] - at[:, 1] <= 0))
    if harmful <= 1 - CONFIDENCE:
        return harmful, inside
    gains = choice.accuracy[1:] - choice.replicates.accuracy([1.0])[1:]
    lower = np.quantile(gains, 1 - CONFIDENCE, axis=0)
    best = np.flatnonzero(lower >= lower.max() - 1e-12)
    return harmful, float(grid[best[np.argmin(np.abs(grid[best] - 1.0))]])


def summary(choice) -> dict:
    one, two = (int(np.argmin(np.abs(choice.grid - a))) for a in (1.0, 2.0))
    inside = float(np.clip(choice.alpha[0], choice.grid[0], choice.grid[-1]))
    at = choice.replicates.accuracy(np.r_[inside, 1.0])[1:]
    harmful, kept = do_no_harm(choice)
    return {"alpha_quantiles": np.quantile(choice.alpha[1:], [0.05, 0.5, 0.95]).tolist(),
            "gain_q10_at_alpha_star": float(np.quantile(at[:, 0] - at[:, 1], 0.1)),
            "harmful_share": harmful, "do_no_harm_alpha": kept,
            "gain_at_2": (choice.accuracy[1:, two] - choice.accuracy[1:, one]).tolist()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--units", nargs="+", default=list(UNITS), help="DATASET:PAIR_INDEX:SPLIT")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from choose_alpha_variants import git_commit, load

    import rmt_alpha

    os.makedirs(args.out, exist_ok=True)
    stamp = {"version": rmt_alpha.__version__, "commit": git_commit(), "bootstrap": args.bootstrap, "n": args.n}
    loaded = {}
    for unit in args.units:
        dataset, pair, split = unit.split(":")
        path = os.path.join(args.out, f"{dataset}_{pair}_{split}_n{args.n}_b{args.bootstrap}.json")
        if not os.path.exists(path):
            if dataset not in loaded:
                loaded[dataset] = load(dataset)
            domains, pairs = loaded[dataset]
            source, target = (domains[name] for name in pairs[int(pair)])
            rows = draw_splits(target.X.shape[0], args.n, min(1000, (target.X.shape[0] - args.n) // 2),
                               int(split) + 1, 0, labels=target.y)
            w_s, data = preprocess(source, target, rows, source_gamma=1.0)
            X, y, U = (part[int(split)] for part in (data.X_train, data.y_train, data.X_pool))
            record = {"source": source.name, "target": target.name, "split": int(split), "alpha": None, **stamp,
                      "load_average": os.getloadavg()}
            for how in ("rows", "exact"):
                start = time.perf_counter()
                choice = semi_empirical_choice(w_s, X, y, U, bootstrap=args.bootstrap, replicates=how)
                record[how] = {**summary(choice), "seconds": time.perf_counter() - start}
                record["alpha"] = float(choice.alpha[0])
            atomic_write(path, json.dumps(record))
            print(f"{unit}: {record['exact']['seconds']:.0f} s", file=sys.stderr, flush=True)
    print("| split | alpha* | replicates' alpha* 5/50/95% (rows; exact) | gain 10% quantile at alpha*, pt "
          "(rows; exact) | share predicting no gain (rows; exact) | do-no-harm alpha (rows; exact) | corr. of "
          "gains at 2 | seconds (rows; exact) |")
    print("|---|---|---|---|---|---|---|---|")
    for unit in args.units:
        dataset, pair, split = unit.split(":")
        with open(os.path.join(args.out, f"{dataset}_{pair}_{split}_n{args.n}_b{args.bootstrap}.json")) as handle:
            r = json.load(handle)
        rows, exact = r["rows"], r["exact"]
        quantiles = "; ".join(" / ".join(f"{v:.2f}" for v in part["alpha_quantiles"]) for part in (rows, exact))
        print(f"| {r['source']} -> {r['target']} #{r['split']} | {r['alpha']:.2f} | {quantiles} | "
              f"{100 * rows['gain_q10_at_alpha_star']:+.2f}; {100 * exact['gain_q10_at_alpha_star']:+.2f} | "
              f"{rows['harmful_share']:.2f}; {exact['harmful_share']:.2f} | {rows['do_no_harm_alpha']:.2f}; "
              f"{exact['do_no_harm_alpha']:.2f} | {np.corrcoef(rows['gain_at_2'], exact['gain_at_2'])[0, 1]:.2f} | "
              f"{rows['seconds']:.1f}; {exact['seconds']:.0f} |")


if __name__ == "__main__":
    main()
