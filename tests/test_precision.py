"""Precision where scikit-learn is tight: at the same ``tol``, jaxreg's answers are
at least as close to the exact solution as scikit-learn's.

The exact solutions are computed here, independently of both: the support and
signs of an elastic-net solution come from the NumPy reference solver, the
linear system on that support is solved directly, and the optimality conditions
(KKT) are verified before the result is used; the positive ridge is a
non-negative least-squares problem (SciPy's active-set NNLS). Tolerances are
rounding bounds from each problem's condition number, on top of scikit-learn's
own error.
"""

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from conftest import make_data
from scipy.optimize import nnls
from sklearn.model_selection import GridSearchCV, KFold

import jaxreg
from jaxreg import reference as ref

EPS = np.finfo(np.float64).eps


def _weights(n, sample_weight):
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    return s * n / s.sum()


def _centred(X, y, s, fit_intercept):
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    xm, ym = s @ X / s.sum(), s @ y / s.sum()
    return X - xm, y - ym, xm, ym


def exact_enet(X, y, alpha, l1_ratio, *, fit_intercept=True, sample_weight=None):
    """The exact minimiser of scikit-learn's ElasticNet objective: the reference
    solver's support and signs, then the system on the support, then KKT (which
    fails loudly if the support was wrong). The reference stops at a gap of 1e-12:
    below that its gap is rounding, and it would run to max_iter."""
    n, p = X.shape
    s = _weights(n, sample_weight)
    Xc, yc, xm, ym = _centred(X, y, s, fit_intercept)
    start = ref.enet_path(
        X, y, alphas=[alpha], l1_ratio=l1_ratio, fit_intercept=fit_intercept,
        sample_weight=sample_weight, tol=1e-12, max_iter=100_000,
    )["coefs"][0]  # fmt: skip
    S = np.flatnonzero(start)
    a, b = alpha * l1_ratio, alpha * (1 - l1_ratio)
    H = (Xc[:, S].T * s) @ Xc[:, S] / n + b * np.eye(S.size)
    w = np.zeros(p)
    w[S] = np.linalg.solve(H, (Xc[:, S].T * s) @ yc / n - a * np.sign(start[S]))
    q = Xc.T @ (s * (yc - Xc @ w)) / n
    kappa = np.linalg.cond(H) if S.size else 1.0
    # The rounding bound of q's dot products: n·eps·|Xc|ᵀ·s·(|yc| + |Xc||w|)/n.
    slack = EPS * np.abs(Xc).T @ (s * (np.abs(yc) + np.abs(Xc) @ np.abs(w)))
    slack = slack + 4 * EPS * (a + b * np.abs(w))
    assert np.array_equal(np.sign(w[S]), np.sign(start[S])), "support signs"
    gap = np.abs(q[S] - a * np.sign(w[S]) - b * w[S])
    assert np.all(gap <= slack[S]), "stationary"
    off = np.setdiff1d(np.arange(p), S)
    assert np.all(np.abs(q[off]) < a - slack[off]), "a zero that should move"
    return w, ym - xm @ w, kappa


def _objective(X, y, w, b, alpha, l1_ratio, sample_weight=None):
    n = X.shape[0]
    s = _weights(n, sample_weight)
    r = y - X @ w - b
    pen = l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w
    return 0.5 * np.sum(s * r * r) / n + alpha * pen


def _fit(est, X, y, **fit_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **fit_kw)


# --------------------------------------------------------------------------- #
def exact_positive_ridge(X, y, alpha):
    """min ||yc - Xc w||² + alpha·||w||² over w >= 0: NNLS on the stacked system."""
    Xc, yc = X - X.mean(0), y - y.mean()
    A = np.vstack([Xc, np.sqrt(alpha) * np.eye(X.shape[1])])
    w, _ = nnls(A, np.r_[yc, np.zeros(X.shape[1])], maxiter=50 * X.shape[1])
    return w, np.linalg.cond(A)


@pytest.mark.parametrize("tol", [1e-10, 1e-4])
def test_positive_ridge_is_as_close_to_exact_as_sklearn(tol):
    X, _ = make_data(100, 30, rho=0.5, seed=4)
    rng = np.random.default_rng(4)
    y = X @ np.linspace(-2, 2, 30) + rng.normal(size=100)  # some want to be < 0
    alpha = 3.0
    w, kappa = exact_positive_ridge(X, y, alpha)
    assert (w == 0).any() and (w > 0).any()
    floor = 10 * kappa * EPS * np.linalg.norm(w)
    mine = _fit(jaxreg.Ridge(alpha=alpha, positive=True, tol=tol), X, y)
    theirs = _fit(sk.Ridge(alpha=alpha, positive=True, tol=tol), X, y)
    err = np.linalg.norm(mine.coef_ - w)
    assert err <= np.linalg.norm(theirs.coef_ - w) + floor, err


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_zero_weight_rows_equal_dropped_rows_wide(l1_ratio):
    # Wide, correlated, no intercept, a small alpha: the two fits differed by
    # 3e-10 (scikit-learn's by 2e-14) before the support refinement.
    X, y = make_data(50, 200, rho=0.5, seed=1)
    sw = np.ones(len(y))
    sw[::4] = 0.0
    keep = sw > 0
    alpha = 0.005
    Est = {1.0: (jaxreg.Lasso, sk.Lasso), 0.5: (jaxreg.ElasticNet, sk.ElasticNet)}
    kw = dict(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000)
    if l1_ratio != 1.0:
        kw["l1_ratio"] = l1_ratio
    _, _, kappa = exact_enet(X[keep], y[keep], alpha, l1_ratio, fit_intercept=False)
    diffs = []
    for E in Est[l1_ratio]:
        zero = _fit(E(**kw), X, y, sample_weight=sw).coef_
        dropped = _fit(E(**kw), X[keep], y[keep]).coef_
        diffs.append(np.linalg.norm(zero - dropped) / np.linalg.norm(dropped))
    assert diffs[0] <= diffs[1] + 10 * kappa * EPS, diffs


