"""Text tables and result files of a transfer campaign (written atomically)."""

from __future__ import annotations

import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha.experiments._alpha_choices import ALPHA_CHOICES
from rmt_alpha.experiments._campaign import CURVE_PAIRS, CampaignResult

TABLE_METHODS = ("alpha=0", "alpha=1", "alpha* theory", "CV", "pool", "pool covariance", "oracle")


def _pair_name(source: str, target: str) -> str:
    return f"{source}->{target}"


def format_honest(rows, n: int, splits) -> list[str]:
    """The honest table at `n` labelled rows, gammas (1, 1), not whitened: one line per pair, one column per
    method (mean +- standard error over splits), and the mean over pairs."""
    honest = [row for row in rows
              if row["n"] == n and row["source_gamma"] == 1 and row["gamma"] == 1 and not row["whiten"]]
    methods = [m for m in TABLE_METHODS if any(row["method"] == m for row in honest)]
    methods += [m for m in dict.fromkeys(row["method"] for row in honest) if m not in methods
                and not m.startswith("pool (N=")]
    pairs = list(dict.fromkeys((row["source"], row["target"]) for row in honest))
    cell = {(row["source"], row["target"], row["method"]): row for row in honest}
    width = max([18] + [len(_pair_name(*pair)) + 2 for pair in pairs])
    lines = [f"Honest protocol: n = {n}, gammas (1, 1), {splits} splits per pair, plain test accuracy, "
             "mean +- standard error", f"{'pair':{width}s}" + "".join(f"{m:>16s}" for m in methods)]
    for pair in pairs:
        lines.append(f"{_pair_name(*pair):{width}s}" + "".join(
            f"{cell[pair + (m,)]['accuracy']:9.3f}+-{cell[pair + (m,)]['stderr']:.3f}" for m in methods))
    lines.append(f"{'mean':{width}s}" + "".join(
        f"{np.mean([cell[p + (m,)]['accuracy'] for p in pairs]):16.3f}" for m in methods))
    lines.append("Data used: " + "; ".join(f"{m}: {ALPHA_CHOICES[m]}" for m in methods if m in ALPHA_CHOICES))
    return lines


def format_prediction(rows, semi_note: str = "") -> list[str]:
    """Theory vs measurement: per pair, n, centring and preprocessing, the measured and predicted accuracy at
    alpha = 1, the mean and largest |gap| over the alpha grid (isotropic, covariance-aware; semi-empirical where
    computed, else `-` and a footnote saying why: `semi_note`), alpha* of the covariance theory and the measured
    curve's best alpha."""
    at_one = [row for row in rows if row["alpha"] == 1.0]
    width = max([18] + [len(_pair_name(row["source"], row["target"])) + 2 for row in at_one])
    lines = ["Prediction vs measurement (whole-target statistics: a check of the theory, not a method); |gap| in "
             "accuracy over the alpha grid 0..6",
             f"{'pair':{width}s}{'n':>4s}{'centre':>9s}{'prep':>9s}{'a=1 measured':>15s}{'iso':>7s}{'cov':>7s}"
             f"{'mean|gap| iso':>14s}{'cov':>7s}{'max|gap| iso':>13s}{'cov':>7s}{'semi':>7s}{'a* cov':>8s}"
             f"{'best a':>7s}"]
    for row in at_one:
        lines.append(f"{_pair_name(row['source'], row['target']):{width}s}{row.get('n', 20):4d}"
                     f"{row.get('centre', 'mean'):>9s}{'whitened' if row['whiten'] else 'standard':>9s}"
                     f"{row['measured']:9.3f}+-{row['stderr']:.3f}{row['predicted_isotropic']:7.3f}"
                     f"{row['predicted_covariance']:7.3f}{row['mean_abs_gap_isotropic_over_grid']:14.3f}"
                     f"{row['mean_abs_gap_covariance_over_grid']:7.3f}{row['max_abs_gap_isotropic_over_grid']:13.3f}"
                     f"{row['max_abs_gap_covariance_over_grid']:7.3f}"
                     f"{_semi_gap(row):>7s}{row['alpha_star_covariance']:8.2f}{row['measured_best_alpha']:7.1f}")
    if any(_semi_gap(row) == "-" for row in at_one):
        lines.append("semi: " + (semi_note or "- where the semi-empirical theory (theory/THEORY.md section 9) was "
                                              "not computed"))
    return lines


def _semi_gap(row) -> str:
    gap = row.get("max_abs_gap_semi_empirical_over_grid", float("nan"))
    return "-" if np.isnan(gap) else f"{gap:.3f}"


