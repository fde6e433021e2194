"""The experiments' preprocessing against scikit-learn: standardisation (batched over splits) and source whitening."""

import numpy as np
import pytest
import sklearn.covariance
import sklearn.preprocessing

from rmt_alpha.experiments._preprocessing import fit_standardization, source_whitening
from rmt_alpha.simulate._reference import make_gaussian_mixture


def test_standardization_matches_scikit_learn_and_batches():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 50, 6)) * [1, 2, 3, 4, 5, 0] + 7  # the last feature is constant
    scaling = fit_standardization(X)
    for split in range(3):
        reference = sklearn.preprocessing.StandardScaler().fit(X[split])
        np.testing.assert_allclose(scaling.apply(X)[split],
                                   reference.transform(X[split]), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="n_samples >= 2"):
        fit_standardization(X[:, :1])


def test_source_whitening_inverts_the_shrunk_covariance():
    rng = np.random.default_rng(4)
    X, y = make_gaussian_mixture(300, np.full(8, 0.3), np.diag(np.linspace(0.5, 4, 8)), random_state=rng)
    W = source_whitening(X, y)
    residuals = X - np.where(y[:, None] > 0, X[y > 0].mean(0), X[y < 0].mean(0))
    shrunk = sklearn.covariance.LedoitWolf(assume_centered=True).fit(residuals).covariance_
    np.testing.assert_allclose(W @ shrunk @ W, np.eye(8), atol=1e-10)
    with pytest.raises(ValueError, match="source_y must hold 300 labels"):
        source_whitening(X, np.ones(299))
    with pytest.raises(ValueError, match="source_y must contain both classes, got only -1"):
        source_whitening(X, np.zeros(300))
    np.testing.assert_array_equal(source_whitening(X, (y + 1) / 2), W)   # 0/1 labels are the signed ones
