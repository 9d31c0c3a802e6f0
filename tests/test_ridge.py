"""Closed-form ridge paths, leave-one-out and GCV (jaxreg.ridge).

Truth comes from outside the module: jaxreg.reference (NumPy), np.linalg.solve /
lstsq / pinv, explicit hat matrices, brute-force refits and scikit-learn's Ridge
and RidgeCV.
"""

import numpy as np
import pytest
from conftest import exact_ridge_loo

from jaxreg import reference
from jaxreg.path import PathResult
from jaxreg.ridge import (
    _evaluate,
    alpha_from_sklearn,
    alpha_to_sklearn,
    ridge_alpha_max,
    ridge_cv,
    ridge_loo,
    ridge_path,
)

sklearn_lm = pytest.importorskip("sklearn.linear_model")

METHODS = ["eigh", "svd", "dual"]
# Four alphas almost everywhere: every new number of alphas is a new compilation.
ALPHAS = np.array([3.0, 0.5, 0.05, 1e-3])
ALPHAS_TO_ZERO = np.array([1.0, 1e-11, 1e-12, 0.0])
SK_ALPHAS = np.array([300.0, 3.0, 0.3, 1e-3])  # scikit-learn's scale


def _data(n, p, seed=0, n_targets=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3 * rng.normal(size=(n, 1))  # correlated
    shape = (p,) if n_targets is None else (p, n_targets)
    y = X @ rng.normal(size=shape) + 0.5 * rng.normal(size=(n,) + shape[1:]) + 2.0
    sw = rng.uniform(0.2, 3.0, size=n)
    return X, y, sw


TALL = _data(60, 8, seed=1)
WIDE = _data(20, 50, seed=2)
TWO_TARGETS = _data(30, 12, seed=3, n_targets=3)
SHAPES = {"tall": TALL, "wide": WIDE}


def _close(a, b, rtol=1e-8, atol=1e-10):
    scale = max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale)


# --------------------------------------------------------------------------- #
# The path against NumPy and the reference
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_path_matches_reference(shape, method, fit_intercept):
    X, y, sw = SHAPES[shape]
    res = ridge_path(
        X,
        y,
        alphas=ALPHAS,
        method=method,
        sample_weight=sw,
        fit_intercept=fit_intercept,
    )
    ref = reference.ridge_path(
        X, y, alphas=ALPHAS, sample_weight=sw, fit_intercept=fit_intercept
    )
    assert res.mode == method
    _close(res.alphas, ref["alphas"])
    _close(res.coefs, ref["coefs"])
    _close(res.intercepts, ref["intercepts"])


def test_path_matches_solve():
    X, y, _ = TALL
    n, p = X.shape
    res = ridge_path(X, y, alphas=ALPHAS)
    Xc, yc = X - X.mean(0), y - y.mean()
    for alpha, coef, b in zip(ALPHAS, res.coefs, res.intercepts, strict=True):
        expected = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(p), Xc.T @ yc / n)
        _close(coef, expected)
        _close(b, y.mean() - X.mean(0) @ expected)


def test_path_result_fields():
    X, y, _ = TALL
    res = ridge_path(X, y, alphas=4)
    assert isinstance(res, PathResult)
    assert res.coefs.shape == (4, 8) and res.intercepts.shape == (4,)
    assert res.coefs.dtype == np.float64
    np.testing.assert_array_equal(res.gaps, 0.0)
    np.testing.assert_array_equal(res.n_iter, 0)
    assert res.converged.all() and res.l1_ratio == 0.0
    assert res.mode == "eigh" and res.strategy == "closed_form"
    assert np.all(np.diff(res.alphas) < 0)
    np.testing.assert_array_equal(res.df, 8)
    assert res.predict(X).shape == (60, 4)
    _close(res.predict(X)[:, 3], X @ res.coefs[3] + res.intercepts[3])
    assert ridge_path(*WIDE[:2], alphas=4).mode == "dual"


def test_dev_ratio_is_weighted_deviance_explained():
    X, y, sw = TALL
    res = ridge_path(X, y, alphas=ALPHAS, sample_weight=sw)
    s = sw * len(y) / sw.sum()
    y_bar = s @ y / len(y)
    resid = y[:, None] - res.predict(X)
    expected = 1.0 - (s @ resid**2) / (s @ (y - y_bar) ** 2)
    _close(res.dev_ratio, expected)
    assert np.all(np.diff(res.dev_ratio) > 0)


