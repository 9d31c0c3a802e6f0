"""The GLM families on a sparse X: certified by the reference from the dense
copy, the same problem as the dense route solves, never densified."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import jaxreg
from jaxreg import _sparse_glm
from jaxreg import reference as ref

EPS = np.finfo(np.float64).eps


def sparse_data(n, p, family, seed=0, density=0.1):
    """A CSR with non-zero column means (the centring is exercised) and a y of
    the family from a few of its features."""
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, p, density=density, format="csr", random_state=rng)
    X.data = 1.0 + rng.standard_normal(X.nnz)
    w = np.zeros(p)
    w[:4] = [1.5, -1.0, 1.0, 0.5]
    eta = X @ w
    eta -= eta.mean()
    if family == "binomial":
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    else:  # multinomial: three classes
        y = np.argmax(np.stack([eta, -eta, np.zeros(n)]) + rng.gumbel(size=(3, n)), 0)
        y = y.astype(float)
    return X, y


def rounding(X, value):
    """What the rounding of an objective of this size over these data can reach."""
    return X.shape[0] * EPS * max(abs(value), 1.0)


def certified(X, y, res, family, **kw):
    """Every alpha's gap recomputed by the reference (from the sparse X) is within
    the tolerance and equals the reported one; returns the objectives. The
    reference's dual point leaves an unpenalized feature's correlation as it is
    (its gap is finite only where that is exactly 0): there the objectives
    alone are returned."""
    free = np.any(np.asarray(kw.get("penalty_factor", 1.0)) == 0)
    objs = []
    for i, a in enumerate(res.alphas):
        common = dict(family=family, l1_ratio=res.l1_ratio)
        g = ref.glm_duality_gap(X, y, res.coefs[i], res.intercepts[i], a,
                                **common, **kw)  # fmt: skip
        P = ref.glm_objective(
            X, y, res.coefs[i], res.intercepts[i], a, **common,
            **{k: v for k, v in kw.items() if k != "fit_intercept"},
        )  # fmt: skip
        slack = rounding(X, P)
        objs.append(P)
        assert res.converged[i], i
        if free:
            continue
        assert g <= res.gap_tol + slack, (i, g, res.gap_tol)
        assert abs(g - res.gaps[i]) <= slack + 1e-6 * g, (i, g, res.gaps[i])
    return np.asarray(objs)


def same_problem(X, y, sparse_res, dense_res, family, **kw):
    """Both results certified for one problem: their objectives differ by at
    most the sum of their gaps."""
    Ps = certified(X, y, sparse_res, family, **kw)
    Pd = certified(X, y, dense_res, family, **kw)
    slack = np.array([rounding(X, P) for P in Ps])
    assert np.all(np.abs(Ps - Pd) <= sparse_res.gaps + dense_res.gaps + 2 * slack)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"fit_intercept": False},
        {"sample_weight": "random"},
        {"penalty_factor": "one free"},
    ],
)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_narrow_sparse_path_is_certified_and_solves_the_dense_problem(
    family, kw, l1_ratio
):
    # narrow: the dense route takes Newton steps, the sparse one FISTA's
    X, y = sparse_data(150, 12, family, seed=1, density=0.3)
    kw = dict(kw)
    if kw.get("sample_weight") == "random":
        kw["sample_weight"] = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    if kw.get("penalty_factor") == "one free":
        kw["penalty_factor"] = np.r_[0.0, np.ones(X.shape[1] - 1)]
    opts = dict(family=family, l1_ratio=l1_ratio, alphas=8, eps=0.05, tol=1e-8)
    rs = jaxreg.enet_path(X, y, **opts, **kw)
    rd = jaxreg.enet_path(X.toarray(), y, **opts, **kw)
    # alpha_max from X's correlations, summed in another order: n·eps
    np.testing.assert_allclose(rs.alphas, rd.alphas, rtol=X.shape[0] * EPS)
    assert rs.strategy != "newton" and rd.strategy == "newton"
    same_problem(X, y, rs, rd, family, **kw)


@pytest.mark.parametrize("family", ["binomial", "poisson", "multinomial"])
@pytest.mark.parametrize("kw", [{}, {"standardize": True}, {"fit_intercept": False}])
def test_wide_sparse_path_takes_the_dense_routes_steps(family, kw):
    """Wide (more columns than Newton takes on all of them): both routes solve
    on working sets by Newton's steps (the multinomial on all the columns by
    FISTA's); the coefficients agree within what their gaps allow by the
    strong convexity of the elastic net's L2 part."""
    X, y = sparse_data(80, 200, family, seed=3, density=0.05)
    l1_ratio = 0.5
    opts = dict(family=family, l1_ratio=l1_ratio, alphas=6, eps=0.1, tol=1e-10)
    rs = jaxreg.enet_path(X, y, **opts, **kw)
    rd = jaxreg.enet_path(X.toarray(), y, **opts, **kw)
    np.testing.assert_allclose(rs.alphas, rd.alphas, rtol=X.shape[0] * EPS)
    assert rs.converged.all() and rd.converged.all()
    scale = np.ones(X.shape[1])
    if kw.get("standardize"):
        # the penalty on w_j is weighted by the column's standard deviation
        sd = np.sqrt(np.maximum(X.power(2).mean(0).A1 - X.mean(0).A1 ** 2, 0))
        scale = np.where(sd > 0, sd, 1.0) ** 2
    for i, a in enumerate(rs.alphas):
        # min over coefficients of the L2 part's curvature: alpha·(1 - l1)·min p_j
        mu = a * (1.0 - l1_ratio) * scale.min()
        bound = np.sqrt(2 * max(rs.gaps[i], 0) / mu) + np.sqrt(
            2 * max(rd.gaps[i], 0) / mu
        )
        diff = np.linalg.norm(np.ravel(rs.coefs[i]) - np.ravel(rd.coefs[i]))
        assert diff <= bound + 1e-12 * max(1.0, np.abs(rd.coefs[i]).max()), (i, diff)
    if family != "multinomial" and not kw:
        certified(X, y, rs, family)


