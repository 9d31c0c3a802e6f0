"""Group penalties: the sparse-group lasso (``groups=``) and the multi-task elastic
net (``family="mgaussian"`` and the MultiTask estimators), against the NumPy
reference (:func:`jaxreg.reference.group_duality_gap`, its own dual point and
solver), scikit-learn's multi-task models, and the maths (singleton groups are the
lasso; alpha_max gives zeros; one target is the elastic net)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import linear_model as lm
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import check_estimator

import jaxreg
from jaxreg import reference as R
from jaxreg.penalties import GroupElasticNet

EPS = np.finfo(np.float64).eps


def _multi_data(n=60, p=12, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + rng.normal(size=p)
    W = np.zeros((p, T))
    W[:4] = rng.normal(size=(4, T))
    Y = X @ W + 0.5 * rng.normal(size=(n, T)) + 2.0
    return X, Y


def _group_data(n=50, p=12, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = np.zeros(p)
    w[:3] = [1.5, -1.0, 0.5]  # group 0 active, the others noise
    y = X @ w + 0.5 * rng.normal(size=n) + 1.0
    return X, y, np.repeat(np.arange(4), 3)


def _check_gaps(res, X, y, **kw):
    """Every alpha's gap recomputed by the reference: it agrees with the reported
    one (both are gaps at the same point, with dual points built independently:
    up to rounding of the objective) and is within the certificate's threshold."""
    for i, a in enumerate(res.alphas):
        gap = R.group_duality_gap(X, y, res.coefs[i], a, **kw)
        scale = res.gap_tol / jaxreg.path.DEFAULT_MAX_ITER  # far below tol
        assert gap <= res.gap_tol, (i, gap, res.gap_tol)
        assert abs(gap - res.gaps[i]) <= max(1e-9 * res.gap_tol / res.tol, scale)


# --------------------------------------------------------------------------- #
# The penalty
# --------------------------------------------------------------------------- #
def test_group_penalty_prox_is_the_minimiser():
    """prox against a brute-force check of the optimality of its output: the
    prox objective does not decrease along random directions."""
    rng = np.random.default_rng(0)
    p, G = 9, 3
    ids = np.repeat(np.arange(G), 3)
    pen = GroupElasticNet(
        np.array([0.7]), rng.uniform(0, 1, p), rng.uniform(0, 1, G),
        np.array([0.0, 0.5, 0.0]), ids,
    )  # fmt: skip
    v = rng.normal(size=(1, p)) * 2
    w = np.asarray(pen.prox(v, 1.0))

    def f(z):
        return 0.5 * np.sum((z - v) ** 2) + float(pen.value(z)[0])

    base = f(w)
    for _ in range(200):
        d = rng.normal(size=(1, p)) * 1e-4
        assert f(w + d) >= base - 1e-12


def test_group_fenchel_young_vanishes_at_a_subgradient():
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(3), 2)
    pen = GroupElasticNet(
        np.array([1.0]), np.full(6, 0.3), np.ones(3), np.array([0.0, 0.2, 0.0]), ids
    )
    v = rng.normal(size=(1, 6)) * 3
    w = np.asarray(pen.prox(v, 1.0))  # v - w is a subgradient at w
    assert abs(float(pen.fenchel_young(w, v - w)[0])) <= 1e-12
    other = rng.normal(size=(1, 6))
    s = float(pen.dual_scale(other)[0])
    assert float(pen.fenchel_young(w, s * other)[0]) >= -1e-12


