"""The rmt-alpha command line: subcommands, JSON output, config files and clear errors."""

import json

import numpy as np
import pytest
import scipy.stats

from rmt_alpha import SourceStats, TargetStats, optimal_alpha, predicted_accuracy
from rmt_alpha.cli import main
from tests.conftest import K_SE, check_power


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_prints_theory_and_monte_carlo(capsys):
    """The demo's rows (plumbing; the theory itself is checked to 1% in tests/simulate/test_simulate.py): 20
    trials, so that K_SE standard errors keep their false-alarm rate (with 4 trials the t distribution with 3
    degrees of freedom needed 6). Power (probability >= 0.9): a relative error of 1.4% in the accuracy, 4.9% in
    E[y g], 10% in Var[g] (before: 4 trials, 6 standard errors)."""
    payload = _json(capsys, ["demo", "--trials", "20", "--p", "100", "--source-n", "400", "--n", "50"])
    assert [row["alpha"] for row in payload["rows"]][:2] == [0.0, 1.0]
    assert payload["rows"][2]["alpha"] == pytest.approx(payload["alpha_star"])
    for row in payload["rows"]:
        assert abs(row["gap_in_stderr"]) < K_SE
    predicted = np.array([row["predicted"] for row in payload["rows"]])
    check_power("demo", scipy.stats.norm.ppf(predicted), 1.0, require={"accuracy": 0.014},
                accuracy=np.array([row["stderr"] for row in payload["rows"]]))
    assert main(["demo", "--trials", "3", "--p", "60", "--source-n", "100", "--n", "20"]) == 0
    assert "alpha = 1 (LoRA)" in capsys.readouterr().out


def test_optimal_alpha_default_is_theory_example(capsys):
    payload = _json(capsys, ["optimal-alpha"])
    assert payload["alpha_star"] == pytest.approx(1.7105, abs=5e-5)
    assert payload["config"]["beta"] == pytest.approx(0.8)


def test_config_file_with_mean_vectors_and_flag_override(tmp_path, capsys):
    rng = np.random.default_rng(0)
    mu_s, mu_t = rng.standard_normal((2, 30)) / 5
    config = tmp_path / "pair.json"
    config.write_text(json.dumps({"source_mean": mu_s.tolist(), "target_mean": mu_t.tolist(),
                                  "source_n": 100, "n": 20, "gamma": 0.5}))
    payload = _json(capsys, ["curve", "--config", str(config), "--gamma", "2.0", "--num", "5"])
    source, target = SourceStats(mu_s, 100, 1.0), TargetStats(mu_t, 20, 2.0)
    np.testing.assert_allclose(payload["accuracy"], predicted_accuracy(source, target, payload["alpha"]),
                               rtol=1e-12)
    payload = _json(capsys, ["optimal-alpha", "--config", str(config)])
    assert payload["alpha_star"] == pytest.approx(optimal_alpha(source, TargetStats(mu_t, 20, 0.5)))


def test_errors_name_the_problem(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["curve", "--gamma", "-1"])
    assert exit_info.value.code == 2
    assert "--gamma must be a finite number > 0, got -1.0" in capsys.readouterr().err
    (tmp_path / "vectors.json").write_text(json.dumps({"source_mean": [1.0, 0.0], "target_mean": [0.5, 0.5]}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"beta": 0.5, "colour": "red"}))
    with pytest.raises(SystemExit):
        main(["optimal-alpha", "--config", str(bad)])
    assert "unknown keys ['colour']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["optimal-alpha", "--config", str(tmp_path / "missing.json")])
    assert "missing.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["curve", "--config", str(tmp_path / "vectors.json"), "--beta", "-3"])
    assert "fix ['beta']" in capsys.readouterr().err
    # options parsed by argparse types name the flag, what was expected and what was received
    for argv, message in ((["text-transfer", "--out", str(tmp_path), "--pairs", "uci-imdb"],
                           "argument --pairs: must be SOURCE:TARGET, two names joined by ':', got 'uci-imdb'"),
                          (["plot", "amazon-curves", "--out", "x.png", "--pairs", "books:"],
                           "argument --pairs: must be SOURCE:TARGET, two names joined by ':', got 'books:'"),
                          (["text-transfer", "--out", str(tmp_path), "--seeds", "0"],
                           "argument --seeds: must be a whole number >= 1, got 0"),
                          (["text-transfer", "--out", str(tmp_path), "--registered", "--max-units", "-1"],
                           "argument --max-units: must be a whole number >= 0, got -1")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err
    # the registered plan runs as it is registered
    for extra in (["--quick"], ["--seeds", "3"], ["--pairs", "uci-imdb:uci-amazon"]):
        with pytest.raises(SystemExit, match="--registered runs the registered plan as it is"):
            main(["text-transfer", "--out", str(tmp_path), "--registered", *extra])
    with pytest.raises(SystemExit, match="--units and --max-units go with --registered"):
        main(["text-transfer", "--out", str(tmp_path), "--max-units", "3"])
    for command in ("demo", "validate"):
        with pytest.raises(SystemExit):
            main([command, "--trials", "1"])
        assert "--trials must be >= 2 (a standard error needs two trials), got 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, message", [
    ("--p", "-5", "--p must be a whole number >= 1, got -5"),
    ("--p", "1", "--p must be >= 2 when perp_norm > 0 (mu_perp needs its own direction), got p=1"),
    ("--source-norm", "nan", "--source-norm must be a finite number >= 0, got nan"),
    ("--source-norm", "1e60", "--source-norm must have norm <= 1e+50, got |mean| = 1e+60"),
    ("--beta", "inf", "--beta must be a finite number, got inf"),
    ("--perp-norm", "-1", "--perp-norm must be a finite number >= 0, got -1.0"),
    ("--source-n", "-5", "--source-n must be a whole number >= 1, got -5"),
    ("--n", "0", "--n must be a whole number >= 1, got 0"),
    ("--source-gamma", "0", "--source-gamma must be a finite number > 0, got 0.0"),
    ("--gamma", "-2", "--gamma must be a finite number > 0, got -2.0"),
    ("--source-n", "2.5", "argument --source-n: invalid int value: '2.5'"),
])
def test_every_statistics_flag_is_named_in_its_error(flag, value, message, capsys):
    """The library names its parameters (n, mean_norm); the command line names the flag the user typed, what was
    expected and what was received."""
    with pytest.raises(SystemExit) as exit_info:
        main(["optimal-alpha", flag, value])
    assert exit_info.value.code == 2
    assert f"rmt-alpha optimal-alpha: error: {message}" in capsys.readouterr().err


