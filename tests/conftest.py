"""Shared fixtures: theory/THEORY.md section 3's example and a few configurations across eta < 1 and eta > 1."""

import os
from pathlib import Path

import numpy as np
import pytest

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
    target = TargetStats.from_alignment(p=400, source_norm=1.5, beta=0.8, perp_norm=0.6, n=100, gamma=1.0)
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
