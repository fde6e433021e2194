"""Tests of the JAX simulator (rmt_alpha.simulate) and `rmt-alpha validate`.

Tolerances:
- Monte-Carlo vs closed form: |gap| < K_SE standard errors, the standard error computed from the trials. K_SE = 4:
  a 4-sigma two-sided gap has probability 6e-5 per comparison, so over the ~60 comparisons below a false alarm
  has probability under 0.4%; the seeds are fixed, so the outcome is deterministic. Configurations use p >= 200,
  where the closed forms' finite-size bias (O(1/p), theory/THEORY.md: about 0.003 at p = 300) is below one standard
  error.
- Same arithmetic in another form (affine shortcut vs direct solve, JAX vs numpy reference, float64): 1e-9
  relative, a few thousand ulps of float64 for systems with condition number below 1e3.
- float32 vs float64 on the same draws: 1e-4 absolute in accuracy (float32 epsilon 1.2e-7 times the condition
  number of the Gram matrix, < 1e3 here).
"""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from rmt_alpha import linear, simulate as sim
from rmt_alpha._accuracy import margin_moments, predicted_accuracy
from rmt_alpha._prepare import prepare as prepare
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha.cli import main as cli_main
from rmt_alpha.simulate import _montecarlo, _reference as reference
from tests.conftest import K_SE, assert_within_standard_errors, check_power, standard_error

ALPHA = np.array([-1.0, 0.0, 1.0, 2.0, 4.0])


