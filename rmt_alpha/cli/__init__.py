"""`rmt-alpha`: the command line. Thin: each subcommand calls a library function and prints text or `--json`.

Statistics come from flags, from a JSON file (`--config FILE`, same keys as the flags with underscores, or
`source_mean` / `target_mean` vectors, `source_weights`, `source_cov`, `target_cov`), or from the embedded default
(theory/THEORY.md section 3's example). `choose-alpha` takes data files instead.
"""

from __future__ import annotations

import argparse
import sys

from rmt_alpha.cli._choose_command import add_choose_arguments, cmd_choose_alpha
from rmt_alpha.cli._data_commands import cmd_fetch
from rmt_alpha.cli._experiment_commands import (
    cmd_amazon,
    cmd_digits,
    cmd_glue,
    cmd_text_transfer,
    cmd_transformer,
)
from rmt_alpha.cli._options import (
    add_stats_arguments,
    finite_number,
    flag_names,
    grid_size,
    seed,
    source_target,
    unit_count,
)
from rmt_alpha.cli._plot_command import PLOT_KINDS, cmd_plot
from rmt_alpha.cli._theory_commands import cmd_curve, cmd_demo, cmd_optimal_alpha, cmd_validate


def _add_alpha_grid(parser: argparse.ArgumentParser, *, num: int, what: str = "alphas") -> None:
    parser.add_argument("--alpha-min", type=finite_number, default=-1.0, help="smallest alpha (default -1)")
    parser.add_argument("--alpha-max", type=finite_number, default=4.0, help="largest alpha (default 4)")
    parser.add_argument("--num", type=grid_size, default=num, help=f"number of {what} (default {num})")


def _add_monte_carlo(parser: argparse.ArgumentParser, *, trials: int, zero_allowed: bool = False) -> None:
    parser.add_argument("--trials", type=int, default=trials, help=f"Monte-Carlo trials (default {trials}"
                        + ("; 0 for theory only)" if zero_allowed else ")"))
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")


def _glue_arguments(glue: argparse.ArgumentParser) -> None:
    from rmt_alpha.experiments import GlueConfig

    base = GlueConfig()
    tuning, adapter = base.finetune, base.finetune.adapter
    glue.add_argument("--checkpoint", required=True, metavar="DIR", help="folder of config.json, model.safetensors "
                      "and tokenizer.json (e.g. roberta-base)")
    glue.add_argument("--data", required=True, metavar="DIR", help="GLUE data root (holding RTE/, MNLI/, ...) or "
                      "the task's own folder")
    glue.add_argument("--task", required=True, help="mnli, qnli, mrpc, rte, sst2 or qqp")
    glue.add_argument("--out", required=True, metavar="DIR", help="output folder")
    glue.add_argument("--methods", nargs="+", help=f"fine-tuning methods (default: {' '.join(base.methods)})")
    glue.add_argument("--seeds", type=grid_size, help=f"paired seeds (default {base.seeds})")
    glue.add_argument("--epochs", type=int, help=f"maximum epochs (default {tuning.max_epochs}; early stopping on "
                      "validation)")
    glue.add_argument("--batch-size", type=int, help=f"training batch (default {tuning.batch_size})")
    glue.add_argument("--learning-rate", type=float, help="AdamW learning rate of adapters and head (default "
                      f"{tuning.learning_rate:g})")
    glue.add_argument("--rank", type=int, help=f"LoRA rank (default {adapter.rank})")
    glue.add_argument("--lora-alpha", type=float, help=f"PEFT's lora_alpha (default {adapter.lora_alpha:g})")
    glue.add_argument("--alpha-every", type=int, help=f"T: adapter steps between alpha updates (default "
                      f"{tuning.alpha_every})")
    glue.add_argument("--alpha-learning-rate", type=float, help="Adam learning rate of alpha (default "
                      f"{tuning.alpha_learning_rate:g})")
    glue.add_argument("--max-length", type=int, help=f"tokens per sentence pair (default {base.max_length})")
    glue.add_argument("--max-train", type=int, help="use at most this many training rows (default all)")


