"""Speed of the JAX simulator against the straightforward numpy loop, side by side in one run.

Workload: an accuracy-vs-alpha curve of 101 alphas x 64 trials at p = 400, N = 2000, n = 40 (theory/THEORY.md's
example means: |mu_s| = 1.5, beta = 0.8, |mu_perp| = 0.6, gamma_s = gamma = 1), exact conditional accuracy.

Baseline (named `numpy_loop`, what the paper's code does): per trial, draw the N x p source sample, fit the source
ridge classifier with a p x p solve, draw the target sample, then for every alpha solve the p x p system
`(X^T X / n + gamma I) w = X^T y / n + alpha gamma w_s` and take `Phi(w^T mu_t / |w|)`. It is timed on
`--baseline-trials` trials and scaled linearly to the full trial count (trials are independent and identical in
cost); the output says so. It runs twice, with numpy's default BLAS threads and with one BLAS thread
(`threadpoolctl`; on a shared, busy machine multi-threaded OpenBLAS can be ten times slower), and the speed-up is
taken against the faster of the two.

The simulator (`rmt_alpha.simulate.simulate`, float32 and float64): the first call includes compilation; the run
time is the median of three further calls with new alpha grids of the same shape (which do not recompile:
reported), and compile time is the sum of JAX's own tracing/lowering/compilation durations (`jax.monitoring`).
Also reports trials/s at p = 2000 (N = 5 p, n = p / 10, the same aspect ratios).
Usage: `python benchmarks/simulate_speed.py [--json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import numpy as np
import scipy.special
from threadpoolctl import threadpool_limits

from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha.simulate import simulate


def numpy_loop(source: SourceStats, target: TargetStats, alpha, trials: int, seed: int) -> np.ndarray:
    """The baseline: one p x p solve for every alpha and every trial (plus the source fit). (trials, k) accuracy."""
    rng = np.random.default_rng(seed)
    p = target.p
    per_trial = np.empty((trials, alpha.size))
    for trial in range(trials):
        ys = rng.choice([-1.0, 1.0], size=source.n)
        Xs = ys[:, None] * source.mean + rng.standard_normal((source.n, p))
        w_s = np.linalg.solve(Xs.T @ Xs / source.n + source.gamma * np.eye(p), Xs.T @ ys / source.n)
        y = rng.choice([-1.0, 1.0], size=target.n)
        X = y[:, None] * target.mean + rng.standard_normal((target.n, p))
        gram = X.T @ X / target.n + target.gamma * np.eye(p)
        for column, a in enumerate(alpha):
            w = np.linalg.solve(gram, X.T @ y / target.n + a * target.gamma * w_s)
            per_trial[trial, column] = scipy.special.ndtr(w @ target.mean / np.linalg.norm(w))
    return per_trial


COMPILE_EVENTS: list[float] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda name, seconds, **_: COMPILE_EVENTS.append(seconds) if name.startswith("/jax/core/compile/") else None)


def time_simulator(source, target, alpha, trials: int, dtype: str) -> dict:
    """First call (tracing + compilation + run), then the median run time of three calls with new alpha grids."""
    COMPILE_EVENTS.clear()
    start = time.perf_counter()
    first = simulate(source, target, alpha, trials=trials, seed=0, dtype=dtype)
    first_call = time.perf_counter() - start
    compile_s = sum(COMPILE_EVENTS)
    runs = []
    for repeat in range(1, 4):
        start = time.perf_counter()
        simulate(source, target, alpha + 0.01 * repeat, trials=trials, seed=repeat, dtype=dtype)
        runs.append(time.perf_counter() - start)
    run = statistics.median(runs)
    return {"dtype": dtype, "first_call_s": first_call, "compile_s": compile_s, "run_s": run,
            "compile_s_in_repeats": sum(COMPILE_EVENTS) - compile_s,  # 0: new alpha grids do not recompile
            "trials_per_s": trials / run, "mean_accuracy_at_alpha_1": float(np.interp(1.0, alpha,
                                                                                        first.accuracy.mean))}


def configuration(p: int, source_n: int, n: int):
    source = SourceStats.from_norm(p, 1.5, source_n, 1.0)
    target = TargetStats.from_alignment(source, 0.8, 0.6, n, 1.0)
    return source, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--baseline-trials", type=int, default=4, help="baseline trials actually run (scaled)")
    parser.add_argument("--large-trials", type=int, default=8, help="trials for the p = 2000 throughput")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    alpha = np.linspace(-1.0, 4.0, 101)
    source, target = configuration(400, 2000, 40)
    baseline_runs = {}
    for threads in ("default", 1):
        with threadpool_limits(None if threads == "default" else threads):
            start = time.perf_counter()
            baseline = numpy_loop(source, target, alpha, args.baseline_trials, seed=0)
            baseline_runs[f"blas_threads_{threads}_scaled_s"] = ((time.perf_counter() - start) * args.trials
                                                                  / args.baseline_trials)
    baseline_s = min(baseline_runs.values())
    results = {"device": str(jax.devices()[0].platform), "device_count": jax.device_count(),
               "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0], "trials": args.trials,
               "alphas": alpha.size,
               "baseline": {"name": "numpy_loop", "trials_run": args.baseline_trials,
                            "scaled_s": baseline_s, "trials_per_s": args.trials / baseline_s, **baseline_runs,
                            "mean_accuracy_at_alpha_1": float(np.interp(1.0, alpha, baseline.mean(axis=0)))},
               "simulator": [time_simulator(source, target, alpha, args.trials, dtype)
                             for dtype in ("float32", "float64")]}
    for row in results["simulator"]:
        row["speedup_vs_baseline"] = baseline_s / row["run_s"]
    large_source, large_target = configuration(2000, 10000, 200)
    results["p2000"] = time_simulator(large_source, large_target, alpha, args.large_trials, "float32")
    results["p2000"].update(p=2000, source_n=10000, n=200, trials=args.large_trials)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"simulate_speed: {results['trials']} trials x {results['alphas']} alphas, p=400, N=2000, n=40, "
          f"exact accuracy; {results['device_count']} {results['device']} device(s), {results['cpu_count']} CPUs, "
          f"load average {results['load_average_1min']:.1f} at start")
    print(f"  numpy_loop (baseline): {baseline_s:8.2f} s  ({args.trials / baseline_s:7.2f} trials/s; timed on "
          f"{args.baseline_trials} trials and scaled linearly to {args.trials}; the faster of default BLAS threads "
          f"{baseline_runs['blas_threads_default_scaled_s']:.1f} s and one BLAS thread "
          f"{baseline_runs['blas_threads_1_scaled_s']:.1f} s)")
    for row in results["simulator"]:
        print(f"  simulate {row['dtype']}:      {row['run_s']:8.3f} s  ({row['trials_per_s']:7.1f} trials/s)  "
              f"compile {row['compile_s']:.2f} s (in repeats {row['compile_s_in_repeats']:.2f} s)  "
              f"speed-up x{row['speedup_vs_baseline']:.1f}")
    large = results["p2000"]
    print(f"  simulate float32 at p=2000, N=10000, n=200: {large['trials_per_s']:.2f} trials/s "
          f"({large['trials']} trials in {large['run_s']:.2f} s, compile {large['compile_s']:.2f} s)")
    print(f"  sanity: mean accuracy at alpha=1, baseline {results['baseline']['mean_accuracy_at_alpha_1']:.4f}, "
          f"simulator {results['simulator'][0]['mean_accuracy_at_alpha_1']:.4f}")


if __name__ == "__main__":
    main()