def test_default_grid_is_glmnet_ridge_grid():
    X, y, sw = TALL
    res = ridge_path(X, y, sample_weight=sw)
    amax = reference.alpha_max(X, y, l1_ratio=0.001, sample_weight=sw)
    assert len(res.alphas) == 100
    _close(res.alphas[0], amax)
    _close(res.alphas[-1], 1e-6 * amax)
    _close(res.alpha_max, amax)
    _close(ridge_alpha_max(X, y, sample_weight=sw), amax)
    short = ridge_path(X, y, alphas=4, eps=1e-2)
    _close(
        short.alphas,
        np.geomspace(1.0, 1e-2, 4) * reference.alpha_max(X, y, l1_ratio=0.001),
    )
    # 2-D y: the top covers every target.
    X, Y, _ = TWO_TARGETS
    amax_2d = max(reference.alpha_max(X, Y[:, j], l1_ratio=0.001) for j in range(3))
    _close(ridge_path(X, Y, alphas=4).alphas[0], amax_2d)


def test_constant_target_gives_zero_coefficients():
    X, _, _ = TALL
    res = ridge_path(X, np.full(60, 4.0), alphas=4)
    np.testing.assert_array_equal(res.coefs, 0.0)
    _close(res.intercepts, 4.0)
    np.testing.assert_array_equal(res.dev_ratio, 0.0)


# --------------------------------------------------------------------------- #
# 2-D y, weights, penalty factors, standardize
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", METHODS)
def test_two_dimensional_y(method):
    X, Y, sw = TWO_TARGETS
    res = ridge_path(X, Y, alphas=ALPHAS, sample_weight=sw, method=method)
    assert res.coefs.shape == (4, 3, 12) and res.intercepts.shape == (4, 3)
    ref = reference.ridge_path(X, Y, alphas=ALPHAS, sample_weight=sw)
    _close(res.coefs, ref["coefs"])
    _close(res.intercepts, ref["intercepts"])
    single = [ridge_path(X, Y[:, j], alphas=ALPHAS, sample_weight=sw) for j in range(3)]
    _close(res.dev_ratio, np.mean([s.dev_ratio for s in single], axis=0))
    assert res.predict(X).shape == (30, 4, 3)


def test_weights_scale_invariance_and_duplicated_rows():
    X, y, sw = TALL
    a = ridge_path(X, y, alphas=ALPHAS, sample_weight=sw)
    b = ridge_path(X, y, alphas=ALPHAS, sample_weight=7.5 * sw)
    _close(a.coefs, b.coefs)
    # 50 samples, the first 10 twice: as weights 2 (and 10 rows of weight 0).
    Xs, ys = np.vstack([X[:50], X[:10]]), np.concatenate([y[:50], y[:10]])
    w = np.ones(60)
    w[:10], w[50:] = 2.0, 0.0
    weighted = ridge_path(Xs, ys, alphas=ALPHAS, sample_weight=w)
    dup = ridge_path(Xs, ys, alphas=ALPHAS)
    _close(weighted.coefs, dup.coefs)
    _close(weighted.intercepts, dup.intercepts)


@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_penalty_factor_with_unpenalized_features(shape):
    X, y, sw = SHAPES[shape]
    pf = np.linspace(0.5, 2.0, X.shape[1])
    pf[[1, 4]] = 0.0
    res = ridge_path(X, y, alphas=ALPHAS, sample_weight=sw, penalty_factor=pf)
    ref = reference.ridge_path(X, y, alphas=ALPHAS, sample_weight=sw, penalty_factor=pf)
    _close(res.coefs, ref["coefs"], rtol=1e-7)
    _close(res.intercepts, ref["intercepts"], rtol=1e-7)


def test_standardize_penalizes_standardized_coefficients():
    X, y, sw = TALL
    X = X * np.linspace(0.1, 10.0, 8)
    s = sw * 60 / sw.sum()
    scale = np.sqrt(s @ (X - s @ X / 60) ** 2 / 60)
    res = ridge_path(X, y, alphas=ALPHAS, sample_weight=sw, standardize=True)
    on_scaled = ridge_path(X / scale, y, alphas=ALPHAS, sample_weight=sw)
    _close(res.coefs, on_scaled.coefs / scale)
    _close(res.intercepts, on_scaled.intercepts)


