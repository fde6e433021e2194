"""The statistics the theory needs: source and target class means, sample sizes and ridge strengths.

Model (theory/THEORY.md section 1): `x = y * mean + z`, `y` in {-1, +1} balanced, `z ~ N(0, I_p)`; with an optional
class-independent noise covariance `cov = C`, `z ~ N(0, C)` (theory/THEORY.md section 8). A `SourceStats` stands for the
source ridge classifier `w_s = (Xs Xs^T / N + gamma_s I)^-1 Xs ys / N` trained on `n` source samples; a
`TargetStats` for the target task on which `alpha * w_s` is fine-tuned with `n` samples and ridge strength `gamma`.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import NamedTuple

import numpy as np

from rmt_alpha._validation import check_count, check_finite_float, check_positive_float, check_vector

ORTHONORMALITY_PROBES = 8  # random vectors through V^T V - I (see _orthonormality_deviation)
MEAN_NORM_LIMIT = 1e50  # |mean|^4 must stay far from float64's overflow (1.8e308)
COVARIANCE_TOLERANCE = 1e-8  # relative: asymmetry, negative eigenvalues and non-orthonormality up to this are rounding


class Spectrum(NamedTuple):
    """Eigen-decomposition of a covariance, `C = eigenvectors @ diag(eigenvalues) @ eigenvectors.T`.

    Attributes:
        eigenvalues: shape (p,), >= 0.
        eigenvectors: shape (p, p), orthonormal columns.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    def matrix(self) -> np.ndarray:
        """The p x p covariance matrix."""
        return (self.eigenvectors * self.eigenvalues) @ self.eigenvectors.T


def check_covariance(name: str, value, p: int) -> Spectrum:
    """Validate a covariance (a p x p matrix or a `Spectrum`) and return its read-only `Spectrum`.

    A matrix must be finite, symmetric and positive semi-definite, each up to a relative `COVARIANCE_TOLERANCE`
    (rounding-level negative eigenvalues are set to 0). A `Spectrum` must have p finite eigenvalues >= 0 (same
    tolerance) and p x p finite orthonormal eigenvectors.
    """
    if isinstance(value, Spectrum):
        eigenvalues = _finite_array(f"{name}.eigenvalues", value[0], (p,))
        eigenvectors = _finite_array(f"{name}.eigenvectors", value[1], (p, p))
        deviation = _orthonormality_deviation(eigenvectors)
        if deviation > np.sqrt(COVARIANCE_TOLERANCE):
            raise ValueError(f"{name}.eigenvectors must have orthonormal columns, got max |(V^T V - I) x| = "
                             f"{deviation:.3g} over {ORTHONORMALITY_PROBES} random probes x ~ N(0, I)")
    else:
        matrix = _finite_array(name, value, (p, p))
        scale = max(np.abs(matrix).max(), np.finfo(float).tiny)
        asymmetry = np.abs(matrix - matrix.T).max()
        if asymmetry > COVARIANCE_TOLERANCE * scale:
            raise ValueError(f"{name} must be symmetric, got max |C - C^T| = {asymmetry:.3g} "
                             f"(largest entry {scale:.3g})")
        eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    largest = max(np.abs(eigenvalues).max(), np.finfo(float).tiny)
    if eigenvalues.min() < -COVARIANCE_TOLERANCE * largest:
        raise ValueError(f"{name} must be positive semi-definite, got the eigenvalue {eigenvalues.min():.6g} "
                         f"(largest {largest:.6g})")
    eigenvalues = np.maximum(eigenvalues, 0.0)
    for array in (eigenvalues, eigenvectors):
        array.setflags(write=False)
    return Spectrum(eigenvalues, eigenvectors)


def _orthonormality_deviation(eigenvectors: np.ndarray) -> float:
    """`max |(V^T V - I) x|` over ORTHONORMALITY_PROBES standard normal probes x (fixed seed): O(p^2) per probe,
    where forming `V^T V` costs 2 p^3 and p x p temporaries (14 s and 2.4 GB at p = 10000).

    Each entry of `(V^T V - I) x` is normal with standard deviation the norm of a row of `V^T V - I`, at least its
    largest entry: a deviation of `d` in any entry is missed by all 8 probes with probability below
    `P(|N(0, 1)| < t / d)^8`, under 1e-4 for `d >= 3 t` at the threshold t.
    """
    probes = np.random.default_rng(0).standard_normal((eigenvectors.shape[1], ORTHONORMALITY_PROBES))
    return float(np.abs(eigenvectors.T @ (eigenvectors @ probes) - probes).max())


def _finite_array(name: str, value, shape: tuple) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers of shape {shape}, got "
                        f"{type(value).__name__}") from error
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (p = {shape[0]} is the length of the mean), "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers, got "
                         f"{np.count_nonzero(~np.isfinite(array))} NaN or infinite value(s)")
    return array


