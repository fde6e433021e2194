"""The theory check in all three law modes on one campaign's pairs: in-sample (the whole target domain as the law),
held-out half (law from a random half A, measured on the other half B) and pseudo-labelled pool (law from a pool of
A labelled by each split's alpha = 1 classifier, measured on B), with the sampling-noise floor of the two halves
(`rmt_alpha.experiments.predict_vs_measure`, `law=`; theory/real_features.md).

Usage:
    python benchmarks/out_of_sample.py amazon --out theory/results/fidelity_amazon_n20.json
    python benchmarks/out_of_sample.py text --out theory/results/fidelity_text_n20.json
Options: --n (20), --splits (20), --seed (0), --units DIR (keep each pair's result there, so an interrupted run
resumes). Amazon: the 12 pairs, about 45 minutes on two busy CPU cores; text: all-MiniLM-L6-v2's mean-pooled
features of the 18 review-text pairs (the embeddings cached by `rmt-alpha text-transfer`), about an hour.
Writes the JSON (provenance, settings, the per-law summary, the prediction table and every curve) and prints the
summary.
"""

import argparse
import json
import os
import sys

from _provenance import provenance

from rmt_alpha._io import atomic_write
from rmt_alpha.experiments import ALPHA_GRID, LAWS, Check, campaign_tables, run_campaign
from rmt_alpha.experiments._campaign_report import fidelity_summary, format_fidelity
from rmt_alpha.experiments._laws import DEFAULT_POOL
from rmt_alpha.experiments._text_transfer import curve_record
from rmt_alpha.experiments._units import UnitStore

MAX_LENGTH = 64   # tokens per text, as the full `rmt-alpha text-transfer` run embedded them


def amazon_domains():
    from rmt_alpha.data import amazon_pairs, load_amazon

    return load_amazon(), amazon_pairs(), {"features": "Amazon Review, 400 bag-of-words features (skada-bench)"}


def text_domains():
    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments import encoder_domains, text_pairs
    from rmt_alpha.experiments._text_domains import feature_model
    from rmt_alpha.nn import load_pretrained

    pairs = text_pairs()
    texts = load_review_text(sorted({name for pair in pairs for name in pair}))
    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    domains = encoder_domains(model, texts, max_length=MAX_LENGTH, progress=False)
    return domains, pairs, {"features": f"all-MiniLM-L6-v2, mean over real tokens of the last hidden states, "
                                        f"{MAX_LENGTH} tokens at most"}


def record(check) -> dict:
    """A check's curves (`curve_record`) and, in the pseudo-labelled mode, every split's own prediction."""
    out = curve_record(check) | {"pseudo_label_accuracy": check.pseudo_label_accuracy,
                                 "measured_at_alpha_star_covariance": check.measured_at_alpha_star_covariance,
                                 "measured_at_alpha_star_semi_empirical": check.measured_at_alpha_star_semi_empirical}
    if check.per_split is not None:
        out["per_split"] = {"isotropic": check.per_split.isotropic.tolist(),
                            "covariance": check.per_split.covariance.tolist(),
                            "semi_empirical": None if check.per_split.semi_empirical is None
                            else check.per_split.semi_empirical.tolist(),
                            "alpha_star_isotropic_covariance_semi_empirical": check.per_split.alpha_star.tolist()}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", choices=("amazon", "text"))
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--units", help="folder keeping each pair's result (resume)")
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    domains, pairs, extra = amazon_domains() if args.campaign == "amazon" else text_domains()
    checks = [Check(args.n, semi_empirical=True, law=law) for law in LAWS]
    settings = {"campaign": args.campaign, "n": args.n, "splits": args.splits, "seed": args.seed,
                "laws": list(LAWS), "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1], "gammas": [1.0, 1.0],
                "centre": "mean", "whiten": False, "pairs": [list(pair) for pair in pairs],
                "pool_size": f"min({DEFAULT_POOL}, rows of half A - n)",
                "standardisation": "source: its own rows; target: the law's rows (whole-domain: every row; "
                                   "otherwise half A)", **extra}
    store = UnitStore(args.units, {"settings": settings, "version": stamp["version"]}) if args.units else None
    _, done = run_campaign(domains, pairs, [], checks, splits=args.splits, seed=args.seed,
                           progress=lambda line: print(line, file=sys.stderr, flush=True), store=store)
    rows = campaign_tables([], done)["prediction"]
    summary = fidelity_summary(rows)
    payload = {"provenance": stamp, "settings": settings, "summary": summary, "prediction": rows,
               "curves": [record(check) for check in done]}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, json.dumps(payload, indent=1, default=float, allow_nan=True))
    print("\n".join(format_fidelity(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
