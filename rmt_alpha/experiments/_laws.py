"""Which target rows give the theory its law and which rows the accuracy is measured on, in the three modes of the
theory check (`rmt_alpha.experiments.predict_vs_measure`; theory/THEORY.md sections 8 and 9):

- "whole-domain" (in-sample): the law is every row of the target domain, labels included; each split's training
  rows are drawn from the whole domain and its accuracy is measured on the rest, which the law has seen. A check of
  the theory, not a method.
- "held-out-half" (out-of-sample): the domain is cut at random into two disjoint halves A and B; the law is A's
  rows with their labels, the training rows are drawn from A and the accuracy is measured on B only.
- "pseudo-labelled-pool" (out-of-sample, the user's case): the same halves and training rows; each split's law is
  an unlabelled pool drawn from A (disjoint from its training rows), labelled by that split's alpha = 1 classifier.
  The pool's labels are never used for the law.

With the halves, the sampling-noise floor of a measured curve is the same classifiers' accuracy on A less the
training rows against their accuracy on B: two disjoint parts of the domain measured against each other.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rmt_alpha._validation import check_count
from rmt_alpha.experiments._splits import draw_splits

LAWS = ("whole-domain", "held-out-half", "pseudo-labelled-pool")
"""The modes of the theory check: where the theory's law comes from (module docstring)."""
IN_SAMPLE = {"whole-domain": True, "held-out-half": False, "pseudo-labelled-pool": False}
"""Whether a mode's law has seen the rows its accuracy is measured on."""
DEFAULT_POOL = 1000
"""Largest pseudo-labelled pool (the honest protocol's pool size)."""
_HALVES_STREAM = 1  # the halves' random stream, apart from the splits' (same seed)


class CheckRows(NamedTuple):
    """The rows of the target domain (indices into it) behind one check.

    Attributes:
        law: (N_law,) sorted: the rows the law comes from (whole-domain: every row; otherwise half A).
        measured: (N_measured,) sorted: the rows the accuracy is measured on (whole-domain: every row, each split's
            training rows left out; otherwise half B, disjoint from `law`).
        train: (splits, n): each split's labelled training rows (drawn from `law`).
        pool: (splits, N_pool): each split's unlabelled pool, drawn from `law` without its training rows
            (pseudo-labelled-pool only, else None).
    """

    law: np.ndarray
    measured: np.ndarray
    train: np.ndarray
    pool: np.ndarray | None = None

    def train_in_law(self) -> np.ndarray:
        """(splits, n): each training row's position in `law`."""
        return np.searchsorted(self.law, self.train)


def check_law(law: str) -> str:
    """`law` if it names a mode of `LAWS`, else a ValueError naming them."""
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    return law


def law_rows(n_rows: int, n: int, splits: int, seed: int, law: str = "whole-domain", *,
             pool_size: int | None = None) -> CheckRows:
    """The rows of each mode (module docstring).

    The whole-domain mode draws the training rows as it always has (`draw_splits(n_rows, n, 0, splits, seed)`). The
    two out-of-sample modes share their halves and training rows (same seed), so they are measured on the same rows.

    Args:
        n_rows: rows of the target domain.
        n: labelled training rows per split.
        splits: random splits.
        seed: seed of the halves and the splits.
        law: a mode of `LAWS`.
        pool_size: rows of each pseudo-labelled pool (default: min(1000, the rows of A less the n training rows)).

    Returns:
        CheckRows: the law's, the measured and the training rows (and the pools).

    Raises:
        ValueError: an unknown mode, or a half too small for n training rows and the pool.

    Example:
        >>> from rmt_alpha.experiments._laws import law_rows
        >>> rows = law_rows(100, 10, 3, 0, "held-out-half")
        >>> len(set(rows.law) & set(rows.measured)), rows.law.size, rows.measured.size, rows.train.shape
        (0, 50, 50, (3, 10))
    """
    check_law(law)
    n_rows, n, splits = (check_count(k, v) for k, v in (("n_rows", n_rows), ("n", n), ("splits", splits)))
    if law == "whole-domain":
        everything = np.arange(n_rows)
        return CheckRows(everything, everything, draw_splits(n_rows, n, 0, splits, seed).train)
    order = np.random.default_rng([seed, _HALVES_STREAM]).permutation(n_rows)
    half_a, half_b = np.sort(order[:n_rows // 2]), np.sort(order[n_rows // 2:])
    if half_a.size <= n + 1:
        raise ValueError(f"n must leave rows in half A for the law: n={n}, rows={n_rows} (half A: {half_a.size})")
    drawn = draw_splits(half_a.size, n, 0, splits, seed)
    pool = None
    if law == "pseudo-labelled-pool":
        largest = half_a.size - n
        pool_size = min(DEFAULT_POOL, largest) if pool_size is None else check_count("pool_size", pool_size)
        if pool_size > largest:
            raise ValueError(f"pool_size must be at most the rows of half A less n = {largest}, got {pool_size}")
        pool = half_a[drawn.test[:, :pool_size]]
    return CheckRows(half_a, half_b, half_a[drawn.train], pool)
