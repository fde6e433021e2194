"""Tables and figures of the text-transfer experiment: per-method summaries over paired seeds, paired differences
with confidence intervals and tests, learned alphas against the shuffled-label null, and the linear theory's
prediction next to the measured fine-tuning gains (theory/THEORY.md sections 7 and 8)."""

from __future__ import annotations

import numpy as np

from rmt_alpha.experiments._finetune_report import paired_difference
from rmt_alpha.experiments._text_finetune import COMPARISONS, LORA_MORE_DATA, NULLS


def _pairs(runs) -> list:
    return list(dict.fromkeys((run["source"], run["target"]) for run in runs))


def _by_seed(runs, pair, method) -> dict:
    return {run["seed"]: run for run in runs if (run["source"], run["target"]) == pair and run["method"] == method}


def method_rows(runs, resources: dict) -> list[dict]:
    """Per pair and method: test accuracy (mean +- s.e. over seeds), validation accuracy, steps and alpha updates
    in the returned state, wall time per run, trainable parameters and the compiled step's memory."""
    rows = []
    for pair in _pairs(runs):
        for method in dict.fromkeys(run["method"] for run in runs):
            chosen = list(_by_seed(runs, pair, method).values())
            if not chosen:
                continue
            test = np.array([run["test_accuracy"] for run in chosen])
            memory = resources.get(method, {})
            rows.append({"source": pair[0], "target": pair[1], "method": method, "seeds": len(chosen),
                         "test_mean": float(test.mean()),
                         "test_stderr": float(test.std(ddof=1) / np.sqrt(test.size)) if test.size > 1 else None,
                         "val_mean": float(np.mean([run["val_accuracy"] for run in chosen])),
                         "steps_mean": float(np.mean([run["steps"] for run in chosen])),
                         "alpha_updates_mean": float(np.mean([run["alpha_updates"] for run in chosen])),
                         "wall_time_mean": float(np.mean([run["wall_time"] for run in chosen])),
                         "trainable": chosen[0]["trainable"],
                         "step_memory_mib": (sum(memory.get(k, 0) for k in ("argument_bytes", "output_bytes",
                                                                           "temp_bytes")) / 2**20) or None})
    return rows


def paired_rows(runs, comparisons=COMPARISONS) -> list[dict]:
    """Per pair and comparison (method, baseline) run on the same seeds: `paired_difference` of test accuracy."""
    rows = []
    for pair in _pairs(runs):
        for method, baseline in comparisons:
            a, b = _by_seed(runs, pair, method), _by_seed(runs, pair, baseline)
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            stats = paired_difference([a[s]["test_accuracy"] for s in seeds], [b[s]["test_accuracy"] for s in seeds])
            rows.append({"source": pair[0], "target": pair[1], "method": method, "baseline": baseline, **stats})
    return rows


def alpha_null_rows(runs) -> list[dict]:
    """Learned alphas against the null, per pair and adapted weight: over seeds, the mean of each run's spread
    (std over output features) and of its shift |mean alpha - 1|, with real labels and with the held-out labels
    shuffled, and the paired difference of the spreads (real - null, same seeds)."""
    rows = []
    for pair in _pairs(runs):
        for null, real in NULLS.items():
            a, b = _by_seed(runs, pair, real), _by_seed(runs, pair, null)
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            for path in a[seeds[0]]["alpha"]:
                spread_real = [a[s]["alpha"][path]["std"] for s in seeds]
                spread_null = [b[s]["alpha"][path]["std"] for s in seeds]
                shift_real = [abs(a[s]["alpha"][path]["mean"] - 1.0) for s in seeds]
                shift_null = [abs(b[s]["alpha"][path]["mean"] - 1.0) for s in seeds]
                spread = paired_difference(spread_real, spread_null)
                shift = paired_difference(shift_real, shift_null)
                rows.append({"source": pair[0], "target": pair[1], "method": real, "weight": path,
                             "seeds": len(seeds), "mean_alpha_real": float(np.mean([a[s]["alpha"][path]["mean"]
                                                                                  for s in seeds])),
                             "mean_alpha_null": float(np.mean([b[s]["alpha"][path]["mean"] for s in seeds])),
                             "spread_real": float(np.mean(spread_real)), "spread_null": float(np.mean(spread_null)),
                             "spread_difference": spread["mean_difference"], "spread_t": spread["t"],
                             "spread_p_value": spread["p_value"],
                             "shift_real": float(np.mean(shift_real)), "shift_null": float(np.mean(shift_null)),
                             "shift_difference": shift["mean_difference"], "shift_t": shift["t"],
                             "shift_p_value": shift["p_value"],
                             "alpha_updates_mean": float(np.mean([a[s]["alpha_updates"] for s in seeds]))})
    return rows


