"""Shared fixtures and helpers: theory/THEORY.md section 3's example, a plain numpy Monte-Carlo, the Monte-Carlo
tolerance (K_SE standard errors) and the power of a Monte-Carlo check (the smallest error it catches)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats

from rmt_alpha import SourceStats, TargetStats, margin_moments, predicted_accuracy
from rmt_alpha.data import cache_root

# Data comes from the data cache (`rmt-alpha fetch ...`). Unless $RMT_ALPHA_DATA says otherwise, the tests also
# search the project's read-only copy beside the checkout (../shared/data, which holds amazon_review/) after it.
_SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not os.environ.get("RMT_ALPHA_DATA") and _SHARED_DATA.is_dir():
    os.environ["RMT_ALPHA_DATA"] = os.pathsep.join([str(cache_root()), str(_SHARED_DATA)])


@pytest.fixture
def example():
    """theory/THEORY.md section 3: p = 400, N = 2000, n = 100, |mu_s| = 1.5, beta = 0.8, |mu_perp| = 0.6, gammas 1."""
    source = SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0)
    target = TargetStats.from_alignment(source, beta=0.8, perp_norm=0.6, n=100, gamma=1.0)
    return source, target


def random_means(p, source_norm, beta, perp_norm, seed):
    """Means in a random basis (the theory only sees norms and inner products)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((p, 2)))
    mu_s = source_norm * basis[:, 0]
    return mu_s, beta * mu_s + perp_norm * basis[:, 1]


# ------------------------------------------------------------------------------------ a plain numpy Monte-Carlo


def _root(stats):
    """`C^{1/2}` of the statistics' covariance (None for the identity)."""
    if stats.cov is None:
        return None
    eigenvalues, eigenvectors = stats.cov
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T


def _draw(rng, trials, n, mean, root):
    """`trials` independent samples of n points `x = y mean + C^{1/2} z` with balanced shuffled labels."""
    labels = np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)
    y = rng.permuted(np.broadcast_to(labels, (trials, n)), axis=1)
    z = rng.standard_normal((trials, n, mean.size))
    return y[..., None] * mean + (z if root is None else z @ root), y


def _ridge(X, y, gammas, w_s=None):
    """Batched `Q (X^T y / n + alpha-part)` for each gamma: the target part `Q X^T y / n` and, with w_s, the source
    part `gamma Q w_s` (each (trials, p)), from a direct batched solve; `X^T X` is formed once (BLAS products)."""
    n, p = X.shape[1:]
    gram = np.matmul(X.transpose(0, 2, 1), X) / n
    data = np.matmul(y[:, None, :], X)[:, 0] / n
    parts = []
    for gamma in gammas:
        rhs = np.stack([data] + ([] if w_s is None else [gamma * w_s]), axis=-1)
        parts.append(np.moveaxis(np.linalg.solve(gram + gamma * np.eye(p), rhs), -1, 0))
    return parts


def batched_monte_carlo(source, target, alpha, gammas, trials, seed, chunk=50):
    """Plain-numpy Monte-Carlo of the linear model (isotropic or with covariances), trials drawn and solved in
    batches. The source is a `SourceStats` (a fresh sample and ridge fit per trial) or a fixed classifier `w_s`.
    Per trial and (gamma, alpha): the exact conditional accuracy Phi(w^T mu_t / sqrt(w^T C_t w)), the margin
    w^T mu_t and the variance w^T C_t w of the decision on a fresh point, and the squared-loss risk
    (1 - w^T mu_t)^2 + w^T C_t w. Returns a dict of arrays of shape (trials, gammas, alphas)."""
    rng = np.random.default_rng(seed)
    c_t = target.cov.matrix() if target.cov is not None else np.eye(target.p)
    source_root, target_root = (_root(source) if isinstance(source, SourceStats) else None), _root(target)
    pieces = []
    for start in range(0, trials, chunk):
        k = min(chunk, trials - start)
        if isinstance(source, SourceStats):
            w_s = _ridge(*_draw(rng, k, source.n, source.mean, source_root), [source.gamma])[0][0]
        else:
            w_s = np.broadcast_to(source, (k, source.size))
        X, y = _draw(rng, k, target.n, target.mean, target_root)
        per_gamma = []
        for target_part, source_part in _ridge(X, y, gammas, w_s):
            w = target_part[:, None, :] + alpha[None, :, None] * source_part[:, None, :]
            per_gamma.append((w @ target.mean, np.sum((w @ c_t) * w, axis=-1)))
        pieces.append([np.stack(values, axis=1) for values in zip(*per_gamma)])
    margin, variance = (np.concatenate(values) for values in zip(*pieces))
    return {"accuracy": scipy.special.ndtr(margin / np.sqrt(variance)), "margin": margin, "variance": variance,
            "risk": (1.0 - margin) ** 2 + variance}