# --------------------------------------------------------------------------- #
# alpha -> 0, rank deficiency
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("method", METHODS)
def test_alpha_zero_is_minimum_norm_least_squares(shape, method):
    X, y, _ = SHAPES[shape]
    Xc, yc = X - X.mean(0), y - y.mean()
    expected = np.linalg.lstsq(Xc, yc, rcond=None)[0]  # minimum norm when p > n
    res = ridge_path(X, y, alphas=ALPHAS_TO_ZERO, method=method)
    _close(res.coefs[3], expected, rtol=1e-6)
    _close(res.intercepts[3], y.mean() - X.mean(0) @ expected, rtol=1e-6)
    _close(res.coefs[1], expected, rtol=1e-6)  # continuity of the limit
    _close(
        res.dev_ratio[3],
        1.0
        if shape == "wide"
        else 1.0 - np.sum((Xc @ expected - yc) ** 2) / np.sum(yc**2),
    )


@pytest.mark.parametrize("method", METHODS)
def test_duplicated_columns(method):
    X, y, _ = TALL
    Xd = np.column_stack([X[:, :5], X[:, :3]])  # rank 5 with 8 columns
    res = ridge_path(Xd, y, alphas=ALPHAS_TO_ZERO, method=method)
    Xc, yc = Xd - Xd.mean(0), y - y.mean()
    _close(res.coefs[3], np.linalg.pinv(Xc) @ yc, rtol=1e-6)
    # the penalty splits the weight equally between identical columns
    _close(res.coefs[:, :3], res.coefs[:, 5:], rtol=1e-7)
    ref = reference.ridge_path(Xd, y, alphas=[1.0])
    _close(res.coefs[0], ref["coefs"][0])


def test_zero_column_and_constant_column():
    X, y, _ = TALL
    Xz = X.copy()
    Xz[:, 2] = 0.0
    Xz[:, 5] = 3.0
    res = ridge_path(Xz, y, alphas=ALPHAS_TO_ZERO)
    assert np.all(res.coefs[:, [2, 5]] == 0.0)
    np.testing.assert_array_equal(res.df, 6)
    ref = reference.ridge_path(Xz, y, alphas=ALPHAS_TO_ZERO)
    _close(res.coefs, ref["coefs"], rtol=1e-7)


def test_float32():
    X, y, sw = TALL
    res = ridge_path(X, y, alphas=ALPHAS, sample_weight=sw, dtype="float32")
    assert res.coefs.dtype == np.float32 and res.dtype == "float32"
    ref = reference.ridge_path(X, y, alphas=ALPHAS, sample_weight=sw)
    np.testing.assert_allclose(res.coefs, ref["coefs"], rtol=1e-3, atol=1e-4)


def test_float32_keeps_small_eigenvalues_of_a_tall_correlated_design():
    # Equicorrelated X: one eigenvalue of XᵀX/n near rho·p, the others near
    # 1 - rho. A rank cutoff that grows with n (n·eps_32·e_max > 1 - rho here)
    # dropped every component but the first: the float32 path was garbage on
    # tall data (found by the GPU benchmark at n=100000, p=1000).
    rng = np.random.default_rng(3)
    n, p, rho = 20000, 200, 0.95
    X = np.sqrt(1 - rho) * rng.normal(size=(n, p)) + np.sqrt(rho) * rng.normal(
        size=(n, 1)
    )
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    alphas = np.array([1.0, 1e-2, 1e-4])
    res = ridge_path(X, y, alphas=alphas, dtype="float32")
    Xc, yc = X - X.mean(0), y - y.mean()
    G, c = Xc.T @ Xc / n, Xc.T @ yc / n
    for k, a in enumerate(alphas):
        expected = np.linalg.solve(G + a * np.eye(p), c)
        rel = np.linalg.norm(res.coefs[k] - expected) / np.linalg.norm(expected)
        assert rel < 1e-2, (a, rel)


def test_new_alpha_values_do_not_recompile():
    X, y, _ = TALL
    ridge_path(X, y, alphas=ALPHAS)
    before = _evaluate._cache_size()
    ridge_path(X, y, alphas=ALPHAS * 1.7)
    ridge_path(X, y, alphas=ALPHAS / 3.0)
    assert _evaluate._cache_size() == before


