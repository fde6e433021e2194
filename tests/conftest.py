"""Shared fixtures: THEORY.md section 3's example and a few configurations across eta < 1 and eta > 1."""

import numpy as np
import pytest

from rmt_alpha import SourceStats, TargetStats


@pytest.fixture
def example():
    """THEORY.md section 3: p = 400, N = 2000, n = 100, |mu_s| = 1.5, beta = 0.8, |mu_perp| = 0.6, gammas 1."""
    source = SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0)
    target = TargetStats.from_alignment(p=400, source_norm=1.5, beta=0.8, perp_norm=0.6, n=100, gamma=1.0)
    return source, target


def random_means(p, source_norm, beta, perp_norm, seed):
    """Means in a random basis (the theory only sees norms and inner products)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((p, 2)))
    mu_s = source_norm * basis[:, 0]
    return mu_s, beta * mu_s + perp_norm * basis[:, 1]