# Monte-Carlo tolerance shared by every theory-vs-simulation test: K_SE standard errors of the trial mean, the
# standard error computed from the trials. A 4-sigma two-sided gap has probability 6.3e-5 per comparison under the
# central limit theorem, so a file of ~100 comparisons raises a false alarm with probability below 1%; seeds are
# fixed, so the outcome is deterministic.
K_SE = 4.0


def standard_error(per_trial, axis=0):
    """Standard error of the mean over `axis` (sample standard deviation with ddof = 1)."""
    per_trial = np.asarray(per_trial, dtype=np.float64)
    return per_trial.std(axis, ddof=1) / np.sqrt(per_trial.shape[axis])


def assert_within_standard_errors(predicted, per_trial, label, *, slack=0.0):
    """Assert |theory - Monte-Carlo mean| <= K_SE standard errors (+ `slack`, a stated finite-size allowance)
    at every point; returns the gaps in standard errors. `per_trial` has the trials on axis 0."""
    mean = np.asarray(per_trial, dtype=np.float64).mean(0)
    stderr = standard_error(per_trial)
    gap = np.abs(np.asarray(predicted) - mean)
    assert np.all(gap <= K_SE * stderr + slack), (
        f"{label}: theory {np.round(predicted, 4)} vs Monte-Carlo {np.round(mean, 4)} "
        f"(gap in standard errors {np.round(gap / stderr, 2)})")
    return gap / stderr


# Power of a Monte-Carlo check. A check `|theory - mean| <= K_SE se + slack` flags a bias b in the theory with
# probability >= 0.9 when |b| >= (K_SE + Z_POWER) se + slack, Z_POWER = Phi^-1(0.9) = 1.28 (the Monte-Carlo mean is
# normal around truth + b, and the opposite tail is negligible). A relative error r in one theory quantity moves
# each checked statistic by r times its sensitivity, to first order; with z = E / sqrt(Var), phi the normal density:
#   accuracy x (1 + r):             accuracy by r Phi(z)
#   E[y g] x (1 + r), Var kept:     accuracy by r phi(z) z,  E[y g] by r E,  E[g^2] by 2 r E^2
#   Var[g] x (1 + r), E kept:       accuracy by -r phi(z) z / 2,  E[g^2] and Var[g] by r Var
#   E[g^2] x (1 + r), E kept:       Var[g] and E[g^2] by r E[g^2],  accuracy by -r phi(z) z E[g^2] / (2 Var)
# A test catches r when any of its comparisons does; `detectable_errors` returns the smallest such r per quantity.
# The finite-size bias of the asymptotic formulas is not noise: where it is not negligible a test passes it as
# `slack`, which adds to the detectable shift.
Z_POWER = 1.2815515655446004
DETECTED_QUANTITIES = ("accuracy", "mean", "variance", "second_moment")


def detectable_shift(stderr, slack=0.0):
    """Smallest bias in a checked statistic that `|theory - mean| <= K_SE stderr + slack` flags with probability
    >= 0.9: `(K_SE + Z_POWER) stderr + slack`."""
    return (K_SE + Z_POWER) * np.asarray(stderr, dtype=np.float64) + slack


