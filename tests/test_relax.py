"""The relaxed lasso: refits on each alpha's support, blended by gamma."""

import numpy as np
import pytest

import jaxreg
from jaxreg import reference as ref


@pytest.fixture(scope="module")
def data():
    X, y, _ = ref.make_glmnet_design(80, 12, rho=0.4, seed=11)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=80)
    return X, y, w


def test_refit_is_least_squares_on_the_support(data):
    X, y, w = data
    pen = jaxreg.lasso_path(X, y, alphas=10, sample_weight=w, tol=1e-10)
    rel = jaxreg.lasso_path(X, y, alphas=10, sample_weight=w, tol=1e-10, relax=True)
    assert rel.gamma == 0.0
    for k in range(10):
        S = np.flatnonzero(pen.coefs[k])
        sw = w / w.sum()
        xm, ym = sw @ X, sw @ y
        A = (X[:, S] - xm[S]) * np.sqrt(sw)[:, None]
        b = (y - ym) * np.sqrt(sw)
        ls = np.linalg.lstsq(A, b, rcond=None)[0] if S.size else np.zeros(0)
        # both are least squares on a well-conditioned support: they agree to
        # rounding amplified by its condition number
        cond = np.linalg.cond(A) if S.size else 1.0
        atol = 1e3 * cond**2 * np.finfo(float).eps * max(1.0, np.abs(ls).max(initial=0))
        np.testing.assert_allclose(rel.coefs[k, S], ls, atol=atol)
        assert (rel.coefs[k, np.setdiff1d(np.arange(12), S)] == 0).all()
        assert rel.intercepts[k] == pytest.approx(ym - xm[S] @ ls, abs=atol * 10)
    # gaps and flags still certify the penalized solutions
    np.testing.assert_array_equal(rel.gaps, pen.gaps)


def test_gamma_blends(data):
    X, y, _ = data
    pen = jaxreg.lasso_path(X, y, alphas=6)
    one = jaxreg.lasso_path(X, y, alphas=6, relax=True, gamma=1.0)
    np.testing.assert_allclose(one.coefs, pen.coefs)
    zero = jaxreg.lasso_path(X, y, alphas=6, relax=True)
    half = jaxreg.enet_path(X, y, l1_ratio=1.0, alphas=6, relax=True, gamma=0.5)
    np.testing.assert_allclose(half.coefs, 0.5 * (pen.coefs + zero.coefs))
    np.testing.assert_allclose(
        half.intercepts, 0.5 * (pen.intercepts + zero.intercepts)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(relax=True, gamma=1.5), "gamma must be"),
        (dict(relax=True, family="poisson"), "gaussian family"),
        (dict(relax=True, positive=True), "no box limits"),
        (dict(relax="yes"), "relax must be True or False"),
    ],
)
def test_errors(data, kwargs, match):
    X, y, _ = data
    y = np.abs(y) if kwargs.get("family") else y
    with pytest.raises((ValueError, TypeError), match=match):
        jaxreg.lasso_path(X, y, alphas=3, **kwargs)


def test_relaxed_cv_chooses_alpha_and_gamma(data):
    X, y, w = data
    res = jaxreg.cv_path(X, y, cv=4, alphas=8, relax=True, gammas=[0.0, 0.5, 1.0],
                         sample_weight=w, shuffle=True, seed=1)  # fmt: skip
    assert res.relaxed_mse_mean.shape == (3, 8)
    g, i = np.unravel_index(np.argmin(res.relaxed_mse_mean), (3, 8))
    assert (res.gamma_min, res.index_min) == ([0.0, 0.5, 1.0][g], i)
    np.testing.assert_allclose(res.mse_mean, res.relaxed_mse_mean[g])
    # gamma = 1 is the lasso's own CV error
    plain = jaxreg.cv_path(X, y, cv=4, alphas=8, sample_weight=w, shuffle=True, seed=1)
    np.testing.assert_allclose(res.relaxed_mse_mean[2], plain.mse_mean, rtol=1e-10)
    # the relaxed model at the choice blends the lasso and the refit
    gm = res.gamma_min
    expected = gm * res.path.coefs[i] + (1 - gm) * res.refit_path.coefs[i]
    np.testing.assert_allclose(res.coef_min, expected)
    assert res.index_1se <= res.index_min
    with pytest.raises(ValueError, match="gammas must be"):
        jaxreg.cv_path(X, y, cv=4, alphas=3, relax=True, gammas=[2.0])
