"""constrained_path against the penalized paths, least squares and the maths; box
constraints of lasso_path (bounds and KKT)."""

import numpy as np
import pytest
from conftest import centred_yy, make_data

import jaxreg
from jaxreg import reference
from jaxreg.constrained import constrained_path, solve_constrained
from jaxreg.path import ConvergenceWarning

TOL = 1e-14  # coefficient error scales like sqrt(gap): compare at a tight tol
SLACK = 1e-10  # rounding in float64 coefficients of size ~1
# A computed gap is exact only up to rounding of its terms (about the size of the
# objective): this much, relative to ||y - ȳ||²/n, is added to every gap.
GAP_ROUNDING = 1e-15


@pytest.fixture(scope="module")
def data():
    # One shape for most tests (80 x 10, 9-16 radii): the solver compiles once.
    return make_data(80, 10, rho=0.3, seed=4)


def l1(W):
    return np.abs(W).sum(axis=-1)


def l2(W):
    return np.sqrt((W * W).sum(axis=-1))


def least_squares(X, y):
    xm, ym = X.mean(0), y.mean()
    w = np.linalg.lstsq(X - xm, y - ym, rcond=None)[0]
    return w, ym - xm @ w


def eig_range(X, fit_intercept=True, sample_weight=None):
    """Smallest and largest eigenvalue of the (centred, weighted) XᵀSX/n."""
    n = len(X)
    s = np.ones(n) if sample_weight is None else sample_weight * n / sample_weight.sum()
    Xc = X - (s @ X) / n if fit_intercept else X
    ev = np.linalg.eigvalsh((Xc * s[:, None]).T @ Xc / n)
    return ev[0], ev[-1]


def assert_within_gap_bound(a, b, gaps_a, gaps_b, lam_min, yy, slack=SLACK):
    """Two certified solutions of one strongly convex problem are close.

    For a convex set C and f with curvature >= lam_min, every feasible w has
    f(w) - f* >= lam_min/2·||w - w*||², so a point certified to gap g lies within
    sqrt(2g/lam_min) of the minimiser: the tolerance follows from the maths.
    """
    d = np.linalg.norm(np.atleast_2d(a) - np.atleast_2d(b), axis=1)
    floor = GAP_ROUNDING * yy
    bound = (
        np.sqrt(2 * (np.maximum(gaps_a, 0) + floor) / lam_min)
        + np.sqrt(2 * (np.maximum(gaps_b, 0) + floor) / lam_min)
        + slack
    )
    assert (d <= bound).all(), (d, bound)
    return bound


def check_certified(res, X, y, fit_intercept=True):
    """Feasible, converged, and the certificate bounds the penalized gap too."""
    size = l1(res.coefs) if res.norm == "l1" else l2(res.coefs)
    np.testing.assert_array_less(size, res.radii * (1 + 1e-12) + 1e-14)
    yy = centred_yy(y) if fit_intercept else np.mean(y * y)
    assert res.converged.all()
    np.testing.assert_allclose(res.gap_tol, TOL * yy, rtol=1e-12)
    assert (res.gaps <= res.gap_tol).all()
    if res.norm == "l1":
        # At alpha = ||q||∞ the lasso duality gap is ||q||∞·||w||₁ - <q, w>, which
        # is at most the Frank–Wolfe gap t·||q||∞ - <q, w>.
        for w, b, a, g in zip(
            res.coefs, res.intercepts, res.alphas, res.gaps, strict=True
        ):
            lasso_gap = reference.duality_gap(
                X, y, w, b, a, fit_intercept=fit_intercept
            )
            assert lasso_gap <= g + 1e-13 * yy


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l1_ball_at_the_lasso_norm_is_the_lasso(data, fit_intercept):
    X, y = data
    ref = reference.lasso_path(
        X, y, alphas=12, eps=1e-2, tol=TOL, fit_intercept=fit_intercept
    )
    res = constrained_path(
        X, y, radii=l1(ref["coefs"]), norm="l1", tol=TOL, fit_intercept=fit_intercept
    )
    check_certified(res, X, y, fit_intercept)
    # w_ref is ref-gap-optimal for the lasso at alpha, hence for the ball of radius
    # ||w_ref||₁ too (f(w_ref) + alpha·t <= f(v) + alpha·||v||₁ + g_ref).
    lo, hi = eig_range(X, fit_intercept)
    yy = centred_yy(y) if fit_intercept else np.mean(y * y)
    d = assert_within_gap_bound(res.coefs, ref["coefs"], res.gaps, ref["gaps"], lo, yy)
    # The multiplier of each radius is the lasso alpha it came from (at radius 0:
    # the smallest alpha with w = 0, alpha_max): |Δalpha| <= ||G Δw||∞.
    np.testing.assert_array_less(np.abs(res.alphas - ref["alphas"]), 2 * hi * d + SLACK)
    assert res.alphas[0] == pytest.approx(
        reference.alpha_max(X, y, fit_intercept=fit_intercept), rel=1e-12
    )
    np.testing.assert_array_equal(res.df, (ref["coefs"] != 0).sum(axis=1))


