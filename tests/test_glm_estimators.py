"""LogisticRegression and PoissonRegressor: scikit-learn's answers, parameters and
API (check_estimator)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.linear_model import PoissonRegressor as SkPoisson
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import jaxreg


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:, :10], y


def sk_fit(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkLogistic(tol=1e-12, max_iter=100_000, **kw)


def test_binary_l2_matches_scikit_learn(cancer):
    X, y = cancer
    mine = jaxreg.LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    theirs = sk_fit(C=0.5).fit(X, y)
    assert mine.coef_.shape == (1, 10) and mine.intercept_.shape == (1,)
    # L2 makes the objective (C·n)⁻¹-strongly convex: a gap of 1e-10 of the
    # null deviance bounds the coefficients' distance by sqrt(2·gap·C·n) ~ 2e-4
    np.testing.assert_allclose(mine.coef_, theirs.coef_, atol=3e-4)
    np.testing.assert_allclose(
        mine.predict_proba(X), theirs.predict_proba(X), atol=1e-4
    )
    np.testing.assert_array_equal(mine.classes_, [0, 1])
    assert (mine.predict(X) == theirs.predict(X)).mean() > 0.99


def test_l1_and_class_weight_match_scikit_learn(cancer):
    X, y = cancer
    kw = dict(C=0.1, l1_ratio=1.0, class_weight="balanced")
    mine = jaxreg.LogisticRegression(tol=1e-10, **kw).fit(X, y)
    theirs = sk_fit(solver="saga", **kw).fit(X, y)
    np.testing.assert_allclose(mine.coef_, theirs.coef_, atol=1e-3)
    assert set(np.flatnonzero(mine.coef_)) == set(
        np.flatnonzero(np.abs(theirs.coef_) > 1e-6)
    )


def test_multiclass_is_multinomial():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    mine = jaxreg.LogisticRegression(C=1.0, tol=1e-10).fit(X, names)
    theirs = sk_fit(C=1.0).fit(X, names)
    assert mine.coef_.shape == (3, 4)
    np.testing.assert_array_equal(mine.classes_, theirs.classes_)
    np.testing.assert_allclose(
        mine.predict_proba(X), theirs.predict_proba(X), atol=1e-4
    )
    np.testing.assert_allclose(mine.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(mine.predict_log_proba(X)), mine.predict_proba(X))
    assert abs(mine.intercept_.sum()) < 1e-12
    assert (mine.predict(X) == theirs.predict(X)).all()


def test_unpenalized_and_the_deprecated_penalty(cancer):
    X, y = cancer
    X = X[:, :3]
    free = jaxreg.LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    theirs = sk_fit(C=np.inf).fit(X, y)
    np.testing.assert_allclose(free.coef_, theirs.coef_, rtol=1e-3)
    with pytest.warns(FutureWarning, match="penalty"):
        l1 = jaxreg.LogisticRegression(penalty="l1", C=0.05).fit(X, y)
    same = jaxreg.LogisticRegression(l1_ratio=1.0, C=0.05).fit(X, y)
    np.testing.assert_allclose(l1.coef_, same.coef_)


def test_sample_weight_is_repetition(cancer):
    X, y = cancer
    w = np.random.default_rng(0).integers(0, 3, size=len(y))
    a = jaxreg.LogisticRegression(C=0.3, tol=1e-10).fit(X, y, sample_weight=w)
    b = jaxreg.LogisticRegression(C=0.3, tol=1e-10).fit(
        np.repeat(X, w, 0), np.repeat(y, w)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)


def test_poisson_regressor_matches_scikit_learn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 0]))
    mine = jaxreg.PoissonRegressor(alpha=0.1, tol=1e-10).fit(X, y)
    theirs = SkPoisson(alpha=0.1, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(mine.coef_, theirs.coef_, atol=1e-5)
    assert mine.intercept_ == pytest.approx(theirs.intercept_, abs=1e-5)
    np.testing.assert_allclose(mine.predict(X), theirs.predict(X), rtol=1e-5)
    assert mine.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-6)


@pytest.mark.parametrize(
    "est, match",
    [
        (jaxreg.LogisticRegression(C=0.0), "C must be > 0"),
        (jaxreg.LogisticRegression(l1_ratio=2.0), "l1_ratio must be in"),
        (jaxreg.LogisticRegression(solver="newton"), "solver"),
        (jaxreg.PoissonRegressor(alpha=-1.0), "alpha must be finite and >= 0"),
    ],
)
def test_bad_parameters(est, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        est.fit(X, np.arange(20) % 2)


def test_poisson_refuses_negative_y():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="valid range"):
        jaxreg.PoissonRegressor().fit(X, -np.ones(20))


@pytest.mark.parametrize(
    "est",
    [jaxreg.LogisticRegression(l1_ratio=0.5), jaxreg.PoissonRegressor()],
    ids=["logistic", "poisson"],
)  # fmt: skip
def test_check_estimator(est):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est)


@pytest.mark.parametrize("legacy", [True])  # the new layout: the test below
def test_logistic_cv_matches_scikit_learn(cancer, legacy):
    from sklearn.linear_model import LogisticRegressionCV as SkCV

    X, y = cancer
    kw = dict(Cs=[0.01, 0.1, 1.0, 10.0], l1_ratios=(0.0,), scoring="neg_log_loss",
              use_legacy_attributes=legacy)  # fmt: skip
    mine = jaxreg.LogisticRegressionCV(tol=1e-10, **kw).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkCV(tol=1e-12, max_iter=10_000, **kw).fit(X, y)
    np.testing.assert_allclose(mine.C_, theirs.C_)
    np.testing.assert_allclose(mine.l1_ratio_, theirs.l1_ratio_)
    mine_scores = mine.scores_[1] if legacy else mine.scores_
    their_scores = theirs.scores_[1] if legacy else theirs.scores_
    assert np.shape(mine_scores) == np.shape(their_scores)
    np.testing.assert_allclose(mine_scores, their_scores, atol=1e-4)
    paths = (mine.coefs_paths_[1], theirs.coefs_paths_[1]) if legacy else (
        mine.coefs_paths_, theirs.coefs_paths_)  # fmt: skip
    assert paths[0].shape == paths[1].shape
    np.testing.assert_allclose(paths[0], paths[1], atol=1e-3)
    assert np.shape(mine.n_iter_) == np.shape(theirs.n_iter_)
    np.testing.assert_allclose(mine.coef_, theirs.coef_, atol=1e-3)


def test_logistic_cv_elastic_net_multiclass_and_refit_false():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = jaxreg.LogisticRegressionCV(
        Cs=3, l1_ratios=(0.5, 1.0), scoring=None, use_legacy_attributes=False,
        refit=False, cv=3,
    ).fit(X, y)  # fmt: skip
    assert est.coefs_paths_.shape == (3, 2, 3, 3, 5)
    assert est.scores_.shape == (3, 2, 3) and est.coef_.shape == (3, 4)
    best = est.scores_.reshape(3, -1).argmax(axis=1)
    np.testing.assert_allclose(est.C_, est.Cs_[best % 3].mean())
    np.testing.assert_allclose(est.l1_ratio_, np.array([0.5, 1.0])[best // 3].mean())
    assert est.score(X, y) > 0.9


def test_logistic_cv_check_estimator():
    est = jaxreg.LogisticRegressionCV(
        Cs=3, l1_ratios=(0.0,), scoring=None, use_legacy_attributes=False, cv=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est)


@pytest.mark.parametrize("kind", ["binary", "multinomial", "poisson"])
def test_warm_start_glm(kind):
    """warm_start: a second fit starts from the first's coefficients (the
    intercept refit to them) and needs fewer steps; both are certified at tol,
    so their predictions agree to about sqrt(tol) relative."""
    X, y = load_iris(return_X_y=True)
    if kind == "binary":
        y = (y == 2).astype(int)
    tol = 1e-8
    if kind == "poisson":
        y = np.round(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1])).astype(float)
        est = jaxreg.PoissonRegressor(alpha=0.05, tol=tol, warm_start=True)
    else:
        est = jaxreg.LogisticRegression(C=0.5, tol=tol, warm_start=True)
    est.fit(X, y)
    first, pred = np.asarray(est.n_iter_), est.predict(X)
    scores = est.decision_function(X) if kind != "poisson" else np.log(pred)
    est.fit(X, y)
    assert np.all(np.asarray(est.n_iter_) < first)
    again = est.decision_function(X) if kind != "poisson" else np.log(est.predict(X))
    np.testing.assert_allclose(
        again, scores, atol=10 * np.sqrt(tol) * np.abs(scores).max()
    )
