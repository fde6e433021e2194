"""The public deterministic equivalents (theory/THEORY.md sections 2 and 8): the moments of the decision value,
the test accuracy, the squared-loss risk and the source accuracy, for any source and target.

Without a covariance on either side these are the closed forms of `rmt_alpha._theory` (section 2); when the
source (`SourceStats`) or the target carries one (`cov=`), the general-covariance theory of
`rmt_alpha._covariance` (section 8). Reference: El Firdoussi, Chayti, Seddik, Jaggi, "alpha-LoRA",
arXiv 2510.21345; theory/THEORY.md.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from rmt_alpha._covariance import covariance_source_accuracy
from rmt_alpha._prepare import prepare
from rmt_alpha._sources import is_source_list
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._theory import Moments, Source, resolve_gamma, ridge_scalars, unit_classifier


def margin_moments(source: Source, target: TargetStats, alpha, *, gamma=None) -> Moments:
    """Deterministic equivalents of `E[y g]` and `E[g^2]` for the alpha-fine-tuned classifier.

    Args:
        source: a `SourceStats` (the ridge source classifier) or a 1-D array `w_s` of length p; or a list of K
            fixed classifiers (theory/THEORY.md section 10), with alpha of shape (..., K).
        target: the `TargetStats`.
        alpha: scalar or array of any shape.
        gamma: optional fine-tuning ridge strength(s) overriding `target.gamma`; broadcasts with alpha.
    Returns:
        `Moments` of the broadcast shape of alpha and gamma.

    Example:
        >>> from rmt_alpha import SourceStats, TargetStats, margin_moments
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> round(float(margin_moments(src, tgt, 0.0).mean), 4)
        0.2558
    """
    if is_source_list(source):  # K fixed sources, alpha (..., K): theory/THEORY.md section 10
        return prepare(source, target).margin_moments(alpha, resolve_gamma(target, gamma))
    source, alpha, _ = unit_classifier(source, alpha)  # w_s and alpha enter only through alpha w_s
    return prepare(source, target).margin_moments(alpha, resolve_gamma(target, gamma))


def predicted_accuracy(source: Source, target: TargetStats, alpha, *, gamma=None, rows=None):
    """Asymptotic test accuracy `Phi(E[y g] / sqrt(Var[g]))` of the alpha-fine-tuned classifier.

    Accuracy is the plain probability of a correct sign, below 1/2 when the classifier is worse than chance
    (never `max(acc, 1 - acc)`). The ratio is evaluated without forming `alpha^2` (`rmt_alpha._theory.margin_ratio`),
    so any finite alpha gives its value, tending to the finite limit `Phi(sign(alpha) e1 / sqrt(v2))` as
    `|alpha|` grows; a given `w_s` is normalised first (only `alpha w_s` matters), so its scale cannot underflow.

    Args:
        source: a `SourceStats` (the ridge source classifier) or a 1-D array `w_s` of length p; or a list of K
            fixed classifiers `[w_1, ..., w_K]` (theory/THEORY.md section 10: alpha of shape (..., K), numpy).
        target: the `TargetStats`.
        alpha: scalar or array of any shape (numpy, or JAX for jit/grad).
        gamma: optional fine-tuning ridge strength(s) overriding `target.gamma`; broadcasts with alpha.
        rows: optional labelled target rows `(X, y)` (or `(X, y, weights)`): the semi-empirical theory of
            theory/THEORY.md section 9, with these rows as the target law (real, non-Gaussian features) and the
            accuracy averaged over them; needs a fixed `w_s`, uses only `target.n` and `target.gamma`, numpy only.
    Returns:
        float64 array of the broadcast shape (a numpy scalar for scalar input); a JAX array for JAX input.

    Example (theory/THEORY.md section 3):
        >>> import numpy as np
        >>> from rmt_alpha import SourceStats, TargetStats, predicted_accuracy
        >>> src = SourceStats.from_norm(400, 1.5, 2000, 1.0)
        >>> tgt = TargetStats.from_alignment(src, 0.8, 0.6, 100, 1.0)
        >>> np.round(predicted_accuracy(src, tgt, [0.0, 1.0, 3.0]), 4)
        array([0.7551, 0.8493, 0.8504])
    """
    if is_source_list(source):  # K fixed sources, alpha (..., K): theory/THEORY.md section 10
        return prepare(source, target, rows=rows).predicted_accuracy(alpha, resolve_gamma(target, gamma))
    source, alpha, _ = unit_classifier(source, alpha)
    return prepare(source, target, rows=rows).predicted_accuracy(alpha, resolve_gamma(target, gamma))


def predicted_risk(source: Source, target: TargetStats, alpha, *, gamma=None, rows=None):
    """Asymptotic squared-loss test risk `E[(y - g)^2] = Var[g] + (1 - E[y g])^2` (theory/THEORY.md section 2).

    Args:
        source: a `SourceStats` or a (p,) source classifier `w_s`; or a list of K fixed classifiers (section 10).
        target: the `TargetStats`.
        alpha: base-rescaling factor(s), scalar or array ((..., K) for K sources).
        gamma: ridge strength(s) overriding `target.gamma`.
        rows: optional labelled target rows `(X, y)`: the semi-empirical theory (as `predicted_accuracy`).

    Returns:
        The risk, broadcast over alpha and gamma.
    """
    if is_source_list(source):  # K fixed sources, alpha (..., K): theory/THEORY.md section 10
        return prepare(source, target, rows=rows).predicted_risk(alpha, resolve_gamma(target, gamma))
    source, alpha, _ = unit_classifier(source, alpha)  # the risk too depends on w_s and alpha only as alpha w_s
    return prepare(source, target, rows=rows).predicted_risk(alpha, resolve_gamma(target, gamma))


def source_accuracy(source: SourceStats):
    """Asymptotic accuracy of the ridge source classifier on its own task: the alpha = 0 formula on the source.

    `Phi( (m_s / lam_s) / sqrt((m_s + eta_s) / (h_s lam_s^2)) ) = Phi( m_s sqrt(h_s) / sqrt(m_s + eta_s) )`
    (theory/THEORY.md section 2).

    Args:
        source: the `SourceStats`.

    Returns:
        The accuracy in [0, 1].
    """
    if not isinstance(source, SourceStats):
        raise TypeError(f"source must be a SourceStats, got {type(source).__name__}")
    if source.cov is not None:
        return covariance_source_accuracy(source)
    h_s = ridge_scalars(source.eta, source.gamma).h
    m_s = source.mean_norm_sq
    return float(scipy.special.ndtr(m_s * np.sqrt(h_s) / np.sqrt(m_s + source.eta)))
