"""jaxreg.tune: the CV error it descends is cv_path's, its gradient agrees with
central finite differences of that error, and the descent lowers it."""

import numpy as np
import pytest

import jaxreg
from jaxreg import reference

TOL = 1e-10  # the folds' gap target, before each support's exact solve


def _data(n, p, seed, k=3, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + rng.normal(size=p)
    w = np.zeros(p)
    w[:k] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(1.0, 2.0, size=k)
    return X, X @ w + noise * rng.normal(size=n) + 0.5


def _cv_error(X, y, alpha, pf=None, **kw):
    """cv_path's mean held-out MSE at one alpha (the independent computation)."""
    res = jaxreg.cv_path(X, y, alphas=[alpha], penalty_factor=pf, tol=1e-12, **kw)
    return float(res.mse_mean[0])


def _start(X, y, r=1.0):
    return 0.1 * jaxreg.alpha_max(X, y, l1_ratio=max(r, 1e-3))


# (n, p, l1_ratio): Gram form (tall), design form (wide), the elastic net, ridge
CASES = [(80, 6, 1.0), (30, 50, 1.0), (80, 6, 0.5), (80, 6, 0.0)]


@pytest.mark.parametrize("n, p, r", CASES)
def test_alpha_gradient_is_the_derivative_of_cv_paths_error(n, p, r):
    X, y = _data(n, p, 1)
    a = _start(X, y, r)
    kw = dict(cv=4, l1_ratio=r, tol=TOL, steps=0)
    res = jaxreg.tune(X, y, alpha=a, **kw)
    # the error at the start is cv_path's (folds, weights, centring)
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, cv=4, l1_ratio=r), rtol=1e-9
    )
    # central differences in log alpha (the error is smooth on a fixed support;
    # the O(h²) truncation at h = 1e-4 is far below 1e-6 of the gradient)
    h = 1e-4
    up = jaxreg.tune(X, y, alpha=a * np.exp(h), **kw).loss_path[0]
    down = jaxreg.tune(X, y, alpha=a * np.exp(-h), **kw).loss_path[0]
    fd = (up - down) / (2 * h)
    assert abs(res.grad_path[0]) > 1e-6 * res.loss_path[0]  # not a flat point
    np.testing.assert_allclose(res.grad_path[0], fd, rtol=1e-6)


@pytest.mark.parametrize("n, p", [(80, 6), (30, 50)])
def test_penalty_factor_gradient_matches_central_differences(n, p):
    X, y = _data(n, p, 2)
    a = _start(X, y)
    rng = np.random.default_rng(5)
    pf = rng.uniform(0.5, 2.0, size=p)
    kw = dict(cv=4, params="penalty_factor", alpha=a, tol=TOL, steps=0)
    res = jaxreg.tune(X, y, penalty_factor=pf, **kw)
    g = res.grad_path[0]
    # a random direction in log-factor space: the directional derivative
    v = rng.normal(size=p)
    h = 1e-4
    up = jaxreg.tune(X, y, penalty_factor=pf * np.exp(h * v), **kw).loss_path[0]
    down = jaxreg.tune(X, y, penalty_factor=pf * np.exp(-h * v), **kw).loss_path[0]
    fd = (up - down) / (2 * h)
    np.testing.assert_allclose(g @ v, fd, rtol=1e-6)
    # the error at the start is cv_path's with these factors
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, pf, cv=4), rtol=1e-9
    )


def test_alpha_descent_finds_the_grid_minimum():
    X, y = _data(120, 6, 3, k=2, noise=3.0)
    grid = jaxreg.cv_path(X, y, cv=4, alphas=200, tol=1e-10)
    res = jaxreg.tune(X, y, cv=4, steps=60, tol=TOL)
    assert res.converged and res.fold_certified.all()
    assert res.cv_mse < res.loss_path[0]
    # it stopped early: the best error fell by less than rtol over 10 steps
    best = np.minimum.accumulate(res.loss_path)
    assert res.n_steps < 60 and best[-1] >= best[-11] * (1 - 1e-4)
    assert best[-2] < best[-12] * (1 - 1e-4)  # and not a step before
    # a 200-point grid over three decades: neighbours 3.5% apart; the descent's
    # minimum is no worse than the grid's best point (up to the stopping rule's
    # rtol), nor far from it
    assert res.cv_mse <= grid.mse_mean.min() * (1 + 1e-4)
    assert abs(np.log(res.alpha / grid.alpha_min)) < np.log(1.2)
    # the final model is the fit on all the data at the tuned alpha
    path = jaxreg.lasso_path(X, y, alphas=[res.alpha], tol=1e-12)
    scale = np.abs(path.coefs).max()
    np.testing.assert_allclose(res.coef, path.coefs[0], atol=1e-7 * scale)
    np.testing.assert_allclose(res.predict(X), X @ res.coef + res.intercept)


