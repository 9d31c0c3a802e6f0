"""The support refinement (:mod:`jaxreg.solvers.polish`): its factor, its linear
systems, and the rule that it never makes a certificate worse."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg
from jaxreg import datafits, engine, penalties
from jaxreg import reference as ref
from jaxreg.solvers import fista, polish

EPS = np.finfo(np.float64).eps


def _gram(X, y):
    n = X.shape[0]
    Xc, yc = X - X.mean(0), y - y.mean()
    return datafits.QuadraticGram(Xc.T @ Xc / n, Xc.T @ yc / n, yc @ yc / n), Xc, yc


def _design(X, y):
    Xc, yc = X - X.mean(0), y - y.mean()
    return datafits.QuadraticDesign(Xc, yc, yc @ yc / X.shape[0]), Xc, yc


@pytest.mark.parametrize("form", [_gram, _design])
def test_factor_kept_prefix_and_appended_columns_equal_a_fresh_factor(form):
    X, y = make_data(80, 12, seed=3)
    df, Xc, _ = form(X, y)
    f = polish._Factor(df, 12, 1, 80)
    first = np.array([4, 1, 7, 9, 2])
    cost, keep, new = f.plan(first, False)
    assert keep == 0 and np.array_equal(new, first) and np.isfinite(cost)
    assert f.update(keep, new, np.zeros(first.size))
    # 9 leaves, 0 and 11 enter: the prefix [4, 1, 7] is kept, [2, 0, 11] appended.
    S = np.array([0, 1, 2, 4, 7, 11])
    cost, keep, new = f.plan(S, False)
    assert keep == 3 and sorted(new) == [0, 2, 11]
    assert f.update(keep, new, np.zeros(new.size))
    order = f.order
    assert sorted(order) == sorted(S)
    H = Xc[:, order].T @ Xc[:, order] / 80
    # Cholesky is backward stable: L·Lᵀ equals H to rounding in ||H||.
    assert np.allclose(f.L @ f.L.T, H, rtol=0, atol=10 * 12 * EPS * np.abs(H).max())
    assert np.allclose(f.L, np.tril(f.L))


def test_factor_refuses_supports_the_rows_cannot_determine():
    X, y = make_data(10, 30, seed=0)
    df, _, _ = _design(X, y)
    f = polish._Factor(df, 30, 20, 10)
    cost, _, _ = f.plan(np.arange(11), False)
    assert cost == np.inf
    # A ridge part makes any support determined.
    assert np.isfinite(f.plan(np.arange(11), True)[0])
    # Dependent columns: a pivot at rounding level is refused, not used.
    Xd = np.column_stack([X[:, :3], X[:, 0] + X[:, 1]])
    dfd, _, _ = _design(Xd, y)
    fd = polish._Factor(dfd, 4, 20, 10)
    assert not fd.update(0, np.arange(4), np.zeros(4))
    assert fd.L is None


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_refine_lands_on_the_exact_solution_of_a_perturbed_support(l1_ratio):
    X, y = make_data(200, 15, rho=0.5, seed=2)
    df, Xc, yc = _gram(X, y)
    amax = np.max(np.abs(Xc.T @ yc)) / 200 / l1_ratio
    alphas = amax * np.array([0.5, 0.2, 0.05])
    exact = ref.enet_path(
        X, y, alphas=alphas, l1_ratio=l1_ratio, tol=1e-15, max_iter=100_000
    )["coefs"]
    rng = np.random.default_rng(0)
    # The right supports and signs, coefficients off by up to 1%.
    W = exact * (1 + 0.01 * rng.uniform(-1, 1, size=exact.shape))
    pen = penalties.ElasticNet(
        alphas, np.full(15, l1_ratio), np.full(15, 1 - l1_ratio),
        np.full(15, -np.inf), np.full(15, np.inf),
    )  # fmt: skip
    cand, tried = polish.refine(df, pen, W, budget=np.inf)
    assert tried.all()
    cond = np.linalg.cond(df.G)
    # The reference stops at a gap of 1e-15: its distance to the exact solution is
    # sqrt(2·gap/μ) at most, and the candidate's is rounding times the condition.
    mu = np.linalg.eigvalsh(df.G)[0]
    bound = np.sqrt(2e-15 * df.yy / mu) + 100 * cond * EPS * np.abs(exact).max()
    assert np.abs(cand - exact).max() <= bound
    gap_w = fista.duality_gap(df, pen, W)[0]
    gap_c = fista.duality_gap(df, pen, cand)[0]
    assert np.all(gap_c < gap_w)


def test_refine_respects_the_budget():
    X, y = make_data(200, 15, seed=2)
    df, _, _ = _gram(X, y)
    W = np.ones((3, 15))
    pen = penalties.ElasticNet(
        np.array([0.1, 0.05, 0.01]), np.ones(15), np.zeros(15),
        np.full(15, -np.inf), np.full(15, np.inf),
    )  # fmt: skip
    cand, tried = polish.refine(df, pen, W, budget=100.0)  # 15³/3 > 100
    assert not tried.any() and np.array_equal(cand, W)


@pytest.mark.parametrize("shape", [(300, 40), (40, 120)])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
def test_refinement_never_worsens_a_gap(monkeypatch, shape, l1_ratio):
    X, y = make_data(*shape, rho=0.8, seed=5)
    # 16 alphas: a short path, refined whole (polish.SHORT_PATH); FISTA's route
    # (wide designs take the active-set solver by default, which needs no
    # refinement)
    kw = dict(l1_ratio=l1_ratio, alphas=16, eps=1e-3, tol=1e-5, strategy="hybrid")
    on = jaxreg.enet_path(X, y, **kw)
    monkeypatch.setattr(engine.Problem, "_refine", lambda self, r, *a: r)
    off = jaxreg.enet_path(X, y, **kw)
    assert np.all(on.gaps <= off.gaps)
    assert np.any(on.gaps < off.gaps)  # it did refine
    assert np.all(on.converged >= off.converged)
    # The gaps it reports are the reference's, recomputed from its coefficients,
    # to the rounding of sums of n terms of the size of the objective.
    slack = 10 * shape[0] * EPS * np.var(y)
    for k, a in enumerate(on.alphas):
        g = ref.duality_gap(X, y, on.coefs[k], on.intercepts[k], a, l1_ratio=l1_ratio)
        assert g <= on.gaps[k] + slack


def test_recertify_recomputes_float32_gaps_in_float64():
    """A float32 result's gaps are replaced by float64 ones at its own
    coefficients, and ``converged`` follows them: a level whose (float32) gap
    claimed convergence but whose float64 gap is above tol is not converged; a
    closed-form level stays as it was."""
    X, y = make_data(60, 8, seed=2)
    df, _, yc = _gram(X, y)
    k = 3
    amax = np.abs(df.c).max()
    alphas = amax * np.array([0.5, 0.1, 0.0])
    fixed = np.array([[False, False, True]])
    exact = ref.lasso_path(X, y, alphas=alphas[:2], tol=1e-12)["coefs"]
    W = np.stack([exact[0], exact[1] * 1.01, np.zeros(8)])  # the second is off
    r = fista.FistaResult(
        W.astype(np.float32)[None, None, None],
        np.ones((1, 1, 1, k), np.int32),
        np.zeros((1, 1, 1, k), np.float32),  # the claimed gaps: 0
        np.zeros((1, 1, 1, k), np.float32),
        np.ones((1, 1, 1, k), bool),
    )
    stacked = type(df)(df.G[None], df.c[None, :, None], np.array([[df.yy]]))
    pen = penalties.ElasticNet(
        alphas[None], np.ones((1, 1, 8)), np.zeros((1, 1, 8)),
        np.full((1, 8), -np.inf), np.full((1, 8), np.inf),
    )  # fmt: skip
    tol = np.array([[1e-6 * df.yy]])
    out = polish.recertify(r, stacked, pen, fixed, tol)
    one = penalties.ElasticNet(alphas[:2], np.ones(8), np.zeros(8),
                               np.full(8, -np.inf), np.full(8, np.inf))  # fmt: skip
    W64 = np.asarray(W[:2].astype(np.float32), np.float64)
    expect, _, _ = fista.duality_gap(df, one, W64)
    np.testing.assert_allclose(out.gap[0, 0, 0, :2], expect, rtol=1e-12)
    assert out.gap[0, 0, 0, 2] == 0.0
    assert out.converged[0, 0, 0].tolist() == [True, False, True]
    assert expect[1] > tol[0, 0] >= expect[0]
    assert out.coef is r.coef  # the solver's coefficients, as they were


def test_float32_paths_on_the_cpu_are_recertified(monkeypatch):
    """A float32 path on the CPU reports the float64 gaps of
    :func:`polish.recertify` (and its converged flags); a float64 path is
    refined instead."""
    calls, recertify = [], polish.recertify

    def spy(*args):
        calls.append(recertify(*args))
        return calls[-1]

    monkeypatch.setattr(polish, "recertify", spy)
    X, y = make_data(200, 20, rho=0.5, seed=7)
    res = jaxreg.lasso_path(X, y, alphas=10, tol=1e-4, dtype="float32")
    assert len(calls) == 1
    gap = calls[0].gap[0, 0, 0]  # scaled units: one factor from the path's
    at = np.flatnonzero(gap)[0]
    scale = res.gaps[at] / gap[at]  # to data units: a power of two
    np.testing.assert_allclose(res.gaps, scale * gap, rtol=1e-6)  # float32 values
    assert np.array_equal(res.converged, calls[0].converged[0, 0, 0])
    jaxreg.lasso_path(X, y, alphas=10, tol=1e-4)
    assert len(calls) == 1
