"""Several sources on Amazon, or on the review-text domains' all-MiniLM-L6-v2 features (theory/THEORY.md section 10):
each domain as the target, the other domains of its group as sources (Amazon: the other three; text: within the
VADER group, the other three, within the UCI group, the other two), the honest protocol (each source standardised
with its own rows and its ridge classifier fitted on all of them; the target standardised with each split's
training + pool rows; alpha chosen from the n labelled rows and the pool; plain accuracy on the test rows, disjoint
from both).

Methods: alpha = 1 on each source; `choose_alpha` on each single source (isotropic, as the vector choice, and its
default covariance="auto"); the best-predicted single source (the source whose own alpha* has the highest predicted
accuracy, at that alpha*, by the default's theory); the uniform mixture (alpha_k = 1/K); the vector alpha* of the
estimates; the vector choice of `choose_alpha([w_1, w_2, w_3], ...)` (with do no harm), by its default theory
(semi-empirical on encoder features, isotropic on bag-of-words rows: section 10.4) and by the isotropic theory; and a
baseline in the manner of Zhang, Auddy and
Li (arXiv 2501.02411), not a reproduction of their method (`combined_directions`): the target's own ridge direction
d_0 = (X^T X / n + gamma I)^-1 X^T y / n and the sources w_1..w_K, fitted separately, combined as
w = sum_j c_j d_j with the weights c maximising the predicted accuracy Phi(c^T a / sqrt(c^T G c)), a generalised
Rayleigh quotient (c = G^+ a, theory/THEORY.md section 10.3), where a_j = <d_j, mu_t> is estimated from the same
data (a_k = <w_k, mu_t> by the unbiased mean of y_i x_i^T w_k over the labelled rows, section 5; a_0 by the
isotropic deterministic equivalent m / (m + 1 + kappa) of section 10.1 with m the U-statistic, as d_0 depends on
those rows) and G is the noise Gram matrix of the directions: D^T D (isotropic noise) or, with the pool,
D^T (U^T U / N) D - a a^T (the pool's second moment less the mean part, clipped to be positive semi-definite).
Ceilings (they look at the test labels, never
methods): the best fixed single-source alpha (over the sources and alpha = 0, 0.1, ..., 6, the mean over splits),
and the best fixed alpha vector (a grid of 25^3 vectors over [-1, 5]^3).

Usage:
    python benchmarks/several_sources.py --out theory/results/several_sources_amazon_n20.json
    python benchmarks/several_sources.py --data text --out theory/results/several_sources_text_n20.json
Options: --data (amazon), --n (20), --splits (20), --seed (0), --bootstrap (200). The text run needs the cached
embeddings of `rmt-alpha text-transfer` (or computes them). 2 min 40 s on two CPU cores shared with a
background job (load average about 8; an earlier run took about 11 minutes).
"""

import argparse
import json
import sys

import numpy as np
from _provenance import provenance

from rmt_alpha import choose_alpha
from rmt_alpha._choose_sources import sources_coefficients
from rmt_alpha._estimation import pair_statistics
from rmt_alpha._io import atomic_write
from rmt_alpha._rayleigh import pinv_solve
from rmt_alpha.data import load_amazon
from rmt_alpha.experiments import ALPHA_GRID
from rmt_alpha.experiments._preprocessing import preprocess
from rmt_alpha.experiments._splits import draw_splits, fit_splits
from rmt_alpha.linear import fit_ridge

VECTOR_GRID = np.linspace(-1.0, 5.0, 25)


def combined_directions(W, X, y, gamma, U=None):
    """In the manner of Zhang, Auddy and Li (arXiv 2501.02411): the weights `c` of `w = D c`, `D = [d_0, w_1..w_K]`
    (d_0 the target's ridge direction of (X, y)), maximising `c^T a / sqrt(c^T G c)` (module docstring): `c = G^+ a`
    (theory/THEORY.md section 10.3), scaled so that `c_0 = 1` when `c_0 > 0`.

    Args:
        W: (p, K) the sources. X: (n, p) labelled rows. y: (n,) labels in {-1, +1}. gamma: ridge strength.
        U: optional (N, p) unlabelled rows: the noise Gram matrix from their second moment; None: `D^T D`.
    Returns:
        `(w, c, a, G)`: the combined classifier (p,), the weights (K + 1,), the estimated `a` and `G`.
    """
    n, p = X.shape
    D = np.column_stack([fit_ridge(X, y, gamma), W])
    mean, m = pair_statistics(y[:, None] * X)
    s = W.T @ mean                                                  # unbiased <w_k, mu_t>
    (a_theory, _), _ = sources_coefficients(s[None], np.array([m]), W.T @ W, p / n, gamma)
    a = np.concatenate([[a_theory[0, 0]], s])                       # a_0 = m / (m + 1 + kappa), deterministic
    if U is None:
        G = D.T @ D
    else:
        projected = U @ D
        G = projected.T @ projected / U.shape[0] - np.outer(a, a)
        values, vectors = np.linalg.eigh(G)
        G = (vectors * np.maximum(values, 0.0)) @ vectors.T
    c = pinv_solve(G, a)
    c = c / c[0] if c[0] > 0 else c / np.abs(c).max()
    return D @ c, c, a, G


