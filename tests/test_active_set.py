"""The active-set solver for wide designs: certified, and the reference's answers."""

import numpy as np
import pytest
from conftest import make_data, traced

import jaxreg
from jaxreg import reference
from jaxreg.solvers import active_set, cholesky

EPS = np.finfo(np.float64).eps


def wide(n=60, p=300, seed=0, rho=0.5):
    return make_data(n, p, rho=rho, seed=seed)


def reference_gaps(X, y, res, **kw):
    return np.array(
        [
            reference.duality_gap(X, y, c, b, a, **kw)
            for c, b, a in zip(res.coefs, res.intercepts, res.alphas, strict=True)
        ]
    )


def distance_bound(X, res_a, res_b, l2):
    """How far two certified solutions may be apart: sqrt(2·(gap_a + gap_b)/μ),
    μ the strong convexity the L2 part gives (the lasso on p > n has none: the
    comparison is then of objectives, see the callers)."""
    gaps = np.maximum(res_a.gaps, 0) + np.maximum(res_b.gaps, 0)
    gaps = gaps + 128 * EPS * res_a.gap_tol / res_a.tol
    return np.sqrt(2 * gaps / (l2 * res_a.alphas))[:, None]


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_wide_paths_are_certified_by_the_reference(l1_ratio):
    X, y = wide()
    tol = 1e-8
    res = jaxreg.enet_path(X, y, l1_ratio=l1_ratio, alphas=30, tol=tol)
    assert res.strategy == "active_set" and res.converged.all()
    yy = np.mean((y - y.mean()) ** 2)
    gaps = reference_gaps(X, y, res, l1_ratio=l1_ratio)
    assert (gaps <= tol * yy).all()
    fista = jaxreg.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=30, tol=tol, strategy="hybrid"
    )
    assert fista.strategy != "active_set"
    if l1_ratio < 1:  # strongly convex: the solutions themselves agree
        bound = distance_bound(X, res, fista, 1 - l1_ratio)
        assert (np.abs(res.coefs - fista.coefs) <= bound).all()
    # objectives agree within the two certificates
    obj = [
        reference.objective(X, y, c, b, a, l1_ratio=l1_ratio)
        for c, b, a in zip(res.coefs, res.intercepts, res.alphas, strict=True)
    ]
    obj_f = [
        reference.objective(X, y, c, b, a, l1_ratio=l1_ratio)
        for c, b, a in zip(fista.coefs, fista.intercepts, fista.alphas, strict=True)
    ]
    assert (np.abs(np.subtract(obj, obj_f)) <= 2 * tol * yy + 64 * EPS * yy).all()


SIGNS = {
    "positive": dict(positive=True),
    "upper0": dict(upper_limits=0.0),
    "some": dict(lower_limits=np.where(np.arange(300) % 2 == 0, 0.0, -np.inf)),
}


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("limits", list(SIGNS))
def test_sign_constraints_on_wide_paths(limits, l1_ratio):
    """positive=True and limits at 0 stay on the active-set solver: every level
    certified by the reference's own gap, the limits hold, and the objectives
    are the reference coordinate descent's within the certificates."""
    kw = SIGNS[limits]
    X, y = wide()
    y = -y if limits == "upper0" else y  # a path that leaves 0
    tol = 1e-8
    res = jaxreg.enet_path(X, y, l1_ratio=l1_ratio, alphas=20, tol=tol, **kw)
    assert res.strategy == "active_set" and res.converged.all()
    lower = np.broadcast_to(
        kw.get("lower_limits", 0.0 if "positive" in kw else -np.inf), 300
    )
    upper = np.broadcast_to(kw.get("upper_limits", np.inf), 300)
    assert (res.coefs >= lower).all() and (res.coefs <= upper).all()
    assert (res.df[-5:] > 0).all()
    yy = np.mean((y - y.mean()) ** 2)
    assert (reference_gaps(X, y, res, l1_ratio=l1_ratio, **kw) <= tol * yy).all()
    ref = reference.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=res.alphas, tol=1e-12, **kw
    )
    for c, b, rc, rb, a in zip(
        res.coefs, res.intercepts, ref["coefs"], ref["intercepts"], res.alphas,
        strict=True,
    ):  # fmt: skip
        ours = reference.objective(X, y, c, b, a, l1_ratio=l1_ratio, **kw)
        best = reference.objective(X, y, rc, rb, a, l1_ratio=l1_ratio, **kw)
        assert ours - best <= tol * yy + 64 * EPS * yy


