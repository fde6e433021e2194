"""Speed of the closed forms, side by side with the straightforward per-alpha evaluation, in one run.

Baseline (how the paper's code evaluates a curve): for each alpha separately, compute the two moments with scalar
Python arithmetic and integrate the Gaussian density with `scipy.integrate.quad` to get the accuracy. Ours:
`predicted_accuracy` on the whole array at once. The baseline is timed on a subset of alphas and scaled linearly
(it is a loop: its cost per alpha is constant); both are checked to agree.

Run: python benchmarks/theory_speed.py [--alphas 1000000] [--baseline-alphas 2000]
"""

import argparse
import math
import time

import numpy as np
import scipy.integrate
from _timing import median_seconds

import rmt_alpha as ra


def per_alpha_quad_accuracy(source, target, alphas):
    """The baseline: one scalar moment computation and one quad integral per alpha."""
    s, omega_par, omega_perp = ra.source_invariants(source, target)
    m, eta, gamma = target.mean_norm_sq, target.eta, target.gamma
    out = []
    for alpha in alphas:
        b = 1 + gamma - eta
        delta = (-b + math.sqrt(b * b + 4 * gamma * eta)) / (2 * gamma)
        kappa = gamma * (1 + delta)
        lam = m + 1 + kappa
        h = 1 - eta / (1 + kappa) ** 2
        mean = (m + alpha * kappa * s) / lam
        omega = omega_par + omega_perp
        t1 = (m * ((m + 1) / lam - 2 * (1 - h)) / lam + (1 - h)) / h
        t2 = 2 * kappa * s * ((m + 1) / lam - (1 - h)) / (h * lam)
        t3 = kappa**2 * ((s / lam) ** 2 + (1 - h) * omega / eta + (1 - h) * s**2 * (m / lam - 2) / (eta * lam)) / h
        std = math.sqrt(t1 + alpha * t2 + alpha**2 * t3 - mean**2)
        density = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        out.append(scipy.integrate.quad(density, -mean / std, math.inf)[0])
    return np.array(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", type=int, default=1_000_000)
    parser.add_argument("--baseline-alphas", type=int, default=2000)
    args = parser.parse_args()
    source = ra.SourceStats.from_norm(400, 1.5, 2000, 1.0)
    target = ra.TargetStats.from_alignment(source, 0.8, 0.6, 100, 1.0)
    alphas = np.linspace(-2.0, 4.0, args.alphas)

    ours = median_seconds(lambda: ra.predicted_accuracy(source, target, alphas), repeats=5)
    subset = alphas[:: max(1, args.alphas // args.baseline_alphas)]
    start = time.perf_counter()
    baseline_values = per_alpha_quad_accuracy(source, target, subset)
    baseline_per_alpha = (time.perf_counter() - start) / subset.size
    gap = np.max(np.abs(baseline_values - ra.predicted_accuracy(source, target, subset)))

    ra.optimal_alpha(source, target)  # warm-up
    one_call = median_seconds(lambda: ra.optimal_alpha(source, target), repeats=2001)

    baseline_total = baseline_per_alpha * alphas.size
    print(f"accuracy curve on {alphas.size:,} alphas (theory/THEORY.md example, p = 400)")
    print(f"  baseline, per-alpha quad loop : {baseline_total:10.3f} s  "
          f"({baseline_per_alpha * 1e6:.1f} us per alpha, timed on {subset.size} alphas and scaled)")
    print(f"  rmt_alpha.predicted_accuracy  : {ours:10.3f} s  (median of 5)")
    print(f"  ratio baseline / ours         : {baseline_total / ours:10.0f}x  (goal >= 1000x)")
    print(f"  largest difference in accuracy: {gap:.1e}")
    print(f"optimal_alpha, one call         : {one_call * 1e3:10.4f} ms  (median of 2001; goal < 1 ms)")


if __name__ == "__main__":
    main()