def test_margins(parts, X_test):
    """Per split, the test margins of the target part and of each source part: (splits, T, K + 1)."""
    stacked = np.stack([parts[0].target_part] + [fitted.source_part for fitted in parts], axis=-1)  # (S, p, K + 1)
    return np.einsum("stp,spk->stk", X_test, stacked)


def accuracy_at(margins, y_test, alpha):
    """Plain test accuracy per split at alpha (splits, K) or (splits, k, K): (splits,) or (splits, k)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    single = alpha.ndim == 2
    alpha = alpha[:, None, :] if single else alpha
    t = np.concatenate([np.ones(alpha.shape[:-1] + (1,)), alpha], axis=-1)
    correct = np.einsum("stk,sak->sta", margins, t) * y_test[:, :, None] > 0
    accuracy = correct.mean(axis=1)
    return accuracy[:, 0] if single else accuracy


def best_fixed_vector(margins, y_test):
    """The best fixed alpha vector over VECTOR_GRID^K (mean test accuracy over splits) and that accuracy per split."""
    K = margins.shape[-1] - 1
    grid = np.stack(np.meshgrid(*([VECTOR_GRID] * K), indexing="ij"), axis=-1).reshape(-1, K)
    total = np.zeros(len(grid))
    for s in range(margins.shape[0]):
        t = np.concatenate([np.ones((len(grid), 1)), grid], axis=1)
        total += ((margins[s] @ t.T) * y_test[s][:, None] > 0).mean(axis=0)
    best = grid[int(np.argmax(total))]
    return best, accuracy_at(margins, y_test, np.broadcast_to(best, (margins.shape[0], K)))


def run_target(domains, target_name, n, splits, seed, bootstrap):
    target = domains[target_name]
    sources = [name for name in domains if name != target_name]
    K = len(sources)
    rows = draw_splits(target.X.shape[0], n, min(1000, (target.X.shape[0] - n) // 2), splits, seed, labels=target.y)
    prepared = [preprocess(domains[name], target, rows, source_gamma=1.0) for name in sources]
    W = [item.w_s for item in prepared]
    data = prepared[0].data  # the target's preprocessing does not depend on the source
    parts = [fit_splits(w, data.X_train, data.y_train, 1.0) for w in W]
    margins = test_margins(parts, data.X_test)
    alphas = {}
    for k, name in enumerate(sources):
        alphas[f"alpha = 1, {name}"] = np.eye(K)[k] * np.ones((splits, 1))
    for covariance in ("isotropic", "auto"):
        for k, name in enumerate(sources):
            chosen = [choose_alpha(W[k], data.X_train[s], data.y_train[s], unlabelled=data.X_pool[s],
                                   covariance=covariance, bootstrap=bootstrap).alpha for s in range(splits)]
            alphas[f"choose_alpha ({covariance}), {name}"] = np.outer(chosen, np.eye(K)[k])
    choices = [choose_alpha(W, data.X_train[s], data.y_train[s], unlabelled=data.X_pool[s], bootstrap=bootstrap)
               for s in range(splits)]
    isotropic = [choose_alpha(W, data.X_train[s], data.y_train[s], unlabelled=data.X_pool[s], bootstrap=bootstrap,
                              covariance="isotropic") for s in range(splits)]
    alphas["best-predicted single source"] = np.stack(
        [np.eye(K)[c.best_source] * c.single_alpha[c.best_source] for c in choices])
    alphas["uniform mixture (alpha_k = 1/K)"] = np.full((splits, K), 1.0 / K)
    alphas["vector alpha* (no do-no-harm)"] = np.stack([c.alpha_estimate for c in choices])
    alphas["vector choice (choose_alpha)"] = np.stack([c.alpha for c in choices])
    alphas["vector choice, isotropic theory"] = np.stack([c.alpha for c in isotropic])
    accuracy = {name: accuracy_at(margins, data.y_test, alpha) for name, alpha in alphas.items()}
    V = np.column_stack(W)
    for label, pool in (("isotropic noise", False), ("pool noise", True)):
        combined = [combined_directions(V, data.X_train[s], data.y_train[s], 1.0, data.X_pool[s] if pool else None)
                    for s in range(splits)]
        accuracy[f"combined directions, {label} (in the manner of Zhang et al.)"] = np.array(
            [np.mean((data.X_test[s] @ combined[s][0]) * data.y_test[s] > 0) for s in range(splits)])
        alphas[f"combined directions, {label}: weights c"] = np.stack([item[1] for item in combined])
    # ceilings: they look at the test labels
    grid_alpha = np.stack([np.outer(ALPHA_GRID, np.eye(K)[k]) for k in range(K)])       # (K, g, K)
    per_source = np.stack([accuracy_at(margins, data.y_test, np.broadcast_to(row, (splits,) + row.shape))
                           for row in grid_alpha])                                      # (K, splits, g)
    k_best, g_best = np.unravel_index(np.argmax(per_source.mean(axis=1)), per_source.shape[::2])
    accuracy["ceiling: best fixed single-source alpha"] = per_source[k_best, :, g_best]
    best_vector, accuracy["ceiling: best fixed alpha vector"] = best_fixed_vector(margins, data.y_test)
    difference = accuracy["vector choice (choose_alpha)"] - accuracy["best-predicted single source"]
    return {
        "target": target_name, "sources": sources,
        "mean_accuracy": {name: float(values.mean()) for name, values in accuracy.items()},
        "accuracy_per_split": {name: values.tolist() for name, values in accuracy.items()},
        "alpha_per_split": {name: np.asarray(value).tolist() for name, value in alphas.items()},
        "ceiling_single": {"source": sources[k_best], "alpha": float(ALPHA_GRID[g_best])},
        "ceiling_vector": best_vector.tolist(),
        "vector_minus_best_predicted_single": {"mean": float(difference.mean()),
                                               "stderr": float(difference.std(ddof=1) / np.sqrt(splits))},
        "fell_back": int(sum(c.fell_back for c in choices)),
        "theory": {name: int(sum(c.covariance == name for c in choices)) for name in sorted({c.covariance
                                                                                             for c in choices})},
        "best_source_counts": {name: int(sum(c.best_source == k for c in choices)) for k, name in enumerate(sources)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", choices=("amazon", "text"), default="amazon")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    if args.data == "amazon":
        groups = [load_amazon()]
    else:
        from choose_alpha_variants import load

        domains = load("text")[0]
        groups = [{name: domain for name, domain in domains.items() if name.startswith(prefix)}
                  for prefix in ("vader-", "uci-")]
    results = [run_target(group, name, args.n, args.splits, args.seed, args.bootstrap)
               for group in groups for name in group]
    names = list(results[0]["mean_accuracy"])
    generic = [name for name in names if not any(name.endswith(f", {d}") for group in groups for d in group)]
    lines = ["| method | " + " | ".join(r["target"] for r in results) + " | mean |", "|---" * (len(results) + 2) + "|"]
    for name in generic:
        values = [100 * r["mean_accuracy"][name] for r in results]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(values):.2f} |")
    gains = [100 * r["vector_minus_best_predicted_single"]["mean"] for r in results]
    summary = {
        "vector_choice_minus_best_predicted_single_pt": gains,
        "mean_gain_pt": float(np.mean(gains)),
        "targets_where_vector_choice_wins": int(sum(g > 0 for g in gains)),
        "worst_target_pt": float(min(gains)),
        "goals": "beats the best-predicted single source on >= 3 of 4 targets, >= +0.4 pt on average, never more "
                 "than 0.2 pt worse on a target",
    }
    payload = {"provenance": stamp, "settings": vars(args), "vector_grid": [VECTOR_GRID[0], VECTOR_GRID[-1],
                                                                              VECTOR_GRID.size],
               "summary": summary, "table": lines, "targets": results}
    atomic_write(args.out, json.dumps(payload, indent=1))
    print("\n".join(lines))
    print(json.dumps(summary, indent=1))
    for r in results:
        print(r["target"], "fell back", r["fell_back"], "of", args.splits, "| theory", r["theory"],
              "| best source", r["best_source_counts"],
              "| single ceiling", r["ceiling_single"], "| vector ceiling", np.round(r["ceiling_vector"], 2),
              "| single-source methods:",
              {k: round(100 * v, 2) for k, v in r["mean_accuracy"].items() if k not in generic})


if __name__ == "__main__":
    sys.exit(main())
