"""Options shared by the subcommands: the statistics of a source/target pair, and text-or-JSON output.

Statistics come from the embedded default (theory/THEORY.md section 3's example), then `--config FILE.json`
(the same keys with underscores, or `source_mean` / `target_mean` vectors; for the theory commands also
`source_weights`, a fixed classifier w_s, and the covariances `source_cov` / `target_cov`, each a nested list or the
path of a .npy or .csv file relative to the JSON's folder), then the flags.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys

import numpy as np

from rmt_alpha._stats import SourceStats, TargetStats, alignment

DEFAULT_CONFIG = {
    "p": 400, "source_norm": 1.5, "beta": 0.8, "perp_norm": 0.6,
    "source_n": 2000, "n": 100, "source_gamma": 1.0, "gamma": 1.0,
}
_ARRAY_KEYS = ("source_weights", "source_cov", "target_cov")
_CONFIG_KEYS = set(DEFAULT_CONFIG) | {"source_mean", "target_mean"} | set(_ARRAY_KEYS)


def load_array(name: str, path: str) -> np.ndarray:
    """A .npy file, or a .csv (comma-separated) / other text file (whitespace-separated) of numbers; errors name
    the option it came from. A header row (a first line in which no field is a number) is skipped, and said so on
    stderr."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: no such file: {path}")
    header = None
    try:
        if path.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        delimiter = "," if path.lower().endswith(".csv") else None
        header = _header_line(path, delimiter)
        array = np.loadtxt(path, delimiter=delimiter, ndmin=1, encoding="utf-8-sig",
                           skiprows=0 if header is None else header[0] + 1)
    except (ValueError, OSError) as error:
        skipped = "" if header is None else f" after its header row {header[1]!r}"
        raise ValueError(f"{name}: cannot read {path} as a .npy array or a table of numbers{skipped} ({error})"
                         ) from error
    if header is not None:
        print(f"{name}: skipped the header row of {path} (line {header[0] + 1}: {header[1]!r})", file=sys.stderr)
    return array


def _header_line(path: str, delimiter) -> tuple[int, str] | None:
    """`(index, text)` of the first line that is neither blank nor a '#' comment when none of its fields is a
    number (a header such as `x1,x2,label`), else None."""
    with open(path, encoding="utf-8-sig") as handle:
        for index, line in enumerate(handle):
            text = line.split("#", 1)[0].strip()
            if text:
                return (index, text if len(text) <= 60 else text[:57] + "...") if not any(
                    _is_number(field) for field in text.split(delimiter)) else None
    return None


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _config_array(config: dict, key: str, folder: str):
    value = config[key]
    if isinstance(value, str):
        return load_array(f"{key} in --config", os.path.join(folder, value))
    return value


def source_target(text: str) -> tuple[str, str]:
    """argparse type of `--pairs`: `SOURCE:TARGET`, two non-empty names (argparse names the flag in its error)."""
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"must be SOURCE:TARGET, two names joined by ':', got {text!r}")
    return parts[0], parts[1]


