"""`rmt-alpha`: the command line. Thin: each subcommand calls library functions and prints text or `--json`.

Statistics come from flags, from a JSON file (`--config FILE`, same keys as the flags with underscores, or
`source_mean` / `target_mean` vectors), or from the embedded default (THEORY.md section 3's example).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from rmt_alpha.optimize import alpha_bar, optimal_alpha
from rmt_alpha.stats import SourceStats, TargetStats, alignment
from rmt_alpha.theory import predicted_accuracy, source_accuracy

DEFAULT_CONFIG = {
    "p": 400, "source_norm": 1.5, "beta": 0.8, "perp_norm": 0.6,
    "source_n": 2000, "n": 100, "source_gamma": 1.0, "gamma": 1.0,
}
_CONFIG_KEYS = set(DEFAULT_CONFIG) | {"source_mean", "target_mean"}


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that describe a source/target pair (each overrides `--config`, which overrides the default)."""
    group = parser.add_argument_group("statistics (default: THEORY.md's example)")
    group.add_argument("--config", metavar="FILE.json", help="JSON file with any of the keys below, or "
                       "'source_mean' and 'target_mean' vectors")
    group.add_argument("--p", type=int, help="dimension (default 400)")
    group.add_argument("--source-norm", type=float, help="|mu_s| (default 1.5)")
    group.add_argument("--beta", type=float, help="<mu_s, mu_t> / |mu_s|^2 (default 0.8)")
    group.add_argument("--perp-norm", type=float, help="|mu_perp| (default 0.6)")
    group.add_argument("--source-n", type=int, help="source sample count N (default 2000)")
    group.add_argument("--n", type=int, help="target sample count n (default 100)")
    group.add_argument("--source-gamma", type=float, help="source ridge strength (default 1)")
    group.add_argument("--gamma", type=float, help="fine-tuning ridge strength (default 1)")


def stats_from_args(args: argparse.Namespace) -> tuple[SourceStats, TargetStats]:
    """Build `(SourceStats, TargetStats)` from the default, then `--config`, then the flags."""
    config = dict(DEFAULT_CONFIG)
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            loaded = json.load(handle)
        if not isinstance(loaded, dict):
            raise ValueError(f"--config must hold a JSON object, got {type(loaded).__name__} in {args.config}")
        unknown = sorted(set(loaded) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"--config {args.config}: unknown keys {unknown}; allowed: {sorted(_CONFIG_KEYS)}")
        config.update(loaded)
    for key in DEFAULT_CONFIG:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    if "source_mean" in config or "target_mean" in config:
        if not ("source_mean" in config and "target_mean" in config):
            raise ValueError("--config must give both 'source_mean' and 'target_mean', or neither")
        clashing = [key for key in ("p", "source_norm", "beta", "perp_norm")
                    if key in loaded or getattr(args, key, None) is not None]
        if clashing:
            raise ValueError(f"--config gives mean vectors, which fix {clashing}; drop those keys or flags")
        source = SourceStats(config["source_mean"], config["source_n"], config["source_gamma"])
        target = TargetStats(config["target_mean"], config["n"], config["gamma"])
        return source, target
    source = SourceStats.from_norm(config["p"], config["source_norm"], config["source_n"], config["source_gamma"])
    target = TargetStats.from_alignment(config["p"], config["source_norm"], config["beta"], config["perp_norm"],
                                        config["n"], config["gamma"])
    return source, target


def _describe(source: SourceStats, target: TargetStats) -> dict:
    source_norm, beta, perp_norm = alignment(source, target)
    return {"p": source.p, "source_n": source.n, "n": target.n, "source_gamma": source.gamma,
            "gamma": target.gamma, "source_norm": source_norm, "beta": beta, "perp_norm": perp_norm}


def _emit(payload: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(lines))


def _check_trials_for_stderr(trials) -> None:
    """Theory-vs-simulation gaps are in standard errors, which need at least two trials."""
    if isinstance(trials, int) and trials < 2:
        raise ValueError(f"--trials must be >= 2 (a standard error needs two trials), got {trials}")


