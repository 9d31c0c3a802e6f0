"""Tests of the NumPy reference solvers against scikit-learn and first principles."""

import warnings

import numpy as np
import pytest
from conftest import exact_ridge_loo
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, Ridge, RidgeCV
from sklearn.linear_model import enet_path as sk_enet_path

from jaxreg import reference

TOL = 1e-14


@pytest.fixture(scope="module")
def data():
    X, y, _ = reference.make_regression(
        80, 12, n_informative=5, noise=1.0, correlation=0.3, seed=3
    )
    X[:, 1] = 3.0 * X[:, 1] + 1.0  # uneven scales and means
    y = y + 2.0
    return X, y


def _sklearn_path(X, y, alphas, *, l1_ratio, fit_intercept=True, positive=False):
    """sklearn's path on (centred) data, as (k, p) coefficients and intercepts."""
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), y.mean()
    else:
        x_mean, y_mean = np.zeros(X.shape[1]), 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, coefs, _ = sk_enet_path(
            X - x_mean,
            y - y_mean,
            l1_ratio=l1_ratio,
            alphas=alphas,
            tol=1e-15,
            max_iter=1_000_000,
            positive=positive,
        )
    coefs = coefs.T
    return coefs, y_mean - coefs @ x_mean


def _kkt_violation(X, y, coef, intercept, alpha, l1_ratio, lower, upper):
    """Largest violation of the optimality conditions (unit weights, no scaling)."""
    n = X.shape[0]
    r = y - X @ coef - intercept
    grad = -(X.T @ r) / n + alpha * (1 - l1_ratio) * coef  # smooth part
    a = alpha * l1_ratio
    viol = np.zeros_like(coef)
    at_low = coef <= lower
    at_up = coef >= upper
    inside = ~at_low & ~at_up
    nz = inside & (coef != 0)
    viol[nz] = np.abs(grad[nz] + a * np.sign(coef[nz]))
    z = inside & (coef == 0)
    viol[z] = np.maximum(np.abs(grad[z]) - a, 0)
    # At a bound only the direction into the box must not decrease P.
    # At the lower bound (w = l <= 0): need grad + a*sign >= 0 for moving up.
    low_sub = np.where(coef < 0, -a, a)
    viol[at_low] = np.maximum(-(grad[at_low] + low_sub[at_low]), 0)
    up_sub = np.where(coef > 0, a, -a)
    viol[at_up] = np.maximum(grad[at_up] + up_sub[at_up], 0)
    return viol.max(), abs(r.mean())


# --------------------------------------------------------------------------- #
# Paths against scikit-learn
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.2])
def test_path_matches_sklearn(data, l1_ratio, fit_intercept):
    X, y = data
    grid = reference.alpha_grid(
        X, y, n_alphas=15, eps=1e-3, l1_ratio=l1_ratio, fit_intercept=fit_intercept
    )
    res = reference.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=grid, fit_intercept=fit_intercept, tol=TOL
    )
    assert res["converged"].all()
    np.testing.assert_allclose(res["alphas"], grid)
    coefs, intercepts = _sklearn_path(
        X, y, grid, l1_ratio=l1_ratio, fit_intercept=fit_intercept
    )
    np.testing.assert_allclose(res["coefs"], coefs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res["intercepts"], intercepts, rtol=1e-6, atol=1e-8)
    for i, alpha in enumerate(grid):
        kw = dict(l1_ratio=l1_ratio, fit_intercept=fit_intercept)
        ours = reference.objective(
            X, y, res["coefs"][i], res["intercepts"][i], alpha, **kw
        )
        theirs = reference.objective(X, y, coefs[i], intercepts[i], alpha, **kw)
        assert ours <= theirs + 1e-12 * abs(theirs)
        assert ours == pytest.approx(theirs, rel=1e-10)
    if not fit_intercept:
        assert np.all(res["intercepts"] == 0)


