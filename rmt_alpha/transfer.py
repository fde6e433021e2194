"""The transfer experiment on real features: source ridge classifier, alpha-fine-tuning on a few target points, and
the ways of choosing alpha, compared on repeated random target splits (the honest protocol), next to the paper's
own protocol (paper mode) and the theory's predictions.

Honest protocol, per split of the target domain into `n` training rows, an unlabelled pool of `pool_size` rows and
the test rows (the rest; all three disjoint):
1. Preprocessing from unlabelled features only: the source is standardised with its own features, the target with
   its training + pool features (never the test rows); optionally both are whitened with the source's within-class
   covariance (`source_whitening`).
2. `w_s` = the source ridge classifier on every source point (`source_gamma`); the fine-tuned classifier is
   `w_alpha = Q (X^T y / n + alpha gamma w_s)`, affine in alpha (the simulator's `finetune`, vmapped over splits).
3. `choose_alphas` picks each method's alpha from the training rows and the pool only (its signature has no test
   data); then `split_accuracy` scores every choice on the test rows. Plain accuracy, never `max(acc, 1 - acc)`.

Methods (`METHODS` says which data each one sees): alpha = 0 (target only), alpha = 1 (plain fine-tuning, what LoRA
does), alpha* of the isotropic theory with the unbiased estimators on the labelled rows, alpha by k-fold
cross-validation on the labelled rows, alpha* from the pseudo-labelled pool (isotropic theory; after one round and
after `pool_rounds` rounds of re-labelling with the current alpha*), alpha* of the covariance-aware theory (THEORY.md
section 8) with the pool's mean and covariance, and the oracle (best grid alpha on the test rows: a ceiling).

Paper mode (`run_paper_mode`): each domain standardised with all of its rows, the target statistics from the whole
target domain (test rows included), alpha* from this package's theory (not the paper's formula), accuracy reported
as `max(acc, 1 - acc)` beside the plain one: the paper's protocol, so that differences from its Table 1 can be put
down to protocol. `predict_vs_measure` compares the theory (isotropic and covariance-aware, statistics from the whole
target domain: a check of the theory, not a method) with the measured accuracy.
Reference: THEORY.md sections 4, 5 and 8; El Firdoussi et al., "alpha-LoRA", arXiv 2510.21345, Table 1.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import numpy as np
import sklearn.model_selection

from rmt_alpha._io import atomic_write
from rmt_alpha._validation import check_positive_float, check_sample_count
from rmt_alpha.covariance import estimate_covariance
from rmt_alpha.data import Domain
from rmt_alpha.estimation import (
    _check_labels,
    estimate_alignment,
    estimate_from_pool,
    fit_standardization,
    source_whitening,
    target_stats_from_invariants,
)
from rmt_alpha.optimize import optimal_alpha
from rmt_alpha.reference import fit_ridge_classifier
from rmt_alpha.results import EmpiricalCurve, summarize
from rmt_alpha.simulate import FineTuned, finetune, test_scores
from rmt_alpha.stats import TargetStats
from rmt_alpha.theory import predicted_accuracy

ALPHA_GRID = np.round(np.arange(0.0, 6.0001, 0.1), 10)  # CV and oracle choose from it
METHODS = {
    "alpha=0": "target training rows only (no source)",
    "alpha=1": "source classifier + target training rows (plain fine-tuning, LoRA)",
    "alpha* theory": "+ unbiased estimates of s, m from the target training rows (THEORY.md section 5)",
    "CV": "target training rows only, k-fold cross-validation over ALPHA_GRID",
    "pool 1 round": "+ unlabelled target pool (disjoint from test), pseudo-labelled by the alpha=1 classifier",
    "pool": "+ unlabelled target pool, re-labelled with the current alpha* for pool_rounds rounds",
    "pool covariance": "+ unlabelled pool's pseudo-labelled mean and covariance, covariance-aware theory (sec. 8)",
    "oracle": "TEST labels: best alpha of ALPHA_GRID on the test rows (a ceiling, never a method)",
}
PAPER_METHODS = ("alpha=0", "alpha=1", "alpha* theory")


# ----------------------------------------------------------------------------------------------- fitting engine

@jax.jit
def _fit_batch(w_s, X, y, gamma):
    return jax.vmap(finetune, in_axes=(None, 0, 0, None))(w_s, X, y, gamma)


@jax.jit
def _score_batch(target_part, source_part, X_test, y_test, alpha):
    return jax.vmap(lambda t, s, X, y, a: test_scores(FineTuned(t, s), X, y, a).accuracy)(
        target_part, source_part, X_test, y_test, alpha)


class FittedSplits(NamedTuple):
    """`w_alpha = target_part + alpha * source_part` for every split: both of shape (splits, p)."""

    target_part: np.ndarray
    source_part: np.ndarray

    def at(self, alpha) -> np.ndarray:
        """The classifiers at one alpha per split (alpha of shape (splits,)): shape (splits, p)."""
        return self.target_part + np.asarray(alpha)[:, None] * self.source_part


def fit_splits(w_s, X, y, gamma: float) -> FittedSplits:
    """Fine-tune on every split at once (float64): X (splits, n, p), y (splits, n) in {-1, +1}."""
    with jax.enable_x64(True):
        parts = _fit_batch(np.asarray(w_s, np.float64), np.asarray(X, np.float64), np.asarray(y, np.float64),
                           np.float64(gamma))
        return FittedSplits(np.asarray(parts[0]), np.asarray(parts[1]))


def split_accuracy(fitted: FittedSplits, X_test, y_test, alpha) -> np.ndarray:
    """Plain test accuracy (`y g > 0`) of each split's classifier at its alphas: alpha (splits, k) -> (splits, k)."""
    alpha = np.asarray(alpha, np.float64)
    with jax.enable_x64(True):
        return np.asarray(_score_batch(fitted.target_part, fitted.source_part, np.asarray(X_test, np.float64),
                                       np.asarray(y_test, np.float64), alpha))


