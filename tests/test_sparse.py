"""Sparse X: the answers of the same data dense, without densifying it."""

import warnings

import numpy as np
import pytest
from conftest import traced

import jaxreg
from jaxreg import reference
from jaxreg import sparse as jsparse

sp = pytest.importorskip("scipy.sparse")

EPS = np.finfo(np.float64).eps


def data(n=400, p=30, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, random_state=seed, format="csr") * 3.0
    beta = rng.normal(size=p) * (rng.uniform(size=p) < 0.3)
    y = X @ beta + rng.normal(size=n)
    w = rng.uniform(0.0, 2.0, n)
    return X, np.asarray(y).ravel() + 5.0, w


def bound(a, b, Xd, w):
    """How far two certified solutions may be apart (strong convexity μ of the
    weighted, centred Gram): sqrt(2·(gap_a + gap_b)/μ), each gap known to the
    rounding of the objective's terms."""
    m = w @ Xd / w.sum()
    D = (Xd - m) * np.sqrt(w / w.mean())[:, None]
    keep = np.ptp(Xd, axis=0) > 0
    mu = np.linalg.eigvalsh((D.T @ D / len(w))[np.ix_(keep, keep)])[0]
    floor = 64 * EPS * a.gap_tol / a.tol
    gaps = np.maximum(a.gaps, 0) + np.maximum(b.gaps, 0) + 2 * floor
    return np.sqrt(2 * gaps / mu)[:, None] + 1e3 * EPS * np.abs(a.coefs).max()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bcoo"])
def test_paths_equal_dense(fmt):
    X, y, w = data()
    Xd = X.toarray()
    if fmt == "bcoo":
        sparse = pytest.importorskip("jax.experimental.sparse")
        Xs = sparse.BCOO.from_scipy_sparse(X)
    else:
        Xs = X.asformat(fmt)
    for l1 in (1.0, 0.5):
        a = jaxreg.enet_path(Xd, y, l1_ratio=l1, sample_weight=w, alphas=15, tol=1e-10)
        b = jaxreg.enet_path(Xs, y, l1_ratio=l1, sample_weight=w, alphas=15, tol=1e-10)
        assert b.converged.all()
        assert (np.abs(a.coefs - b.coefs) <= bound(a, b, Xd, w)).all()


def test_coef_init_and_warm_start_on_sparse_x():
    """coef_init (and the estimators' warm_start, which passes it) with sparse X
    and with sufficient statistics, whose targets live inside the reduced data:
    the path of the same start dense, and the rule for its shape."""
    X, y, w = data()
    Xd = X.toarray()
    start = np.linspace(-1.0, 1.0, X.shape[1])
    kw = dict(sample_weight=w, alphas=[0.1, 0.01], coef_init=start, tol=1e-10)
    a = jaxreg.lasso_path(Xd, y, **kw)
    stats = jaxreg.sufficient_stats(Xd, y, sample_weight=w)
    for b in (
        jaxreg.lasso_path(X, y, **kw),
        jaxreg.lasso_path(stats, **dict(kw, sample_weight=None)),
    ):
        assert b.converged.all()
        assert (np.abs(a.coefs - b.coefs) <= bound(a, b, Xd, w)).all()
    with pytest.raises(ValueError, match=r"coef_init must have shape \(30,\)"):
        jaxreg.lasso_path(X, y, alphas=[0.1], coef_init=np.ones(29))
    # the estimator calls the path function: the same numbers
    est = jaxreg.Lasso(alpha=0.05, warm_start=True, tol=1e-10, max_iter=20_000)
    est.coef_ = start
    b = jaxreg.lasso_path(X, y, alphas=[0.05], coef_init=start, tol=1e-10)
    np.testing.assert_array_equal(est.fit(X, y).coef_, b.coefs[0])


