"""The scikit-learn estimators give scikit-learn's answers and behave like them."""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from conftest import make_data  # noqa: E402
from scipy.optimize import nnls  # noqa: E402
from sklearn import linear_model as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from jaxreg import estimators as je  # noqa: E402
from jaxreg.cv import cv_path  # noqa: E402
from jaxreg.path import ConvergenceWarning as PathConvergenceWarning  # noqa: E402

TIGHT = dict(tol=1e-14, max_iter=100_000)
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def synthetic():
    return make_data(120, 15, rho=0.3, seed=1)


def assert_coef(actual, expected):
    """1e-6 relative to the largest coefficient (the issue's parity bar)."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        actual, expected, rtol=0, atol=1e-6 * max(np.abs(expected).max(), 1e-12)
    )


@pytest.mark.parametrize("dataset", ["diabetes", "synthetic"])
@pytest.mark.parametrize(
    "name, params",
    [
        ("Lasso", dict(alpha=0.1)),
        ("ElasticNet", dict(alpha=0.02, l1_ratio=0.3)),
        ("Lasso", dict(alpha=0.05, positive=True, fit_intercept=False)),
    ],
)
def test_lasso_and_elastic_net_match_sklearn(request, dataset, name, params):
    X, y = request.getfixturevalue(dataset)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    for weights in (None, sw):
        ours = getattr(je, name)(**params, **TIGHT).fit(X, y, sample_weight=weights)
        theirs = getattr(sk, name)(**params, **TIGHT).fit(X, y, sample_weight=weights)
        assert_coef(ours.coef_, theirs.coef_)
        np.testing.assert_allclose(
            ours.intercept_, theirs.intercept_, rtol=1e-7, atol=1e-8 * np.abs(y).max()
        )
        assert isinstance(ours.n_iter_, int) and ours.n_iter_ >= 1
        s = np.ones(len(y)) if weights is None else weights / weights.mean()
        yc = y - np.average(y, weights=s) if params.get("fit_intercept", True) else y
        assert abs(ours.dual_gap_) <= 1e-14 * np.mean(s * yc**2) * 1.01
        np.testing.assert_allclose(
            ours.predict(X), theirs.predict(X), rtol=0, atol=1e-6 * np.abs(y).max()
        )


def test_ridge_matches_sklearn(diabetes, synthetic):
    X, y = synthetic
    sw = np.random.default_rng(1).uniform(0.0, 3.0, len(y))  # raw: sum != n
    for weights in (None, sw, 2.5):
        ours = je.Ridge(alpha=3.0).fit(X, y, sample_weight=weights)
        theirs = sk.Ridge(alpha=3.0).fit(X, y, sample_weight=weights)
        assert_coef(ours.coef_, theirs.coef_)
        np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9)
    Y = np.c_[y, X[:, 0] - X[:, 1]]
    ours = je.Ridge(alpha=[0.5, 20.0], fit_intercept=False).fit(X, Y)
    theirs = sk.Ridge(alpha=[0.5, 20.0], fit_intercept=False).fit(X, Y)
    assert ours.coef_.shape == (2, X.shape[1])
    assert_coef(ours.coef_, theirs.coef_)
    Xd, yd = diabetes
    assert_coef(
        je.Ridge(alpha=1e-3).fit(Xd, yd).coef_, sk.Ridge(alpha=1e-3).fit(Xd, yd).coef_
    )


def test_positive_ridge_is_non_negative_least_squares(synthetic):
    # min ||yc - Xc w||² + a||w||², w >= 0, is NNLS on [Xc; √a·I], [yc; 0].
    X, y = synthetic
    a = 5.0
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    p = X.shape[1]
    w, _ = nnls(np.vstack([Xc, np.sqrt(a) * np.eye(p)]), np.r_[yc, np.zeros(p)])
    model = je.Ridge(alpha=a, positive=True, tol=1e-13).fit(X, y)
    assert_coef(model.coef_, w)
    assert model.solver_ == "lbfgs" and model.n_iter_[0] >= 1  # scikit-learn's
    with pytest.raises(ValueError, match=r"solver='svd' does not support positive"):
        je.Ridge(positive=True, solver="svd").fit(X, y)


def test_lasso_cv_matches_sklearn_on_the_same_folds(diabetes):
    X, y = diabetes
    folds = KFold(5)
    ours = je.LassoCV(cv=folds, **TIGHT).fit(X, y)
    theirs = sk.LassoCV(cv=folds, **TIGHT).fit(X, y)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-12)
    assert ours.mse_path_.shape == theirs.mse_path_.shape == (100, 5)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    assert_coef(ours.coef_, theirs.coef_)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-7)
    assert not hasattr(ours, "l1_ratio_")


def test_lasso_cv_weights_and_shuffled_folds_match_sklearn(synthetic):
    X, y = synthetic
    sw = np.random.default_rng(2).uniform(0.2, 2.0, len(y))
    folds = KFold(4, shuffle=True, random_state=0)
    params = dict(cv=folds, alphas=20, **TIGHT)
    ours = je.LassoCV(**params).fit(X, y, sample_weight=sw)
    theirs = sk.LassoCV(**params).fit(X, y, sample_weight=sw)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    assert_coef(ours.coef_, theirs.coef_)


@pytest.mark.parametrize("positive", [False, True])
def test_eps_one_is_a_grid_at_alpha_max(positive):
    """scikit-learn's ``LassoCV(alphas=1, eps=1)``: the one alpha is alpha_max
    (weights, positive and sparse X included), where every coefficient is 0,
    and just below it one is not."""
    sparse = pytest.importorskip("scipy.sparse")
    X = np.array([[3.0, -1.0], [2.0, -5.0], [5.0, -3.0], [1.0, -4.0]])
    y = X @ np.array([1.0, -2.0])
    w = np.array([1.0, 10.0, 1.0, 10.0])
    for data in (X, sparse.csc_matrix(X)):
        kw = dict(alphas=1, eps=1, cv=2, positive=positive)
        mine = je.ElasticNetCV(**kw).fit(data, y, sample_weight=w)
        theirs = sk.ElasticNetCV(**kw).fit(X, y, sample_weight=w)
        # alpha_max is one product and a max: equal to rounding
        np.testing.assert_allclose(mine.alpha_, theirs.alpha_, rtol=1e3 * EPS)
        assert (mine.coef_ == 0).all()
        below = je.ElasticNet(alpha=0.99 * mine.alpha_, positive=positive, tol=1e-8)
        assert np.abs(below.fit(data, y, sample_weight=w).coef_).max() > 0


def test_elastic_net_cv_with_a_list_of_l1_ratios(synthetic):
    X, y = synthetic
    params = dict(l1_ratio=[0.2, 0.6, 1.0], cv=4, alphas=20, **TIGHT)
    ours = je.ElasticNetCV(**params).fit(X, y)
    theirs = sk.ElasticNetCV(**params).fit(X, y)
    assert ours.mse_path_.shape == theirs.mse_path_.shape == (3, 20, 4)
    assert ours.alphas_.shape == theirs.alphas_.shape == (3, 20)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    assert (ours.l1_ratio_, ours.alpha_) == (
        theirs.l1_ratio_,
        pytest.approx(theirs.alpha_),
    )
    assert_coef(ours.coef_, theirs.coef_)
    with pytest.raises(
        ValueError,
        match=r"automatic alpha grid is not available "
        r"for l1_ratio=0",
    ):
        je.ElasticNetCV(l1_ratio=[0.0, 0.5]).fit(X, y)


def test_selection_rule_1se(synthetic):
    X, y = synthetic
    model = je.LassoCV(cv=4, alphas=20, selection_rule="1se").fit(X, y)
    res = cv_path(X, y, cv=4, alphas=20, tol=1e-4, max_iter=10_000)
    assert model.alpha_ == pytest.approx(res.alpha_1se, rel=1e-12)
    assert res.alpha_1se > res.alpha_min
    np.testing.assert_allclose(model.coef_, res.coef_1se, rtol=1e-6, atol=1e-9)
    assert model.mse_se_.shape == (20,)
    enet = je.ElasticNetCV(
        l1_ratio=[0.5, 1.0], cv=4, alphas=20, selection_rule="1se"
    ).fit(X, y)
    assert (
        enet.alpha_
        >= je.ElasticNetCV(l1_ratio=[0.5, 1.0], cv=4, alphas=20).fit(X, y).alpha_
    )


def test_ridge_cv_leave_one_out_matches_sklearn(diabetes, synthetic):
    X, y = diabetes
    alphas = np.logspace(-4, 2, 13)
    ours = je.RidgeCV(alphas=alphas).fit(X, y)
    theirs = sk.RidgeCV(alphas=alphas).fit(X, y)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    assert_coef(ours.coef_, theirs.coef_)

    X, y = synthetic
    sw = np.random.default_rng(3).uniform(0.5, 2.0, len(y))
    Y = np.c_[y, 3.0 * X[:, 2] + np.random.default_rng(4).normal(size=len(y))]
    alphas = np.logspace(-2, 3, 11)
    cases = [
        dict(fit=(X, y, sw), params={}),
        dict(fit=(X, Y, None), params=dict(alpha_per_target=True)),
        dict(fit=(X, y, sw), params=dict(store_cv_results=True)),
        dict(
            fit=(X, Y, sw),
            params=dict(scoring="neg_mean_absolute_error", store_cv_results=True),
        ),
    ]
    for case in cases:
        Xf, yf, w = case["fit"]
        ours = je.RidgeCV(alphas=alphas, **case["params"]).fit(Xf, yf, sample_weight=w)
        theirs = sk.RidgeCV(alphas=alphas, **case["params"]).fit(
            Xf, yf, sample_weight=w
        )
        np.testing.assert_array_equal(ours.alpha_, theirs.alpha_)
        np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=1e-9)
        assert_coef(ours.coef_, theirs.coef_)
        if "store_cv_results" in case["params"]:
            np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-8)


def test_ridge_cv_k_fold_matches_sklearn(synthetic):
    X, y = synthetic
    n = len(y)
    alphas = [0.01, 1.0, 30.0, 300.0, 3000.0]
    sw = np.random.default_rng(5).uniform(0.5, 2.0, n)
    for folds, w in [(5, None), (KFold(3, shuffle=True, random_state=1), sw)]:
        ours = je.RidgeCV(alphas=alphas, cv=folds).fit(
            X[: n - 1], y[: n - 1], sample_weight=None if w is None else w[: n - 1]
        )
        theirs = sk.RidgeCV(alphas=alphas, cv=folds).fit(
            X[: n - 1], y[: n - 1], sample_weight=None if w is None else w[: n - 1]
        )
        assert ours.alpha_ == theirs.alpha_
        assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
        assert_coef(ours.coef_, theirs.coef_)
    ours = je.RidgeCV(alphas=alphas, cv=4, scoring="neg_mean_squared_error").fit(X, y)
    theirs = sk.RidgeCV(alphas=alphas, cv=4, scoring="neg_mean_squared_error").fit(X, y)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)


def test_two_dimensional_y_fits_each_target(synthetic):
    X, y = synthetic
    Y = np.c_[y, X[:, 3] - 2.0 * X[:, 4], -y]
    both = je.ElasticNet(alpha=0.05, l1_ratio=0.7, **TIGHT).fit(X, Y)
    assert both.coef_.shape == (3, X.shape[1]) and both.intercept_.shape == (3,)
    assert both.dual_gap_.shape == (3,) and len(both.n_iter_) == 3
    for t in range(3):
        one = je.ElasticNet(alpha=0.05, l1_ratio=0.7, **TIGHT).fit(X, Y[:, t])
        np.testing.assert_allclose(both.coef_[t], one.coef_, rtol=1e-7, atol=1e-10)
    assert both.predict(X).shape == Y.shape
    column = je.Lasso(alpha=0.1).fit(X, y[:, None])
    assert column.coef_.shape == (X.shape[1],) and column.predict(X).shape == y.shape


@pytest.mark.parametrize(
    "name", ["Lasso", "ElasticNet", "Ridge", "RidgeCV", "MultiTaskLasso"]
)
@pytest.mark.parametrize("targets", [None, 1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_intercept_has_sklearns_shape(synthetic, name, targets, fit_intercept):
    """``intercept_`` as scikit-learn stores it: a float for 1-D y, one per
    target for 2-D y, and the float 0.0 without an intercept, whatever y."""
    X, y = synthetic
    if name.startswith("MultiTask") and targets is None:
        targets = 1
    Y = y if targets is None else np.c_[tuple(y * (t + 1) for t in range(targets))]
    kw = {} if name == "RidgeCV" else dict(alpha=0.1)
    ours = getattr(je, name)(fit_intercept=fit_intercept, **kw).fit(X, Y)
    theirs = getattr(sk, name)(fit_intercept=fit_intercept, **kw).fit(X, Y)
    assert np.shape(ours.intercept_) == np.shape(theirs.intercept_)
    assert isinstance(ours.intercept_, float) == isinstance(theirs.intercept_, float)
    if not fit_intercept:
        assert ours.intercept_ == 0.0
    assert ours.predict(X).shape == theirs.predict(X).shape


def test_convergence_warning_states_gap_tol_and_remedy(diabetes):
    X, y = diabetes
    match = (
        r"did not converge for alpha=.*duality gap .* > tol 1e-12.* after .* "
        r"FISTA steps \(max_iter=1 allows 10\)\. Increase max_iter, loosen tol"
    )
    with pytest.warns(ConvergenceWarning, match=match):
        je.Lasso(alpha=1e-3, tol=1e-12, max_iter=1).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="LassoCV did not converge"):
        # small alphas only: one step of any solver leaves them short
        je.LassoCV(cv=3, alphas=[1e-4, 1e-5], tol=1e-12, max_iter=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PathConvergenceWarning)
        je.Lasso(alpha=0.1).fit(X, y)


def test_pipeline_grid_search_clone_and_pickle(synthetic):
    X, y = synthetic
    pipe = make_pipeline(StandardScaler(), je.LassoCV(cv=4, alphas=20)).fit(X, y)
    assert pipe.score(X, y) > 0.5
    grid = {"alpha": [0.01, 0.1, 1.0]}
    ours = GridSearchCV(je.Lasso(**TIGHT), grid, cv=3).fit(X, y)
    theirs = GridSearchCV(sk.Lasso(**TIGHT), grid, cv=3).fit(X, y)
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"],
        theirs.cv_results_["mean_test_score"],
        rtol=1e-6,
    )
    model = je.ElasticNet(alpha=0.2, l1_ratio=0.4, positive=True)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_fitted_attributes_are_numpy(synthetic):
    X, y = synthetic
    fitted = [
        je.Lasso(alpha=0.1).fit(X, y),
        je.Ridge().fit(X, y),
        je.LassoCV(cv=4, alphas=20).fit(X, y),
        je.RidgeCV().fit(X, y),
    ]
    for model in fitted:
        for name, value in vars(model).items():
            if name.endswith("_") and hasattr(value, "shape"):
                assert isinstance(value, (np.ndarray, np.generic)), (model, name)
    assert isinstance(fitted[2].mse_path_, np.ndarray)
    assert fitted[0].sparse_coef_.shape == (1, X.shape[1])


def test_float32_input_gives_float32_attributes(synthetic):
    X, y = synthetic
    model = je.Lasso(alpha=0.1).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    assert model.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        model.coef_, je.Lasso(alpha=0.1).fit(X, y).coef_, rtol=1e-4, atol=1e-5
    )


def test_compatibility_parameters_change_nothing(synthetic):
    X, y = synthetic
    base = je.ElasticNet(alpha=0.05, **TIGHT).fit(X, y).coef_
    for params in (
        dict(precompute=True),
        dict(selection="random", random_state=0),
        dict(warm_start=True),
        dict(copy_X=False),
    ):
        coef = je.ElasticNet(alpha=0.05, **TIGHT, **params).fit(X, y).coef_
        np.testing.assert_allclose(coef, base, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize(
    "model, error, match",
    [
        (
            je.Lasso(alpha=-1.0),
            ValueError,
            r"alpha must be finite and >= 0, got -1\.0\.",
        ),
        (je.Lasso(alpha="big"), TypeError, r"alpha must be a real number, got 'big'\."),
        (
            je.ElasticNet(l1_ratio=1.5),
            ValueError,
            r"l1_ratio must be in \[0, 1\], "
            r"got 1\.5\.",
        ),
        (
            je.Lasso(max_iter=0),
            ValueError,
            r"max_iter must be a positive integer, got 0\.",
        ),
        (
            je.Lasso(selection="best"),
            ValueError,
            r"selection must be one of \('cyclic', 'random'\), got 'best'\.",
        ),
        (
            je.Lasso(precompute=np.eye(2)),
            ValueError,
            r"precompute must be True, "
            r"False, 'auto' or a Gram matrix",
        ),
        (
            je.LassoCV(selection_rule="2se"),
            ValueError,
            r"selection_rule must be one "
            r"of \('min', '1se'\)",
        ),
        (je.LassoCV(eps=0.0), ValueError, r"eps must be finite and > 0, got 0\.0\."),
        (je.ElasticNetCV(l1_ratio=[]), ValueError, r"l1_ratio must not be empty"),
        (je.Ridge(solver="magic"), ValueError, r"solver must be one of"),
        (
            je.Ridge(solver="lbfgs"),
            ValueError,
            r"'lbfgs' solver can be used only "
            r"when positive=True",
        ),
        (
            je.Ridge(alpha=[1.0, 2.0, 3.0]),
            ValueError,
            r"alpha must be a float or have "
            r"one value per target \(1\), "
            r"got 3 values\.",
        ),
        (
            je.RidgeCV(alphas=[1.0, 0.0]),
            ValueError,
            r"alphas\[1\] must be > 0 with "
            r"cv=None \(leave-one-out\), got "
            r"0\.0\.",
        ),
        (
            je.RidgeCV(cv=3, store_cv_results=True),
            ValueError,
            r"cv!=None and store_cv_results=True are incompatible",
        ),
        (je.RidgeCV(gcv_mode="qr"), ValueError, r"gcv_mode must be one of"),
    ],
)
def test_bad_parameters(synthetic, model, error, match):
    X, y = synthetic
    with pytest.raises(error, match=match):
        model.fit(X, y)


def test_bad_sample_weight(synthetic):
    X, y = synthetic
    with pytest.raises(
        ValueError,
        match=r"sample_weight must be non-negative, got "
        r"sample_weight\[0\] = -1\.0\.",
    ):
        je.Lasso().fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(y) - 1)])
    with pytest.raises(
        ValueError,
        match=r"sample_weight must have shape \(120,\), "
        r"got shape \(3,\)\.",
    ):
        je.Ridge().fit(X, y, sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"sample_weight must not be all zero"):
        je.LassoCV().fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("name", ["ElasticNet", "MultiTaskElasticNet"])
def test_warm_start_starts_from_the_previous_coef(name):
    import jaxreg

    cls = getattr(jaxreg, name)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 15)) + 1.0
    Y = X[:, :3] @ rng.normal(size=(3, 2)) + rng.normal(size=(120, 2))
    y = Y if cls is jaxreg.MultiTaskElasticNet else Y[:, 0]
    cold = cls(alpha=0.05, tol=1e-8).fit(X, y)
    warm = cls(alpha=0.1, tol=1e-8, warm_start=True).fit(X, y)
    warm.set_params(alpha=0.05).fit(X, y)  # from the alpha=0.1 solution
    again = cls(alpha=0.05, tol=1e-8, warm_start=True).fit(X, y)
    again.fit(X, y)  # from its own solution: nothing to do
    assert again.n_iter_ == 1  # the first gap check
    assert warm.n_iter_ < cold.n_iter_
    # the same problem: with the ridge part's strong convexity mu, a point whose
    # gap is g lies within sqrt(2g/mu) of the optimum
    mu = 0.05 * (1 - 0.5)
    for m in (warm, again):
        d = np.linalg.norm(m.coef_ - cold.coef_)
        gaps = np.maximum([cold.dual_gap_, m.dual_gap_], 0.0)  # rounding: < 0
        bound = np.sqrt(2 * gaps / mu).sum()
        assert d <= bound