def _transformer_arguments(transformer: argparse.ArgumentParser) -> None:
    from rmt_alpha.experiments import TransformerExperimentConfig

    full, quick = TransformerExperimentConfig(), TransformerExperimentConfig.quick()
    transformer.add_argument("--out", required=True, help="output directory (also holds the pre-training cache)")
    transformer.add_argument("--quick", action="store_true", help="a smoke run (under two minutes on a CPU)")
    transformer.add_argument("--seeds", type=grid_size, help=f"paired seeds per sharing level (default {full.seeds}; "
                             f"quick: {quick.seeds})")
    transformer.add_argument("--sharing", type=float, nargs="+", help="sharing levels in [0, 1] (default "
                             f"{' '.join(map(str, full.sharing))}; quick: {' '.join(map(str, quick.sharing))})")


def _text_transfer_arguments(text: argparse.ArgumentParser) -> None:
    from rmt_alpha.experiments import TextTransferConfig

    full, quick = TextTransferConfig(), TextTransferConfig.quick()
    text.add_argument("--out", required=True, metavar="DIR", help="folder for the tables, JSON and figures; each "
                      "finished unit is kept in DIR/units, so the same command started again resumes")
    text.add_argument("--quick", action="store_true", help="the CI-sized run: one UCI pair, few seeds, the real "
                      "MiniLM and text (about a minute on two CPU cores)")
    text.add_argument("--seeds", type=grid_size, help="paired fine-tuning seeds per pair "
                      f"(default {full.finetune.seeds}; quick: {quick.finetune.seeds})")
    text.add_argument("--pairs", nargs="+", type=source_target, metavar="SOURCE:TARGET",
                      help="fine-tune on these pairs (default: the pairs where the theory predicts the largest and "
                           "the smallest gain of alpha*)")
    text.add_argument("--registered", action="store_true", help="run exactly the registered plan "
                      "(theory/transformer_registration.md) unit by unit instead, and write DIR/transformer_case.json "
                      "and .md; the units are kept in --units, so the same command resumes")
    text.add_argument("--units", metavar="UNITS", help="--registered: the unit folder (default "
                      "DIR/text_finetune_units)")
    text.add_argument("--max-units", type=unit_count, metavar="K", help="--registered: compute at most K new units, "
                      "then write the tables of what is done (0: only the tables; default: all)")


