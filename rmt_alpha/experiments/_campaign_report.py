"""Text tables and result files of a transfer campaign (written atomically)."""

from __future__ import annotations

import numpy as np

from rmt_alpha._io import atomic_write
from rmt_alpha.experiments._alpha_choices import ALPHA_CHOICES
from rmt_alpha.experiments._campaign import CURVE_PAIRS, CampaignResult

TABLE_METHODS = ("alpha=0", "alpha=1", "alpha* theory", "CV", "pool", "pool covariance")
REFERENCES = ("oracle", "best fixed alpha", "split-half oracle")
"""The honest table's references (they saw test labels: `rmt_alpha.experiments._references`), its last columns."""


def _pair_name(source: str, target: str) -> str:
    return f"{source}->{target}"


def format_honest(rows, n: int, splits) -> list[str]:
    """The honest table at `n` labelled rows, gammas (1, 1), not whitened: one line per pair, one column per
    method and then per reference (mean +- standard error over splits), the mean over pairs, and the data each saw."""
    honest = [row for row in rows
              if row["n"] == n and row["source_gamma"] == 1 and row["gamma"] == 1 and not row["whiten"]]
    present = dict.fromkeys(row["method"] for row in honest)
    methods = [m for m in TABLE_METHODS if m in present]
    methods += [m for m in present if m not in methods and m not in REFERENCES and not m.startswith("pool (N=")]
    methods += [m for m in REFERENCES if m in present]
    pairs = list(dict.fromkeys((row["source"], row["target"]) for row in honest))
    cell = {(row["source"], row["target"], row["method"]): row for row in honest}
    width = max([18] + [len(_pair_name(*pair)) + 2 for pair in pairs])
    columns = [max(16, len(m) + 1) for m in methods]
    lines = [f"Honest protocol: n = {n}, gammas (1, 1), {splits} splits per pair, plain test accuracy, "
             "mean +- standard error", f"{'pair':{width}s}" + "".join(f"{m:>{c}s}" for m, c in zip(methods, columns))]
    for pair in pairs:
        lines.append(f"{_pair_name(*pair):{width}s}" + "".join(
            f"{cell[pair + (m,)]['accuracy']:{c - 7}.3f}+-{cell[pair + (m,)]['stderr']:.3f}"
            for m, c in zip(methods, columns)))
    lines.append(f"{'mean':{width}s}" + "".join(
        f"{np.mean([cell[p + (m,)]['accuracy'] for p in pairs]):{c}.3f}" for m, c in zip(methods, columns)))
    lines.append("Data used: " + "; ".join(f"{m}: {ALPHA_CHOICES[m]}" for m in methods if m in ALPHA_CHOICES))
    return lines


LAW_LABELS = {"whole-domain": "in-sample", "held-out-half": "held-out", "pseudo-labelled-pool": "pseudo"}
"""How the text tables name each law mode (`rmt_alpha.experiments._laws`)."""


def format_prediction(rows, semi_note: str = "") -> list[str]:
    """Theory vs measurement: per pair, n, centring, preprocessing and law (in-sample or out-of-sample), the
    measured and predicted accuracy at alpha = 1, the mean and largest |gap| over the alpha grid (isotropic,
    covariance-aware; semi-empirical where computed, else `-` and a footnote saying why: `semi_note`), the
    sampling-noise floor (out-of-sample rows; `-` in-sample), alpha* of the covariance theory and the measured
    curve's best alpha."""
    at_one = [row for row in rows if row["alpha"] == 1.0]
    width = max([18] + [len(_pair_name(row["source"], row["target"])) + 2 for row in at_one])
    lines = ["Prediction vs measurement; |gap| in accuracy over the alpha grid 0..6. law: in-sample = the theory is "
             "given the whole target domain (the scored rows included: a check of the theory, not a method); "
             "held-out = law from a random half A, measured on the other half B; pseudo = law from a pool of A "
             "pseudo-labelled by alpha = 1 (per split), measured on B. floor: the largest |difference| of the "
             "measured curve on A less the training rows and on B",
             f"{'pair':{width}s}{'n':>4s}{'centre':>9s}{'prep':>9s}{'law':>10s}{'a=1 measured':>15s}{'iso':>7s}"
             f"{'cov':>7s}{'mean|gap| iso':>14s}{'cov':>7s}{'max|gap| iso':>13s}{'cov':>7s}{'semi':>7s}{'floor':>7s}"
             f"{'a* cov':>8s}{'best a':>7s}"]
    for row in at_one:
        law = LAW_LABELS[row.get("law", "whole-domain")]
        lines.append(f"{_pair_name(row['source'], row['target']):{width}s}{row.get('n', 20):4d}"
                     f"{row.get('centre', 'mean'):>9s}{'whitened' if row['whiten'] else 'standard':>9s}{law:>10s}"
                     f"{row['measured']:9.3f}+-{row['stderr']:.3f}{row['predicted_isotropic']:7.3f}"
                     f"{row['predicted_covariance']:7.3f}{row['mean_abs_gap_isotropic_over_grid']:14.3f}"
                     f"{row['mean_abs_gap_covariance_over_grid']:7.3f}{row['max_abs_gap_isotropic_over_grid']:13.3f}"
                     f"{row['max_abs_gap_covariance_over_grid']:7.3f}"
                     f"{_number(row, 'max_abs_gap_semi_empirical_over_grid'):>7s}"
                     f"{_number(row, 'noise_floor_max_over_grid'):>7s}"
                     f"{row['alpha_star_covariance']:8.2f}{row['measured_best_alpha']:7.1f}")
    if any(_number(row, "max_abs_gap_semi_empirical_over_grid") == "-" for row in at_one):
        lines.append("semi: " + (semi_note or "- where the semi-empirical theory (theory/THEORY.md section 9) was "
                                              "not computed"))
    return lines