def test_limits_the_design_form_does_not_take_go_to_the_gram_form():
    """A wide sparse X goes to the design form, which takes sign limits on L1
    features only; a positive ridge (scikit-learn's Ridge(positive=True)) or
    other limits go to the Gram form instead of failing, and give the answer
    of the same data dense, within the certificates: the ridge part makes the
    objective (alpha/n)-strongly convex, so two solutions within tol·yy each
    are at most sqrt(4·tol·yy·n/alpha) apart."""
    rng = np.random.default_rng(3)
    X = sp.random(12, 100, density=0.3, random_state=3, format="csr")
    y = rng.uniform(size=12)
    tol, alpha = 1e-12, 1.0
    for fit_intercept in (False, True):
        kw = dict(alpha=alpha, positive=True, tol=tol, fit_intercept=fit_intercept)
        a = jaxreg.Ridge(**kw).fit(X, y)
        b = jaxreg.Ridge(**kw).fit(X.toarray(), y)
        assert a.coef_.min() >= 0
        yy = np.var(y) if fit_intercept else np.mean(y * y)
        d = np.sqrt(4 * tol * yy * 12 / alpha) + 1e3 * EPS * np.abs(b.coef_).max()
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=d)
    assert jaxreg.lasso_path(X, y, alphas=3, positive=True).mode == "design"
    box = jaxreg.lasso_path(X, y, alphas=3, lower_limits=-0.5, tol=1e-10)
    assert box.mode == "gram" and box.converged.all() and box.coefs.min() >= -0.5


def test_cv_and_ridge_equal_dense():
    X, y, w = data()
    Xd = X.toarray()
    fold_ids = np.arange(400) % 4
    a = jaxreg.cv_path(Xd, y, sample_weight=w, cv=fold_ids, alphas=15, tol=1e-10)
    b = jaxreg.cv_path(X, y, sample_weight=w, cv=fold_ids, alphas=15, tol=1e-10)
    assert a.index_min == b.index_min and a.index_1se == b.index_1se
    assert (np.abs(a.path.coefs - b.path.coefs) <= bound(a.path, b.path, Xd, w)).all()
    a = jaxreg.ridge_path(Xd, y, sample_weight=w, alphas=10)
    b = jaxreg.ridge_path(X, y, sample_weight=w, alphas=10)
    m = w @ Xd / w.sum()
    ev = np.linalg.eigvalsh(((Xd - m) * w[:, None]).T @ (Xd - m))
    rtol = 400 * EPS * ev[-1] / ev[0]  # a sum's rounding times the condition
    np.testing.assert_allclose(b.coefs, a.coefs, atol=rtol * np.abs(a.coefs).max())


def test_estimators_match_scikit_learn_on_sparse():
    sk = pytest.importorskip("sklearn.linear_model")
    X, y, _ = data(n=300, p=20)
    Xd = X.toarray()
    D = Xd - Xd.mean(axis=0)
    ev = np.linalg.eigvalsh(D.T @ D / 300)
    yy = np.mean((y - y.mean()) ** 2)
    # both stop within tol·yy of the optimum: sqrt(2·(tol + tol')·yy/μ) apart
    near = np.sqrt(2 * (1e-10 + 1e-12) * yy / ev[0])
    for ours, theirs in (
        (jaxreg.Lasso(alpha=0.05, tol=1e-10), sk.Lasso(alpha=0.05, tol=1e-12)),
        (
            jaxreg.ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-10),
            sk.ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-12, max_iter=100_000),
        ),
    ):
        ours.fit(X, y)
        theirs.fit(X, y)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=near)
    ridge = jaxreg.Ridge(alpha=2.0).fit(X, y)
    exact = sk.Ridge(alpha=2.0).fit(Xd, y)  # closed forms: cond·n·eps apart
    rtol = 300 * EPS * ev[-1] / ev[0]
    np.testing.assert_allclose(
        ridge.coef_, exact.coef_, atol=rtol * np.abs(exact.coef_).max()
    )
    np.testing.assert_allclose(
        ridge.predict(X[:5]), exact.predict(Xd[:5]), rtol=rtol, atol=rtol * abs(y).max()
    )
    cv = jaxreg.LassoCV(cv=3, alphas=10).fit(X, y)
    assert cv.mse_path_.shape == (10, 3)
    Xw, yw, _ = wide()
    Dw = Xw.toarray() - Xw.toarray().mean(axis=0)
    # closed forms on both sides: a sum's rounding times the condition of the
    # smallest alpha's system (sklearn's alpha is n·ours)
    cond = 1.0 + np.linalg.eigvalsh(Dw @ Dw.T)[-1] / 0.01
    rtol = 4 * len(yw) * EPS * cond
    cond_tall = 1.0 + ev[-1] * 300 / 0.01
    grid = [0.01, 0.1, 1.0, 10.0]
    for Xs, ys, c, kw in (
        (Xw, yw, rtol, {}),  # wide: leave-one-out from the n × n kernel
        (Xw, yw, rtol, {"cv": 3}),  # K-fold from sparse products
        (Xw, yw, rtol, {"store_cv_results": True}),  # rows of the p × p Gram
        (X, y, 4 * 300 * EPS * cond_tall, {}),  # tall: the Gram, rows in blocks
        (X, y, 4 * 300 * EPS * cond_tall, {"scoring": "r2"}),
    ):
        ours = jaxreg.RidgeCV(alphas=grid, **kw).fit(Xs, ys)
        theirs = sk.RidgeCV(alphas=grid, **kw).fit(Xs.toarray(), ys)
        assert ours.alpha_ == theirs.alpha_
        np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=c)
        atol = c * np.abs(theirs.coef_).max()
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=atol)
        if kw.get("store_cv_results"):
            scale = np.abs(theirs.cv_results_).max()
            np.testing.assert_allclose(
                ours.cv_results_, theirs.cv_results_, atol=c * scale
            )