def cmd_optimal_alpha(args) -> None:
    source, target = stats_from_args(args)
    best = optimal_alpha(source, target)
    payload = {"config": _describe(source, target), "alpha_star": best, "alpha_bar": alpha_bar(source, target),
               "accuracy_at_alpha_star": float(predicted_accuracy(source, target, best))}
    _emit(payload, args.json, [f"alpha* = {best:.6g}   predicted accuracy {payload['accuracy_at_alpha_star']:.4f}",
                               f"alpha_bar (accuracy 1/2) = {payload['alpha_bar']:.6g}"])


def cmd_curve(args) -> None:
    source, target = stats_from_args(args)
    alpha = np.linspace(args.alpha_min, args.alpha_max, args.num)
    accuracy = predicted_accuracy(source, target, alpha)
    payload = {"config": _describe(source, target), "alpha": alpha.tolist(), "accuracy": accuracy.tolist()}
    _emit(payload, args.json, ["alpha      accuracy"] + [f"{a:8.4f}   {acc:.4f}" for a, acc in zip(alpha, accuracy)])


def cmd_demo(args) -> None:
    from rmt_alpha.reference import monte_carlo_accuracy

    _check_trials_for_stderr(args.trials)
    source, target = stats_from_args(args)
    best = optimal_alpha(source, target)
    alphas = np.array([0.0, 1.0, best])
    predicted = predicted_accuracy(source, target, alphas)
    measured = monte_carlo_accuracy(source, target, alphas, trials=args.trials, random_state=args.seed)
    gaps = (measured.mean - predicted) / measured.stderr
    payload = {"config": _describe(source, target), "source_accuracy": source_accuracy(source),
               "alpha_star": best, "trials": args.trials, "seed": args.seed,
               "rows": [{"alpha": float(a), "predicted": float(p), "measured": float(m), "stderr": float(s),
                         "gap_in_stderr": float(g)}
                        for a, p, m, s, g in zip(alphas, predicted, measured.mean, measured.stderr, gaps)]}
    config = payload["config"]
    lines = [f"rmt_alpha demo: p={config['p']}, N={config['source_n']}, n={config['n']}, |mu_s|="
             f"{config['source_norm']:.3g}, beta={config['beta']:.3g}, |mu_perp|={config['perp_norm']:.3g}, "
             f"gamma_s={config['source_gamma']:.3g}, gamma={config['gamma']:.3g}",
             f"source classifier accuracy on its own task: {payload['source_accuracy']:.4f}",
             f"alpha* = {best:.4f}",
             f"{'':22s}{'theory':>8s}  {'Monte-Carlo (' + str(args.trials) + ' trials)':>26s}  gap",
             *[f"{name:22s}{row['predicted']:8.4f}  {row['measured']:18.4f} +- {row['stderr']:.4f}  "
               f"{row['gap_in_stderr']:+.1f} se"
               for name, row in zip(["alpha = 0 (target only)", "alpha = 1 (LoRA)", "alpha = alpha*"],
                                    payload["rows"])]]
    _emit(payload, args.json, lines)


def cmd_transformer(args) -> None:
    from rmt_alpha.transformer_experiment import ExperimentConfig, run_experiment

    overrides = {}
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.sharing is not None:
        overrides["sharing"] = tuple(args.sharing)
    config = ExperimentConfig.quick(**overrides) if args.quick else ExperimentConfig(**overrides)
    result = run_experiment(config, args.out, progress=not args.json)
    payload = {"source_accuracy": result.source_accuracy, "parameters": result.parameters,
               "summary": result.summary, "paired_vs_lora": result.paired, "files": result.files}
    with open(result.files["table"], encoding="utf-8") as handle:
        table = handle.read()
    _emit(payload, args.json, [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])


