"""Theory-vs-empirics figures (matplotlib). Functions take precomputed results and an optional `ax`, draw, and
return the Axes; they never compute theory and never call `plt.show()`. Save with `save_figure` (atomic).

What each function expects (and where it comes from):
- `plot_accuracy_curve`: a theory curve (`predicted_accuracy`) and an `EmpiricalCurve` (`rmt_alpha.simulate`).
- `plot_decision_histogram`: `rmt_alpha._phase.DecisionValues` and the two moments of `margin_moments`.
- `plot_gap_vs_dimension`: theory-minus-simulation gaps with standard errors, one per dimension p.
- `plot_amazon_curve`: one `rmt_alpha.experiments.PredictionCheck` (measured curve, isotropic, covariance and,
  when computed, semi-empirical theory).
- `plot_method_comparison`: the rows of the Amazon experiment's `honest` table (`rmt_alpha.experiments.summary_rows`).
- `plot_alpha_statistics`: the `runs` of the transformer experiment's `results.json` (per adapted weight: mean,
  std, min, max of the learned alphas).
"""

from __future__ import annotations

import io
import os

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats

from rmt_alpha._io import atomic_write
from rmt_alpha._results import EmpiricalCurve

STYLE = {  # 8 x 5 inches saved at 150 dpi: 1200 x 750 pixels (titles are set with wrap=True, so that they fit)
    "figure.figsize": (8.0, 5.0), "figure.dpi": 110, "savefig.dpi": 150, "font.size": 10,
    "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.6,
}
"""The matplotlib rc settings every figure is drawn with."""


