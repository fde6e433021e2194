"""Tables of the fine-tuning experiments (synthetic transformer and GLUE): per-method summaries over paired seeds,
paired differences against LoRA, and their markdown rendering."""

from __future__ import annotations

import json

import numpy as np


def _stderr(values: np.ndarray):
    """Standard error of the mean, `std(ddof=1) / sqrt(k)`; None for a single value (undefined)."""
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None


def method_summaries(group: dict, rows_by_method: dict, test_accuracy) -> tuple[list, list]:
    """Summary rows (test mean +- s.e. over seeds, mean validation accuracy, trainable count, wall time) and paired
    differences against "lora" (same seed: same data, initialisation and batch order) for one group of runs.

    Args:
        group: the keys that identify the group, copied into every row (e.g. `{"sharing": 0.25}`).
        rows_by_method: method name -> run dicts (seed, val_accuracy, trainable, wall_time, ...).
        test_accuracy: run dict -> its test accuracy in this group.
    """
    summary, paired, tests = [], [], {}
    for method, rows in rows_by_method.items():
        rows = sorted(rows, key=lambda run: run["seed"])
        test = tests[method] = np.array([test_accuracy(run) for run in rows])
        summary.append({**group, "method": method, "seeds": len(rows), "test_mean": float(test.mean()),
                        "test_stderr": _stderr(test), "val_mean": float(np.mean([r["val_accuracy"] for r in rows])),
                        "trainable": rows[0]["trainable"],
                        "wall_time_mean": float(np.mean([r["wall_time"] for r in rows]))})
    for method, test in tests.items():
        if method == "lora" or "lora" not in tests:
            continue
        diff = test - tests["lora"]
        stderr = _stderr(diff)
        paired.append({**group, "method": method, "baseline": "lora", "mean_difference": float(diff.mean()),
                       "stderr": stderr, "t": float(diff.mean() / stderr) if stderr else None,
                       "wins": int(np.sum(diff > 0)), "losses": int(np.sum(diff < 0))})
    return summary, paired


def markdown_table(preamble: str, group_key: str, group_format: str, summary: list, paired: list,
                   parameters: dict, pairing: str) -> str:
    """The results table and the paired-difference table in markdown, grouped by `group_key` (formatted with
    `group_format`, e.g. "{:.2f}"), after a `preamble` that says which data each method saw."""
    def group(row):
        return group_format.format(row[group_key])

    lines = [preamble, "", f"| {group_key.replace('_', ' ')} | method | test accuracy (mean +- s.e.) | val | "
             "trainable params | wall s/run |", "|---|---|---|---|---|---|"]
    for row in summary:
        stderr = f"{row['test_stderr']:.4f}" if row["test_stderr"] is not None else "n/a"
        lines.append(f"| {group(row)} | {row['method']} | {row['test_mean']:.4f} +- {stderr} | "
                     f"{row['val_mean']:.4f} | {row['trainable']} | {row['wall_time_mean']:.1f} |")
    if paired:
        lines += ["", f"Paired differences against LoRA ({pairing}):", "",
                  f"| {group_key.replace('_', ' ')} | method | mean diff | s.e. | diff / s.e. | wins/losses |",
                  "|---|---|---|---|---|---|"]
        for row in paired:
            stderr = f"{row['stderr']:.4f}" if row["stderr"] is not None else "n/a"
            t = f"{row['t']:+.2f}" if row["t"] is not None else "n/a"
            lines.append(f"| {group(row)} | {row['method']} | {row['mean_difference']:+.4f} | {stderr} | {t} | "
                         f"{row['wins']}/{row['losses']} |")
    lines += ["", f"Parameters: {json.dumps(parameters)}"]
    return "\n".join(lines) + "\n"


def paired_difference(values, baseline, *, level: float = 0.95) -> dict:
    """Paired comparison of two methods over the same seeds: the mean difference, its standard error, a t
    confidence interval at `level`, Student's paired t statistic and two-sided p-value (scipy.stats.ttest_rel),
    and the wins / losses / ties.

    Args:
        values, baseline: (k,) accuracies of the two methods, seed by seed.
    Returns:
        dict with mean_difference, stderr, ci_low, ci_high, t, p_value, wins, losses, ties, seeds (None where
        undefined: fewer than two seeds, or every difference equal).
    """
    import scipy.stats

    values, baseline = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
    if values.shape != baseline.shape or values.ndim != 1 or values.size == 0:
        raise ValueError(f"values and baseline must be 1-D of the same length, got {values.shape} and "
                         f"{baseline.shape}")
    diff = values - baseline
    row = {"seeds": int(diff.size), "mean_difference": float(diff.mean()), "stderr": _stderr(diff), "ci_low": None,
           "ci_high": None, "t": None, "p_value": None, "wins": int(np.sum(diff > 0)),
           "losses": int(np.sum(diff < 0)), "ties": int(np.sum(diff == 0))}
    if diff.size > 1 and row["stderr"]:
        half = float(scipy.stats.t.ppf(0.5 + level / 2, diff.size - 1)) * row["stderr"]
        test = scipy.stats.ttest_rel(values, baseline)
        row.update(ci_low=row["mean_difference"] - half, ci_high=row["mean_difference"] + half,
                   t=float(test.statistic), p_value=float(test.pvalue))
    return row