def test_sign_constraints_on_wide_sparse():
    """positive=True on a sparse X in design form: certified, non-negative, the
    dense data's objectives."""
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(7)
    X = sp.random(50, 400, density=0.05, random_state=7, format="csr")
    y = np.asarray(X @ rng.normal(size=400)).ravel() + 0.1 * rng.normal(size=50)
    res = jaxreg.lasso_path(X, y, alphas=20, tol=1e-8, positive=True)
    assert res.mode == "design" and res.strategy == "active_set"
    assert res.converged.all() and (res.coefs >= 0).all() and res.df[-1] > 0
    yy = np.mean((y - y.mean()) ** 2)
    Xd = X.toarray()
    assert (reference_gaps(Xd, y, res, positive=True) <= 1e-8 * yy).all()
    with pytest.raises(ValueError, match="no box limits but signs"):
        jaxreg.lasso_path(X, y, alphas=5, lower_limits=-1.0, mode="design")
    # left to choose, such limits take the Gram form (tests/test_sparse.py)
    assert jaxreg.lasso_path(X, y, alphas=5, lower_limits=-1.0).mode == "gram"


def test_small_wide_designs_take_it_whatever_their_padding():
    """A 6 x 24 design is padded to 32 rows (jaxreg._shapes.pad), which once
    made it "narrow": the dense path went to FISTA, the same data sparse (its
    moments, n = 6) to this solver, and on scikit-learn's test data their CV
    error paths differed by 0.4% of the largest. The route is decided on the
    caller's shape, so every form of the data takes the same solver and gives
    the same numbers, up to the rounding of the support's system (its condition
    number times eps)."""
    sp = pytest.importorskip("scipy.sparse")
    X, y = make_data(6, 24, rho=0.3, seed=5)
    w = np.random.default_rng(5).uniform(0.5, 2.0, 6)
    forms = (X, sp.csc_matrix(X), jaxreg.sufficient_stats(X, y, sample_weight=w))
    paths = [
        jaxreg.lasso_path(
            d,
            None if i == 2 else y,
            alphas=10,
            tol=1e-10,
            sample_weight=None if i == 2 else w,
        )  # fmt: skip
        for i, d in enumerate(forms)
    ]
    assert [r.strategy for r in paths] == ["active_set"] * 3
    a = paths[0]
    for b in paths[1:]:
        for ca, cb in zip(a.coefs, b.coefs, strict=True):
            S = np.flatnonzero(ca)
            m = w @ X[:, S] / w.sum()
            A = (X[:, S] - m) * np.sqrt(w)[:, None]
            kappa = np.linalg.cond(A.T @ A) if S.size else 1.0
            atol = 64 * kappa * EPS * max(np.abs(ca).max(), 1.0)
            np.testing.assert_allclose(cb, ca, rtol=0, atol=atol)