def _basis_vector(p: int, index: int) -> np.ndarray:
    vector = np.zeros(p)
    vector[index] = 1.0
    return vector


@dataclasses.dataclass(frozen=True, eq=False)
class _TaskStats:
    mean: np.ndarray
    n: int
    gamma: float
    cov: Spectrum | None = None

    def __post_init__(self):
        object.__setattr__(self, "mean", check_vector("mean", self.mean))
        largest = float(np.abs(self.mean).max())
        norm = largest * float(np.linalg.norm(self.mean / largest)) if largest > 0 else 0.0  # no overflow
        if norm > MEAN_NORM_LIMIT:
            raise ValueError(f"mean must have norm <= {MEAN_NORM_LIMIT:g}, got |mean| = {norm:.3g}: the formulas use "
                             f"|mean|^4, which overflows float64 beyond 1e77, and every accuracy is 1 to double "
                             f"precision long before (|mean| of a few tens)")
        object.__setattr__(self, "n", check_count("n", self.n))
        object.__setattr__(self, "gamma", check_positive_float("gamma", self.gamma))
        if self.cov is not None:
            object.__setattr__(self, "cov", check_covariance("cov", self.cov, self.p))

    @property
    def p(self) -> int:
        """The dimension: length of the mean vector."""
        return self.mean.size

    @property
    def eta(self) -> float:
        """The aspect ratio `p / n`."""
        return self.p / self.n

    @property
    def mean_norm_sq(self) -> float:
        """`|mean|^2`, the signal strength."""
        return float(self.mean @ self.mean)

    def __repr__(self) -> str:
        cov = "" if self.cov is None else f", cov=<spectrum in [{self.cov.eigenvalues.min():.3g}, " \
                                            f"{self.cov.eigenvalues.max():.3g}]>"
        return (f"{type(self).__name__}(p={self.p}, |mean|={np.sqrt(self.mean_norm_sq):.4g}, "
                f"n={self.n}, gamma={self.gamma:.4g}{cov})")


class SourceStats(_TaskStats):
    """Statistics of the source task and its ridge classifier (theory/THEORY.md sections 1-2).

    Args:
        mean: `mu_s`, the source class-mean vector, shape (p,).
        n: N, the number of source samples (>= 1).
        gamma: `gamma_s` > 0, the ridge strength of the source classifier.
        cov: optional noise covariance `C_s`: a p x p matrix or a `Spectrum`; stored as its validated `Spectrum`.
            None means `C_s = I` (the closed forms of theory/THEORY.md section 2); otherwise section 8 applies.

    Example:
        >>> from rmt_alpha import SourceStats
        >>> SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0).eta
        0.2
    """

    @classmethod
    def from_norm(cls, p: int, mean_norm: float, n: int, gamma: float, *, cov=None) -> SourceStats:
        """Source whose mean is `mean_norm * e_1` in dimension p (the isotropic theory only sees `|mu_s|`).

        Args:
            p: the dimension.
            mean_norm: `|mu_s|`.
            n: the number of source training samples.
            gamma: the source ridge strength.
            cov: optional source noise covariance.

        Returns:
            SourceStats: checked as any `SourceStats`.

        Example:
            >>> from rmt_alpha import SourceStats
            >>> SourceStats.from_norm(400, 1.5, 2000, 1.0).mean[:2]
            array([1.5, 0. ])
        """
        p = check_count("p", p)
        mean_norm = check_positive_float("mean_norm", mean_norm, allow_zero=True)
        return cls(mean_norm * _basis_vector(p, 0), n, gamma, cov)


