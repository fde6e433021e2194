"""Speed of the general-covariance theory (theory/THEORY.md section 8) against one Monte-Carlo trial of the same size.

Ours: a 1000-alpha accuracy curve from `predicted_accuracy` with anisotropic `C_s` and `C_t` (power-law spectra in
different random bases): it prepares the pair (the source classifier's moments rotated into the target's eigenbasis,
one p x p product), solves one fixed point and evaluates every alpha at once. The one-off eigen-decomposition that
validates a full covariance matrix when the statistics are built is timed separately.
Baseline: one covariance-aware Monte-Carlo trial giving the same curve for one draw: sample N source and n target
points with the covariances, fit the source ridge classifier, fine-tune for all alphas (one solve, the classifier is
affine in alpha), exact conditional accuracy `Phi(w^T mu_t / sqrt(w^T C_t w))`. A Monte-Carlo curve needs many
trials; the ratio is per trial.

Run: python benchmarks/covariance_speed.py [--sizes 400 2000] [--alphas 1000]
"""

import argparse

import numpy as np
from _timing import median_seconds

import rmt_alpha as ra
from rmt_alpha.simulate._reference import fit_finetuned, fit_ridge_classifier


def power_law(p, exponent, seed):
    basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((p, p)))
    eigenvalues = np.arange(1, p + 1) ** -float(exponent)
    return eigenvalues * p / eigenvalues.sum(), basis


def monte_carlo_trial(source, target, source_cov, target_cov, alphas, rng):
    w_s = fit_ridge_classifier(*ra.make_gaussian_mixture(source.n, source.mean, source_cov, rng), source.gamma)
    X, y = ra.make_gaussian_mixture(target.n, target.mean, target_cov, rng)
    w = fit_finetuned(X, y, target.gamma, w_s, alphas)
    return ra.covariance_conditional_accuracy(w, target.mean, target_cov)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400, 2000])
    parser.add_argument("--alphas", type=int, default=1000)
    args = parser.parse_args()
    alphas = np.linspace(-2.0, 4.0, args.alphas)
    print(f"{args.alphas}-alpha accuracy curve, general covariance, vs one Monte-Carlo trial (eta_s = 0.2, eta = 4)")
    for p in args.sizes:
        rng = np.random.default_rng(p)
        basis, _ = np.linalg.qr(rng.standard_normal((p, 2)))
        mu_s, mu_t = 1.5 * basis[:, 0], 1.2 * basis[:, 0] + 0.8 * basis[:, 1]
        source_cov = ra.Spectrum(*power_law(p, 0.5, p + 1))
        target_cov = ra.Spectrum(*power_law(p, 1.0, p + 2))
        target_matrix = target_cov.matrix()
        build = median_seconds(lambda: ra.TargetStats(mu_t, p // 4, 1.0, cov=target_matrix), repeats=3)
        source = ra.SourceStats(mu_s, 5 * p, 1.0, cov=source_cov)
        target = ra.TargetStats(mu_t, p // 4, 1.0, cov=target_cov)
        curve_time = median_seconds(lambda: ra.predicted_accuracy(source, target, alphas), repeats=5)
        problem = ra.CovarianceProblem(source, target)
        reuse_time = median_seconds(lambda: problem.predicted_accuracy(alphas), repeats=5)
        trial_time = median_seconds(lambda: monte_carlo_trial(source, target, source_cov, target_cov, alphas, rng),
                                    repeats=3)
        curve = ra.predicted_accuracy(source, target, alphas)
        trials = np.array([monte_carlo_trial(source, target, source_cov, target_cov, alphas[::100], rng)
                           for _ in range(5)])
        print(f"p = {p} (N = {source.n}, n = {target.n})")
        print(f"  one Monte-Carlo trial (baseline)        : {trial_time:9.4f} s  (median of 3)")
        print(f"  theory curve, predicted_accuracy        : {curve_time:9.4f} s  (median of 5)  "
              f"ratio trial / theory = {trial_time / curve_time:8.1f}x")
        print(f"  theory curve, prepared CovarianceProblem: {reuse_time:9.4f} s  (median of 5)  "
              f"ratio trial / theory = {trial_time / reuse_time:8.1f}x")
        print(f"  one-off: TargetStats(cov=full matrix)   : {build:9.4f} s  (eigen-decomposition + validation)")
        print(f"  sanity: theory vs mean of 5 trials at 10 alphas: largest gap "
              f"{np.abs(curve[::100] - trials.mean(0)).max():.4f} (trial std {trials.std(0, ddof=1).max():.4f})")


if __name__ == "__main__":
    main()
