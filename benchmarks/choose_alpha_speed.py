"""Speed of the semi-empirical pool choice with 200 bootstrap replicates against the covariance-aware choice
(`choose_alpha(w_s, X, y, unlabelled=U, covariance="covariance")`, 200 replicates), in the same run.

Data: n labelled rows and N unlabelled rows in p dimensions, two classes with a per-row noise scale (gamma
distributed, as real features' uneven norms), a fixed source classifier partly aligned with the class means.
Ours: `semi_empirical_choice(..., bootstrap=200)` (the data's theory once, 200 replicates in batched products);
also the data's theory alone, and `replicates="exact"` on a few replicates (seconds per replicate). The machine is
shared: the load average (`os.getloadavg()`) is printed before and after, each time is a median, and everything
is timed twice: with the BLAS library's default threads and with one thread (on a machine busier than its cores,
a multi-threaded BLAS waits for its threads: measured 2 to 5 times slower at a load average of 5 to 10 on 2 cores).

With `--sources K` (K > 1) it also times the vector choice for K sources (the given one and K - 1 perturbed copies):
`choose_alpha([w_1, ..., w_K], ..., covariance="semi-empirical")` against the isotropic vector choice, which it runs
first to label the pool (theory/THEORY.md section 10.4).

Run: python benchmarks/choose_alpha_speed.py [--p 384] [--pool 1000] [--n 20] [--repeats 3] [--sources 3]
"""

import argparse
import os

import numpy as np
import threadpoolctl
from _timing import median_seconds

from rmt_alpha import choose_alpha
from rmt_alpha._pool_law import pool_alpha
from rmt_alpha._semi_empirical_choice import semi_empirical_choice


def data(p: int, n: int, pool: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    mean = 1.2 * np.eye(p)[0] + 0.6 * np.eye(p)[1]

    def draw(k):
        y = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
        return y[:, None] * mean + rng.standard_normal((k, p)) * rng.gamma(2.0, 0.5, (k, 1)), y

    X, y = draw(n)
    U, _ = draw(pool)
    w_s = 0.5 * np.eye(p)[0] + 0.3 * rng.standard_normal(p) / np.sqrt(p)
    return w_s, X, y, U


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=int, default=384)
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exact", type=int, default=5, help="replicates timed with replicates='exact'")
    parser.add_argument("--sources", type=int, default=1, help="also time the vector choice for this many sources")
    args = parser.parse_args()
    w_s, X, y, U = data(args.p, args.n, args.pool)
    rng = np.random.default_rng(1)
    W = [w_s] + [w_s + 0.3 * rng.standard_normal(args.p) / np.sqrt(args.p) for _ in range(args.sources - 1)]
    print(f"p = {args.p}, n = {args.n}, pool = {args.pool}, {args.bootstrap} replicates, {os.cpu_count()} CPUs")
    for threads in (None, 1):
        before = os.getloadavg()
        with threadpoolctl.threadpool_limits(threads, user_api="blas"):
            ours = median_seconds(lambda: semi_empirical_choice(w_s, X, y, U, bootstrap=args.bootstrap), args.repeats)
            theirs = median_seconds(lambda: choose_alpha(w_s, X, y, unlabelled=U, covariance="covariance",
                                                         bootstrap=args.bootstrap), args.repeats)
            point = median_seconds(lambda: pool_alpha(w_s, X, y, U), args.repeats)
            exact = median_seconds(lambda: semi_empirical_choice(w_s, X, y, U, bootstrap=args.exact,
                                                                 replicates="exact"), 1)
            if args.sources > 1:
                vector = {theory: median_seconds(lambda theory=theory: choose_alpha(
                    W, X, y, unlabelled=U, covariance=theory, bootstrap=args.bootstrap), args.repeats)
                    for theory in ("semi-empirical", "isotropic")}
        after = os.getloadavg()
        print(f"\nBLAS threads: {'default' if threads is None else threads}; load average (1, 5, 15 min) before "
              f"{tuple(round(v, 2) for v in before)}, after {tuple(round(v, 2) for v in after)}")
        print(f"  semi-empirical choice, {args.bootstrap} replicates ('rows'): {ours:.3f} s")
        print(f"  covariance-aware choose_alpha, {args.bootstrap} replicates:   {theirs:.3f} s")
        print(f"  ratio (semi-empirical / covariance-aware): {ours / theirs:.2f}")
        print(f"  the data's semi-empirical alpha* alone (no bootstrap): {point:.3f} s")
        per_replicate = (exact - point) / args.exact
        print(f"  replicates='exact': {per_replicate:.3f} s per replicate (so {args.bootstrap} replicates: about "
              f"{point + args.bootstrap * per_replicate:.0f} s)")
        if args.sources > 1:
            print(f"  {args.sources} sources, semi-empirical vector choice: {vector['semi-empirical']:.3f} s; "
                  f"isotropic: {vector['isotropic']:.3f} s; ratio "
                  f"{vector['semi-empirical'] / vector['isotropic']:.1f}")


if __name__ == "__main__":
    main()
