"""Speed of the JAX simulator against the straightforward numpy loop, side by side in one run, on one device and
on four, with the flop count of one trial and the distance to this machine's matrix-product rate.

Workload: an accuracy-vs-alpha curve of 101 alphas x 64 trials at p = 400, N = 2000, n = 40 (theory/THEORY.md's
example means: |mu_s| = 1.5, beta = 0.8, |mu_perp| = 0.6, gamma_s = gamma = 1), exact conditional accuracy.

Baseline (named `numpy_loop`, what the paper's code does): per trial, draw the N x p source sample, fit the source
ridge classifier with a p x p solve, draw the target sample, then for every alpha solve the p x p system
`(X^T X / n + gamma I) w = X^T y / n + alpha gamma w_s` and take `Phi(w^T mu_t / |w|)`. It is timed on
`--baseline-trials` trials and scaled linearly to the full trial count (trials are independent and identical in
cost); the output says so. It runs twice, with numpy's default BLAS threads and with one BLAS thread
(`threadpoolctl`; on a shared, busy machine multi-threaded OpenBLAS can be ten times slower), and the speed-up is
taken against the faster of the two.

The simulator (`rmt_alpha.simulate.simulate`, float32 and float64, on 1 device and on 4: on a CPU-only machine
four CPU devices are forced with `XLA_FLAGS=--xla_force_host_platform_device_count=4` unless XLA_FLAGS is set):
the first call includes compilation; the run time is the median of fifteen further calls with new alpha grids of
the same shape (which do not recompile: reported), and compile time is the sum of JAX's own
tracing/lowering/compilation durations (`jax.monitoring`).

Flops of one trial (`trial_flops`, counted as executed): the source classifier from its bidiagonal draw (a
tridiagonal recurrence and a few p-vectors, about 20 p), the target kernel `X X^T` (2 n^2 p), its Cholesky
factorisation and solves (n^3 / 3 + 4 n^2), the products with X (8 n p) and the scores. The distance to the bound
compares trials/s x flops with a plain matrix product (`a @ a`, 1024 x 1024, same dtype, one device) timed in the
same run. The random draws are not flops: the "draws alone" rate is how many trials/s drawing a trial's random
numbers allows by itself, timed in the same run (for each simulator row, in alternation with its calls: the
fraction of the draw-alone rate), and for each of JAX's PRNG implementations (`PRNG_IMPLEMENTATIONS`:
threefry2x32, the simulator's, and the others this JAX offers), and for the draws of the earlier Bartlett source
draw (what the simulator's draws replaced): now 2 p + n p normals, 2 p - 1 gammas and a permutation of n labels; before
p (p - 1) / 2 + p + n p normals and p gammas.

Cost of the factorisation choice (`rmt_alpha.linear.solve_one_at_a_time`): on CPU a vmapped batch of Cholesky
solves runs one factorisation at a time (`jax.lax.map`) because batched LAPACK calls can deadlock XLA:CPU's thread
pool (docs/upstream/jax_cpu_lapack_deadlock.md). `factorisation_cost` times the fit of a batch of targets
(`linear.fit_affine` vmapped) both ways, the batched call forced for the measurement only, alternately, in three
shapes: the main workload's dual fit (n = 40), the tests' (p = 200, n = 100) and a primal fit (p = 400, n = 800),
with OpenBLAS's default threads and with one (jaxlib's LAPACK is scipy's OpenBLAS, whose threads compete with
XLA's: on a busy machine one thread can be ten times faster for a 400 x 400 factorisation).
Also reports trials/s at p = 2000 (N = 5 p, n = p / 10, the same aspect ratios).
Usage: `python benchmarks/simulate_speed.py [--json]` (the JSON carries the package version, the git commit and the
command; theory/results/simulate_speed_cpu.json is one such run, quoted by docs/results.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")  # CPU only; before importing jax

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from _provenance import provenance
from threadpoolctl import threadpool_limits

import rmt_alpha.linear._engine as engine
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


def time_simulator(source, target, alpha, trials: int, dtype: str, devices: int = 1, draws=None) -> dict:
    """First call (tracing + compilation + run), then the median run time of fifteen calls with new alpha grids (a
    call takes about 20 ms: fewer repeats caught the machine's pauses). With `draws` (`draw_trials`), each call is
    followed by one call of the draws alone, and `fraction_of_draws_alone` compares the two medians: taken in
    alternation, they see the same state of the machine."""
    COMPILE_EVENTS.clear()
    start = time.perf_counter()
    first = simulate(source, target, alpha, trials=trials, seed=0, dtype=dtype, devices=devices)
    first_call = time.perf_counter() - start
    compile_s = sum(COMPILE_EVENTS)
    runs, draw_runs = [], []
    for repeat in range(1, 16):
        start = time.perf_counter()
        simulate(source, target, alpha + 0.01 * repeat, trials=trials, seed=repeat, dtype=dtype, devices=devices)
        runs.append(time.perf_counter() - start)
        if draws is not None:
            start = time.perf_counter()
            draws()
            draw_runs.append(time.perf_counter() - start)
    run = statistics.median(runs)
    row = {"dtype": dtype, "devices": devices, "first_call_s": first_call, "compile_s": compile_s, "run_s": run,
           "compile_s_in_repeats": sum(COMPILE_EVENTS) - compile_s,  # 0: new alpha grids do not recompile
           "trials_per_s": trials / run, "mean_accuracy_at_alpha_1": float(np.interp(1.0, alpha,
                                                                                       first.accuracy.mean))}
    if draws is not None:
        row["draws_alone_trials_per_s"] = trials / statistics.median(draw_runs)
        row["fraction_of_draws_alone"] = row["trials_per_s"] / row["draws_alone_trials_per_s"]
    return row


def trial_flops(p: int, n: int, alphas: int) -> float:
    """Floating-point operations of one trial as executed (source from its bidiagonal draw with N > p, target in the
    dual form n < p)."""
    source = 20 * p
    target = 2 * n**2 * p + n**3 / 3 + 4 * n**2 + 8 * n * p
    scores = 10 * p + 12 * alphas
    return source + target + scores


def matmul_gflops(dtype: str, size: int = 1024, repeats: int = 10) -> float:
    """This machine's plain matrix-product rate on one device: `a @ a`, size x size, median of `repeats`."""
    with jax.enable_x64(dtype == "float64"):
        a = jax.device_put(jnp.ones((size, size), dtype) / size, jax.devices()[0])
        product = jax.jit(lambda a: a @ a)
        product(a).block_until_ready()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            product(a).block_until_ready()
            times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


PRNG_IMPLEMENTATIONS = ("threefry2x32", "philox4x32", "philox2x32", "threefry4x32", "rbg", "unsafe_rbg")


def draw_trials(p: int, source_n: int, n: int, trials: int, impl: str = "threefry2x32", draws: str = "simulator"):
    """A compiled call drawing the random numbers of `trials` trials alone (float32, one device, vmapped over trials
    as the simulator is): `draws="simulator"`: 2 p + n p normals, 2 p - 1 gammas (the bidiagonal's chi-squares) and
    a permutation of n labels per trial; `"bartlett"`: the earlier source draw's p (p - 1) / 2 + p + n p normals
    and p gammas. Returns a function of no argument that runs it to completion."""
    if draws == "simulator":
        normals = 2 * p + n * p
        index = jnp.arange(p, dtype=jnp.float32)
        shape = jnp.concatenate([(source_n - 1 - index) / 2.0, (p - 1 - index[:-1]) / 2.0])
    else:
        normals = p * (p - 1) // 2 + p + n * p
        shape = (source_n - 1 - jnp.arange(p, dtype=jnp.float32)) / 2.0
    labels = jnp.where(jnp.arange(n) < (n + 1) // 2, 1.0, -1.0)

    def one(key):
        normal_key, gamma_key, label_key = jax.random.split(key, 3)
        return (jax.random.normal(normal_key, (normals,)).sum() + jax.random.gamma(gamma_key, shape).sum()
                + jax.random.permutation(label_key, labels)[0])

    draw_all = jax.jit(jax.vmap(one))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0, impl=impl), i))(jnp.arange(trials))

    def run():
        draw_all(keys).block_until_ready()

    run()
    return run


