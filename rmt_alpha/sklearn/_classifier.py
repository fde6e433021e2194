"""The alpha-fine-tuned ridge classifier as a scikit-learn estimator (theory/THEORY.md section 1).

`w_alpha = (X^T X / n + gamma I)^-1 (X^T y / n + alpha gamma w_s)` on centred features, with alpha a number or
chosen by `rmt_alpha.choose_alpha` from the training rows (and unlabelled rows) when `alpha="auto"`.
"""

from __future__ import annotations

import jax
import numpy as np
import sklearn.base
import sklearn.utils.multiclass
import sklearn.utils.validation

from rmt_alpha._choose import choose_alpha, resolve_source
from rmt_alpha._sources import check_sources
from rmt_alpha._stats import SourceStats, TargetStats
from rmt_alpha._validation import check_finite_float, check_positive_float
from rmt_alpha.linear import fit_affine


class AlphaLoRAClassifier(sklearn.base.ClassifierMixin, sklearn.base.BaseEstimator):
    """Binary classifier fine-tuned from a source classifier with the base rescaled by alpha (linear alpha-LoRA).

    Args:
        source: the pre-trained classifier `w_s` (array of shape (p,)), or source data `(X_s, y_s)` from which the
            ridge classifier is fitted (`source_gamma`; labels in {-1, +1} or {0, 1}, +1 / 1 meaning `classes_[1]`;
            centred by their own mean when `fit_intercept`), or None: no source (plain ridge, alpha irrelevant); or a
            list of K classifiers `[w_1, ..., w_K]`: fine-tuning towards `W alpha` with alpha a vector
            (theory/THEORY.md section 10).
        alpha: "auto" (`rmt_alpha.choose_alpha` on the training rows, with its do-no-harm rule) or a number
            (1 is plain fine-tuning, 0 ignores the source); with a list of sources, "auto" or K numbers.
        gamma: fine-tuning ridge strength (> 0).
        source_gamma: ridge strength of the source classifier fitted from source data.
        covariance: passed to `choose_alpha` when `alpha="auto"`.
        bootstrap: passed to `choose_alpha` when `alpha="auto"`.
        confidence: passed to `choose_alpha` when `alpha="auto"`.
        random_state: passed to `choose_alpha` when `alpha="auto"`.
        fit_intercept: centre the features by the mean of the training rows, labelled and unlabelled (no labels
            are used), and predict with the matching intercept; the model itself has no offset.
        unlabelled_label: a label value marking rows of `X` as unlabelled (scikit-learn's semi-supervised
            convention, e.g. -1 with labels {0, 1}): they reach `choose_alpha` and the centring, through every
            preceding `Pipeline` step. None: every row is labelled.

    Attributes:
        coef_: (1, p) weights (after `fit`, as every attribute below).
        intercept_: (1,) intercept.
        classes_: the two labels.
        alpha_: the alpha used (shape (K,) with a list of sources).
        choice_: the `AlphaChoice` (`SourcesChoice` for a list of sources) when `alpha="auto"` with a source, else
            None.
        n_features_in_: the number of features seen in `fit`.

    Example:
        >>> from rmt_alpha.sklearn import AlphaLoRAClassifier
        >>> clf = AlphaLoRAClassifier(source=w_s).fit(X, y, unlabelled=U)   # doctest: +SKIP
        >>> clf.alpha_, clf.choice_.gain_interval, clf.score(X_test, y_test)   # doctest: +SKIP
    """

    def __init__(self, source=None, *, alpha="auto", gamma=1.0, source_gamma=1.0, covariance="auto",
                 bootstrap=200, confidence=0.9, random_state=0, fit_intercept=True, unlabelled_label=None):
        self.source = source
        self.alpha = alpha
        self.gamma = gamma
        self.source_gamma = source_gamma
        self.covariance = covariance
        self.bootstrap = bootstrap
        self.confidence = confidence
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.unlabelled_label = unlabelled_label

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, unlabelled=None):
        """Fit on the labelled rows `(X, y)` (two classes) and, for the choice of alpha and the centring, on the
        unlabelled rows (`unlabelled`, or the rows labelled `unlabelled_label`).

        Args:
            X: (n, p) training rows.
            y: (n,) their labels (any two values).
            unlabelled: optional (N, p) unlabelled target rows, already in X's feature space.

        Returns:
            self.
        """
        X, y = sklearn.utils.validation.validate_data(self, X, y, dtype=np.float64)
        gamma = check_positive_float("gamma", self.gamma)
        if self.unlabelled_label is not None:
            marked = y == self.unlabelled_label
            pool_rows, X, y = X[marked], X[~marked], y[~marked]
        else:
            pool_rows = np.zeros((0, X.shape[1]))
        if unlabelled is not None:
            extra = sklearn.utils.validation.check_array(unlabelled, dtype=np.float64, input_name="unlabelled")
            if extra.shape[1] != X.shape[1]:
                raise ValueError(f"unlabelled must have {X.shape[1]} columns (the width of X), got {extra.shape[1]}")
            pool_rows = np.vstack([pool_rows, extra])
        sklearn.utils.multiclass.check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size > 2:
            raise ValueError(f"Only binary classification is supported. y must hold two classes, got "
                             f"{self.classes_.size}: {self.classes_[:5].tolist()}")
        if self.classes_.size < 2:
            raise ValueError(f"y must hold two classes, got 1 class: {self.classes_.tolist()}")
        signed = np.where(y == self.classes_[1], 1.0, -1.0)
        center = np.vstack([X, pool_rows]).mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        Xc, pool = X - center, (pool_rows - center if pool_rows.shape[0] else None)
        self.choice_ = None
        w_s = None if isinstance(self.source, list) else self._source_classifier(X.shape[1])
        if isinstance(self.source, list):  # several sources: fine-tune towards the mixture W alpha_ at scale 1
            w_s, scale = self._mixture(Xc, signed, pool, gamma), 1.0
        elif w_s is None:
            self.alpha_ = scale = 0.0
            w_s = np.zeros(X.shape[1])
        elif isinstance(self.alpha, str) and self.alpha == "auto":
            self.choice_ = choose_alpha(w_s, Xc, signed, unlabelled=pool, gamma=gamma, covariance=self.covariance,
                                        bootstrap=self.bootstrap, confidence=self.confidence,
                                        random_state=self.random_state)
            self.alpha_ = scale = self.choice_.alpha
        else:
            if isinstance(self.alpha, str):
                raise ValueError(f"alpha must be 'auto' or a number, got {self.alpha!r}")
            self.alpha_ = scale = check_finite_float("alpha", self.alpha)
        with jax.enable_x64(True):
            parts = fit_affine(w_s, Xc, signed, gamma)
            coef = np.asarray(parts.target_part) + scale * np.asarray(parts.source_part)
        self.coef_ = coef[None, :]
        self.intercept_ = np.array([-(center @ coef)])
        return self

    def _mixture(self, Xc, signed, pool, gamma):
        """Several sources: sets `alpha_` (chosen or given, (K,)) and `choice_`, returns the mixture `W alpha_`."""
        W = check_sources(self.source, Xc.shape[1])
        if isinstance(self.alpha, str) and self.alpha == "auto":
            self.choice_ = choose_alpha(list(W.T), Xc, signed, unlabelled=pool, gamma=gamma,
                                        covariance=self.covariance, bootstrap=self.bootstrap,
                                        confidence=self.confidence, random_state=self.random_state)
            self.alpha_ = self.choice_.alpha
        else:
            if isinstance(self.alpha, str):
                raise ValueError(f"alpha must be 'auto' or {W.shape[1]} numbers (one per source), got {self.alpha!r}")
            alpha = np.asarray(self.alpha, dtype=np.float64)
            if alpha.shape != (W.shape[1],) or not np.all(np.isfinite(alpha)):
                raise ValueError(f"alpha must be 'auto' or {W.shape[1]} finite numbers (one per source), got "
                                 f"shape {alpha.shape}")
            self.alpha_ = alpha
        return W @ self.alpha_

    def _source_classifier(self, p: int):
        """`w_s` (p,) from `source`, or None without one."""
        if self.source is None:
            return None
        source = self.source
        if isinstance(source, (SourceStats, TargetStats)):
            raise TypeError(f"source must be a classifier w_s or source data (X_s, y_s), got a "
                            f"{type(source).__name__} (choose_alpha takes SourceStats; a classifier needs w_s)")
        if isinstance(source, tuple) and len(source) == 2 and self.fit_intercept:
            X_s = np.asarray(source[0], dtype=np.float64)
            source = (X_s - X_s.mean(axis=0) if X_s.ndim == 2 else X_s, source[1])
        return np.asarray(resolve_source(source, p, check_positive_float("source_gamma", self.source_gamma)).vector)

    def decision_function(self, X):
        """`X w_alpha + intercept`: positive for `classes_[1]`.

        Args:
            X: (m, p) rows.

        Returns:
            (m,) decision values.
        """
        sklearn.utils.validation.check_is_fitted(self)
        X = sklearn.utils.validation.validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        """`classes_[1]` where the decision is positive, else `classes_[0]`.

        Args:
            X: (m, p) rows.

        Returns:
            (m,) predicted labels.
        """
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]
