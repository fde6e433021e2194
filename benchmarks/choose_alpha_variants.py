"""Ways of choosing alpha from n labelled target rows and an unlabelled pool, measured on real features with the
honest protocol (theory/THEORY.md sections 5, 8 and 9; the result and the rule it motivated:
theory/choose_alpha_rule.md).

Per (data set, source -> target pair, n) unit: `splits` random target splits (`draw_splits`: n labelled rows, a
pool of min(1000, (rows - n) // 2) unlabelled rows, the rest for test; all disjoint), each split preprocessed
from its own labelled + pool rows (`preprocess`), the source ridge classifier on every source row. Each method sees
only its split's labelled rows and pool. Recorded per split:

- the test accuracy over the grid alpha = 0, 0.05, ..., 6 (the best fixed alpha: argmax of the split-averaged
  curve) and the split-half oracle (alpha picked on one half of the test rows, scored on the other, both ways);
- each method's alpha and its test accuracy: "alpha=1"; "default" (`choose_alpha(w_s, X, y, unlabelled=U)` with
  its defaults: bootstrap, do no harm); "covariance" (the covariance-aware pool choice, bootstrap = 0);
  the semi-empirical pool choices (`rmt_alpha._semi_empirical_choice.pool_alpha`): "se" (hard pseudo-labels from
  the alpha = 1 classifier), "se_labelled" (+ the labelled rows in the law), "se_soft" (rows weighted by the
  posterior of their pseudo-label), "se_relabel" (one re-labelling round at the semi-empirical alpha*),
  "se_balanced" (the pseudo-classes weighted as the labelled rows' classes); and "se_true" (the pool's TRUE labels:
  a ceiling, never a method). Chosen alphas are clipped to the grid's range [0, 6] (as `choose_alpha` does with
  this grid);
- the predicted accuracy curves of the covariance-aware and semi-empirical choices over the grid, the labelled
  rows' leave-one-out accuracy curve, and label-free diagnostics of the pool (the spread of its row norms,
  `row_norm_spread`; the excess kurtosis of its margins) for rules deciding between the theories (`auto_rules`:
  scored on each split's test curve interpolated at the rule's alpha);
- seconds per method.

One JSON file per unit in `--out` (written atomically, skipped when present: a run started again resumes; a unit of
other settings is refused). `--summary` prints the tables of theory/choose_alpha_rule.md from the units.

Run: python benchmarks/choose_alpha_variants.py --out OUT [--data amazon text] [--ns 20] [--splits 20]
     python benchmarks/choose_alpha_variants.py --out OUT --summary
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import rmt_alpha
from rmt_alpha import choose_alpha
from rmt_alpha._io import atomic_write
from rmt_alpha._pool_law import PoolChoice, pool_alpha
from rmt_alpha._semi_empirical import row_margins
from rmt_alpha._semi_empirical_choice import NORM_SPREAD_LIMIT, row_norm_spread
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._splits import draw_splits, fit_splits, split_accuracy

GRID = np.round(np.arange(0.0, 6.0001, 0.05), 10)
SEMI_EMPIRICAL = {"se": {}, "se_labelled": {"include_labelled": True}, "se_soft": {"labels": "soft"},
                  "se_relabel": {"relabel": 1}, "se_balanced": {"balance": True}}
METHODS = ("alpha=1", "default", "covariance", *SEMI_EMPIRICAL, "se_true")


def git_commit() -> str:
    folder = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], check=False, cwd=folder, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], check=False, cwd=folder,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


def load(dataset: str):
    """{name: Domain} and the pairs of a data set ("amazon": 12 pairs; "text": MiniLM features, 18 pairs)."""
    if dataset == "amazon":
        from rmt_alpha.data._domains import amazon_pairs, load_amazon

        return load_amazon(), amazon_pairs()
    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments._text_domains import encoder_domains, feature_model, text_pairs
    from rmt_alpha.nn import load_pretrained

    pairs = text_pairs()
    names = sorted({name for pair in pairs for name in pair})
    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    return encoder_domains(model, load_review_text(names), max_length=64), pairs


def closest_to_one_argmax(curves) -> np.ndarray:
    """Index of each row's best grid alpha, ties broken towards alpha = 1 (as the CV choice)."""
    best = curves.max(axis=-1, keepdims=True)
    return np.argmin(np.where(curves >= best - 1e-12, np.abs(GRID - 1.0), np.inf), axis=-1)