def test_l2_ball_at_the_ridge_norm_is_ridge(data):
    X, y = data
    n = len(y)
    alphas = np.geomspace(10.0, 1e-3, 9)
    ref = reference.ridge_path(X, y, alphas=alphas)
    # The reference agrees with scikit-learn's Ridge at alpha·n.
    from sklearn.linear_model import Ridge

    sk = Ridge(alpha=alphas[4] * n, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(ref["coefs"][4], sk.coef_, rtol=1e-9, atol=1e-12)
    res = constrained_path(X, y, radii=l2(ref["coefs"]), norm="l2", tol=TOL)
    check_certified(res, X, y)
    lo, hi = eig_range(X)
    # The closed-form ridge solution is exact: only our gap counts.
    d = assert_within_gap_bound(res.coefs, ref["coefs"], res.gaps, 0, lo, centred_yy(y))
    # b = ȳ - x̄·w moves by at most ||x̄||·||Δw||.
    np.testing.assert_array_less(
        np.abs(res.intercepts - ref["intercepts"]),
        np.linalg.norm(X.mean(0)) * d + SLACK,
    )
    # alpha = ||q||₂/||w||₂ moves by at most (||GΔw|| + alpha·||Δw||)/||w||.
    size = l2(ref["coefs"])
    np.testing.assert_array_less(
        np.abs(res.alphas - ref["alphas"]),
        (hi + ref["alphas"]) * d / (size - d) + SLACK,
    )


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_penalized_path_at_the_equivalent_alphas_gives_the_same_fit(data, norm):
    X, y = data
    res = constrained_path(X, y, radii=12, norm=norm, tol=TOL)
    np.testing.assert_allclose(res.radii, np.linspace(0.0, res.ls_norm, 12))
    assert np.all(np.diff(res.alphas) <= 0)  # bigger ball, weaker penalty
    assert res.alphas[-1] == 0.0  # the last ball holds least squares
    keep = np.isfinite(res.alphas)  # radius 0 is ridge at alpha = inf
    # Our solution is certified for the penalized problem at its alpha with a gap
    # no larger than the constrained one, so both lie near the same minimiser.
    lo, _ = eig_range(X)
    if norm == "l1":
        ref = reference.lasso_path(X, y, alphas=res.alphas, tol=TOL)
        ref_gaps = ref["gaps"]
    else:
        assert not keep[0] and (res.coefs[0] == 0).all()
        ref = reference.ridge_path(X, y, alphas=res.alphas[keep])
        ref_gaps = 0.0
    assert_within_gap_bound(
        res.coefs[keep], ref["coefs"], res.gaps[keep], ref_gaps, lo, centred_yy(y)
    )


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_radii_beyond_least_squares_return_least_squares(data, norm):
    X, y = data
    w_ls, b_ls = least_squares(X, y)
    size = l1(w_ls) if norm == "l1" else l2(w_ls)
    radii = [
        0.0,
        0.99 * size,
        size,
        2 * size,
        1e6,
        1e12,
        0.5 * size,
        0.9 * size,
        0.3 * size,
    ]
    res = constrained_path(X, y, radii=radii, norm=norm, tol=TOL)
    assert res.ls_norm == pytest.approx(size, rel=1e-10)
    np.testing.assert_array_equal(res.radii, np.sort(radii))
    beyond = res.radii >= size * (1 - 1e-12)
    assert beyond.sum() == 4
    np.testing.assert_allclose(
        res.coefs[beyond], np.tile(w_ls, (4, 1)), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(res.intercepts[beyond], b_ls, rtol=1e-9)
    np.testing.assert_allclose(
        res.dev_ratio[beyond],
        1 - np.mean((y - X @ w_ls - b_ls) ** 2) / centred_yy(y),
        rtol=1e-10,
    )
    # Strictly beyond: the closed form, certificate and multiplier exactly 0. At
    # the norm itself (equal up to rounding) the solver may iterate: then its
    # multiplier is 0 up to rounding.
    far = res.radii > size * (1 + 1e-9)
    assert (res.alphas[far] == 0).all() and (res.gaps[far] == 0).all()
    assert (res.n_iter[far] == 0).all()
    assert (res.alphas[beyond] <= 1e-10 * res.alphas[0]).all()
    # Below it the constraint binds: the norm equals the radius, the multiplier is
    # positive, and the fit is worse than least squares.
    inside = ~beyond & (res.radii > 0)
    got = l1(res.coefs) if norm == "l1" else l2(res.coefs)
    np.testing.assert_allclose(got[inside], res.radii[inside], rtol=1e-10)
    assert (res.alphas[inside] > 0).all()
    assert np.all(np.diff(res.dev_ratio) >= -1e-12)
    check_certified(res, X, y)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_orthonormal_design_has_closed_form(norm):
    rng = np.random.default_rng(7)
    G = rng.normal(size=(80, 10))
    X, _ = np.linalg.qr(G - G.mean(0))  # centred orthonormal columns
    X *= np.sqrt(80)  # XᵀX/n = I: the problem is ||w - w_ls||²/2 over the ball
    y = X @ rng.normal(size=10) * 2 + rng.normal(size=80) + 1.0
    w_ls = X.T @ (y - y.mean()) / 80
    radii = np.linspace(0.0, 1.2, 9) * (l1(w_ls) if norm == "l1" else l2(w_ls))
    res = constrained_path(X, y, radii=radii, norm=norm, tol=TOL)
    expect = []
    for t in radii:
        if norm == "l2":
            expect.append(w_ls * min(1.0, t / l2(w_ls)))
            continue
        # The projection onto the L1 ball: soft-thresholding at the tau whose
        # result has norm t (bisection on a decreasing function).
        lo, hi = 0.0, np.abs(w_ls).max()
        if l1(w_ls) <= t:
            hi = 0.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (
                (mid, hi) if l1(np.maximum(np.abs(w_ls) - mid, 0)) > t else (lo, mid)
            )
        expect.append(np.sign(w_ls) * np.maximum(np.abs(w_ls) - hi, 0.0))
    # XᵀX/n = I: curvature 1.
    assert_within_gap_bound(
        res.coefs, np.array(expect), res.gaps, 0, 1.0, centred_yy(y)
    )
    check_certified(res, X, y)


def objective(X, y, w, b):
    r = y - X @ w - b
    return 0.5 * np.mean(r * r)


def test_wide_data_gram_and_design_modes_agree():
    # p > n: XᵀX/n is singular, so coefficients need not be unique; compare the
    # objective, which each certificate pins down.
    X, y = make_data(30, 60, rho=0.2, seed=5)
    radii = np.linspace(0.0, 6.0, 12)
    gram = constrained_path(X, y, radii=radii, tol=TOL)
    design = constrained_path(X, y, radii=radii, tol=TOL, mode="design")
    assert (gram.mode, design.mode) == ("gram", "design")
    for res in (gram, design):
        check_certified(res, X, y)
    assert gram.df[0] == 0 and (gram.df <= 30).all()
    f_g = [
        objective(X, y, w, b) for w, b in zip(gram.coefs, gram.intercepts, strict=True)
    ]
    f_d = [
        objective(X, y, w, b)
        for w, b in zip(design.coefs, design.intercepts, strict=True)
    ]
    np.testing.assert_array_less(
        np.abs(np.subtract(f_g, f_d)), gram.gaps + design.gaps + 1e-14 * centred_yy(y)
    )
    assert gram.ls_norm == pytest.approx(design.ls_norm, rel=1e-8)


def test_sample_weight_two_equals_duplicated_row(data):
    X, y = data
    radii = np.linspace(0.1, 4.0, 12)
    # Weight 2 on the first 10 rows and 0 on the last 10 is the same problem as
    # the first 10 rows twice and the last 10 dropped (same n, one compile).
    sw = np.ones(80)
    sw[:10], sw[70:] = 2.0, 0.0
    Xd = np.vstack([X[:10], X[:70]])
    yd = np.concatenate([y[:10], y[:70]])
    a = constrained_path(X, y, radii=radii, sample_weight=sw, tol=TOL)
    b = constrained_path(Xd, yd, radii=radii, tol=TOL)
    assert_within_gap_bound(
        a.coefs, b.coefs, a.gaps, b.gaps, eig_range(Xd)[0], centred_yy(yd)
    )
    np.testing.assert_allclose(a.gap_tol, b.gap_tol, rtol=1e-12)
    np.testing.assert_allclose(a.predict(X[:10]), b.predict(X[:10]), rtol=1e-5)


def test_standardize_constrains_the_standardized_coefficients(data):
    X, y = data
    radii = np.linspace(0.1, 4.0, 12)
    sd = X.std(axis=0)
    Z = (X - X.mean(0)) / sd
    a = constrained_path(X, y, radii=radii, standardize=True, tol=TOL)
    b = constrained_path(Z, y, radii=radii, tol=TOL)
    assert_within_gap_bound(
        a.coefs * sd, b.coefs, a.gaps, b.gaps, eig_range(Z)[0], centred_yy(y)
    )
    np.testing.assert_allclose(l1(a.coefs * sd), radii, rtol=1e-10)


def test_float32_is_opt_in_and_close(data):
    X, y = data
    radii = np.linspace(0.1, 4.0, 12)
    r64 = constrained_path(X, y, radii=radii, tol=TOL)
    r32 = constrained_path(X, y, radii=radii, tol=1e-5, dtype="float32")
    for field in ("radii", "coefs", "intercepts", "gaps", "alphas", "dev_ratio"):
        assert getattr(r32, field).dtype == np.float32
        assert getattr(r64, field).dtype == np.float64
    assert r32.converged.all()
    assert_within_gap_bound(
        r32.coefs,
        r64.coefs,
        r32.gaps,
        r64.gaps,
        eig_range(X)[0],
        centred_yy(y),
        slack=1e-5,
    )


def test_new_radii_do_not_recompile(data):
    X, y = data
    constrained_path(X, y, radii=np.linspace(0.1, 4.0, 12), tol=1e-8)
    before = solve_constrained._cache_size()
    constrained_path(X, y, radii=np.linspace(0.2, 3.0, 12), tol=1e-9, max_iter=500)
    assert solve_constrained._cache_size() == before


def test_not_converged_is_flagged_and_warned(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="radii did not converge"):
        res = constrained_path(
            X, y, radii=np.linspace(0.1, 4.0, 12), tol=TOL, max_iter=10
        )
    assert not res.converged.all()
    assert (res.n_iter <= 10).all()
    assert (res.gaps[~res.converged] > res.gap_tol).all()


def test_constant_y_and_zero_radius(data):
    X, y = data
    res = constrained_path(X, np.full(80, 3.0), radii=np.linspace(0, 2, 12), tol=TOL)
    assert (res.coefs == 0).all() and (res.alphas == 0).all()
    np.testing.assert_allclose(res.intercepts, 3.0)
    res = constrained_path(X, y, radii=np.linspace(0, 2, 12), norm="l2", tol=TOL)
    assert res.alphas[0] == np.inf and (res.coefs[0] == 0).all()


def test_predict_and_repr(data):
    X, y = data
    res = constrained_path(X, y, radii=np.linspace(0.1, 4.0, 12), tol=1e-8)
    pred = res.predict(X[:5])
    assert pred.shape == (5, 12)
    np.testing.assert_allclose(pred, X[:5] @ res.coefs.T + res.intercepts)
    assert "12 l1 radii" in repr(res)
    with pytest.raises(ValueError, match="X must be 2-D with 10 features"):
        res.predict(X[:, :3])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (
            {"radii": -1.0},
            ValueError,
            r"radii must be a 1-D array of non-negative finite floats, got "
            r"radii\[0\] = -1.0\.",
        ),
        ({"radii": [1.0, np.nan]}, ValueError, r"got radii\[1\] = nan"),
        ({"radii": [1.0, np.inf]}, ValueError, r"got radii\[1\] = inf"),
        (
            {"radii": [[1.0]]},
            ValueError,
            r"radii must be an int or a non-empty 1-D "
            r"array, got shape \(1, 1\)\.",
        ),
        ({"radii": []}, ValueError, r"got shape \(0,\)"),
        ({"radii": 1}, ValueError, r"radii must be a grid size >= 2 .* got 1\."),
        ({"radii": True}, TypeError, "radii must be an int"),
        ({"radii": "big"}, TypeError, "radii must be array-like of numbers"),
        (
            {"radii": [1.0], "norm": "l3"},
            ValueError,
            r"norm must be 'l1' or 'l2', got 'l3'\.",
        ),
        (
            {"radii": [1.0], "norm": 1},
            ValueError,
            r"norm must be 'l1' or 'l2', got 1\.",
        ),
        ({"radii": [1.0], "tol": 0.0}, ValueError, "tol must be positive"),
        (
            {"radii": [1.0], "check_every": 0},
            ValueError,
            r"check_every must be a positive integer, got 0\.",
        ),
        ({"radii": [1.0], "mode": "fast"}, ValueError, "mode must be one of"),
    ],
)
def test_bad_input_is_rejected(data, kwargs, exc, match):
    X, y = data
    with pytest.raises(exc, match=match):
        constrained_path(X, y, **kwargs)


