"""AlphaLoRAClassifier: scikit-learn's estimator checks, the fitted classifier against the closed form, choose_alpha
inside, Pipeline and GridSearchCV."""

import numpy as np
import pytest
import sklearn.model_selection
import sklearn.pipeline
import sklearn.preprocessing
from sklearn.utils.estimator_checks import parametrize_with_checks

from rmt_alpha import choose_alpha
from rmt_alpha.simulate._reference import make_gaussian_mixture
from rmt_alpha.sklearn import AlphaLoRAClassifier

P = 30
MU_T = np.r_[1.0, 0.6, np.zeros(P - 2)]
W_S = np.r_[0.6, 0.0, 0.2, np.zeros(P - 3)]


# Every check of scikit-learn 1.9 applies to the default estimator (no source: the ridge classifier on centred
# features) and passes, the binary-only ones through the multi_class = False tag. With a source classifier the
# width of w_s is fixed, so the checks that change the number of features would not apply; the fit itself is the
# same code path, tested below against the closed form.
@parametrize_with_checks([AlphaLoRAClassifier(), AlphaLoRAClassifier(alpha=1.0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture
def data():
    X, y = make_gaussian_mixture(40, MU_T, random_state=0)
    U = make_gaussian_mixture(300, MU_T, random_state=1)[0]
    X_test, y_test = make_gaussian_mixture(2000, MU_T, random_state=2)
    return X + 3.0, y, U + 3.0, X_test + 3.0, y_test   # an offset the centring removes


def test_a_fixed_alpha_is_the_closed_form_on_centred_rows(data):
    X, y, U, *_ = data
    clf = AlphaLoRAClassifier(W_S, alpha=1.7, gamma=0.5).fit(X, y, unlabelled=U)
    center = np.vstack([X, U]).mean(0)
    Xc = X - center
    w = np.linalg.solve(Xc.T @ Xc / 40 + 0.5 * np.eye(P), Xc.T @ y / 40 + 1.7 * 0.5 * W_S)
    # Cholesky in float64 against numpy's solve: rounding only
    np.testing.assert_allclose(clf.coef_[0], w, rtol=1e-9)
    np.testing.assert_allclose(clf.decision_function(X[:5]), (X[:5] - center) @ w, rtol=1e-9)


def test_auto_alpha_is_choose_alpha_and_labels_can_be_anything(data):
    X, y, U, X_test, y_test = data
    names = np.where(y > 0, "pos", "neg")
    clf = AlphaLoRAClassifier(W_S, bootstrap=50).fit(X, names, unlabelled=U)
    center = np.vstack([X, U]).mean(0)
    expected = choose_alpha(W_S, X - center, y, unlabelled=U - center, bootstrap=50)
    assert clf.alpha_ == expected.alpha and clf.choice_.reason == expected.reason
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.score(X_test, np.where(y_test > 0, "pos", "neg")) > 0.75
    assert set(clf.predict(X_test[:10])) <= {"neg", "pos"}


def test_unlabelled_rows_marked_in_y_go_through_a_pipeline(data):
    X, y, U, *_ = data
    labels = np.r_[(y > 0).astype(int), np.full(U.shape[0], -1)]
    pipeline = sklearn.pipeline.make_pipeline(sklearn.preprocessing.StandardScaler(),
                                              AlphaLoRAClassifier(W_S, unlabelled_label=-1, bootstrap=20))
    pipeline.fit(np.vstack([X, U]), labels)
    clf = pipeline[-1]
    assert list(clf.classes_) == [0, 1]
    assert "300 unlabelled target rows" in clf.choice_.sources["s"]


def test_grid_search_over_alpha_and_gamma(data):
    X, y, _, X_test, y_test = data
    search = sklearn.model_selection.GridSearchCV(AlphaLoRAClassifier(W_S),
                                                  {"alpha": [0.0, 1.0, 2.0], "gamma": [0.3, 1.0]}, cv=4)
    search.fit(X, y)
    # clone / set_params carry the parameters: the refitted candidate scores what the search recorded for it
    again = sklearn.model_selection.cross_val_score(AlphaLoRAClassifier(W_S, **search.best_params_), X, y, cv=4)
    assert again.mean() == pytest.approx(search.best_score_, abs=1e-12)
    assert 0.5 < search.score(X_test, y_test) <= 1.0


@pytest.mark.parametrize("kwargs, fit_y, message", [
    ({"alpha": "best"}, None, "alpha must be 'auto' or a number"),
    ({"gamma": 0.0}, None, "gamma must be a finite number > 0"),
    ({}, "three", "Only binary classification is supported"),
    ({"source": np.ones(P - 1)}, None, r"source \(the classifier w_s\) must have length 30"),
])
def test_bad_settings_name_the_parameter(data, kwargs, fit_y, message):
    X, y, *_ = data
    if fit_y == "three":
        y = np.arange(y.size) % 3
    with pytest.raises((ValueError, TypeError), match=message):
        AlphaLoRAClassifier(**{"source": W_S, **kwargs}).fit(X, y)


def test_several_sources_fit_the_mixture(data):
    """`source=[w_1, w_2]`: a fixed alpha vector is the closed form towards `W alpha`; "auto" is `choose_alpha` with
    the list (a `SourcesChoice`); a wrong number of alphas names the parameter."""
    X, y, U, X_test, y_test = data
    W_2 = np.r_[0.0, 0.5, np.zeros(P - 2)]
    clf = AlphaLoRAClassifier([W_S, W_2], alpha=[1.2, 0.8], gamma=0.5).fit(X, y, unlabelled=U)
    center = np.vstack([X, U]).mean(0)
    Xc = X - center
    w = np.linalg.solve(Xc.T @ Xc / 40 + 0.5 * np.eye(P), Xc.T @ y / 40 + 0.5 * (1.2 * W_S + 0.8 * W_2))
    np.testing.assert_allclose(clf.coef_[0], w, rtol=1e-9)
    auto = AlphaLoRAClassifier([W_S, W_2], bootstrap=50).fit(X, y, unlabelled=U)
    expected = choose_alpha([W_S, W_2], Xc, y, unlabelled=U - center, bootstrap=50)
    np.testing.assert_array_equal(auto.alpha_, expected.alpha)
    assert auto.choice_.reason == expected.reason and auto.score(X_test, y_test) > 0.75
    with pytest.raises(ValueError, match=r"alpha must be 'auto' or 2 finite numbers \(one per source\)"):
        AlphaLoRAClassifier([W_S, W_2], alpha=1.0).fit(X, y)