def _given_w_s(p: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    w_s = 0.3 * rng.standard_normal(p) / np.sqrt(p)
    w_s[0] += 0.5
    return w_s


CONFIGS = {
    # name: (source, target); eta = p / n below and above 1, positive and negative beta, source fit in the
    # sufficient-statistics form (N > p) and a given w_s (the sampled dual form, N <= p, with 300 trials against
    # the closed forms: tests/simulate/test_devices.py, in a subprocess).
    "eta<1, beta>0": (SourceStats.from_norm(200, 1.5, 1000, 1.0),
                      TargetStats.from_alignment(SourceStats.from_norm(200, 1.5, 1000, 1.0), 0.8, 0.6, 400, 1.0)),
    "eta>1, beta<0": (SourceStats.from_norm(200, 1.5, 1000, 0.5),
                      TargetStats.from_alignment(SourceStats.from_norm(200, 1.5, 1000, 0.5), -0.5, 0.8, 80, 2.0)),
    "given w_s, eta>1": (_given_w_s(200),
                         TargetStats.from_alignment(SourceStats.from_norm(200, 1.5, 1000, 1.0), 0.8, 0.6, 80, 1.0)),
}


SMALL = (SourceStats.from_norm(30, 1.5, 120, 0.5),
         TargetStats.from_alignment(SourceStats.from_norm(30, 1.5, 120, 0.5), -0.5, 0.8, 20, 2.0))
TRIALS = 300  # closed-form checks: standard errors of about 0.002 in accuracy


@functools.cache
def _simulated(name, n_test=None):
    """One cached run per configuration (the CLI tests reuse the compiled shapes of "eta>1, beta<0")."""
    source, target = CONFIGS[name]
    return sim.simulate(source, target, ALPHA, trials=TRIALS, seed=11, n_test=n_test)


def _gap_in_se(measured, predicted):
    return (measured.mean - predicted) / measured.stderr


# Power (probability >= 0.9, 300 trials; the 1% in Var[g] and E[g^2] asserted for the first configuration):
# "eta<1, beta>0" catches a relative error of 0.1% in the accuracy, 0.39% in E[y g], 0.77% in Var[g], 0.32% in
# E[g^2]; "eta>1, beta<0" 0.32%, 1.1%, 0.64%, 0.48%; "given w_s, eta>1" 0.24%, 0.83%, 1.6%, 0.83% (before, without
# the Var[g] comparison: Var 0.77%, 1.8%, 1.7%; E[g^2] 0.32%, 1.4%, 0.83%). A source with N < p:
# tests/simulate/test_devices.py (JAX, in a subprocess) and tests/test_theory.py (numpy).
@pytest.mark.parametrize("name", list(CONFIGS))
def test_simulation_matches_closed_forms(name):
    """Accuracy, E[y g], E[g^2] and Var[g] (per trial E[g^2] - E[y g]^2 = |w|^2, exact given w) within K_SE
    standard errors of predicted_accuracy and margin_moments."""
    source, target = CONFIGS[name]
    result = _simulated(name)
    moments = margin_moments(source, target, ALPHA)
    variance = result.margin_second_moment.per_trial - result.margin_mean.per_trial ** 2
    for measured, predicted in [(result.accuracy, predicted_accuracy(source, target, ALPHA)),
                                (result.margin_mean, moments.mean),
                                (result.margin_second_moment, moments.second_moment)]:
        gaps = _gap_in_se(measured, predicted)
        assert np.all(np.abs(gaps) < K_SE), (name, gaps)
    assert_within_standard_errors(moments.variance, variance, f"{name}: Var[g]")
    assert np.all(result.accuracy.stderr > 0)
    check_power(name, moments.mean, moments.variance,
                require={"variance": 0.01, "second_moment": 0.01} if name == "eta<1, beta>0" else None,
                accuracy=result.accuracy.stderr, mean=result.margin_mean.stderr,
                second_moment=result.margin_second_moment.stderr, variance=standard_error(variance))


def test_test_set_accuracy_is_unbiased_for_exact_accuracy():
    """Same seed, same training draws: a finite test set's accuracy minus the exact conditional accuracy has mean
    zero trial by trial, so the paired differences must average to 0 within K_SE of their standard error."""
    exact, tested = _simulated("eta>1, beta<0"), _simulated("eta>1, beta<0", n_test=200)
    for exact_curve, tested_curve in zip(exact, tested):
        difference = tested_curve.per_trial - exact_curve.per_trial
        stderr = difference.std(axis=0, ddof=1) / np.sqrt(len(difference))
        assert np.all(np.abs(difference.mean(axis=0)) < K_SE * stderr)
        assert np.all(stderr > 0)


@pytest.mark.parametrize("source_kind", ["given w_s", "sampled source (N <= p)"])
def test_trial_matches_numpy_reference_on_its_own_draws(source_kind):
    """A whole `trial` against the numpy reference fed the very arrays the trial drew (float64)."""
    p, n, source_n, gamma, source_gamma = 50, 30, 40, 0.8, 1.3
    source_mean, target_mean = np.r_[1.2, np.zeros(p - 1)], np.r_[0.9, 0.6, np.zeros(p - 2)]
    key = jax.random.key(3)
    with jax.enable_x64(True):
        source_key, target_key, _ = jax.random.split(key, 3)
        if source_kind == "given w_s":
            w_s, source_vector, static_n = _given_w_s(p), _given_w_s(p), None
        else:
            Xs, ys = map(np.asarray, sim.draw_mixture(source_key, source_n, jnp.asarray(source_mean)))
            w_s, source_vector, static_n = reference.fit_ridge_classifier(Xs, ys, source_gamma), source_mean, source_n
        X, y = map(np.asarray, sim.draw_mixture(target_key, n, jnp.asarray(target_mean)))
        scores = sim.trial(key, jnp.asarray(source_vector), jnp.asarray(target_mean), jnp.asarray(ALPHA),
                           source_gamma, gamma, source_n=static_n, n=n, n_test=None)
    assert X.dtype == np.float64 and sorted(set(y.tolist())) == [-1.0, 1.0] and y.sum() == 0
    expected = reference.conditional_accuracy(reference.fit_finetuned(X, y, gamma, w_s, ALPHA), target_mean)
    np.testing.assert_allclose(scores.accuracy, expected, rtol=1e-9)


def test_sufficient_statistics_source_has_the_sampled_source_distribution():
    """`source_classifier` with N > p (the bidiagonal draw of the Wishart's action on the class mean) against
    fitting an explicitly drawn sample: the laws of `<w_s, mu_s>`, `|w_s|^2` and a coordinate orthogonal to mu_s
    agree (means within K_SE combined standard errors; a Kolmogorov-Smirnov test does not reject at the 1e-3
    level). N = p + 2 makes the Wishart's small eigenvalues, and so w_s, sensitive to the degrees of freedom: the
    slip chi(N - i) -> chi(N - i + 1) on B's diagonal moves the mean of `<w_s, mu_s>` by 5.4 combined standard
    errors, chi(p - i) -> chi(p - i + 1) on its upper diagonal by 7.3 (measured), so this test fails for either."""
    p, source_n, gamma = 10, 12, 0.5
    with jax.enable_x64(True):
        mean = jnp.asarray(np.r_[1.0, np.zeros(p - 1)])
        keys = jax.random.split(jax.random.key(0), 4000)
        direct = jax.jit(jax.vmap(lambda k: sim.source_classifier(k, mean, source_n, gamma)))(keys)
        sampled = jax.jit(jax.vmap(lambda k: linear.ridge_classifier(*sim.draw_mixture(k, source_n, mean), gamma)))(
            jax.random.split(jax.random.key(1), 4000))
        statistics = [(np.asarray(w @ mean), np.asarray(jnp.sum(w * w, axis=1)), np.asarray(w[:, 1]))
                      for w in (direct, sampled)]
    for a, b in zip(*statistics):
        assert np.all(np.isfinite(a))
        stderr = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < K_SE * stderr
        assert scipy.stats.ks_2samp(a, b).pvalue > 1e-3


def test_float32_and_float64_see_the_same_draws():
    source, target = SMALL
    single = sim.simulate(source, target, ALPHA, trials=7, seed=2, dtype="float32")
    double = sim.simulate(source, target, ALPHA, trials=7, seed=2, dtype=np.float64)
    np.testing.assert_allclose(single.accuracy.per_trial, double.accuracy.per_trial, rtol=0, atol=1e-4)
    assert not jax.config.jax_enable_x64  # the session's precision setting is untouched


def test_numbers_do_not_depend_on_chunking():
    source, target = SMALL
    whole = sim.simulate(source, target, ALPHA, trials=7, seed=4)
    chunked = sim.simulate(source, target, ALPHA, trials=7, seed=4, chunk_trials=3, progress=True)
    np.testing.assert_allclose(chunked.accuracy.per_trial, whole.accuracy.per_trial, rtol=0, atol=1e-6)
    first_three = sim.simulate(source, target, ALPHA, trials=3, seed=4)  # trial i's key depends on i only
    np.testing.assert_allclose(first_three.accuracy.per_trial, whole.accuracy.per_trial[:3], rtol=0, atol=1e-6)
    curve = sim.empirical_accuracy(source, target, ALPHA, trials=7, seed=4, chunk_trials=3, progress=True)
    np.testing.assert_array_equal(curve.per_trial, chunked.accuracy.per_trial)  # the accuracy part of simulate


def test_new_values_of_traced_arguments_do_not_recompile():
    source, target = SMALL
    sim.simulate(source, target, ALPHA, trials=7, seed=0)
    compiled = _montecarlo._simulate_trials._cache_size()
    other_target = TargetStats.from_alignment(SourceStats.from_norm(30, 1.5, 120, 0.5), 0.3, 1.0, 20, 0.25)
    other_source = SourceStats.from_norm(30, 0.7, 120, 3.0)
    sim.simulate(other_source, other_target, ALPHA + 0.5, trials=7, seed=9)  # new alpha, gamma, means, seed
    assert _montecarlo._simulate_trials._cache_size() == compiled
    sim.simulate(source, target, np.r_[ALPHA, 5.0], trials=7, seed=0)  # a new grid shape does compile
    assert _montecarlo._simulate_trials._cache_size() == compiled + 1


# ------------------------------------------------------------------------------------------------ bad input

SOURCE, TARGET = SMALL


@pytest.mark.parametrize("kwargs, error, message", [
    ({"trials": 0}, ValueError, "trials"),
    ({"trials": 2.5}, ValueError, "trials"),
    ({"trials": "10"}, TypeError, "trials"),
    ({"trials": 4, "n_test": 0}, ValueError, "n_test"),
    ({"trials": 4, "seed": -1}, ValueError, "seed"),
    ({"trials": 4, "dtype": "float16"}, ValueError, "dtype"),
    ({"trials": 4, "devices": 5}, ValueError, "devices"),
    ({"trials": 4, "alpha": [0.0, np.nan]}, ValueError, "alpha"),
    ({"trials": 4, "alpha": np.zeros((2, 2))}, ValueError, "alpha"),
    ({"trials": 4, "source": np.ones(7)}, ValueError, "dimension p"),
    ({"trials": 4, "source": TARGET}, TypeError, "source"),
    ({"trials": 4, "target": SOURCE}, TypeError, "target"),
])
def test_simulate_rejects_bad_input_before_compiling(kwargs, error, message):
    arguments = {"source": SOURCE, "target": TARGET, "alpha": ALPHA, **kwargs}
    before = _montecarlo._simulate_trials._cache_size()
    with pytest.raises(error, match=message):
        sim.simulate(arguments.pop("source"), arguments.pop("target"), arguments.pop("alpha"), **arguments)
    assert _montecarlo._simulate_trials._cache_size() == before


@pytest.mark.parametrize("n_samples", [-1, 0, 2.7, "3"])
def test_reference_mixtures_refuse_a_size_that_is_not_a_count(n_samples):
    for make in (reference.make_mixture, reference.make_gaussian_mixture):
        with pytest.raises((ValueError, TypeError), match="n_samples must be a whole number"):
            make(n_samples, np.ones(3))


def test_non_finite_results_raise_instead_of_returning_nan():
    source, target = CONFIGS["given w_s, eta>1"]
    tiny = TargetStats(target.mean * 1e20, target.n, target.gamma)  # overflows float32
    with pytest.raises(ValueError, match="non-finite"):
        sim.simulate(source, tiny, ALPHA, trials=2, seed=0)


# ------------------------------------------------------------------------------------------------ CLI

def test_cli_validate_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "validate.png"
    cli_main(["validate", "--p", "200", "--source-n", "1000", "--n", "80", "--trials", str(TRIALS), "--num", "5",
              "--alpha-min", "0", "--alpha-max", "3", "--json", "--plot", str(plot)])
    payload = json.loads(capsys.readouterr().out)
    rows = payload["rows"]
    assert len(rows) == 5 and payload["trials"] == TRIALS
    for row in rows:
        assert abs(row["measured"] - row["predicted"]) < K_SE * row["stderr"]
        assert row["gap_in_stderr"] == pytest.approx((row["measured"] - row["predicted"]) / row["stderr"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [path.name for path in tmp_path.iterdir()] == ["validate.png"]  # no temp file left behind


def test_cli_validate_text_and_errors(capsys):
    cli_main(["validate", "--p", "200", "--source-n", "1000", "--n", "80", "--trials", str(TRIALS), "--num", "5",
              "--seed", "3"])
    out = capsys.readouterr().out
    assert "theory" in out and "gap" in out and len(out.strip().splitlines()) >= 5
    with pytest.raises(SystemExit):
        cli_main(["validate", "--trials", "0"])
    assert "trials" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- several sources


def test_several_fixed_sources_are_the_combined_source_trial_by_trial():
    """K fixed classifiers at alpha vectors: per trial the same numbers as the one fixed source `W alpha` at
    alpha = 1 (the fine-tuning sees the sources only through `W alpha`; the target draws use the same keys)."""
    e = np.eye(60)
    target = TargetStats(1.5 * e[0], 40, 1.0)
    W = [0.3 * e[3] + 0.2 * e[0], 0.4 * e[1], -0.2 * e[0] + 0.1 * e[2]]
    alphas = np.array([[0.7, 1.3, 0.0], [1.0, -0.5, 2.0]])
    several = sim.simulate(W, target, alphas, trials=12, seed=3, n_test=30)
    for j, alpha in enumerate(alphas):
        one = sim.simulate(np.stack(W, axis=1) @ alpha, target, [1.0], trials=12, seed=3, n_test=30)
        for field in ("accuracy", "margin_mean", "margin_second_moment"):
            np.testing.assert_allclose(getattr(several, field).per_trial[:, j], getattr(one, field).per_trial[:, 0],
                                       rtol=1e-5, atol=1e-6, err_msg=field)


def test_several_ridge_sources_match_the_theory():
    """Two independent ridge sources drawn afresh every trial (N = 2p, aligned and opposed means) and a fixed one,
    p = 200, n = 50, 400 trials: accuracy, E[y g] and E[g^2] within K_SE standard errors of section 10.1 at five alpha
    vectors, alpha* included (measured: within 1.37; printed with -s)."""
    p = 200
    e = np.eye(p)
    mu = 1.5 * e[0]
    sources = [SourceStats(0.8 * mu + e[1], 2 * p, 1.0), SourceStats(-0.5 * mu + e[2], 2 * p, 1.0),
               0.3 * e[3] + 0.2 * e[0]]
    target = TargetStats(mu, 50, 1.0)
    problem = prepare(sources, target)
    alphas = np.vstack([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 0.0, 1.0], [1.0, -1.0, 1.0], problem.optimal_alpha()])
    result = sim.simulate(sources, target, alphas, trials=400, seed=1)
    moments = problem.margin_moments(alphas)
    for field, predicted in [("accuracy", problem.predicted_accuracy(alphas)), ("margin_mean", moments.mean),
                             ("margin_second_moment", moments.second_moment)]:
        curve = getattr(result, field)
        print(f"several ridge sources, {field}: gaps in standard errors "
              f"{np.round(np.abs(predicted - curve.mean) / curve.stderr, 2)}")
        assert_within_standard_errors(predicted, curve.per_trial, field)


def test_several_sources_bad_input_names_the_parameter():
    e = np.eye(60)
    target = TargetStats(1.5 * e[0], 40, 1.0)
    with pytest.raises(ValueError, match=r"alpha must have shape \(k, 2\)"):
        sim.simulate([e[0], e[1]], target, [1.0, 2.0, 3.0], trials=2)
    with pytest.raises(ValueError, match=r"source\[1\] \(the classifier w_s\) must have length 60"):
        sim.simulate([e[0], np.ones(3)], target, [[1.0, 1.0]], trials=2)
    with pytest.raises(TypeError, match=r"source\[0\] must be a SourceStats or a 1-D classifier"):
        sim.simulate([target], target, [[1.0]], trials=2)
    with pytest.raises(ValueError, match="non-empty list"):
        sim.simulate([], target, [[1.0]], trials=2)
