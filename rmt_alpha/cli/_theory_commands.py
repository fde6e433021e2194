"""Subcommands on the linear theory: demo, optimal-alpha, curve, validate (theory/THEORY.md sections 2 and 3)."""

from __future__ import annotations

import numpy as np

from rmt_alpha._accuracy import predicted_accuracy, source_accuracy
from rmt_alpha._optimize import alpha_bar, optimal_alpha
from rmt_alpha.cli._options import check_trials_for_stderr, describe, emit, stats_from_args

NO_CROSSING = ("the mean margin E[y g] does not depend on alpha (the source carries no signal along the target "
               "mean), so no finite alpha gives accuracy 1/2")


def cmd_optimal_alpha(args) -> None:
    source, target = stats_from_args(args, weights=True, covariances=True)
    best = optimal_alpha(source, target)
    crossing = alpha_bar(source, target)
    payload = {"config": describe(source, target), "alpha_star": best, "alpha_bar": crossing,
               "accuracy_at_alpha_star": float(predicted_accuracy(source, target, best))}
    crossing_line = f"alpha_bar (accuracy 1/2) = {crossing:.6g}"
    if not np.isfinite(crossing):  # JSON has no Infinity: null, and the reason next to it
        payload["alpha_bar_note"] = NO_CROSSING
        crossing_line = f"alpha_bar (accuracy 1/2): none; {NO_CROSSING}"
    emit(payload, args.json, [f"alpha* = {best:.6g}   predicted accuracy {payload['accuracy_at_alpha_star']:.4f}",
                               crossing_line])


def cmd_curve(args) -> None:
    source, target = stats_from_args(args, weights=True, covariances=True)
    alpha = np.linspace(args.alpha_min, args.alpha_max, args.num)
    accuracy = predicted_accuracy(source, target, alpha)
    payload = {"config": describe(source, target), "alpha": alpha.tolist(), "accuracy": accuracy.tolist()}
    emit(payload, args.json, ["alpha      accuracy"] + [f"{a:8.4f}   {acc:.4f}" for a, acc in zip(alpha, accuracy)])


def cmd_demo(args) -> None:
    from rmt_alpha.simulate import empirical_accuracy

    check_trials_for_stderr(args.trials)
    source, target = stats_from_args(args)
    best = optimal_alpha(source, target)
    alphas = np.array([0.0, 1.0, best])
    predicted = predicted_accuracy(source, target, alphas)
    measured = empirical_accuracy(source, target, alphas, trials=args.trials, seed=args.seed, dtype="float64")
    gaps = (measured.mean - predicted) / measured.stderr
    payload = {"config": describe(source, target), "source_accuracy": source_accuracy(source),
               "alpha_star": best, "trials": args.trials, "seed": args.seed,
               "rows": [{"alpha": float(a), "predicted": float(p), "measured": float(m), "stderr": float(s),
                         "gap_in_stderr": float(g)}
                        for a, p, m, s, g in zip(alphas, predicted, measured.mean, measured.stderr, gaps)]}
    config = payload["config"]
    lines = [f"rmt_alpha demo: p={config['p']}, N={config['source_n']}, n={config['n']}, |mu_s|="
             f"{config['source_norm']:.3g}, beta={config['beta']:.3g}, |mu_perp|={config['perp_norm']:.3g}, "
             f"gamma_s={config['source_gamma']:.3g}, gamma={config['gamma']:.3g}",
             f"source classifier accuracy on its own task: {payload['source_accuracy']:.4f}",
             f"alpha* = {best:.4f}",
             f"{'':22s}{'theory':>8s}  {'Monte-Carlo (' + str(args.trials) + ' trials)':>26s}  gap",
             *[f"{name:22s}{row['predicted']:8.4f}  {row['measured']:18.4f} +- {row['stderr']:.4f}  "
               f"{row['gap_in_stderr']:+.1f} se"
               for name, row in zip(["alpha = 0 (target only)", "alpha = 1 (LoRA)", "alpha = alpha*"],
                                    payload["rows"])]]
    emit(payload, args.json, lines)


def cmd_validate(args) -> None:
    from rmt_alpha.simulate import compare_with_theory

    check_trials_for_stderr(args.trials)
    source, target = stats_from_args(args, weights=True)
    rows = compare_with_theory(source, target, np.linspace(args.alpha_min, args.alpha_max, args.num),
                               trials=args.trials, seed=args.seed, n_test=args.n_test, dtype=args.dtype,
                               progress=None)
    payload = {"config": describe(source, target), "trials": args.trials, "seed": args.seed,
               "n_test": args.n_test, "dtype": args.dtype, "rows": rows}
    if args.plot:
        from rmt_alpha.plots import figure_theory_check, save_and_close

        save_and_close(figure_theory_check(rows, trials=args.trials), args.plot)
    scoring = "exact conditional accuracy" if args.n_test is None else f"{args.n_test} test points per trial"
    lines = [f"theory vs simulation: {args.trials} trials, {scoring}, seed {args.seed}",
             f"{'alpha':>8s}  {'theory':>8s}  {'simulation':>10s}  {'stderr':>8s}  {'gap':>8s}"
             f"   E[yg] gap   E[g^2] gap",
             *[f"{row['alpha']:8.4f}  {row['predicted']:8.4f}  {row['measured']:10.4f}  {row['stderr']:8.4f}  "
               f"{row['gap_in_stderr']:+6.1f}se   {row['margin_mean_gap_in_stderr']:+7.1f}se   "
               f"{row['second_moment_gap_in_stderr']:+8.1f}se" for row in rows]]
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    emit(payload, args.json, lines)