def detectable_errors(mean, variance, /, **checks) -> dict:
    """The smallest relative error in the accuracy, `E[y g]`, `Var[g]` and `E[g^2]` of the theory that a set of
    Monte-Carlo comparisons catches with probability >= 0.9 (see the comment above `Z_POWER`).

    Args:
        mean, variance: the theory's `E[y g]` and `Var[g]` at the checked points (broadcast together).
        **checks: for each checked statistic among "accuracy", "mean", "second_moment", "variance", either its
            standard error (array of the points' shape) or a pair `(stderr, slack)`.
    Returns:
        dict quantity -> smallest detectable relative error (inf when no check is sensitive to it).
    """
    mean, variance = np.broadcast_arrays(np.asarray(mean, np.float64), np.asarray(variance, np.float64))
    z = mean / np.sqrt(variance)
    density = scipy.stats.norm.pdf(z)
    second = variance + mean**2
    sensitivity = {
        "accuracy": {"accuracy": scipy.stats.norm.cdf(z)},
        "mean": {"accuracy": density * z, "mean": mean, "second_moment": 2 * mean**2},
        "variance": {"accuracy": density * z / 2, "second_moment": variance, "variance": variance},
        "second_moment": {"accuracy": density * z * second / (2 * variance), "second_moment": second,
                          "variance": second},
    }
    unknown = set(checks) - {"accuracy", "mean", "second_moment", "variance"}
    if unknown:
        raise ValueError(f"unknown checked statistics {sorted(unknown)}")
    result = {}
    for quantity, moves in sensitivity.items():
        best = np.inf
        for statistic, check in checks.items():
            if statistic not in moves:
                continue
            stderr, slack = check if isinstance(check, tuple) else (check, 0.0)
            with np.errstate(divide="ignore"):
                ratio = detectable_shift(stderr, slack) / np.abs(moves[statistic])
            best = min(best, float(np.min(ratio)))
        result[quantity] = best
    return result


def assert_detects(errors: dict, label: str, **required) -> None:
    """Assert that a check's detectable relative errors (from `detectable_errors`) are at most `required`
    (e.g. `variance=0.01`): the test would catch an error of that size with probability >= 0.9."""
    for quantity, bound in required.items():
        assert errors[quantity] <= bound, (
            f"{label}: detects a relative error in {quantity} of {errors[quantity]:.4f} only, not {bound} "
            f"(all: { {k: round(v, 4) for k, v in errors.items()} })")


def check_power(label, mean, variance, /, require=None, **checks) -> dict:
    """`detectable_errors` of a test's comparisons; asserts `require` (e.g. `{"variance": 0.01}`) when given, and
    appends the errors to the JSON-lines file `$RMT_ALPHA_POWER_LOG` when that is set (the table of what each
    Monte-Carlo test can detect is made from it)."""
    errors = detectable_errors(mean, variance, **checks)
    if os.environ.get("RMT_ALPHA_POWER_LOG"):
        with open(os.environ["RMT_ALPHA_POWER_LOG"], "a") as log:
            log.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0], "label": label,
                                  **errors}) + "\n")
    if require:
        assert_detects(errors, label, **require)
    return errors


def compare_with_monte_carlo(source, target, alpha, gammas, result, label, *, accuracy_slack=0.0, require=None):
    """Theory against a `batched_monte_carlo` result: accuracy (within K_SE standard errors + `accuracy_slack`, a
    stated finite-size allowance), `E[y g]` and `Var[g]` (within K_SE standard errors, no slack), at every
    (gamma, alpha). Returns the check's `detectable_errors` (asserting `require`, see `check_power`)."""
    gamma = np.asarray(gammas, dtype=np.float64)[:, None]
    moments = margin_moments(source, target, alpha, gamma=gamma)
    assert_within_standard_errors(predicted_accuracy(source, target, alpha, gamma=gamma), result["accuracy"],
                                  f"{label}: accuracy", slack=accuracy_slack)
    assert_within_standard_errors(moments.mean, result["margin"], f"{label}: E[y g]")
    assert_within_standard_errors(moments.variance, result["variance"], f"{label}: Var[g]")
    return check_power(label, moments.mean, moments.variance, require=require,
                       accuracy=(standard_error(result["accuracy"]), accuracy_slack),
                       mean=standard_error(result["margin"]), variance=standard_error(result["variance"]))