def test_group_dual_norm_numpy_and_jax_agree():
    rng = np.random.default_rng(2)
    ids = np.array([0, 0, 1, 1, 1, 2])
    pen = GroupElasticNet(
        np.array([1.0]), np.full(6, 0.4), np.array([1.0, 2.0, 0.5]), np.zeros(3), ids
    )
    q = rng.normal(size=(1, 6))
    host = pen.group_dual_norm(q)
    with jax.enable_x64(True):
        dev = np.asarray(jax_penalty(pen).group_dual_norm(jnp.asarray(q)))
    np.testing.assert_allclose(host, dev, rtol=1e-12)
    # the dual norm is where the soft-thresholded group norm meets t·c
    t = host[0]
    for g in range(3):
        m = ids == g
        u = np.sign(q[0, m]) * np.maximum(np.abs(q[0, m]) - t[g] * 0.4, 0)
        assert np.linalg.norm(u) == pytest.approx(t[g] * pen.gw[g], rel=1e-12)


def jax_penalty(pen):
    return GroupElasticNet(*(jnp.asarray(a) for a in pen))


# --------------------------------------------------------------------------- #
# groups=: the sparse-group lasso
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_sparse_group_lasso_matches_reference(l1_ratio):
    X, y, groups = _group_data()
    tol = 1e-10
    res = jaxreg.enet_path(X, y, groups=groups, l1_ratio=l1_ratio, alphas=8, tol=tol)
    assert res.converged.all()
    _check_gaps(res, X, y, l1_ratio=l1_ratio, groups=groups)
    coefs, intercepts, gaps = R.group_enet_path(
        X, y, res.alphas, l1_ratio=l1_ratio, groups=groups, tol=tol
    )
    for i, a in enumerate(res.alphas):
        ours = R.group_objective(X, y, res.coefs[i], a, l1_ratio=l1_ratio,
                                 groups=groups)  # fmt: skip
        theirs = R.group_objective(X, y, coefs[i], a, l1_ratio=l1_ratio,
                                   groups=groups)  # fmt: skip
        # both are within their gaps of the same minimum
        assert abs(ours - theirs) <= res.gaps[i] + gaps[i] + 1e-15 * abs(theirs)
    # intercepts are ȳ - x̄·w
    np.testing.assert_allclose(
        res.intercepts, y.mean() - res.coefs @ X.mean(axis=0), rtol=1e-12
    )
    # the group lasso selects whole groups
    if l1_ratio == 0.0:
        nz = res.coefs.reshape(len(res.alphas), 4, 3) != 0
        assert (nz.all(axis=2) | ~nz.any(axis=2)).all()


def test_singleton_groups_are_the_lasso():
    """With one feature per group, l1_ratio·|w| + (1 − l1_ratio)·|w| = |w|."""
    X, y, _ = _group_data()
    tol = 1e-10
    lasso = jaxreg.lasso_path(X, y, alphas=8, tol=tol)
    for r in (0.0, 0.3):
        res = jaxreg.enet_path(
            X, y, groups=np.arange(X.shape[1]), l1_ratio=r, alphas=lasso.alphas,
            tol=tol,
        )  # fmt: skip
        np.testing.assert_allclose(res.alpha_max, lasso.alpha_max, rtol=1e-12)
        for i, a in enumerate(lasso.alphas):
            P = [
                R.group_objective(X, y, c, a, l1_ratio=1.0, groups=np.arange(12))
                for c in (res.coefs[i], lasso.coefs[i])
            ]
            assert abs(P[0] - P[1]) <= res.gaps[i] + lasso.gaps[i] + 1e-15 * P[1]


def test_group_alpha_max_gives_zeros():
    X, y, groups = _group_data()
    for r in (0.0, 0.5, 1.0):
        res = jaxreg.enet_path(X, y, groups=groups, l1_ratio=r, alphas=3, tol=1e-10)
        amax = res.alpha_max
        assert (res.coefs[0] == 0).all()
        below = jaxreg.enet_path(
            X, y, groups=groups, l1_ratio=r, alphas=[amax * (1 - 1e-3)], tol=1e-12
        )
        assert (below.coefs[0] != 0).any()


