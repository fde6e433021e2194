"""The plot subcommand: each figure kind gets its data from one library call and draws it with `rmt_alpha.plots`."""

from __future__ import annotations

import os

import numpy as np

from rmt_alpha.cli._options import describe, emit, read_json_file, stats_from_args

PLOT_KINDS = ("curve", "histogram", "alpha-map", "gain-map", "amazon-curves", "amazon-methods", "alpha-stats",
              "sources")


def _load_json(path: str, what: str):
    if not path:
        raise ValueError(f"--results is required: the {what}")
    return read_json_file("--results", path)


def _curve(args, plots):
    from rmt_alpha import alpha_bar, optimal_alpha, predicted_accuracy
    from rmt_alpha.simulate import empirical_accuracy

    source, target = stats_from_args(args)
    best = optimal_alpha(source, target)
    alpha = np.linspace(args.alpha_min, args.alpha_max, 201)
    measured = None
    if args.trials > 0:
        measured = empirical_accuracy(source, target, np.linspace(args.alpha_min, args.alpha_max, args.num),
                                      trials=args.trials, seed=args.seed)
    ax = plots.plot_accuracy_curve(alpha, predicted_accuracy(source, target, alpha), measured, alpha_star=best,
                                   alpha_bar=alpha_bar(source, target),
                                   measured_label=f"simulation ({args.trials} trials, +-1 s.e.)")
    config = describe(source, target)
    ax.set_title(f"p = {config['p']}, N = {config['source_n']}, n = {config['n']}, beta = {config['beta']:.3g}, "
                 f"|mu_s| = {config['source_norm']:.3g}, |mu_perp| = {config['perp_norm']:.3g}", wrap=True)
    return ax.figure, {"alpha_star": best}


def _histogram(args, plots):
    from rmt_alpha import margin_moments, optimal_alpha
    from rmt_alpha.simulate import decision_values

    source, target = stats_from_args(args)
    chosen = optimal_alpha(source, target) if args.alpha is None else args.alpha
    values = decision_values(source, target, chosen, n_test=args.n_test, seed=args.seed)
    moments = margin_moments(source, target, chosen)
    ax = plots.plot_decision_histogram(values, moments.mean, moments.variance)
    ax.set_title(f"one trial, p = {source.p}, n = {target.n}, {args.n_test} test points"
                 + (" (alpha = alpha*)" if args.alpha is None else ""), wrap=True)
    return ax.figure, {"alpha": chosen, "predicted_mean": float(moments.mean),
                       "predicted_variance": float(moments.variance)}


def _phase_maps(args, plots):
    from rmt_alpha._phase import phase_maps_around

    source, target = stats_from_args(args)
    over = ["n_over_p", "gamma"] if args.over == "both" else [args.over]
    maps = phase_maps_around(source, target, np.linspace(args.beta_min, args.beta_max, args.grid), over=over,
                             grid=args.grid)
    config = describe(source, target)
    title = (f"n / p = {target.n / target.p:.3g} (gamma panel), gamma = {target.gamma:.3g} (n / p panel)\n"
             f"|mu_s| = {config['source_norm']:.3g}, |mu_perp| = {config['perp_norm']:.3g}, "
             f"N / p = {source.n / source.p:.3g}")
    return plots.figure_phase_maps(maps, kind=args.kind, title=title), {"over": over}


def _amazon_curves(args, plots):
    from rmt_alpha.experiments import ALPHA_GRID, check_pairs

    checks = check_pairs(list(args.pairs), ALPHA_GRID, directory=args.data, n=args.n_labelled, splits=args.splits,
                         seed=args.seed, semi_empirical=args.semi_empirical)
    figure = plots.figure_amazon_curves(checks, splits=args.splits, n=args.n_labelled, columns=args.columns,
                                        isotropic=not args.semi_empirical)
    return figure, {"pairs": [":".join(pair) for pair in args.pairs], "splits": args.splits, "n": args.n_labelled,
                    "semi_empirical": args.semi_empirical}


def _amazon_methods(args, plots):
    import matplotlib.pyplot as plt

    payload = _load_json(args.results, "amazon.json written by `rmt-alpha amazon --out DIR`")
    rows = [row for row in payload["tables"]["honest"] if row["n"] == args.n_labelled
            and row["source_gamma"] == 1 and row["gamma"] == 1 and not row["whiten"]]
    if not rows:
        raise ValueError(f"{args.results} holds no honest-protocol rows with n = {args.n_labelled}, gammas (1, 1), "
                         "not whitened")
    methods = [m for m in ("alpha=0", "alpha=1", "alpha* theory", "CV", "pool", "oracle")
               if any(row["method"] == m for row in rows)]
    figure, ax = plt.subplots(figsize=(8.0, 4.0), layout="constrained")
    plots.plot_method_comparison(rows, methods=methods, ax=ax)
    ax.set_title(f"Amazon Review, n = {args.n_labelled} labelled target reviews, "
                 f"{payload['settings']['splits']} splits", wrap=True)
    return figure, {"methods": methods}