def _axes(ax):
    """`ax`, or the Axes of a new figure of the style's size. The figure is created outside `rc_context` on
    purpose: a figure created inside one stops Jupyter's inline backend from showing any later figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=STYLE["figure.figsize"], dpi=STYLE["figure.dpi"], layout="constrained")
    ax.grid(STYLE["axes.grid"], alpha=STYLE["grid.alpha"])       # what rc_context would have set at creation
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_accuracy_curve(alpha, predicted, measured: EmpiricalCurve | None = None, *, alpha_star=None,
                        alpha_bar=None, label="theory", measured_label="simulation", color=None,
                        star_label="alpha*", ax=None):
    """Accuracy against alpha: the theory as a line, measurements as points with +-1 standard-error bars.

    The theory is `Phi(E / sqrt(E2 - E^2))` of theory/THEORY.md section 2, precomputed by `predicted_accuracy`.

    Args:
        alpha: (k,) the alphas of the theory curve.
        predicted: (k,) the predicted accuracy at those alphas.
        measured: an `EmpiricalCurve` (with its own alphas), or None for the theory alone.
        alpha_star: optional vertical marker at the best alpha (keyword-only; NaN or None: no marker).
        alpha_bar: optional vertical marker where the accuracy is 1/2, drawn when inside the alpha range
            (keyword-only).
        label: legend name of the theory line (keyword-only).
        measured_label: legend name of the measured points (keyword-only).
        color: matplotlib colour of the line, points and alpha* marker; None for the next in the cycle
            (keyword-only).
        star_label: legend name of the alpha* marker (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from rmt_alpha.plots import plot_accuracy_curve
        >>> ax = plot_accuracy_curve([0.0, 1.0, 2.0], [0.7, 0.8, 0.78], alpha_star=1.2)
        >>> ax.get_xlabel()
        'alpha (rescaling of the source classifier)'
        >>> plt.close(ax.figure)
    """
    ax = _axes(ax)
    with plt.rc_context(STYLE):
        line, = ax.plot(alpha, predicted, color=color, label=label)
        color = line.get_color()
        if measured is not None:
            ax.errorbar(measured.alpha, measured.mean, yerr=measured.stderr, fmt="o", ms=3.5, capsize=2,
                        color=color, alpha=0.85, label=measured_label)
        if alpha_star is not None and np.isfinite(alpha_star):
            ax.axvline(alpha_star, color=color, linestyle="--", linewidth=1, label=f"{star_label} = {alpha_star:.3g}")
        if alpha_bar is not None and np.isfinite(alpha_bar) and np.min(alpha) <= alpha_bar <= np.max(alpha):
            ax.axvline(alpha_bar, color="grey", linestyle=":", linewidth=1, label=f"accuracy 1/2 at {alpha_bar:.3g}")
        ax.set_xlabel("alpha (rescaling of the source classifier)")
        ax.set_ylabel("test accuracy")
        ax.legend(loc="best", frameon=False)
    return ax


def plot_decision_histogram(values, mean, variance, *, bins=60, ax=None):
    """Histogram of the decision `g = w_alpha^T x` per class against the predicted `N(y E[y g], Var[g])`.

    Given `w_alpha`, `g | y` is Gaussian; its deterministic equivalent has mean `y E[y g]` and variance
    `E[g^2] - E[y g]^2` (theory/THEORY.md sections 1 and 2).

    Args:
        values: a `DecisionValues` (alpha, decision (n_test,), labels (n_test,) in {-1, +1}).
        mean: the predicted `E[y g]` at that alpha (`margin_moments(...).mean`).
        variance: the predicted `Var[g]` at that alpha (`margin_moments(...).variance`), >= 0.
        bins: number of histogram bins, shared by both classes (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.
    """
    ax = _axes(ax)
    decision, labels = np.asarray(values.decision), np.asarray(values.labels)
    mean, std = float(mean), float(np.sqrt(variance))
    edges = np.histogram_bin_edges(decision, bins=bins)
    grid = np.linspace(edges[0], edges[-1], 400)
    with plt.rc_context(STYLE):
        for label, color in ((-1, "tab:blue"), (+1, "tab:orange")):
            ax.hist(decision[labels == label], bins=edges, density=True, color=color, alpha=0.35,
                    label=f"y = {label:+d}: simulation")
            ax.plot(grid, scipy.stats.norm.pdf(grid, label * mean, std), color=color,
                    label=f"y = {label:+d}: N({label * mean:+.2f}, {std:.2f}^2) theory")
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"decision value g = w^T x  (alpha = {values.alpha:.3g})")
        ax.set_ylabel("density (per class)")
        ax.legend(loc="upper left", frameon=False, fontsize=7.5)
    return ax


def plot_gap_vs_dimension(p, gap, stderr, *, label="simulation - theory", ax=None):
    """Theory-minus-simulation gaps against the dimension p (log scale), with +-2 standard-error bars.

    Args:
        p: (k,) the dimensions.
        gap: `measured - predicted`, shape (k,), or (k, j) for j curves.
        stderr: standard errors of the gaps, same shape as `gap`.
        label: legend label, or a list of j labels (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: when the shapes of `p`, `gap`, `stderr` and the labels do not match.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from rmt_alpha.plots import plot_gap_vs_dimension
        >>> ax = plot_gap_vs_dimension([100, 400], [0.002, -0.001], [0.001, 0.001])
        >>> len(ax.get_xticks())
        2
        >>> plt.close(ax.figure)
    """
    ax = _axes(ax)
    p = np.asarray(p, dtype=float)
    gap, stderr = np.atleast_2d(np.asarray(gap, float).T).T, np.atleast_2d(np.asarray(stderr, float).T).T
    labels = [label] if isinstance(label, str) else list(label)
    if gap.shape != stderr.shape or gap.shape[0] != p.size or len(labels) != gap.shape[1]:
        raise ValueError(f"p (length {p.size}), gap {gap.shape}, stderr {stderr.shape} and {len(labels)} labels "
                         "do not match")
    offsets = np.linspace(-0.03, 0.03, gap.shape[1]) if gap.shape[1] > 1 else [0.0]
    with plt.rc_context(STYLE):
        for column, (name, offset) in enumerate(zip(labels, offsets)):
            ax.errorbar(p * 10**offset, gap[:, column], yerr=2 * stderr[:, column], fmt="o-", ms=3.5, capsize=2,
                        label=name)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xticks(p, [f"{value:g}" for value in p])
        ax.minorticks_off()
        ax.set_xlabel("dimension p (n, N grow with it)")
        ax.set_ylabel("accuracy gap (+-2 s.e.)")
        ax.legend(loc="best", frameon=False)
    return ax


def plot_amazon_curve(check, *, ax=None, isotropic: bool = True):
    """One Amazon pair: the measured accuracy against alpha (mean +-1 s.e. over splits) and the isotropic,
    covariance-aware and semi-empirical predictions (theory/THEORY.md sections 2, 8 and 9).

    Args:
        check: a `rmt_alpha.experiments.PredictionCheck` (or any object with its fields: source, target, alpha,
            measured (`EmpiricalCurve`), predicted_isotropic, predicted_covariance, alpha_star_isotropic,
            alpha_star_covariance, and optionally predicted_semi_empirical, alpha_star_semi_empirical); NaN or
            missing predictions are skipped.
        ax: the Axes to draw on (a new figure when None).
        isotropic: also draw the isotropic prediction.
    Returns:
        the Axes.
    """
    ax = _axes(ax)
    if isotropic:
        plot_accuracy_curve(check.alpha, check.predicted_isotropic, alpha_star=check.alpha_star_isotropic,
                            label="theory (isotropic)", star_label="alpha* isotropic", color="tab:blue", ax=ax)
    if np.all(np.isfinite(check.predicted_covariance)):
        plot_accuracy_curve(check.alpha, check.predicted_covariance, alpha_star=check.alpha_star_covariance,
                            label="theory (covariance)", star_label="alpha* covariance", color="tab:red", ax=ax)
    semi = getattr(check, "predicted_semi_empirical", None)
    if semi is not None and np.all(np.isfinite(semi)):
        plot_accuracy_curve(check.alpha, semi, alpha_star=getattr(check, "alpha_star_semi_empirical", None),
                            label="theory (semi-empirical)", star_label="alpha* semi-empirical", color="tab:green",
                            ax=ax)
    with plt.rc_context(STYLE):
        measured = check.measured
        ax.errorbar(measured.alpha, measured.mean, yerr=measured.stderr, fmt="o", ms=3, capsize=1.5, color="black",
                    label="measured (test rows, +-1 s.e.)")
        ax.legend(loc="lower right", frameon=False)
        ax.set_title(f"{check.source} -> {check.target}" + (" (whitened)" if check.whiten else ""), wrap=True)
    return ax


def plot_method_comparison(rows, *, methods=None, ax=None):
    """Test accuracy of each way of choosing alpha, per source -> target pair (mean +-1 s.e. over splits).

    Args:
        rows: dicts with keys source, target, method, accuracy, stderr (the `honest` table of the Amazon
            experiment, filtered to one configuration).
        methods: the methods to show, in order; None for every method in the rows, in order of appearance
            (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: when `rows` is empty.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from rmt_alpha.plots import plot_method_comparison
        >>> rows = [{"source": "books", "target": "dvd", "method": "alpha=1", "accuracy": 0.7, "stderr": 0.01}]
        >>> ax = plot_method_comparison(rows)
        >>> [tick.get_text() for tick in ax.get_xticklabels()]
        ['books->dvd']
        >>> plt.close(ax.figure)
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows must hold at least one result row, got none")
    pairs = list(dict.fromkeys((row["source"], row["target"]) for row in rows))
    methods = list(methods) if methods is not None else list(dict.fromkeys(row["method"] for row in rows))
    cell = {(row["source"], row["target"], row["method"]): row for row in rows}
    ax = _axes(ax)
    offsets = np.linspace(-0.3, 0.3, len(methods)) if len(methods) > 1 else [0.0]
    with plt.rc_context(STYLE):
        for method, offset in zip(methods, offsets):
            present = [(i, cell[pair + (method,)]) for i, pair in enumerate(pairs) if pair + (method,) in cell]
            if not present:
                continue
            ax.errorbar([i + offset for i, _ in present], [float(r["accuracy"]) for _, r in present],
                        yerr=[float(r["stderr"]) for _, r in present], fmt="o", ms=3.5, capsize=2, label=method)
        ax.set_xticks(np.arange(len(pairs)))
        ax.set_xticklabels([f"{s}->{t}" for s, t in pairs], rotation=45, ha="right")
        ax.set_ylabel("target test accuracy")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return ax


def plot_alpha_statistics(runs, *, method="alpha_lora", ax=None):
    """The learned alphas of alpha-LoRA per adapted weight, per sharing level (theory/THEORY.md section 7).

    Per weight: the mean over seeds of the weight's mean alpha, the within-weight spread (mean std, error bars) and
    the range over features and seeds (thin line); alpha = 1 (LoRA) as a reference line.

    Args:
        runs: the `runs` of the transformer experiment's `results.json`: dicts with keys method, sharing and alpha
            (`{weight path: {"mean", "std", "min", "max"}}`).
        method: which runs to show (keyword-only).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Raises:
        ValueError: when no run of `method` has learned alphas.
    """
    chosen = [run for run in runs if run.get("method") == method and run.get("alpha")]
    if not chosen:
        raise ValueError(f"runs hold no {method!r} run with learned alphas")
    paths = sorted(chosen[0]["alpha"])
    levels = sorted({float(run["sharing"]) for run in chosen})
    ax = _axes(ax)
    offsets = np.linspace(-0.15, 0.15, len(levels)) if len(levels) > 1 else [0.0]
    with plt.rc_context(STYLE):
        for level, offset in zip(levels, offsets):
            rows = [run for run in chosen if float(run["sharing"]) == level]
            table = {key: np.array([[run["alpha"][path][key] for path in paths] for run in rows])
                     for key in ("mean", "std", "min", "max")}
            x = np.arange(len(paths)) + offset
            bars = ax.errorbar(x, table["mean"].mean(axis=0), yerr=table["std"].mean(axis=0), fmt="o", ms=4,
                               capsize=2, label=f"sharing {level:.2f} ({len(rows)} seed{'s' * (len(rows) > 1)})")
            ax.vlines(x, table["min"].min(axis=0), table["max"].max(axis=0), color=bars[0].get_color(),
                      alpha=0.35, linewidth=1)
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--", label="alpha = 1 (LoRA)")
        ax.set_xticks(np.arange(len(paths)))
        ax.set_xticklabels([_short_path(path) for path in paths], rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("learned alpha (bar: mean within-weight std;\nline: min to max)")
        ax.legend(loc="best", frameon=False)
    return ax


def _short_path(path: str) -> str:
    return path.replace("blocks/", "b").replace("/kernel", "").replace("attention", "attn")


def plot_accuracy_vs_sharing(summary, methods, *, ax=None):
    """Target test accuracy of each fine-tuning method against the sharing knob (mean +-1 s.e. over seeds).

    Args:
        summary: the `summary` rows of the transformer experiment (dicts with method, sharing, test_mean,
            test_stderr).
        methods: the methods to draw, in order.
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from rmt_alpha.plots import plot_accuracy_vs_sharing
        >>> summary = [{"method": "lora", "sharing": s, "test_mean": 0.8, "test_stderr": 0.01} for s in (0.0, 1.0)]
        >>> ax = plot_accuracy_vs_sharing(summary, ["lora"])
        >>> len(ax.containers)
        1
        >>> plt.close(ax.figure)
    """
    ax = _axes(ax)
    with plt.rc_context(STYLE):
        for method in methods:
            rows = sorted((r for r in summary if r["method"] == method), key=lambda r: r["sharing"])
            ax.errorbar([r["sharing"] for r in rows], [r["test_mean"] for r in rows],
                        yerr=[r["test_stderr"] or 0.0 for r in rows], marker="o", ms=4, capsize=3, label=method)
        ax.set_xlabel("sharing (fraction of target sentiment words seen in the source)")
        ax.set_ylabel("target test accuracy")
        ax.legend(loc="best", frameon=False)
    return ax


def save_figure(figure, path) -> str:
    """Write `figure` to `path` atomically (`rmt_alpha._io.atomic_write`), the format from the extension, at the
    style's `savefig.dpi` (150: a figure of the style's size is 1200 pixels wide) wherever it is called from.

    Args:
        figure: the matplotlib Figure.
        path: the output file (.png, .pdf, .svg, ...; no extension: PNG data).

    Returns:
        str: the path written.
    """
    suffix = os.path.splitext(os.fspath(path))[1] or ".png"
    buffer = io.BytesIO()
    figure.savefig(buffer, bbox_inches="tight", format=suffix.lstrip("."), dpi=STYLE["savefig.dpi"])
    return atomic_write(path, buffer.getvalue())