# --------------------------------------------------------------------------- #
# scikit-learn Ridge
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn_ridge(shape, weighted):
    X, y, sw = SHAPES[shape]
    sw = sw if weighted else None
    n = X.shape[0]
    res = ridge_path(
        X,
        y,
        alphas=alpha_from_sklearn(SK_ALPHAS, n, sample_weight=sw),
        sample_weight=sw,
    )
    for alpha, coef, b in zip(res.alphas, res.coefs, res.intercepts, strict=True):
        sk_alpha = alpha_to_sklearn(alpha, n, sample_weight=sw)
        est = sklearn_lm.Ridge(alpha=sk_alpha, solver="svd").fit(X, y, sample_weight=sw)
        _close(coef, est.coef_, rtol=1e-7)
        _close(b, est.intercept_, rtol=1e-7)


def test_matches_sklearn_ridge_two_targets():
    X, Y, _ = TWO_TARGETS
    res = ridge_path(X, Y, alphas=ALPHAS)
    est = sklearn_lm.Ridge(alpha=alpha_to_sklearn(ALPHAS[1], 30)).fit(X, Y)
    _close(res.coefs[1], est.coef_, rtol=1e-7)
    _close(res.intercepts[1], est.intercept_, rtol=1e-7)


def test_alpha_conversions():
    assert alpha_from_sklearn(50.0, 100) == 0.5
    assert alpha_to_sklearn(0.5, 100) == 50.0
    sw = np.array([1.0, 2.0, 5.0])
    assert alpha_from_sklearn(16.0, 3, sample_weight=sw) == 2.0
    np.testing.assert_allclose(
        alpha_to_sklearn(
            alpha_from_sklearn([1.0, 3.0], 3, sample_weight=sw), 3, sample_weight=sw
        ),
        [1.0, 3.0],
    )
    with pytest.raises(ValueError, match=r"alpha must be finite and non-negative"):
        alpha_from_sklearn(-1.0, 10)
    with pytest.raises(ValueError, match=r"n_samples must be a positive integer"):
        alpha_to_sklearn(1.0, 0)
    with pytest.raises(ValueError, match=r"sample_weight must be 3 finite"):
        alpha_to_sklearn(1.0, 3, sample_weight=[1.0, -1.0, 2.0])


# --------------------------------------------------------------------------- #
# Leave-one-out and GCV
# --------------------------------------------------------------------------- #
def _brute_force_loo(X, y, alphas, sw, fit_intercept):
    """Refit without each sample: Σ_{k≠i} s_k r_k² + n·alpha·||w||², by lstsq."""
    n, p = X.shape
    s = sw * n / sw.sum()
    out = []
    for alpha in alphas:
        sq = 0.0
        for i in range(n):
            keep = np.arange(n) != i
            Z = np.column_stack([np.ones(n), X]) if fit_intercept else X
            rows = np.sqrt(s[keep])[:, None] * Z[keep]
            pen = np.sqrt(n * alpha) * np.eye(Z.shape[1])
            if fit_intercept:
                pen = pen[1:]
            A = np.vstack([rows, pen])
            rhs = np.concatenate([np.sqrt(s[keep]) * y[keep], np.zeros(len(pen))])
            beta = np.linalg.lstsq(A, rhs, rcond=None)[0]
            sq += s[i] * (y[i] - Z[i] @ beta) ** 2
        out.append(sq / n)
    return np.array(out)


@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_loo_matches_reference_brute_force(shape, fit_intercept):
    X, y, _ = SHAPES[shape]
    ref = reference.ridge_loo_mse(X, y, alphas=ALPHAS, fit_intercept=fit_intercept)
    for method in METHODS:
        loo = ridge_loo(X, y, alphas=ALPHAS, fit_intercept=fit_intercept, method=method)
        _close(loo, ref)


@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_weighted_loo_matches_brute_force(shape):
    X, y, sw = SHAPES[shape]
    sw = sw.copy()
    sw[3] = 0.0  # a zero weight: that sample's error counts for nothing
    loo = ridge_loo(X, y, alphas=ALPHAS, sample_weight=sw)
    _close(loo, _brute_force_loo(X, y, ALPHAS, sw, True))


