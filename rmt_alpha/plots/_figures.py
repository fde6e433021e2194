"""Whole figures from precomputed results: several panels laid out, titled and styled. Nothing here computes
theory or runs a simulation; the data come from library functions (`phase_maps_around`,
`rmt_alpha.experiments.check_pairs`, `rmt_alpha.simulate.compare_with_theory`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rmt_alpha._results import EmpiricalCurve
from rmt_alpha.plots._maps import plot_alpha_map, plot_gain_map
from rmt_alpha.plots._panels import STYLE, plot_accuracy_curve, plot_amazon_curve, save_figure

WIDTH = STYLE["figure.figsize"][0]  # no figure is narrower than a single panel of the style


def figure_phase_maps(maps: dict, *, kind: str = "alpha-map", title: str = ""):
    """One panel per `PhaseMap` of `maps`: alpha* ("alpha-map") or the gain of alpha* over alpha = 1 ("gain-map").

    alpha* is the closed form of theory/THEORY.md section 3; the maps come from `phase_maps_around`.

    Args:
        maps: dict from the vertical axis name ("n_over_p" or "gamma") to a 2-D `PhaseMap`.
        kind: "alpha-map" or "gain-map" (keyword-only).
        title: a line drawn above the panels; "" for none (keyword-only).

    Returns:
        matplotlib.figure.Figure: the figure, one panel per map.

    Raises:
        ValueError: when `kind` is unknown.
    """
    if kind not in ("alpha-map", "gain-map"):
        raise ValueError(f"kind must be 'alpha-map' or 'gain-map', got {kind!r}")
    draw = plot_alpha_map if kind == "alpha-map" else plot_gain_map
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(1, len(maps), figsize=(max(WIDTH, 5.6 * len(maps)), 4.2),
                                    squeeze=False)
        for ax, (name, phase) in zip(axes[0], maps.items()):
            draw(phase, y=name, ax=ax)
        if title:
            figure.suptitle(title, fontsize=10, wrap=True)
        figure.tight_layout()
    return figure


def figure_amazon_curves(checks, *, splits: int, n: int = 20, columns: int | None = None, isotropic: bool = True):
    """One panel per `PredictionCheck`: the measured curve and the isotropic, covariance-aware and (when computed)
    semi-empirical predictions.

    The predictions are theory/THEORY.md section 2 (isotropic), section 8 (general covariance) and section 9
    (semi-empirical).

    Args:
        checks: list of `PredictionCheck` (from `rmt_alpha.experiments.check_pairs`).
        splits: the number of random splits behind each measured curve, for the title (keyword-only).
        n: the labelled target reviews per split, for the title.
        columns: panels per row (default: all in one row).
        isotropic: also draw the isotropic prediction.

    Returns:
        matplotlib.figure.Figure: the figure, one panel per check.
    """
    columns = len(checks) if columns is None else max(1, min(int(columns), len(checks)))
    rows = -(-len(checks) // columns)
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(rows, columns, figsize=(max(WIDTH, 4.6 * columns), 3.8 * rows),
                                    squeeze=False)
        for ax, check in zip(axes.ravel(), checks):
            plot_amazon_curve(check, ax=ax, isotropic=isotropic)
        for ax in axes.ravel()[len(checks):]:
            ax.set_visible(False)
        figure.suptitle(f"Amazon Review: n = {n} labelled target reviews, {splits} random draws; theory from "
                        "whole-domain statistics (a check of the theory, not a method)", fontsize=10, wrap=True)
        figure.tight_layout()
    return figure


def figure_theory_check(rows: list, *, trials: int):
    """Accuracy against alpha: theory as a line, simulation as points with +-1 s.e. bars (theory/THEORY.md section 2).

    Args:
        rows: the rows of `rmt_alpha.simulate.compare_with_theory` (keys alpha, predicted, measured, stderr).
        trials: Monte-Carlo trials behind each point, for the legend (keyword-only).

    Returns:
        matplotlib.figure.Figure: the figure of the one panel.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from rmt_alpha.plots import figure_theory_check
        >>> rows = [{"alpha": a, "predicted": 0.8, "measured": 0.79, "stderr": 0.01} for a in (0.0, 1.0)]
        >>> figure = figure_theory_check(rows, trials=10)
        >>> figure.axes[0].get_title()
        'alpha-fine-tuning: theory vs simulation'
        >>> plt.close(figure)
    """
    alpha = np.array([row["alpha"] for row in rows])
    measured = EmpiricalCurve(alpha, np.array([row["measured"] for row in rows]),
                              np.array([row["stderr"] for row in rows]), np.empty((0, alpha.size)))
    ax = plot_accuracy_curve(alpha, [row["predicted"] for row in rows], measured,
                             label="theory (deterministic equivalent)",
                             measured_label=f"simulation ({trials} trials, +-1 s.e.)")
    ax.set_title("alpha-fine-tuning: theory vs simulation", wrap=True)
    return ax.figure


def save_and_close(figure, path) -> str:
    """`save_figure`, then close the figure (for scripts that draw many).

    Args:
        figure: the matplotlib Figure (closed even when writing fails).
        path: the output file (.png, .pdf, .svg, ...).

    Returns:
        str: the path written.
    """
    try:
        return save_figure(figure, path)
    finally:
        plt.close(figure)