def _number(row, key: str) -> str:
    value = row.get(key, float("nan"))
    return "-" if np.isnan(value) else f"{value:.3f}"


SMALL_LOSS = 0.001
"""A loss at alpha* of at most 0.1 point counts as finding the best alpha (the tables' "pairs within" column)."""


def fidelity_summary(rows) -> list[dict]:
    """Theory vs measurement averaged over pairs, one row per configuration and law mode (in-sample whole-domain,
    held-out half, pseudo-labelled pool), so that in-sample and out-of-sample numbers are never pooled.

    Per theory (isotropic, covariance, semi_empirical): the mean over pairs of each pair's mean |gap|, largest |gap|
    and mean signed gap over the alpha grid (split by split in the pseudo-labelled mode), of |alpha* - the measured
    curve's best grid alpha|, of the measured loss at alpha* against that best, and the pairs whose loss is at most
    `SMALL_LOSS`; beside them the mean sampling-noise floor (largest and mean |difference| of the two halves' curves;
    NaN in-sample) and the mean pseudo-label accuracy.

    Args:
        rows: the "prediction" table (`campaign_tables`).

    Returns:
        list of dict, one per (n, centre, whiten, law).
    """
    groups: dict = {}
    for row in rows:
        if row["alpha"] == 1.0:
            key = (row["n"], row["centre"], row["whiten"], row.get("law", "whole-domain"))
            groups.setdefault(key, []).append(row)
    out = []
    for (n, centre, whiten, law), members in groups.items():
        def mean(key, members=members):
            return float(np.mean([member[key] for member in members]))

        summary = {"n": n, "centre": centre, "whiten": whiten, "law": law,
                   "in_sample": law == "whole-domain", "pairs": len(members)}
        for theory in ("isotropic", "covariance", "semi_empirical"):
            for kind in ("mean_abs_gap", "max_abs_gap", "mean_gap"):
                summary[f"{kind}_{theory}"] = mean(f"{kind}_{theory}_over_grid")
            if theory != "isotropic":
                summary[f"abs_alpha_star_error_{theory}"] = float(np.mean(
                    [abs(m[f"alpha_star_{theory}"] - m["measured_best_alpha"]) for m in members]))
                summary[f"loss_at_alpha_star_{theory}"] = mean(f"loss_at_alpha_star_{theory}")
                summary[f"pairs_within_0.1pt_{theory}"] = sum(
                    1 for m in members if m[f"loss_at_alpha_star_{theory}"] <= SMALL_LOSS)
        summary["noise_floor_max"] = mean("noise_floor_max_over_grid")
        summary["noise_floor_mean"] = mean("noise_floor_mean_over_grid")
        summary["pseudo_label_accuracy"] = mean("pseudo_label_accuracy")
        out.append(summary)
    return out


def format_fidelity(summary) -> list[str]:
    """`fidelity_summary` as text, in points of accuracy: per configuration and law, the covariance-aware and the
    semi-empirical theory's mean and largest |gap| over the alpha grid beside the sampling-noise floor, the mean
    |alpha* - best grid alpha|, the loss at alpha* and the pairs within 0.1 point."""
    lines = ["Fidelity over pairs (points of accuracy; mean over pairs). in-sample: the law is the whole target "
             "domain, the scored rows included; held-out / pseudo: out-of-sample (law from half A, measured on "
             "half B). floor: the same curve on A's rest against B",
             f"{'n':>4s}{'law':>10s}{'pairs':>6s}{'cov mean|gap|':>14s}{'max':>6s}{'semi mean|gap|':>15s}{'max':>6s}"
             f"{'floor mean':>11s}{'max':>6s}{'|da*| cov':>10s}{'semi':>6s}{'loss cov':>9s}{'semi':>6s}"
             f"{'<=0.1pt cov':>12s}{'semi':>6s}"]

    def points(value, width=6):
        return f"{'-':>{width}s}" if np.isnan(value) else f"{100 * value:{width}.2f}"

    for row in summary:
        lines.append(f"{row['n']:4d}{LAW_LABELS[row['law']]:>10s}{row['pairs']:6d}"
                     f"{points(row['mean_abs_gap_covariance'], 14)}{points(row['max_abs_gap_covariance'])}"
                     f"{points(row['mean_abs_gap_semi_empirical'], 15)}{points(row['max_abs_gap_semi_empirical'])}"
                     f"{points(row['noise_floor_mean'], 11)}{points(row['noise_floor_max'])}"
                     f"{row['abs_alpha_star_error_covariance']:10.2f}{row['abs_alpha_star_error_semi_empirical']:6.2f}"
                     f"{points(row['loss_at_alpha_star_covariance'], 9)}"
                     f"{points(row['loss_at_alpha_star_semi_empirical'])}"
                     f"{row['pairs_within_0.1pt_covariance']:12d}{row['pairs_within_0.1pt_semi_empirical']:6d}")
    return lines


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
    checks = [c for c in checks if c.law == checks[0].law] if checks else checks   # one law per figure
    checks = [c for c in checks if c.n == checks[0].n] if checks else checks
    chosen = [c for c in checks if (c.source, c.target) in set(curve_pairs)] or checks[:3]
    figure, axes = plt.subplots(1, len(chosen), figsize=(5.0 * len(chosen), 3.8), squeeze=False)
    for ax, check in zip(axes[0], chosen):
        plot_amazon_curve(check, ax=ax)
    path = save_figure(figure, os.path.join(out_dir, f"{prefix}_curves.png"))
    plt.close(figure)
    paths.append(path)
    return paths
