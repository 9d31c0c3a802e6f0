"""strategy="newton": working sets solved by batched proximal Newton steps (the
device's solver for wide designs), and the sign-constrained support search that
keeps those steps moving on singular supports."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import centred_yy, make_data

import jaxreg
from jaxreg import datafits, penalties, reference
from jaxreg._config import compute_context
from jaxreg.solvers import newton

EPS32 = np.finfo(np.float32).eps


def gaps_and_objectives(X, y, res, **kw):
    gaps, objs = [], []
    for c, b, a in zip(res.coefs, res.intercepts, res.alphas, strict=True):
        c = np.asarray(c, np.float64)
        gaps.append(reference.duality_gap(X, y, c, b, a, **kw))
        objs.append(reference.objective(X, y, c, b, a, **kw))
    return np.array(gaps), np.array(objs)


def test_newton_steps_do_not_stall_on_singular_supports():
    """p > n at small alphas: the support of an iterate can hold more columns
    than there are rows, where its system is singular. Solving it exactly gave a
    point 1e16 away that the model, rounded, rated better; the line search then
    refused every step and the gap stayed at 0.2 (of ||y||²/n = 30) for ever.
    Sign-constrained steps stop at the first crossing and certify each level."""
    rng = np.random.default_rng(0)
    n, p = 60, 200
    X = rng.standard_normal((n, p))
    X -= X.mean(0)
    w = np.zeros(p)
    w[:10] = 3 * rng.standard_normal(10)
    y = X @ w + rng.standard_normal(n)
    y -= y.mean()
    G, c, yy = X.T @ X / n, X.T @ y / n, y @ y / n
    levels = np.abs(c).max() * np.array([0.3, 0.03, 0.01, 0.003, 0.001])
    B = len(levels)
    tol = 1e-10 * yy
    with compute_context(np.float64):
        df = datafits.QuadraticGram(*(np.asarray(a) for a in (G, c, yy)))
        pen = penalties.ElasticNet(
            levels, np.ones(p), np.zeros(p), np.full(p, -np.inf), np.full(p, np.inf)
        )
        r = newton.newton_batch(
            df, pen, np.zeros((B, p)), np.ones(B, bool), 1.0, tol, 100
        )
    assert np.asarray(r.converged).all(), np.asarray(r.gap)
    for a, coef in zip(levels, np.asarray(r.coef), strict=True):
        gap = reference.duality_gap(X, y, coef, 0.0, a, fit_intercept=False)
        assert gap <= tol


def test_newton_certifies_a_wide_correlated_path():
    """Every level certified by the reference's gap, and the objectives those of
    the host's active-set solver within the two certificates."""
    X, y = make_data(40, 200, rho=0.95, seed=3)
    tol = 1e-9
    res = jaxreg.lasso_path(X, y, alphas=12, tol=tol, strategy="newton")
    assert res.strategy == "newton" and res.converged.all()
    yy = centred_yy(y)
    gaps, objs = gaps_and_objectives(X, y, res)
    assert (gaps <= tol * yy).all()
    act = jaxreg.lasso_path(X, y, alphas=res.alphas, tol=tol, strategy="active_set")
    _, objs_a = gaps_and_objectives(X, y, act)
    assert (np.abs(objs - objs_a) <= 2 * tol * yy + 64 * np.finfo(float).eps * yy).all()


def test_newton_in_float32_with_box_limits():
    """Where the host's active-set solver does not go (float32, boxes): the
    levels are certified in float32, the box holds, and the reference's float64
    gap at the returned coefficients is within tol plus float32's rounding of
    the gap (a few eps32 of ||y - ȳ||²/n)."""
    X, y = make_data(40, 200, rho=0.5, seed=4)
    kw = dict(lower_limits=-0.5, upper_limits=1.0)
    tol = 1e-4
    r32 = jaxreg.lasso_path(
        X, y, alphas=8, tol=tol, strategy="newton", dtype="float32", **kw
    )
    assert r32.strategy == "newton" and r32.converged.all()
    assert (r32.coefs >= -0.5).all() and (r32.coefs <= 1.0).all()
    # both bounds are reached on the way
    assert r32.coefs[-1].max() == 1.0 and r32.coefs[-1].min() == -0.5
    yy = centred_yy(y)
    gaps, _ = gaps_and_objectives(X, y, r32, **kw)
    assert (gaps <= tol * yy + 64 * EPS32 * yy).all()


