"""One engine: the estimators take the route of the public functions and give the
same numbers, to 1e-12 (in practice to the last bit)."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg

pytest.importorskip("sklearn")
from sklearn.model_selection import KFold  # noqa: E402

from jaxreg import estimators as je  # noqa: E402

STEPS = je.FISTA_STEPS_PER_ITER


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))


@pytest.fixture(scope="module")
def data():
    X, y = make_data(80, 12, rho=0.4, seed=21)
    sw = np.random.default_rng(21).uniform(0.5, 2.0, len(y))
    return X, y, sw


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_lasso_and_elastic_net_equal_their_path(data, l1_ratio):
    X, y, sw = data
    kw = dict(tol=1e-7, sample_weight=sw, positive=l1_ratio < 1)
    model = je.ElasticNet(alpha=0.03, l1_ratio=l1_ratio, tol=1e-7, max_iter=500)
    model.set_params(positive=l1_ratio < 1).fit(X, y, sample_weight=sw)
    path = jaxreg.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=[0.03], max_iter=500 * STEPS, **kw
    )
    _close(model.coef_, path.coefs[0])
    _close(model.intercept_, path.intercepts[0])
    assert model.dual_gap_ == path.gaps[0] and model.n_iter_ == path.n_iter[0]


def test_lasso_cv_equals_cv_path(data):
    X, y, _ = data
    model = je.LassoCV(cv=4, alphas=12, tol=1e-7, max_iter=500).fit(X, y)
    res = jaxreg.cv_path(X, y, cv=4, alphas=12, tol=1e-7, max_iter=500 * STEPS)
    _close(model.alphas_, res.alphas)
    _close(model.mse_path_, res.mse_path)
    assert model.alpha_ == res.alpha_min
    _close(model.coef_, res.coef_min)
    # a splitter gives the folds of the same integer
    split = jaxreg.cv_path(X, y, cv=KFold(4), alphas=12, tol=1e-7)
    _close(split.mse_path, jaxreg.cv_path(X, y, cv=4, alphas=12, tol=1e-7).mse_path)


def test_ridge_equals_ridge_path(data):
    X, y, sw = data
    model = je.Ridge(alpha=3.0).fit(X, y, sample_weight=sw)
    path = jaxreg.ridge_path(X, y, alphas=[3.0 / sw.sum()], sample_weight=sw)
    _close(model.coef_, path.coefs[0])
    _close(model.intercept_, path.intercepts[0])


def test_ridge_cv_equals_ridge_loo(data):
    X, y, _ = data
    alphas = np.array([30.0, 3.0, 0.3])
    model = je.RidgeCV(alphas=alphas).fit(X, y)
    loo = jaxreg.ridge_loo(X, y, alphas=alphas / len(y))
    assert model.alpha_ == alphas[np.argmin(loo)]
    _close(model.best_score_, -loo.min())
