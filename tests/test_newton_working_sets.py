"""strategy="newton": working sets solved by batched proximal Newton steps (the
device's solver for wide designs), and the sign-constrained support search that
keeps those steps moving on singular supports."""

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
    within the distance two certificates allow a strongly convex problem:
    ``sqrt(2·(gap_a + gap_b)/μ)`` with μ the L2 part's ``alpha·(1 - l1_ratio)``."""
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
    both = np.maximum(res.path.gaps, 0) + np.maximum(ref.gaps, 0)
    both = both + 128 * np.finfo(float).eps * ref.gap_tol / ref.tol
    bound = np.sqrt(2 * both / ((1 - r) * ref.alphas))[:, None]
    assert (np.abs(res.path.coefs - ref.coefs) <= bound).all()


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
    """The binomial takes Newton steps on narrow designs by default; asked for,
    on a wider one too, and certified."""
    from jaxreg.families import NEWTON_MAX_COLUMNS

    X, _ = make_data(40, NEWTON_MAX_COLUMNS + 4, seed=7)
    labels = X[:, 0] - X[:, 1] + np.random.default_rng(7).normal(size=40) > 0
    auto = jaxreg.enet_path(X, labels.astype(float), l1_ratio=1.0, alphas=4,
                            family="binomial")  # fmt: skip
    res = jaxreg.enet_path(X, labels.astype(float), l1_ratio=1.0, alphas=4,
                           family="binomial", strategy="newton")  # fmt: skip
    assert auto.strategy != "newton"
    assert res.strategy == "newton" and res.converged.all()