def accuracy_outside(fitted: FittedSplits, X, y, train_rows, alpha) -> np.ndarray:
    """Plain accuracy of each split's classifiers on every row of (X, y) except that split's training rows (the
    paper's test set: the rest of the target domain), without copying the test rows per split.

    Args:
        fitted: (splits, p) parts. X (rows, p), y (rows,). train_rows (splits, n). alpha (splits, k).
    Returns:
        (splits, k).
    """
    alpha = np.asarray(alpha, np.float64)
    target_margin, source_margin = X @ fitted.target_part.T, X @ fitted.source_part.T  # (rows, splits)
    correct = y[:, None, None] * (target_margin[..., None] + alpha[None] * source_margin[..., None]) > 0
    splits = np.arange(train_rows.shape[0])[:, None]
    on_train = correct[train_rows, splits].sum(axis=1)  # (splits, k)
    return (correct.sum(axis=0) - on_train) / (X.shape[0] - train_rows.shape[1])


def fit_source(X, y, gamma: float) -> np.ndarray:
    """The source ridge classifier `w_s = (X^T X / N + gamma I)^-1 X^T y / N` on every source row, labels checked
    to be in {-1, +1} (0/1 labels would silently halve w_s on standardised features)."""
    return fit_ridge_classifier(X, _check_labels("source labels", y, np.shape(X)[0]), gamma)


# ----------------------------------------------------------------------------------------------- splits

class Splits(NamedTuple):
    """Row indices of each split into the target domain: train (splits, n), pool (splits, N), test (splits, T)."""

    train: np.ndarray
    pool: np.ndarray
    test: np.ndarray


def draw_splits(n_rows: int, n: int, pool_size: int, splits: int, seed: int) -> Splits:
    """Random disjoint train / pool / test rows for `splits` splits (test = every other row)."""
    n_rows, n, splits = (check_sample_count(k, v) for k, v in (("n_rows", n_rows), ("n", n), ("splits", splits)))
    pool_size = check_sample_count("pool_size", pool_size, minimum=0)
    if n + pool_size >= n_rows:
        raise ValueError(f"n + pool_size must leave test rows: n={n}, pool_size={pool_size}, rows={n_rows}")
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(n_rows) for _ in range(splits)])
    return Splits(order[:, :n], order[:, n:n + pool_size], order[:, n + pool_size:])


class SplitData(NamedTuple):
    """Preprocessed target arrays of every split. X_* (splits, rows, p), y_* (splits, rows)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


class Preprocessed(NamedTuple):
    """The source classifier and the target splits after preprocessing."""

    w_s: np.ndarray
    data: SplitData


def preprocess(source: Domain, target: Domain, splits: Splits, *, source_gamma: float, whiten: bool = False
               ) -> Preprocessed:
    """Honest preprocessing: standardise the source with its features and the target with each split's training +
    pool features (never the test rows); optionally whiten both with the source's within-class covariance; fit
    `w_s` on every source row."""
    source_X = fit_standardization(source.X).apply(source.X)
    rows = np.concatenate([splits.train, splits.pool], axis=1)
    scaling = fit_standardization(target.X[rows])
    transform = source_whitening(source_X, source.y) if whiten else None

    def target_part(index):
        X = scaling.apply(target.X[index])
        return X if transform is None else X @ transform

    if transform is not None:
        source_X = source_X @ transform
    data = SplitData(target_part(splits.train), target.y[splits.train], target_part(splits.pool),
                     target_part(splits.test), target.y[splits.test])
    return Preprocessed(fit_source(source_X, source.y, source_gamma), data)


# ----------------------------------------------------------------------------------------------- choosing alpha

class Choices(NamedTuple):
    """Each method's alpha per split ({name: (splits,)}), its wall time in seconds and factorisations per split."""

    alpha: dict
    seconds: dict
    fits: dict


