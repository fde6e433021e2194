"""alpha from the data a user really has: a source classifier (or source data), a few labelled target rows and,
often, unlabelled target rows (theory/THEORY.md sections 3, 5 and 8).

`choose_alpha` estimates the target statistics without small-sample bias (`rmt_alpha._estimation`), feeds
them to the isotropic or the covariance-aware theory, or takes the pseudo-labelled pool itself as the target law
of the semi-empirical theory (section 9, `rmt_alpha._semi_empirical_choice`), and repeats the choice on bootstrap
replicates of the rows:

1. The point estimate alpha* maximises the predicted accuracy at the full-data statistics.
2. Each replicate b gives a predicted gain curve `gain_b(alpha) = acc_b(alpha) - acc_b(1)`.
3. Do no harm: alpha* is kept when the replicates predict a gain over alpha = 1 there with probability at least
   `confidence`. Otherwise the chosen alpha maximises the `(1 - confidence)`-quantile of `gain_b` over the grid:
   as `gain_b(1) = 0` in every replicate, that is alpha = 1 (plain fine-tuning) unless some alpha is confidently
   better, and never a choice most replicates call harmful. The result says which happened and why.

Which theory with `covariance="auto"` (`theory_mode`; measured in theory/choose_alpha_rule.md): without enough
rows to estimate C_t (fewer than p), the isotropic theory; with an unlabelled pool of at least p rows (and more
than the n labelled ones) and a classifier `w_s` (given or fitted),
`rmt_alpha._semi_empirical_choice.choose_theory`: the semi-empirical theory when the pool's row norms spread at
least 1.5 times as much as Gaussian rows with the pool's covariance would and by at most 0.3 (std / mean; encoder
features), the covariance-aware theory otherwise (Gaussian-like rows, where it is right; bag-of-words rows, whose
norm follows the document's length); a `SourceStats` source (a random source) keeps the covariance-aware theory.

Measured (THEORY's example at p = 400, n = 20, true alpha* = 1.709, 200 draws; Amazon, 12 pairs, 20 splits): see
the tests and the documentation's Results page (docs/results.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._choose_sources import SourcesChoice, choose_from_sources
from rmt_alpha._covariance import CovarianceProblem
from rmt_alpha._estimation import (
    bootstrap_weights,
    pair_statistics,
    pseudo_labelled_pool,
    target_covariance,
    target_stats_from_invariants,
)
from rmt_alpha._problem import IsotropicProblem, MarginCoefficients, argmax_from_stationary
from rmt_alpha._semi_empirical_choice import choose_theory, semi_empirical_choice
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._theory import ridge_scalars, ridge_source_invariants, standard_normal_cdf
from rmt_alpha._validation import (
    check_binary_labels,
    check_count,
    check_finite_array,
    check_positive_float,
    check_rows,
    check_vector,
)
from rmt_alpha.linear import fit_ridge

COVARIANCE_MODES = ("auto", "isotropic", "covariance", "semi-empirical")
# "auto" estimates C_t when it has at least this many rows per feature. Measured (pool methods, 20 splits per pair):
# on Amazon (about 1000 rows, p = 400) the covariance-aware choice equals the isotropic one (+1.02 pt over alpha = 1
# on 12/12 pairs, both); on all-MiniLM-L6-v2 features of review text (about 500 to 1000 rows, p = 384) it beats
# alpha = 1 on 14/18 pairs at n = 20 where the isotropic choice loses on 12/18 (theory/04_transformer_alphas.ipynb).
COVARIANCE_ROWS_PER_FEATURE = 1
GRID_POINTS = 121


class AlphaChoice(NamedTuple):
    """What `choose_alpha` chose, what it predicts, how sure it is, and from which data.

    Attributes:
        alpha: the chosen alpha.
        alpha_estimate: alpha* of the full-data statistics (before do no harm; may lie outside `grid`).
        alpha_interval: `(low, high)`, the central `confidence` interval of alpha* over the bootstrap replicates.
        grid: the alphas of the predicted curve, shape (k,); it contains 1.
        accuracy: predicted accuracy over `grid` at the full-data statistics, shape (k,).
        accuracy_at_one: predicted accuracy at alpha = 1 (plain fine-tuning).
        accuracy_at_alpha: predicted accuracy at the chosen alpha.
        gain: `accuracy_at_alpha - accuracy_at_one`.
        gain_interval: `(low, high)`, the central `confidence` interval of the gain at the chosen alpha over the
            replicates.
        confidence: the level used by the intervals and by do no harm.
        shrunk: True when do no harm moved the choice away from `alpha_estimate`.
        reason: why the chosen alpha is what it is.
        uncertainty: how the intervals were obtained (bootstrap over which rows, how many replicates).
        covariance: "isotropic", "covariance" or "semi-empirical", the theory used.
        covariance_reason: why (what "auto" saw).
        sources: {statistic: the data it came from}.
        target: the full-data `TargetStats` (use it with `rmt_alpha.prepare` for other questions).
        source: the source used by the theory: the classifier `w_s` (p,) or the `SourceStats`.
    """

    alpha: float
    alpha_estimate: float
    alpha_interval: tuple
    grid: np.ndarray
    accuracy: np.ndarray
    accuracy_at_one: float
    accuracy_at_alpha: float
    gain: float
    gain_interval: tuple
    confidence: float
    shrunk: bool
    reason: str
    uncertainty: str
    covariance: str
    covariance_reason: str
    sources: dict
    target: TargetStats
    source: object




class _Source(NamedTuple):
    theory: object         # what the theory takes: w_s (p,) or a SourceStats
    vector: np.ndarray     # v with s = <v, mu_t>: w_s, or mu_s
    labeller: np.ndarray   # the source classifier inside the fine-tuned labeller: w_s, or E[w_s] = mu_s / lam_s
    description: str


def resolve_source(source, p: int, source_gamma: float) -> _Source:
    """`source` as a classifier `w_s` (1-D), a `SourceStats`, or source data `(X_s, y_s)` (a ridge classifier is
    fitted with `source_gamma`: `w_s = (X_s^T X_s / N + gamma_s I)^-1 X_s^T y_s / N`, scikit-learn's `Ridge`)."""
    if isinstance(source, TargetStats):
        raise TypeError("source must be a classifier w_s, a SourceStats or source data (X_s, y_s), got a TargetStats")
    if isinstance(source, SourceStats):
        if source.p != p:
            raise ValueError(f"source.mean must have length {p} (the width of X), got {source.p}")
        lam_s = source.mean_norm_sq + 1.0 + ridge_scalars(source.eta, source.gamma).kappa
        return _Source(source, source.mean, source.mean / lam_s,
                       f"SourceStats (ridge source theory: |mu_s| = {np.sqrt(source.mean_norm_sq):.4g}, "
                       f"n = {source.n}, gamma = {source.gamma:g}); the labeller uses E[w_s] = mu_s / lam_s")
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(f"source data must be a pair (X_s, y_s), got a tuple of length {len(source)}")
        X_s = check_rows("source X_s", source[0], p, minimum=4, width_of="X")
        y_s = check_binary_labels("source y_s", source[1], X_s.shape[0], "X_s")
        w_s = check_vector("the fitted source classifier", fit_ridge(X_s, y_s, source_gamma))
        return _Source(w_s, w_s, w_s, f"ridge classifier fitted on the source data ({X_s.shape[0]} rows, "
                                      f"gamma_s = {source_gamma:g})")
    w_s = check_vector("source (the classifier w_s)", source)
    if w_s.size != p:
        raise ValueError(f"source (the classifier w_s) must have length {p} (the width of X), got {w_s.size}")
    if not np.any(w_s):
        raise ValueError("source (the classifier w_s) must not be all zeros: alpha would have no effect")
    return _Source(w_s, w_s, w_s, "the given classifier w_s")


def theory_mode(covariance: str, source: _Source, n: int, U) -> tuple[str, str]:
    """The theory `choose_alpha` uses ("isotropic", "covariance" or "semi-empirical") and why (module docstring).

    Args:
        covariance: `choose_alpha`'s argument, one of `COVARIANCE_MODES`.
        source: the resolved source (`resolve_source`).
        n: the number of labelled rows.
        U: the (N, p) unlabelled rows, or None.
    """
    if covariance not in COVARIANCE_MODES:
        raise ValueError(f"covariance must be one of {COVARIANCE_MODES}, got {covariance!r}")
    p = source.vector.size
    rows = n - 1 + (0 if U is None else U.shape[0])
    needed = COVARIANCE_ROWS_PER_FEATURE * p
    threshold = f"p = {needed}" if COVARIANCE_ROWS_PER_FEATURE == 1 else f"{COVARIANCE_ROWS_PER_FEATURE} p = {needed}"
    if covariance == "isotropic":
        return "isotropic", "asked for: the closed forms with white target noise (C_t = I)"
    if covariance == "covariance":
        return "covariance", f"asked for: C_t estimated from {rows} rows (p = {p})"
    if covariance == "semi-empirical":
        if U is None or U.shape[0] <= n:
            raise ValueError(f"covariance='semi-empirical' needs unlabelled rows, more than the n = {n} labelled "
                             f"ones (the pool is the target law), got {0 if U is None else U.shape[0]}")
        if isinstance(source.theory, SourceStats):
            raise ValueError("covariance='semi-empirical' needs a classifier w_s or source data (X_s, y_s), got a "
                             "SourceStats (the semi-empirical theory holds the source fixed)")
        return "semi-empirical", "asked for: the unlabelled rows, pseudo-labelled, as the target law (section 9)"
    if rows < needed:
        return "isotropic", (f"auto: {rows} rows to estimate C_t, fewer than {threshold}; "
                             "a covariance from fewer rows than features is not estimated, so the isotropic theory "
                             "(C_t = I)")
    if U is not None and U.shape[0] >= max(needed, n + 1) and not isinstance(source.theory, SourceStats):
        choice = choose_theory(U)
        return choice.theory, choice.reason
    return "covariance", f"auto: {rows} rows to estimate C_t, at least {threshold}, so the covariance-aware theory"



def _isotropic_problem(source: _Source, s, m, n: int, p: int, gamma: float) -> IsotropicProblem:
    """The isotropic problem for arrays of statistics (s, m), m raised to the Cauchy-Schwarz bound `s^2 / |v|^2`."""
    norm_sq = float(source.vector @ source.vector)
    m = np.maximum(m, s * s / norm_sq if norm_sq > 0 else 0.0)
    m = np.where(m > 0, m, 1e-12)
    if isinstance(source.theory, SourceStats):
        src = source.theory
        invariants = ridge_source_invariants(src.mean_norm_sq, src.eta, src.gamma, s, m,
                                             np.maximum(src.mean_norm_sq - s * s / m, 0.0))
        return IsotropicProblem(m, p / n, gamma, *invariants)
    omega_par = s * s / m
    return IsotropicProblem(m, p / n, gamma, s, omega_par, np.maximum(norm_sq - omega_par, 0.0))


def _isotropic_alpha_star(source: _Source, n: int, p: int, gamma: float):
    return lambda s, m: _isotropic_problem(source, s, m, n, p, gamma).optimal_alpha()


def _mean_with(source: _Source, s: float, m: float, direction) -> np.ndarray:
    """A mean with `<v, mu> = s`, `|mu|^2 = max(m, s^2 / |v|^2)` and the rest along `direction`'s part orthogonal
    to v (for the covariance theory, which sees more of mu than (s, m))."""
    v = source.vector
    unit = v / np.linalg.norm(v)
    along = s / np.linalg.norm(v)
    rest = direction - (direction @ unit) * unit
    rest_norm = np.linalg.norm(rest)
    if rest_norm == 0:
        return along * unit
    return along * unit + np.sqrt(max(m - along * along, 0.0)) * rest / rest_norm



def choose_alpha(source, X, y, *, unlabelled=None, gamma: float = 1.0, covariance: str = "auto",
                 source_gamma: float = 1.0, grid=None, bootstrap: int = 200, confidence: float = 0.9,
                 rounds: int = 3, random_state=0) -> AlphaChoice | SourcesChoice:
    """Choose alpha from a source classifier and target data, with its uncertainty and a do-no-harm rule.

    Statistics (module `rmt_alpha._estimation`): with labelled rows only, `s = <w_s, mu_t>` from the mean of
    `y_i x_i^T w_s` and `m = |mu_t|^2` from the U-statistic over pairs of distinct rows (both unbiased: no p / n
    inflation); with unlabelled rows, both from the unlabelled rows pseudo-labelled by the fine-tuned classifier,
    re-labelled `rounds` times at the current alpha*. `|w_s|^2` is exact. The covariance-aware theory also estimates
    `C_t` from the labelled residuals and the unlabelled rows (rank-one bias removed, Ledoit-Wolf shrinkage).
    Uncertainty: a bootstrap over the rows (labelled rows resampled within each class, unlabelled rows
    resampled), every replicate re-running the estimation, the re-labelling and the theory; the covariance, when
    estimated, is held at its full-data value. Do no harm: module docstring.

    Args:
        source: the pre-trained classifier `w_s`, shape (p,); or a `SourceStats` (the ridge source theory); or
            source data `(X_s, y_s)`, X_s (N, p), y_s (N,), from which the ridge classifier is fitted; or a list
            of K classifiers `[w_1, ..., w_K]`: alpha is then a vector (theory/THEORY.md section 10.4; the isotropic
            theory unless covariance="covariance"), and the result a `SourcesChoice` whose do-no-harm rule falls
            back to the best single source.
        X: labelled target rows, shape (n, p); centred features (the model has no offset).
        y: their labels, shape (n,), in {-1, +1} or {0, 1}; at least 2 rows of each class.
        unlabelled: optional unlabelled target rows, shape (N, p), disjoint from any test rows.
        gamma: fine-tuning ridge strength (> 0).
        covariance: the theory: "auto" (module docstring), "isotropic", "covariance" or "semi-empirical" (the
            pseudo-labelled pool as the target law; needs `unlabelled` and a classifier or source data).
        source_gamma: ridge strength of the source classifier fitted from source data.
        grid: alphas of the predicted curve (default: 121 points over [min(0, 2 alpha*), max(3, 2 alpha*)]; 1 is
            always added).
        bootstrap: number of bootstrap replicates (0: no uncertainty, the point estimate is used as is).
        confidence: level of the intervals and of do no harm, in (0.5, 1).
        rounds: pseudo-labelling rounds with unlabelled rows (>= 1).
        random_state: seed or `numpy.random.Generator` of the bootstrap.
    Returns:
        `AlphaChoice` (`SourcesChoice` for a list of sources).

    Example (theory/THEORY.md section 3's example with n = 20 labelled and 1000 unlabelled rows):
        >>> from rmt_alpha import choose_alpha
        >>> choice = choose_alpha(w_s, X, y, unlabelled=U)   # doctest: +SKIP
        >>> choice.alpha, choice.gain, choice.gain_interval   # doctest: +SKIP
        (1.75, 0.0049, (0.0041, 0.0055))
    """
    if _is_source_list(source):
        if covariance not in COVARIANCE_MODES:
            raise ValueError(f"covariance must be one of {COVARIANCE_MODES}, got {covariance!r}")
        return choose_from_sources(source, X, y, unlabelled, covariance,
                                   *_check_settings(gamma, bootstrap, rounds, confidence), random_state)
    return _choose_alpha(source, X, y, unlabelled, gamma, covariance, source_gamma, grid, bootstrap, confidence,
                         rounds, random_state, target_only=False)


def _is_source_list(source) -> bool:
    """A list of sources, or a tuple of them (a tuple whose first item is 2-D is source data `(X_s, y_s)`)."""
    if isinstance(source, list):
        return True
    return isinstance(source, tuple) and len(source) > 0 and np.ndim(source[0]) != 2


def _check_settings(gamma, bootstrap, rounds, confidence) -> tuple:
    """`choose_alpha`'s settings checked: gamma > 0, bootstrap >= 0, rounds >= 1, confidence in (0.5, 1)."""
    gamma = check_positive_float("gamma", gamma)
    bootstrap = check_count("bootstrap", bootstrap, minimum=0)
    rounds = check_count("rounds", rounds)
    confidence = check_positive_float("confidence", confidence)
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0.5, 1), got {confidence!r}")
    return gamma, bootstrap, rounds, confidence


