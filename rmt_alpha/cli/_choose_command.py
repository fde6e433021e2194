"""`rmt-alpha choose-alpha`: alpha from a source classifier (or source data) and target rows in .npy or .csv files,
through `rmt_alpha.choose_alpha`."""

from __future__ import annotations

import argparse
import os

from rmt_alpha._choose import COVARIANCE_MODES, choose_alpha
from rmt_alpha._validation import check_seed
from rmt_alpha.cli._options import emit, flag_names, load_array, origin, read_config, seed


def add_choose_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("the source (one of)")
    source.add_argument("--source-weights", nargs="+", metavar="W.npy", help="the pre-trained classifier w_s, "
                        "shape (p,); several files: several sources, alpha a vector (theory/THEORY.md section 10)")
    source.add_argument("--source-data", nargs=2, metavar=("XS.npy", "YS.npy"),
                        help="source rows (N, p) and labels (N,): the ridge classifier is fitted (--source-gamma)")
    source.add_argument("--config", metavar="FILE.json", help="JSON with 'source_weights' (a vector or a file "
                        "path, relative to the JSON's folder) and optionally any of gamma, source_gamma, "
                        "covariance, bootstrap, confidence, seed")
    target = parser.add_argument_group("the target")
    target.add_argument("--target", nargs=2, required=True, metavar=("X.npy", "Y.npy"),
                        help="labelled target rows (n, p) and labels (n,) in {-1, +1} or {0, 1}")
    target.add_argument("--unlabelled", metavar="U.npy", help="unlabelled target rows (N, p)")
    parser.add_argument("--gamma", type=float, help="fine-tuning ridge strength (default 1)")
    parser.add_argument("--source-gamma", type=float, help="ridge strength of the source fitted from "
                        "--source-data (default 1)")
    parser.add_argument("--covariance", choices=COVARIANCE_MODES, help="theory: auto (default: the semi-empirical "
                        "or the covariance-aware one from the pool's row norms, isotropic without p rows), "
                        "isotropic, covariance or semi-empirical")
    parser.add_argument("--bootstrap", type=int, help="bootstrap replicates (default 200)")
    parser.add_argument("--confidence", type=float, help="level of the intervals and of do no harm (default 0.9)")
    parser.add_argument("--seed", type=seed, help="seed of the bootstrap (default 0)")
    parser.add_argument("--curve", action="store_true", help="also the predicted accuracy on the grid of alphas "
                        "(121 points; JSON: 'grid' and 'accuracy')")


_CONFIG_KEYS = {"source_weights", "gamma", "source_gamma", "covariance", "bootstrap", "confidence", "seed"}
_DEFAULTS = {"gamma": 1.0, "source_gamma": 1.0, "covariance": "auto", "bootstrap": 200, "confidence": 0.9,
             "seed": 0}


def _settings(args) -> tuple[dict, dict]:
    """The settings (defaults, then --config, then the flags) and what --config held."""
    settings, loaded = dict(_DEFAULTS), {}
    if args.config:
        loaded = read_config(args.config, _CONFIG_KEYS)
        settings.update(loaded)
        if isinstance(settings.get("source_weights"), str):
            settings["source_weights"] = os.path.join(os.path.dirname(args.config), settings["source_weights"])
    for key in _DEFAULTS:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    return settings, loaded