def _theory_alpha(w_s, s, m, n, gamma) -> np.ndarray:
    return np.array([optimal_alpha(w_s, target_stats_from_invariants(w_s, si, mi, n, gamma)) for si, mi in zip(s, m)])


def cross_validated_alpha(w_s, X, y, gamma: float, *, folds: int = 5, grid=ALPHA_GRID) -> tuple[np.ndarray, np.ndarray]:
    """alpha chosen by k-fold cross-validation on the training rows: the grid value with the best mean validation
    accuracy (ties: the one closest to 1, plain fine-tuning). X (splits, n, p).

    Returns:
        `(alpha (splits,), validation accuracy (splits, grid))`.
    """
    folds = check_sample_count("folds", folds, minimum=2)
    splits, n, p = X.shape
    if n < folds:
        raise ValueError(f"folds must be <= n = {n}, got {folds}")
    grid = np.asarray(grid, np.float64)
    scores = np.zeros((splits, grid.size))
    for fit_rows, held_rows in sklearn.model_selection.KFold(folds).split(np.arange(n)):
        fitted = fit_splits(w_s, X[:, fit_rows], y[:, fit_rows], gamma)
        scores += split_accuracy(fitted, X[:, held_rows], y[:, held_rows], np.broadcast_to(grid, (splits, grid.size)))
    scores /= folds
    best = scores.max(axis=1, keepdims=True)
    distance = np.where(scores >= best - 1e-12, np.abs(grid - 1.0), np.inf)
    return grid[np.argmin(distance, axis=1)], scores


def choose_alphas(w_s, X_train, y_train, X_pool, *, gamma: float, folds: int = 5, pool_rounds: int = 3,
                  covariance: bool = False, pool_sizes=()) -> Choices:
    """Every method's alpha from the training rows and the unlabelled pool only (no test data reaches here).

    Args:
        w_s: (p,). X_train (splits, n, p), y_train (splits, n). X_pool (splits, N, p) unlabelled.
        gamma: fine-tuning ridge strength. folds: k of the cross-validation. pool_rounds: re-labelling rounds.
        covariance: also the covariance-aware pool method (slower: a shrunk covariance and its eigenbasis per split).
        pool_sizes: extra pool sizes (< N) for which the pool method is repeated on the first rows of the pool,
            reported as "pool (N=...)".
    """
    splits, n, _ = X_train.shape
    pool_rounds = check_sample_count("pool_rounds", pool_rounds)
    for size in pool_sizes:
        if not 1 <= size <= X_pool.shape[1]:
            raise ValueError(f"pool_sizes must lie in 1..{X_pool.shape[1]} (the pool's size), got {size}")
    alpha, seconds, fits = {}, {}, {}
    ones = np.ones(splits)

    def timed(name, factorisations, compute):
        start = time.perf_counter()
        alpha[name] = np.asarray(compute(), np.float64)
        seconds[name] = (time.perf_counter() - start) / splits
        fits[name] = factorisations

    timed("alpha=0", 1, lambda: 0.0 * ones)
    timed("alpha=1", 1, lambda: ones)
    def theory_alpha():  # timed with its estimation, so that its cost is comparable with CV's
        estimate = estimate_alignment(X_train, y_train, w_s)
        return _theory_alpha(w_s, estimate.s, estimate.m, n, gamma)

    timed("alpha* theory", 1, theory_alpha)
    timed("CV", folds + 1, lambda: cross_validated_alpha(w_s, X_train, y_train, gamma, folds=folds)[0])
    fitted = fit_splits(w_s, X_train, y_train, gamma)

    def pool_alpha(pool, rounds):
        current = ones
        for _ in range(rounds):
            found = estimate_from_pool(pool, fitted.at(current), w_s)
            current = _theory_alpha(w_s, found.s, found.m, n, gamma)
        return current

    timed("pool 1 round", 1, lambda: pool_alpha(X_pool, 1))
    timed("pool", 1, lambda: pool_alpha(X_pool, pool_rounds))
    for size in pool_sizes:
        timed(f"pool (N={size})", 1, lambda: pool_alpha(X_pool[:, :size], pool_rounds))
    if covariance:
        def covariance_alpha():
            labeller = fitted.at(alpha["pool"])
            found = estimate_from_pool(X_pool, labeller, w_s)
            labels = np.where(np.einsum("snp,sp->sn", X_pool, labeller) >= 0, 1.0, -1.0)
            chosen = []
            for split in range(splits):
                residuals = X_pool[split] - labels[split][:, None] * found.mean[split]
                target = TargetStats(found.mean[split], n, gamma, cov=within_class_covariance(residuals))
                chosen.append(optimal_alpha(w_s, target))
            return chosen
        timed("pool covariance", 1, covariance_alpha)
    return Choices(alpha, seconds, fits)