def test_lasso_path_is_enet_path_with_l1_ratio_one(data):
    X, y = data
    a = reference.lasso_path(X, y, alphas=8, tol=TOL)
    b = reference.enet_path(X, y, l1_ratio=1.0, alphas=8, tol=TOL)
    np.testing.assert_array_equal(a["coefs"], b["coefs"])
    c = reference.enet_path(X, y, l1_ratio=0.5, alphas=a["alphas"], tol=TOL)
    assert not np.allclose(a["coefs"][1:], c["coefs"][1:])
    with pytest.raises(TypeError):
        reference.lasso_path(X, y, l1_ratio=0.5)


def test_positive_matches_sklearn(data):
    X, y = data
    grid = reference.alpha_grid(X, y, n_alphas=12, positive=True)
    res = reference.lasso_path(X, y, alphas=grid, positive=True, tol=TOL)
    assert res["converged"].all()
    assert np.all(res["coefs"] >= 0)
    coefs, intercepts = _sklearn_path(X, y, grid, l1_ratio=1.0, positive=True)
    np.testing.assert_allclose(res["coefs"], coefs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res["intercepts"], intercepts, rtol=1e-6, atol=1e-8)
    # Positivity is binding: the unconstrained path differs.
    free = reference.lasso_path(X, y, alphas=grid, tol=TOL)
    assert np.any(free["coefs"] < -1e-3)


def test_alpha_grid_matches_sklearn(data):
    X, y = data
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    for l1_ratio in (1.0, 0.3):
        sk_alphas, _, _ = sk_enet_path(Xc, yc, l1_ratio=l1_ratio, alphas=30, eps=1e-2)
        ours = reference.alpha_grid(X, y, n_alphas=30, eps=1e-2, l1_ratio=l1_ratio)
        np.testing.assert_allclose(ours, sk_alphas, rtol=1e-12)
    sk_alphas, _, _ = sk_enet_path(Xc, yc, l1_ratio=1.0, alphas=5, positive=True)
    ours = reference.alpha_grid(X, y, n_alphas=5, positive=True)
    np.testing.assert_allclose(ours, sk_alphas, rtol=1e-12)