def test_a_statistic_from_a_config_file_is_named_by_its_key_and_the_file(tmp_path, capsys):
    config = tmp_path / "pair.json"
    config.write_text(json.dumps({"source_n": -3, "gamma": "x"}))
    with pytest.raises(SystemExit):
        main(["curve", "--config", str(config), "--gamma", "2"])
    assert f"error: source_n in --config {config} must be a whole number >= 1, got -3" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(["curve", "--config", str(config), "--source-n", "50"])
    assert f"error: gamma in --config {config} must be a real number, got 'x'" in capsys.readouterr().err
    config.write_text(json.dumps({"source_mean": [1.0, 0.0], "target_mean": [0.5, 0.5], "n": 0}))
    with pytest.raises(SystemExit):
        main(["curve", "--config", str(config)])
    assert f"error: n in --config {config} must be a whole number >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["demo", "--seed", "-1"], "argument --seed: must be a whole number in [0, 2**32), got -1"),
    (["curve", "--alpha-min", "nan"], "argument --alpha-min: must be a finite number, got 'nan'"),
    (["validate", "--trials", "2", "--num", "2", "--n-test", "0"], "--n-test must be a whole number >= 1"),
    (["plot", "alpha-map", "--out", "map.png", "--grid", "1"], "--grid must be a whole number >= 2, got 1"),
])
def test_other_flags_are_named_in_their_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_json_is_strict_and_explains_a_missing_alpha_bar(capsys):
    """beta = 0: alpha_bar is infinite, which JSON cannot hold: null, with the reason next to it."""
    assert main(["optimal-alpha", "--beta", "0", "--json"]) == 0
    text = capsys.readouterr().out
    assert "Infinity" not in text and "NaN" not in text
    payload = json.loads(text)
    assert payload["alpha_bar"] is None and "does not depend on alpha" in payload["alpha_bar_note"]
    assert main(["optimal-alpha", "--beta", "0"]) == 0
    assert "alpha_bar (accuracy 1/2): none; the mean margin" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["curve", "validate"])
def test_grid_size_below_one_is_refused_by_the_parser(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--num", "-3"])
    assert exit_info.value.code == 2
    assert "argument --num: must be a whole number >= 1, got -3" in capsys.readouterr().err


def test_an_unusable_json_file_is_named_with_its_flag_and_what_is_wrong(tmp_path, capsys):
    """A --config (or --results) path that does not exist, is a folder, is not UTF-8 or is not JSON: the message names
    the flag, the path and the problem, not a bare [Errno 2] or a JSON parser's message alone."""
    (tmp_path / "broken.json").write_text('{"beta": 0.5,}')
    (tmp_path / "latin1.json").write_bytes(b'{"beta": "\xe9"}')
    for argv, message in (
            (["optimal-alpha", "--config", str(tmp_path / "missing.json")],
             f"--config must be a JSON file, got {str(tmp_path / 'missing.json')!r}, which does not exist"),
            (["choose-alpha", "--config", str(tmp_path / "missing.json"), "--target", "x.npy", "y.npy"],
             f"--config must be a JSON file, got {str(tmp_path / 'missing.json')!r}, which does not exist"),
            (["curve", "--config", str(tmp_path)],
             f"--config must be a JSON file, got {str(tmp_path)!r}, which is a folder"),
            (["curve", "--config", str(tmp_path / "broken.json")],
             f"--config must be a JSON file, got {str(tmp_path / 'broken.json')!r}, which is not valid JSON ("),
            (["curve", "--config", str(tmp_path / "latin1.json")], "which is not UTF-8 text (byte 10: invalid "),
            (["plot", "amazon-methods", "--out", str(tmp_path / "f.png"), "--results", str(tmp_path / "none.json")],
             f"--results must be a JSON file, got {str(tmp_path / 'none.json')!r}, which does not exist")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Errno" not in err
        assert "broken" not in message or "at line 1, column 1" in err   # where (the parser's words vary by Python)