def test_newton_solves_cv_members_and_elastic_net():
    """Every fold certified, and the all-data path the active-set solver's
    within the distance two certificates allow a μ-strongly convex problem:
    each solution is within ``sqrt(2·gap/μ)`` of the optimum (μ the L2 part's
    ``alpha·(1 - l1_ratio)``), so the two within the sum of those."""
    X, y = make_data(40, 100, rho=0.3, seed=5)
    tol, r = 1e-8, 0.7
    res = jaxreg.cv_path(X, y, cv=3, l1_ratio=r, alphas=6, tol=tol,
                         strategy="newton")  # fmt: skip
    assert res.path.strategy == "newton" and res.path.converged.all()
    assert res.fold_converged.all()
    gaps, _ = gaps_and_objectives(X, y, res.path, l1_ratio=r)
    assert (gaps <= tol * centred_yy(y)).all()
    ref = jaxreg.enet_path(X, y, l1_ratio=r, alphas=res.alphas, tol=tol,
                           strategy="active_set")  # fmt: skip
    rounding = 128 * np.finfo(float).eps * ref.gap_tol / ref.tol
    mu = (1 - r) * ref.alphas
    bound = sum(np.sqrt(2 * (np.maximum(g, 0) + rounding) / mu)
                for g in (res.path.gaps, ref.gaps))  # fmt: skip
    dist = np.linalg.norm(res.path.coefs - ref.coefs, axis=1)
    assert (dist <= bound).all()


def test_where_newton_has_no_solver_the_error_says_so():
    X, y = make_data(30, 60, seed=6)
    with pytest.raises(ValueError, match="single target"):
        jaxreg.multi_target_path(X, np.c_[y, y], alphas=5, strategy="newton")
    with pytest.raises(ValueError, match="screen='auto' or 'strong'"):
        jaxreg.lasso_path(X, y, alphas=5, strategy="newton", screen="none")
    with pytest.raises(ValueError, match="constrained paths"):
        jaxreg.constrained_path(X, y, radii=5, strategy="newton")
    with pytest.raises(ValueError, match="feature groups"):
        jaxreg.lasso_path(X, y, alphas=5, groups=np.arange(60) // 3,
                          strategy="newton")  # fmt: skip
    labels = np.arange(30) % 3
    with pytest.raises(ValueError, match="multinomial"):
        jaxreg.enet_path(X, labels, l1_ratio=1.0, alphas=5, family="multinomial",
                         strategy="newton")  # fmt: skip


def test_newton_is_asked_for_a_binomial_wider_than_its_default():
    """The binomial takes Newton steps on all the columns of narrow designs by
    default, on working sets of wider ones; without working sets
    (``screen='none'``) FISTA's, or Newton's on all the columns when asked for,
    certified."""
    from jaxreg.families import NEWTON_MAX_COLUMNS

    X, _ = make_data(40, NEWTON_MAX_COLUMNS + 4, seed=7)
    labels = X[:, 0] - X[:, 1] + np.random.default_rng(7).normal(size=40) > 0
    kw = dict(l1_ratio=1.0, alphas=4, family="binomial")
    auto = jaxreg.enet_path(X, labels.astype(float), screen="none", **kw)
    res = jaxreg.enet_path(X, labels.astype(float), screen="none",
                           strategy="newton", **kw)  # fmt: skip
    ws = jaxreg.enet_path(X, labels.astype(float), **kw)
    assert auto.strategy != "newton" and ws.strategy == "newton"
    assert res.strategy == "newton" and res.converged.all() and ws.converged.all()
    for r in (res, ws):
        for c, b, a in zip(r.coefs, r.intercepts, r.alphas, strict=True):
            gap = reference.glm_duality_gap(X, labels.astype(float), c, b, a,
                                            family="binomial")  # fmt: skip
            assert gap <= r.gap_tol


def test_newton_elastic_net_support_wider_than_the_rows():
    """An elastic net's support may hold more than n coordinates (the L2 part
    makes every system full rank): its systems are not cut to n. Cut, the
    search left most of the support unsolved and the last level short after
    200 Newton steps; whole, each level takes a few."""
    X, y = make_data(40, 120, rho=0.3, seed=1)
    tol, r = 1e-8, 0.02
    res = jaxreg.enet_path(X, y, l1_ratio=r, alphas=6, tol=tol, max_iter=200,
                           strategy="newton")  # fmt: skip
    assert res.converged.all()
    assert (res.coefs[-1] != 0).sum() > 40
    gaps, _ = gaps_and_objectives(X, y, res, l1_ratio=r)
    assert (gaps <= tol * centred_yy(y)).all()


