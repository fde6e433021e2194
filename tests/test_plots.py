"""rmt_alpha.plots headless (Agg): each function draws the expected artists from precomputed inputs; the CLI's
`plot` subcommand writes non-empty PNG/PDF files."""

import json
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.collections
import matplotlib.pyplot as plt
import numpy as np
import pytest

from rmt_alpha import plots
from rmt_alpha._phase import phase_map
from rmt_alpha._results import summarize
from rmt_alpha.cli import main
from rmt_alpha.experiments._prediction import PredictionCheck
from rmt_alpha.plots import _maps
from rmt_alpha.simulate._decision import DecisionValues

PNG_MAGIC, PDF_MAGIC = b"\x89PNG\r\n\x1a\n", b"%PDF"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_accuracy_curve_draws_theory_points_and_markers():
    alpha = np.linspace(-1, 3, 9)
    measured = summarize(alpha[::2], np.random.default_rng(0).uniform(0.6, 0.8, (5, 5)))
    ax = plots.plot_accuracy_curve(alpha, 0.7 + 0.01 * alpha, measured, alpha_star=1.5, alpha_bar=-0.5)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 0.7 + 0.01 * alpha)
    assert len(ax.containers) == 1                                   # the error bars
    np.testing.assert_allclose(ax.containers[0][0].get_ydata(), measured.mean)
    assert [line.get_xdata()[0] for line in ax.lines[-2:]] == [1.5, -0.5]   # alpha* and alpha_bar markers
    assert any("alpha* = 1.5" in text for text in _legend_texts(ax))


def test_decision_histogram_draws_two_classes_and_the_predicted_gaussians():
    rng = np.random.default_rng(1)
    labels = np.repeat([-1.0, 1.0], 500)
    values = DecisionValues(1.0, labels * 0.5 + 0.5 * rng.standard_normal(1000), labels)
    ax = plots.plot_decision_histogram(values, mean=0.5, variance=0.25, bins=30)
    assert len(ax.patches) == 60                                     # 30 bars per class
    densities = [line for line in ax.lines if np.size(line.get_xdata()) == 400]
    assert len(densities) == 2
    for line, sign in zip(densities, (-1, 1)):
        x, y = line.get_xdata(), line.get_ydata()
        assert abs(x[np.argmax(y)] - sign * 0.5) < 0.02              # centred at y * E[y g]
        np.testing.assert_allclose(y.max(), 1 / np.sqrt(2 * np.pi * 0.25), rtol=1e-3)   # N(., 0.5^2) peak


@pytest.fixture(scope="module")
def phase():
    return phase_map(np.linspace(-0.5, 1.5, 21)[None, :], np.geomspace(0.05, 5.0, 15)[:, None])


@pytest.mark.parametrize("draw", [plots.plot_alpha_map, plots.plot_gain_map])
def test_maps_draw_values_colorbar_and_negative_transfer_hatching(draw, phase):
    ax = draw(phase, y="n_over_p")
    mesh = [c for c in ax.collections if isinstance(c, matplotlib.collections.QuadMesh)]
    assert len(mesh) == 1
    expected = phase.alpha_star if draw is plots.plot_alpha_map else np.maximum(
        100 * phase.gain_over_one, _maps.GAIN_FLOOR_POINTS)
    np.testing.assert_allclose(np.asarray(mesh[0].get_array()).reshape(expected.shape), expected)
    assert len(ax.figure.axes) == 2                                  # the colorbar
    assert any(list(getattr(c, "hatches", None) or []) == ["////"] for c in ax.collections)
    assert _maps._NEGATIVE_TRANSFER in _legend_texts(ax)
    assert ax.get_yscale() == "log" and "n / p" in ax.get_ylabel()


def test_maps_reject_a_grid_that_is_not_two_dimensional():
    with pytest.raises(ValueError, match="2-D grid"):
        plots.plot_alpha_map(phase_map(np.linspace(0, 1, 5), 1.0))
    with pytest.raises(ValueError, match="y must be one of"):
        plots.plot_gain_map(phase_map(np.linspace(0, 1, 5)[None, :], np.ones((3, 1))), y="beta")


def test_gap_vs_dimension_draws_one_series_per_column():
    ax = plots.plot_gap_vs_dimension([100, 200, 400], [[0.01, 0.02], [0.005, 0.0], [0.0, 0.001]],
                                     np.full((3, 2), 0.002), label=["alpha = 0", "alpha = 1"])
    assert len(ax.containers) == 2 and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="do not match"):
        plots.plot_gap_vs_dimension([100, 200], [0.1, 0.2, 0.3], [0.1, 0.1, 0.1])