def test_group_weights_and_penalty_factor_match_reference():
    X, y, groups = _group_data()
    rng = np.random.default_rng(3)
    sw = rng.uniform(0.5, 2.0, X.shape[0])
    pf = rng.uniform(0.5, 2.0, X.shape[1])
    kw = dict(l1_ratio=0.4, groups=groups, sample_weight=sw, penalty_factor=pf)
    res = jaxreg.enet_path(X, y, alphas=6, tol=1e-10, **kw)
    assert res.converged.all()
    _check_gaps(res, X, y, **kw)


def test_group_excluded_features_leave_their_group():
    X, y, groups = _group_data()
    pf = np.ones(12)
    pf[[3, 4]] = np.inf
    res = jaxreg.enet_path(X, y, groups=groups, l1_ratio=0.0, alphas=5,
                           penalty_factor=pf, tol=1e-10)  # fmt: skip
    keep = np.isfinite(pf)
    assert (res.coefs[:, ~keep] == 0).all()
    sub = jaxreg.enet_path(X[:, keep], y, groups=groups[keep], l1_ratio=0.0,
                           alphas=res.alphas, tol=1e-10)  # fmt: skip
    np.testing.assert_allclose(res.coefs[:, keep], sub.coefs, atol=1e-12)


def test_group_string_labels():
    X, y, groups = _group_data()
    labels = np.array(["a", "b", "c", "d"])[groups]
    a = jaxreg.enet_path(X, y, groups=labels, l1_ratio=0.5, alphas=4)
    b = jaxreg.enet_path(X, y, groups=groups, l1_ratio=0.5, alphas=4)
    np.testing.assert_array_equal(a.coefs, b.coefs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(groups=np.arange(5)), "one group label per feature"),
        (dict(groups=np.linspace(0, 1, 12)), "integer"),
        (dict(groups=np.arange(12), family="mgaussian"), "cannot be combined"),
        (dict(groups=np.arange(12), positive=True), "box limits"),
        (dict(groups=np.arange(12), relax=True), "relax"),
    ],
)
def test_group_errors(kwargs, match):
    X, y, _ = _group_data()
    with pytest.raises(ValueError, match=match):
        jaxreg.enet_path(X, y, alphas=3, **kwargs)


# --------------------------------------------------------------------------- #
# family="mgaussian" and the multi-task estimators
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_mgaussian_path_matches_sklearn(l1_ratio):
    X, Y = _multi_data()
    res = jaxreg.enet_path(X, Y, family="mgaussian", l1_ratio=l1_ratio, alphas=10,
                           tol=1e-10)  # fmt: skip
    assert isinstance(res, jaxreg.results.MultiTargetPath)
    assert res.coefs.shape == (10, 3, 12) and res.family == "mgaussian"
    assert res.converged.all() and res.target_gaps is None
    _check_gaps(res, X, Y, l1_ratio=l1_ratio)
    # rows of W are zero together
    assert ((res.coefs != 0).all(axis=1) | (res.coefs == 0).all(axis=1)).all()
    for i in (2, 6, 9):
        a = res.alphas[i]
        sk = lm.MultiTaskElasticNet(alpha=a, l1_ratio=l1_ratio, tol=1e-12,
                                    max_iter=100_000).fit(X, Y)  # fmt: skip
        P = [
            R.group_objective(X, Y, c, a, l1_ratio=l1_ratio)
            for c in (res.coefs[i], sk.coef_)
        ]
        sk_gap = R.group_duality_gap(X, Y, sk.coef_, a, l1_ratio=l1_ratio)
        assert abs(P[0] - P[1]) <= res.gaps[i] + sk_gap + 1e-15 * P[1]
        np.testing.assert_allclose(
            res.intercepts[i], Y.mean(0) - X.mean(0) @ res.coefs[i].T, rtol=1e-12
        )