def test_never_densified():
    """A tall sparse X (dense: 160 MB) is reduced with a small fraction of that."""
    rng = np.random.default_rng(1)
    n, p = 400_000, 50
    X = sp.random(n, p, density=2e-3, random_state=1, format="csr")
    y = np.asarray(X @ rng.normal(size=p)).ravel() + rng.normal(size=n)
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    st, peak = traced(jsparse.stats_of, X, y)
    # by design: a few copies of the CSR (the float64 copy, a fold's rows, the
    # weighted one and its conversion) and a few per-row vectors (y, its centred
    # and weighted copies, the weights, the positive-weight mask), and the Gram
    per_row = 8 * n
    assert peak <= 4 * csr_bytes + 6 * per_row + 4 * 8 * (p + 1) ** 2
    assert peak < 8 * n * p / 4  # a quarter of the dense array
    assert st.n_samples == n


def test_clear_errors():
    X, y, _ = data()
    from sklearn.model_selection import ShuffleSplit

    with pytest.raises(ValueError, match="partition"):
        jaxreg.cv_path(X, y, cv=ShuffleSplit(3, random_state=0), mode="gram")
    with pytest.raises(ValueError, match="mode='gram'"):
        jaxreg.lasso_path(X, y, mode="design", lower_limits=-1.0)
    with pytest.raises(ValueError, match="penalty_factor=0 on 25 features"):
        pf = np.ones(X.shape[1])
        pf[:25] = 0.0
        jaxreg.lasso_path(X[:20], y[:20], mode="design", penalty_factor=pf)
    with pytest.raises(ValueError, match="float64"):
        jaxreg.lasso_path(X, y, mode="design", dtype="float32")
    Xw = sp.random(20, 100, density=0.1, random_state=0, format="csr")
    with pytest.raises(ValueError, match="method='dual'"):
        jaxreg.ridge_path(Xw, np.arange(20.0), method="eigh")


def wide(n=60, p=300, seed=3):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.08, random_state=seed, format="lil") * 2.0
    X[:, 7] = X[:, 3]  # duplicated columns: a singular support is met and left
    beta = np.zeros(p)
    beta[:8] = rng.normal(size=8)
    y = np.asarray(X @ beta).ravel() + 0.1 * rng.normal(size=n) + 2.0
    return sp.csr_matrix(X), y, rng.uniform(0.0, 2.0, n)


def fit_bound(res_a, res_b):
    """How far two certified fits may be apart: the objective is 1-strongly convex
    in the (weighted, centred, scaled) fit ``D·w/√n``, so each certified ``w`` is
    within ``√(2·gap)`` of the unique optimal fit, each gap known to the rounding
    of the objective's terms."""
    floor = 128 * EPS * res_a.gap_tol / res_a.tol
    ga = np.sqrt(2 * (np.maximum(res_a.gaps, 0) + floor))
    gb = np.sqrt(2 * (np.maximum(res_b.gaps, 0) + floor))
    return ga + gb