def rng_trials_per_s(p: int, source_n: int, n: int, trials: int, impl: str = "threefry2x32",
                     draws: str = "simulator") -> float:
    """Trials/s allowed by the random draws alone (`draw_trials`), the median of 15 calls."""
    run = draw_trials(p, source_n, n, trials, impl, draws)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return trials / statistics.median(times)


def factorisation_cost(p: int, n: int, trials: int, repeats: int = 7) -> dict:
    """The fit of `trials` targets (`linear.fit_affine` vmapped: one n x n or p x p Cholesky solve each), compiled
    once with factorisations one at a time (the CPU choice) and once as one batched LAPACK call (forced here for
    the measurement only; with one fit per program a single batched call is in flight, which cannot deadlock);
    timed alternately, median of `repeats` each. Returns seconds per trial of each."""
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((trials, n, p)), jnp.float32)
    y = jnp.asarray(np.where(rng.random((trials, n)) < 0.5, 1.0, -1.0), jnp.float32)
    w_s = jnp.asarray(rng.standard_normal(p) / np.sqrt(p), jnp.float32)
    fits = {}
    chosen = engine.solve_one_at_a_time
    for name, decision in [("one_at_a_time", chosen), ("batched", lambda platform: False)]:
        engine.solve_one_at_a_time = decision
        try:
            fits[name] = jax.jit(jax.vmap(lambda X, y: engine.fit_affine(w_s, X, y, 1.0)))
            jax.block_until_ready(fits[name](X, y))  # traced and compiled under this decision
        finally:
            engine.solve_one_at_a_time = chosen
    times = {name: [] for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            start = time.perf_counter()
            jax.block_until_ready(fit(X, y))
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) / trials for name, values in times.items()}


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
    p, source_n, n = 400, 2000, 40
    source, target = configuration(p, source_n, n)
    baseline_runs = {}
    for threads in ("default", 1):
        with threadpool_limits(None if threads == "default" else threads):
            start = time.perf_counter()
            baseline = numpy_loop(source, target, alpha, args.baseline_trials, seed=0)
            baseline_runs[f"blas_threads_{threads}_scaled_s"] = ((time.perf_counter() - start) * args.trials
                                                                  / args.baseline_trials)
    baseline_s = min(baseline_runs.values())
    platform = jax.devices()[0].platform
    results = {"provenance": provenance(), "device": platform, "device_count": jax.device_count(),
               "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0], "trials": args.trials,
               "alphas": alpha.size,
               "baseline": {"name": "numpy_loop", "trials_run": args.baseline_trials,
                            "scaled_s": baseline_s, "trials_per_s": args.trials / baseline_s, **baseline_runs,
                            "mean_accuracy_at_alpha_1": float(np.interp(1.0, alpha, baseline.mean(axis=0)))},
               "draws_alone_trials_per_s": {
                   f"{impl}{'' if draws == 'simulator' else ' (Bartlett draws)'}":
                   rng_trials_per_s(p, source_n, n, args.trials, impl, draws)
                   for impl, draws in [*((name, "simulator") for name in PRNG_IMPLEMENTATIONS),
                                       ("threefry2x32", "bartlett")]},
               "matmul_gflops": {dtype: matmul_gflops(dtype) for dtype in ("float32", "float64")},
               "simulator": [time_simulator(source, target, alpha, args.trials, dtype, devices,
                                            draw_trials(p, source_n, n, args.trials))
                             for dtype in ("float32", "float64")
                             for devices in sorted({1, min(4, jax.device_count())})]}
    for row in results["simulator"]:
        row["speedup_vs_baseline"] = baseline_s / row["run_s"]
        row["flops_per_trial"] = trial_flops(p, n, alpha.size)
        row["gflops"] = row["trials_per_s"] * row["flops_per_trial"] / 1e9
        row["fraction_of_matmul"] = row["gflops"] / results["matmul_gflops"][row["dtype"]]

    results["factorisation_choice"] = []
    per_trial_s = 1.0 / results["simulator"][0]["trials_per_s"]  # main workload, float32, one device
    for fit_p, fit_n in [(p, n), (200, 100), (p, 800)]:
        for threads in ("default", 1):
            with threadpool_limits(None if threads == "default" else threads):
                seconds = factorisation_cost(fit_p, fit_n, args.trials if fit_n < 800 else args.trials // 4)
            results["factorisation_choice"].append(
                {"p": fit_p, "n": fit_n, "blas_threads": threads,
                 "one_at_a_time_ms_per_trial": 1e3 * seconds["one_at_a_time"],
                 "batched_ms_per_trial": 1e3 * seconds["batched"],
                 "one_at_a_time_over_batched": seconds["one_at_a_time"] / seconds["batched"],
                 "difference_over_main_trial": (seconds["one_at_a_time"] - seconds["batched"]) / per_trial_s})
    large_source, large_target = configuration(2000, 10000, 200)
    results["p2000"] = time_simulator(large_source, large_target, alpha, args.large_trials, "float32")
    results["p2000"].update(p=2000, source_n=10000, n=200, trials=args.large_trials)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"simulate_speed: {results['trials']} trials x {results['alphas']} alphas, p={p}, N={source_n}, n={n}, "
          f"exact accuracy; {results['device_count']} {platform} device(s), {results['cpu_count']} CPUs, "
          f"load average {results['load_average_1min']:.1f} at start")
    print(f"  numpy_loop (baseline): {baseline_s:8.2f} s  ({args.trials / baseline_s:7.2f} trials/s; timed on "
          f"{args.baseline_trials} trials and scaled linearly to {args.trials}; the faster of default BLAS threads "
          f"{baseline_runs['blas_threads_default_scaled_s']:.1f} s and one BLAS thread "
          f"{baseline_runs['blas_threads_1_scaled_s']:.1f} s)")
    print(f"  matrix product (1024^2, one device): float32 {results['matmul_gflops']['float32']:.1f} GFlop/s, "
          f"float64 {results['matmul_gflops']['float64']:.1f} GFlop/s")
    print("  random draws of a trial alone (trials/s): " + ", ".join(
        f"{name} {rate:.0f}" for name, rate in results["draws_alone_trials_per_s"].items()))
    print("  simulate           devices   run s  trials/s  speed-up  of draws  MFlop/trial  GFlop/s  of matmul  "
          "compile s")
    for row in results["simulator"]:
        print(f"  {row['dtype']:18s} {row['devices']:7d} {row['run_s']:7.3f} {row['trials_per_s']:9.1f} "
              f"{row['speedup_vs_baseline']:8.1f}x {row['fraction_of_draws_alone']:8.1%} "
              f"{row['flops_per_trial'] / 1e6:12.2f} {row['gflops']:8.2f} "
              f"{row['fraction_of_matmul']:9.1%} {row['compile_s']:10.2f}  (recompiles in repeats: "
              f"{row['compile_s_in_repeats']:.2f} s)")
    print("  fit_affine per trial, float32, one device: factorisations one at a time (the CPU choice) vs one batched "
          "call, with LAPACK's (OpenBLAS's) default threads and with one")
    for row in results["factorisation_choice"]:
        form = "dual, n x n kernel" if row["n"] < row["p"] else "primal, p x p Gram"
        print(f"    p={row['p']:4d} n={row['n']:4d} ({form:18s}) BLAS threads {row['blas_threads']!s:7s} "
              f"{row['one_at_a_time_ms_per_trial']:8.3f} ms vs {row['batched_ms_per_trial']:8.3f} ms  (ratio "
              f"{row['one_at_a_time_over_batched']:.2f}; difference {row['difference_over_main_trial']:+.1%} of a "
              "main-workload trial)")
    large = results["p2000"]
    print(f"  simulate float32 at p=2000, N=10000, n=200: {large['trials_per_s']:.2f} trials/s "
          f"({large['trials']} trials in {large['run_s']:.2f} s, compile {large['compile_s']:.2f} s)")
    print(f"  sanity: mean accuracy at alpha=1, baseline {results['baseline']['mean_accuracy_at_alpha_1']:.4f}, "
          f"simulator {results['simulator'][0]['mean_accuracy_at_alpha_1']:.4f}")


if __name__ == "__main__":
    main()
