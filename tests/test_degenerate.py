"""Degenerate data gets a right answer, not a NaN or a crash."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg

X0, Y0 = make_data(60, 8, seed=2)


@pytest.mark.parametrize("sx", [1e-8, 1.0, 1e8])
@pytest.mark.parametrize("sy", [1e-8, 1e8])
@pytest.mark.parametrize("standardize", [False, True])
def test_extreme_scales_give_the_rescaled_answer(sx, sy, standardize):
    ref = jaxreg.lasso_path(X0, Y0, alphas=10, tol=1e-10, standardize=standardize)
    path = jaxreg.lasso_path(
        X0 * sx, Y0 * sy, alphas=10, tol=1e-10, standardize=standardize
    )
    assert path.converged.all()
    # alpha_max = max|x̃ᵀỹ|/n scales with sx·sy (with sy alone when standardized)
    factor = sy if standardize else sx * sy
    np.testing.assert_allclose(path.alphas, ref.alphas * factor, rtol=1e-10)
    np.testing.assert_allclose(path.coefs * sx / sy, ref.coefs, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("standardize", [False, True])
def test_constant_and_duplicated_columns(standardize):
    X = np.column_stack([X0, X0[:, 0], np.full(60, 1e8 + 0.1)])
    path = jaxreg.lasso_path(X, Y0, alphas=10, tol=1e-12, standardize=standardize)
    assert np.isfinite(path.coefs).all() and path.converged.all()
    assert (path.coefs[:, -1] == 0).all()  # constant column
    # a duplicated column shares the weight equally (the lasso's minimum-L2 choice
    # is not unique, but FISTA from zero keeps the two identical)
    np.testing.assert_allclose(path.coefs[:, 0], path.coefs[:, 8], rtol=1e-6, atol=1e-9)
    single = jaxreg.lasso_path(
        X0, Y0, alphas=path.alphas, tol=1e-12, standardize=standardize
    )
    np.testing.assert_allclose(
        path.predict(X), single.predict(X0), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("value", [0.0, 3.5])
def test_constant_y(value):
    path = jaxreg.enet_path(X0, np.full(60, value), alphas=5, standardize=True)
    assert (path.coefs == 0).all() and path.converged.all()
    np.testing.assert_allclose(path.intercepts, value)
    assert np.isfinite(path.alphas).all() and np.isfinite(path.dev_ratio).all()


def test_wide_and_collinear():
    X, y = make_data(20, 300, seed=3)
    X[:, 5] = 2 * X[:, 4] - X[:, 3]  # perfectly collinear
    path = jaxreg.lasso_path(X, y, alphas=20, tol=1e-6)
    assert path.mode == "design" and path.converged.all()
    assert path.df.max() <= 20  # the lasso selects at most n features
    ls = jaxreg.lasso_path(X, y, alphas=[0.0])
    np.testing.assert_allclose(ls.predict(X)[:, 0], y, atol=1e-8)
    np.testing.assert_allclose(
        ls.coefs[0],
        np.linalg.pinv(X - X.mean(0)) @ (y - y.mean()),
        rtol=1e-6,
        atol=1e-9,
    )


def test_alpha_far_above_alpha_max():
    path = jaxreg.lasso_path(X0, Y0, alphas=[1e12, 1e6])
    assert (path.coefs == 0).all() and (path.n_iter == 0).all()
    np.testing.assert_allclose(path.intercepts, Y0.mean())