def cmd_glue(args) -> None:
    import dataclasses

    from rmt_alpha.glue_experiment import GlueConfig, run_glue

    base = GlueConfig()
    tuning = {name: value for name, value in (
        ("max_epochs", args.epochs), ("batch_size", args.batch_size), ("learning_rate", args.learning_rate),
        ("alpha_every", args.alpha_every), ("alpha_learning_rate", args.alpha_learning_rate)) if value is not None}
    adapter = dataclasses.replace(base.finetune.adapter, **{k: v for k, v in (
        ("rank", args.rank), ("lora_alpha", args.lora_alpha)) if v is not None})
    overrides = {"task": args.task, "finetune": dataclasses.replace(base.finetune, adapter=adapter, **tuning)}
    for name in ("methods", "seeds", "max_length", "max_train"):
        if getattr(args, name) is not None:
            overrides[name] = tuple(args.methods) if name == "methods" else getattr(args, name)
    result = run_glue(args.checkpoint, args.data, GlueConfig(**overrides), args.out, progress=not args.json)
    payload = {"parameters": result.parameters, "sizes": result.sizes, "summary": result.summary,
               "paired_vs_lora": result.paired, "files": result.files}
    with open(result.files["table"], encoding="utf-8") as handle:
        table = handle.read()
    _emit(payload, args.json, [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])


def _save_validation_plot(path: str, payload: dict) -> None:
    """Accuracy against alpha: theory as a line, simulation as points with +-1 stderr bars; written atomically."""
    from rmt_alpha.plots import plot_accuracy_curve
    from rmt_alpha.results import EmpiricalCurve

    rows = payload["rows"]
    alpha = np.array([row["alpha"] for row in rows])
    measured = EmpiricalCurve(alpha, np.array([row["measured"] for row in rows]),
                              np.array([row["stderr"] for row in rows]), np.empty((0, alpha.size)))
    ax = plot_accuracy_curve(alpha, [row["predicted"] for row in rows], measured,
                             label="theory (deterministic equivalent)",
                             measured_label=f"simulation ({payload['trials']} trials, +-1 s.e.)")
    ax.set_title("alpha-fine-tuning: theory vs simulation")
    _save_and_close(ax.figure, path)


def cmd_validate(args) -> None:
    from rmt_alpha.simulate import simulate
    from rmt_alpha.theory import margin_moments

    _check_trials_for_stderr(args.trials)
    source, target = stats_from_args(args)
    alphas = np.linspace(args.alpha_min, args.alpha_max, args.num)
    result = simulate(source, target, alphas, trials=args.trials, seed=args.seed, n_test=args.n_test,
                      dtype=args.dtype, progress=None)
    predicted = predicted_accuracy(source, target, alphas)
    moments = margin_moments(source, target, alphas)
    rows = []
    for i, a in enumerate(alphas):
        row = {"alpha": float(a)}
        for prefix, theory, curve in [("", predicted, result.accuracy),
                                      ("margin_mean_", moments.mean, result.margin_mean),
                                      ("second_moment_", moments.second_moment, result.margin_second_moment)]:
            row.update({f"{prefix}predicted": float(theory[i]), f"{prefix}measured": float(curve.mean[i]),
                        f"{prefix}stderr": float(curve.stderr[i]),
                        f"{prefix}gap_in_stderr": float((curve.mean[i] - theory[i]) / curve.stderr[i])})
        rows.append(row)
    payload = {"config": _describe(source, target), "trials": args.trials, "seed": args.seed,
               "n_test": args.n_test, "dtype": args.dtype, "rows": rows}
    if args.plot:
        _save_validation_plot(args.plot, payload)
    scoring = "exact conditional accuracy" if args.n_test is None else f"{args.n_test} test points per trial"
    lines = [f"theory vs simulation: {args.trials} trials, {scoring}, seed {args.seed}",
             f"{'alpha':>8s}  {'theory':>8s}  {'simulation':>10s}  {'stderr':>8s}  {'gap':>8s}"
             f"   E[yg] gap   E[g^2] gap",
             *[f"{row['alpha']:8.4f}  {row['predicted']:8.4f}  {row['measured']:10.4f}  {row['stderr']:8.4f}  "
               f"{row['gap_in_stderr']:+6.1f}se   {row['margin_mean_gap_in_stderr']:+7.1f}se   "
               f"{row['second_moment_gap_in_stderr']:+8.1f}se" for row in rows]]
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    _emit(payload, args.json, lines)


