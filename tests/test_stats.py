"""SourceStats / TargetStats validation: every bad input gets an error naming the parameter and the value."""

import numpy as np
import pytest

from rmt_alpha import SourceStats, TargetStats, alignment, optimal_alpha, predicted_accuracy


@pytest.mark.parametrize("cls", [SourceStats, TargetStats])
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mean=[1.0, 0.0], n=0, gamma=1.0), ValueError, r"n must be a whole number >= 1, got 0"),
    (dict(mean=[1.0, 0.0], n=-5, gamma=1.0), ValueError, r"n must be .* got -5"),
    (dict(mean=[1.0, 0.0], n=2.5, gamma=1.0), ValueError, r"n must be a whole number .* got 2.5"),
    (dict(mean=[1.0, 0.0], n="10", gamma=1.0), TypeError, r"n must be a whole number, got '10'"),
    # numpy scalars are printed as plain numbers, never as np.float64(nan)
    (dict(mean=[1.0, 0.0], n=np.float64("nan"), gamma=1.0), ValueError, r"n must be .* >= 1, got nan$"),
    (dict(mean=[1.0, 0.0], n=np.int64(-5), gamma=1.0), ValueError, r"n must be .* >= 1, got -5$"),
    (dict(mean=[1.0, 0.0], n=np.float32(2.5), gamma=1.0), ValueError, r"n must be .* >= 1, got 2.5$"),
    (dict(mean=[1.0, 0.0], n=np.ones(3), gamma=1.0), TypeError, r"n must be .*, got array of shape \(3,\) and dtype"),
    (dict(mean=[1.0, 0.0], n=10, gamma=np.float64("nan")), ValueError, r"gamma must be .* > 0, got nan$"),
    (dict(mean=[1.0, 0.0], n=10, gamma=0.0), ValueError, r"gamma must be a finite number > 0, got 0.0"),
    (dict(mean=[1.0, 0.0], n=10, gamma=-1.0), ValueError, r"gamma must be .* got -1.0"),
    (dict(mean=[1.0, 0.0], n=10, gamma=float("nan")), ValueError, r"gamma must be .* got nan"),
    (dict(mean=[1.0, np.nan], n=10, gamma=1.0), ValueError,
     r"mean must contain only finite numbers, got nan at index 1"),
    (dict(mean=[1.0, np.inf], n=10, gamma=1.0), ValueError, r"mean must contain only finite .* inf at index 1"),
    (dict(mean=np.ones((2, 2)), n=10, gamma=1.0), ValueError, r"mean must be a non-empty 1-D array, got .* \(2, 2\)"),
    (dict(mean=[], n=10, gamma=1.0), ValueError, r"mean must be a non-empty 1-D array"),
    (dict(mean=["a", "b"], n=10, gamma=1.0), TypeError, r"mean must be a 1-D array of real numbers"),
    (dict(mean=[1e200, 0.0], n=10, gamma=1.0), ValueError, r"mean must have norm <= 1e\+50, got \|mean\| = 1e\+200"),
])
def test_invalid_statistics_are_rejected(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls(**kwargs)


@pytest.mark.parametrize("alpha, received", [(None, r"None \(type NoneType\)"), ("1", r"'1' \(type str\)"),
                                             (True, r"True \(type bool\)"),
                                             ([0.0, None], r"\[0.0, None\] \(an element of type NoneType\)")])
def test_alpha_that_is_not_a_real_number_is_named(example, alpha, received):
    with pytest.raises(TypeError, match="alpha must be a real number or an array of real numbers, got " + received):
        predicted_accuracy(*example, alpha)


def test_valid_statistics_are_frozen_and_normalised():
    source = SourceStats([3.0, 4.0], n=1e7, gamma=2)
    assert source.n == 10_000_000 and isinstance(source.n, int) and source.gamma == 2.0
    assert source.mean_norm_sq == 25.0 and source.p == 2 and source.eta == 2e-7
    with pytest.raises(AttributeError):
        source.gamma = 3.0
    with pytest.raises(ValueError):
        source.mean[0] = 1.0  # the stored mean is read-only


def test_alignment_round_trip():
    source = SourceStats.from_norm(50, 1.5, 100, 1.0)
    target = TargetStats.from_alignment(source, -0.4, 0.7, 20, 1.0)
    np.testing.assert_allclose(alignment(source, target), (1.5, -0.4, 0.7), rtol=1e-14)
    assert target.mean_norm_sq == pytest.approx(0.4**2 * 1.5**2 + 0.7**2)
    # any source direction: mu_perp is orthogonal to mu_s, so the round trip holds too
    tilted = SourceStats(np.random.default_rng(0).standard_normal(50), 100, 1.0)
    np.testing.assert_allclose(alignment(tilted, TargetStats.from_alignment(tilted, 0.3, 0.5, 20, 1.0))[1:],
                               (0.3, 0.5), rtol=1e-12)


def test_the_deprecated_norm_form_warns_and_builds_the_same_target():
    source = SourceStats.from_norm(50, 1.5, 100, 1.0)
    with pytest.warns(DeprecationWarning, match="pass the SourceStats itself"):
        positional = TargetStats.from_alignment(50, 1.5, -0.4, 0.7, 20, 1.0)
    with pytest.warns(DeprecationWarning):
        keywords = TargetStats.from_alignment(p=50, source_norm=1.5, beta=-0.4, perp_norm=0.7, n=20, gamma=1.0)
    new = TargetStats.from_alignment(source, -0.4, 0.7, 20, 1.0)
    np.testing.assert_array_equal(positional.mean, new.mean)
    np.testing.assert_array_equal(keywords.mean, new.mean)


def test_convenience_constructors_validate():
    with pytest.raises(ValueError, match="p must be >= 2 when perp_norm > 0"):
        TargetStats.from_alignment(SourceStats.from_norm(1, 1.0, 10, 1.0), 0.5, 0.3, 10, 1.0)
    with pytest.raises(ValueError, match="beta must be a finite number"):
        TargetStats.from_alignment(SourceStats.from_norm(10, 1.0, 10, 1.0), float("nan"), 0.3, 10, 1.0)
    with pytest.raises(TypeError, match="beta must be a real number, got 'x'"):
        TargetStats.from_alignment(SourceStats.from_norm(10, 1.0, 10, 1.0), "x", 0.3, 10, 1.0)
    with pytest.raises(ValueError, match="mean_norm must be a finite number >= 0"):
        SourceStats.from_norm(10, -1.0, 10, 1.0)


def test_mismatched_dimensions_and_bad_arguments(example):
    source, target = example
    short = TargetStats(np.ones(3), 10, 1.0)
    with pytest.raises(ValueError, match="same dimension p: the source has length 400, target.mean has length 3"):
        predicted_accuracy(source, short, 1.0)
    with pytest.raises(ValueError, match="same dimension p"):
        optimal_alpha(np.ones(5), short)
    with pytest.raises(ValueError, match="alpha must not contain NaN"):
        predicted_accuracy(source, target, [1.0, np.nan])
    with pytest.raises(ValueError, match="gamma must be > 0"):
        predicted_accuracy(source, target, 1.0, gamma=[1.0, -1.0])
    with pytest.raises(TypeError, match="target must be a TargetStats, got SourceStats"):
        predicted_accuracy(source, source, 1.0)
    with pytest.raises(TypeError, match="source must be a SourceStats or a 1-D classifier array"):
        predicted_accuracy(target, target, 1.0)


def test_alignment_of_a_zero_source_is_zero():
    """With mu_s = 0 there is nothing to align with: beta = 0 and the whole target mean is perpendicular."""
    target = TargetStats(np.array([0.6, 0.8, 0.0]), 10, 1.0)
    assert tuple(alignment(SourceStats(np.zeros(3), 10, 1.0), target)) == (0.0, 0.0, 1.0)


def test_target_along_the_source_needs_no_perpendicular_part():
    """perp_norm = 0 is allowed: mu_t = beta mu_s exactly."""
    source = SourceStats.from_norm(5, 1.5, 100, 1.0)
    target = TargetStats.from_alignment(source, 0.8, 0.0, 20, 1.0)
    np.testing.assert_array_equal(target.mean, 0.8 * source.mean)
