"""The semi-empirical choice of alpha from labelled rows and a pseudo-labelled pool (rmt_alpha._semi_empirical_choice,
theory/THEORY.md section 9, theory/choose_alpha_rule.md): the second order without N x N matrices against the dense
one, warm starts, the batched bootstrap replicates against one-at-a-time ones, the choice on THEORY's example where
the law is known, and bad input."""

from pathlib import Path

import numpy as np
import pytest
import scipy.special

from rmt_alpha import TargetStats, optimal_alpha
from rmt_alpha._estimation import bootstrap_weights, fit_labeller
from rmt_alpha._pool_law import pool_alpha
from rmt_alpha._semi_empirical import RowMargins, row_margins, solve_row_fixed_point
from rmt_alpha._semi_empirical_choice import (
    NORM_SPREAD_LIMIT,
    choose_theory,
    gaussian_norm_spread,
    row_norm_spread,
    semi_empirical_choice,
)
from rmt_alpha.simulate._reference import make_gaussian_mixture

COEFFICIENTS = ("mean0", "mean1", "var0", "var1", "var2")


def rows(N, p, seed, *, zero_weights=0):
    """Elliptical rows (a gamma-distributed noise scale per row) and a fixed source classifier: `(V, weights, w_s)`,
    the first `zero_weights` rows weighing 0 (predicted, not in the law)."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(N) < 0.5, 1.0, -1.0)
    X = 0.8 * y[:, None] * np.eye(p)[0] + rng.standard_normal((N, p)) * rng.gamma(2.0, 0.5, (N, 1))
    weights = rng.random(N)
    weights[:zero_weights] = 0.0
    return np.c_[y[:, None] * X, np.ones(N)], weights / weights.sum(), rng.standard_normal(p) / np.sqrt(p)


def assert_same_margins(ours, reference, rtol):
    for name in COEFFICIENTS:
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=rtol, atol=rtol * 1e-4,
                                   err_msg=name)


# ------------------------------------------------------------------------------------ bounded memory, warm start

@pytest.mark.parametrize("zero_weights", [0, 7])
def test_second_order_through_the_features_equals_the_dense_one(zero_weights):
    """N = 600 rows, p = 80, n = 20: the path without N x N matrices (conjugate gradients to a relative residual of
    1e-13 on a system whose condition number is 1 / (1 - rho(K)), a few units here) against the dense solve, to
    1e-8 relative (measured: 3e-11 at worst, on the smallest coefficients)."""
    V, weights, w_s = rows(600, 80, 1, zero_weights=zero_weights)
    dense = row_margins(w_s, V, weights, 20, 1.0)
    through_features = row_margins(w_s, V, weights, 20, 1.0, dense_rows=0)
    assert_same_margins(through_features, dense, 1e-8)


def test_warm_start_reaches_the_same_fixed_point():
    """Started from a perturbed solution (as a bootstrap replicate starts from the data's), the fixed point and the
    margins equal the cold start's: both stop at a relative step of 1e-10, so they agree to about 1e-9 (checked at
    1e-8); the warm start takes fewer steps."""
    V, weights, w_s = rows(400, 60, 2)
    cold = row_margins(w_s, V, weights, 20, 1.0)
    start = cold.fixed_point.delta * np.random.default_rng(0).uniform(0.8, 1.2, weights.size)
    warm = row_margins(w_s, V, weights, 20, 1.0, initial=start)
    np.testing.assert_allclose(warm.fixed_point.delta, cold.fixed_point.delta, rtol=1e-8)
    assert_same_margins(warm, cold, 1e-8)
    assert warm.fixed_point.iterations < cold.fixed_point.iterations


@pytest.mark.slow
def test_ten_thousand_rows_in_bounded_memory():
    """10,000 rows, p = 384: the second order through the features holds O(N p) arrays only (measured: 98 MB at
    peak, where the dense path would need ten N x N matrices of 800 MB each)."""
    import tracemalloc

    V, weights, w_s = rows(10_000, 384, 3)
    tracemalloc.start()
    margins = row_margins(w_s, V, weights, 20, 1.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.all(np.isfinite(margins.var0)) and peak < 400e6, peak


# ------------------------------------------------------------------------------------ replicates

@pytest.fixture(scope="module")
def small_pool():
    """n = 20 labelled and N = 300 unlabelled rows in p = 40 (the law's labels are pseudo-labels)."""
    rng = np.random.default_rng(5)
    mean = np.r_[1.0, 0.5, np.zeros(38)]
    y = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
    pool_y = np.where(rng.random(300) < 0.5, 1.0, -1.0)
    X = y[:, None] * mean + rng.standard_normal((20, 40)) * rng.gamma(2.0, 0.5, (20, 1))
    U = pool_y[:, None] * mean + rng.standard_normal((300, 40)) * rng.gamma(2.0, 0.5, (300, 1))
    return np.r_[0.7, 0.1, np.zeros(38)] + 0.1 * rng.standard_normal(40) / np.sqrt(40), X, y, U


def test_batched_replicates_equal_one_at_a_time(small_pool):
    """Every replicate of `replicates="rows"` against its own `RowMargins`, built one at a time: the data's rows
    with that replicate's weights, and the means' signs flipped where its pseudo-label differs from the data's.
    Curves: the same sums in another order (1e-12). alpha*: the batched golden section against Brent's method
    (`RowMargins.optimal_alpha`), both stopping at a bracket of about 1e-6 relative (checked at 1e-5)."""
    w_s, X, y, U = small_pool
    choice = semi_empirical_choice(w_s, X, y, U, bootstrap=40, random_state=3)
    weights = bootstrap_weights(y, U.shape[0], 40, np.random.default_rng(3))
    labels = np.where(fit_labeller(X, y, w_s, 1.0, weights.labelled).margins(U, X, np.ones(41)) >= 0, 1.0, -1.0)
    data = choice.margins
    assert np.any(labels[1:] != labels[0]), "no pseudo-label flips: the test would not test them"
    for b in range(41):
        sign = np.where(labels[b] == labels[0], 1.0, -1.0)
        law = weights.unlabelled[b] / weights.unlabelled[b].sum()
        alone = RowMargins(sign * data.mean0, sign * data.mean1, data.var0, data.var1, data.var2, law, None)
        np.testing.assert_allclose(choice.accuracy[b], alone.accuracy(choice.grid), rtol=0, atol=1e-12)
        if np.isfinite(choice.alpha[b]):
            assert abs(choice.alpha[b] - alone.optimal_alpha()) <= 1e-4 * max(1.0, abs(choice.alpha[b])), b
        else:
            assert choice.alpha[b] == alone.optimal_alpha()
    assert choice.alpha[0] == pool_alpha(w_s, X, y, U).alpha
    shared = semi_empirical_choice(w_s, X, y, U, bootstrap_counts=weights)   # the same replicates, passed in
    np.testing.assert_array_equal(shared.accuracy, choice.accuracy)


def test_exact_replicates_equal_separate_solves(small_pool):
    """`replicates="exact"` (each replicate's fixed point warm-started from the data's) against `row_margins` run
    cold on each replicate's law: 1e-8 relative, as the warm-start test."""
    w_s, X, y, U = small_pool
    choice = semi_empirical_choice(w_s, X, y, U, bootstrap=3, replicates="exact", random_state=4)
    weights = bootstrap_weights(y, U.shape[0], 3, np.random.default_rng(4))
    labels = np.where(fit_labeller(X, y, w_s, 1.0, weights.labelled).margins(U, X, np.ones(4)) >= 0, 1.0, -1.0)
    for b in range(4):
        law = weights.unlabelled[b] / weights.unlabelled[b].sum()
        alone = row_margins(w_s, np.c_[labels[b][:, None] * U, np.ones(U.shape[0])], law, 20, 1.0)
        np.testing.assert_allclose(choice.accuracy[b], alone.accuracy(choice.grid), rtol=1e-8)
        assert choice.alpha[b] == pytest.approx(alone.optimal_alpha(), rel=1e-6)


# ------------------------------------------------------------------------------------ the choice where the law is known

P, SOURCE_N, N, POOL, GAMMA = 400, 2000, 20, 1000, 1.0
MU_S = 1.5 * np.eye(P)[0]
MU_T = 0.8 * MU_S + 0.6 * np.eye(P)[1]        # theory/THEORY.md section 3's example, as tests/test_choose.py


def test_choice_near_the_true_alpha_star_on_theory_example():
    """THEORY's example (Gaussian classes, true alpha* = 1.70 for this source draw), n = 20 labelled rows and a pool
    of 1000, 12 draws: the pool pseudo-labelled by the alpha = 1 classifier leans towards the source, so alpha* is
    biased upwards (measured over 20 draws: median 2.12, +24%); the accuracy curve is flat there, so the accuracy
    at the chosen alpha is within 0.2 pt of the accuracy at the true alpha* (measured: 0.03 pt below, standard error
    about 0.02 pt) and above alpha = 1 on average (measured: +0.50 pt, standard error 0.10 pt)."""
    X_s, y_s = make_gaussian_mixture(SOURCE_N, MU_S, random_state=0)
    w_s = np.linalg.solve(X_s.T @ X_s / SOURCE_N + GAMMA * np.eye(P), X_s.T @ y_s / SOURCE_N)
    true_alpha = float(optimal_alpha(w_s, TargetStats(MU_T, N, GAMMA)))
    rng = np.random.default_rng(1)
    found = []
    for _ in range(12):
        X, y = make_gaussian_mixture(N, MU_T, random_state=rng.integers(2**31))
        U = make_gaussian_mixture(POOL, MU_T, random_state=rng.integers(2**31))[0]
        alpha = semi_empirical_choice(w_s, X, y, U, bootstrap=0).alpha[0]
        Q = np.linalg.inv(X.T @ X / N + GAMMA * np.eye(P))
        target_part, source_part = Q @ X.T @ y / N, GAMMA * Q @ w_s
        accuracy = [scipy.special.ndtr((target_part + a * source_part) @ MU_T
                                       / np.linalg.norm(target_part + a * source_part))
                for a in (alpha, 1.0, true_alpha)]
        found.append((alpha, *accuracy))
    alpha, chosen, at_one, at_true = np.array(found).T
    assert abs(np.median(alpha) / true_alpha - 1) <= 0.35, (np.median(alpha), true_alpha)
    assert chosen.mean() >= at_true.mean() - 0.002, (chosen.mean(), at_true.mean())
    assert chosen.mean() > at_one.mean(), (chosen.mean(), at_one.mean())


# ------------------------------------------------------------------------------------ which theory

def test_choose_theory_follows_the_spread_of_the_row_norms():
    """Three kinds of rows in p = 384: Gaussian (norm spread about 1 / sqrt(2 p) = 0.04, as `gaussian_norm_spread`
    predicts) go to the covariance-aware theory, whose assumptions they meet; a log-normal scale per row of sigma
    0.2 (spread about 0.2, five times a Gaussian's, as MiniLM features: 0.18 to 0.23) to the semi-empirical one;
    sigma 0.5 (spread about 0.5, as bag-of-words rows whose norm follows the review's length) to the
    covariance-aware one. The spread is the closed form on two rows."""
    rng = np.random.default_rng(0)
    gaussian = rng.standard_normal((1000, 384))
    scales = [rng.lognormal(0.0, sigma, (1000, 1)) for sigma in (0.2, 0.5)]
    choices = [choose_theory(rows) for rows in (gaussian, gaussian * scales[0], gaussian * scales[1])]
    assert [choice.theory for choice in choices] == ["covariance", "semi-empirical", "covariance"]
    assert choices[0].norm_spread == pytest.approx(1 / np.sqrt(2 * 384), rel=0.1)
    assert choices[0].gaussian_spread == pytest.approx(choices[0].norm_spread, rel=0.1)
    assert choices[1].norm_spread > 4 * choices[1].gaussian_spread and choices[2].norm_spread > NORM_SPREAD_LIMIT
    assert row_norm_spread(np.array([[3.0, 4.0], [0.0, 10.0]])) == pytest.approx(2.5 / 7.5, abs=1e-15)
    assert "Gaussian-like" in choices[0].reason and "0.3" in choices[2].reason


def test_gaussian_norm_spread_is_the_same_from_either_gram_matrix():
    # N > p uses the p x p Gram matrix, N < p the N x N one: the same number (trace identities)
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((60, 40)) @ rng.standard_normal((40, 40)) + 0.5
    wide = np.c_[rows, np.zeros((60, 40))]      # 80 columns > 60 rows: the N x N path, same covariance spectrum
    assert gaussian_norm_spread(wide) == pytest.approx(gaussian_norm_spread(rows), rel=1e-12)


@pytest.mark.parametrize("U, limit, message", [
    (np.ones(5), 0.3, r"U must be a 2-D array \(rows, features\) with at least 2 row\(s\)"),
    (np.full((3, 2), np.inf), 0.3, "U"),
    (np.ones((3, 2)), 0.0, "limit"),
])
def test_choose_theory_refuses_bad_input(U, limit, message):
    with pytest.raises((ValueError, TypeError), match=message):
        choose_theory(U, limit=limit)


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("change, message", [
    ({"X": np.ones((20, 39))}, r"X must have 40 columns \(the width of w_s\)"),
    ({"y": np.r_[np.ones(19), -1.0]}, "y must hold at least 2 rows of each class"),
    ({"y": np.full(20, 2.0)}, "y"),
    ({"U": np.ones((10, 40))}, "U must have more rows than X"),
    ({"U": np.full((300, 40), np.nan)}, "U"),
    ({"gamma": 0.0}, "gamma"),
    ({"bootstrap": -1}, "bootstrap"),
    ({"replicates": "linear"}, "replicates must be one of"),
    ({"labels": "fuzzy"}, "labels must be one of"),
    ({"grid": []}, "grid must hold at least one alpha"),
    ({"bootstrap_counts": np.ones((3, 20))}, "bootstrap_counts must be the Weights"),
])
def test_bad_input_is_refused_naming_the_parameter(small_pool, change, message):
    w_s, X, y, U = small_pool
    arguments = {"X": X, "y": y, "U": U, **change}
    with pytest.raises((ValueError, TypeError), match=message):
        semi_empirical_choice(w_s, arguments.pop("X"), arguments.pop("y"), arguments.pop("U"), bootstrap=2,
                              **arguments)


def test_bad_warm_start_is_refused():
    V, weights, _ = rows(50, 5, 0)
    with pytest.raises(ValueError, match="initial must hold 50 non-negative numbers"):
        solve_row_fixed_point(V, weights, 10, 1.0, initial=np.ones(49))


def test_the_rule_notes_spread_table_on_gaussian_and_amazon_rows():
    """theory/choose_alpha_rule.md's table (benchmarks/pool_norm_spread.py): THEORY's Gaussian example and the
    12 Amazon pools (3 honest splits each, n = 20) at the digits shown; the MiniLM rows need the encoder."""
    from rmt_alpha.data import amazon_pairs
    from rmt_alpha.data._domains import amazon_directory, load_amazon
    from rmt_alpha.experiments._preprocessing import preprocess
    from rmt_alpha.experiments._splits import draw_splits

    note = (Path(__file__).resolve().parents[1] / "theory" / "choose_alpha_rule.md").read_text(encoding="utf-8")
    rng = np.random.default_rng(0)
    mean = np.r_[1.2, 0.6, np.zeros(398)]
    gaussian = choose_theory(rng.choice([-1.0, 1.0], 1000)[:, None] * mean + rng.standard_normal((1000, 400)))
    row = f"| Gaussian, p = 400 (THEORY's example) | {gaussian.norm_spread:.3f} | {gaussian.gaussian_spread:.3f} | "
    assert row + f"{gaussian.norm_spread / gaussian.gaussian_spread:.2f} | covariance-aware |" in note
    try:
        amazon_directory()
    except FileNotFoundError:
        pytest.skip("Amazon Review data absent")
    domains, found = load_amazon(), []
    for source, target in amazon_pairs():
        rows = domains[target].X.shape[0]
        splits = draw_splits(rows, 20, min(1000, (rows - 20) // 2), 3, 0, labels=domains[target].y)
        pools = preprocess(domains[source], domains[target], splits, source_gamma=1.0)[1].X_pool
        choices = [choose_theory(pool) for pool in pools]
        spread, base = (np.mean([getattr(c, key) for c in choices]) for key in ("norm_spread", "gaussian_spread"))
        found.append((spread, base, spread / base))
        assert {c.theory for c in choices} == {"covariance"}
    low, high = np.min(found, axis=0), np.max(found, axis=0)
    assert (f"| Amazon, 12 pairs | {low[0]:.3f} to {high[0]:.3f} | {low[1]:.3f} to {high[1]:.3f} | "
            f"{low[2]:.2f} to {high[2]:.2f} | covariance-aware (above 0.3) |") in note