def test_coef_init_starts_the_support_search():
    """coef_init (and the estimators' warm_start) is the first level's start on
    this route too (it was ignored: a warm refit took every step again). From a
    certified solution the search confirms its support in a few steps and the
    answer is the same to its certificate's rounding."""
    sp = pytest.importorskip("scipy.sparse")
    X, y = wide(40, 160, seed=3)
    for data in (X, sp.csc_matrix(X)):
        cold = jaxreg.lasso_path(data, y, alphas=[0.02], tol=1e-10)
        warm = jaxreg.lasso_path(data, y, alphas=[0.02], tol=1e-10,
                                 coef_init=cold.coefs[0])  # fmt: skip
        assert cold.strategy == warm.strategy == "active_set"
        assert warm.converged.all() and warm.n_iter[0] < cold.n_iter[0] / 4
        assert (reference_gaps(X, y, warm) <= warm.gap_tol).all()
    est = jaxreg.Lasso(alpha=0.02, tol=1e-10).fit(X, y)
    first = est.n_iter_
    est.set_params(warm_start=True)
    assert est.fit(X, y).n_iter_ < first / 4


def test_options_weights_and_free_features():
    X, y = wide(seed=3)
    rng = np.random.default_rng(3)
    w = rng.uniform(0.0, 2.0, X.shape[0])
    pf = np.ones(X.shape[1])
    pf[:2] = 0.0
    kw = dict(sample_weight=w, penalty_factor=pf, standardize=True)
    res = jaxreg.lasso_path(X, y, alphas=20, tol=1e-8, **kw)
    assert res.strategy == "active_set" and res.converged.all()
    yy = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    assert (reference_gaps(X, y, res, **kw) <= 1e-8 * yy).all()


def test_cv_members_and_estimators():
    X, y = wide(n=80, p=400, seed=5)
    cv = jaxreg.cv_path(X, y, cv=4, alphas=20, tol=1e-8)
    assert cv.path.strategy == "active_set"
    assert cv.fold_converged.all() and cv.path.converged.all()
    sk = pytest.importorskip("sklearn.linear_model")
    ours = jaxreg.Lasso(alpha=0.05, tol=1e-10).fit(X, y)
    theirs = sk.Lasso(alpha=0.05, tol=1e-12, max_iter=200_000).fit(X, y)
    yy = np.mean((y - y.mean()) ** 2)
    obj = [
        reference.objective(X, y, m.coef_, m.intercept_, 0.05) for m in (ours, theirs)
    ]
    assert abs(obj[0] - obj[1]) <= 2 * 1e-10 * yy + 64 * EPS * yy


def test_explicit_strategy_and_its_limits():
    X, y = wide()
    res = jaxreg.lasso_path(X, y, alphas=5, strategy="active_set")
    assert res.strategy == "active_set"
    with pytest.raises(ValueError, match="box limits other than signs"):
        jaxreg.lasso_path(X, y, alphas=5, strategy="active_set", lower_limits=-1.0)
    with pytest.raises(ValueError, match="box limits other than signs"):
        jaxreg.lasso_path(  # a bounded feature without an L1 part
            X, y, alphas=5, strategy="active_set", positive=True,
            penalty_factor=np.r_[0.0, np.ones(X.shape[1] - 1)],
        )  # fmt: skip
    tall = make_data(300, 20)  # asked for: also in Gram form
    res = jaxreg.lasso_path(*tall, alphas=5, strategy="active_set", tol=1e-10)
    assert res.strategy == "active_set" and res.converged.all()


@pytest.mark.parametrize("mode", ["auto", "gram"])
def test_wide_sparse(mode):
    """Wide sparse X: the design form by default, the Gram form when asked."""
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(7)
    X = sp.random(50, 400, density=0.05, random_state=7, format="csr")
    y = np.asarray(X @ (rng.normal(size=400) * (rng.uniform(size=400) < 0.05)))
    y = y.ravel() + 0.1 * rng.normal(size=50)
    res = jaxreg.lasso_path(X, y, alphas=20, tol=1e-8, mode=mode)
    form = "design" if mode == "auto" else "gram"
    assert res.mode == form and res.strategy == "active_set" and res.converged.all()
    yy = np.mean((y - y.mean()) ** 2)
    assert (reference_gaps(X.toarray(), y, res) <= 1e-8 * yy).all()


