"""Speed of the full Table-1 protocol (12 pairs x 3 seeds x 10 target splits x the 3 paper methods: alpha = 0, 1,
alpha*) with `rmt_alpha.experiments._transfer.run_paper_table`, against a straightforward numpy implementation that,
like the paper's code, reloads and re-standardises the data for every draw and solves the two p x p ridge systems
(source and fine-tuned) for every draw and every alpha.

The baseline is timed on a subset of the draws (`--baseline-draws`, default 12) and scaled to the 360 draws of the
protocol: its cost per draw does not depend on the pair or the seed (same sizes), so the scaling is linear. Both sides
run in this process, one after the other; the ratio is printed. The first call of the fast path includes JAX
compilation ("cold"); a second call shows the steady state ("warm").

    python benchmarks/amazon_speed.py [--data DIR] [--baseline-draws 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.io

from rmt_alpha._optimize import optimal_alpha
from rmt_alpha._stats import TargetStats
from rmt_alpha.data._domains import AMAZON_FILE, amazon_directory, amazon_pairs, load_amazon
from rmt_alpha.experiments._paper_mode import run_paper_table

SEEDS, SPLITS, N, GAMMA = 3, 10, 20, 1.0


def baseline_draw(directory, source, target, seed, split):
    """One draw as the paper's code does it: load, standardise, then per method solve both ridge systems."""
    def load(domain):
        contents = scipy.io.loadmat(directory / AMAZON_FILE.format(domain=domain))
        X = contents["fts"].astype(np.float64)
        std = X.std(0)
        return (X - X.mean(0)) / np.where(std > 0, std, 1.0), 2.0 * contents["labels"].ravel() - 1.0

    Xs, ys = load(source)
    Xt, yt = load(target)
    p = Xs.shape[1]
    mean = (Xt[yt > 0].mean(0) - Xt[yt < 0].mean(0)) / 2.0
    rng = np.random.default_rng(1000 * seed + split)
    order = rng.permutation(Xt.shape[0])
    train, test = order[:N], order[N:]
    accuracies = []
    for method in ("alpha=0", "alpha=1", "alpha*"):
        w_s = np.linalg.solve(Xs.T @ Xs / Xs.shape[0] + GAMMA * np.eye(p), Xs.T @ ys / Xs.shape[0])
        alpha = {"alpha=0": 0.0, "alpha=1": 1.0}.get(method)
        if alpha is None:
            alpha = optimal_alpha(w_s, TargetStats(mean, N, GAMMA))
        X, y = Xt[train], yt[train]
        w = np.linalg.solve(X.T @ X / N + GAMMA * np.eye(p), X.T @ y / N + alpha * GAMMA * w_s)
        accuracy = np.mean(np.sign(Xt[test] @ w) == yt[test])
        accuracies.append(max(accuracy, 1.0 - accuracy))
    return accuracies


def fast_protocol(directory):
    return run_paper_table(load_amazon(directory), amazon_pairs(), n=N, seeds=SEEDS, splits=SPLITS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Amazon data folder (default: as rmt_alpha.data._domains)")
    parser.add_argument("--baseline-draws", type=int, default=12, help="draws timed for the baseline (default 12)")
    args = parser.parse_args()
    directory = amazon_directory(args.data)
    pairs = amazon_pairs()
    total_draws = len(pairs) * SEEDS * SPLITS

    start = time.perf_counter()
    for draw in range(args.baseline_draws):
        source, target = pairs[draw % len(pairs)]
        baseline_draw(directory, source, target, draw // SPLITS, draw % SPLITS)
    per_draw = (time.perf_counter() - start) / args.baseline_draws
    baseline = per_draw * total_draws

    start = time.perf_counter()
    fast_protocol(directory)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    results = fast_protocol(directory)
    warm = time.perf_counter() - start

    mean_alpha1 = np.mean([r.paper_accuracy["alpha=1"].mean() for r in results])
    print(f"Table-1 protocol: {len(pairs)} pairs x {SEEDS} seeds x {SPLITS} splits = {total_draws} draws x 3 methods")
    print(f"baseline (numpy, reload + two p x p solves per draw and alpha): {per_draw * 1e3:.1f} ms per draw, "
          f"timed on {args.baseline_draws} draws, scaled to {total_draws}: {baseline:.1f} s")
    print(f"rmt_alpha.experiments._transfer.run_paper_table: cold (with JAX compilation) {cold:.2f} s, "
          f"warm {warm:.2f} s")
    print(f"speed-up: {baseline / cold:.0f}x cold, {baseline / warm:.0f}x warm "
          f"(mean alpha = 1 accuracy, paper convention: {mean_alpha1:.4f})")


if __name__ == "__main__":
    main()