# ----------------------------------------------------------------------------------------------- one configuration

class MethodResult(NamedTuple):
    """One method on every split: its alpha and its plain test accuracy, each shape (splits,)."""

    alpha: np.ndarray
    accuracy: np.ndarray


class TransferResult(NamedTuple):
    """One source -> target configuration: per-method results, the measured accuracy curve over `ALPHA_GRID`
    (an `EmpiricalCurve` over splits), and each method's estimation time (seconds per split) and factorisations."""

    source: str
    target: str
    n: int
    source_gamma: float
    gamma: float
    whiten: bool
    methods: dict
    curve: EmpiricalCurve
    seconds: dict
    fits: dict


def run_transfer(source: Domain, target: Domain, *, n: int = 20, source_gamma: float = 1.0, gamma: float = 1.0,
                 splits: int = 20, pool_size: int | None = None, seed: int = 0, whiten: bool = False,
                 folds: int = 5, pool_rounds: int = 3, covariance: bool = False, pool_sizes=()) -> TransferResult:
    """The honest protocol on one source -> target pair (module docstring), `splits` random target splits.

    Args:
        source, target: `Domain`s. n: labelled target rows. source_gamma, gamma: ridge strengths.
        splits: repeated random splits (>= 2). pool_size: unlabelled pool rows (default: half of what n leaves,
            at most 1000). seed: of the splits. whiten: whiten with the source covariance. folds, pool_rounds,
            covariance, pool_sizes: as in `choose_alphas`.
    Returns:
        `TransferResult`.
    """
    n = check_sample_count("n", n, minimum=2)
    splits = check_sample_count("splits", splits, minimum=2)
    source_gamma = check_positive_float("source_gamma", source_gamma)
    gamma = check_positive_float("gamma", gamma)
    if pool_size is None:
        pool_size = min(1000, (target.X.shape[0] - n) // 2)
    rows = draw_splits(target.X.shape[0], n, pool_size, splits, seed)
    w_s, data = preprocess(source, target, rows, source_gamma=source_gamma, whiten=whiten)
    choices = choose_alphas(w_s, data.X_train, data.y_train, data.X_pool, gamma=gamma, folds=folds,
                            pool_rounds=pool_rounds, covariance=covariance, pool_sizes=pool_sizes)
    fitted = fit_splits(w_s, data.X_train, data.y_train, gamma)
    names = list(choices.alpha)
    chosen = np.stack([choices.alpha[name] for name in names], axis=1)
    accuracy = split_accuracy(fitted, data.X_test, data.y_test,
                             np.concatenate([chosen, np.broadcast_to(ALPHA_GRID, (splits, ALPHA_GRID.size))], 1))
    methods = {name: MethodResult(chosen[:, i], accuracy[:, i]) for i, name in enumerate(names)}
    grid_accuracy = accuracy[:, len(names):]
    best = np.argmax(grid_accuracy, axis=1)
    methods["oracle"] = MethodResult(ALPHA_GRID[best], grid_accuracy[np.arange(splits), best])
    return TransferResult(source.name, target.name, n, source_gamma, gamma, whiten, methods,
                          summarize(ALPHA_GRID, grid_accuracy), choices.seconds, choices.fits)


def summary_rows(results) -> list[dict]:
    """One row per configuration and method: mean and standard error over splits of the plain accuracy, the mean
    alpha, the estimation time (ms per split), and the data the method saw."""
    rows = []
    for result in results:
        for name, method in result.methods.items():
            splits = method.accuracy.size
            rows.append({"source": result.source, "target": result.target, "n": result.n,
                         "source_gamma": result.source_gamma, "gamma": result.gamma, "whiten": result.whiten,
                         "method": name, "accuracy": float(method.accuracy.mean()),
                         "stderr": float(method.accuracy.std(ddof=1) / np.sqrt(splits)),
                         "alpha_mean": float(np.mean(method.alpha)), "alpha_median": float(np.median(method.alpha)),
                         "splits": splits, "ms_per_split": 1e3 * result.seconds.get(name, 0.0),
                         "factorisations": result.fits.get(name, 0),
                         "data_used": METHODS.get(name, METHODS["pool"] + " (smaller pool)")})
    return rows


# ----------------------------------------------------------------------------------------------- paper mode

def within_class_covariance(residuals, shrinkage: str | None = None):
    """Covariance of class-centred rows: the sample covariance (`shrinkage=None`, as THEORY.md section 8's checks),
    or scikit-learn's "ledoit_wolf" / "oas" (which pull the spectrum towards isotropy: on books -> dvd they move
    the alpha = 1 prediction from 0.752 to 0.791, measured 0.762)."""
    if shrinkage is None:
        return residuals.T @ residuals / residuals.shape[0]
    return estimate_covariance(residuals, shrinkage=shrinkage, assume_centered=True)


def whole_domain_target(X, y, n: int, gamma: float, *, covariance: bool = False,
                        shrinkage: str | None = None) -> TargetStats:
    """The target statistics from a whole (standardised) domain, test rows included (paper mode; a check of the
    theory, never a method): `mu = (mean(x | +1) - mean(x | -1)) / 2`, optionally the within-class covariance."""
    mean = (X[y > 0].mean(0) - X[y < 0].mean(0)) / 2.0
    cov = None
    if covariance:
        cov = within_class_covariance(X - np.where(y[:, None] > 0, 1.0, -1.0) * mean, shrinkage)
    return TargetStats(mean, n, gamma, cov)


class PaperModeResult(NamedTuple):
    """Paper-mode result on one pair: per method, alpha (draws,), plain accuracy (draws,), and the paper's
    `max(acc, 1 - acc)` (draws,), over `seeds x splits` draws."""

    source: str
    target: str
    alpha: dict
    accuracy: dict
    paper_accuracy: dict


def _whole_domain_standardised(domain: Domain, transform=None) -> np.ndarray:
    X = fit_standardization(domain.X).apply(domain.X)
    return X if transform is None else X @ transform


def run_paper_mode(source: Domain, target: Domain, *, n: int = 20, source_gamma: float = 1.0, gamma: float = 1.0,
                   seeds: int = 3, splits: int = 10) -> PaperModeResult:
    """The paper's protocol (module docstring) with this package's fitting and alpha*: `seeds x splits` draws of n
    training rows, test = the rest of the target domain, target statistics from the whole target domain."""
    return run_paper_table({source.name: source, target.name: target}, [(source.name, target.name)], n=n,
                           source_gamma=source_gamma, gamma=gamma, seeds=seeds, splits=splits)[0]


def run_paper_table(domains: dict, pairs, *, n: int = 20, source_gamma: float = 1.0, gamma: float = 1.0,
                    seeds: int = 3, splits: int = 10) -> list[PaperModeResult]:
    """`run_paper_mode` on many pairs, each domain standardised once and each source classifier fitted once.

    Args:
        domains: {name: Domain}. pairs: [(source name, target name), ...].
    """
    standardised = {name: _whole_domain_standardised(domain) for name, domain in domains.items()}
    sources = {s: fit_source(standardised[s], domains[s].y, source_gamma) for s in dict.fromkeys(s for s, _ in pairs)}
    results = []
    for source, target in pairs:
        w_s, target_X, target_y = sources[source], standardised[target], domains[target].y
        alpha_star = optimal_alpha(w_s, whole_domain_target(target_X, target_y, n, gamma))
        rows = np.concatenate([draw_splits(target_X.shape[0], n, 0, splits, seed).train for seed in range(seeds)])
        fitted = fit_splits(w_s, target_X[rows], target_y[rows], gamma)
        alphas = {"alpha=0": 0.0, "alpha=1": 1.0, "alpha* theory": alpha_star}
        chosen = np.broadcast_to(np.array(list(alphas.values())), (rows.shape[0], len(alphas)))
        accuracy = accuracy_outside(fitted, target_X, target_y, rows, chosen)
        results.append(PaperModeResult(
            source, target, {k: np.full(rows.shape[0], v) for k, v in alphas.items()},
            {k: accuracy[:, i] for i, k in enumerate(alphas)},
            {k: np.maximum(accuracy[:, i], 1.0 - accuracy[:, i]) for i, k in enumerate(alphas)}))
    return results


# ----------------------------------------------------------------------------------------------- theory check

class PredictionCheck(NamedTuple):
    """Predicted (isotropic and covariance-aware, whole-domain statistics) against measured accuracy on one pair.

    alpha: the alphas checked (k,); measured: `EmpiricalCurve` over draws; predicted_isotropic, predicted_covariance:
    (k,) (NaN when the covariance theory was not asked for); alpha_star_covariance: alpha* of the covariance theory.
    """

    source: str
    target: str
    whiten: bool
    alpha: np.ndarray
    measured: EmpiricalCurve
    predicted_isotropic: np.ndarray
    predicted_covariance: np.ndarray
    alpha_star_isotropic: float
    alpha_star_covariance: float


def predict_vs_measure(source: Domain, target: Domain, alpha, *, n: int = 20, source_gamma: float = 1.0,
                       gamma: float = 1.0, splits: int = 20, seed: int = 0, whiten: bool = False,
                       covariance: bool = True) -> PredictionCheck:
    """The theory's predicted accuracy next to the measured one (plain accuracy, test = rest of the domain), with
    each domain standardised by its own rows (and optionally whitened with the source covariance), statistics from
    the whole target domain: a check of the theory, not a method.
    """
    alpha = np.atleast_1d(np.asarray(alpha, np.float64))
    source_X = _whole_domain_standardised(source)
    transform = source_whitening(source_X, source.y) if whiten else None
    source_X = source_X if transform is None else source_X @ transform
    target_X = _whole_domain_standardised(target, transform)
    w_s = fit_source(source_X, source.y, source_gamma)
    isotropic = whole_domain_target(target_X, target.y, n, gamma)
    predicted_iso = np.asarray(predicted_accuracy(w_s, isotropic, alpha))
    star_iso = optimal_alpha(w_s, isotropic)
    predicted_cov, star_cov = np.full(alpha.shape, np.nan), np.nan
    if covariance:
        anisotropic = whole_domain_target(target_X, target.y, n, gamma, covariance=True)
        predicted_cov = np.asarray(predicted_accuracy(w_s, anisotropic, alpha))
        star_cov = optimal_alpha(w_s, anisotropic)
    rows = draw_splits(target_X.shape[0], n, 0, splits, seed).train
    fitted = fit_splits(w_s, target_X[rows], target.y[rows], gamma)
    measured = accuracy_outside(fitted, target_X, target.y, rows, np.broadcast_to(alpha, (splits, alpha.size)))
    return PredictionCheck(source.name, target.name, whiten, alpha, summarize(alpha, measured), predicted_iso,
                           predicted_cov, float(star_iso), float(star_cov))


# ----------------------------------------------------------------------------------------------- whole experiments

# Table 1 of the alpha-LoRA paper (arXiv 2510.21345): (acc alpha=0, acc alpha=1, acc alpha*), percent, its protocol.
PAPER_TABLE1 = {
    ("books", "dvd"): (60.93, 76.43, 77.92), ("books", "elec"): (65.07, 76.15, 76.89),
    ("books", "kitchen"): (65.66, 78.31, 78.93), ("dvd", "books"): (59.98, 75.84, 77.98),
    ("dvd", "elec"): (65.07, 75.84, 76.49), ("dvd", "kitchen"): (65.66, 77.99, 78.56),
    ("elec", "books"): (59.98, 72.00, 73.37), ("elec", "dvd"): (60.93, 72.36, 73.49),
    ("elec", "kitchen"): (65.66, 82.32, 83.50), ("kitchen", "books"): (59.98, 73.01, 74.45),
    ("kitchen", "dvd"): (60.93, 73.19, 74.22), ("kitchen", "elec"): (65.07, 80.66, 82.35),
}
CURVE_PAIRS = (("books", "dvd"), ("dvd", "elec"), ("kitchen", "books"))
GAMMA_SWEEP = ((1.0, 1.0), (1.0, 0.1), (1.0, 10.0), (0.1, 1.0), (10.0, 1.0))


class Experiment(NamedTuple):
    """Tables (lists of row dicts, ready for CSV/JSON), the theory checks behind the curves, and the settings."""

    tables: dict
    checks: list
    settings: dict


def _mean_se(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else np.nan


def _paper_rows(results) -> list[dict]:
    rows = []
    for result in results:
        row = {"source": result.source, "target": result.target, "draws": result.accuracy["alpha=1"].size,
               "alpha_star": float(result.alpha["alpha* theory"][0])}
        for name, short in zip(PAPER_METHODS, ("alpha0", "alpha1", "alpha_star")):
            row[f"{short}_max_convention"], row[f"{short}_se"] = _mean_se(result.paper_accuracy[name])
            row[f"{short}_plain"] = float(result.accuracy[name].mean())
            paper = PAPER_TABLE1.get((result.source, result.target))
            row[f"{short}_paper"] = paper[PAPER_METHODS.index(name)] / 100 if paper else np.nan
        rows.append(row)
    return rows


def _check_rows(checks) -> list[dict]:
    rows = []
    for check in checks:
        for alpha in (0.0, 1.0):
            index = int(np.argmin(np.abs(check.alpha - alpha)))
            measured, stderr = check.measured.mean[index], check.measured.stderr[index]
            rows.append({"source": check.source, "target": check.target, "whiten": check.whiten, "alpha": alpha,
                         "measured": float(measured), "stderr": float(stderr),
                         "predicted_isotropic": float(check.predicted_isotropic[index]),
                         "predicted_covariance": float(check.predicted_covariance[index]),
                         "gap_isotropic": float(check.predicted_isotropic[index] - measured),
                         "gap_covariance": float(check.predicted_covariance[index] - measured),
                         "max_abs_gap_isotropic_over_grid": float(np.max(np.abs(check.predicted_isotropic
                                                                                - check.measured.mean))),
                         "max_abs_gap_covariance_over_grid": float(np.max(np.abs(check.predicted_covariance
                                                                                 - check.measured.mean))),
                         "alpha_star_isotropic": check.alpha_star_isotropic,
                         "alpha_star_covariance": check.alpha_star_covariance})
    return rows


def _averages(rows, keys) -> list[dict]:
    """Mean accuracy over pairs per configuration and method (the standard error is over the pairs' means)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys) + (row["method"],), []).append(row["accuracy"])
    out = []
    for key, values in groups.items():
        mean, se = _mean_se(values)
        out.append({**dict(zip(keys + ("method",), key)), "pairs": len(values), "accuracy": mean,
                    "stderr_over_pairs": se})
    return out


def run_amazon_experiment(directory=None, *, quick: bool = False, seed: int = 0, progress=None) -> Experiment:
    """Everything issue 5 asks on the 12 Amazon pairs: the honest table (n = 20, 40, 100; gammas (1, 1) and
    `GAMMA_SWEEP` at n = 20; whitened at n = 20), the pool-size study, paper mode next to the paper's Table 1, and
    prediction vs measurement (isotropic and covariance-aware, standardised and whitened).

    `quick=True`: n = 20 and gammas (1, 1) only, 5 splits, no covariance-aware method, paper mode on 1 x 5 draws,
    no whitening check: under a minute. `progress`: optional callable taking a status line.
    """
    from rmt_alpha.data import amazon_pairs, load_amazon

    say = progress or (lambda line: None)
    domains = load_amazon(directory)
    pairs = amazon_pairs()
    splits = 5 if quick else 20
    configs = [(20, 1.0, 1.0, False, not quick)]
    if not quick:
        configs += [(40, 1.0, 1.0, False, False), (100, 1.0, 1.0, False, False), (20, 1.0, 1.0, True, False)]
        configs += [(20, gs, g, False, False) for gs, g in GAMMA_SWEEP[1:]]
    results = []
    for n, source_gamma, gamma, whiten, covariance in configs:
        say(f"honest protocol: n={n}, gammas=({source_gamma:g}, {gamma:g}), whiten={whiten}")
        for source, target in pairs:
            results.append(run_transfer(domains[source], domains[target], n=n, source_gamma=source_gamma,
                                        gamma=gamma, splits=splits, seed=seed, whiten=whiten,
                                        covariance=covariance,
                                        pool_sizes=() if quick or n != 20 or whiten or (source_gamma, gamma) != (1, 1)
                                        else (50, 100, 300)))
    honest = summary_rows(results)
    say("paper mode")
    paper = run_paper_table(domains, pairs, seeds=1 if quick else 3, splits=5 if quick else 10)
    say("prediction vs measurement")
    checks = [predict_vs_measure(domains[s], domains[t], ALPHA_GRID, splits=splits, seed=seed) for s, t in pairs]
    if not quick:
        checks += [predict_vs_measure(domains[s], domains[t], ALPHA_GRID, splits=splits, seed=seed, whiten=True)
                   for s, t in pairs]
    tables = {"honest": honest,
              "honest_average": _averages(honest, ("n", "source_gamma", "gamma", "whiten")),
              "paper_mode": _paper_rows(paper),
              "prediction": _check_rows(checks)}
    settings = {"splits": splits, "seed": seed, "quick": quick, "alpha_grid": [ALPHA_GRID[0], ALPHA_GRID[-1], 0.1],
                "methods": METHODS, "pool_size": "min(1000, (rows - n) // 2)", "cv_folds": 5, "pool_rounds": 3,
                "preprocessing": "source standardised with its own features; target with its training + pool "
                                 "features (never test rows); paper mode and the theory check: each domain with "
                                 "all its rows", "paper_mode": "statistics from the whole target domain (test rows "
                                 "included), this package's isotropic alpha* (not the paper's formula), "
                                 "max(acc, 1 - acc) as the paper, plain accuracy beside it"}
    return Experiment(tables, checks, settings)


def run_digits_experiment(*, quick: bool = False, seed: int = 0, progress=None) -> Experiment:
    """The same honest protocol and theory check on scikit-learn's digits (`rmt_alpha.data.DIGIT_TASKS`), n = 20,
    gammas (1, 1); `quick`: 5 splits."""
    from rmt_alpha.data import load_digit_tasks

    say = progress or (lambda line: None)
    splits = 5 if quick else 20
    results, checks = [], []
    for name, (source, target) in load_digit_tasks().items():
        say(f"digits {name}")
        results.append(run_transfer(source, target, n=20, splits=splits, seed=seed, covariance=True))
        checks.append(predict_vs_measure(source, target, ALPHA_GRID, splits=splits, seed=seed))
    honest = summary_rows(results)
    tables = {"honest": honest, "honest_average": _averages(honest, ("n", "source_gamma", "gamma", "whiten")),
              "prediction": _check_rows(checks)}
    return Experiment(tables, checks, {"splits": splits, "seed": seed, "quick": quick, "methods": METHODS})


# ----------------------------------------------------------------------------------------------- output

TABLE_METHODS = ("alpha=0", "alpha=1", "alpha* theory", "CV", "pool", "pool covariance", "oracle")


def format_experiment(experiment: Experiment) -> str:
    """The main tables as text: honest (n = 20, gammas 1/1), paper mode beside the paper, prediction vs measurement,
    and the averages of every configuration."""
    honest = [row for row in experiment.tables["honest"]
              if row["n"] == 20 and row["source_gamma"] == 1 and row["gamma"] == 1 and not row["whiten"]]
    methods = [m for m in TABLE_METHODS if any(row["method"] == m for row in honest)]
    pairs = list(dict.fromkeys((row["source"], row["target"]) for row in honest))
    cell = {(row["source"], row["target"], row["method"]): row for row in honest}
    lines = [f"Honest protocol: n = 20, gammas (1, 1), {experiment.settings['splits']} splits per pair, plain test "
             "accuracy, mean +- standard error", f"{'pair':18s}" + "".join(f"{m:>16s}" for m in methods)]
    for pair in pairs:
        lines.append(f"{pair[0] + '->' + pair[1]:18s}" + "".join(
            f"{cell[pair + (m,)]['accuracy']:9.3f}+-{cell[pair + (m,)]['stderr']:.3f}" for m in methods))
    lines.append(f"{'mean':18s}" + "".join(
        f"{np.mean([cell[p + (m,)]['accuracy'] for p in pairs]):16.3f}" for m in methods))
    lines.append("Data used: " + "; ".join(f"{m}: {METHODS[m]}" for m in methods))
    if "paper_mode" in experiment.tables:
        lines += ["", "Paper mode (whole-target statistics, max(acc, 1 - acc)) | the paper's Table 1 | plain alpha*",
                  f"{'pair':18s}{'a=0':>7s}{'paper':>7s}{'a=1':>7s}{'paper':>7s}{'a*':>7s}{'paper':>7s}"
                  f"{'alpha*':>8s}{'plain a*':>9s}"]
        for row in experiment.tables["paper_mode"]:
            lines.append(f"{row['source'] + '->' + row['target']:18s}" + "".join(
                f"{row[k + '_max_convention']:7.3f}{row[k + '_paper']:7.3f}" for k in ("alpha0", "alpha1",
                                                                                       "alpha_star"))
                + f"{row['alpha_star']:8.2f}{row['alpha_star_plain']:9.3f}")
    lines += ["", "Prediction vs measurement (whole-target statistics: a check of the theory, not a method)",
              f"{'pair':18s}{'prep':>10s}{'alpha':>6s}{'measured':>15s}{'isotropic':>10s}{'covariance':>11s}"
              f"{'max|gap| iso':>13s}{'cov':>7s}"]
    for row in experiment.tables["prediction"]:
        lines.append(f"{row['source'] + '->' + row['target']:18s}{'whitened' if row['whiten'] else 'standard':>10s}"
                     f"{row['alpha']:6.1f}{row['measured']:9.3f}+-{row['stderr']:.3f}"
                     f"{row['predicted_isotropic']:10.3f}{row['predicted_covariance']:11.3f}"
                     f"{row['max_abs_gap_isotropic_over_grid']:13.3f}{row['max_abs_gap_covariance_over_grid']:7.3f}")
    lines += ["", "Averages over pairs (per configuration)"]
    for row in experiment.tables["honest_average"]:
        config = {k: row[k] for k in row if k not in ("method", "pairs", "accuracy", "stderr_over_pairs")}
        lines.append(f"  {str(config):70s} {row['method']:16s} {row['accuracy']:.4f}")
    return "\n".join(lines)


def write_experiment(experiment: Experiment, out_dir, prefix: str, *, curve_pairs=CURVE_PAIRS) -> list[str]:
    """Write every table as `<prefix>_<table>.csv`, all of them with the settings as `<prefix>.json`, and the
    accuracy-vs-alpha curves (measured with standard errors, isotropic and covariance theory) as
    `<prefix>_curves.png`, each atomically. Returns the paths written."""
    import csv
    import io
    import json
    import os

    import matplotlib.pyplot as plt

    from rmt_alpha.plots import plot_amazon_curve, save_figure

    paths = []
    for name, rows in experiment.tables.items():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        path = os.path.join(out_dir, f"{prefix}_{name}.csv")
        atomic_write(path, buffer.getvalue())
        paths.append(path)
    payload = {"settings": experiment.settings, "tables": experiment.tables}
    path = os.path.join(out_dir, f"{prefix}.json")
    atomic_write(path, json.dumps(payload, indent=1, default=float, allow_nan=True))
    paths.append(path)
    checks = [c for c in experiment.checks if not c.whiten]
    chosen = [c for c in checks if (c.source, c.target) in set(curve_pairs)] or checks[:3]
    figure, axes = plt.subplots(1, len(chosen), figsize=(5.0 * len(chosen), 3.8), squeeze=False)
    for ax, check in zip(axes[0], chosen):
        plot_amazon_curve(check, ax=ax)
    path = save_figure(figure, os.path.join(out_dir, f"{prefix}_curves.png"))
    plt.close(figure)
    paths.append(path)
    return paths