# --------------------------------------------------------------------------- #
# Duality gap
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_duality_gap_equals_sklearn_dual_gap(data, fit_intercept):
    # sklearn's cd_fast gap is n times ours; Lasso divides it by n_samples, so
    # Lasso.dual_gap_ equals duality_gap() exactly (same dual point).
    X, y = data
    amax = reference.alpha_max(X, y, fit_intercept=fit_intercept)
    checked = 0
    for frac, tol in [(0.3, 1e-1), (0.1, 1e-2), (0.02, 1e-3), (0.05, 1e-6)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = Lasso(
                alpha=frac * amax, tol=tol, fit_intercept=fit_intercept, max_iter=3
            ).fit(X, y)
        ours = reference.duality_gap(
            X,
            y,
            model.coef_,
            model.intercept_,
            frac * amax,
            fit_intercept=fit_intercept,
        )
        assert ours == pytest.approx(model.dual_gap_, rel=1e-9, abs=1e-15)
        checked += model.dual_gap_ > 1e-6
    assert checked >= 2  # the comparison involved sizeable gaps


def test_path_gaps_are_valid_and_certified(data):
    X, y = data
    tol = 1e-9
    for l1_ratio in (1.0, 0.5):
        res = reference.enet_path(X, y, l1_ratio=l1_ratio, alphas=20, tol=tol)
        yy = np.mean((y - y.mean()) ** 2)
        assert res["converged"].all()
        assert np.all(res["gaps"] >= 0)
        assert np.all(res["gaps"] <= tol * yy)
        for i, alpha in enumerate(res["alphas"]):
            gap = reference.duality_gap(
                X, y, res["coefs"][i], res["intercepts"][i], alpha, l1_ratio=l1_ratio
            )
            assert 0 <= gap <= tol * yy
            assert gap == pytest.approx(res["gaps"][i], abs=1e-14 * yy)


GAP_CASES = [
    dict(l1_ratio=1.0),
    dict(l1_ratio=0.4, fit_intercept=False),
    dict(l1_ratio=0.7, standardize=True),
    dict(l1_ratio=1.0, positive=True),
    dict(l1_ratio=0.5, lower_limits=-0.2, upper_limits=0.5),
    dict(l1_ratio=1.0, penalty_factor=np.r_[0.0, 0.0, np.ones(10)]),
    dict(l1_ratio=0.8, sample_weight=np.linspace(0.0, 2.0, 80), standardize=True),
]


@pytest.mark.parametrize("kw", GAP_CASES)
def test_duality_gap_bounds_suboptimality(data, kw):
    # For any feasible point: objective(point) - objective(opt) <= gap(point).
    X, y = data
    alpha = 0.2 * reference.alpha_max(X, y, **kw)
    res = reference.enet_path(X, y, alphas=[alpha], tol=TOL, **kw)
    assert res["converged"][0]
    w_opt, b_opt = res["coefs"][0], res["intercepts"][0]
    p_opt = reference.objective(X, y, w_opt, b_opt, alpha, **kw)
    assert reference.duality_gap(X, y, w_opt, b_opt, alpha, **kw) <= 1e-12
    lower = np.broadcast_to(kw.get("lower_limits", -np.inf), w_opt.shape)
    upper = np.broadcast_to(kw.get("upper_limits", np.inf), w_opt.shape)
    if kw.get("positive"):
        lower = np.maximum(lower, 0.0)
    rng = np.random.default_rng(0)
    intercept_ok = kw.get("fit_intercept", True)
    for scale in (1e-4, 1e-2, 0.3, 3.0):
        for _ in range(5):
            w = np.clip(w_opt + scale * rng.standard_normal(w_opt.size), lower, upper)
            b = b_opt + scale * rng.standard_normal() if intercept_ok else 0.0
            subopt = reference.objective(X, y, w, b, alpha, **kw) - p_opt
            gap = reference.duality_gap(X, y, w, b, alpha, **kw)
            assert subopt >= -1e-12
            assert gap >= subopt - 1e-12
            # And the bound is informative, not infinite.
            assert np.isfinite(gap)
    # Infeasible points.
    if np.isfinite(upper).any():
        w = w_opt.copy()
        w[np.isfinite(upper)] = upper[np.isfinite(upper)] + 1.0
        assert reference.duality_gap(X, y, w, b_opt, alpha, **kw) == np.inf
        assert reference.objective(X, y, w, b_opt, alpha, **kw) == np.inf


def test_duality_gap_tight_with_unpenalized_features(data):
    # Unpenalized features do not spoil the gap at the optimum, and a wrong
    # intercept costs exactly its loss excess.
    X, y = data
    pf = np.r_[0.0, 0.0, np.ones(10)]
    alpha = 0.1 * reference.alpha_max(X, y, penalty_factor=pf)
    res = reference.lasso_path(X, y, alphas=[alpha], penalty_factor=pf, tol=TOL)
    w, b = res["coefs"][0], res["intercepts"][0]
    assert reference.duality_gap(X, y, w, b, alpha, penalty_factor=pf) < 1e-13
    gap = reference.duality_gap(X, y, w, b + 0.5, alpha, penalty_factor=pf)
    assert gap == pytest.approx(0.5 * 0.5**2, rel=1e-9)


# --------------------------------------------------------------------------- #
# alpha_max, penalty factors, weights, standardization, limits
# --------------------------------------------------------------------------- #
ALPHA_MAX_CASES = [
    dict(),
    dict(l1_ratio=0.5),
    dict(fit_intercept=False),
    dict(standardize=True),
    dict(positive=True),
    dict(upper_limits=0.0),
    dict(sample_weight=np.r_[np.zeros(10), np.ones(70) * 2.0]),
    dict(penalty_factor=np.r_[0.0, 2.0, np.ones(10)]),
    dict(penalty_factor=np.r_[0.0, 2.0, np.ones(10)], lower_limits=np.zeros(12)),
]


@pytest.mark.parametrize("kw", ALPHA_MAX_CASES)
def test_alpha_max_is_the_threshold(data, kw):
    X, y = data
    kw = dict(kw)
    l1_ratio = kw.pop("l1_ratio", 1.0)
    amax = reference.alpha_max(X, y, l1_ratio=l1_ratio, **kw)
    assert amax > 0
    res = reference.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=[amax, 0.99 * amax], tol=TOL, **kw
    )
    assert res["converged"].all()
    penalized = np.ones(X.shape[1], dtype=bool)
    if "penalty_factor" in kw:
        penalized = kw["penalty_factor"] > 0
    np.testing.assert_array_equal(res["coefs"][0][penalized], 0.0)
    assert np.count_nonzero(res["coefs"][1][penalized]) >= 1