def test_the_reference_takes_sparse_x():
    X, y = sparse_data(50, 8, "binomial", seed=11, density=0.4)
    w = np.linspace(-1.0, 1.0, 8)
    for fn in (ref.glm_objective, ref.glm_duality_gap):
        a, b = (fn(A, y, w, 0.2, 0.01, family="binomial", l1_ratio=0.5)
                for A in (X, X.toarray()))  # fmt: skip
        assert abs(a - b) <= rounding(X, b), fn.__name__


def test_bcoo_coo_and_csc_give_the_csr_result():
    import jax.experimental.sparse as jsp

    X, y = sparse_data(60, 10, "binomial", seed=4, density=0.3)
    opts = dict(family="binomial", alphas=5, tol=1e-10)
    base = jaxreg.enet_path(X, y, **opts)
    for other in (X.tocsc(), X.tocoo()):
        res = jaxreg.enet_path(other, y, **opts)
        np.testing.assert_array_equal(res.coefs, base.coefs)
        np.testing.assert_array_equal(res.intercepts, base.intercepts)
    # a BCOO holds JAX's default dtype: the CSR of the same values
    bcoo = jsp.BCOO.fromdense(X.toarray())
    same = scipy.sparse.csr_matrix(np.asarray(bcoo.todense(), np.float64))
    res, base = (jaxreg.enet_path(A, y, **opts) for A in (bcoo, same))
    np.testing.assert_array_equal(res.coefs, base.coefs)