def test_radii_is_required(data):
    X, y = data
    with pytest.raises(TypeError, match="radii"):
        constrained_path(X, y)


# --------------------------------------------------------------------------- #
# Box constraints of the penalized path (lower_limits / upper_limits, glmnet's)
# --------------------------------------------------------------------------- #
def box_kkt(Z, r, w, alpha, lower, upper, atol):
    """0 ∈ -q_j + alpha·∂|w_j| + N_[l_j, u_j](w_j) for every j, with q = Zᵀr/n
    (Z the centred columns on the solved scale, r the residual)."""
    assert abs(r.mean()) < 1e-9  # the intercept is optimal
    q = Z.T @ r / len(r)
    at_u = (w == upper) & (upper > 0)
    at_l = (w == lower) & (lower < 0)
    inside = ~at_u & ~at_l
    nz = inside & (w != 0)
    np.testing.assert_allclose(q[nz], alpha * np.sign(w[nz]), atol=atol)
    # w_j = 0 strictly inside the box: |q_j| <= alpha; a zero that is a bound
    # only needs the one-sided condition.
    zero = inside & (w == 0)
    assert (q[zero & (upper > 0)] <= alpha + atol).all()
    assert (q[zero & (lower < 0)] >= -alpha - atol).all()
    # At a bound the gradient pushes outwards: q_j >= alpha at u_j, <= -alpha at l_j.
    assert (q[at_u] >= alpha - atol).all()
    assert (q[at_l] <= -alpha + atol).all()


