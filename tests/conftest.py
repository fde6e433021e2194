"""Shared fixtures: theory/THEORY.md section 3's example and a few configurations across eta < 1 and eta > 1."""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from rmt_alpha import SourceStats, TargetStats
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


def detectable_errors(mean, variance, **checks) -> dict:
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
