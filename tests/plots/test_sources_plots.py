"""The several-sources figures (theory/THEORY.md section 10): the plane and the simplex draw their markers where
the library's optimum is, refuse bad input by name, and `rmt-alpha plot sources` writes a PNG."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rmt_alpha import SourceStats, TargetStats, optimal_alpha, predicted_accuracy, prepare
from rmt_alpha.cli import main
from rmt_alpha.cli._plot_command import example_sources
from rmt_alpha.plots import plot_sources_plane, plot_sources_simplex
from rmt_alpha.plots._sources import simplex_xy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _problem():
    mean = np.zeros(200)
    mean[:2] = (1.2, 0.5)
    target = TargetStats(mean, 60, 1.0)
    return example_sources(mean), target


def _star(ax):
    return [line for line in ax.lines if line.get_marker() == "*"]


def test_plane_marks_optimal_alpha_and_colours_the_gaps():
    W, target = _problem()
    grid = np.linspace(-1, 3, 21)
    plane = predicted_accuracy(W[:2], target, np.stack(np.meshgrid(grid, grid), axis=-1))
    best = optimal_alpha(W[:2], target)
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    predicted = predicted_accuracy(W[:2], target, points)
    ax = plot_sources_plane(grid, grid, plane, best, points=points, measured=predicted + [0.01, -0.02],
                            stderr=[0.01, 0.01], predicted=predicted)
    star, = _star(ax)
    np.testing.assert_allclose([star.get_xdata()[0], star.get_ydata()[0]], best, rtol=0, atol=0)
    np.testing.assert_allclose(ax.collections[-1].get_array(), [1.0, -2.0], atol=1e-12)   # gaps in s.e.


def test_simplex_marks_the_best_nonnegative_direction():
    W, target = _problem()
    steps = 6
    directions = np.array([(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)]) / steps
    accuracy = np.array([predicted_accuracy(np.column_stack(W) @ d, target, 1.0) for d in directions])
    best = prepare(W, target).optimal_alpha(nonnegative=True)
    ax = plot_sources_simplex(directions, accuracy, best)
    star, = _star(ax)
    np.testing.assert_allclose([star.get_xdata()[0], star.get_ydata()[0]], simplex_xy(best / best.sum()),
                               atol=1e-14)


@pytest.mark.parametrize("call, message", [
    (lambda: plot_sources_plane([0, 1], [0, 1], np.ones((3, 2)), [0, 0]), "accuracy must have shape"),
    (lambda: plot_sources_plane([0, 1], [0, 1], np.ones((2, 2)), [0, np.inf]), "alpha_star must be finite"),
    (lambda: plot_sources_plane([0, 1], [0, 1], np.ones((2, 2)), [0, 0], points=[[0, 0]]), "given together"),
    (lambda: plot_sources_plane([0, 1], [0, 1], np.ones((2, 2)), [0, 0], points=[[0, 0]], measured=[0.5],
                                stderr=[0.0], predicted=[0.5]), "stderr must be > 0"),
    (lambda: plot_sources_simplex(np.ones((3, 3)), [0.5] * 3, [1, 1, 1]), "summing to 1"),
    (lambda: plot_sources_simplex(np.eye(3), [0.5] * 3, [1, -1, 1]), "best must be nonnegative"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cli_writes_the_sources_figure(tmp_path, capsys):
    path = tmp_path / "sources.png"
    assert main(["plot", "sources", "--out", str(path), "--trials", "0", "--p", "100", "--json"]) == 0
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    summary = json.loads(capsys.readouterr().out)
    source = SourceStats.from_norm(100, 1.5, 2000, 1.0)       # the CLI's default statistics at p = 100
    target = TargetStats.from_alignment(source, 0.8, 0.6, 100, 1.0)
    W = example_sources(np.asarray(target.mean))
    np.testing.assert_allclose(summary["alpha_star_two_sources"], optimal_alpha(W[:2], target), rtol=1e-12)


@pytest.mark.headline
def test_the_results_page_caption_is_the_figures_command(tmp_path, capsys):
    """docs/results.md's caption of docs/figures/sources.png: the command benchmarks/make_figures.py runs for it, the
    alpha* it marks and the largest Monte-Carlo gap in standard errors, as that command prints them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "benchmarks" / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    [extra] = [extra for kind, _, extra in make_figures.FIGURES if kind == "sources"]
    assert main(["plot", "sources", "--out", str(tmp_path / "sources.png"), *extra, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8").replace("\n", " ")
    star = ", ".join(f"{value:.2f}" for value in summary["alpha_star_two_sources"])
    assert f"(`rmt-alpha plot sources {' '.join(extra)}`)" in page
    assert f"α* = ({star}) marked" in page
    assert f"the largest gap is {summary['largest_gap_stderr']:.1f} s.e." in page