def _run_real_data(args, experiment_function, prefix: str, **keywords) -> None:
    from rmt_alpha.transfer import format_experiment, write_experiment

    say = (lambda line: print(line, file=sys.stderr)) if not args.json else None
    experiment = experiment_function(quick=args.quick, seed=args.seed, progress=say, **keywords)
    paths = write_experiment(experiment, args.out, prefix)
    if args.json:
        _emit({"settings": experiment.settings, "tables": experiment.tables, "files": paths}, True, [])
    else:
        print(format_experiment(experiment))
        print("wrote " + ", ".join(paths))


def cmd_amazon(args) -> None:
    from rmt_alpha.transfer import run_amazon_experiment

    _run_real_data(args, run_amazon_experiment, "amazon", directory=args.data)


def cmd_digits(args) -> None:
    from rmt_alpha.transfer import run_digits_experiment

    _run_real_data(args, run_digits_experiment, "digits")


PLOT_KINDS = ("curve", "histogram", "alpha-map", "gain-map", "amazon-curves", "amazon-methods", "alpha-stats")


def _save_and_close(figure, path: str) -> str:
    """Save a figure atomically (format from the extension: .png or .pdf) and close it."""
    import matplotlib.pyplot as plt

    from rmt_alpha.plots import save_figure

    try:
        return save_figure(figure, path)
    finally:
        plt.close(figure)