def cmd_choose_alpha(args) -> None:
    settings, loaded = _settings(args)
    given = [name for name, value in (("--source-weights", args.source_weights), ("--source-data", args.source_data),
                                      ("source_weights in --config", settings.get("source_weights")))
             if value is not None]
    if len(given) != 1:
        raise ValueError(f"give the source exactly once (--source-weights, --source-data or source_weights in "
                         f"--config), got {given or 'none'}")
    if args.source_data:
        source = (load_array("--source-data XS", args.source_data[0]), load_array("--source-data YS",
                                                                                   args.source_data[1]))
    elif args.source_weights and len(args.source_weights) > 1:
        if args.curve:
            raise ValueError("--curve draws the accuracy over one alpha; with several --source-weights alpha is a "
                             f"vector (got {len(args.source_weights)} files): leave out --curve")
        source = [load_array(f"--source-weights {path}", path) for path in args.source_weights]
    elif args.source_weights:
        source = load_array("--source-weights", args.source_weights[0])
    else:
        weights = settings["source_weights"]
        source = load_array("source_weights in --config", weights) if isinstance(weights, str) else weights
    X, y = load_array("--target X", args.target[0]), load_array("--target Y", args.target[1])
    unlabelled = None if args.unlabelled is None else load_array("--unlabelled", args.unlabelled)
    names = {"X": "--target X", "y": "--target Y", "unlabelled": "--unlabelled", "source": given[0],
             **{key: origin(key, args, loaded) for key in _DEFAULTS}}
    with flag_names(names):
        check_seed(settings["seed"])
        choice = choose_alpha(source, X, y, unlabelled=unlabelled, gamma=settings["gamma"],
                              covariance=settings["covariance"], source_gamma=settings["source_gamma"],
                              bootstrap=settings["bootstrap"], confidence=settings["confidence"],
                              random_state=settings["seed"])
    if isinstance(source, list):
        _emit_sources(choice, args.json)
        return
    level = f"{100 * choice.confidence:.0f}%"
    payload = {"alpha": choice.alpha, "alpha_estimate": choice.alpha_estimate,
               "alpha_interval": list(choice.alpha_interval), "accuracy_at_alpha": choice.accuracy_at_alpha,
               "accuracy_at_one": choice.accuracy_at_one, "gain": choice.gain,
               "gain_interval": list(choice.gain_interval), "confidence": choice.confidence,
               "shrunk": choice.shrunk, "reason": choice.reason, "uncertainty": choice.uncertainty,
               "covariance": choice.covariance, "covariance_reason": choice.covariance_reason,
               "sources": choice.sources}
    if args.curve:
        payload.update(grid=choice.grid.tolist(), accuracy=choice.accuracy.tolist())
    low, high = (100 * value for value in choice.gain_interval)
    curve = ["", "alpha      accuracy", *(f"{a:8.4f}   {acc:.4f}" for a, acc in zip(choice.grid, choice.accuracy))
             ] if args.curve else []
    emit(payload, args.json, [
        f"alpha = {choice.alpha:.4g}   (alpha* of the estimates {choice.alpha_estimate:.4g}, {level} interval "
        f"{choice.alpha_interval[0]:.4g} to {choice.alpha_interval[1]:.4g})",
        f"predicted accuracy {choice.accuracy_at_alpha:.4f} there, {choice.accuracy_at_one:.4f} at alpha = 1: "
        f"gain {100 * choice.gain:+.2f} pt ({level} interval {low:+.2f} to {high:+.2f} pt)",
        f"why: {choice.reason}",
        f"theory: {choice.covariance} ({choice.covariance_reason})",
        f"uncertainty: {choice.uncertainty}",
        "data: " + "; ".join(f"{key}: {value}" for key, value in choice.sources.items()),
        *curve])


def _emit_sources(choice, as_json: bool) -> None:
    """The vector choice (`SourcesChoice`) as JSON or as lines."""
    level = f"{100 * choice.confidence:.0f}%"
    payload = {"alpha": choice.alpha.tolist(), "alpha_estimate": choice.alpha_estimate.tolist(),
               "alpha_interval": choice.alpha_interval.tolist(), "accuracy_at_alpha": choice.accuracy_at_alpha,
               "accuracy_at_estimate": choice.accuracy_at_estimate, "best_source": choice.best_source,
               "single_alpha": choice.single_alpha.tolist(), "single_accuracy": choice.single_accuracy.tolist(),
               "gain": choice.gain, "gain_interval": list(choice.gain_interval), "confidence": choice.confidence,
               "fell_back": choice.fell_back, "reason": choice.reason, "uncertainty": choice.uncertainty,
               "covariance": choice.covariance, "covariance_reason": choice.covariance_reason,
               "sources": choice.sources}
    low, high = (100 * value for value in choice.gain_interval)
    vector = ", ".join(f"{value:.4g}" for value in choice.alpha)
    emit(payload, as_json, [
        f"alpha = ({vector})   (predicted accuracy {choice.accuracy_at_alpha:.4f})",
        f"vector alpha* of the estimates ({', '.join(f'{v:.4g}' for v in choice.alpha_estimate)}), "
        f"{level} intervals " + ", ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in choice.alpha_interval),
        f"best single source {choice.best_source} (alpha* {choice.single_alpha[choice.best_source]:.4g}, predicted "
        f"{choice.single_accuracy[choice.best_source]:.4f}); the vector's gain over it {100 * choice.gain:+.2f} pt "
        f"({level} interval {low:+.2f} to {high:+.2f} pt)",
        f"why: {choice.reason}",
        f"theory: {choice.covariance} ({choice.covariance_reason})",
        f"uncertainty: {choice.uncertainty}",
        "data: " + "; ".join(f"{key}: {value}" for key, value in choice.sources.items())])