def test_loo_two_targets_and_multioutput():
    X, Y, _ = TWO_TARGETS
    raw = ridge_loo(X, Y, alphas=ALPHAS, multioutput="raw_values")
    assert raw.shape == (4, 3)
    for j in range(3):
        _close(raw[:, j], reference.ridge_loo_mse(X, Y[:, j], alphas=ALPHAS))
    _close(ridge_loo(X, Y, alphas=ALPHAS), raw.mean(axis=1))
    _close(
        ridge_loo(X, Y, alphas=ALPHAS, criterion="gcv", method="svd"),
        ridge_loo(X, Y, alphas=ALPHAS, criterion="gcv", multioutput="raw_values").mean(
            axis=1
        ),
    )


def test_loo_with_unpenalized_feature_matches_brute_force():
    X, y, _ = TALL
    pf = np.ones(8)
    pf[0] = 0.0
    loo = ridge_loo(X, y, alphas=ALPHAS, penalty_factor=pf)
    n = len(y)
    expected = []
    for alpha in ALPHAS:
        err = []
        for i in range(n):
            keep = np.arange(n) != i
            Z = np.column_stack([np.ones(n), X])
            pen = np.sqrt(n * alpha) * np.eye(9)[2:]  # intercept and x_0 free
            beta = np.linalg.lstsq(
                np.vstack([Z[keep], pen]),
                np.concatenate([y[keep], np.zeros(7)]),
                rcond=None,
            )[0]
            err.append(y[i] - Z[i] @ beta)
        expected.append(np.mean(np.square(err)))
    _close(loo, expected)


def test_loo_order_and_integer_grid():
    X, y, _ = TALL
    shuffled = ALPHAS[[2, 0, 3, 1]]
    in_order = ridge_loo(X, y, alphas=ALPHAS)
    _close(ridge_loo(X, y, alphas=shuffled), in_order[[2, 0, 3, 1]])
    grid = ridge_path(X, y, alphas=4, eps=1e-3).alphas
    _close(ridge_loo(X, y, alphas=4, eps=1e-3), ridge_loo(X, y, alphas=grid))


def _hat_matrix(X, alpha, s, fit_intercept):
    """Explicit H of the weighted problem with an unpenalized intercept column."""
    n, p = X.shape
    Z = np.column_stack([np.ones(n), X]) if fit_intercept else X
    Zw = np.sqrt(s)[:, None] * Z
    D = np.eye(Z.shape[1])
    if fit_intercept:
        D[0, 0] = 0.0
    return Zw @ np.linalg.solve(Zw.T @ Zw + n * alpha * D, Zw.T)


@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gcv_and_loo_match_explicit_hat_matrix(shape, fit_intercept):
    X, y, sw = SHAPES[shape]
    n = len(y)
    s = sw * n / sw.sum()
    gcv, loo = [], []
    for alpha in ALPHAS:
        H = _hat_matrix(X, alpha, s, fit_intercept)
        r = np.sqrt(s) * y - H @ (np.sqrt(s) * y)
        gcv.append((r @ r / n) / (1.0 - np.trace(H) / n) ** 2)
        loo.append(np.mean((r / (1.0 - np.diag(H))) ** 2))
    for method in METHODS:
        kw = dict(
            alphas=ALPHAS, sample_weight=sw, fit_intercept=fit_intercept, method=method
        )
        _close(ridge_loo(X, y, criterion="gcv", **kw), gcv, rtol=1e-7)
        _close(ridge_loo(X, y, **kw), loo, rtol=1e-7)


@pytest.mark.parametrize("criterion", ["loo", "gcv"])
def test_zero_weight_rows_change_nothing(criterion):
    X, y, sw = TALL
    w = sw.copy()
    w[50:] = 0.0  # the last 10 rows are absent
    padded = ridge_loo(X, y, alphas=ALPHAS, sample_weight=w, criterion=criterion)
    alone = ridge_loo(
        X[:50], y[:50], alphas=ALPHAS, sample_weight=sw[:50], criterion=criterion
    )
    _close(padded, alone)