def test_lassocv_mse_path_is_as_exact_as_sklearn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    y = X[:, :5] @ np.ones(5) + rng.standard_normal(200)
    cv = KFold(5)
    kw = dict(cv=cv, tol=1e-8, alphas=12, max_iter=100_000)
    mine = _fit(jaxreg.LassoCV(**kw), X, y)
    theirs = _fit(sk.LassoCV(**kw), X, y)
    np.testing.assert_allclose(mine.alphas_, theirs.alphas_, rtol=1e-12)
    exact, floor = np.zeros_like(mine.mse_path_), np.zeros_like(mine.mse_path_)
    for f, (tr, te) in enumerate(cv.split(X)):
        for i, a in enumerate(mine.alphas_):
            w, b, kappa = exact_enet(X[tr], y[tr], a, 1.0)
            exact[i, f] = np.mean((y[te] - X[te] @ w - b) ** 2)
            floor[i, f] = 10 * kappa * EPS * exact[i, f]
    err = np.abs(mine.mse_path_ - exact)
    assert np.all(err <= np.abs(theirs.mse_path_ - exact) + floor), err.max()


@pytest.mark.parametrize("n", [5, 6])
def test_ridgecv_folds_of_one_sample_score_nan_like_gridsearch(n):
    # R² of a one-sample fold is undefined: -8.6e32 (a ratio of rounding errors)
    # chose another alpha than GridSearchCV before.
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 3))
    y = X @ np.ones(3) + rng.standard_normal(n)
    alphas = [10.0, 0.1, 1.0]
    mine = _fit(jaxreg.RidgeCV(alphas=alphas, cv=KFold(5)), X, y)
    search = _fit(GridSearchCV(sk.Ridge(), {"alpha": alphas}, cv=KFold(5)), X, y)
    assert np.isnan(mine.best_score_) and np.isnan(search.best_score_)
    assert mine.alpha_ == search.best_params_["alpha"]


def star98_like(seed=0):
    """303 x 20 like statsmodels' star98 (school test results): percentages,
    averages and their products, so column scales span 0.6 to 12 000 and the
    interactions are strongly correlated with their factors."""
    rng = np.random.default_rng(seed)
    n = 303
    base = np.column_stack([
        np.clip(rng.normal(41, 20, n), 0, 100), np.abs(rng.normal(6, 9, n)),
        np.abs(rng.normal(6, 9, n)), np.clip(rng.normal(34, 25, n), 0, 100),
        np.abs(rng.normal(15, 12, n)), rng.normal(14, 1.9, n), rng.normal(59, 5, n),
        rng.normal(4.3, 0.6, n), rng.normal(22, 2.2, n), np.abs(rng.normal(34, 16, n)),
        np.abs(rng.normal(1, 6, n)), np.abs(rng.normal(12, 23, n)),
    ])  # fmt: skip
    b = base
    inter = np.column_stack([
        b[:, 4] * b[:, 5], b[:, 4] * b[:, 6], b[:, 5] * b[:, 6], b[:, 7] * b[:, 8],
        b[:, 7] * b[:, 9], b[:, 8] * b[:, 9], b[:, 4] * b[:, 5] * b[:, 6],
        b[:, 7] * b[:, 8] * b[:, 9],
    ])  # fmt: skip
    X = np.hstack([base, inter])
    z = (base - base.mean(0)) / base.std(0)
    y = (
        0.5
        - 0.1 * z[:, 0]
        + 0.03 * z[:, 3]
        - 0.02 * z[:, 9]
        + 0.05 * rng.normal(size=n)
    )
    return X, y


@pytest.mark.parametrize("alpha", [0.1, 0.01, 0.001])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_badly_scaled_columns_converge_as_tightly_as_sklearn(alpha, l1_ratio):
    X, y = star98_like()
    w, b, kappa = exact_enet(X, y, alpha, l1_ratio)
    best = _objective(X, y, w, b, alpha, l1_ratio)
    E = (
        (jaxreg.Lasso, sk.Lasso)
        if l1_ratio == 1.0
        else (jaxreg.ElasticNet, sk.ElasticNet)
    )
    kw = {} if l1_ratio == 1.0 else {"l1_ratio": l1_ratio}
    excess = []
    for Est in E:
        m = _fit(Est(alpha=alpha, **kw), X, y)
        excess.append(_objective(X, y, m.coef_, m.intercept_, alpha, l1_ratio) - best)
    # Summing n squared residuals rounds by up to n·eps of the objective.
    floor = len(y) * EPS * best
    assert excess[0] <= excess[1] + floor, excess
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxreg.enet_path(X, y, alphas=[alpha], l1_ratio=l1_ratio, tol=1e-4)