def _choose_alpha(source, X, y, unlabelled, gamma, covariance, source_gamma, grid, bootstrap, confidence, rounds,
                  random_state, *, target_only: bool):
    """`choose_alpha`'s work; with `target_only`, its estimated `TargetStats` alone (no curve is computed)."""
    if isinstance(source, np.ndarray) and source.ndim == 2:
        raise TypeError("source must be a classifier w_s (1-D), a SourceStats or a pair (X_s, y_s), got a 2-D array "
                        "(the old estimate_target_stats(X, y, gamma) is now plugin_target_stats)")
    X = check_rows("X", X, minimum=4)
    n, p = X.shape
    y = check_binary_labels("y", y, n, "X")
    U = None if unlabelled is None else check_rows("unlabelled", unlabelled, p, minimum=2, width_of="X")
    gamma, bootstrap, rounds, confidence = _check_settings(gamma, bootstrap, rounds, confidence)
    source_gamma = check_positive_float("source_gamma", source_gamma)
    resolved = resolve_source(source, p, source_gamma)
    mode, mode_reason = theory_mode(covariance, resolved, n, U)
    rng = np.random.default_rng(random_state)
    weights = bootstrap_weights(y, 0 if U is None else U.shape[0], bootstrap, rng)

    # statistics, one row per replicate (row 0: the data)
    signed_mean, labelled_m = pair_statistics(X, weights.labelled, y)
    if U is None:
        mean, s, m = signed_mean, signed_mean @ resolved.vector, labelled_m
        statistic_source = (f"the {n} labelled target rows: mean of y_i x_i^T v (unbiased) and the U-statistic over "
                            "pairs of distinct rows (unbiased, within-class noise removed)")
    else:
        pool = pseudo_labelled_pool(X, y, U, resolved.vector, resolved.labeller, gamma, weights, rounds,
                                    _isotropic_alpha_star(resolved, n, p, gamma))
        mean, s, m = pool.estimate.mean, pool.estimate.s, pool.estimate.m
        statistic_source = (f"the {U.shape[0]} unlabelled target rows pseudo-labelled by the classifier fine-tuned "
                            f"on the {n} labelled rows ({rounds} round(s), last at alpha = "
                            f"{pool.labeller_alpha[0]:.3g}): mean and U-statistic of y_hat u")
    vector_name = "<w_s, mu_t>" if not isinstance(resolved.theory, SourceStats) else "<mu_s, mu_t>"
    sources = {"source": resolved.description, "s": f"{vector_name} from {statistic_source}",
               "m": f"|mu_t|^2 from {statistic_source}", "n": f"the number of labelled rows ({n})",
               "gamma": "given"}
    if not isinstance(resolved.theory, SourceStats):
        sources["omega"] = "|w_s|^2, exact"

    # the theory on every replicate
    if mode == "isotropic" and getattr(resolved.theory, "cov", None) is not None:
        means = np.stack([_mean_with(resolved, s[b], m[b], mean[b]) for b in range(s.size)])
        target = TargetStats(means[0], n, gamma)
        problem = CovarianceProblem(resolved.theory, target).with_target_means(means)
        sources["covariance"] = "C_t = I; the source's own C_s (theory/THEORY.md section 8)"
    elif mode == "isotropic":
        problem = _isotropic_problem(resolved, s, m, n, p, gamma)
        sources["covariance"] = "none: C_t = I (isotropic theory)"
        target = target_stats_from_invariants(resolved.vector, s[0], max(m[0], 1e-12), n, gamma)
    else:
        direction = mean[0] / max(np.linalg.norm(mean[0]), np.finfo(float).tiny)
        spectrum = target_covariance(X, y, signed_mean[0], U, m[0], direction)
        sources["covariance"] = (f"C_t from the {n} labelled residuals x_i - y_i mu_hat" +
                                 ("" if U is None else f" and the {U.shape[0]} unlabelled rows minus m d d^T") +
                                 ", Ledoit-Wolf shrinkage; held fixed in the bootstrap")
        means = np.stack([_mean_with(resolved, s[b], m[b], mean[b]) for b in range(s.size)])
        target = TargetStats(means[0], n, gamma, cov=spectrum)
        problem = (None if target_only or mode == "semi-empirical"      # neither reads the replicates' theory
                   else CovarianceProblem(resolved.theory, target).with_target_means(means))
    rows = "labelled rows resampled within each class" + ("" if U is None else ", unlabelled rows resampled")
    uncertainty = (f"bootstrap: {bootstrap} replicates ({rows}), estimation, re-labelling and theory re-run on "
                   f"each; {100 * confidence:.0f}% percentile intervals")
    if target_only:
        return target
    if mode == "semi-empirical":
        law = semi_empirical_choice(resolved.vector, X, y, U, gamma=gamma, bootstrap_counts=weights)
        star, curve = law.alpha, law.replicates.accuracy
        sources["law"] = law.description
        sources["covariance"] += " (reported in target; the choice uses the semi-empirical law)"
        uncertainty = f"{law.description}; {100 * confidence:.0f}% percentile intervals"
    else:
        coefficients = problem.coefficients(np.full(s.shape, gamma))
        star = np.asarray(argmax_from_stationary(*problem.stationary_terms(np.full(s.shape, gamma))), np.float64)

        def curve(alpha):
            return _curve(coefficients, alpha)
    return _decide(star, curve, grid, confidence, bootstrap, mode, mode_reason, sources, target, resolved.theory,
                   uncertainty)


