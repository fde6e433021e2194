"""Subcommands that run experiments and write result files: amazon, digits, transformer, text-transfer, glue."""

from __future__ import annotations

import sys

from rmt_alpha.cli._options import emit


def cmd_transformer(args) -> None:
    from rmt_alpha.experiments import TransformerExperimentConfig, run_transformer_experiment

    overrides = {}
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.sharing is not None:
        overrides["sharing"] = tuple(args.sharing)
    config = TransformerExperimentConfig.quick(**overrides) if args.quick else TransformerExperimentConfig(**overrides)
    result = run_transformer_experiment(config, args.out, progress=not args.json)
    payload = {"source_accuracy": result.source_accuracy, "parameters": result.parameters,
               "summary": result.summary, "paired_vs_lora": result.paired, "files": result.files}
    with open(result.files["table"], encoding="utf-8") as handle:
        table = handle.read()
    emit(payload, args.json, [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])


def cmd_text_transfer(args) -> None:
    import dataclasses
    import os

    from rmt_alpha._io import enable_compilation_cache
    from rmt_alpha.experiments import TextTransferConfig, run_text_transfer

    if args.registered and (args.quick or args.seeds is not None or args.pairs):
        raise SystemExit("--registered runs the registered plan as it is: leave out --quick, --seeds and --pairs")
    if not args.registered and (args.units or args.max_units is not None):
        raise SystemExit("--units and --max-units go with --registered")
    enable_compilation_cache()          # a resumed run loads its compiled steps instead of compiling them again
    if args.registered:
        from rmt_alpha.experiments._transformer_case import run_transformer_case

        units = args.units or os.path.join(args.out, "text_finetune_units")
        result = run_transformer_case(units=units, out=args.out, max_units=args.max_units, progress=not args.json)
        with open(result.files["table"], encoding="utf-8") as handle:
            table = handle.read()
        emit({"status": result.status, "pooled": result.tables["pooled"], "files": result.files}, args.json,
             [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])
        return

    config = TextTransferConfig.quick() if args.quick else TextTransferConfig()
    if args.seeds is not None:
        config = dataclasses.replace(config, finetune=dataclasses.replace(config.finetune, seeds=args.seeds))
    if args.pairs:
        config = dataclasses.replace(config, finetune_pairs=tuple(args.pairs))
    result = run_text_transfer(config, args.out, progress=not args.json)
    payload = {"finetune_pairs": result.finetune_pairs, "timings_seconds": result.timings,
               "theory_link": result.tables["theory_link"], "paired": result.tables["paired"], "files": result.files}
    with open(result.files["table"], encoding="utf-8") as handle:
        table = handle.read()
    emit(payload, args.json, [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])


def cmd_glue(args) -> None:
    import dataclasses

    from rmt_alpha.experiments import GlueConfig, run_glue

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
    emit(payload, args.json, [table.rstrip(), *(f"wrote {path}" for path in result.files.values())])


def _run_real_data(args, experiment_function, prefix: str, **keywords) -> None:
    from rmt_alpha.experiments import format_campaign, write_campaign

    say = (lambda line: print(line, file=sys.stderr)) if not args.json else None
    experiment = experiment_function(quick=args.quick, seed=args.seed, progress=say, **keywords)
    paths = write_campaign(experiment, args.out, prefix)
    if args.json:
        emit({"settings": experiment.settings, "tables": experiment.tables, "files": paths}, True, [])
    else:
        print(format_campaign(experiment))
        print("wrote " + ", ".join(paths))


def cmd_amazon(args) -> None:
    from rmt_alpha.experiments import run_amazon_experiment

    _run_real_data(args, run_amazon_experiment, "amazon", directory=args.data)


def cmd_digits(args) -> None:
    from rmt_alpha.experiments import run_digits_experiment

    _run_real_data(args, run_digits_experiment, "digits")