def theory_link_rows(prediction_rows, paired: list, runs, n: int) -> list[dict]:
    """Per fine-tuned pair: the linear theory's covariance-aware alpha* and predicted gain of alpha* over alpha = 1
    at `n` labelled rows (whole-target statistics, centre "mean"), the gain measured on the linear model (the
    encoder features' curve), and the measured gains of alpha in the network (head_alpha - head_lora, alpha_lora -
    lora, and alpha_lora - lora_more_data: LoRA given the held-out rows alpha's optimizer saw; with 95% CIs), the
    gain of choose_alpha's alpha over alpha = 1 for the ridge head on the frozen features on the same seeds' rows
    (frozen_ridge_choose_alpha - frozen_ridge_alpha1), and the learned head alpha with its shuffled-label null."""
    rows = []
    by_pair = {(r["source"], r["target"]): r for r in prediction_rows
               if r["alpha"] == 1.0 and r["n"] == n and r.get("centre", "mean") == "mean" and not r["whiten"]}
    gains = {(r["source"], r["target"], r["method"], r["baseline"]): r for r in paired}
    for pair in _pairs(runs):
        theory = by_pair.get(pair)
        row = {"source": pair[0], "target": pair[1], "n": n}
        if theory is not None:
            row.update(alpha_star_covariance=theory["alpha_star_covariance"],
                       predicted_gain=theory["predicted_gain_covariance"],
                       measured_linear_gain=theory["measured_gain_at_alpha_star_covariance"])
        for key, (method, baseline) in (("head", ("head_alpha", "head_lora")), ("encoder", ("alpha_lora", "lora")),
                                        ("encoder_control", ("alpha_lora", LORA_MORE_DATA)),
                                        ("frozen", ("frozen_ridge_choose_alpha", "frozen_ridge_alpha1"))):
            gain = gains.get(pair + (method, baseline))
            if gain is not None:
                row.update({f"{key}_gain": gain["mean_difference"], f"{key}_ci_low": gain["ci_low"],
                            f"{key}_ci_high": gain["ci_high"], f"{key}_p_value": gain["p_value"]})
        head = [run["head_alpha"] for run in _by_seed(runs, pair, "head_alpha").values()]
        null = [run["head_alpha"] for run in _by_seed(runs, pair, "head_alpha_null").values()]
        row["learned_head_alpha"] = float(np.mean(head)) if head else None
        row["learned_head_alpha_null"] = float(np.mean(null)) if null else None
        rows.append(row)
    return rows


def _fmt(value, spec=".4f"):
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else format(value, spec)