@pytest.mark.parametrize("sparse", [False, True])
def test_gram_cache_dropping_features(monkeypatch, sparse):
    """With cache bounds of 1 and 0 the Gram cache drops every feature outside the
    working set whenever it grows (its buffer compacted, the design's known
    columns with it) and every working set is solved over its own block: the
    path is certified by the reference all the same, and its objectives match
    the unbounded cache's within the two certificates."""
    sp = pytest.importorskip("scipy.sparse")
    X, y = make_data(40, 300, rho=0.5, seed=5)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0)) if sparse else X
    Xd = Xs.toarray() if sparse else X
    tol = 1e-8
    free = jaxreg.lasso_path(Xs, y, alphas=25, eps=1e-3, tol=tol)
    monkeypatch.setattr(active_set, "CACHE_MAX", 1)
    monkeypatch.setattr(active_set, "CACHE_SPARE", 0)
    kept, dropped = [], []
    real = active_set._GramCache.ensure

    def ensure(self, idx):
        before = set(self.feat)
        real(self, idx)
        kept.append(self.feat.size == np.unique(idx).size)
        dropped.append(len(before - set(idx)))

    monkeypatch.setattr(active_set._GramCache, "ensure", ensure)
    bound = jaxreg.lasso_path(Xs, y, alphas=25, eps=1e-3, tol=tol)
    assert bound.strategy == "active_set" and bound.converged.all()
    assert all(kept) and sum(dropped) > 0  # only the working set, every time
    yy = np.mean((y - y.mean()) ** 2)
    assert (reference_gaps(Xd, y, bound) <= tol * yy).all()
    obj = [
        [reference.objective(Xd, y, c, b, a) for c, b, a in
         zip(r.coefs, r.intercepts, r.alphas, strict=True)]
        for r in (free, bound)
    ]  # fmt: skip
    slack = np.maximum(free.gaps, 0) + np.maximum(bound.gaps, 0) + 1e3 * EPS * yy
    assert (np.abs(np.subtract(*obj)) <= slack).all()