def _alpha_stats(args, plots):
    payload = _load_json(args.results, "results.json written by `rmt-alpha transformer --out DIR`")
    ax = plots.plot_alpha_statistics(payload["runs"])
    ax.set_title("alpha-LoRA in a transformer: learned alphas per adapted weight", wrap=True)
    return ax.figure, {}


SOURCE_MIXTURES = ((1.0, 0.3, 0.0, 0.0), (0.8, -0.2, 0.3, 0.0), (0.5, 0.0, 0.0, 0.05))
"""sources: the three example sources in units of |mu_t|, on an orthonormal basis (mu_t / |mu_t|, u_1, u_2, u_3)."""


def example_sources(mean: np.ndarray) -> list:
    """The `sources` figure's three fixed classifiers: `|mu_t| (c_0 mu_t / |mu_t| + c_1 u_1 + c_2 u_2 + c_3 u_3)`
    with the coefficients of `SOURCE_MIXTURES` (the u_j from Gram-Schmidt on the first coordinate vectors)."""
    norm = float(np.linalg.norm(mean))
    basis, _ = np.linalg.qr(np.column_stack([mean / norm, np.eye(mean.size, 4)]))
    basis = basis[:, :4] * np.sign(basis[:, :1].T @ mean)[0]   # the first column along +mu_t; the others' signs free
    return [norm * basis @ np.asarray(c) for c in SOURCE_MIXTURES]


def _sources(args, plots):
    import matplotlib.pyplot as plt

    from rmt_alpha import optimal_alpha, predicted_accuracy, prepare
    from rmt_alpha.simulate import simulate

    _, target = stats_from_args(args)
    W = example_sources(np.asarray(target.mean))
    fine = np.linspace(args.alpha_min, args.alpha_max, 81)
    plane = predicted_accuracy(W[:2], target, np.stack(np.meshgrid(fine, fine), axis=-1))
    best_pair = optimal_alpha(W[:2], target)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.6), layout="constrained")
    measurement = {}
    if args.trials > 0:
        coarse = np.linspace(args.alpha_min, args.alpha_max, args.num)
        points = np.stack(np.meshgrid(coarse, coarse), axis=-1).reshape(-1, 2)
        # the fine-tuned classifier at alpha is the one-source classifier of v = W alpha at alpha = 1
        runs = [simulate(np.column_stack(W[:2]) @ point, target, [1.0], trials=args.trials, seed=args.seed + i).accuracy
                for i, point in enumerate(points)]
        measurement = {"points": points, "measured": np.array([run.mean[0] for run in runs]),
                       "stderr": np.array([run.stderr[0] for run in runs]),
                       "predicted": predicted_accuracy(W[:2], target, points)}
    plots.plot_sources_plane(fine, fine, plane, best_pair, ax=left, **measurement)
    left.set_title(f"two sources (p = {target.p}, n = {target.n}, gamma = {target.gamma:.3g})"
                   + (f", {args.trials} trials per marker" if args.trials > 0 else ""), wrap=True)
    steps = 24
    directions = np.array([(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)]) / steps
    V = np.column_stack(W)
    scales = np.array([optimal_alpha(V @ d, target) for d in directions])
    accuracy = np.array([predicted_accuracy(V @ d, target, c) for d, c in zip(directions, scales)])
    best = prepare(W, target).optimal_alpha(nonnegative=True)
    plots.plot_sources_simplex(directions, accuracy, best, ax=right)
    right.set_title("three sources: directions alpha / |alpha|_1, alpha >= 0", wrap=True)
    summary = {"alpha_star_two_sources": best_pair.tolist(), "alpha_star_three_sources_nonnegative": best.tolist()}
    if measurement:
        gap = (measurement["measured"] - measurement["predicted"]) / measurement["stderr"]
        summary["largest_gap_stderr"] = float(np.abs(gap).max())
    return figure, summary


_FIGURES = {"curve": _curve, "histogram": _histogram, "alpha-map": _phase_maps, "gain-map": _phase_maps,
            "amazon-curves": _amazon_curves, "amazon-methods": _amazon_methods, "alpha-stats": _alpha_stats,
            "sources": _sources}


def cmd_plot(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmt_alpha import plots

    extension = os.path.splitext(args.out)[1].lower()
    if extension not in (".png", ".pdf"):
        raise ValueError(f"--out must end in .png or .pdf, got {args.out!r}")
    with plt.rc_context(plots.STYLE):
        figure, summary = _FIGURES[args.kind](args, plots)
    path = plots.save_and_close(figure, args.out)
    emit({"kind": args.kind, "file": path, **summary}, args.json, [f"wrote {path}"])