def test_amazon_curve_draws_measured_and_both_theories():
    alpha = np.linspace(0, 6, 13)
    measured = summarize(alpha, np.random.default_rng(2).uniform(0.7, 0.8, (4, 13)))
    check = PredictionCheck("books", "dvd", False, alpha, measured, 0.8 - 0.001 * alpha, 0.75 - 0.001 * alpha,
                            2.0, 1.8)
    ax = plots.plot_amazon_curve(check)
    assert ax.get_title() == "books -> dvd"
    labels = _legend_texts(ax)
    assert {"theory (isotropic)", "theory (covariance)", "measured (test rows, +-1 s.e.)"} <= set(labels)
    assert "alpha* covariance = 1.8" in labels
    np.testing.assert_allclose(ax.containers[-1][0].get_ydata(), measured.mean)


def test_amazon_curve_draws_the_semi_empirical_theory_when_given():
    alpha = np.linspace(0, 6, 13)
    measured = summarize(alpha, np.random.default_rng(2).uniform(0.7, 0.8, (4, 13)))
    semi = 0.77 - 0.001 * (alpha - 2.5) ** 2
    check = PredictionCheck("books", "dvd", False, alpha, measured, 0.8 - 0.001 * alpha, 0.75 - 0.001 * alpha,
                            2.0, 1.8, predicted_semi_empirical=semi, alpha_star_semi_empirical=2.5)
    ax = plots.plot_amazon_curve(check, isotropic=False)
    labels = _legend_texts(ax)
    assert "theory (semi-empirical)" in labels and "alpha* semi-empirical = 2.5" in labels
    assert "theory (isotropic)" not in labels
    np.testing.assert_allclose(ax.lines[2].get_ydata(), semi)


def test_method_comparison_has_one_series_per_method_and_one_tick_per_pair():
    rows = [{"source": s, "target": t, "method": m, "accuracy": a, "stderr": 0.01}
            for (s, t), base in ((("books", "dvd"), 0.7), (("dvd", "elec"), 0.75))
            for m, a in (("alpha=0", base - 0.1), ("alpha=1", base), ("CV", base + 0.01))]
    ax = plots.plot_method_comparison(rows, methods=["alpha=0", "alpha=1", "CV"])
    assert len(ax.containers) == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["books->dvd", "dvd->elec"]
    np.testing.assert_allclose(np.asarray(ax.containers[1][0].get_ydata(), float), [0.7, 0.75])
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_method_comparison([])


def _transformer_runs():
    """The `runs` of the transformer experiment's results.json (its documented format), two seeds, two levels."""
    paths = ["blocks/0/attention/query/kernel", "blocks/0/mlp/up/kernel"]
    runs = []
    for level in (0.25, 0.75):
        for seed in range(2):
            runs.append({"method": "alpha_lora", "sharing": level, "seed": seed, "test_accuracy": 0.8,
                         "alpha": {path: {"mean": 1.0 + 0.1 * k + level + 0.01 * seed, "std": 0.05,
                                          "min": 0.8, "max": 1.4 + level} for k, path in enumerate(paths)}})
            runs.append({"method": "lora", "sharing": level, "seed": seed, "test_accuracy": 0.79, "alpha": {}})
    return runs


def test_alpha_statistics_plots_per_weight_means_per_sharing_level():
    ax = plots.plot_alpha_statistics(_transformer_runs())
    assert len(ax.containers) == 2                                   # one series per sharing level
    # sharing 0.25: per weight, the mean over the two seeds of 1 + 0.1 k + 0.25 + 0.01 seed
    np.testing.assert_allclose(np.asarray(ax.containers[0][0].get_ydata(), float), [1.255, 1.355])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b0/attn/query", "b0/mlp/up"]
    with pytest.raises(ValueError, match="no 'dora' run"):
        plots.plot_alpha_statistics(_transformer_runs(), method="dora")


@pytest.mark.parametrize("suffix, magic", [(".png", PNG_MAGIC), (".pdf", PDF_MAGIC)])
def test_save_figure_is_atomic_and_uses_the_extension(tmp_path, suffix, magic):
    figure, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = plots.save_figure(figure, tmp_path / "sub" / f"figure{suffix}")
    with open(path, "rb") as handle:
        assert handle.read(len(magic)) == magic
    assert os.listdir(tmp_path / "sub") == [f"figure{suffix}"]       # no temporary file left behind


def _written(capsys, path, magic):
    assert f"wrote {path}" in capsys.readouterr().out
    with open(path, "rb") as handle:
        assert handle.read(len(magic)) == magic
    assert os.path.getsize(path) > 1000


SMALL = ["--p", "60", "--source-n", "240", "--n", "30"]
HISTOGRAM = ["--p", "200", "--source-n", "1000", "--n", "50", "--n-test", "2000"]  # test_phase's compiled shapes


