"""The registered transformer case (theory/transformer_registration.md) on a GPU machine, into the same unit store as
the CPU run, and the seconds per run of each method there.

    RMT_ALPHA_DATA=.data python benchmarks/gpu_transformer_case.py [--units theory/results/text_finetune_units]
        [--out theory/results] [--minutes 10] [--max-units K] [--allow-cpu]

What the machine needs: this repository with the units committed so far, the package installed with a CUDA build of
JAX (`pip install -e . "jax[cuda12]"`), and the data. A device machine without network cannot fetch: copy
`all-MiniLM-L6-v2/`, `review_text/` and `embeddings/` from the cache (`~/.cache/rmt_alpha`) into an ignored folder
of the checkout, e.g. `.data/`, and point `RMT_ALPHA_DATA` at it. JAX's compiled programs are kept in
`<first data root>/jax_compilation`, so a second call on the same machine does not compile again.

It runs the plan's units that are not in `--units` yet, in the plan's order (seed-major), until `--minutes` of
computing have passed (a unit started before then is finished) or `--max-units` are done, then writes the tables of
what is done (`--out`/transformer_case.json and .md, INCOMPLETE until every unit is there) and prints, per method,
the wall seconds per run of the units it computed (compilation included in each method's first run: the median is
printed beside the mean), and the units per hour. Each unit records the platform and device that computed it; GPU
and CPU units may be mixed (the registration says so). Bring the new unit files back and commit them.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main(argv=None) -> dict:
    import jax

    from rmt_alpha._io import enable_compilation_cache
    from rmt_alpha.experiments._transformer_case import run_transformer_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="theory/results/text_finetune_units")
    parser.add_argument("--out", default="theory/results")
    parser.add_argument("--minutes", type=float, default=10.0, help="stop starting units after this many minutes")
    parser.add_argument("--max-units", type=int, help="stop after this many new units")
    parser.add_argument("--allow-cpu", action="store_true", help="run even when JAX finds no GPU")
    args = parser.parse_args(argv)
    platform = jax.default_backend()
    if platform == "cpu" and not args.allow_cpu:
        raise SystemExit("JAX finds no GPU here (platform 'cpu'); pass --allow-cpu to run on the CPU anyway")
    cache = enable_compilation_cache()
    started = time.perf_counter()
    result = run_transformer_case(units=args.units, out=args.out, max_units=args.max_units,
                                  max_seconds=60 * args.minutes, progress=False)
    elapsed = time.perf_counter() - started
    new = set(result.new_units)
    fresh = [run for run in result.runs if run["unit"] in new]
    per_method = {}
    for method in dict.fromkeys(run["method"] for run in fresh):
        seconds = np.array([run["wall_time"] for run in fresh if run["method"] == method])
        per_method[method] = {"runs": int(seconds.size), "mean_s": float(seconds.mean()),
                              "median_s": float(np.median(seconds))}
    report = {"platform": platform, "device": str(jax.devices()[0].device_kind), "compilation_cache": cache,
              "units_computed": len(new), "seconds_computing": result.status["seconds_computing_now"],
              "seconds_in_all": elapsed, "units_done": result.status["units_done"],
              "units_total": result.status["units_total"], "per_method": per_method,
              "units_per_hour": 3600 * len(new) / max(result.status["seconds_computing_now"], 1e-9)}
    print(f"{report['device']} ({platform}): {len(new)} units in {report['seconds_computing']:.0f} s of computing "
          f"({report['units_per_hour']:.0f} units per hour; {elapsed:.0f} s with loading and the tables); "
          f"{report['units_done']} of {report['units_total']} units done")
    for method, row in per_method.items():
        print(f"{method:28s} {row['runs']:4d} runs, {row['mean_s']:7.2f} s/run mean, {row['median_s']:7.2f} median")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
