"""alpha as a vector from data, for several fixed source classifiers (theory/THEORY.md section 10.4).

`choose_sources(W, X, y, U)` estimates `s_k = <w_k, mu_t>` and `m = |mu_t|^2` with the unbiased estimators of
`rmt_alpha._estimation` (labelled rows, or the unlabelled rows pseudo-labelled by the classifier fine-tuned towards
the current mixture), takes the Gram matrix `Omega = W^T W` exactly, and feeds them to the isotropic theory of
section 10.1, on the data and on every bootstrap replicate (one vectorised call):

1. The vector alpha* maximises the predicted accuracy (section 10.3).
2. The best single source `k*` is the one whose own alpha* gives the highest predicted accuracy.
3. Do no harm: the vector is kept when at least `confidence` of the replicates predict a gain over `k*` at its
   alpha* (the others at 0); otherwise the choice falls back to that single source. The result says which and why.

`choose_sources_semi_empirical` does the same three steps with the semi-empirical theory (sections 9 and 10.2): the
pool, labelled towards the isotropic choice, is the target law. `choose_from_sources` checks `choose_alpha`'s
inputs and picks the theory (`sources_theory_mode`: the one-source rule of theory/choose_alpha_rule.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special

from rmt_alpha._estimation import (
    LABELLER_ALPHA_BOUND,
    bootstrap_weights,
    fit_labeller,
    pair_statistics,
    pool_statistics,
    target_covariance,
)
from rmt_alpha._pool_law import signed_rows
from rmt_alpha._rayleigh import rayleigh_maximiser, rayleigh_ratio
from rmt_alpha._semi_empirical_choice import choose_theory, replicate_laws
from rmt_alpha._semi_empirical_sources import margin_ratios, source_row_margins, with_one
from rmt_alpha._sources import SourcesProblem, check_sources, isotropic_source_coefficients, unit_columns
from rmt_alpha._stats import TargetStats
from rmt_alpha._theory import standard_normal_cdf
from rmt_alpha._validation import check_binary_labels, check_rows


class SourcesChoice(NamedTuple):
    """What `choose_alpha` chose for several sources, what it predicts and how sure it is (section 10.4).

    Attributes:
        alpha: the chosen alpha, shape (K,) (the vector alpha*, or the best single source's alpha* and zeros).
        alpha_estimate: the vector alpha* of the full-data statistics, shape (K,).
        alpha_interval: (K, 2), the central `confidence` interval of each alpha*_k over the bootstrap replicates.
        accuracy_at_alpha: predicted accuracy at the chosen alpha.
        accuracy_at_estimate: predicted accuracy at `alpha_estimate`.
        best_source: index of the best single source (highest predicted accuracy at its own alpha*).
        single_alpha: (K,), each source's own alpha* used alone.
        single_accuracy: (K,), the predicted accuracy of each source alone at its alpha*.
        gain: `accuracy_at_estimate - single_accuracy[best_source]`, predicted on the full data.
        gain_interval: `(low, high)`, its central `confidence` interval over the replicates.
        confidence: the level of the intervals and of do no harm.
        fell_back: True when do no harm chose the single source.
        reason: why the chosen alpha is what it is.
        uncertainty: how the intervals were obtained.
        covariance: the theory used ("isotropic", "covariance" or "semi-empirical").
        sources: {statistic: the data it came from}.
        target: a `TargetStats` whose mean reproduces the estimated `s_k` and `m` (all the isotropic theory sees;
            with the covariance theory, the rest of the mean follows the estimate, and `cov` is the estimated C_t;
            with the semi-empirical theory, reported only: the statistics of the pseudo-labelled pool).
        covariance_reason: why that theory (what "auto" saw).
    """

    alpha: np.ndarray
    alpha_estimate: np.ndarray
    alpha_interval: np.ndarray
    accuracy_at_alpha: float
    accuracy_at_estimate: float
    best_source: int
    single_alpha: np.ndarray
    single_accuracy: np.ndarray
    gain: float
    gain_interval: tuple
    confidence: float
    fell_back: bool
    reason: str
    uncertainty: str
    covariance: str
    sources: dict
    target: TargetStats
    covariance_reason: str = ""


def sources_coefficients(s, m, omega, eta, gamma):
    """`(a, B)` of section 10.1 per replicate from estimated `s` (B, K) and `m` (B,) with the exact Gram matrix;
    `m` is raised to `s^T Omega^+ s` (Cauchy-Schwarz) so that `Omega - s s^T / m` stays positive semi-definite."""
    projected = np.einsum("bk,kl,bl->b", s, np.linalg.pinv(omega, hermitian=True), s)
    m = np.maximum(np.maximum(m, projected), 1e-12)
    omega_perp = omega - s[:, :, None] * s[:, None, :] / m[:, None, None]
    return isotropic_source_coefficients(m, eta, gamma, s, omega_perp), m


def single_source_optima(a, B):
    """Each source alone: its alpha* (..., K) and the accuracy there (..., K), from the restricted `(a, B)`."""
    K = a.shape[-1] - 1
    alphas, accuracies = [], []
    for k in range(K):
        index = np.array([0, k + 1])
        sub_a, sub_B = a[..., index], B[..., index[:, None], index[None, :]]
        alpha = rayleigh_maximiser(sub_a, sub_B)[..., 0]
        alphas.append(alpha)
        accuracies.append(_accuracy(sub_a, sub_B, alpha[..., None]))
    return np.stack(alphas, axis=-1), np.stack(accuracies, axis=-1)


def _accuracy(a, B, alpha):
    """Predicted accuracy at `alpha` (..., K) per row of `(a, B)`; an infinite alpha is clipped to +-1e12 (the
    limit, to 1e-12)."""
    alpha = np.clip(np.nan_to_num(alpha, posinf=1e12, neginf=-1e12), -1e12, 1e12)
    t = np.concatenate([np.ones(alpha.shape[:-1] + (1,)), alpha], axis=-1)
    return standard_normal_cdf(rayleigh_ratio(a, B, np.broadcast_to(t, a.shape)))


def _pool(X, y, U, W, gamma, weights, rounds, alpha_star):
    """The pool statistics after `rounds` rounds of pseudo-labelling: first by the classifier fine-tuned towards the
    uniform mixture (alpha_k = 1 / K), then by each replicate's current vector alpha* (clipped to +-bound)."""
    K = W.shape[1]
    labellers = [fit_labeller(X, y, W[:, k], gamma, weights.labelled) for k in range(K)]
    base = labellers[0].a                                   # (B + 1, n), the same for every source
    shift = np.stack([labeller.c for labeller in labellers], axis=-1)   # (B + 1, n, K)
    kernel, projections = X @ U.T, U @ W                     # (n, N), (N, K)
    alpha = np.full((base.shape[0], K), 1.0 / K)
    for _ in range(rounds):
        margins = (base - np.einsum("bnk,bk->bn", shift, alpha)) @ kernel + alpha @ projections.T
        estimate = pool_statistics(U, np.where(margins >= 0, 1.0, -1.0), W, weights.unlabelled)
        used = alpha
        alpha = np.clip(np.nan_to_num(alpha_star(estimate.s, estimate.m), nan=1.0 / K, posinf=LABELLER_ALPHA_BOUND,
                                      neginf=-LABELLER_ALPHA_BOUND), -LABELLER_ALPHA_BOUND, LABELLER_ALPHA_BOUND)
    return estimate, used


def _target(W, s, m, n, gamma, direction=None, cov=None) -> TargetStats:
    """A mean with `W^T mu = s` (least norm, in the span of the sources) and `|mu|^2 = m`, the rest along
    `direction`'s part orthogonal to every source (the covariance theory sees it), else along a fixed such axis."""
    p = W.shape[0]
    along = W @ np.linalg.lstsq(W.T @ W, s, rcond=None)[0]
    basis, _ = np.linalg.qr(W)
    rest_direction = None
    if direction is not None:
        rest_direction = direction - basis @ (basis.T @ direction)
        if not np.linalg.norm(rest_direction) > 0:
            rest_direction = None
    if rest_direction is None:
        rest_direction = np.zeros(p)
        rest_direction[int(np.argmin(np.abs(basis).sum(axis=1)))] = 1.0
        rest_direction -= basis @ (basis.T @ rest_direction)
    rest = max(m - float(along @ along), 0.0)
    norm = np.linalg.norm(rest_direction)
    mean = along + (np.sqrt(rest) * rest_direction / norm if norm > 0 else 0.0)
    if not np.any(mean):
        mean = np.sqrt(1e-12) * rest_direction / norm
    return TargetStats(mean, n, gamma, cov=cov)


def choose_sources(W, X, y, U, gamma: float, bootstrap: int, confidence: float, rounds: int, rng, *,
                   covariance: bool = False, theory_reason: str = "") -> SourcesChoice:
    """`choose_alpha` for several fixed sources (the module docstring); inputs already checked.

    Args:
        W: (p, K) the sources, each column non-zero. X: (n, p) labelled rows. y: (n,) in {-1, +1}.
        U: (N, p) unlabelled rows or None. gamma: ridge strength. bootstrap: replicates. confidence: in (0.5, 1).
        rounds: pseudo-labelling rounds. rng: `numpy.random.Generator`.
        covariance: the covariance-aware theory (section 10.2) with `C_t` estimated as `choose_alpha` does
            (`rmt_alpha._estimation.target_covariance`, held fixed in the bootstrap); else the isotropic one.
        theory_reason: why this theory (reported).
    """
    n, p = X.shape
    K = W.shape[1]
    unit, norms = unit_columns(W)
    omega = unit.T @ unit
    weights = bootstrap_weights(y, 0 if U is None else U.shape[0], bootstrap, rng)

    def coefficients(s, m):
        return sources_coefficients(s, m, omega, p / n, gamma)

    if U is None:
        mean, m = pair_statistics(X, weights.labelled, y)
        s = mean @ unit
        statistic = (f"the {n} labelled target rows: mean of y_i x_i^T w_k (unbiased) and the U-statistic over pairs "
                     "of distinct rows")
    else:
        def alpha_star(s_user, m):  # pool statistics of the user's W: s_k = <w_k, mu>
            return rayleigh_maximiser(*coefficients(s_user / norms, m)[0]) / norms

        estimate, used = _pool(X, y, U, W, gamma, weights, rounds, alpha_star)
        s, m, mean = estimate.s / norms, estimate.m, estimate.mean
        statistic = (f"the {U.shape[0]} unlabelled target rows pseudo-labelled by the classifier fine-tuned on the "
                     f"{n} labelled rows towards the current mixture ({rounds} round(s), the first at alpha_k = 1/K): "
                     "mean and U-statistic of y_hat u")
    (a, B), m = coefficients(s, m)
    if covariance:  # the same s_k and m, with C_t estimated once and held in the bootstrap (as choose_alpha)
        direction = mean[0] / max(np.linalg.norm(mean[0]), np.finfo(float).tiny)
        labelled_mean = pair_statistics(X, None, y)[0]
        spectrum = target_covariance(X, y, labelled_mean, U, float(m[0]), direction)
        means = np.stack([_target(W, s[b] * norms, float(m[b]), n, gamma, mean[b]).mean for b in range(s.shape[0])])
        problem = SourcesProblem(list(W.T), TargetStats(means[0], n, gamma, cov=spectrum))
        a, B = problem.with_target_means(means).coefficients()
    star = rayleigh_maximiser(a, B)                          # unit-norm scale, (B + 1, K)
    single_alpha, single_accuracy = single_source_optima(a, B)
    best = int(np.argmax(single_accuracy[0]))
    single = np.zeros(K)
    single[best] = np.clip(np.nan_to_num(single_alpha[0, best], posinf=1e12, neginf=-1e12), -1e12, 1e12)
    vector = star[0]
    at_vector, at_single = _accuracy(a, B, vector), _accuracy(a, B, single)
    rows = "labelled rows resampled within each class" + ("" if U is None else ", unlabelled rows resampled")
    decision = _decide(vector, single, best, star[1:], at_vector - at_single, norms, confidence,
                       f"bootstrap: {bootstrap} replicates ({rows}), estimation, re-labelling and theory re-run on "
                       "each")
    sources = {"sources": f"{K} given classifiers w_1..w_K", "s": f"<w_k, mu_t> from {statistic}",
               "m": f"|mu_t|^2 from {statistic}, raised to s^T Omega^+ s (Cauchy-Schwarz)",
               "omega": "the Gram matrix <w_k, w_l>, exact", "n": f"the number of labelled rows ({n})",
               "gamma": "given", "covariance": "none: C_t = I (isotropic theory, section 10.1)" if not covariance else
               (f"C_t from the {n} labelled residuals" + ("" if U is None else f" and the {U.shape[0]} unlabelled rows")
                + ", Ledoit-Wolf shrinkage; held fixed in the bootstrap (section 10.2)")}
    theory = "covariance" if covariance else "isotropic"
    target = _target(W, s[0] * norms, float(m[0]), n, gamma, mean[0] if covariance else None,
                     spectrum if covariance else None)
    chosen = decision.alpha * norms
    return SourcesChoice(decision.alpha, vector / norms, decision.alpha_interval,
                         float(_accuracy(a[0], B[0], chosen)), float(at_vector[0]), best, single_alpha[0] / norms,
                         single_accuracy[0], float(at_vector[0] - at_single[0]), decision.gain_interval, confidence,
                         decision.fell_back, decision.reason, decision.uncertainty, theory, sources, target,
                         theory_reason)


def choose_from_sources(sources, X, y, unlabelled, covariance: str, gamma: float, bootstrap: int, rounds: int,
                        confidence: float, random_state) -> SourcesChoice:
    """`choose_alpha` for a list of fixed classifiers: the rows and sources checked here (`covariance`, one of
    `choose_alpha`'s modes, and the settings already), the theory picked (`sources_theory_mode`), the work in
    `choose_sources` or `choose_sources_semi_empirical`."""
    X = check_rows("X", X, minimum=4)
    n, p = X.shape
    y = check_binary_labels("y", y, n, "X")
    U = None if unlabelled is None else check_rows("unlabelled", unlabelled, p, minimum=2, width_of="X")
    W = check_sources(sources, p)
    zero = np.flatnonzero(~np.any(W != 0, axis=0))
    if zero.size:
        raise ValueError(f"source[{int(zero[0])}] must not be all zeros: its alpha would have no effect")
    mode, reason = sources_theory_mode(covariance, n, p, U)
    rng = np.random.default_rng(random_state)
    if mode == "semi-empirical":
        return choose_sources_semi_empirical(W, X, y, U, gamma, bootstrap, confidence, rounds, rng,
                                             theory_reason=reason)
    return choose_sources(W, X, y, U, gamma, bootstrap, confidence, rounds, rng, covariance=mode == "covariance",
                          theory_reason=reason)


def sources_theory_mode(covariance: str, n: int, p: int, U) -> tuple[str, str]:
    """The theory `choose_alpha` uses for several sources and why: as one source's `theory_mode`
    (`rmt_alpha._choose`), except that where one source would take the covariance-aware theory "auto" keeps the
    isotropic one (theory/THEORY.md section 10.4: in a synthetic check the covariance-aware vector choice lost to
    it)."""
    if covariance == "isotropic":
        return "isotropic", "asked for: the closed forms with white target noise (C_t = I, section 10.1)"
    if covariance == "covariance":
        return "covariance", "asked for: C_t estimated from the labelled and unlabelled rows (section 10.2)"
    if covariance == "semi-empirical":
        if U is None or U.shape[0] <= n:
            raise ValueError(f"covariance='semi-empirical' needs unlabelled rows, more than the n = {n} labelled "
                             f"ones (the pool is the target law), got {0 if U is None else U.shape[0]}")
        return "semi-empirical", "asked for: the unlabelled rows, pseudo-labelled, as the target law (sections 9, 10.2)"
    if U is None or U.shape[0] < max(p, n + 1):
        return "isotropic", (f"auto: {0 if U is None else U.shape[0]} unlabelled rows, fewer than p = {p} (or than "
                             f"the n = {n} labelled ones): the isotropic theory (section 10.1)")
    choice = choose_theory(U)
    if choice.theory == "semi-empirical":
        return "semi-empirical", choice.reason
    return "isotropic", (f"{choice.reason.split(';')[0]}; not the semi-empirical case, and with several sources the "
                         "isotropic theory (section 10.4)")


class _Decision(NamedTuple):
    alpha: np.ndarray
    alpha_interval: np.ndarray
    gain_interval: tuple
    fell_back: bool
    reason: str
    uncertainty: str


def _decide(vector, single, best: int, replicate_alpha, gains, norms, confidence: float, resampling: str) -> _Decision:
    """Do no harm (module docstring), on the unit-norm scale: keep the vector alpha* when it is finite and at least
    `confidence` of the replicates predict a gain (`gains[1:] > 0`, `gains[0]` the data's) over the best single
    source at its alpha*; the intervals of alpha* (`replicate_alpha`, (B, K)) and of the gain. Returns the user's
    scale (divided by `norms`)."""
    K = vector.size
    bootstrap = gains.size - 1
    tail = 1.0 - confidence
    finite = bool(np.all(np.isfinite(vector)))
    if bootstrap == 0:
        keep = finite
        reason = ("bootstrap = 0: no uncertainty computed, the point estimate alpha* is used" if finite else
                  f"alpha* is at infinity ({vector / norms}); falling back to the best single source {best}")
        alpha_interval, gain_interval = np.full((K, 2), np.nan), (np.nan, np.nan)
    else:
        share = float(np.mean(gains[1:] > 0.0))
        keep = finite and share >= confidence
        if not finite:
            reason = (f"alpha* is at infinity ({vector / norms}): no finite mixture reaches the predicted optimum; "
                      f"falling back to the best single source {best} at its alpha* = {single[best] / norms[best]:.4g}")
        elif keep:
            reason = (f"vector alpha*: {100 * share:.0f}% of the {bootstrap} bootstrap replicates predict a gain over "
                      f"the best single source {best} at its alpha* (at least {100 * confidence:.0f}% needed)")
        else:
            reason = (f"do no harm: only {100 * share:.0f}% of the {bootstrap} bootstrap replicates predict a gain of "
                      f"the vector alpha* over the best single source {best} at its alpha* (fewer than "
                      f"{100 * confidence:.0f}%); chosen: source {best} alone at alpha = "
                      f"{single[best] / norms[best]:.4g}, the others 0")
        alpha_interval = np.quantile(replicate_alpha / norms, [tail / 2, 1 - tail / 2], axis=0,
                                     method="inverted_cdf").T
        gain_interval = tuple(float(v) for v in np.quantile(gains[1:], [tail / 2, 1 - tail / 2]))
    chosen = vector if keep else single
    uncertainty = ("none (bootstrap = 0)" if bootstrap == 0 else
                   f"{resampling}; {100 * confidence:.0f}% percentile intervals")
    return _Decision(chosen / norms, alpha_interval, gain_interval, not keep, reason, uncertainty)


def choose_sources_semi_empirical(W, X, y, U, gamma: float, bootstrap: int, confidence: float, rounds: int, rng, *,
                                  theory_reason: str = "") -> SourcesChoice:
    """`choose_alpha` for several fixed sources with the semi-empirical theory (sections 9 and 10.4): the pool,
    labelled by the classifier fine-tuned on the labelled rows towards the isotropic theory's choice (`choose_sources`
    with the same settings: the vector, or the best single source where do no harm falls back), is the target law.
    A fixed mixture would not do: the uniform one adds an opposed source with a positive weight, the pseudo-labels
    follow it, and the law then favours it (section 10.4). alpha* and each source's own alpha* maximise the
    row-averaged accuracy (`rmt_alpha._semi_empirical_sources`). Bootstrap as the one-source `replicates="rows"`
    choice: each replicate re-fits the labeller and re-labels the pool, and averages the data's per-row margins over
    its rows and labels; its alpha* is re-optimised from the data's. Do no harm as `choose_sources`. Inputs already
    checked; U has more rows than X.
    """
    n = X.shape[0]
    K = W.shape[1]
    unit, norms = unit_columns(W)
    counts = bootstrap_weights(y, U.shape[0], bootstrap, rng)
    isotropic = choose_sources(W, X, y, U, gamma, bootstrap, confidence, rounds, rng)
    toward = W @ isotropic.alpha
    law_X, law_y, weights = replicate_laws(toward, X, y, U, gamma, counts)
    margins = source_row_margins(unit, signed_rows(law_X, law_y[0]), weights[0], n, gamma)
    single_alpha, single_accuracy = margins.single_optima()
    vector = margins.optimal_alpha(starts=margins.default_starts(single_alpha))
    best = int(np.argmax(single_accuracy))
    single = np.zeros(K)
    single[best] = np.clip(single_alpha[best], -1e12, 1e12)
    agree = law_y == law_y[0]
    signed = np.where(agree, weights, -weights)               # a flipped row counts Phi(-r) = 1 - Phi(r)
    flipped = np.where(agree, 0.0, weights).sum(axis=1)

    def replicate_accuracy(alpha):                            # (B + 1,)
        ratio = margin_ratios(margins.mean, margins.var, with_one(alpha)[None])[:, 0]
        return flipped + signed @ scipy.special.ndtr(ratio)

    at_vector, at_single = replicate_accuracy(vector), replicate_accuracy(single)
    start = np.where(np.isfinite(vector), vector, 0.0)[None]
    replicate_alpha = np.array([margins.optimal_alpha(signed[b], starts=start) for b in range(1, bootstrap + 1)])
    decision = _decide(vector, single, best, replicate_alpha.reshape(bootstrap, K), at_vector - at_single, norms,
                       confidence, f"bootstrap: {bootstrap} replicates (labelled rows resampled within each class, "
                       "unlabelled rows resampled, the labeller re-fitted and the pool re-labelled), each averaging "
                       "the data's per-row margins over its rows and labels")
    estimate = pool_statistics(U, law_y[:1], W, counts.unlabelled[:1])
    law = (f"the {U.shape[0]} unlabelled target rows pseudo-labelled by the classifier fine-tuned on the {n} labelled "
           f"rows towards the isotropic theory's choice alpha = {np.round(isotropic.alpha, 4).tolist()}, taken as the "
           "target law (semi-empirical theory, theory/THEORY.md sections 9 and 10.4)")
    sources = {"sources": f"{K} given classifiers w_1..w_K", "law": law, "n": f"the number of labelled rows ({n})",
               "gamma": "given", "covariance": "none estimated: the law's rows carry it",
               "target": "reported only: <w_k, mu_t> and |mu_t|^2 of the same pseudo-labelled rows"}
    target = _target(W, estimate.s[0], float(estimate.m[0]), n, gamma)
    chosen = decision.alpha * norms
    return SourcesChoice(decision.alpha, vector / norms, decision.alpha_interval,
                         float(margins.accuracy(np.clip(chosen, -1e12, 1e12))), float(at_vector[0]), best,
                         single_alpha / norms, single_accuracy, float(at_vector[0] - at_single[0]),
                         decision.gain_interval, confidence, decision.fell_back, decision.reason, decision.uncertainty,
                         "semi-empirical", sources, target, theory_reason)