def test_loo_alpha_zero_tall_is_press():
    X, y, _ = TALL
    # least-squares refits at alpha = 0
    ref = reference.ridge_loo_mse(X, y, alphas=ALPHAS_TO_ZERO)
    for method in METHODS:
        _close(ridge_loo(X, y, alphas=ALPHAS_TO_ZERO, method=method), ref)


@pytest.mark.parametrize("criterion", ["loo", "gcv"])
def test_loo_alpha_zero_wide_is_the_limit(criterion):
    X, y, _ = WIDE
    alphas = np.array([1e-2, 1e-9, 1e-10, 0.0])
    # The tolerances follow from the spectrum of the centred design (n < p): the
    # error and the leverages are rational in alpha with poles at -e_k, so they
    # move by about alpha/e_min relative near 0; a backward-stable solve carries
    # a relative error of about eps·cond².
    sv = np.linalg.svd(X - X.mean(0), compute_uv=False)
    sv = sv[sv > sv[0] * len(y) * np.finfo(float).eps]
    e_min, cond = sv[-1] ** 2 / len(y), sv[0] / sv[-1]
    rounding = 64 * np.finfo(float).eps * cond**2
    for method in METHODS:
        values = ridge_loo(X, y, alphas=alphas, criterion=criterion, method=method)
        assert np.all(np.isfinite(values))
        # the alpha -> 0 limit, continuously
        _close(values[3], values[1], rtol=10 * alphas[1] / e_min + rounding, atol=0)
    if criterion == "loo":
        # the reference refits every leave-one-out model by SVD (stable at any alpha)
        ref = reference.ridge_loo_mse(X, y, alphas=alphas[:3])
        _close(values[:3], ref, rtol=rounding, atol=0)


def test_loo_is_exact_at_tiny_alpha_on_wide_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 9)) + 0.5
    y = X @ rng.normal(size=9) + rng.normal(size=6)
    sv = np.linalg.svd(X - X.mean(0), compute_uv=False)
    cond = sv[0] / sv[sv > sv[0] * 1e-12][-1]
    for method in METHODS:
        got = ridge_loo(X, y, alphas=[1e-4, 1e-9], method=method)
        for alpha, value in zip((1e-4, 1e-9), got, strict=True):
            exact = exact_ridge_loo(X, y, alpha)
            assert abs(value - exact) <= 64 * np.finfo(float).eps * cond**2 * exact


def test_ridge_cv_per_sample_errors_are_exact_at_tiny_alpha():
    """RidgeCV's per-sample leave-one-out errors (store_cv_results, or a
    scoring, dense and sparse) on a square design that the intercept lets
    interpolate: at alpha = 1e-12 they were 1 - h by subtraction, 0 up to
    rounding, and came out 2.5 times too large (dense) or infinite (sparse); now
    the exact rational-arithmetic value within 64·eps·cond²."""
    sparse = pytest.importorskip("scipy.sparse")
    from jaxreg import RidgeCV

    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 8)) + 0.5
    y = X @ rng.normal(size=8) + 3.0
    sv = np.linalg.svd(X - X.mean(0), compute_uv=False)
    cond = sv[0] / sv[sv > sv[0] * 1e-12][-1]
    for a in (1e-12, 1.0):
        exact = exact_ridge_loo(X, y, a / len(y))
        for data in (X, sparse.csr_matrix(X)):
            got = RidgeCV(alphas=[a], store_cv_results=True).fit(data, y)
            value = got.cv_results_.mean()
            assert abs(value - exact) <= 64 * np.finfo(float).eps * cond**2 * exact


@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_cv_matches_sklearn_ridgecv(shape, fit_intercept, weighted):
    X, y, sw = SHAPES[shape]
    n = len(y)
    sw = sw if weighted else None
    total = n if sw is None else sw.sum()
    est = sklearn_lm.RidgeCV(
        alphas=SK_ALPHAS, fit_intercept=fit_intercept, store_cv_results=True
    ).fit(X, y, sample_weight=sw)
    res = ridge_cv(
        X, y, alphas=SK_ALPHAS / total, fit_intercept=fit_intercept, sample_weight=sw
    )
    _close(res.alpha_best * total, est.alpha_)
    # sklearn's score is the mean of raw-weighted squared errors
    _close(-res.cv_values[res.index_best] * total / n, est.best_score_)
    _close(res.cv_values * total / n, est.cv_results_.mean(axis=0))
    _close(res.coef, est.coef_, rtol=1e-7)
    _close(res.intercept, est.intercept_, rtol=1e-7)
    loo = ridge_loo(
        X, y, alphas=SK_ALPHAS / total, fit_intercept=fit_intercept, sample_weight=sw
    )
    _close(loo, res.cv_values)


