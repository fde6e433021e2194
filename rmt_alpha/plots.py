"""Theory-vs-empirics figures (matplotlib). Functions take precomputed results and an optional `ax`, draw, and
return the Axes; they never compute theory and never call `plt.show()`. Save with `save_figure` (atomic)."""

from __future__ import annotations

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from rmt_alpha.results import EmpiricalCurve

STYLE = {
    "figure.figsize": (5.5, 3.8), "figure.dpi": 110, "savefig.dpi": 150, "font.size": 10,
    "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.6,
}


def _axes(ax):
    if ax is not None:
        return ax
    with plt.rc_context(STYLE):
        _, ax = plt.subplots()
    return ax


def plot_accuracy_curve(alpha, predicted, measured: EmpiricalCurve | None = None, *, alpha_star=None,
                        alpha_bar=None, label="theory", measured_label="simulation", color=None, ax=None):
    """Accuracy against alpha: the theory as a line, measurements as points with +-1 standard-error bars.

    Args:
        alpha, predicted: the theory curve, shapes (k,).
        measured: an `EmpiricalCurve` (its own alphas), or None.
        alpha_star, alpha_bar: optional vertical markers (best alpha; accuracy 1/2).
    Returns:
        the Axes.
    """
    ax = _axes(ax)
    with plt.rc_context(STYLE):
        line, = ax.plot(alpha, predicted, color=color, label=label)
        color = line.get_color()
        if measured is not None:
            ax.errorbar(measured.alpha, measured.mean, yerr=measured.stderr, fmt="o", ms=3.5, capsize=2,
                        color=color, alpha=0.85, label=measured_label)
        if alpha_star is not None and np.isfinite(alpha_star):
            ax.axvline(alpha_star, color=color, linestyle="--", linewidth=1, label=f"alpha* = {alpha_star:.3g}")
        if alpha_bar is not None and np.isfinite(alpha_bar) and np.min(alpha) <= alpha_bar <= np.max(alpha):
            ax.axvline(alpha_bar, color="grey", linestyle=":", linewidth=1, label=f"accuracy 1/2 at {alpha_bar:.3g}")
        ax.set_xlabel("alpha (rescaling of the source classifier)")
        ax.set_ylabel("test accuracy")
        ax.legend(loc="best", frameon=False)
    return ax


def save_figure(figure, path) -> str:
    """Write `figure` to `path` (format from the extension: .png, .pdf, .svg) atomically; returns the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1] or ".png"
    handle, temporary = tempfile.mkstemp(suffix=suffix, dir=directory)
    os.close(handle)
    try:
        figure.savefig(temporary, bbox_inches="tight", format=suffix.lstrip("."))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path