def test_alpha_max_with_boxed_unpenalized_feature():
    # A nonnegative unpenalized feature whose least-squares value is negative
    # sits at 0 in the null model; alpha_max must account for that.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 4))
    y = -2.0 * X[:, 0] + X[:, 1] + 0.1 * rng.standard_normal(60)
    pf = np.array([0.0, 1.0, 1.0, 1.0])
    amax = reference.alpha_max(X, y, penalty_factor=pf, positive=True)
    res = reference.lasso_path(
        X, y, alphas=[amax, 0.99 * amax], penalty_factor=pf, positive=True, tol=TOL
    )
    assert res["coefs"][0, 0] == 0.0  # the constraint is active
    np.testing.assert_array_equal(res["coefs"][0][1:], 0.0)
    assert np.count_nonzero(res["coefs"][1][1:]) >= 1
    # Ignoring the box would give a different threshold.
    assert amax != pytest.approx(reference.alpha_max(X, y, penalty_factor=pf))


def test_penalty_factor_zero_keeps_feature(data):
    X, y = data
    y = y + 0.5 * X[:, 4]  # make sure the unpenalized feature matters
    pf = np.ones(X.shape[1])
    pf[4] = 0.0
    res = reference.lasso_path(X, y, alphas=20, penalty_factor=pf, tol=TOL)
    assert res["converged"].all()
    assert np.all(res["coefs"][:, 4] != 0)
    np.testing.assert_array_equal(np.delete(res["coefs"][0], 4), 0.0)
    # At the top of the grid it is the least-squares coefficient of feature 4.
    x4 = X[:, 4] - X[:, 4].mean()
    ls = x4 @ (y - y.mean()) / (x4 @ x4)
    assert res["coefs"][0, 4] == pytest.approx(ls, rel=1e-10)
    # Penalty factors act as a column rescaling: pf_j = c^-1 <=> x_j * c.
    pf2 = np.ones(X.shape[1])
    pf2[2] = 0.5
    alphas = res["alphas"][5:10]
    a = reference.lasso_path(X, y, alphas=alphas, penalty_factor=pf2, tol=TOL)
    Xs = X.copy()
    Xs[:, 2] *= 2.0
    b = reference.lasso_path(Xs, y, alphas=alphas, tol=TOL)
    b["coefs"][:, 2] *= 2.0
    np.testing.assert_allclose(a["coefs"], b["coefs"], rtol=1e-8, atol=1e-10)