def split_half_oracle(fitted, X_test, y_test) -> np.ndarray:
    """Per split: alpha picked on one half of the test rows, accuracy on the other half, averaged over both ways."""
    half = X_test.shape[1] // 2
    grid = np.broadcast_to(GRID, (X_test.shape[0], GRID.size))
    first = split_accuracy(fitted, X_test[:, :half], y_test[:, :half], grid)
    second = split_accuracy(fitted, X_test[:, half:], y_test[:, half:], grid)
    rows = np.arange(X_test.shape[0])
    return 0.5 * (second[rows, closest_to_one_argmax(first)] + first[rows, closest_to_one_argmax(second)])


def leave_one_out_curve(w_s, X, y, gamma: float) -> np.ndarray:
    """Leave-one-out accuracy of the labelled rows over the grid (n fits on n - 1 rows each)."""
    n = y.size
    keep = np.array([np.delete(np.arange(n), i) for i in range(n)])
    fitted = fit_splits(w_s, X[keep], y[keep], gamma)
    return split_accuracy(fitted, X[:, None, :], y[:, None], np.broadcast_to(GRID, (n, GRID.size))).mean(axis=0)


def pool_diagnostics(w_s, X, y, U, gamma: float) -> dict:
    """Label-free shape statistics of the pool: the spread of its row norms and the excess kurtosis of the alpha = 1
    classifier's margins within each pseudo-class (0 for Gaussian rows)."""
    w = fit_splits(w_s, X[None], y[None], gamma).at(np.ones(1))[0]
    margin = U @ w
    kurtosis = []
    for side in (margin >= 0, margin < 0):
        part = margin[side]
        if part.size > 3:
            centred = part - part.mean()
            kurtosis.append(float(np.mean(centred**4) / np.mean(centred**2) ** 2 - 3.0))
    return {"norm_cv": row_norm_spread(U), "margin_kurtosis": float(np.mean(kurtosis)),
            "pseudo_positive": float(np.mean(margin >= 0)), "labelled_positive": float(np.mean(y > 0))}