def _plot_arguments(plot: argparse.ArgumentParser) -> None:
    plot.add_argument("kind", choices=PLOT_KINDS, metavar="KIND", help=", ".join(PLOT_KINDS))
    plot.add_argument("--out", required=True, metavar="FILE.png|FILE.pdf", help="output image (written atomically)")
    add_stats_arguments(plot)
    _add_alpha_grid(plot, num=11, what="simulated alphas (curve)")
    _add_monte_carlo(plot, trials=200, zero_allowed=True)
    plot.add_argument("--alpha", type=float, help="histogram: the alpha (default alpha*)")
    plot.add_argument("--n-test", type=int, default=4000, help="histogram: test points (default 4000)")
    plot.add_argument("--over", choices=["n_over_p", "gamma", "both"], default="both",
                      help="maps: vertical axis (default both, two panels)")
    plot.add_argument("--beta-min", type=finite_number, default=-0.5, help="maps: smallest beta (default -0.5)")
    plot.add_argument("--beta-max", type=finite_number, default=1.5, help="maps: largest beta (default 1.5)")
    plot.add_argument("--grid", type=int, default=121, help="maps: grid points per axis (default 121)")
    plot.add_argument("--pairs", nargs="+", type=source_target,
                      default=[("books", "dvd"), ("dvd", "elec"), ("kitchen", "books")],
                      help="amazon-curves: SOURCE:TARGET pairs (default books:dvd dvd:elec kitchen:books)")
    plot.add_argument("--splits", type=int, default=20, help="amazon-curves: random target splits (default 20)")
    plot.add_argument("--data", metavar="DIR", help="amazon-curves: Amazon data folder (as `rmt-alpha amazon`)")
    plot.add_argument("--results", metavar="FILE.json", help="amazon-methods: amazon.json of `rmt-alpha amazon`; "
                      "alpha-stats: results.json of `rmt-alpha transformer`")
    plot.add_argument("--n-labelled", type=int, default=20,
                      help="amazon-methods, amazon-curves: labelled target rows (default 20)")
    plot.add_argument("--semi-empirical", action="store_true",
                      help="amazon-curves: also the semi-empirical theory (theory/THEORY.md section 9), "
                      "instead of the isotropic one")
    plot.add_argument("--columns", type=int, help="amazon-curves: panels per row (default: one row)")


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
    _add_monte_carlo(demo, trials=40)

    add_stats_arguments(command("optimal-alpha", cmd_optimal_alpha, "alpha* and alpha_bar from the closed form"))

    curve = command("curve", cmd_curve, "predicted accuracy on a grid of alphas")
    add_stats_arguments(curve)
    _add_alpha_grid(curve, num=21)

    add_choose_arguments(command("choose-alpha", cmd_choose_alpha, "choose alpha from a source classifier (or "
                                 "source data) and target rows in .npy or .csv files: rmt_alpha.choose_alpha, with "
                                 "its uncertainty, the theory it used and the data behind each statistic"))

    validate = command("validate", cmd_validate, "theory vs JAX simulation for each alpha: accuracy, E[y g] and "
                       "E[g^2], with standard errors and the gap in standard errors")
    add_stats_arguments(validate)
    _add_alpha_grid(validate, num=11)
    _add_monte_carlo(validate, trials=400)
    validate.add_argument("--n-test", type=int, help="score on this many test points per trial (default: the "
                          "exact conditional accuracy)")
    validate.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    validate.add_argument("--plot", metavar="FILE.png", help="also draw accuracy against alpha to this PNG")

    _transformer_arguments(command("transformer", cmd_transformer, "pre-train a small transformer on synthetic "
                                   "source reviews (cached in --out), fine-tune it on a few target reviews with "
                                   "head-only, full, LoRA, fixed alpha, alpha-LoRA and DoRA over paired seeds; "
                                   "write table, figures, checkpoints"))
    _text_transfer_arguments(command("text-transfer", cmd_text_transfer, "the transformer case on a real encoder "
                                     "and real text: the linear theory on all-MiniLM-L6-v2 features of review-text "
                                     "domains against the measurement, then LoRA, alpha-LoRA, DoRA and alpha on the "
                                     "pre-trained head inside MiniLM over paired seeds, learned alphas against a "
                                     "shuffled-label null (needs `rmt-alpha fetch minilm reviews-text`)"))
    _glue_arguments(command("glue", cmd_glue, "fine-tune a BERT/RoBERTa checkpoint (config.json, "
                            "model.safetensors, tokenizer.json) on a GLUE task with LoRA / alpha-LoRA (adapters on "
                            "query and value, head trained); dev set = test set; write table, results, checkpoints"))

    for name, handler, text in (("amazon", cmd_amazon, "the Amazon Review transfer experiments (12 pairs): honest "
                                 "methods, paper mode beside the paper's Table 1, prediction vs measurement"),
                                ("digits", cmd_digits, "the same transfer experiment on scikit-learn's digits "
                                 "(digit-pair tasks)")):
        real = command(name, handler, text)
        real.add_argument("--out", required=True, metavar="DIR", help="folder for the CSV, JSON and PNG outputs")
        real.add_argument("--quick", action="store_true", help="a reduced run of under a minute")
        real.add_argument("--seed", type=seed, default=0, help="seed of the target splits (default 0)")
        if name == "amazon":
            real.add_argument("--data", metavar="DIR", help="Amazon data folder (default: the fetched copy, "
                              "`rmt-alpha fetch amazon`)")

    fetch = command("fetch", cmd_fetch, "download data sets and models once into the data cache ($RMT_ALPHA_DATA, "
                    "else the user cache), checked against pinned SHA-256; print licences, citations and counts")
    fetch.add_argument("names", nargs="+", choices=["amazon", "reviews-text", "minilm", "all"], metavar="NAME",
                       help="amazon (Amazon Review, 400 features), reviews-text (labelled review sentences, seven "
                       "domains), minilm (the all-MiniLM-L6-v2 encoder), or all")

    _plot_arguments(command("plot", cmd_plot, "draw a figure to PNG or PDF (from the extension): curve (theory vs "
                            "simulation), histogram (decision values vs the two Gaussians), alpha-map and gain-map "
                            "(over (beta, n/p) and (beta, gamma)), amazon-curves, amazon-methods, alpha-stats"))
    return parser


# library parameters that come from one flag only, whatever the command (the statistics are named where they are
# built, in stats_from_args, and choose-alpha's settings in its command)
_LIBRARY_FLAGS = {"n_test": "--n-test", "grid": "--grid", "trials": "--trials", "seed": "--seed"}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with flag_names(_LIBRARY_FLAGS):
            args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        parser.exit(2, f"rmt-alpha {args.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