def test_sample_weight_two_equals_duplicated_row(data):
    X, y = data
    sw = np.ones(len(y))
    sw[[0, 7]] = 2.0
    Xd = np.vstack([X, X[[0, 7]]])
    yd = np.r_[y, y[[0, 7]]]
    for kw in (dict(l1_ratio=0.6), dict(l1_ratio=1.0, standardize=True)):
        a = reference.enet_path(X, y, sample_weight=sw, alphas=10, tol=TOL, **kw)
        b = reference.enet_path(Xd, yd, alphas=10, tol=TOL, **kw)
        np.testing.assert_allclose(a["alphas"], b["alphas"], rtol=1e-12)
        np.testing.assert_allclose(a["coefs"], b["coefs"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a["intercepts"], b["intercepts"], rtol=1e-8)
        # Unit weights would not give this answer.
        c = reference.enet_path(X, y, alphas=a["alphas"], tol=TOL, **kw)
        assert not np.allclose(a["coefs"], c["coefs"], atol=1e-4)
    # Only relative weights matter.
    a = reference.lasso_path(X, y, sample_weight=sw, alphas=5, tol=TOL)
    b = reference.lasso_path(X, y, sample_weight=7 * sw, alphas=5, tol=TOL)
    np.testing.assert_allclose(a["coefs"], b["coefs"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_standardize_equals_manual_standardization(data, fit_intercept):
    X, y = data
    X = X.copy()
    # Constant column: scale 1 and coefficient 0 with an intercept, even though
    # its weighted mean is not exactly 4.0 in floating point.
    X[:, 5] = 4.0
    sw = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    s = sw * len(y) / sw.sum()
    centre = s @ X / len(y) if fit_intercept else np.zeros(X.shape[1])
    scale = np.sqrt(s @ (X - centre) ** 2 / len(y))
    scale[scale < 1e-12] = 1.0
    lower = np.full(X.shape[1], -np.inf)
    lower[0] = -0.05
    kw = dict(l1_ratio=0.7, fit_intercept=fit_intercept, sample_weight=sw, tol=TOL)
    std = reference.enet_path(
        X, y, alphas=12, standardize=True, lower_limits=lower, **kw
    )
    manual = reference.enet_path(
        X / scale, y, alphas=std["alphas"], lower_limits=lower * scale, **kw
    )
    np.testing.assert_allclose(
        std["coefs"], manual["coefs"] / scale, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(std["intercepts"], manual["intercepts"], rtol=1e-8)
    assert np.all(std["coefs"][:, 0] >= -0.05)
    if fit_intercept:
        np.testing.assert_array_equal(std["coefs"][:, 5], 0.0)
        # Also in the unpenalized limit, with and without a box.
        for positive in (False, True):
            ls = reference.enet_path(
                X, y, alphas=[0.0], standardize=True, positive=positive, **kw
            )
            assert ls["converged"][0]
            assert abs(ls["coefs"][0, 5]) < 1e-12
    # Standardization changes the answer here.
    plain = reference.enet_path(X, y, alphas=std["alphas"], lower_limits=lower, **kw)
    assert not np.allclose(plain["coefs"], std["coefs"], atol=1e-4)


def test_box_constraints_respected_and_kkt(data):
    X, y = data
    p = X.shape[1]
    lower = np.full(p, -0.3)
    lower[::3] = -np.inf
    upper = np.full(p, 0.4)
    upper[1::4] = np.inf
    for l1_ratio in (1.0, 0.5):
        res = reference.enet_path(
            X,
            y,
            l1_ratio=l1_ratio,
            alphas=15,
            lower_limits=lower,
            upper_limits=upper,
            tol=TOL,
        )
        assert res["converged"].all()
        coefs = res["coefs"]
        assert np.all(coefs >= lower) and np.all(coefs <= upper)
        assert np.any(coefs == upper) and np.any(coefs == lower)  # binding
        for i, alpha in enumerate(res["alphas"]):
            viol, mean_resid = _kkt_violation(
                X, y, coefs[i], res["intercepts"][i], alpha, l1_ratio, lower, upper
            )
            assert viol < 1e-7
            assert mean_resid < 1e-10


def test_alpha_zero_is_least_squares(data):
    X, y = data
    res = reference.lasso_path(X, y, alphas=[1.0, 0.0], tol=TOL)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    ls = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    np.testing.assert_allclose(res["coefs"][1], ls, rtol=1e-10)
    assert res["alphas"][1] == 0.0 and res["converged"][1]
    assert 0 <= res["gaps"][1] < 1e-14
    # With positivity it is nonnegative least squares (checked through KKT).
    res = reference.lasso_path(X, y, alphas=[0.0], positive=True, tol=TOL)
    assert res["converged"][0]
    viol, _ = _kkt_violation(
        X, y, res["coefs"][0], res["intercepts"][0], 0.0, 1.0, 0.0, np.inf
    )
    assert viol < 1e-7
    assert np.any(res["coefs"][0] == 0)


def test_constant_response_gives_resolution_grid(data):
    X, _ = data
    y = np.full(X.shape[0], 0.1)
    grid = reference.alpha_grid(X, y, n_alphas=7)
    np.testing.assert_array_equal(grid, np.full(7, np.finfo(float).resolution))
    res = reference.lasso_path(X, y, alphas=7)
    np.testing.assert_array_equal(res["coefs"], 0.0)
    np.testing.assert_allclose(res["intercepts"], 0.1)
    assert res["converged"].all()


def test_nonconvergence_is_reported(data):
    X, y = data
    X = X.copy()
    X[:, 3] = X[:, 2] + 1e-3 * X[:, 3]  # ill conditioned
    res = reference.lasso_path(X, y, alphas=5, max_iter=1, tol=1e-15)
    assert not res["converged"].all()
    assert np.all(res["n_iter"] <= 1)
    bad = ~res["converged"]
    yy = np.mean((y - y.mean()) ** 2)
    assert np.all(res["gaps"][bad] > 1e-15 * yy)


def test_enet_path_large_problem_fast_and_certified():
    # Equicorrelated designs take plain cyclic coordinate descent thousands of
    # sweeps per alpha; the path must still be certified at a tight tolerance.
    X, y, _ = reference.make_glmnet_design(400, 60, rho=0.5, seed=1)
    res = reference.enet_path(X, y, l1_ratio=1.0, alphas=30, tol=1e-12)
    assert res["converged"].all()
    assert res["n_iter"].sum() < 30 * 200


# --------------------------------------------------------------------------- #
# Objective and input validation
# --------------------------------------------------------------------------- #
def test_objective_formula(data):
    X, y = data
    rng = np.random.default_rng(1)
    w = rng.standard_normal(X.shape[1])
    sw = rng.uniform(0.5, 2.0, len(y))
    pf = rng.uniform(0.0, 2.0, X.shape[1])
    s = sw * len(y) / sw.sum()
    r = y - X @ w - 0.7
    sd = np.sqrt(s @ (X - s @ X / len(y)) ** 2 / len(y))
    v = w * sd
    expected = s @ r**2 / (2 * len(y)) + 0.3 * (
        0.25 * pf @ np.abs(v) + 0.75 / 2 * pf @ v**2
    )
    got = reference.objective(
        X,
        y,
        w,
        0.7,
        0.3,
        l1_ratio=0.25,
        standardize=True,
        sample_weight=sw,
        penalty_factor=pf,
    )
    assert got == pytest.approx(expected, rel=1e-12)
    # Box violation and an intercept without fit_intercept are infeasible.
    assert reference.objective(X, y, np.abs(w) + 1, 0.0, 0.3, positive=True) < np.inf
    assert reference.objective(X, y, w, 0.0, 0.3, positive=True) == np.inf
    assert reference.objective(X, y, w, 0.7, 0.3, fit_intercept=False) == np.inf


def test_input_validation(data):
    X, y = data
    with pytest.raises(ValueError, match="shape mismatch"):
        reference.enet_path(X, y[:-1])
    with pytest.raises(ValueError, match="alphas"):
        reference.enet_path(X, y, alphas=[0.1, -1.0])
    with pytest.raises(ValueError, match="alphas"):
        reference.ridge_path(X, y, alphas=[-1.0])
    with pytest.raises(ValueError, match="l1_ratio"):
        reference.enet_path(X, y, l1_ratio=0.0)
    with pytest.raises(ValueError, match="sample_weight"):
        reference.enet_path(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="penalty_factor"):
        reference.alpha_max(X, y, penalty_factor=np.ones(3))
    with pytest.raises(ValueError, match="lower_limits"):
        reference.enet_path(X, y, lower_limits=0.5)
    with pytest.raises(ValueError, match="coef"):
        reference.duality_gap(X, y, np.zeros(3), 0.0, 0.1)


# --------------------------------------------------------------------------- #
# Ridge
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("two_d", [False, True])
def test_ridge_path_matches_sklearn(data, fit_intercept, weighted, two_d):
    X, y = data
    n = len(y)
    if two_d:
        y = np.c_[y, -2.0 * y + X[:, 0], X[:, 3]]
    sw = np.random.default_rng(2).uniform(0.2, 3.0, n) if weighted else None
    alphas = np.array([0.01, 1.0, 0.1, 10.0])
    res = reference.ridge_path(
        X, y, alphas=alphas, fit_intercept=fit_intercept, sample_weight=sw
    )
    np.testing.assert_array_equal(res["alphas"], np.sort(alphas)[::-1])
    total = n if sw is None else sw.sum()
    for i, alpha in enumerate(res["alphas"]):
        model = Ridge(alpha=total * alpha, fit_intercept=fit_intercept, tol=1e-12)
        model.fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(res["coefs"][i], model.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            res["intercepts"][i], model.intercept_, rtol=1e-9, atol=1e-12
        )
    shape = (4, 3, X.shape[1]) if two_d else (4, X.shape[1])
    assert res["coefs"].shape == shape


def test_ridge_minimizes_objective_and_alpha_zero_is_lstsq(data):
    X, y = data
    pf = np.r_[0.0, 0.5, np.ones(10)]
    res = reference.ridge_path(X, y, alphas=[0.5, 0.0], penalty_factor=pf)
    # alpha = 0 is (minimum-norm) least squares on centred data.
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    ls = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    np.testing.assert_allclose(res["coefs"][1], ls, rtol=1e-10)
    assert res["intercepts"][1] == pytest.approx(y.mean() - X.mean(axis=0) @ ls)
    # alpha > 0 with an unpenalized feature: zero gradient, minimal objective.
    w, b = res["coefs"][0], res["intercepts"][0]
    grad = -X.T @ (y - X @ w - b) / len(y) + 0.5 * pf * w
    assert np.abs(grad).max() < 1e-12
    p0 = reference.objective(X, y, w, b, 0.5, l1_ratio=0.0, penalty_factor=pf)
    gap = reference.duality_gap(X, y, w, b, 0.5, l1_ratio=0.0, penalty_factor=pf)
    assert 0 <= gap < 1e-13
    w2 = w + 1e-3
    assert reference.objective(X, y, w2, b, 0.5, l1_ratio=0.0, penalty_factor=pf) > p0


def test_ridge_penalty_factor_is_column_rescaling(data):
    # Penalty p_j on w_j equals the unit penalty on x_j / sqrt(p_j).
    X, y = data
    pf = np.linspace(0.2, 3.0, X.shape[1])
    alphas = [2.0, 0.1]
    a = reference.ridge_path(X, y, alphas=alphas, penalty_factor=pf)
    b = reference.ridge_path(X / np.sqrt(pf), y, alphas=alphas)
    np.testing.assert_allclose(a["coefs"], b["coefs"] / np.sqrt(pf), rtol=1e-10)
    np.testing.assert_allclose(a["intercepts"], b["intercepts"], rtol=1e-10)
    assert not np.allclose(
        a["coefs"], reference.ridge_path(X, y, alphas=alphas)["coefs"]
    )


def test_ridge_alpha_zero_rank_deficient_is_min_norm():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 15))
    y = rng.standard_normal(10)
    res = reference.ridge_path(X, y, alphas=[0.0], fit_intercept=False)
    np.testing.assert_allclose(res["coefs"][0], np.linalg.pinv(X) @ y, rtol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_loo_mse_matches_ridgecv(data, fit_intercept):
    X, y = data
    X, y = X[:40], y[:40]
    n = len(y)
    alphas = np.array([0.05, 0.5, 5.0])
    ours = reference.ridge_loo_mse(X, y, alphas=alphas, fit_intercept=fit_intercept)
    cv = RidgeCV(
        alphas=n * alphas, fit_intercept=fit_intercept, store_cv_results=True
    ).fit(X, y)
    np.testing.assert_allclose(ours, cv.cv_results_.mean(axis=0), rtol=1e-8)
    # Order follows the input.
    rev = reference.ridge_loo_mse(X, y, alphas=alphas[::-1], fit_intercept=True)
    if fit_intercept:
        np.testing.assert_allclose(rev, ours[::-1], rtol=1e-12)
    # Multi-target: the mean over samples and targets.
    Y = np.c_[y, X[:, 0] - y]
    ours2 = reference.ridge_loo_mse(X, Y, alphas=alphas, fit_intercept=fit_intercept)
    cv2 = RidgeCV(
        alphas=n * alphas, fit_intercept=fit_intercept, store_cv_results=True
    ).fit(X, Y)
    np.testing.assert_allclose(ours2, cv2.cv_results_.mean(axis=(0, 1)), rtol=1e-8)


# --------------------------------------------------------------------------- #
# Data generators
# --------------------------------------------------------------------------- #
def test_make_glmnet_design():
    X, y, coef = reference.make_glmnet_design(20000, 30, rho=0.5, snr=3.0, seed=0)
    j = np.arange(1, 31)
    np.testing.assert_allclose(coef, (-1.0) ** j * np.exp(-2 * (j - 1) / 20))
    assert coef[0] == -1.0 and coef[1] > 0
    corr = np.corrcoef(X, rowvar=False)[np.triu_indices(30, 1)]
    assert abs(corr.mean() - 0.5) < 0.02
    assert np.allclose(X.std(axis=0), 1.0, atol=0.03)
    signal = X @ coef
    snr = signal.std() / (y - signal).std()
    assert snr == pytest.approx(3.0, rel=0.05)
    X2, y2, _ = reference.make_glmnet_design(20000, 30, rho=0.5, snr=1.0, seed=0)
    assert (X2 @ coef).std() / (y2 - X2 @ coef).std() == pytest.approx(1.0, rel=0.05)
    again = reference.make_glmnet_design(20000, 30, rho=0.5, snr=3.0, seed=0)
    np.testing.assert_array_equal(again[1], y)


def test_make_regression():
    X, y, coef = reference.make_regression(
        5000, 8, n_informative=3, noise=0.5, correlation=0.2, seed=7
    )
    assert X.shape == (5000, 8) and y.shape == (5000,)
    assert np.count_nonzero(coef) == 3
    assert np.all((np.abs(coef[coef != 0]) >= 1) & (np.abs(coef[coef != 0]) <= 3))
    assert (y - X @ coef).std() == pytest.approx(0.5, rel=0.05)
    corr = np.corrcoef(X, rowvar=False)[np.triu_indices(8, 1)]
    assert abs(corr.mean() - 0.2) < 0.05
    _, _, dense = reference.make_regression(10, 8, seed=7)
    assert np.count_nonzero(dense) == 8
    other = reference.make_regression(5000, 8, n_informative=3, seed=8)
    assert not np.array_equal(other[0], X)


def test_ridge_loo_is_exact_at_tiny_alpha_on_wide_data():
    # p > n and alpha -> 0: the normal equations lose about log10(1/alpha) digits
    # (the reference once did, 1e-6 off at alpha = 1e-9); the SVD does not.
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 9)) + 0.5
    y = X @ rng.normal(size=9) + rng.normal(size=6)
    for alpha in (1e-9, 1e-4):
        exact = exact_ridge_loo(X, y, alpha)
        got = reference.ridge_loo_mse(X, y, alphas=[alpha])[0]
        sv = np.linalg.svd(X - X.mean(0), compute_uv=False)
        cond = sv[0] / sv[sv > sv[0] * 1e-12][-1]
        assert abs(got - exact) <= 64 * np.finfo(float).eps * cond**2 * exact