def _curve(coefficients: MarginCoefficients, alpha) -> np.ndarray:
    """Predicted accuracy per replicate (rows) at each alpha (columns)."""
    rows = MarginCoefficients(*(np.asarray(value)[:, None] for value in coefficients[:5]))
    mean, _, variance = rows.moments(np.asarray(alpha, dtype=np.float64)[None, :])
    return standard_normal_cdf(mean / np.sqrt(variance))


def _default_grid(point: float) -> np.ndarray:
    reach = 2.0 * point if np.isfinite(point) else 10.0 * np.sign(point)
    low, high = min(0.0, reach), max(3.0, reach)
    return np.union1d(np.linspace(low, high, GRID_POINTS), [1.0])


def _decide(star, curve, grid, confidence, bootstrap, mode, mode_reason, sources, target, source,
            uncertainty) -> AlphaChoice:
    """Do no harm (module docstring) from alpha* per replicate `star` (B + 1,) and `curve(alphas)`, the predicted
    accuracy per replicate (B + 1, k) at k alphas (row 0: the data)."""
    point = float(star[0])
    grid = _default_grid(point) if grid is None else np.union1d(check_finite_array("grid", grid).ravel(), [1.0])
    inside = float(np.clip(point, grid[0], grid[-1]))
    alphas = np.append(grid, inside)
    accuracy = curve(np.append(alphas, 1.0))
    gains = accuracy[:, :-1] - accuracy[:, -1:]          # (B + 1, k + 1): the grid, then alpha* (clipped)
    tail = 1.0 - confidence
    clipped = "" if inside == point else f" (alpha* = {point:.4g} lies outside the grid; its edge {inside:.4g} is used)"
    if bootstrap == 0:
        chosen, shrunk = inside, False
        reason = "bootstrap = 0: no uncertainty computed, the point estimate alpha* is used" + clipped
        alpha_interval = gain_interval = (np.nan, np.nan)
    else:
        replicate_gains = gains[1:]
        harmful = float(np.mean(replicate_gains[:, -1] <= 0.0))
        if harmful <= tail:
            chosen, shrunk = inside, False
            reason = (f"alpha* = {point:.4g}{clipped}: {100 * (1 - harmful):.0f}% of the {bootstrap} bootstrap "
                      f"replicates predict a gain over alpha = 1 there (at least {100 * confidence:.0f}% needed)")
        else:
            lower = np.quantile(replicate_gains[:, :-1], tail, axis=0)
            best = np.flatnonzero(lower >= lower.max() - 1e-12)
            chosen = float(grid[best[np.argmin(np.abs(grid[best] - 1.0))]])
            shrunk = chosen != inside
            reason = (f"do no harm: only {100 * (1 - harmful):.0f}% of the {bootstrap} bootstrap replicates predict "
                      f"a gain over alpha = 1 at alpha* = {point:.4g}{clipped} (fewer than {100 * confidence:.0f}%); "
                      f"chosen: the alpha whose {100 * tail:.0f}% quantile of the predicted gain is largest, "
                      + ("alpha = 1 (plain fine-tuning): no alpha is confidently better" if chosen == 1.0
                         else f"{chosen:.4g}"))
        alpha_interval = tuple(float(v) for v in np.quantile(star[1:], [tail / 2, 1 - tail / 2],
                                                             method="inverted_cdf"))
        at_chosen = curve([chosen, 1.0])
        chosen_gains = at_chosen[1:, 0] - at_chosen[1:, 1]
        gain_interval = tuple(float(v) for v in np.quantile(chosen_gains, [tail / 2, 1 - tail / 2]))
    at = curve([chosen, 1.0])[0]
    uncertainty = "none (bootstrap = 0)" if bootstrap == 0 else uncertainty
    return AlphaChoice(float(chosen), point, alpha_interval, grid, accuracy[0, :grid.size], float(at[1]),
                       float(at[0]), float(at[0] - at[1]), gain_interval, confidence, bool(shrunk), reason,
                       uncertainty, mode, mode_reason, sources, target, source)


