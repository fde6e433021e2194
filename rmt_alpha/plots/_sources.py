"""Several sources (theory/THEORY.md section 10): the predicted accuracy over the alpha plane for K = 2, with the
Monte-Carlo check, and over the simplex of directions for K = 3."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.tri
import numpy as np

from rmt_alpha.plots._panels import STYLE, _axes

CONTOUR_DEPTH = 0.1  # the plane's colour scale covers the top 10 points of accuracy (lower values share a colour)
GAP_LIMIT_SE = 4.0  # the gap colour scale: +-4 standard errors (false alarm 6e-5 per point beyond it)


def _grid(name, values, shape=None):
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite, got non-finite entries")
    if shape is not None and values.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {values.shape}")
    return values


def plot_sources_plane(alpha_1, alpha_2, accuracy, alpha_star, *, points=None, measured=None, stderr=None,
                       predicted=None, ax=None):
    """The predicted accuracy `Phi(a^T t / sqrt(t^T B t))`, `t = (1, alpha_1, alpha_2)`, over the alpha plane of
    two sources (filled contours), alpha* marked, and the Monte-Carlo measurements as markers coloured by
    `(measured - predicted) / stderr` (theory/THEORY.md sections 10.1 and 10.3).

    Args:
        alpha_1: (g1,) the first source's alphas (horizontal axis).
        alpha_2: (g2,) the second source's alphas (vertical axis).
        accuracy: (g2, g1) the predicted accuracy at `(alpha_1[j], alpha_2[i])` (row i, column j).
        alpha_star: (2,) the optimal alpha (`optimal_alpha([w_1, w_2], target)`), drawn as a star.
        points: optional (m, 2) alphas where the accuracy was measured (keyword-only; with `measured`, `stderr`
            and `predicted`).
        measured: (m,) the measured mean accuracy at `points`.
        stderr: (m,) its standard error (> 0).
        predicted: (m,) the predicted accuracy at `points`.
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: shapes that do not match, non-finite values, a non-finite alpha_star or some but not all of
            the measurement arguments.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.plots import plot_sources_plane
        >>> a1, a2 = np.linspace(-1, 2, 5), np.linspace(-1, 2, 4)
        >>> ax = plot_sources_plane(a1, a2, np.full((4, 5), 0.7) + 0.01 * a1, [0.5, 0.5])
        >>> ax.get_xlabel()
        'alpha_1 (first source)'
    """
    alpha_1, alpha_2 = _grid("alpha_1", alpha_1), _grid("alpha_2", alpha_2)
    if alpha_1.ndim != 1 or alpha_2.ndim != 1 or alpha_1.size < 2 or alpha_2.size < 2:
        raise ValueError(f"alpha_1 and alpha_2 must be 1-D grids of at least 2 points, got shapes {alpha_1.shape} "
                         f"and {alpha_2.shape}")
    accuracy = _grid("accuracy", accuracy, (alpha_2.size, alpha_1.size))
    alpha_star = _grid("alpha_star", alpha_star, (2,))
    given = [value is not None for value in (points, measured, stderr, predicted)]
    if any(given) and not all(given):
        raise ValueError("points, measured, stderr and predicted must be given together, got "
                         f"{dict(zip(('points', 'measured', 'stderr', 'predicted'), given))}")
    if all(given):
        points = _grid("points", points)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must have shape (m, 2), got {points.shape}")
        m = (points.shape[0],)
        measured, stderr, predicted = (_grid(name, value, m) for name, value in
                                       (("measured", measured), ("stderr", stderr), ("predicted", predicted)))
        if np.any(stderr <= 0):
            raise ValueError(f"stderr must be > 0, got a minimum of {stderr.min()}")
        gap = (measured - predicted) / stderr
    ax = _axes(ax)
    with plt.rc_context(STYLE):
        top = float(accuracy.max())
        levels = np.linspace(min(max(float(accuracy.min()), top - CONTOUR_DEPTH), top - 1e-9), top, 21)
        image = ax.contourf(alpha_1, alpha_2, accuracy, levels=levels, cmap="viridis", extend="min")
        ax.figure.colorbar(image, ax=ax, label="predicted accuracy", format="%.3f")
        ax.axhline(0.0, color="white", linewidth=0.6, alpha=0.6)
        ax.axvline(0.0, color="white", linewidth=0.6, alpha=0.6)
        ax.plot([alpha_star[0]], [alpha_star[1]], marker="*", markersize=15, color="red", markeredgecolor="white",
                linestyle="none", label=f"alpha* = ({alpha_star[0]:.2f}, {alpha_star[1]:.2f})")
        if all(given):
            norm = matplotlib.colors.Normalize(-GAP_LIMIT_SE, GAP_LIMIT_SE)
            dots = ax.scatter(points[:, 0], points[:, 1], c=np.clip(gap, -GAP_LIMIT_SE, GAP_LIMIT_SE), cmap="RdBu_r",
                              norm=norm, s=45, edgecolors="k", linewidths=0.6,
                              label=f"simulation (largest |gap| {np.abs(gap).max():.1f} s.e.)")
            ax.figure.colorbar(dots, ax=ax, label="(measured - predicted) / s.e.")
        ax.set_xlabel("alpha_1 (first source)")
        ax.set_ylabel("alpha_2 (second source)")
        ax.grid(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=7.5)
    return ax


def simplex_xy(directions):
    """Barycentric (m, 3) directions (rows on the simplex) to the plane: corners (0, 0), (1, 0), (1/2, sqrt(3)/2)."""
    directions = np.asarray(directions, dtype=np.float64)
    return directions[..., 1] + directions[..., 2] / 2.0, directions[..., 2] * np.sqrt(3.0) / 2.0


def plot_sources_simplex(directions, accuracy, best, *, labels=("source 1", "source 2", "source 3"), ax=None):
    """The predicted accuracy of three sources over the simplex of directions `d = alpha / |alpha|_1`, `alpha >= 0`,
    each at its optimal scale (`max_c Phi(r(1, c d))`, the one-source alpha* of the combined source `W d`), with the
    best direction marked (theory/THEORY.md section 10.3).

    Args:
        directions: (m, 3) points of the simplex (nonnegative rows summing to 1), at least 3 of them.
        accuracy: (m,) the predicted accuracy at each direction's optimal scale.
        best: (3,) the best nonnegative alpha (`prepare(W, target).optimal_alpha(nonnegative=True)`); it is drawn at
            `best / sum(best)` (alpha = 0, the target alone, is drawn nowhere).
        labels: the three corners' names (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: wrong shapes, non-finite values, rows off the simplex or a negative `best`.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.plots import plot_sources_simplex
        >>> d = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]])
        >>> ax = plot_sources_simplex(d, [0.7, 0.75, 0.72, 0.8], [1.0, 1.0, 1.0])
        >>> len(ax.lines) >= 1
        True
    """
    directions = _grid("directions", directions)
    if directions.ndim != 2 or directions.shape[1] != 3 or directions.shape[0] < 3:
        raise ValueError(f"directions must have shape (m, 3) with m >= 3, got {directions.shape}")
    if np.any(directions < -1e-12) or np.max(np.abs(directions.sum(axis=1) - 1.0)) > 1e-9:
        raise ValueError("directions must be nonnegative rows summing to 1 (points of the simplex)")
    accuracy = _grid("accuracy", accuracy, (directions.shape[0],))
    best = _grid("best", best, (3,))
    if np.any(best < 0):
        raise ValueError(f"best must be nonnegative (the best alpha >= 0), got {best.tolist()}")
    ax = _axes(ax)
    x, y = simplex_xy(directions)
    with plt.rc_context(STYLE):
        image = ax.tricontourf(matplotlib.tri.Triangulation(x, y), accuracy, levels=20, cmap="viridis")
        ax.figure.colorbar(image, ax=ax, label="predicted accuracy at the optimal scale")
        corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0], [0.0, 0.0]])
        ax.plot(corners[:, 0], corners[:, 1], color="k", linewidth=0.8)
        for (cx, cy), label, offset in zip(corners[:3], labels, ((-0.04, -0.07), (0.04, -0.07), (0.0, 0.04))):
            ax.annotate(label, (cx + offset[0], cy + offset[1]), ha="center", fontsize=8)
        if best.sum() > 0:
            bx, by = simplex_xy(best / best.sum())
            shares = ", ".join(f"{value:.2f}" for value in best / best.sum())
            ax.plot([bx], [by], marker="*", markersize=15, color="red", markeredgecolor="white", linestyle="none",
                    label=f"best direction ({shares}), |alpha*|_1 = {best.sum():.2f}")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04), frameon=False, fontsize=7.5)
        ax.set_aspect("equal")
        ax.set_xlim(-0.1, 1.1)
        ax.set_ylim(-0.1, 0.95)
        ax.axis("off")
    return ax