def test_mgaussian_one_target_is_the_elastic_net():
    X, Y = _multi_data(T=1)
    multi = jaxreg.enet_path(X, Y, family="mgaussian", l1_ratio=0.5, alphas=6,
                             tol=1e-10)  # fmt: skip
    single = jaxreg.enet_path(X, Y[:, 0], l1_ratio=0.5, alphas=multi.alphas,
                              tol=1e-10)  # fmt: skip
    for i, a in enumerate(multi.alphas):
        P = [
            R.group_objective(X, Y, c.reshape(1, -1), a, l1_ratio=0.5)
            for c in (multi.coefs[i, 0], single.coefs[i])
        ]
        assert abs(P[0] - P[1]) <= multi.gaps[i] + single.gaps[i] + 1e-15 * P[1]


def test_multitask_l1_ratio_zero_is_each_tasks_ridge():
    """At l1_ratio = 0 the group norm is gone and the tasks separate: each is
    scikit-learn's Ridge (alpha·n), solved in closed form and exact up to the
    rounding of the ridge system (its condition number times eps); the joint
    certificate is the sum of exact gaps, 0, and CV over l1_ratio=0 agrees."""
    X, Y = _multi_data(n=40, p=12, T=3)
    n = len(Y)
    Xc = X - X.mean(0)
    for a in (1e-4, 0.1, 10.0):
        ours = jaxreg.MultiTaskElasticNet(alpha=a, l1_ratio=0, tol=1e-12).fit(X, Y)
        theirs = lm.Ridge(alpha=a * n, solver="svd").fit(X, Y)
        ev = np.linalg.eigvalsh(Xc.T @ Xc + a * n * np.eye(12))
        atol = 64 * (ev[-1] / ev[0]) * EPS * np.abs(theirs.coef_).max()
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=atol)
        assert ours.dual_gap_ == 0.0 and ours.n_iter_ == 1
    cv = jaxreg.MultiTaskElasticNetCV(l1_ratio=0, alphas=[10.0, 0.1, 1e-4], cv=3)
    sk_cv = lm.MultiTaskElasticNetCV(l1_ratio=0, alphas=[10.0, 0.1, 1e-4], cv=3,
                                     tol=1e-12, max_iter=100_000).fit(X, Y)  # fmt: skip
    with warnings.catch_warnings():  # the optimum may be the grid's edge
        warnings.simplefilter("ignore", UserWarning)
        assert cv.fit(X, Y).alpha_ == sk_cv.alpha_


def test_mgaussian_cv_matches_sklearn():
    X, Y = _multi_data(n=80)
    tol = 1e-12
    cv = jaxreg.cv_path(X, Y, family="mgaussian", l1_ratio=0.7, alphas=15, cv=4,
                        tol=tol)  # fmt: skip
    sk = lm.MultiTaskElasticNetCV(l1_ratio=0.7, alphas=cv.alphas, cv=KFold(4),
                                  tol=tol, max_iter=100_000).fit(X, Y)  # fmt: skip
    assert cv.alpha_min == pytest.approx(sk.alpha_, rel=1e-12)
    # coefficients within O(sqrt(gap)) of the optimum move the held-out error by
    # as much, relative
    np.testing.assert_allclose(cv.mse_path, sk.mse_path_, rtol=100 * np.sqrt(tol))


@pytest.mark.parametrize(
    "ours, theirs, kw",
    [
        (jaxreg.MultiTaskLasso, lm.MultiTaskLasso, dict(alpha=0.1)),
        (jaxreg.MultiTaskElasticNet, lm.MultiTaskElasticNet,
         dict(alpha=0.1, l1_ratio=0.3)),
    ],
)  # fmt: skip
def test_multitask_estimators_match_sklearn(ours, theirs, kw):
    X, Y = _multi_data()
    a = ours(tol=1e-10, **kw).fit(X, Y)
    b = theirs(tol=1e-12, max_iter=100_000, **kw).fit(X, Y)
    r = kw.get("l1_ratio", 1.0)
    P = [R.group_objective(X, Y, m.coef_, kw["alpha"], l1_ratio=r) for m in (a, b)]
    assert abs(P[0] - P[1]) <= a.dual_gap_ + b.dual_gap_ + 1e-15 * P[1]
    assert a.coef_.shape == b.coef_.shape and a.intercept_.shape == (3,)
    assert a.eps_ == pytest.approx(b.eps_ * 100, rel=1e-9)  # tol 1e-10 vs 1e-12
    np.testing.assert_allclose(a.predict(X), X @ a.coef_.T + a.intercept_)


