"""Panels of the transfer experiments on a real encoder's features: the theory-vs-measurement grid over pairs,
the paired gains of alpha next to the linear prediction, and the learned alphas against their shuffled-label null.
Each takes precomputed rows (from `rmt_alpha.experiments`) and returns the Axes or the Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rmt_alpha.plots._panels import STYLE, plot_amazon_curve


def _axes(ax, size):
    if ax is None:
        with plt.rc_context(STYLE):
            _, ax = plt.subplots(figsize=size)
    return ax


def figure_prediction_grid(checks, *, columns: int = 6):
    """One panel per `PredictionCheck` (measured curve, isotropic and covariance-aware predictions, and the
    semi-empirical one where computed), `columns` per row.

    Args:
        checks: `PredictionCheck`s (e.g. `run_campaign`'s, or `check_from_record` of stored curves), drawn by
            `plot_amazon_curve`.
        columns: panels per row at most (keyword-only).

    Returns:
        matplotlib.figure.Figure: the grid; only the first panel shows a legend, unused panels are hidden.

    Raises:
        ValueError: `checks` is empty.
    """
    checks = list(checks)
    if not checks:
        raise ValueError("checks must hold at least one PredictionCheck, got none")
    rows = -(-len(checks) // columns)
    columns = min(columns, len(checks))
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.9 * rows), squeeze=False)
    for ax, check in zip(axes.flat, checks):
        plot_amazon_curve(check, ax=ax)
        ax.set_title(f"{check.source} -> {check.target} (n={check.n})", fontsize=8, wrap=True)
        ax.legend().set_visible(ax is axes.flat[0])
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(checks):]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure


def plot_paired_gains(paired, link, *, ax=None):
    """Paired gains of alpha per fine-tuned pair (head_alpha - head_lora, alpha_lora - lora, alpha_lora - LoRA
    trained on the held-out rows too, alpha_lora - its shuffled-label null) with 95% CIs, next to the linear theory's
    predicted gain.

    Args:
        paired: rows of `paired_rows` (source, target, method, baseline, mean_difference, ci_low, ci_high).
        link: rows of `theory_link_rows` (source, target, predicted_gain), one per pair, in the order drawn.
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.
    """
    ax = _axes(ax, (7.0, 3.8))
    pairs = [(row["source"], row["target"]) for row in link]
    comparisons = (("head_alpha", "head_lora", "alpha on the head (network)"),
                   ("alpha_lora", "lora", "alpha-LoRA - LoRA"),
                   ("alpha_lora", "lora_more_data", "alpha-LoRA - LoRA on train + held-out"),
                   ("alpha_lora", "alpha_lora_null", "alpha-LoRA - null"))
    width = 0.8 / (len(comparisons) + 1)
    for i, pair in enumerate(pairs):
        theory = link[i].get("predicted_gain")
        if theory is not None:
            ax.bar(i - 0.4 + width / 2, 100 * theory, width, color="0.7",
                   label="linear theory: predicted gain" if i == 0 else None)
        for j, (method, baseline, label) in enumerate(comparisons):
            row = next((r for r in paired if (r["source"], r["target"], r["method"], r["baseline"])
                        == pair + (method, baseline)), None)
            if row is None:
                continue
            x = i - 0.4 + width * (j + 1.5)
            low = row["ci_low"] if row["ci_low"] is not None else row["mean_difference"]
            high = row["ci_high"] if row["ci_high"] is not None else row["mean_difference"]
            ax.errorbar(x, 100 * row["mean_difference"], yerr=[[100 * (row["mean_difference"] - low)],
                                                               [100 * (high - row["mean_difference"])]],
                        fmt="o", color=f"C{j}", capsize=3, label=label if i == 0 else None)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(range(len(pairs)), [f"{s}\n-> {t}" for s, t in pairs], fontsize=8)
    ax.set_ylabel("accuracy gain (points), 95% CI")
    ax.set_title("Gain of alpha: linear prediction vs paired fine-tuning runs", wrap=True)
    ax.legend(fontsize=7)
    return ax


def plot_alpha_spread_vs_null(alpha_null, *, ax=None):
    """Per adapted weight (alpha-LoRA's query/value weights, and the pre-trained head of head_alpha), the learned
    alphas' spread (std over output features) and shift (|mean alpha - 1|) with real and with shuffled held-out
    labels (means over seeds), one colour per pair.

    Args:
        alpha_null: rows of `alpha_null_rows` (source, target, method, weight, spread_real, spread_null,
            shift_real, shift_null).
        ax: the Axes to draw on, or None for a new figure (keyword-only).

    Returns:
        matplotlib.axes.Axes: the Axes drawn on.
    """
    ax = _axes(ax, (7.5, 3.8))
    pairs = list(dict.fromkeys((row["source"], row["target"]) for row in alpha_null))
    for k, pair in enumerate(pairs):
        chosen = [row for row in alpha_null if (row["source"], row["target"]) == pair]
        x = np.arange(len(chosen))
        ax.plot(x, [row["spread_real"] for row in chosen], "o-", color=f"C{k}", label=f"{pair[0]}->{pair[1]}: spread")
        ax.plot(x, [row["spread_null"] for row in chosen], "o:", color=f"C{k}", mfc="none", label="spread, null")
        ax.plot(x, [row["shift_real"] for row in chosen], "s-", color=f"C{k}", alpha=0.5, label="shift |mean - 1|")
        ax.plot(x, [row["shift_null"] for row in chosen], "s:", color=f"C{k}", alpha=0.5, mfc="none",
                label="shift, null")
        names = [row["weight"].replace("blocks/", "").replace("/kernel", "").replace("attn/", "") for row in chosen]
        ax.set_xticks(x, names, rotation=60, fontsize=7)
    ax.set_ylabel("alpha: spread and shift")
    ax.set_title("Learned alphas per adapted weight: real held-out labels vs shuffled (null)", wrap=True)
    ax.legend(fontsize=7, ncol=2)
    return ax