def markdown_report(method_table, paired, alpha_null, link, settings: dict, timings: dict) -> str:
    """The fine-tuning tables in markdown: methods, paired differences, alphas vs the null, theory vs network."""
    lines = ["# alpha-LoRA inside all-MiniLM-L6-v2 on review-text transfer pairs", "",
             f"Per seed: {settings['n_train']} labelled target rows, {settings['n_held_out']} held-out (alpha's "
             f"optimizer only), {settings['n_val']} validation (early stopping), {settings['pool_size']} unlabelled "
             f"(standardisation), {settings['n_test']} test; {settings['seeds']} paired seeds; sequences cut at "
             f"{settings['max_length']} tokens.", "",
             "| pair | method | test (mean +- s.e.) | val | steps kept | alpha updates kept | trainable | "
             "step memory MiB | s/run |", "|---|---|---|---|---|---|---|---|---|"]
    for row in method_table:
        lines.append(f"| {row['source']}->{row['target']} | {row['method']} | {row['test_mean']:.4f} +- "
                     f"{_fmt(row['test_stderr'])} | {row['val_mean']:.3f} | {row['steps_mean']:.1f} | "
                     f"{row['alpha_updates_mean']:.1f} | {row['trainable']} | {_fmt(row['step_memory_mib'], '.2f')} | "
                     f"{row['wall_time_mean']:.1f} |")
    lines += ["", "Paired differences (same seed: same rows, initialisation and batch order); 95% t interval, "
              "paired t-test:", "", "| pair | method - baseline | mean diff | 95% CI | t | p | wins/losses/ties |",
              "|---|---|---|---|---|---|---|"]
    for row in paired:
        lines.append(f"| {row['source']}->{row['target']} | {row['method']} - {row['baseline']} | "
                     f"{row['mean_difference']:+.4f} | [{_fmt(row['ci_low'], '+.4f')}, {_fmt(row['ci_high'], '+.4f')}]"
                     f" | {_fmt(row['t'], '+.2f')} | {_fmt(row['p_value'], '.3f')} | "
                     f"{row['wins']}/{row['losses']}/{row['ties']} |")
    lines += ["", "Learned alphas against the null (held-out labels shuffled): spread = std over a weight's output "
              "features, shift = |mean alpha - 1|, means over seeds; paired t of real - null:", "",
              "| pair | method | weight | mean alpha real / null | spread real / null | t | shift real / null | t |",
              "|---|---|---|---|---|---|---|---|"]
    for row in alpha_null:
        lines.append(f"| {row['source']}->{row['target']} | {row['method']} | {row['weight']} | "
                     f"{row['mean_alpha_real']:.4f} / {row['mean_alpha_null']:.4f} | {row['spread_real']:.4f} / "
                     f"{row['spread_null']:.4f} | {_fmt(row['spread_t'], '+.2f')} | {row['shift_real']:.4f} / "
                     f"{row['shift_null']:.4f} | {_fmt(row['shift_t'], '+.2f')} |")
    lines += ["", "The linear theory (covariance-aware, whole-target statistics, same encoder features and n) against "
              "the measured gains of alpha:", "",
              "| pair | n | alpha* | predicted gain | linear measured | head_alpha - head_lora [95% CI] | "
              "alpha_lora - lora [95% CI] | alpha_lora - lora_more_data [95% CI] | frozen ridge: choose_alpha - "
              "alpha = 1 [95% CI] | learned head alpha (null) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in link:
        gains = " | ".join(
            f"{_fmt(row.get(f'{key}_gain'), '+.4f')} [{_fmt(row.get(f'{key}_ci_low'), '+.4f')}, "
            f"{_fmt(row.get(f'{key}_ci_high'), '+.4f')}]" for key in ("head", "encoder", "encoder_control", "frozen"))
        lines.append(f"| {row['source']}->{row['target']} | {row['n']} | "
                     f"{_fmt(row.get('alpha_star_covariance'), '.2f')} | "
                     f"{_fmt(row.get('predicted_gain'), '+.4f')} | "
                     f"{_fmt(row.get('measured_linear_gain'), '+.4f')} | {gains} | "
                     f"{_fmt(row['learned_head_alpha'], '.3f')} ({_fmt(row['learned_head_alpha_null'], '.3f')}) |")
    lines += ["", "Timings (seconds): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())]
    return "\n".join(lines) + "\n"


__all__ = ["alpha_null_rows", "markdown_report", "method_rows", "paired_rows",
           "theory_link_rows"]
