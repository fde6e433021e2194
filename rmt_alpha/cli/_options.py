"""Options shared by the subcommands: the statistics of a source/target pair, and text-or-JSON output.

Statistics come from the embedded default (theory/THEORY.md section 3's example), then `--config FILE.json`
(the same keys with underscores, or `source_mean` / `target_mean` vectors), then the flags.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from rmt_alpha._stats import SourceStats, TargetStats, alignment

DEFAULT_CONFIG = {
    "p": 400, "source_norm": 1.5, "beta": 0.8, "perp_norm": 0.6,
    "source_n": 2000, "n": 100, "source_gamma": 1.0, "gamma": 1.0,
}
_CONFIG_KEYS = set(DEFAULT_CONFIG) | {"source_mean", "target_mean"}


def grid_size(text: str) -> int:
    """argparse type of `--num`: a whole number of alphas >= 1 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that describe a source/target pair (each overrides `--config`, which overrides the default)."""
    group = parser.add_argument_group("statistics (default: theory/THEORY.md section 3's example)")
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


def describe(source: SourceStats, target: TargetStats) -> dict:
    source_norm, beta, perp_norm = alignment(source, target)
    return {"p": source.p, "source_n": source.n, "n": target.n, "source_gamma": source.gamma,
            "gamma": target.gamma, "source_norm": source_norm, "beta": beta, "perp_norm": perp_norm}


def emit(payload: dict, as_json: bool, lines: list[str]) -> None:
    """Print `payload` as strict JSON (non-finite numbers as null) or the text `lines`."""
    if as_json:
        json.dump(_json_safe(payload), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print("\n".join(lines))


def check_trials_for_stderr(trials) -> None:
    """Theory-vs-simulation gaps are in standard errors, which need at least two trials."""
    if isinstance(trials, int) and trials < 2:
        raise ValueError(f"--trials must be >= 2 (a standard error needs two trials), got {trials}")


def _json_safe(value):
    """JSON has no Infinity or NaN: non-finite floats become null (the text output says what they mean)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value