def test_gram_cache_views_and_blocks():
    """The cache serves a working set every cached feature's Gram without a
    copy (a view of its buffer) while they are at most twice as many, else
    the set's own block; blocks always equal the design's Gram."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(20, 50))
    cache = active_set._GramCache(active_set._Dense(A).blocks(), 50)
    W1 = np.array([4, 9, 2, 30])
    cache.ensure(W1)
    W2 = np.array([2, 30, 7, 11, 40])
    cache.ensure(W2)
    F, G = cache.view(W2)
    assert set(F) >= set(W2) and np.shares_memory(G, cache.buf)
    np.testing.assert_allclose(G, A[:, F].T @ A[:, F] / 20, rtol=1e-12, atol=1e-14)
    W3 = np.array([7])
    F, G = cache.view(W3)
    assert list(F) == [7] and not np.shares_memory(G, cache.buf)
    np.testing.assert_allclose(G, A[:, F].T @ A[:, F] / 20, rtol=1e-12)


def test_levels_left_short_get_fistas_answer(monkeypatch):
    X, y = wide()

    def stuck(*args, **kw):
        out = real(*args, **kw)
        out["gap"][..., ::2] = np.inf  # every other level "failed"
        out["converged"][..., ::2] = False
        return out

    real = active_set.solve_members
    monkeypatch.setattr(active_set, "solve_members", stuck)
    res = jaxreg.lasso_path(X, y, alphas=10, tol=1e-8)
    assert res.converged.all() and np.isfinite(res.gaps).all()


def test_auto_certifies_the_levels_fista_left_short():
    """strategy='auto' hands the levels FISTA left at max_iter (a correlated
    design, a tight tol) to the support search; FISTA alone flags them."""
    X, y = make_data(60, 40, rho=0.95, seed=5)
    kw = dict(alphas=10, tol=1e-10, max_iter=20)
    with pytest.warns(jaxreg.ConvergenceWarning):
        alone = jaxreg.lasso_path(X, y, strategy="parallel", **kw)
    assert not alone.converged.all()
    res = jaxreg.lasso_path(X, y, **kw)
    assert res.converged.all()
    # certified by the reference's own gap (a little rounding above tol·yy)
    slack = 1.0 + 1e3 * EPS / kw["tol"]
    assert np.all(reference_gaps(X, y, res) <= slack * res.gap_tol)


def test_auto_rescue_is_host_float64_and_auto_only(monkeypatch):
    """No support search for float32 or an explicit FISTA strategy (their
    levels stay as FISTA left them, flagged)."""
    X, y = make_data(60, 40, rho=0.95, seed=5)
    called = []
    real = active_set.solve_members

    def spy(*args, **kw):
        called.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(active_set, "solve_members", spy)
    with pytest.warns(jaxreg.ConvergenceWarning):
        jaxreg.lasso_path(X, y, alphas=10, tol=1e-10, max_iter=20, strategy="hybrid")
    with pytest.warns((jaxreg.ConvergenceWarning, UserWarning)):
        jaxreg.lasso_path(X, y, alphas=10, tol=1e-6, max_iter=5, dtype="float32")
    assert not called
    jaxreg.lasso_path(X, y, alphas=10, tol=1e-10, max_iter=20)
    assert called


def test_a_long_path_shows_its_levels(monkeypatch, capsys):
    """On a terminal (forced here), a path past ``PROGRESS_AFTER`` seconds
    counts its levels on stderr; a quicker one prints nothing."""
    X, y = wide()
    monkeypatch.setenv("JAXREG_PROGRESS", "1")
    jaxreg.lasso_path(X, y, alphas=6)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(active_set, "PROGRESS_AFTER", 0.0)
    jaxreg.lasso_path(X, y, alphas=6)
    err = capsys.readouterr().err
    assert "active-set path (levels)" in err and "6/6" in err


def test_supports_that_span_the_rows(monkeypatch):
    """At the small-alpha end of a p >> n path the support reaches the rank of
    the rows; a coordinate entering then makes the system singular, and the
    search steps along its null direction (no fallback to FISTA needed)."""
    from jaxreg import engine

    def no_fista(self, *a, **k):
        raise AssertionError("fell back to FISTA")

    monkeypatch.setattr(engine.Problem, "_solve_fista", no_fista)
    X, y = make_data(40, 200, rho=0.5, seed=11)
    res = jaxreg.lasso_path(X, y, alphas=40, eps=1e-4, tol=1e-8)
    assert res.converged.all() and res.df[-1] >= 30
    cv = jaxreg.cv_path(X, y, cv=4, alphas=40, eps=1e-4, tol=1e-8)
    assert cv.fold_converged.all()
    yy = np.mean((y - y.mean()) ** 2)
    assert (reference_gaps(X, y, res) <= 1e-8 * yy).all()


@pytest.mark.parametrize("deletion", ["givens", "qr"])
def test_kept_factor_follows_the_support(monkeypatch, deletion):
    """The support's Cholesky factor, appended and deleted along the steps (by
    either deletion), solves every system as a fresh solve does (within the
    conditioning's rounding), and refuses a dependent column."""
    costs = {"givens": (1e30, 0.0), "qr": (0.0, 1e30)}[deletion]
    monkeypatch.setattr(cholesky, "_QR_COST", costs[0])
    monkeypatch.setattr(cholesky, "_GIVENS_COST", costs[1])
    rng = np.random.default_rng(0)
    n, p = 40, 30
    X = rng.normal(size=(n, p))
    X[:, 29] = X[:, 3] - X[:, 5]  # dependent on two others
    G = X.T @ X / n
    b = np.zeros(p)
    chol = cholesky.Factor(G, b)
    supports = [
        np.arange(10),  # fresh
        np.r_[np.arange(10), 12, 15, 20],  # append
        np.r_[np.arange(1, 10), 12, 15, 20],  # delete at the front
        np.r_[np.arange(1, 10), 15, 20],  # delete inside
        np.r_[np.arange(1, 10), 15, 20, 21, 22, 0],  # append, in another order
        np.r_[2, 4, 6, 8, 15, 21, 25, 26],  # delete and append at once
    ]
    for T in supports:
        rhs = rng.normal(size=T.size)
        M = G[np.ix_(T, T)]
        x = chol.solve(T, rhs)
        exact = np.linalg.solve(M, rhs)
        bound = 8 * T.size * EPS * np.linalg.cond(M) * np.abs(exact).max()
        assert np.abs(x - exact).max() <= bound
    # column 29 = column 3 − column 5: dependent once both are in the support
    assert chol.solve(np.r_[3, 5, 7, 29], np.ones(4)) is None
    assert chol.solve(np.r_[3, 7, 29], np.ones(3)) is not None


def test_new_factor_in_one_square():
    """A new factor of k coordinates is made in the memory of its system (LAPACK
    on the system's own array, returned without a copy): one k × k array at
    the end, about two at the peak (the gather of its rows), not four."""
    rng = np.random.default_rng(2)
    k, p = 300, 310
    X = rng.normal(size=(2 * p, p))
    G = X.T @ X / (2 * p)
    chol = cholesky.Factor(G, np.zeros(p))
    T = rng.permutation(p)[:k]
    (order, L), peak = traced(chol.factor, T)
    square = 8 * k * k
    assert peak <= 2.5 * square  # the rows' gather (k × p) and the system
    M = G[np.ix_(order, order)]
    assert (
        L.flags.c_contiguous
        and np.abs(L @ L.T - M).max() <= 8 * k * EPS * np.abs(M).max()
    )


def test_factor_adopted_by_another_working_set(monkeypatch):
    """A factor kept by one working set and adopted by another (positions
    mapped, the features it lacks deleted) solves as a fresh factor does."""
    monkeypatch.setattr(cholesky, "_GIVENS_COST", 0.0)  # delete, however small
    rng = np.random.default_rng(1)
    n, p = 50, 40
    X = rng.normal(size=(n, p))
    G = X.T @ X / n
    b = np.zeros(p)
    first = cholesky.Factor(G, b)
    T0 = np.r_[0, 3, 5, 8, 11, 13, 20, 21]
    assert first.solve(T0, np.ones(T0.size)) is not None
    W = np.r_[1, 3, 4, 5, 8, 11, 20, 21, 30, 31]  # lacks features 0 and 13
    at = np.full(p, -1)
    at[W] = np.arange(W.size)
    GW = G[np.ix_(W, W)]
    chol = cholesky.Factor(GW, b[W])
    chol.adopt(at[first.T], first.L)
    assert set(W[chol.T]) == set(T0) - {0, 13}
    T = np.r_[at[[3, 5, 8, 11, 20, 21]], at[30]]  # kept, and one appended
    rhs = rng.normal(size=T.size)
    exact = np.linalg.solve(GW[np.ix_(T, T)], rhs)
    bound = 8 * T.size * EPS * np.linalg.cond(GW[np.ix_(T, T)]) * np.abs(exact).max()
    assert np.abs(chol.solve(T, rhs) - exact).max() <= bound


def test_single_threaded_blas_is_restored():
    """The host solver's one-thread BLAS setting holds inside the block only."""
    from jaxreg import _blas

    controls = [_blas._controls(p) for p in _blas._loaded_openblas()]
    controls = [c for c in controls if c != (None, None, None)]
    if not controls:
        pytest.skip("no OpenBLAS thread control in this process")

    def counts():
        out = []
        for local, get, _ in controls:
            if local is not None:
                before = local(1)
                local(before)
                out.append(before)
            else:
                out.append(get())
        return out

    before = counts()
    with _blas.single_threaded():
        assert counts() == [1] * len(controls)
    assert counts() == before