@pytest.mark.parametrize("n, p", [(120, 6), (30, 50)])
def test_ridge_starts_at_half_its_degrees_of_freedom_and_finds_the_grid_minimum(n, p):
    X, y = _data(n, p, 12, k=2, noise=3.0)
    res = jaxreg.tune(X, y, l1_ratio=0.0, cv=4, steps=60, tol=TOL)
    # the start: effective df = half the rank of the centred X
    rank = min(p, n - 1)
    a0 = res.alpha_path[0]
    d = np.linalg.svd(X - X.mean(0), compute_uv=False) ** 2 / n
    d = d[d > 1e-12 * d.max()]
    assert d.size == rank
    np.testing.assert_allclose(np.sum(d / (d + a0)), rank / 2, rtol=1e-9)
    grid = jaxreg.cv_path(X, y, l1_ratio=0.0, cv=4, alphas=np.geomspace(
        1e3 * a0, 1e-4 * a0, 200))  # fmt: skip
    assert res.converged
    assert res.cv_mse <= grid.mse_mean.min() * (1 + 1e-4)


def test_penalty_factor_descent_lowers_the_error_and_penalizes_noise():
    X, y = _data(150, 6, 4, k=2)
    start = jaxreg.cv_path(X, y, cv=4, tol=1e-10)
    res = jaxreg.tune(
        X, y, cv=4, params="penalty_factor", alpha=start.alpha_min, steps=40,
        tol=TOL, patience=None,
    )  # fmt: skip
    assert res.converged
    assert res.cv_mse < 0.99 * res.loss_path[0]
    assert res.alpha == start.alpha_min
    # the noise features' factors grow against the signal's
    assert np.median(res.penalty_factor[2:]) > 2 * np.median(res.penalty_factor[:2])
    # the trajectory and the best step
    assert res.penalty_factor_path.shape == (41, 6)
    assert res.loss_path[res.best_step] == res.cv_mse == res.loss_path.min()
    np.testing.assert_allclose(
        res.penalty_factor_path[res.best_step], res.penalty_factor
    )
    # the final fit is certified by the NumPy reference
    gap = reference.duality_gap(
        X, y, res.coef, res.intercept, res.alpha, penalty_factor=res.penalty_factor
    )
    assert gap <= TOL * np.var(y)
    assert "penalty factors" in res.summary()


def test_sample_weights_and_overlapping_folds_are_cv_paths():
    X, y = _data(60, 6, 6)
    rng = np.random.default_rng(7)
    sw = rng.uniform(0.2, 2.0, size=60)
    a = _start(X, y)
    res = jaxreg.tune(X, y, alpha=a, sample_weight=sw, cv=4, steps=0, tol=TOL)
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, cv=4, sample_weight=sw), rtol=1e-9
    )
    # folds that are not a partition: samples in two training sets, some in none
    idx = np.arange(60)
    folds = [(np.r_[idx[:15 * k], idx[15 * k + 15:]], idx[15 * k:15 * k + 15])
             for k in range(4)]  # fmt: skip
    folds[0] = (idx[25:], idx[:15])
    res = jaxreg.tune(X, y, alpha=a, cv=folds, steps=0, tol=TOL)
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, cv=folds), rtol=1e-9
    )


@pytest.mark.parametrize("n, p", [(80, 6), (30, 50)])
def test_standardize_is_cv_paths(n, p):
    X, y = _data(n, p, 10)
    X = X * np.geomspace(0.1, 10.0, p)  # columns in very different units
    a = 0.1 * jaxreg.alpha_max(X, y, standardize=True)
    res = jaxreg.tune(X, y, alpha=a, cv=4, standardize=True, steps=0, tol=TOL)
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, cv=4, standardize=True), rtol=1e-9
    )
    path = jaxreg.lasso_path(X, y, alphas=[a], standardize=True, tol=1e-12)
    scale = np.abs(path.coefs).max()
    np.testing.assert_allclose(res.coef, path.coefs[0], atol=1e-7 * scale)
    np.testing.assert_allclose(res.intercept, path.intercepts[0], atol=1e-7 * scale)


def test_optimizer_and_no_intercept():
    import optax

    X, y = _data(80, 6, 8)
    res = jaxreg.tune(
        X, y, cv=4, steps=3, optimizer=optax.sgd(1e-3), fit_intercept=False
    )
    assert res.loss_path.shape == (4,) and res.alpha_path.shape == (4,)
    # plain gradient descent: the first step is -lr·gradient in log alpha
    np.testing.assert_allclose(
        np.log(res.alpha_path[1] / res.alpha_path[0]), -1e-3 * res.grad_path[0]
    )
    a = res.alpha_path[0]
    np.testing.assert_allclose(
        res.loss_path[0], _cv_error(X, y, a, cv=4, fit_intercept=False), rtol=1e-7
    )


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(params="beta"), "params"),
        (dict(alpha=-1.0), "alpha"),
        (dict(steps=-1), "steps"),
        (dict(patience=0), "patience"),
        (dict(rtol=-1.0), "rtol"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(optimizer="adam"), "optimizer"),
        (dict(l1_ratio=2.0), "l1_ratio"),
        (dict(cv=1), "cv"),
    ],
)
def test_bad_arguments_are_named(kw, match):
    X, y = _data(20, 3, 9)
    with pytest.raises((ValueError, TypeError), match=match):
        jaxreg.tune(X, y, **kw)


def test_sparse_input_is_refused_clearly():
    sp = pytest.importorskip("scipy.sparse")
    X, y = _data(20, 3, 9)
    with pytest.raises(TypeError, match="dense"):
        jaxreg.tune(sp.csr_matrix(X), y)
