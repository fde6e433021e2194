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