def free_factor(p, free=(0, 5, 120)):
    """penalty_factor with the features ``free`` unpenalized (0)."""
    pf = np.ones(p)
    pf[list(free)] = 0.0
    return pf


KWS = [
    {},
    {"standardize": True},
    {"fit_intercept": False},
    {"weighted": True},
    {"free": True},
    {"free": True, "weighted": True, "standardize": True},
]
KW_IDS = ["plain", "standardize", "no-intercept", "weights", "free", "free-weights-std"]


def model_kw(kw, X, w):
    kw = dict(kw)
    if kw.pop("weighted", False):
        kw["sample_weight"] = w
    if kw.pop("free", False):
        kw["penalty_factor"] = free_factor(X.shape[1])
    return kw


@pytest.mark.parametrize("kw", KWS, ids=KW_IDS)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_design_form_is_certified_and_equals_dense(kw, l1_ratio):
    X, y, w = wide()
    kw = model_kw(kw, X, w)
    tol = 1e-8
    b = jaxreg.enet_path(X, y, l1_ratio=l1_ratio, alphas=25, tol=tol, **kw)
    a = jaxreg.enet_path(X.toarray(), y, l1_ratio=l1_ratio, alphas=25, tol=tol, **kw)
    assert b.mode == "design" and b.strategy == "active_set" and b.converged.all()
    np.testing.assert_allclose(b.alphas, a.alphas, rtol=1e-12)
    # the gaps, recomputed by the NumPy reference on the dense data
    Xd = X.toarray()
    ref = ref_gaps(Xd, y, b, l1_ratio=l1_ratio, **kw)
    floor = 128 * EPS * b.gap_tol / b.tol
    assert (ref <= b.gap_tol + floor).all()
    # the fits agree within what the two certificates allow
    sw = kw.get("sample_weight", np.ones(len(y)))
    s = sw * len(y) / sw.sum()
    center = kw.get("fit_intercept", True)
    m = s @ Xd / len(y) if center else np.zeros(Xd.shape[1])
    D = (Xd - m) * np.sqrt(s)[:, None]
    dist = np.linalg.norm((a.coefs - b.coefs) @ D.T, axis=1) / np.sqrt(len(y))
    assert (dist <= fit_bound(a, b) + 1e3 * EPS * np.abs(y).max()).all()


def ref_gaps(Xd, y, res, **kw):
    return np.array(
        [
            reference.duality_gap(Xd, y, c, i, al, **kw)
            for c, i, al in zip(res.coefs, res.intercepts, res.alphas, strict=True)
        ]
    )


@pytest.mark.parametrize("free", [False, True])
def test_design_form_cv_equals_dense(free):
    X, y, w = wide(n=90)
    folds = np.arange(90) % 3
    kw = dict(sample_weight=w, cv=folds, alphas=15, tol=1e-10)
    if free:
        kw["penalty_factor"] = free_factor(X.shape[1])
    b = jaxreg.cv_path(X, y, **kw)
    a = jaxreg.cv_path(X.toarray(), y, **kw)
    assert b.path.mode == "design"
    assert a.index_min == b.index_min
    np.testing.assert_allclose(b.mse_path, a.mse_path, rtol=1e-5, atol=1e-9)


def design_data(n, p=20000):
    """A wide CSR (density 2e-3) and a response from its first five columns."""
    X = sp.random(n, p, density=2e-3, random_state=1, format="csr")
    y = np.asarray(X[:, :5].sum(axis=1)).ravel()
    y += 0.01 * np.random.default_rng(0).normal(size=n)
    return X, y, 12 * X.nnz + 8 * (n + 1)  # and the CSR's bytes


def test_design_form_never_densifies():
    X, y, csr_bytes = design_data(2000)
    n, p = X.shape
    res, peak = traced(jaxreg.lasso_path, X, y, alphas=8, eps=0.1)
    assert res.mode == "design" and res.converged.all()
    # by design: copies of the CSR, a few dozen vectors of p, the coefficients
    # and the Gram of a working set a few times the support (df ≤ 20 here)
    assert peak <= 4 * csr_bytes + 64 * 8 * p + 2 * res.coefs.nbytes + 4 * 8 * 512**2
    assert peak < 8 * n * p / 16  # far below the dense array