@pytest.mark.parametrize(
    "ours, theirs, kw",
    [
        (jaxreg.MultiTaskLassoCV, lm.MultiTaskLassoCV, dict(cv=KFold(3))),
        (jaxreg.MultiTaskElasticNetCV, lm.MultiTaskElasticNetCV,
         dict(cv=KFold(3), l1_ratio=[0.3, 0.9])),
    ],
)  # fmt: skip
def test_multitask_cv_estimators_match_sklearn(ours, theirs, kw):
    X, Y = _multi_data(n=70)
    a = ours(tol=1e-12, alphas=20, **kw).fit(X, Y)
    b = theirs(tol=1e-12, max_iter=100_000, alphas=20, **kw).fit(X, Y)
    assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
    np.testing.assert_allclose(a.alphas_, b.alphas_, rtol=1e-12)
    assert getattr(a, "l1_ratio_", None) == getattr(b, "l1_ratio_", None)
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=100 * np.sqrt(1e-12))
    assert a.coef_.shape == b.coef_.shape


def test_multitask_refuses_one_dimensional_y():
    X, Y = _multi_data()
    with pytest.raises(ValueError, match="For mono-task outputs, use Lasso"):
        jaxreg.MultiTaskLasso().fit(X, Y[:, 0])


@pytest.mark.parametrize(
    "est",
    [jaxreg.MultiTaskElasticNet(), jaxreg.MultiTaskLassoCV(cv=3, alphas=5)],
    ids=lambda e: type(e).__name__,
)
def test_multitask_check_estimator(est):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est)


def test_group_working_sets_change_nothing():
    """The group strong rule with the KKT check: the same certified solutions
    with working sets as without."""
    rng = np.random.default_rng(4)
    n, p = 60, 200
    X = rng.normal(size=(n, p))
    groups = np.repeat(np.arange(p // 4), 4)
    w = np.zeros(p)
    w[:8] = rng.normal(size=8)
    y = X @ w + rng.normal(size=n)
    for r in (0.0, 0.5):
        kw = dict(groups=groups, l1_ratio=r, alphas=6, tol=1e-10)
        plain = jaxreg.enet_path(X, y, screen="none", **kw)
        ws = jaxreg.enet_path(X, y, screen="strong", strategy="hybrid", **kw)
        assert plain.converged.all() and ws.converged.all()
        _check_gaps(ws, X, y, l1_ratio=r, groups=groups)
        for i, a in enumerate(ws.alphas):
            P = [
                R.group_objective(X, y, c, a, l1_ratio=r, groups=groups)
                for c in (ws.coefs[i], plain.coefs[i])
            ]
            assert abs(P[0] - P[1]) <= ws.gaps[i] + plain.gaps[i] + 1e-15 * P[1]


def test_group_strong_score_and_kkt():
    """The score of a coordinate is its group's dual norm; a zero group violates
    its optimality condition exactly when that norm exceeds the level."""
    ids = np.array([0, 0, 1, 1])
    pen = GroupElasticNet(np.array([1.0]), np.zeros(4), np.ones(2), np.zeros(2), ids)
    Q = np.array([[3.0, 4.0, 0.6, 0.8]])  # group norms 5 and 1
    np.testing.assert_allclose(pen.strong_score(Q), [[5.0, 5.0, 1.0, 1.0]])
    lvl = pen.with_levels(np.array([2.0]))
    np.testing.assert_array_equal(lvl.kkt_violation(Q), [[True, True, False, False]])
    sub = pen.restrict(np.array([2, 3, 0]), np.array([True, True, False]))
    np.testing.assert_array_equal(sub.ids, [1, 1, 0])
    np.testing.assert_array_equal(sub.penalized(), [True, True, True])