def test_x_is_never_densified(monkeypatch):
    """No dense copy of the sparse X (nor of any of its rows or columns) is
    made by a path, a cross-validation or the estimators, absent unpenalized
    features."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (scipy.sparse.csr_matrix, scipy.sparse.csc_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    X, y = sparse_data(90, 30, "binomial", seed=5)
    res = jaxreg.enet_path(X, y, family="binomial", alphas=4)
    assert res.converged.all()
    cv = jaxreg.cv_path(X, y, family="binomial", alphas=4, cv=3)
    assert cv.fold_converged.all() and np.isfinite(cv.alpha_min)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        est = jaxreg.LogisticRegression(C=1.0).fit(X, y)
    assert est.predict_proba(X).shape == (90, 2)


def test_logistic_and_poisson_estimators_take_sparse_x():
    """The estimators' sparse fits solve the dense fits' problems: for the L2
    penalty (strong convexity alpha), the coefficients agree within what both
    certificates allow."""
    X, y = sparse_data(100, 150, "binomial", seed=6)
    _, y3 = sparse_data(100, 150, "multinomial", seed=6)
    Xd = X.toarray()
    n = X.shape[0]
    for target in (y, y3):
        a = jaxreg.LogisticRegression(C=2.0, tol=1e-10).fit(X, target)
        b = jaxreg.LogisticRegression(C=2.0, tol=1e-10).fit(Xd, target)
        alpha = 1.0 / (2.0 * n)
        bound = np.sqrt(2 * a.dual_gap_ / alpha) + np.sqrt(2 * b.dual_gap_ / alpha)
        assert np.linalg.norm(a.coef_ - b.coef_) <= bound + 1e-12
        np.testing.assert_array_equal(a.predict(X), a.predict(Xd))
        np.testing.assert_allclose(a.predict_proba(X), a.predict_proba(Xd), rtol=1e-12)
    counts = sparse_data(100, 150, "poisson", seed=7)[1]
    a = jaxreg.PoissonRegressor(alpha=0.05, tol=1e-10).fit(X, counts)
    b = jaxreg.PoissonRegressor(alpha=0.05, tol=1e-10).fit(Xd, counts)
    bound = np.sqrt(2 * a.dual_gap_ / 0.05) + np.sqrt(2 * b.dual_gap_ / 0.05)
    assert np.linalg.norm(a.coef_ - b.coef_) <= bound + 1e-12
    np.testing.assert_allclose(a.predict(X), a.predict(Xd), rtol=1e-12)


def test_logistic_regression_cv_on_sparse_x_chooses_the_dense_c():
    X, y = sparse_data(120, 20, "binomial", seed=8, density=0.3)
    kw = dict(Cs=4, cv=3, tol=1e-10, l1_ratios=(0.0,), scoring="neg_log_loss",
              use_legacy_attributes=False)  # fmt: skip
    a = jaxreg.LogisticRegressionCV(**kw).fit(X, y)
    b = jaxreg.LogisticRegressionCV(**kw).fit(X.toarray(), y)
    assert a.C_ == b.C_
    # held-out log-losses of solutions certified to tol 1e-10 of D_null/n
    np.testing.assert_allclose(a.scores_, b.scores_, rtol=0, atol=1e-4)


def test_levels_are_batched_within_the_memory_budget(monkeypatch):
    """On all the columns (FISTA), a budget below one level's product
    temporaries solves one level at a time: the same certified path."""
    X, y = sparse_data(60, 150, "binomial", seed=9)
    opts = dict(family="binomial", alphas=6, eps=0.1, tol=1e-10, screen="none")
    chunks = []
    batching = _sparse_glm.SparseGLMProblem._batching

    def spy(self, k):
        plan = batching(self, k)
        chunks.append(plan.chunk)
        return plan

    monkeypatch.setattr(_sparse_glm.SparseGLMProblem, "_batching", spy)
    base = jaxreg.enet_path(X, y, **opts)
    monkeypatch.setattr(_sparse_glm, "BATCH_BYTES", 1)
    res = jaxreg.enet_path(X, y, **opts)
    assert chunks[0] > 1 and chunks[1] == 1
    assert res.converged.all()
    np.testing.assert_array_equal(res.alphas, base.alphas)
    certified(X, y, res, "binomial")


def test_sparse_family_errors():
    X, y = sparse_data(30, 5, "binomial", seed=10, density=0.5)
    with pytest.raises(ValueError, match="strategy='newton' is not available"):
        jaxreg.enet_path(X, y, family="binomial", strategy="newton")
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        jaxreg.enet_path(bad, y, family="binomial")
    with pytest.raises(ValueError, match="y must have 30 rows"):
        jaxreg.enet_path(X, y[:-1], family="binomial")
    st = jaxreg.sufficient_stats(X.toarray(), y)
    with pytest.raises(ValueError, match="takes X itself"):
        jaxreg.enet_path(st, family="binomial")


def test_sparsify_and_densify_keep_the_predictions():
    X, y = sparse_data(80, 40, "binomial", seed=12)
    _, y3 = sparse_data(80, 40, "multinomial", seed=12)
    for target in (y, y3):
        est = jaxreg.LogisticRegression(C=0.5, l1_ratio=1.0, tol=1e-8).fit(X, target)
        dense = est.coef_.copy()
        before = est.predict_proba(X), est.decision_function(X.toarray())
        assert est.sparsify() is est and scipy.sparse.issparse(est.coef_)
        np.testing.assert_array_equal(est.coef_.toarray(), dense)
        np.testing.assert_allclose(est.predict_proba(X), before[0], rtol=1e-12)
        np.testing.assert_allclose(est.decision_function(X.toarray()), before[1],
                                   rtol=1e-12, atol=1e-15)  # fmt: skip
        est.set_params(warm_start=True).fit(X, target)  # from the sparse coef_
        assert isinstance(est.coef_, np.ndarray)
        assert est.sparsify().densify() is est
        assert isinstance(est.coef_, np.ndarray)
    with pytest.raises(Exception, match="not fitted"):
        jaxreg.LogisticRegression().sparsify()


def test_constant_columns_are_constant():
    """A constant column's E[x²] − x̄² is rounding: its spread is 0, as dense,
    not 1e-8 (which would scale it up 1e8-fold); with standardize too."""
    X, y = sparse_data(97, 12, "binomial", seed=13, density=0.3)
    X = X.tolil()
    X[:, 3], X[:, 5] = 0.1, 1.0 / 3.0
    X = X.tocsr()
    problem = _sparse_glm.SparseGLMProblem(X, y, *_options(X), "binomial")
    assert problem.d[3] == 1.0 and problem.d[5] == 1.0
    for std in (False, True):
        opts = dict(family="binomial", alphas=6, tol=1e-10, standardize=std)
        rs = jaxreg.enet_path(X, y, **opts)
        rd = jaxreg.enet_path(X.toarray(), y, **opts)
        assert rs.converged.all()
        assert np.all(rs.coefs[:, [3, 5]] == 0) and np.all(rd.coefs[:, [3, 5]] == 0)


def _options(X):
    """The validated model and solver options of a call with defaults."""
    from jaxreg import _validation as V

    model, solver = V.split_keywords({})
    return V.check_model(*X.shape, **model), V.check_solver(**solver)


def test_the_callers_sparse_matrix_is_left_as_it_was():
    """A CSR with unsorted and duplicate entries is solved as its canonical form,
    and stays as the caller built it (its arrays were sorted in place)."""
    X, y = sparse_data(40, 6, "binomial", seed=14, density=0.5)
    rows = np.repeat(np.arange(40), np.diff(X.indptr))
    # every entry split in two halves, the halves in reverse column order
    order = np.lexsort((-X.indices, rows))
    idx = np.concatenate([X.indices[order], X.indices[order]])
    val = np.concatenate([X.data[order], X.data[order]]) / 2.0
    by_row = np.argsort(np.concatenate([rows[order], rows[order]]), kind="stable")
    messy = scipy.sparse.csr_matrix((val[by_row], idx[by_row], 2 * X.indptr), X.shape)
    assert not messy.has_canonical_format
    kept = (messy.data.copy(), messy.indices.copy(), messy.indptr.copy())
    for call in (
        lambda A: jaxreg.enet_path(A, y, family="binomial", alphas=3),
        lambda A: jaxreg.lasso_path(A, y, alphas=3),
    ):
        a, b = call(messy), call(X)
        # halves of a float sum back to it exactly: the same matrix as X
        np.testing.assert_array_equal(a.coefs, b.coefs)
        now = (messy.data, messy.indices, messy.indptr)
        for after, before in zip(now, kept, strict=True):
            np.testing.assert_array_equal(after, before)