def test_long_sparse_path_is_held_once():
    """A path of many levels dominates the memory: it is held once, from the
    solver to the data's units (the intercepts are products with it, not with
    a copy), beyond it only the set-up's vectors and a small working set."""
    X, y, csr_bytes = design_data(200)
    p = X.shape[1]
    jaxreg.lasso_path(X[:50], y[:50], alphas=3)  # compiled apart
    res, peak = traced(jaxreg.lasso_path, X, y, alphas=200, eps=0.1)
    assert res.mode == "design" and res.converged.all()
    assert peak <= res.coefs.nbytes + 64 * 8 * p + 4 * csr_bytes + 4 * 8 * 256**2


def test_centring_loss_is_announced():
    rng = np.random.default_rng(2)
    n = 500
    dense = np.column_stack([1e6 + rng.normal(size=n), rng.normal(size=n)])
    X = sp.csr_matrix(dense)
    with pytest.warns(RuntimeWarning, match="mean/sd"):
        jaxreg.lasso_path(X, dense[:, 1] + rng.normal(size=n), alphas=3)


def test_a_constant_column_loses_nothing_and_is_not_announced():
    """A constant column (a bias column of 0.1s, say) has a variance of rounding
    alone in the sparse moments; it is not a centring loss."""
    rng = np.random.default_rng(3)
    n = 97
    dense = np.column_stack([np.full(n, 0.1), rng.normal(size=n)])
    y = dense[:, 1] + rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = jaxreg.lasso_path(sp.csr_matrix(dense), y, alphas=3, tol=1e-10)
    assert np.all(res.coefs[:, 0] == 0)


@pytest.mark.parametrize("kw", KWS, ids=KW_IDS)
def test_design_form_ridge_equals_dense(kw):
    """Wide sparse ridge from its n × n kernel: the path, the leave-one-out error
    and cv_path's folds equal the dense ones."""
    X, y, w = wide()
    kw = model_kw(kw, X, w)
    Xd = X.toarray()
    grid = jaxreg.ridge_path(Xd, y, alphas=20, eps=1e-3, **kw).alphas
    a = jaxreg.ridge_path(Xd, y, alphas=grid, **kw)
    b = jaxreg.ridge_path(X, y, alphas=grid, **kw)
    assert b.mode == "dual" and b.converged.all()
    # Both solve (D·diag(1/scale))ᵀD/n + alpha·I from rounded kernels: apart by a
    # sum's rounding (n terms) times the condition (e_max + alpha)/alpha.
    sw = kw.get("sample_weight", np.ones(len(y)))
    s = sw * len(y) / sw.sum()
    m = s @ Xd / len(y) if kw.get("fit_intercept", True) else np.zeros(Xd.shape[1])
    D = (Xd - m) * np.sqrt(s)[:, None]
    if kw.get("standardize"):
        D = D / np.where(D.std(axis=0) > 0, np.sqrt((D * D).mean(axis=0)), 1.0)
    e_max = np.linalg.eigvalsh(D @ D.T / len(y))[-1]
    cond = (e_max + grid) / grid
    atol = 4 * len(y) * EPS * cond[:, None] * np.abs(a.coefs).max()
    assert (np.abs(b.coefs - a.coefs) <= atol).all()
    np.testing.assert_allclose(
        b.intercepts, a.intercepts, atol=4 * len(y) * EPS * cond.max() * np.abs(y).max()
    )
    la = jaxreg.ridge_loo(Xd, y, alphas=grid, **kw)
    lb = jaxreg.ridge_loo(X, y, alphas=grid, **kw)
    np.testing.assert_allclose(lb, la, rtol=4 * len(y) * EPS * cond.max())
    folds = np.arange(len(y)) % 3
    ca = jaxreg.cv_path(Xd, y, l1_ratio=0.0, cv=folds, alphas=grid, **kw)
    cb = jaxreg.cv_path(X, y, l1_ratio=0.0, cv=folds, alphas=grid, **kw)
    assert ca.index_min == cb.index_min
    np.testing.assert_allclose(
        cb.mse_path, ca.mse_path, rtol=4 * len(y) * EPS * cond.max()
    )
