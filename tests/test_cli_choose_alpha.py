"""`rmt-alpha choose-alpha` on .npy and .csv files, and --config files carrying w_s or covariances."""

import json

import numpy as np
import pytest

from rmt_alpha import TargetStats, choose_alpha, optimal_alpha, predicted_accuracy
from rmt_alpha.cli import main
from rmt_alpha.simulate._reference import make_gaussian_mixture

P = 40


@pytest.fixture
def files(tmp_path):
    mu_t = np.zeros(P)
    mu_t[:2] = 1.2, 0.6
    w_s = np.zeros(P)
    w_s[0] = 0.5
    w_s[2] = 0.1
    X, y = make_gaussian_mixture(20, mu_t, random_state=0)
    U = make_gaussian_mixture(200, mu_t, random_state=1)[0]
    np.save(tmp_path / "w.npy", w_s)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savetxt(tmp_path / "u.csv", U, delimiter=",")
    np.savetxt(tmp_path / "y01.csv", (y > 0).astype(int), delimiter=",", fmt="%d")
    return tmp_path, w_s, X, y, U


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_choose_alpha_from_files_is_the_library_call(files, capsys):
    folder, w_s, X, y, U = files
    payload = _json(capsys, ["choose-alpha", "--source-weights", str(folder / "w.npy"), "--target",
                             str(folder / "x.npy"), str(folder / "y01.csv"), "--unlabelled", str(folder / "u.csv"),
                             "--bootstrap", "30"])
    expected = choose_alpha(w_s, X, y, unlabelled=U, bootstrap=30)
    # the CSV round trip is exact to the printed digits (%.18e): the same alpha to rounding
    assert payload["alpha"] == pytest.approx(expected.alpha, rel=1e-9)
    assert payload["gain"] == pytest.approx(expected.gain, rel=1e-6, abs=1e-12)
    assert payload["covariance"] == expected.covariance == "covariance" and "s" in payload["sources"]
    assert main(["choose-alpha", "--source-weights", str(folder / "w.npy"), "--target", str(folder / "x.npy"),
                 str(folder / "y.npy"), "--bootstrap", "20"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("alpha = ") and "why: " in text and "uncertainty: bootstrap: 20 replicates" in text


def test_the_curve_is_printed_only_with_the_curve_flag(files, capsys):
    """The default JSON holds the choice (a screenful); `--curve` adds the predicted accuracy on the 121-point grid,
    in JSON and in the text."""
    folder, w_s, X, y, _ = files
    argv = ["choose-alpha", "--source-weights", str(folder / "w.npy"), "--target", str(folder / "x.npy"),
            str(folder / "y.npy"), "--bootstrap", "10"]
    assert main(argv + ["--json"]) == 0
    printed = capsys.readouterr().out
    payload = json.loads(printed)
    assert "grid" not in payload and "accuracy" not in payload and len(printed.splitlines()) < 40
    assert {"alpha", "gain", "alpha_interval", "gain_interval", "reason", "sources"} <= set(payload)
    with_curve = _json(capsys, argv + ["--curve"])
    expected = choose_alpha(w_s, X, y, bootstrap=10)
    np.testing.assert_array_equal(with_curve.pop("grid"), expected.grid)
    np.testing.assert_allclose(with_curve.pop("accuracy"), expected.accuracy, rtol=1e-12)
    assert with_curve == payload
    assert main(argv) == 0
    assert "alpha      accuracy" not in capsys.readouterr().out
    assert main(argv + ["--curve"]) == 0
    table = capsys.readouterr().out.split("alpha      accuracy\n")[1].splitlines()
    assert len(table) == expected.grid.size and table[0].split() == [f"{expected.grid[0]:.4f}",
                                                                      f"{expected.accuracy[0]:.4f}"]


def test_a_csv_header_row_is_skipped_and_said_on_stderr(files, capsys):
    """A header row (the first line of most CSV files a user has) is skipped, naming the flag and the file on stderr;
    a file whose rows below the header are not numbers is still refused, naming the flag, the file and the header."""
    folder, _, X, y, _ = files
    np.savetxt(folder / "x_header.csv", X, delimiter=",", header=",".join(f"feature {j}" for j in range(P)),
               comments="")
    (folder / "y_header.csv").write_text("\ufefflabel\n" + "".join(f"{int(label > 0)}\n" for label in y))
    argv = ["choose-alpha", "--source-weights", str(folder / "w.npy"), "--bootstrap", "10", "--target"]
    with_header = _json(capsys, argv + [str(folder / "x_header.csv"), str(folder / "y_header.csv")])
    assert with_header == _json(capsys, argv + [str(folder / "x.npy"), str(folder / "y.npy")])
    main(argv + [str(folder / "x_header.csv"), str(folder / "y_header.csv"), "--json"])
    err = capsys.readouterr().err
    assert f"--target X: skipped the header row of {folder / 'x_header.csv'} (line 1: 'feature 0,feature 1," in err
    assert f"--target Y: skipped the header row of {folder / 'y_header.csv'} (line 1: 'label')" in err
    (folder / "words.csv").write_text("a,b\nc,d\n")
    with pytest.raises(SystemExit):
        main(argv + [str(folder / "words.csv"), str(folder / "y.npy")])
    assert (f"--target X: cannot read {folder / 'words.csv'} as a .npy array or a table of numbers after its header "
            "row 'a,b' (could not convert string 'c'") in capsys.readouterr().err


def test_choose_alpha_takes_w_s_from_a_config_and_source_data(files, capsys):
    folder, w_s, X, y, _ = files
    (folder / "config.json").write_text(json.dumps({"source_weights": "w.npy", "gamma": 0.5, "bootstrap": 10}))
    payload = _json(capsys, ["choose-alpha", "--config", str(folder / "config.json"), "--target",
                             str(folder / "x.npy"), str(folder / "y.npy")])
    assert payload["alpha_estimate"] == pytest.approx(choose_alpha(w_s, X, y, gamma=0.5, bootstrap=10)
                                                      .alpha_estimate, rel=1e-12)
    X_s, y_s = make_gaussian_mixture(200, 2 * w_s, random_state=2)
    np.save(folder / "xs.npy", X_s)
    np.save(folder / "ys.npy", y_s)
    payload = _json(capsys, ["choose-alpha", "--source-data", str(folder / "xs.npy"), str(folder / "ys.npy"),
                             "--target", str(folder / "x.npy"), str(folder / "y.npy"), "--bootstrap", "10"])
    assert "fitted on the source data (200 rows" in payload["sources"]["source"]


@pytest.mark.parametrize("extra, message", [
    ([], "give the source exactly once"),
    (["--source-weights", "missing.npy"], "--source-weights: no such file"),
    (["--source-weights", "{w}", "--source-data", "{w}", "{w}"], "give the source exactly once"),
    # the library's parameter names (gamma, X, ...) become the flags the user typed
    (["--source-weights", "{w}", "--gamma", "-1"], "error: --gamma must be a finite number > 0, got -1.0"),
    (["--source-data", "{x}", "{y}", "--source-gamma", "0"],
     "error: --source-gamma must be a finite number > 0, got 0.0"),
    (["--source-weights", "{w}", "--bootstrap", "-3"],
     "error: --bootstrap must be a whole number >= 0, got -3"),
    (["--source-weights", "{w}", "--confidence", "2"], "error: --confidence must lie in (0.5, 1), got 2.0"),
    (["--source-weights", "{w}", "--seed", "-1"], "argument --seed: must be a whole number in [0, 2**32), got -1"),
    (["--source-weights", "{x}"], "error: --source-weights must be a classifier w_s (1-D)"),
    (["--source-weights", "{w}", "--unlabelled", "{w}"], "error: --unlabelled must be a 2-D array (rows, features)"),
    (["--source-weights", "{w}", "--target", "{nan}", "{y}"],
     "error: --target X must contain only finite numbers, got nan at row 2, column 5"),
    (["--source-weights", "{w}", "--target", "{x}", "{x}"], "error: --target Y must hold labels in {-1, +1} or"),
])
def test_choose_alpha_errors_name_the_option(files, capsys, extra, message):
    folder, X = files[0], files[2]
    np.save(folder / "x_nan.npy", np.where((np.arange(20)[:, None] == 2) & (np.arange(P) == 5), np.nan, X))
    argv = ["choose-alpha", "--target", str(folder / "x.npy"), str(folder / "y.npy")]
    argv += [item.format(w=folder / "w.npy", x=folder / "x.npy", y=folder / "y.npy", nan=folder / "x_nan.npy")
             for item in extra]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_choose_alpha_settings_from_a_config_are_named_by_key_and_file(files, capsys):
    folder = files[0]
    (folder / "config.json").write_text(json.dumps({"source_weights": "w.npy", "seed": -4, "bootstrap": 2.5}))
    argv = ["choose-alpha", "--config", str(folder / "config.json"), "--target", str(folder / "x.npy"),
            str(folder / "y.npy")]
    with pytest.raises(SystemExit):
        main(argv)
    assert f"error: seed in --config {folder / 'config.json'} must be an integer in [0, 2**32), got -4" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(argv + ["--seed", "3"])
    assert (f"error: bootstrap in --config {folder / 'config.json'} must be a whole number >= 0, got 2.5"
            in capsys.readouterr().err)


def test_theory_commands_take_w_s_and_covariances_from_a_config(tmp_path, capsys):
    rng = np.random.default_rng(3)
    w_s, mu_t = rng.standard_normal((2, 30)) / 5
    basis, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    cov = (basis * np.linspace(0.5, 2.0, 30)) @ basis.T
    np.savetxt(tmp_path / "cov.csv", cov, delimiter=",")
    (tmp_path / "pair.json").write_text(json.dumps({"source_weights": w_s.tolist(), "target_mean": mu_t.tolist(),
                                                    "target_cov": "cov.csv", "n": 20}))
    payload = _json(capsys, ["optimal-alpha", "--config", str(tmp_path / "pair.json")])
    target = TargetStats(mu_t, 20, 1.0, cov=cov)
    assert payload["alpha_star"] == pytest.approx(optimal_alpha(w_s, target), rel=1e-9)
    assert payload["config"]["target_covariance"] is True
    payload = _json(capsys, ["curve", "--config", str(tmp_path / "pair.json"), "--num", "3"])
    np.testing.assert_allclose(payload["accuracy"], predicted_accuracy(w_s, target, payload["alpha"]), rtol=1e-9)
    with pytest.raises(SystemExit):
        main(["demo", "--config", str(tmp_path / "pair.json")])
    assert "are not used by `demo`" in capsys.readouterr().err


def test_several_source_weights_choose_a_vector(files, capsys):
    """`--source-weights W1.npy W2.npy` is `choose_alpha([w_1, w_2], ...)`: the vector, its intervals, the best single
    source and the do-no-harm reason; `--curve` is refused (alpha is a vector)."""
    folder, w_s, X, y, U = files
    w_2 = np.zeros(P)
    w_2[1] = 0.4
    np.save(folder / "w2.npy", w_2)
    argv = ["choose-alpha", "--source-weights", str(folder / "w.npy"), str(folder / "w2.npy"), "--target",
            str(folder / "x.npy"), str(folder / "y.npy"), "--unlabelled", str(folder / "u.csv"), "--bootstrap", "30"]
    payload = _json(capsys, argv)
    expected = choose_alpha([w_s, w_2], X, y, unlabelled=U, bootstrap=30)
    assert payload["alpha"] == pytest.approx(expected.alpha.tolist(), rel=1e-9)
    assert payload["best_source"] == expected.best_source and payload["fell_back"] == expected.fell_back
    assert len(payload["alpha_interval"]) == 2 and payload["reason"] == expected.reason
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("alpha = (") and "best single source" in text and "why: " in text
    assert f"theory: {expected.covariance} ({expected.covariance_reason})" in text
    semi = _json(capsys, argv + ["--covariance", "semi-empirical"])
    expected = choose_alpha([w_s, w_2], X, y, unlabelled=U, bootstrap=30, covariance="semi-empirical")
    assert semi["covariance"] == "semi-empirical" and semi["covariance_reason"] == expected.covariance_reason
    assert semi["alpha"] == pytest.approx(expected.alpha.tolist(), rel=1e-9)
    with pytest.raises(SystemExit, match="2"):
        main(argv + ["--curve"])
    assert "leave out --curve" in capsys.readouterr().err