class TargetStats(_TaskStats):
    """Statistics of the target task on which the source classifier is fine-tuned.

    Args:
        mean: `mu_t`, the target class-mean vector, shape (p,).
        n: the number of target training samples (>= 1).
        gamma: the fine-tuning ridge strength > 0.
        cov: optional noise covariance `C_t` (as for `SourceStats`); None means `C_t = I`.

    Example:
        >>> from rmt_alpha import SourceStats, TargetStats
        >>> source = SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0)
        >>> TargetStats.from_alignment(source, beta=0.8, perp_norm=0.6, n=100, gamma=1.0).eta
        4.0
    """

    @classmethod
    def from_alignment(cls, source=None, beta=None, perp_norm=None, n=None, gamma=None, *legacy, cov=None,
                       p=None, source_norm=None) -> TargetStats:
        """Target with `mu_t = beta * mu_s + mu_perp` for a given source (theory/THEORY.md section 1).

        `mu_perp = perp_norm * e`, `e` a fixed unit vector orthogonal to `mu_s` (the coordinate axis least aligned
        with it, made orthogonal; `e_2` for `SourceStats.from_norm`'s `mu_s = |mu_s| e_1`), so
        `|mu_t|^2 = beta^2 |mu_s|^2 + |mu_perp|^2` and `alignment(source, target)` gives back `(|mu_s|, beta,
        perp_norm)`. Taking the source itself (not its norm) means the two can never silently disagree.

        Deprecated: the old form `from_alignment(p, source_norm, beta, perp_norm, n, gamma)` (positional, or with
        the keywords `p=` and `source_norm=`) still works, with a `DeprecationWarning`.

        Args:
            source: the `SourceStats` the target is aligned with.
            beta: `<mu_s, mu_t> / |mu_s|^2`, finite.
            perp_norm: `|mu_perp| >= 0`.
            n: the number of target training samples.
            gamma: the fine-tuning ridge strength.
            *legacy: the rest of the deprecated positional form.
            cov: optional target noise covariance.
            p: deprecated form only: the dimension.
            source_norm: deprecated form only: `|mu_s|`.

        Returns:
            TargetStats: the aligned target.
        """
        if isinstance(source, SourceStats) and not legacy and p is None and source_norm is None:
            return cls._aligned(source.mean, beta, perp_norm, n, gamma, cov)
        if p is None:  # positional old form: (p, source_norm, beta, perp_norm, n, gamma)
            if len(legacy) != 1 or isinstance(source, SourceStats):
                raise TypeError("from_alignment takes (source, beta, perp_norm, n, gamma); the deprecated form takes "
                                "(p, source_norm, beta, perp_norm, n, gamma)")
            p, source_norm, beta, perp_norm, n, gamma = source, beta, perp_norm, n, gamma, legacy[0]
        warnings.warn("TargetStats.from_alignment(p, source_norm, ...) is deprecated: pass the SourceStats itself, "
                      "from_alignment(source, beta, perp_norm, n, gamma), so that the two norms cannot disagree",
                      DeprecationWarning, stacklevel=2)
        p = check_count("p", p)
        source_norm = check_positive_float("source_norm", source_norm, allow_zero=True)
        return cls._aligned(source_norm * _basis_vector(p, 0), beta, perp_norm, n, gamma, cov)

    @classmethod
    def _aligned(cls, source_mean, beta, perp_norm, n, gamma, cov) -> TargetStats:
        perp_norm = check_positive_float("perp_norm", perp_norm, allow_zero=True)
        beta = check_finite_float("beta", beta)
        p = source_mean.size
        if p < 2 and perp_norm > 0:
            raise ValueError(f"p must be >= 2 when perp_norm > 0 (mu_perp needs its own direction), got p={p}")
        mean = beta * source_mean
        if perp_norm > 0:
            mean = mean + perp_norm * _orthogonal_unit(source_mean)
        return cls(mean, n, gamma, cov)


def _orthogonal_unit(vector: np.ndarray) -> np.ndarray:
    """A fixed unit vector orthogonal to `vector`: the coordinate axis least aligned with it, minus its projection
    (`e_2` for a multiple of `e_1`, and for 0)."""
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        return _basis_vector(vector.size, 1)
    unit = vector / norm
    axis = _basis_vector(vector.size, int(np.argmin(np.abs(unit))))
    axis -= (axis @ unit) * unit
    return axis / np.linalg.norm(axis)


class Alignment(NamedTuple):
    """The convenience parameterisation `(|mu_s|, beta, |mu_perp|)` of a source/target pair."""

    source_norm: float
    beta: float
    perp_norm: float


def alignment(source: SourceStats, target: TargetStats) -> Alignment:
    """`beta = <mu_s, mu_t> / |mu_s|^2` and `|mu_perp| = |mu_t - beta mu_s|` (theory/THEORY.md section 1).

    Args:
        source: the `SourceStats`.
        target: the `TargetStats`.

    Returns:
        Alignment: `(source_norm, beta, perp_norm)`.
    """
    check_same_dimension(source.mean, target)
    source_norm_sq = source.mean_norm_sq
    beta = float(source.mean @ target.mean) / source_norm_sq if source_norm_sq > 0 else 0.0
    perp = target.mean - beta * source.mean
    return Alignment(float(np.sqrt(source_norm_sq)), beta, float(np.sqrt(perp @ perp)))


def check_same_dimension(source_vector: np.ndarray, target: TargetStats) -> None:
    """Raise if the source vector (mean or classifier) and the target mean differ in length."""
    if source_vector.shape != target.mean.shape:
        raise ValueError(f"source and target must have the same dimension p: the source has length "
                         f"{source_vector.shape[0]}, target.mean has length {target.p}")
