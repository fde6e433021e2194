"""The diagnostic behind `choose_alpha`'s "auto" theory (theory/choose_alpha_rule.md): per target pair, the spread
of the unlabelled pool's row norms (`row_norm_spread`), the spread Gaussian rows with the pool's covariance would
show (`gaussian_norm_spread`), and their ratio, averaged over the first 3 honest splits (seed 0, n = 20, pool of
min(1000, (rows - n) // 2) rows, preprocessed as the experiments do); then the same for Gaussian rows in p = 400.

Run: python benchmarks/pool_norm_spread.py [--data amazon text]   (about a minute; prints a markdown table)
"""

import argparse
import sys

import numpy as np
from choose_alpha_variants import load

from rmt_alpha._semi_empirical_choice import choose_theory
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._splits import draw_splits

N, SPLITS = 20, 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=("amazon", "text"), default=["amazon", "text"])
    args = parser.parse_args(argv)
    print("| data | source -> target | row-norm spread | Gaussian's | ratio | auto's theory |")
    print("|---|---|---|---|---|---|")
    for dataset in args.data:
        domains, pairs = load(dataset)
        for source, target in pairs:
            rows = domains[target].X.shape[0]
            splits = draw_splits(rows, N, min(1000, (rows - N) // 2), SPLITS, 0, labels=domains[target].y)
            _, data = preprocess(domains[source], domains[target], splits, source_gamma=1.0)
            choices = [choose_theory(pool) for pool in data.X_pool]
            spread = np.mean([c.norm_spread for c in choices])
            gaussian = np.mean([c.gaussian_spread for c in choices])
            theories = "/".join(sorted({c.theory for c in choices}))
            print(f"| {dataset} | {source} -> {target} | {spread:.3f} | {gaussian:.3f} | {spread / gaussian:.2f} | "
                  f"{theories} |", flush=True)
    rng = np.random.default_rng(0)
    mean = np.r_[1.2, 0.6, np.zeros(398)]
    pool = rng.choice([-1.0, 1.0], 1000)[:, None] * mean + rng.standard_normal((1000, 400))
    choice = choose_theory(pool)
    print(f"| Gaussian | p = 400, 1000 rows | {choice.norm_spread:.3f} | {choice.gaussian_spread:.3f} | "
          f"{choice.norm_spread / choice.gaussian_spread:.2f} | {choice.theory} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