def test_newton_with_unpenalized_features_at_a_bound_of_zero():
    """positive=True with unpenalized features: one that reaches 0 leaves the
    support, and none enters on the side its box closes (either stalled the
    search: every later step had length 0)."""
    X, y = make_data(40, 150, rho=0.3, seed=8)
    y = y - 2 * X[:, 0]  # an unpenalized feature the bound holds at 0
    pf = np.ones(150)
    pf[:4] = 0.0
    kw = dict(positive=True, penalty_factor=pf)
    tol = 1e-8
    res = jaxreg.lasso_path(X, y, alphas=6, tol=tol, max_iter=200,
                            strategy="newton", **kw)  # fmt: skip
    assert res.converged.all()
    assert (res.coefs >= 0).all() and (res.coefs[:, 0] == 0).any()
    gaps, _ = gaps_and_objectives(X, y, res, **kw)
    assert (gaps <= tol * centred_yy(y)).all()


def test_support_search_finishes_a_bounded_ridge():
    """Least squares is its own Newton model, so one search from coordinate
    descent's point solves it. A ridge with coefficients held at a bound of
    0 (unpenalized by L1, so never leaving by a sign change) stopped the search
    at its first step before: the point came back unchanged."""
    rng = np.random.default_rng(10)
    n, p, alpha = 50, 20, 0.1
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)
    G, c, yy = X.T @ X / n, X.T @ y / n, y @ y / n
    with compute_context(np.float64):
        df = datafits.QuadraticGram(*(jnp.asarray(a) for a in (G, c, yy)))
        pen = penalties.ElasticNet(
            jnp.asarray([alpha]), jnp.zeros(p), jnp.ones(p), jnp.zeros(p),
            jnp.full(p, jnp.inf),
        )  # fmt: skip
        W = jnp.zeros((1, p))
        g, H = df.hessian(W)
        U = newton._coordinate_descent(g, H, W, pen, newton.SWEEPS)
        V = np.asarray(newton._support_solve(g, H, W, U, pen))[0]
    assert (V == 0).any() and (V > 0).any()
    gap = reference.duality_gap(X, y, V, 0.0, alpha, l1_ratio=0.0,
                                lower_limits=0.0, fit_intercept=False)  # fmt: skip
    assert gap <= 64 * np.finfo(float).eps * yy * p


def test_masked_solve_on_fewer_coordinates_is_the_same_solve():
    """Systems cut to K coordinates solve the support exactly when it fits."""
    rng = np.random.default_rng(9)
    B, m, K = 3, 12, 5
    Z = rng.standard_normal((B, m, m))
    A = Z @ np.swapaxes(Z, 1, 2) + np.eye(m)
    rhs = rng.standard_normal((B, m))
    u = rng.standard_normal((B, m))
    mask = np.zeros((B, m), bool)
    for b in range(B):
        mask[b, rng.choice(m, K, replace=False)] = True
    u = np.where(mask, u, 0.0)
    with compute_context(np.float64):
        whole = np.asarray(newton._masked_solve(A, rhs, mask, u, m))
        cut = np.asarray(newton._masked_solve(A, rhs, mask, u, K))
    for b in range(B):
        M = mask[b]
        expect = np.linalg.solve(A[b][np.ix_(M, M)], rhs[b][M])
        np.testing.assert_allclose(whole[b][M], expect, rtol=1e-10)
        assert (whole[b][~M] == 0).all()
    np.testing.assert_allclose(cut, whole, rtol=1e-10, atol=1e-14)


def test_newton_for_a_glm_needs_no_working_sets_and_checks_its_memory(monkeypatch):
    """The binomial's Newton steps use no working sets (screen='none' is fine)
    and hold an m x m Hessian per level: where those would not fit, a clear
    error says so before anything is solved."""
    from jaxreg import _memory

    X, _ = make_data(40, 30, seed=11)
    labels = (X[:, 0] > np.median(X[:, 0])).astype(float)
    kw = dict(l1_ratio=1.0, alphas=4, family="binomial", strategy="newton")
    res = jaxreg.enet_path(X, labels, screen="none", **kw)
    assert res.strategy == "newton" and res.converged.all()
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 2**10)
    with pytest.raises(jaxreg.InsufficientMemoryError, match="m x m Hessian"):
        jaxreg.enet_path(X, labels, **kw)