def format_campaign(experiment: CampaignResult) -> str:
    """The main tables of a transfer campaign as text.

    The honest protocol (every n at gammas 1/1), paper mode beside the paper's Table 1 (when run), prediction vs
    measurement, and the averages of every configuration.

    Args:
        experiment: the `CampaignResult` (from `run_amazon_experiment`, `run_digits_experiment` or the text-transfer
            campaign).

    Returns:
        str: the tables, one line per row.
    """
    splits = experiment.settings["splits"]
    lines = []
    for n in dict.fromkeys(row["n"] for row in experiment.tables["honest"]):
        block = format_honest(experiment.tables["honest"], n, splits)
        if len(block) > 3:
            lines += block + [""]
    if "paper_mode" in experiment.tables:
        lines += ["Paper mode (whole-target statistics, max(acc, 1 - acc)) | the paper's Table 1 | plain alpha*",
                  f"{'pair':18s}{'a=0':>7s}{'paper':>7s}{'a=1':>7s}{'paper':>7s}{'a*':>7s}{'paper':>7s}"
                  f"{'alpha*':>8s}{'plain a*':>9s}"]
        for row in experiment.tables["paper_mode"]:
            lines.append(f"{row['source'] + '->' + row['target']:18s}" + "".join(
                f"{row[k + '_max_convention']:7.3f}{row[k + '_paper']:7.3f}" for k in ("alpha0", "alpha1",
                                                                                       "alpha_star"))
                + f"{row['alpha_star']:8.2f}{row['alpha_star_plain']:9.3f}")
        lines.append("")
    lines += format_prediction(experiment.tables["prediction"], experiment.settings.get("semi_empirical", ""))
    lines += ["", "Averages over pairs (per configuration): mean accuracy +- standard error over the pairs"]
    averages = experiment.tables["honest_average"]
    keys = [k for k in averages[0] if k not in ("method", "pairs", "accuracy", "stderr_over_pairs")]
    cells = [[f"{row[k]:g}" if isinstance(row[k], float) else str(row[k]) for k in keys] for row in averages]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    method = max(len("method"), *(len(row["method"]) for row in averages))
    lines.append("  " + "".join(f"{k:>{w}s}  " for k, w in zip(keys, widths)) + f"{'method':{method}s}  accuracy")
    for row, cell in zip(averages, cells):
        lines.append("  " + "".join(f"{c:>{w}s}  " for c, w in zip(cell, widths)) + f"{row['method']:{method}s}  "
                     f"{row['accuracy']:.4f} +- {row['stderr_over_pairs']:.4f}")
    return "\n".join(lines)


def write_campaign(experiment: CampaignResult, out_dir, prefix: str, *, curve_pairs=CURVE_PAIRS) -> list[str]:
    """Write the result files of a transfer campaign, each atomically.

    Every table as `<prefix>_<table>.csv`, all of them with the settings as `<prefix>.json`, and the
    accuracy-vs-alpha curves (measured with standard errors, isotropic and covariance theory) as
    `<prefix>_curves.png`.

    Args:
        experiment: the `CampaignResult` (from `run_amazon_experiment` or `run_digits_experiment`).
        out_dir: the output folder (must exist).
        prefix: the file-name prefix (e.g. "amazon").
        curve_pairs: the (source, target) pairs drawn in the curves figure; when none of them was checked, the
            first three checks (keyword-only).

    Returns:
        list of str: the paths written.
    """
    import csv
    import io
    import json
    import os

    import matplotlib.pyplot as plt

    from rmt_alpha.plots import plot_amazon_curve, save_figure

    paths = []
    for name, rows in experiment.tables.items():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        path = os.path.join(out_dir, f"{prefix}_{name}.csv")
        atomic_write(path, buffer.getvalue())
        paths.append(path)
    payload = {"settings": experiment.settings, "tables": experiment.tables}
    path = os.path.join(out_dir, f"{prefix}.json")
    atomic_write(path, json.dumps(payload, indent=1, default=float, allow_nan=True))
    paths.append(path)
    checks = [c for c in experiment.checks if not c.whiten and c.centre == "mean"]
    checks = [c for c in checks if c.n == checks[0].n] if checks else checks
    chosen = [c for c in checks if (c.source, c.target) in set(curve_pairs)] or checks[:3]
    figure, axes = plt.subplots(1, len(chosen), figsize=(5.0 * len(chosen), 3.8), squeeze=False)
    for ax, check in zip(axes[0], chosen):
        plot_amazon_curve(check, ax=ax)
    path = save_figure(figure, os.path.join(out_dir, f"{prefix}_curves.png"))
    plt.close(figure)
    paths.append(path)
    return paths