def estimate_target_stats(source, X, y, *, unlabelled=None, gamma: float = 1.0, covariance: str = "auto",
                          source_gamma: float = 1.0, rounds: int = 3) -> TargetStats:
    """The `TargetStats` that `choose_alpha` estimates (its `target`), without the bootstrap.

    See theory/THEORY.md section 5.

    Isotropic: the mean is built to carry the unbiased `s = <v, mu_t>` and `m = |mu_t|^2` exactly
    (`target_stats_from_invariants`; v = w_s, or mu_s for a `SourceStats`), which is all that theory sees.
    Covariance-aware: that mean, plus `C_t` from labelled residuals and unlabelled rows (rank-one bias removed,
    Ledoit-Wolf shrinkage). For the naive plug-in statistics (biased upwards by about p / n in `|mu_t|^2`), see
    `plugin_target_stats`.

    Args:
        source: the classifier `w_s` (p,), a `SourceStats`, or source data `(X_s, y_s)` (as in `choose_alpha`).
        X: (n, p) labelled target rows, centred features.
        y: (n,) their labels, in {-1, +1} or {0, 1}; at least 2 rows of each class.
        unlabelled: optional (N, p) unlabelled target rows, disjoint from any test rows.
        gamma: fine-tuning ridge strength (> 0).
        covariance: as in `choose_alpha`; with the semi-empirical theory (which takes the pool's rows, not
            statistics) the covariance-aware estimate is returned.
        source_gamma: ridge strength of the source classifier fitted from source data.
        rounds: pseudo-labelling rounds with unlabelled rows (>= 1).

    Returns:
        TargetStats: the estimated target statistics.

    Raises:
        ValueError: input out of range or of the wrong shape (as in `choose_alpha`).
    """
    return _choose_alpha(source, X, y, unlabelled, gamma, covariance, source_gamma, None, 0, 0.9, rounds, 0,
                         target_only=True)