def _load_json(path: str, what: str):
    if not path:
        raise ValueError(f"--results is required: the {what}")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _plot_figure(args):
    """Compute what `args.kind` needs with the library and draw it; returns `(figure, summary dict)`."""
    import matplotlib.pyplot as plt

    from rmt_alpha import plots

    if args.kind in ("curve", "histogram"):
        source, target = stats_from_args(args)
        best = optimal_alpha(source, target)
        if args.kind == "curve":
            from rmt_alpha.simulate import empirical_accuracy

            alpha = np.linspace(args.alpha_min, args.alpha_max, 201)
            measured = None
            if args.trials > 0:
                measured = empirical_accuracy(source, target, np.linspace(args.alpha_min, args.alpha_max,
                                              args.num), trials=args.trials, seed=args.seed)
            ax = plots.plot_accuracy_curve(alpha, predicted_accuracy(source, target, alpha), measured,
                                           alpha_star=best, alpha_bar=alpha_bar(source, target),
                                           measured_label=f"simulation ({args.trials} trials, +-1 s.e.)")
            config = _describe(source, target)
            ax.set_title(f"p = {config['p']}, N = {config['source_n']}, n = {config['n']}, beta = "
                         f"{config['beta']:.3g}, |mu_s| = {config['source_norm']:.3g}, |mu_perp| = "
                         f"{config['perp_norm']:.3g}")
            return ax.figure, {"alpha_star": best}
        from rmt_alpha.phase import decision_values
        from rmt_alpha.theory import margin_moments

        chosen = best if args.alpha is None else args.alpha
        values = decision_values(source, target, chosen, n_test=args.n_test, seed=args.seed)
        moments = margin_moments(source, target, chosen)
        ax = plots.plot_decision_histogram(values, moments.mean, moments.variance)
        ax.set_title(f"one trial, p = {source.p}, n = {target.n}, {args.n_test} test points"
                     + (" (alpha = alpha*)" if args.alpha is None else ""))
        return ax.figure, {"alpha": chosen, "predicted_mean": float(moments.mean),
                           "predicted_variance": float(moments.variance)}
    if args.kind in ("alpha-map", "gain-map"):
        from rmt_alpha.phase import phase_map

        source, target = stats_from_args(args)
        config = _describe(source, target)
        beta = np.linspace(args.beta_min, args.beta_max, args.grid)
        spans = {"n_over_p": np.geomspace(0.02, 10.0, args.grid), "gamma": np.geomspace(1e-2, 1e2, args.grid)}
        over = ["n_over_p", "gamma"] if args.over == "both" else [args.over]
        figure, axes = plt.subplots(1, len(over), figsize=(5.6 * len(over), 4.2), squeeze=False)
        draw = plots.plot_alpha_map if args.kind == "alpha-map" else plots.plot_gain_map
        fixed = {"n_over_p": 1.0 / (config["p"] / config["n"]), "gamma": config["gamma"]}
        for ax, name in zip(axes[0], over):
            grid = {key: (spans[key][:, None] if key == name else value) for key, value in fixed.items()}
            phase = phase_map(beta[None, :], grid["n_over_p"], grid["gamma"], source_norm=config["source_norm"],
                              perp_norm=config["perp_norm"], source_n_over_p=config["source_n"] / config["p"],
                              source_gamma=config["source_gamma"])
            draw(phase, y=name, ax=ax)
            other = "gamma" if name == "n_over_p" else "n / p"
            ax.set_title(f"{other} = {fixed['gamma' if name == 'n_over_p' else 'n_over_p']:.3g}, "
                         f"|mu_s| = {config['source_norm']:.3g}, |mu_perp| = {config['perp_norm']:.3g}, "
                         f"N / p = {config['source_n'] / config['p']:.3g}")
        figure.tight_layout()
        return figure, {"over": over}
    if args.kind == "amazon-curves":
        from rmt_alpha.data import load_amazon
        from rmt_alpha.transfer import ALPHA_GRID, predict_vs_measure

        pairs = [tuple(pair.split(":")) for pair in args.pairs]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"--pairs must be SOURCE:TARGET items such as books:dvd, got {args.pairs}")
        domains = load_amazon(args.data, domains=sorted({name for pair in pairs for name in pair}))
        figure, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 3.8), squeeze=False)
        for ax, (source_name, target_name) in zip(axes[0], pairs):
            check = predict_vs_measure(domains[source_name], domains[target_name], ALPHA_GRID, n=20,
                                       splits=args.splits, seed=args.seed)
            plots.plot_amazon_curve(check, ax=ax)
        figure.suptitle(f"Amazon Review: n = 20 labelled target reviews, {args.splits} random draws; theory from "
                        "whole-domain statistics (a check of the theory, not a method)", fontsize=10)
        figure.tight_layout()
        return figure, {"pairs": [":".join(pair) for pair in pairs], "splits": args.splits}
    if args.kind == "amazon-methods":
        payload = _load_json(args.results, "amazon.json written by `rmt-alpha amazon --out DIR`")
        rows = [row for row in payload["tables"]["honest"] if row["n"] == args.n_labelled
                and row["source_gamma"] == 1 and row["gamma"] == 1 and not row["whiten"]]
        if not rows:
            raise ValueError(f"{args.results} holds no honest-protocol rows with n = {args.n_labelled}, "
                             "gammas (1, 1), not whitened")
        methods = [m for m in ("alpha=0", "alpha=1", "alpha* theory", "CV", "pool", "oracle")
                   if any(row["method"] == m for row in rows)]
        figure, ax = plt.subplots(figsize=(8.0, 4.0))
        plots.plot_method_comparison(rows, methods=methods, ax=ax)
        ax.set_title(f"Amazon Review, n = {args.n_labelled} labelled target reviews, "
                     f"{payload['settings']['splits']} splits")
        return figure, {"methods": methods}
    if args.kind == "alpha-stats":
        payload = _load_json(args.results, "results.json written by `rmt-alpha transformer --out DIR`")
        ax = plots.plot_alpha_statistics(payload["runs"])
        ax.set_title("alpha-LoRA in a transformer: learned alphas per adapted weight")
        return ax.figure, {}
    raise ValueError(f"unknown plot kind {args.kind!r}; expected one of {PLOT_KINDS}")


