"""The registered analysis of the transformer case (theory/transformer_registration.md, section "Analysis"): paired
differences per arm, their pooled mean over arms with its Welch–Satterthwaite interval, Holm's correction of the
primary comparison over the arms, the theory's sign per arm, and the markdown of it all."""

from __future__ import annotations

import numpy as np

from rmt_alpha.experiments._finetune_report import paired_difference
from rmt_alpha.experiments._text_finetune import LORA_MORE_DATA

PRIMARY = ("alpha_lora", LORA_MORE_DATA)
SECONDARY = (("alpha_lora", "lora"), ("dora", "lora"), ("frozen_ridge_choose_alpha", "lora"),
             ("frozen_ridge_choose_alpha", "frozen_ridge_alpha1"), ("head_alpha", "head_lora"),
             ("alpha_lora", "alpha_lora_null"))
# which registered prediction each comparison is checked against (theory/transformer_registration.md)
PREDICTION_OF = {PRIMARY: "predicted_gain_over_control", ("alpha_lora", "lora"): "predicted_gain_covariance",
                 ("frozen_ridge_choose_alpha", "frozen_ridge_alpha1"): "predicted_gain_covariance"}
PRECISION = 0.005      # the registered pooled 95% half-width: 0.5 pt


def pooled_difference(rows: list[dict], *, level: float = 0.95) -> dict:
    """The mean over arms of the per-arm mean differences, `D = sum_i D_i / k`, with `se = sqrt(sum_i se_i^2) / k`,
    the two-sided `level` interval `D +- t(nu) se` and the p-value of `D / se` against Student's t with nu from the
    Welch–Satterthwaite formula `nu = (sum_i se_i^2)^2 / sum_i (se_i^4 / (m_i - 1))` (m_i seeds on arm i).

    Args:
        rows: one `paired_difference` row per arm (mean_difference, stderr, seeds).
        level: the interval's coverage.

    Returns:
        dict: arms, mean_difference, stderr, df, ci_low, ci_high, half_width, t, p_value (None where undefined:
        an arm with fewer than two seeds or no spread).

    Example:
        >>> from rmt_alpha.experiments._case_report import pooled_difference
        >>> row = pooled_difference([{"mean_difference": 0.01, "stderr": 0.003, "seeds": 60},
        ...                          {"mean_difference": 0.0, "stderr": 0.004, "seeds": 60}])
        >>> round(row["mean_difference"], 4), round(row["stderr"], 4)     # 0.005 and sqrt(0.003^2 + 0.004^2) / 2
        (0.005, 0.0025)
    """
    import scipy.stats

    row = {"arms": len(rows), "mean_difference": float(np.mean([r["mean_difference"] for r in rows])),
           "stderr": None, "df": None, "ci_low": None, "ci_high": None, "half_width": None, "t": None,
           "p_value": None}
    if not rows or any(not r["stderr"] or r["seeds"] < 2 for r in rows):
        return row
    variances = np.array([r["stderr"] ** 2 for r in rows])
    seeds = np.array([r["seeds"] for r in rows], np.float64)
    stderr = float(np.sqrt(variances.sum()) / len(rows))
    df = float(variances.sum() ** 2 / np.sum(variances ** 2 / (seeds - 1)))
    half = float(scipy.stats.t.ppf(0.5 + level / 2, df)) * stderr
    t = row["mean_difference"] / stderr
    row.update(stderr=stderr, df=df, ci_low=row["mean_difference"] - half, ci_high=row["mean_difference"] + half,
               half_width=half, t=t, p_value=float(2 * scipy.stats.t.sf(abs(t), df)))
    return row


def holm(p_values) -> list:
    """Holm's step-down adjusted p-values (None stays None): the k-th smallest of m is `max_{j <= k} min(1,
    (m - j + 1) p_(j))`."""
    known = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted, running = [None] * len(p_values), 0.0
    for rank, (p, index) in enumerate(sorted(known)):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[index] = running
    return adjusted


def sign_verdict(predicted, ci_low, ci_high) -> str:
    """"supported" when the interval lies entirely on the predicted side of 0, "contradicted" when entirely on the
    other side, "not resolved" otherwise (or without an interval or a prediction)."""
    if predicted is None or ci_low is None or not np.isfinite(predicted) or predicted == 0:
        return "not resolved"
    if ci_low > 0 or ci_high < 0:
        return "supported" if (ci_low > 0) == (predicted > 0) else "contradicted"
    return "not resolved"


