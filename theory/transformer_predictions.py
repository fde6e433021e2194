"""The linear theory's prediction for each pair of the registered transformer case (theory/transformer_registration.md),
twice: as stored by the full `rmt-alpha text-transfer` run (theory/results/text_transfer.json, step 1's prediction
table: covariance-aware theory, whole-target statistics, centre "mean", 20 splits), and recomputed with the current
code (`rmt_alpha.experiments._case_plan.plan_predictions`). Also lists every stored pair and n, so the choice of
pairs can be checked.

    python theory/transformer_predictions.py [--stored theory/results/text_transfer.json]

Needs `rmt-alpha fetch minilm reviews-text` for the recomputation (the embeddings are cached after the first run).
"""

from __future__ import annotations

import argparse
import json
import os


def stored_rows(path: str) -> dict:
    """{(source, target, n): prediction row at alpha = 1, centre "mean", not whitened} of a stored run."""
    with open(path, encoding="utf-8") as handle:
        rows = json.load(handle)["theory_tables"]["prediction"]
    return {(r["source"], r["target"], r["n"]): r for r in rows
            if r["alpha"] == 1.0 and r.get("centre", "mean") == "mean" and not r["whiten"]}


def main(argv=None) -> list:
    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments import encoder_domains
    from rmt_alpha.experiments._case_plan import REGISTERED_PLAN, plan_predictions
    from rmt_alpha.experiments._text_domains import feature_model
    from rmt_alpha.nn import load_pretrained

    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", default=os.path.join(here, "results", "text_transfer.json"))
    args = parser.parse_args(argv)
    stored = stored_rows(args.stored)
    print("stored step-1 table: predicted gain of alpha* over alpha = 1 (pt), covariance-aware, centre mean")
    ns = sorted({key[2] for key in stored})
    print(f"{'pair':36s}" + "".join(f"{'n=' + str(n):>9s}" for n in ns))
    for pair in dict.fromkeys(key[:2] for key in stored):
        cells = [stored.get(pair + (n,), {}).get("predicted_gain_covariance", float("nan")) for n in ns]
        print(f"{pair[0] + '->' + pair[1]:36s}" + "".join(f"{100 * c:+9.2f}" for c in cells))

    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    names = sorted({name for arm in REGISTERED_PLAN.arms for name in (arm.source, arm.target)})
    texts = load_review_text(names)
    domains = encoder_domains(model, texts, max_length=REGISTERED_PLAN.finetune.max_length)
    rows = plan_predictions(REGISTERED_PLAN, domains)
    print("\nregistered arms: stored and recomputed (alpha*, predicted gain in pt, linear model's measured gain at "
          "alpha* in pt)")
    for row in rows:
        old = stored.get((row["source"], row["target"], row["n"]), {})
        print(f"{row['source'] + '->' + row['target']:36s} n={row['n']:3d}  stored: alpha* "
              f"{old.get('alpha_star_covariance', float('nan')):.3f} gain "
              f"{100 * old.get('predicted_gain_covariance', float('nan')):+.2f}  recomputed: alpha* "
              f"{row['alpha_star_covariance']:.3f} gain {100 * row['predicted_gain_covariance']:+.2f} "
              f"(linear measured {100 * row['measured_linear_gain']:+.2f}); against alpha = 1 at n = "
              f"{row['n_control']} (the data control): predicted {100 * row['predicted_gain_over_control']:+.2f}, "
              f"linear measured {100 * row['measured_linear_gain_over_control']:+.2f}")
    return rows


if __name__ == "__main__":
    main()