def whole_number_at_least(minimum: int):
    """An argparse type: a whole number >= `minimum` (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {value}")
        return value

    return parse


unit_count = whole_number_at_least(0)   # --max-units (0: compute nothing, only report)
grid_size = whole_number_at_least(1)    # counts such as --num and --seeds


def seed(text: str) -> int:
    """argparse type of `--seed`: a whole number in [0, 2**32) (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number in [0, 2**32), got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number in [0, 2**32), got {value}")
    return value


def finite_number(text: str) -> float:
    """argparse type of grid ends (`--alpha-min`, `--beta-max`): a finite number (argparse names the flag)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


@contextlib.contextmanager
def flag_names(names: dict):
    """Name what the user typed in the library's errors: the library names its parameters (`n must be a whole
    number of samples >= 1, got -5`); an error whose first word is a key of `names` is raised again with that word
    replaced by its value (`--source-n must be ...`, or `source_n in --config FILE must be ...`).

    Args:
        names: {the library's parameter name: the flag, or the config key and file, it came from}.
    """
    try:
        yield
    except (ValueError, TypeError) as error:
        message = str(error)
        first = message.split(" ", 1)[0]
        if first not in names or getattr(error, "names_the_flag", False):
            raise
        named = (ValueError if isinstance(error, ValueError) else TypeError)(names[first] + message[len(first):])
        named.names_the_flag = True  # an enclosing flag_names leaves it alone
        raise named from error


def origin(key: str, args: argparse.Namespace, loaded: dict) -> str:
    """Where the value of the setting `key` came from, for error messages: its flag when given, else the key in the
    `--config` file when there, else the key itself (a default)."""
    if getattr(args, key, None) is not None:
        return "--" + key.replace("_", "-")
    if key in loaded:
        return f"{key} in --config {args.config}"
    return key


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


def stats_from_args(args: argparse.Namespace, *, weights: bool = False, covariances: bool = False):
    """Build `(source, TargetStats)` from the default, then `--config`, then the flags. The source is a
    `SourceStats`, or the classifier `w_s` when the config gives `source_weights` (allowed when `weights`);
    `source_cov` / `target_cov` are allowed when `covariances`."""
    config = dict(DEFAULT_CONFIG)
    loaded, folder = {}, ""
    if args.config:
        loaded = read_config(args.config, _CONFIG_KEYS)
        config.update(loaded)
        folder = os.path.dirname(args.config)
        refused = [key for key, allowed in (("source_weights", weights), ("source_cov", covariances),
                                            ("target_cov", covariances)) if key in loaded and not allowed]
        if refused:
            raise ValueError(f"--config {args.config}: {refused} are not used by `{args.command}` (source_weights: "
                             "optimal-alpha, curve, validate, choose-alpha; covariances: optimal-alpha, curve)")
    arrays = {key: _config_array(config, key, folder) for key in _ARRAY_KEYS if key in config}
    for key in DEFAULT_CONFIG:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    source_cov, target_cov = arrays.get("source_cov"), arrays.get("target_cov")
    where = {key: origin(key, args, loaded) for key in _CONFIG_KEYS}
    source_names = {"p": where["p"], "mean_norm": where["source_norm"], "mean": where["source_mean"]
                    if "source_mean" in config else where["source_norm"], "n": where["source_n"],
                    "gamma": where["source_gamma"], "cov": where["source_cov"]}
    target_names = {"p": where["p"], "source_norm": where["source_norm"], "beta": where["beta"],
                    "perp_norm": where["perp_norm"], "mean": where["target_mean"], "n": where["n"],
                    "gamma": where["gamma"], "cov": where["target_cov"]}
    if "source_weights" in arrays:
        clashing = [key for key in ("source_mean", "p", "source_norm", "beta", "perp_norm", "source_n",
                                    "source_gamma", "source_cov") if key in loaded or getattr(args, key, None)]
        if clashing or "target_mean" not in config:
            raise ValueError("--config gives source_weights (a fixed classifier w_s): give target_mean, and none of "
                             f"the source's statistics (got {clashing})")
        with flag_names(target_names):
            target = TargetStats(config["target_mean"], config["n"], config["gamma"], target_cov)
        return np.asarray(arrays["source_weights"], dtype=np.float64), target
    if "source_mean" in config or "target_mean" in config:
        if not ("source_mean" in config and "target_mean" in config):
            raise ValueError("--config must give both 'source_mean' and 'target_mean', or neither")
        clashing = [key for key in ("p", "source_norm", "beta", "perp_norm")
                    if key in loaded or getattr(args, key, None) is not None]
        if clashing:
            raise ValueError(f"--config gives mean vectors, which fix {clashing}; drop those keys or flags")
        with flag_names(source_names):
            source = SourceStats(config["source_mean"], config["source_n"], config["source_gamma"], source_cov)
        with flag_names(target_names):
            target = TargetStats(config["target_mean"], config["n"], config["gamma"], target_cov)
        return source, target
    with flag_names(source_names):
        source = SourceStats.from_norm(config["p"], config["source_norm"], config["source_n"], config["source_gamma"],
                                       cov=source_cov)
    with flag_names(target_names):
        target = TargetStats.from_alignment(source, config["beta"], config["perp_norm"], config["n"],
                                            config["gamma"], cov=target_cov)
    return source, target


def describe(source, target: TargetStats) -> dict:
    if not isinstance(source, SourceStats):  # a fixed classifier w_s
        return {"p": target.p, "n": target.n, "gamma": target.gamma, "source": "the classifier w_s",
                "s": float(source @ target.mean), "omega": float(source @ source),
                "target_covariance": target.cov is not None}
    source_norm, beta, perp_norm = alignment(source, target)
    return {"p": source.p, "source_n": source.n, "n": target.n, "source_gamma": source.gamma,
            "gamma": target.gamma, "source_norm": source_norm, "beta": beta, "perp_norm": perp_norm,
            "source_covariance": source.cov is not None, "target_covariance": target.cov is not None}


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


def read_json_file(flag: str, path: str):
    """The JSON value in the file `path` given to `flag`; errors name the flag, the path and what is wrong with it
    (it does not exist, is a folder, cannot be read, or is not valid JSON: where).

    Args:
        flag: the option the path came from (`--config`, `--results`).
        path: the file.

    Returns:
        The parsed JSON value.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError, OSError, ValueError: as above.
    """
    expected = f"{flag} must be a JSON file, got {path!r}"
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"{expected}, which does not exist") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{expected}, which is a folder") from None
    except OSError as error:
        raise type(error)(f"{expected}, which cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{expected}, which is not UTF-8 text (byte {error.start}: {error.reason})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{expected}, which is not valid JSON ({error.msg} at line {error.lineno}, column "
                         f"{error.colno})") from None


def read_config(path: str, allowed) -> dict:
    """The JSON object in `--config` `path`, its keys checked against `allowed`.

    Args:
        path: the JSON file.
        allowed: the keys it may hold.

    Returns:
        dict: the object.

    Raises:
        ValueError: not a JSON object, or a key outside `allowed` (named); the errors of `read_json_file`.
    """
    loaded = read_json_file("--config", path)
    if not isinstance(loaded, dict):
        raise ValueError(f"--config must hold a JSON object, got {type(loaded).__name__} in {path}")
    unknown = sorted(set(loaded) - set(allowed))
    if unknown:
        raise ValueError(f"--config {path}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    return loaded