@pytest.mark.parametrize("standardize", [False, True])
def test_box_constrained_lasso_respects_bounds_and_kkt(data, standardize):
    X, y = data
    w_ls, _ = least_squares(X, y)
    # Bounds that cut several least-squares coefficients, one feature fixed >= 0,
    # one <= 0, and a mix of scalar and per-feature limits.
    lower = -0.4 * np.abs(w_ls)
    upper = 0.5 * np.abs(w_ls)
    lower[0], upper[1] = 0.0, 0.0
    path = jaxreg.lasso_path(
        X,
        y,
        alphas=12,
        eps=1e-3,
        lower_limits=lower,
        upper_limits=upper,
        tol=TOL,
        standardize=standardize,
    )
    assert path.converged.all()
    slack = 1e-12 * np.abs(w_ls) if standardize else 0.0
    assert (path.coefs >= lower - slack).all() and (path.coefs <= upper + slack).all()
    hit_u = np.isclose(path.coefs, upper, rtol=1e-12, atol=0) & (upper > 0)
    hit_l = np.isclose(path.coefs, lower, rtol=1e-12, atol=0) & (lower < 0)
    assert hit_u[-1].any() and hit_l[-1].any()  # the box binds at small alpha
    ref = reference.lasso_path(
        X,
        y,
        alphas=path.alphas,
        lower_limits=lower,
        upper_limits=upper,
        tol=TOL,
        standardize=standardize,
    )
    np.testing.assert_allclose(path.coefs, ref["coefs"], rtol=1e-6, atol=1e-8)
    sd = X.std(axis=0) if standardize else np.ones(X.shape[1])
    Z = (X - X.mean(0)) / sd
    lo, hi = lower * sd, upper * sd
    for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=True):
        # On the solved (standardized) scale these are the KKT conditions of the
        # lasso with box [l·sd, u·sd]; a coefficient within rounding of a bound
        # is at that bound.
        ws = w * sd
        ws = np.where(np.isclose(ws, hi, rtol=1e-12, atol=0), hi, ws)
        ws = np.where(np.isclose(ws, lo, rtol=1e-12, atol=0), lo, ws)
        box_kkt(Z, y - X @ w - b, ws, a, lo, hi, atol=1e-6 * path.alpha_max)


def test_positive_lasso_kkt(data):
    X, y = data
    path = jaxreg.lasso_path(X, y, alphas=12, positive=True, tol=TOL)
    assert (path.coefs >= 0).all()
    assert (path.coefs[-1] == 0).any()  # some least-squares coefficient is negative
    lower, upper = np.zeros(10), np.full(10, np.inf)
    for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=True):
        box_kkt(
            X - X.mean(0), y - X @ w - b, w, a, lower, upper, atol=1e-6 * path.alpha_max
        )