def run_unit(source, target, n: int, splits: int, seed: int, gamma: float, methods) -> dict:
    pool_size = min(1000, (target.X.shape[0] - n) // 2)
    rows = draw_splits(target.X.shape[0], n, pool_size, splits, seed, labels=target.y)
    w_s, data = preprocess(source, target, rows, source_gamma=1.0)
    fitted = fit_splits(w_s, data.X_train, data.y_train, gamma)
    test_curve = split_accuracy(fitted, data.X_test, data.y_test, np.broadcast_to(GRID, (splits, GRID.size)))
    alpha = {name: np.full(splits, np.nan) for name in methods}
    raw = {name: np.full(splits, np.nan) for name in methods}
    predicted = {name: np.full((splits, GRID.size), np.nan) for name in methods if name not in ("alpha=1", "default")}
    seconds = {name: 0.0 for name in methods}
    loo, diagnostics = [], []
    for split in range(splits):
        X, y, U = data.X_train[split], data.y_train[split], data.X_pool[split]
        loo.append(leave_one_out_curve(w_s, X, y, gamma))
        diagnostics.append(pool_diagnostics(w_s, X, y, U, gamma))
        for name in methods:
            start = time.perf_counter()
            if name == "alpha=1":
                raw[name][split] = 1.0
            elif name == "default":
                choice = choose_alpha(w_s, X, y, unlabelled=U, gamma=gamma, random_state=split)
                raw[name][split] = choice.alpha
            elif name == "covariance":
                choice = choose_alpha(w_s, X, y, unlabelled=U, gamma=gamma, covariance="covariance", bootstrap=0,
                                      grid=GRID)
                raw[name][split], predicted[name][split] = choice.alpha_estimate, choice.accuracy
            else:
                if name == "se_true":
                    truth = target.y[rows.pool[split]]
                    V = np.concatenate([truth[:, None] * U, np.ones((truth.size, 1))], axis=1)
                    margins = row_margins(w_s, V, np.full(truth.size, 1.0 / truth.size), n, gamma)
                    found = PoolChoice(margins.optimal_alpha(), margins, None)
                else:
                    found = pool_alpha(w_s, X, y, U, gamma=gamma, **SEMI_EMPIRICAL[name])
                raw[name][split], predicted[name][split] = found.alpha, found.margins.accuracy(GRID)
            seconds[name] += time.perf_counter() - start
    for name in methods:
        alpha[name] = raw[name] if name == "default" else np.clip(np.nan_to_num(raw[name], nan=1.0), GRID[0], GRID[-1])
    chosen = np.stack([alpha[name] for name in methods], axis=1)
    accuracy = split_accuracy(fitted, data.X_test, data.y_test, chosen)
    return {"source": source.name, "target": target.name, "n": n, "splits": splits, "pool_size": pool_size,
            "test_rows": int(data.y_test.shape[1]), "p": int(w_s.size),
            "test_curve": test_curve.round(6).tolist(),
            "split_half_oracle": split_half_oracle(fitted, data.X_test, data.y_test).round(6).tolist(),
            "alpha": {name: alpha[name].tolist() for name in methods},
            "alpha_raw": {name: raw[name].tolist() for name in methods},
            "accuracy": {name: accuracy[:, i].round(6).tolist() for i, name in enumerate(methods)},
            "predicted_curve": {name: value.round(6).tolist() for name, value in predicted.items()},
            "loo_curve": np.array(loo).round(6).tolist(), "diagnostics": diagnostics,
            "seconds_per_split": {name: value / splits for name, value in seconds.items()}}


def measure(args):
    os.makedirs(args.out, exist_ok=True)
    commit = git_commit()     # the code this process runs (not HEAD when a unit is written)
    settings = {"splits": args.splits, "seed": args.seed, "gamma": args.gamma, "source_gamma": 1.0,
                "methods": list(args.methods), "grid": [GRID[0], GRID[-1], 0.05],
                "pool_size": "min(1000, (rows - n) // 2)", "version": rmt_alpha.__version__}
    for dataset in args.data:
        domains, pairs = load(dataset)
        for n in args.ns:
            for source, target in pairs:
                path = os.path.join(args.out, f"{dataset}_{source}_{target}_n{n}.json")
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as handle:
                        stored = json.load(handle)["settings"]
                    if {k: stored.get(k) for k in settings if k != "version"} != {k: v for k, v in settings.items()
                                                                                    if k != "version"}:
                        raise SystemExit(f"{path} was written with other settings; use another --out")
                    continue
                start = time.perf_counter()
                unit = run_unit(domains[source], domains[target], n, args.splits, args.seed, args.gamma, args.methods)
                unit.update(dataset=dataset, settings=settings, commit=commit,
                            seconds=time.perf_counter() - start, load_average=os.getloadavg())
                atomic_write(path, json.dumps(unit))
                print(f"{dataset} {source}->{target} n={n}: {unit['seconds']:.0f} s", file=sys.stderr, flush=True)


def interpolated(unit: dict, alpha) -> np.ndarray:
    """Test accuracy of each split at its alpha, interpolated on the split's 0.05-spaced test curve (for rules
    whose alpha the unit did not score)."""
    curve = np.asarray(unit["test_curve"])
    return np.array([np.interp(a, GRID, row) for a, row in zip(np.clip(alpha, GRID[0], GRID[-1]), curve)])


def gain_argmax(curves) -> np.ndarray:
    """Per row, the grid alpha maximising a predicted curve (ties towards 1)."""
    return GRID[closest_to_one_argmax(np.asarray(curves))]


def auto_rules(unit: dict) -> dict:
    """alpha per split of each candidate rule deciding between the covariance-aware and the semi-empirical theory
    from what a user has (labelled rows and pool only; the test rows are not used)."""
    one = int(np.argmin(np.abs(GRID - 1.0)))
    cov, se = (np.asarray(unit["predicted_curve"][k]) for k in ("covariance", "se"))
    loo = np.asarray(unit["loo_curve"])
    a_cov, a_se = (np.asarray(unit["alpha"][k]) for k in ("covariance", "se"))
    closer_at_one = np.abs(se[:, one] - loo[:, one]) <= np.abs(cov[:, one] - loo[:, one])
    closer_curve = np.mean((se - loo) ** 2, axis=1) <= np.mean((cov - loo) ** 2, axis=1)
    spread = np.array([d["norm_cv"] for d in unit["diagnostics"]])
    return {f"semi-empirical unless the pool's row-norm spread > {NORM_SPREAD_LIMIT:g} (chosen)":
            np.where(spread > NORM_SPREAD_LIMIT, a_cov, a_se),
            "semi-empirical unless it exceeds the covariance-aware alpha by > 0.7":
            np.where(a_se - a_cov > 0.7, a_cov, a_se), "mean of the two alphas": 0.5 * (a_cov + a_se),
            "smaller alpha": np.minimum(a_cov, a_se),
            "argmax of the mean predicted gain": gain_argmax(0.5 * ((cov - cov[:, one:one + 1])
                                                                     + (se - se[:, one:one + 1]))),
            "theory closer to LOO at alpha=1": np.where(closer_at_one, a_se, a_cov),
            "theory closer to the LOO curve": np.where(closer_curve, a_se, a_cov)}


def print_summary(folder: str) -> None:
    """Per data set and n: each method's mean test accuracy over pairs (each pair: mean over splits), its gain over
    alpha = 1 in points (+- the standard error over pairs), the pairs where it beats alpha = 1, the gap to the best
    fixed alpha, seconds per split; then the candidate auto rules."""
    units = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                units.append(json.load(handle))
    groups = {}
    for unit in units:
        groups.setdefault((unit["dataset"], unit["n"]), []).append(unit)
    for (dataset, n), group in sorted(groups.items()):
        rows = {}
        for unit in group:
            base = np.mean(unit["accuracy"]["alpha=1"])
            best = float(np.max(np.mean(unit["test_curve"], axis=0)))
            scores = {name: (np.mean(value), unit["seconds_per_split"][name]) for name, value in
                      unit["accuracy"].items()}
            scores["split-half oracle (test labels)"] = (np.mean(unit["split_half_oracle"]), np.nan)
            scores["best fixed alpha (test labels)"] = (best, np.nan)
            if "covariance" in unit["alpha"] and "se" in unit["alpha"]:
                for rule, alpha in auto_rules(unit).items():
                    scores["auto: " + rule] = (np.mean(interpolated(unit, alpha)), np.nan)
            for name, (accuracy, seconds) in scores.items():
                rows.setdefault(name, []).append((accuracy - base, accuracy, best - accuracy, seconds))
        print(f"\n{dataset}, n = {n}: {len(group)} pairs, {group[0]['splits']} splits each\n")
        print("| method | accuracy | gain over alpha=1 (pt) | pairs better | below best fixed (pt) | s per split |")
        print("|---|---|---|---|---|---|")
        for name, values in rows.items():
            gain, accuracy, below, seconds = np.array(values).T
            spread = 100 * gain.std(ddof=1) / np.sqrt(gain.size) if gain.size > 1 else np.nan
            print(f"| {name} | {accuracy.mean():.4f} | {100 * gain.mean():+.2f} +- {spread:.2f} | "
                  f"{int(np.sum(gain > 1e-12))}/"
                  f"{gain.size} | {100 * below.mean():.2f} | " + ("" if np.isnan(seconds).all() else
                                                                   f"{np.nanmean(seconds):.2f}") + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of the per-unit JSON files")
    parser.add_argument("--data", nargs="+", choices=("amazon", "text"), default=["text", "amazon"])
    parser.add_argument("--ns", type=int, nargs="+", default=[20])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--summary", action="store_true", help="print the tables from the units in --out")
    args = parser.parse_args()
    if args.summary:
        print_summary(args.out)
    else:
        measure(args)


if __name__ == "__main__":
    main()