def test_cli_plot_curve_histogram_and_maps(tmp_path, capsys):
    for kind, name, extra, magic in [
            ("curve", "curve.png", [*SMALL, "--trials", "0"], PNG_MAGIC),
            ("histogram", "histogram.pdf", HISTOGRAM, PDF_MAGIC),
            ("alpha-map", "alpha.png", [*SMALL, "--grid", "12"], PNG_MAGIC),
            ("gain-map", "gain.pdf", [*SMALL, "--grid", "12", "--over", "gamma"], PDF_MAGIC)]:
        path = str(tmp_path / name)
        assert main(["plot", kind, "--out", path, *extra]) == 0
        _written(capsys, path, magic)


def _inside(artist, figure):
    """Whether `artist` is drawn inside `figure` (display pixels, from the renderer after a draw)."""
    figure.canvas.draw()
    box = artist.get_window_extent(figure.canvas.get_renderer())
    return (0 <= box.x0 and box.x1 <= figure.bbox.width and 0 <= box.y0 and box.y1 <= figure.bbox.height
            and box.width > 0)


def test_cli_figures_are_readable_and_their_titles_fit(tmp_path, capsys):
    """The saved curve is about 1200 pixels wide (8 inches at 150 dpi; bbox_inches='tight' trims the margins), and
    each title lies inside its figure: the curve's title (wider than the old 5.5-inch figure), a title far longer
    than the axes (wrapped), and the maps' two-line title."""
    from matplotlib.image import imread

    from rmt_alpha.cli import build_parser
    from rmt_alpha.cli._plot_command import _FIGURES

    path = tmp_path / "curve.png"
    assert main(["plot", "curve", "--out", str(path), *SMALL, "--trials", "0"]) == 0
    height, width = imread(path).shape[:2]
    assert 1150 <= width <= 1250 and 700 <= height <= 800
    for kind, extra in (("curve", [*SMALL, "--trials", "0"]), ("alpha-map", [*SMALL, "--grid", "8", "--over",
                                                                             "gamma"])):
        args = build_parser().parse_args(["plot", kind, "--out", str(path), *extra])
        with plt.rc_context(plots.STYLE):
            figure, _ = _FIGURES[kind](args, plots)
        title = figure.axes[0].title if kind == "curve" else figure._suptitle
        assert title.get_text() and _inside(title, figure), kind
    ax = plots.plot_accuracy_curve(np.linspace(0, 1, 5), np.linspace(0.6, 0.8, 5))
    title = ax.set_title("a title far longer than the axes are wide, " * 4, wrap=True)
    assert _inside(title, ax.figure)


@pytest.mark.slow
def test_cli_plot_curve_with_simulation(tmp_path, capsys):
    path = str(tmp_path / "curve.png")
    assert main(["plot", "curve", "--out", path, *SMALL, "--trials", "16", "--num", "4"]) == 0
    _written(capsys, path, PNG_MAGIC)


def test_cli_plot_from_result_files(tmp_path, capsys):
    transformer = tmp_path / "results.json"
    transformer.write_text(json.dumps({"runs": _transformer_runs()}))
    path = str(tmp_path / "alphas.png")
    assert main(["plot", "alpha-stats", "--results", str(transformer), "--out", path]) == 0
    _written(capsys, path, PNG_MAGIC)

    rows = [{"source": "books", "target": "dvd", "n": 20, "source_gamma": 1.0, "gamma": 1.0, "whiten": False,
             "method": m, "accuracy": a, "stderr": 0.01} for m, a in (("alpha=0", 0.6), ("alpha=1", 0.75),
                                                                      ("alpha* theory", 0.76), ("oracle", 0.78))]
    amazon = tmp_path / "amazon.json"
    amazon.write_text(json.dumps({"settings": {"splits": 5}, "tables": {"honest": rows}}))
    path = str(tmp_path / "methods.png")
    assert main(["plot", "amazon-methods", "--results", str(amazon), "--out", path]) == 0
    _written(capsys, path, PNG_MAGIC)


def test_cli_plot_errors_are_clear(tmp_path):
    with pytest.raises(SystemExit) as error:
        main(["plot", "alpha-map", "--out", str(tmp_path / "figure.jpg")])
    assert error.value.code == 2
    with pytest.raises(SystemExit):
        main(["plot", "alpha-stats", "--out", str(tmp_path / "figure.png")])     # --results missing
    assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_cli_plot_amazon_curves(tmp_path, capsys):
    pytest.importorskip("scipy.io")
    from rmt_alpha.data._domains import load_amazon_domain

    try:
        load_amazon_domain("books")
    except FileNotFoundError:
        pytest.skip("Amazon Review data not available")
    path = str(tmp_path / "amazon.png")
    assert main(["plot", "amazon-curves", "--pairs", "books:dvd", "--splits", "3", "--out", path]) == 0
    _written(capsys, path, PNG_MAGIC)