def test_ridge_cv_two_targets_matches_sklearn():
    X, Y, _ = TWO_TARGETS
    est = sklearn_lm.RidgeCV(alphas=SK_ALPHAS).fit(X, Y)
    res = ridge_cv(X, Y, alphas=SK_ALPHAS / 30)
    _close(res.alpha_best * 30, est.alpha_)
    _close(-res.cv_values[res.index_best], est.best_score_)
    _close(res.coef, est.coef_, rtol=1e-7)
    _close(res.intercept, est.intercept_, rtol=1e-7)
    assert "alpha_best" in repr(res)


def test_ridge_cv_gcv_selects_the_gcv_minimum():
    X, y, _ = TALL
    res = ridge_cv(X, y, alphas=4, criterion="gcv")
    gcv = ridge_loo(X, y, alphas=res.alphas, criterion="gcv")
    _close(res.cv_values, gcv)
    assert res.index_best == int(np.argmin(gcv))
    _close(res.coef, res.path.coefs[res.index_best])


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(alphas=[1.0, -0.1]), ValueError, r"alphas must be .*alphas\[1\] = -0.1"),
        (dict(alphas=0), ValueError, r"alphas must be a positive grid size, got 0"),
        (dict(alphas=True), TypeError, r"alphas must be an int"),
        (dict(eps=2.0), ValueError, r"eps must be in \(0, 1\], got 2.0"),
        (dict(method="qr"), ValueError, r"method must be one of .*got 'qr'"),
        (dict(fit_intercept="yes"), TypeError, r"fit_intercept must be True or False"),
        (dict(standardize=1), TypeError, r"standardize must be True or False"),
        (
            dict(sample_weight=-np.ones(60)),
            ValueError,
            r"sample_weight must be non-negative, got sample_weight\[0\] = -1.0",
        ),
        (
            dict(sample_weight=np.ones(5)),
            ValueError,
            r"sample_weight must have shape \(60,\), got shape \(5,\)",
        ),
        (
            dict(penalty_factor=np.zeros(8)),
            ValueError,
            r"penalty_factor must have at least one positive entry",
        ),
        (
            dict(penalty_factor=-np.ones(8)),
            ValueError,
            r"penalty_factor must be finite and non-negative",
        ),
        (dict(dtype="int8"), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(device="tpu"), ValueError, r"device must be 'cpu' or 'gpu'"),
    ],
)
def test_ridge_path_bad_input(kwargs, error, match):
    X, y, _ = TALL
    with pytest.raises(error, match=match):
        ridge_path(X, y, **kwargs)


def test_bad_data():
    X, y, _ = TALL
    bad = X.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        ridge_path(bad, y)
    with pytest.raises(ValueError, match=r"X must be 2-D .* got shape \(60,\)"):
        ridge_path(y, y)
    with pytest.raises(ValueError, match=r"X and y have inconsistent numbers"):
        ridge_loo(X, y[:-1], alphas=ALPHAS)
    with pytest.raises(ValueError, match=r"y must be 1-D or 2-D, got shape"):
        ridge_path(X, y[:, None, None])
    with pytest.raises(TypeError, match=r"y must hold real numbers"):
        ridge_path(X, np.array(["a"] * 60))


def test_ridge_loo_bad_options():
    X, y, _ = TALL
    with pytest.raises(ValueError, match=r"criterion must be one of .*got 'aic'"):
        ridge_loo(X, y, alphas=ALPHAS, criterion="aic")
    with pytest.raises(ValueError, match=r"multioutput must be one of .*got 'mean'"):
        ridge_loo(X, y, alphas=ALPHAS, multioutput="mean")
    with pytest.raises(ValueError, match=r"alphas must be .*alphas\[0\] = nan"):
        ridge_loo(X, y, alphas=[np.nan])
    with pytest.raises(TypeError, match=r"alphas"):
        ridge_loo(X, y)
    with pytest.raises(ValueError, match=r"criterion must be one of"):
        ridge_cv(X, y, criterion=None)
