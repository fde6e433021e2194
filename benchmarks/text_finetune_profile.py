"""Where the seconds of one text-transfer fine-tuning run go: compilation, training steps, alpha steps, validation,
the test evaluation, tokenisation and the rest, on the real MiniLM and the real review text.

    python benchmarks/text_finetune_profile.py [--pair vader-tweets:vader-editorials] [--pair-index 0]
        [--seeds 3] [--methods lora alpha_lora lora_more_data] [--n-train 50] [--compile-cache] [--json FILE]

Needs `rmt-alpha fetch minilm reviews-text`. Four parts:

1. the token lengths of the target's texts (how much of the padded width is real);
2. `run_pair` end to end on `--seeds` seeds (the first seed compiles): per run its wall time, and for the whole call
   the process CPU seconds (all threads) and XLA's compilation seconds (`jax.monitoring` events);
3. the cost of each piece on its own, compiled and warmed up first, in CPU seconds per call: one training step at
   each padded width the pair's batches get (how often each occurs), one alpha step, the validation pass, the test
   pass, tokenising the target;
4. per run, the pieces times their counts (steps, alpha updates and epochs the runs record) against the measured
   CPU seconds per run after the first seed.

With `--compile-cache`, XLA's compiled programs are read from (and kept in) the on-disk cache that a resumed
`rmt-alpha text-transfer` uses (`enable_compilation_cache`): the first seed's compile seconds become load seconds.
CPU seconds are reported beside wall seconds because the machine is shared: wall time grows with the other jobs,
CPU time much less. The load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time

import jax
import numpy as np
from _timing import median_seconds


def _cpu_seconds(function, repeats: int = 3) -> float:
    """Median process CPU seconds of `function()` after one warm-up call (compilation excluded)."""
    function()
    return median_seconds(function, repeats, clock=time.process_time)


def main(argv=None) -> dict:
    from rmt_alpha import __version__
    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments._text_domains import encoder_domains, feature_model
    from rmt_alpha.experiments._text_finetune import (
        FinetuneSettings,
        head_params,
        run_pair,
        source_head,
        split_rows,
    )
    from rmt_alpha.nn import load_pretrained
    from rmt_alpha.nn._finetune import init_state
    from rmt_alpha.nn._pretrained import tokenize
    from rmt_alpha.nn._step import make_trainer, trim_padding

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="vader-tweets:vader-editorials")
    parser.add_argument("--pair-index", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["lora", "alpha_lora", "lora_more_data"])
    parser.add_argument("--n-train", type=int, default=50)
    parser.add_argument("--compile-cache", action="store_true", help="use the on-disk compilation cache")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    if args.compile_cache:
        from rmt_alpha._io import enable_compilation_cache

        enable_compilation_cache()
    source_name, target_name = args.pair.split(":")

    compiled = collections.Counter()

    def listener(event, duration, **_):
        # XLA compilations, or with the on-disk cache also the loads of compiled programs (counted apart below)
        if event.endswith("backend_compile_duration"):
            compiled["seconds"] += duration
            compiled["count"] += 1

    def counter(event, **_):
        if event.endswith("cache_hits"):
            compiled["cache_hits"] += 1

    jax.monitoring.register_event_listener(counter)
    jax.monitoring.register_event_duration_secs_listener(listener)
    report = {"version": __version__, "pair": args.pair, "pair_index": args.pair_index,
              "load_average_start": os.getloadavg(), "cpus": os.cpu_count()}
    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    texts = load_review_text([source_name, target_name])
    settings = FinetuneSettings(seeds=args.seeds, methods=tuple(args.methods), n_train=args.n_train)
    domains = encoder_domains(model, texts, max_length=settings.max_length)
    source, target = domains[source_name], domains[target_name]

    # 1. token lengths
    lengths = (tokenize(model, texts[target_name].texts, max_length=512) != model.config.pad_token_id).sum(axis=1)
    report["target_tokens"] = {"median": float(np.median(lengths)), "p90": float(np.percentile(lengths, 90)),
                               "p99": float(np.percentile(lengths, 99)), "max": int(lengths.max()),
                               "share_over_max_length": float(np.mean(lengths > settings.max_length))}

    # 2. end to end
    started, cpu = time.perf_counter(), time.process_time()
    runs, _ = run_pair(model, source, target, texts[target_name].texts, settings, pair_index=args.pair_index)
    report["end_to_end"] = {"wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                            "compile_seconds": compiled["seconds"], "compiles": compiled["count"],
                            "loaded_from_disk_cache": compiled["cache_hits"],
                            "runs": [{k: run[k] for k in ("seed", "method", "wall_time", "steps_run",
                                                           "alpha_updates_run", "epochs_run", "test_accuracy",
                                                           "val_accuracy")} for run in runs]}
    started, cpu = time.perf_counter(), time.process_time()
    compiled.clear()
    settings_later = FinetuneSettings(seeds=1, methods=tuple(args.methods), n_train=args.n_train)
    again, _ = run_pair(model, source, target, texts[target_name].texts, settings_later, pair_index=args.pair_index)
    report["seed_0_again"] = {"wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                              "compiles": compiled["count"], "compile_seconds": compiled["seconds"],
                              "same_test_accuracy": [a["test_accuracy"] == b["test_accuracy"]
                                                     for a, b in zip(again, runs)]}

    # 3. the pieces
    started = time.perf_counter()
    tokens = tokenize(model, texts[target_name].texts, max_length=settings.max_length, width=settings.max_length)
    tokenise_seconds = time.perf_counter() - started
    y = (target.y > 0).astype(np.int32)
    rows = split_rows(len(y), settings, 0, args.pair_index)
    w_s, scale = source_head(source.X, source.y, settings.source_gamma)
    unlabelled = target.X[np.concatenate([rows["train"], rows["held_out"], rows["val"], rows["pool"]])]
    params = {**model.params, "head": head_params(w_s, scale, unlabelled)}
    config = settings.method_config("alpha_lora")
    trainer = make_trainer(model.config, config)
    state = init_state(jax.random.key(0), params, config)
    opt_state, alpha_state = trainer.main.init(state), trainer.alpha.init(state)
    rng = np.random.default_rng(0)
    widths = collections.Counter()
    for _ in range(200):       # the padded widths of the pair's training batches
        batch = rng.choice(rows["train"], config.batch_size, replace=False)
        widths[trim_padding(tokens[batch], model.config.pad_token_id).shape[1]] += 1
    step_seconds = {}
    for width in sorted(widths):
        batch = tokens[rows["train"][: config.batch_size], :width]
        labels = y[rows["train"][: config.batch_size]]
        step_seconds[width] = _cpu_seconds(lambda b=batch: jax.block_until_ready(
            trainer.train_step(state, opt_state, b, labels)))
    mean_step = sum(step_seconds[w] * c for w, c in widths.items()) / sum(widths.values())
    batch = trim_padding(tokens[rows["held_out"][: config.alpha_batch_size]], model.config.pad_token_id)
    alpha_seconds = _cpu_seconds(lambda: jax.block_until_ready(
        trainer.alpha_step(state, alpha_state, batch, y[rows["held_out"][: config.alpha_batch_size]])))
    val_seconds = _cpu_seconds(lambda: trainer.accuracy(state, tokens[rows["val"]], y[rows["val"]]))
    test_seconds = _cpu_seconds(lambda: trainer.accuracy(state, tokens[rows["test"]], y[rows["test"]]), 2)
    report["pieces_cpu_seconds"] = {"train_step_by_width": step_seconds,
                                    "width_share": {w: c / sum(widths.values()) for w, c in sorted(widths.items())},
                                    "train_step_mean": mean_step, "alpha_step": alpha_seconds,
                                    "validation_pass": val_seconds, "test_pass": test_seconds,
                                    "tokenise_target_wall": tokenise_seconds}

    # 4. per run: pieces x counts (seed 0 run again, warm) against its measured CPU seconds
    per_method = {}
    for run in again:
        per_method[run["method"]] = {
            "steps": run["steps_run"], "alpha_updates": run["alpha_updates_run"], "epochs": run["epochs_run"],
            "train_steps_cpu": run["steps_run"] * mean_step,
            "alpha_steps_cpu": run["alpha_updates_run"] * alpha_seconds,
            "validation_cpu": run["epochs_run"] * val_seconds, "test_cpu": test_seconds, "wall": run["wall_time"]}
    report["per_run"] = per_method
    later = [run for run in runs if run["seed"] > 0]
    if later:
        report["wall_per_run_first_seed"] = float(np.mean([run["wall_time"] for run in runs if run["seed"] == 0]))
        report["wall_per_run_later_seeds"] = float(np.mean([run["wall_time"] for run in later]))
    report["load_average_end"] = os.getloadavg()

    print(f"load average {report['load_average_start'][0]:.1f} -> {report['load_average_end'][0]:.1f} on "
          f"{report['cpus']} CPUs; pair {args.pair} (index {args.pair_index}), n_train {args.n_train}")
    tokens_report = report["target_tokens"]
    print(f"target tokens: median {tokens_report['median']:.0f}, p90 {tokens_report['p90']:.0f}, p99 "
          f"{tokens_report['p99']:.0f}, max {tokens_report['max']}; over {settings.max_length}: "
          f"{100 * tokens_report['share_over_max_length']:.2f}%")
    end = report["end_to_end"]
    print(f"end to end, {args.seeds} seeds x {len(args.methods)} methods: {end['wall_seconds']:.0f} s wall, "
          f"{end['cpu_seconds']:.0f} s CPU, {end['compiles']} programs compiled or loaded "
          f"({end['compile_seconds']:.0f} s; {end['loaded_from_disk_cache']} of them from the on-disk cache)")
    if later:
        print(f"wall s/run: first seed {report['wall_per_run_first_seed']:.1f}, later seeds "
              f"{report['wall_per_run_later_seeds']:.1f}")
    print(f"seed 0 again in the same process: {report['seed_0_again']['compiles']} compilations, "
          f"{report['seed_0_again']['cpu_seconds']:.1f} s CPU for {len(args.methods)} runs, same test accuracy: "
          f"{all(report['seed_0_again']['same_test_accuracy'])}")
    pieces = report["pieces_cpu_seconds"]
    print("CPU s per call: train step by padded width " + ", ".join(
        f"{w}: {s:.3f} ({100 * pieces['width_share'][w]:.0f}% of batches)" for w, s in step_seconds.items())
        + f"; alpha step {alpha_seconds:.3f}; validation pass ({settings.n_val} rows) {val_seconds:.3f}; "
        f"test pass ({settings.n_test} rows) {test_seconds:.3f}; tokenising the target {tokenise_seconds:.2f} (wall)")
    pieces_total = 0.0
    for method, row in per_method.items():
        total = row["train_steps_cpu"] + row["alpha_steps_cpu"] + row["validation_cpu"] + row["test_cpu"]
        pieces_total += total
        print(f"{method:16s} seed 0, warm (CPU s): steps {row['train_steps_cpu']:.1f} ({row['steps']}), alpha "
              f"{row['alpha_steps_cpu']:.1f} ({row['alpha_updates']}), validation {row['validation_cpu']:.1f} "
              f"({row['epochs']} passes), test {row['test_cpu']:.1f}; sum {total:.1f}")
    print(f"sum of the pieces over the {len(per_method)} warm runs: {pieces_total:.1f} CPU s; measured "
          f"{report['seed_0_again']['cpu_seconds']:.1f} CPU s ({report['seed_0_again']['wall_seconds']:.1f} s wall)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1, default=str)
    return report


if __name__ == "__main__":
    main()