def case_tables(runs: list, arms: list, predictions: list) -> dict:
    """The registered tables: per arm and comparison the paired difference (with the Holm-adjusted p of the primary
    one and the theory's sign verdict where a prediction is registered), and per comparison the pooled difference
    with the precision criterion.

    Args:
        runs: run records (`run_method`), every arm and seed done so far.
        arms: `(source, target)` of each arm, in the plan's order.
        predictions: `plan_predictions` rows, one per arm.

    Returns:
        {"paired": per-arm rows, "pooled": per-comparison rows}.
    """
    by_arm = {(p["source"], p["target"]): p for p in predictions}
    paired, pooled = [], []
    for method, baseline in (PRIMARY,) + SECONDARY:
        rows = []
        for source, target in arms:
            def chosen(name):
                return {r["seed"]: r["test_accuracy"] for r in runs
                        if (r["source"], r["target"], r["method"]) == (source, target, name)}

            a, b = chosen(method), chosen(baseline)
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            row = {"source": source, "target": target, "method": method, "baseline": baseline,
                   **paired_difference([a[s] for s in seeds], [b[s] for s in seeds])}
            key = PREDICTION_OF.get((method, baseline))
            if key is not None and (source, target) in by_arm:
                row["predicted"] = by_arm[(source, target)][key]
                row["sign"] = sign_verdict(row["predicted"], row["ci_low"], row["ci_high"])
            rows.append(row)
        if (method, baseline) == PRIMARY:
            for row, adjusted in zip(rows, holm([r["p_value"] for r in rows])):
                row["holm_p_value"] = adjusted
        paired += rows
        if rows:
            total = pooled_difference(rows)
            pooled.append({"method": method, "baseline": baseline, "primary": (method, baseline) == PRIMARY,
                           "seeds_per_arm": [r["seeds"] for r in rows], **total,
                           "precision_met": None if total["half_width"] is None
                           else bool(total["half_width"] <= PRECISION)})
    return {"paired": paired, "pooled": pooled}


def _pt(value, spec="+.2f"):
    return "n/a" if value is None or not np.isfinite(value) else format(100 * value, spec)


def case_markdown(tables: dict, method_table: list, status: dict) -> str:
    """The registered analysis in markdown: completeness, the pooled and per-arm comparisons, the methods."""
    state = ("complete: the registered analysis" if status["complete"] else
             f"INCOMPLETE ({status['units_done']} of {status['units_total']} units): progress only, no claim")
    lines = ["# The transformer case: alpha-LoRA inside all-MiniLM-L6-v2 (registered plan)", "",
             f"Plan: theory/transformer_registration.md. Status: {state}. Code: version {status['version']}, "
             f"commit {status['commit']}; the units were computed on {', '.join(status['platforms'])} by "
             f"{len(status['unit_commits'])} commit(s) (each unit records its own).", "",
             "Pooled over arms (mean of per-arm means; Welch–Satterthwaite t interval), in points of test accuracy:",
             "", "| comparison | seeds per arm | mean | 95% CI | half-width | p | precision <= 0.5 pt |",
             "|---|---|---|---|---|---|---|"]
    for row in tables["pooled"]:
        name = f"{row['method']} - {row['baseline']}" + (" (primary)" if row["primary"] else "")
        lines.append(f"| {name} | {row['seeds_per_arm']} | {_pt(row['mean_difference'])} | "
                     f"[{_pt(row['ci_low'])}, {_pt(row['ci_high'])}] | {_pt(row['half_width'], '.2f')} | "
                     f"{'n/a' if row['p_value'] is None else format(row['p_value'], '.3f')} | "
                     f"{'n/a' if row['precision_met'] is None else ('yes' if row['precision_met'] else 'no')} |")
    lines += ["", "Per arm (paired t over seeds; the theory's registered prediction for the ridge head on the frozen "
              "features beside the comparisons it is registered for):", "",
              "| arm | comparison | seeds | mean | 95% CI | p | Holm p | predicted | sign |",
              "|---|---|---|---|---|---|---|---|---|"]
    for row in tables["paired"]:
        holm_p = row.get("holm_p_value")
        lines.append(f"| {row['source']}->{row['target']} | {row['method']} - {row['baseline']} | {row['seeds']} | "
                     f"{_pt(row['mean_difference'])} | [{_pt(row['ci_low'])}, {_pt(row['ci_high'])}] | "
                     f"{'n/a' if row['p_value'] is None else format(row['p_value'], '.3f')} | "
                     f"{'' if holm_p is None else format(holm_p, '.3f')} | {_pt(row.get('predicted'))} | "
                     f"{row.get('sign', '')} |")
    lines += ["", "Methods (test accuracy mean +- s.e. over seeds; seconds per run on the machines that ran them; "
              "trainable parameters):", "", "| arm | method | seeds | test | s/run | trainable |",
              "|---|---|---|---|---|---|"]
    for row in method_table:
        stderr = "n/a" if row["test_stderr"] is None else f"{row['test_stderr']:.4f}"
        lines.append(f"| {row['source']}->{row['target']} | {row['method']} | {row['seeds']} | "
                     f"{row['test_mean']:.4f} +- {stderr} | {row['wall_time_mean']:.2f} | {row['trainable']} |")
    return "\n".join(lines) + "\n"


__all__ = ["PRECISION", "PRIMARY", "SECONDARY", "case_markdown", "case_tables", "holm", "pooled_difference",
           "sign_verdict"]