def cmd_plot(args) -> None:
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmt_alpha.plots import STYLE

    extension = os.path.splitext(args.out)[1].lower()
    if extension not in (".png", ".pdf"):
        raise ValueError(f"--out must end in .png or .pdf, got {args.out!r}")
    with plt.rc_context(STYLE):
        figure, summary = _plot_figure(args)
    path = _save_and_close(figure, args.out)
    _emit({"kind": args.kind, "file": path, **summary}, args.json, [f"wrote {path}"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmt-alpha", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, handler, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub.set_defaults(handler=handler)
        return sub

    demo = command("demo", cmd_demo, "alpha*, the predicted accuracy at alpha = 0, 1, alpha*, and a Monte-Carlo "
                   "check, on the embedded default (or given statistics)")
    add_stats_arguments(demo)
    demo.add_argument("--trials", type=int, default=40, help="Monte-Carlo trials (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    best = command("optimal-alpha", cmd_optimal_alpha, "alpha* and alpha_bar from the closed form")
    add_stats_arguments(best)

    curve = command("curve", cmd_curve, "predicted accuracy on a grid of alphas")
    add_stats_arguments(curve)
    curve.add_argument("--alpha-min", type=float, default=-1.0)
    curve.add_argument("--alpha-max", type=float, default=4.0)
    curve.add_argument("--num", type=int, default=21, help="number of alphas (default 21)")

    validate = command("validate", cmd_validate, "theory vs JAX simulation for each alpha: accuracy, E[y g] and "
                       "E[g^2], with standard errors and the gap in standard errors")
    add_stats_arguments(validate)
    validate.add_argument("--alpha-min", type=float, default=-1.0)
    validate.add_argument("--alpha-max", type=float, default=4.0)
    validate.add_argument("--num", type=int, default=11, help="number of alphas (default 11)")
    validate.add_argument("--trials", type=int, default=400, help="Monte-Carlo trials (default 400)")
    validate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    validate.add_argument("--n-test", type=int, help="score on this many test points per trial (default: the "
                          "exact conditional accuracy)")
    validate.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    validate.add_argument("--plot", metavar="FILE.png", help="also draw accuracy against alpha to this PNG")

    transformer = command("transformer", cmd_transformer, "pre-train a small transformer on synthetic source "
                          "reviews (cached in --out), fine-tune it on a few target reviews with head-only, full, "
                          "LoRA, fixed alpha, alpha-LoRA and DoRA over paired seeds; write table, figures, "
                          "checkpoints")
    transformer.add_argument("--out", required=True, help="output directory (also holds the pre-training cache)")
    transformer.add_argument("--quick", action="store_true", help="a smoke run (under two minutes on a CPU)")
    transformer.add_argument("--seeds", type=int, help="paired seeds per sharing level (default 5; quick: 1)")
    transformer.add_argument("--sharing", type=float, nargs="+", help="sharing levels in [0, 1] "
                             "(default 0.25 0.75; quick: 0.25)")

    glue = command("glue", cmd_glue, "fine-tune a BERT/RoBERTa checkpoint (config.json, model.safetensors, "
                   "tokenizer.json) on a GLUE task with LoRA / alpha-LoRA (adapters on query and value, head "
                   "trained); dev set = test set; write table, results, checkpoints")
    glue.add_argument("--checkpoint", required=True, metavar="DIR", help="folder of config.json, model.safetensors "
                      "and tokenizer.json (e.g. roberta-base)")
    glue.add_argument("--data", required=True, metavar="DIR", help="GLUE data root (holding RTE/, MNLI/, ...) or "
                      "the task's own folder")
    glue.add_argument("--task", required=True, help="mnli, qnli, mrpc, rte, sst2 or qqp")
    glue.add_argument("--out", required=True, metavar="DIR", help="output folder")
    glue.add_argument("--methods", nargs="+", help="fine-tuning methods (default: lora alpha_lora)")
    glue.add_argument("--seeds", type=int, help="paired seeds (default 3)")
    glue.add_argument("--epochs", type=int, help="maximum epochs (default 10; early stopping on validation)")
    glue.add_argument("--batch-size", type=int, help="training batch (default 16)")
    glue.add_argument("--learning-rate", type=float, help="AdamW learning rate of adapters and head (default 5e-4)")
    glue.add_argument("--rank", type=int, help="LoRA rank (default 8)")
    glue.add_argument("--lora-alpha", type=float, help="PEFT's lora_alpha (default 8)")
    glue.add_argument("--alpha-every", type=int, help="T: adapter steps between alpha updates (default 10)")
    glue.add_argument("--alpha-learning-rate", type=float, help="Adam learning rate of alpha (default 5e-3)")
    glue.add_argument("--max-length", type=int, help="tokens per sentence pair (default 128)")
    glue.add_argument("--max-train", type=int, help="use at most this many training rows (default all)")

    for name, handler, text in (("amazon", cmd_amazon, "the Amazon Review transfer experiments (12 pairs): honest "
                                 "methods, paper mode beside the paper's Table 1, prediction vs measurement"),
                                ("digits", cmd_digits, "the same transfer experiment on scikit-learn's digits "
                                 "(digit-pair tasks)")):
        real = command(name, handler, text)
        real.add_argument("--out", required=True, metavar="DIR", help="folder for the CSV, JSON and PNG outputs")
        real.add_argument("--quick", action="store_true", help="a reduced run of under a minute")
        real.add_argument("--seed", type=int, default=0, help="seed of the target splits (default 0)")
        if name == "amazon":
            real.add_argument("--data", metavar="DIR", help="Amazon data folder (default: $RMT_ALPHA_DATA, else "
                              "../shared/data/amazon_review beside the checkout)")

    plot = command("plot", cmd_plot, "draw a figure to PNG or PDF (from the extension): curve (theory vs "
                   "simulation), histogram (decision values vs the two Gaussians), alpha-map and gain-map (over "
                   "(beta, n/p) and (beta, gamma)), amazon-curves, amazon-methods, alpha-stats")
    plot.add_argument("kind", choices=PLOT_KINDS, metavar="KIND", help=", ".join(PLOT_KINDS))
    plot.add_argument("--out", required=True, metavar="FILE.png|FILE.pdf", help="output image (written atomically)")
    add_stats_arguments(plot)
    plot.add_argument("--alpha-min", type=float, default=-1.0, help="curve: smallest alpha (default -1)")
    plot.add_argument("--alpha-max", type=float, default=4.0, help="curve: largest alpha (default 4)")
    plot.add_argument("--num", type=int, default=11, help="curve: simulated alphas (default 11)")
    plot.add_argument("--trials", type=int, default=200, help="curve: Monte-Carlo trials, 0 for theory only "
                      "(default 200)")
    plot.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    plot.add_argument("--alpha", type=float, help="histogram: the alpha (default alpha*)")
    plot.add_argument("--n-test", type=int, default=4000, help="histogram: test points (default 4000)")
    plot.add_argument("--over", choices=["n_over_p", "gamma", "both"], default="both",
                      help="maps: vertical axis (default both, two panels)")
    plot.add_argument("--beta-min", type=float, default=-0.5, help="maps: smallest beta (default -0.5)")
    plot.add_argument("--beta-max", type=float, default=1.5, help="maps: largest beta (default 1.5)")
    plot.add_argument("--grid", type=int, default=121, help="maps: grid points per axis (default 121)")
    plot.add_argument("--pairs", nargs="+", default=["books:dvd", "dvd:elec", "kitchen:books"],
                      help="amazon-curves: SOURCE:TARGET pairs (default books:dvd dvd:elec kitchen:books)")
    plot.add_argument("--splits", type=int, default=20, help="amazon-curves: random target splits (default 20)")
    plot.add_argument("--data", metavar="DIR", help="amazon-curves: Amazon data folder (as `rmt-alpha amazon`)")
    plot.add_argument("--results", metavar="FILE.json", help="amazon-methods: amazon.json of `rmt-alpha amazon`; "
                      "alpha-stats: results.json of `rmt-alpha transformer`")
    plot.add_argument("--n-labelled", type=int, default=20, help="amazon-methods: labelled target rows (default 20)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        parser.exit(2, f"rmt-alpha {args.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
