"""Phase maps: alpha* and the gain of alpha* over alpha = 1 over (beta, n / p) or (beta, gamma), with the region where
plain fine-tuning is worse than ignoring the source hatched."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np

from rmt_alpha.plots._panels import STYLE, _axes

_MAP_AXES = {"n_over_p": ("n / p (target samples per dimension)", "log"),
             "gamma": ("gamma (fine-tuning ridge strength)", "log")}


_NEGATIVE_TRANSFER = "alpha = 1 worse than alpha = 0"


GAIN_FLOOR_POINTS = 0.01                          # gain map: smallest gain (accuracy points) with its own colour


GAIN_CONTOURS_POINTS = (0.1, 0.5, 1, 2, 5, 10, 20)  # gain map: labelled contours (accuracy points)


def _map_coordinates(phase, y: str):
    if y not in _MAP_AXES:
        raise ValueError(f"y must be one of {sorted(_MAP_AXES)}, got {y!r}")
    beta, other = np.asarray(phase.beta), np.asarray(getattr(phase, y))
    if beta.ndim != 2 or beta.shape != other.shape or np.ptp(beta) == 0 or np.ptp(other) == 0:
        raise ValueError(f"the PhaseMap must be a 2-D grid varying in beta and in {y}, got beta of shape "
                         f"{beta.shape} and {y} of shape {other.shape}")
    return beta, other


def _finish_map(ax, image, phase, beta, other, y, colorbar_label):
    advantage = np.asarray(phase.accuracy_one) - np.asarray(phase.accuracy_zero)  # < 0: negative transfer
    if np.any(advantage < 0):
        ax.contourf(beta, other, advantage, levels=[float(advantage.min()) - 1.0, 0.0], colors="none",
                    hatches=["////"])
        ax.contour(beta, other, advantage, levels=[0.0], colors="k", linewidths=0.8)
    label, scale = _MAP_AXES[y]
    ax.set_yscale(scale)
    ax.set_xlabel("beta = <mu_s, mu_t> / |mu_s|^2 (task alignment)")
    ax.set_ylabel(label)
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    handles = [matplotlib.patches.Patch(facecolor="none", edgecolor="k", hatch="////", label=_NEGATIVE_TRANSFER)]
    handles = handles + ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(handles),
              frameon=False, fontsize=7.5, handlelength=2.5)


def plot_alpha_map(phase, *, y="n_over_p", ax=None):
    """alpha* over (beta, y), with the alpha* = 1 contour.

    The region where alpha = 1 is worse than alpha = 0 is hatched. alpha* is the closed form of
    theory/THEORY.md section 3.

    Args:
        phase: a 2-D `PhaseMap` (from `phase_map` on a meshgrid of beta and `y`).
        y: the vertical coordinate, "n_over_p" or "gamma" (log scale; keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: when `y` is unknown or `phase` is not a 2-D grid varying in beta and in `y`.
    """
    beta, other = _map_coordinates(phase, y)
    ax = _axes(ax)
    alpha_star = np.asarray(phase.alpha_star)
    finite = alpha_star[np.isfinite(alpha_star)]
    low, high = float(finite.min()), float(finite.max())
    norm = (matplotlib.colors.TwoSlopeNorm(vcenter=1.0, vmin=low, vmax=high) if low < 1.0 < high
            else matplotlib.colors.Normalize(low, high))
    with plt.rc_context(STYLE):
        image = ax.pcolormesh(beta, other, alpha_star, shading="auto", cmap="RdBu_r", norm=norm)
        for level, style in ((1.0, "-"), (0.0, ":")):
            if low < level < high:
                ax.contour(beta, other, alpha_star, levels=[level], colors="dimgrey", linestyles=style,
                           linewidths=1.2)
                ax.plot([], [], color="dimgrey", linestyle=style, label=f"alpha* = {level:g}")
        _finish_map(ax, image, phase, beta, other, y, "alpha* (best rescaling)")
    return ax


def plot_gain_map(phase, *, y="n_over_p", ax=None):
    """The accuracy gained by alpha* over plain fine-tuning (alpha = 1), in percentage points, over (beta, y).

    The region where alpha = 1 is worse than alpha = 0 is hatched. The colour scale is logarithmic (gains below
    `GAIN_FLOOR_POINTS` share the darkest colour); white contours at `GAIN_CONTOURS_POINTS`. theory/THEORY.md
    section 3.

    Args:
        phase: a 2-D `PhaseMap` (from `phase_map` on a meshgrid of beta and `y`).
        y: the vertical coordinate, "n_over_p" or "gamma" (log scale; keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: when `y` is unknown or `phase` is not a 2-D grid varying in beta and in `y`.
    """
    beta, other = _map_coordinates(phase, y)
    ax = _axes(ax)
    gain = 100.0 * np.asarray(phase.gain_over_one)
    floor = GAIN_FLOOR_POINTS
    norm = matplotlib.colors.LogNorm(vmin=floor, vmax=max(float(gain.max()), 10 * floor), clip=True)
    with plt.rc_context(STYLE):
        image = ax.pcolormesh(beta, other, np.maximum(gain, floor), shading="auto", cmap="viridis", norm=norm)
        levels = [level for level in GAIN_CONTOURS_POINTS if gain.min() < level < gain.max()]
        if levels:
            lines = ax.contour(beta, other, gain, levels=levels, colors="white", linewidths=0.8)
            ax.clabel(lines, fmt=lambda value: f"{value:g}", fontsize=7)
        _finish_map(ax, image, phase, beta, other, y, "accuracy(alpha*) - accuracy(1)  [points, log scale]")
    return ax
