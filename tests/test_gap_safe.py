"""Gap-safe screening with extrapolated dual points (``screen="gapsafe"``).

The tests of one check (:func:`jaxreg.solvers.gap_safe.check`) run FISTA on
internal problems (centred data, no intercept) whose exact solution the NumPy
reference gives: a coordinate screened must be 0 there, and the certificate
must bound the suboptimality. The path tests recompute every gap with the
reference and compare the objectives with ``screen="none"``'s within the sum of
the two certified gaps.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse

import jaxreg
from jaxreg import datafits, penalties
from jaxreg import reference as ref
from jaxreg.solvers import fista, gap_safe

EPS = np.finfo(np.float64).eps


def internal(n=60, p=150, seed=0, rho=0.3):
    X, _, _ = ref.make_glmnet_design(n, p, rho=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    beta = np.zeros(p)
    beta[:6] = rng.normal(size=6)
    y = X @ beta + 0.5 * rng.normal(size=n)
    return X - X.mean(0), y - y.mean()


PENALTIES = {
    "lasso": dict(l1_ratio=1.0),
    "enet": dict(l1_ratio=0.5),
    "positive": dict(l1_ratio=1.0, positive=True),
    "box": dict(l1_ratio=0.7, lower=-0.2, upper=0.5),
    "unpenalized": dict(l1_ratio=1.0, free=3),
}


def problem(name, X, y, fractions, gram=False):
    """The datafit (design or Gram form) and penalty of ``fractions`` of
    alpha_max, and the same problem's reference keywords."""
    opts = PENALTIES[name]
    n, p = X.shape
    r = opts["l1_ratio"]
    pf = np.ones(p)
    if "free" in opts:
        pf[opts["free"]] = 0.0
    lower = np.full(p, opts.get("lower", 0.0 if opts.get("positive") else -np.inf))
    upper = np.full(p, opts.get("upper", np.inf))
    kw = dict(
        l1_ratio=r, fit_intercept=False, penalty_factor=pf,
        lower_limits=lower, upper_limits=upper,
    )  # fmt: skip
    amax = ref.alpha_max(X, y, **kw)
    alphas = np.asarray(fractions) * amax
    df = datafits.QuadraticDesign(
        jnp.asarray(X), jnp.asarray(y), jnp.asarray(y @ y / n)
    )
    if gram:
        df = df.gram()
    pen = penalties.ElasticNet(
        jnp.asarray(alphas), jnp.asarray(r * pf), jnp.asarray((1 - r) * pf),
        jnp.asarray(lower), jnp.asarray(upper),
    )  # fmt: skip
    return df, pen, alphas, kw


@functools.partial(jax.jit, static_argnames="every")
def _trip(df, pen, L, W, Z, t, mask, rings, diag, *, every):
    """``every`` FISTA steps with restart (the loop's), holding ``mask`` at 0,
    then one check (compiled once for all the tests of a shape)."""
    for _ in range(every):
        Wn = jnp.where(mask, 0.0, pen.prox(Z + df.neg_grad(Z) / L, 1.0 / L))
        tn = 0.5 * (1 + jnp.sqrt(1 + 4 * t * t))
        restart = jnp.sum((Z - Wn) * (Wn - W), -1) > 0
        mom = jnp.where(restart, 0.0, (t - 1) / tn)
        Z, W, t = Wn + mom[:, None] * (Wn - W), Wn, jnp.where(restart, 1.0, tn)
    gap, rr, q = fista.duality_gap(df, pen, W)
    best, mask, rings = gap_safe.check(df, pen, mask, rings, W, gap, rr, q, diag)
    return W, Z, t, mask, rings, gap, best


def run_checks(df, pen, checks=150, every=5):
    """FISTA with restart from 0 (the loop's steps), ``gap_safe.check`` after
    every ``every`` steps: the iterates, plain gaps, certificates and masks."""
    G = np.asarray(df.G if hasattr(df, "G") else df.gram().G)
    L = jnp.asarray(float(np.linalg.eigvalsh(G)[-1]))
    B, p = pen.alpha.shape[0], G.shape[0]
    W = Z = jnp.zeros((B, p))
    t = jnp.ones(B)
    rings, mask = gap_safe.init(W), jnp.zeros((B, p), bool)
    diag = df.diag()
    out = []
    for _ in range(checks):
        W, Z, t, mask, rings, gap, best = _trip(
            df, pen, L, W, Z, t, mask, rings, diag, every=every
        )
        out.append(tuple(np.asarray(a) for a in (W, gap, best, mask)))
    return out


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


@pytest.fixture(autouse=True, scope="module")
def _release_programs():
    """This module compiles many small programs; they are released after it,
    so that the worker running the next tests does not carry them."""
    yield
    jax.clear_caches()


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_screened_coordinates_are_zero_at_the_optimum(name):
    X, y = internal(seed=3)
    df, pen, alphas, kw = problem(name, X, y, [0.7, 0.2, 0.05])
    exact = ref.enet_path(X, y, alphas=alphas, tol=1e-14, max_iter=200_000, **kw)
    order = np.argsort(-alphas)  # the reference sorts its alphas
    w_star = np.empty_like(exact["coefs"])
    w_star[order] = exact["coefs"]
    checks = run_checks(df, pen)
    mask = checks[-1][3]
    # screening happened, and only where the optimum is 0
    assert mask.sum() > 0
    assert not np.any(mask & (w_star != 0))
    # the coordinates free of an L1 part are never screened
    l1 = np.asarray(pen.l1) > 0
    assert not np.any(mask[:, ~l1])
    # the masks only grow
    for (_, _, _, m0), (_, _, _, m1) in zip(checks, checks[1:], strict=False):
        assert np.all(m1 >= m0)


@pytest.mark.parametrize("name", ["lasso", "enet", "box"])
def test_certificates_bound_the_suboptimality(name):
    X, y = internal(seed=5, rho=0.6)
    df, pen, alphas, kw = problem(name, X, y, [0.3, 0.05, 0.01])
    exact = ref.enet_path(X, y, alphas=alphas, tol=1e-14, max_iter=200_000, **kw)
    best_obj = {
        a: ref.objective(X, y, c, 0.0, a, **kw)
        for a, c in zip(exact["alphas"], exact["coefs"], strict=True)
    }
    won = 0
    for W, gap, best, _ in run_checks(df, pen):
        won += np.count_nonzero(best < gap)
        for i, a in enumerate(alphas):
            sub = ref.objective(X, y, W[i], 0.0, a, **kw) - best_obj[a]
            # rounding of two objectives of this size (n·eps relative)
            slack = X.shape[0] * EPS * max(best_obj[a], 1.0)
            assert sub <= best[i] + slack
    # the extrapolated point certified a smaller gap at some checks
    assert won > 0


@pytest.mark.parametrize("gram", [False, True])
@pytest.mark.parametrize("name", ["lasso", "enet"])
def test_the_extrapolated_gap_is_the_primal_minus_the_dual(name, gram):
    """Against the gap written out in NumPy: P(w) - D(θ) with θ = s·(y - Xw_e)/n,
    D(θ) = <θ, y> - n||θ||²/2 - h*(Xᵀθ); with the datafit in design and in
    Gram form (whose ||r||²/n is a difference)."""
    X, y = internal(seed=11)
    n, p = X.shape
    df, pen, alphas, _ = problem(name, X, y, [0.4, 0.1, 0.02], gram=gram)
    checks = run_checks(df, pen, checks=gap_safe.K + 1, every=3)
    # the rings of the last K + 1 checks, the newest in slot 2
    newest = 2
    order = np.roll(np.arange(gap_safe.K + 1), newest + 1)
    Wb = jnp.asarray(np.stack([c[0] for c in checks], axis=1)[:, order])
    Qb = jnp.stack([df.residual(Wb[:, j])[0] for j in range(gap_safe.K + 1)], 1)
    rr = df.residual(Wb[:, newest])[1]
    gap, V, w_e = (
        np.asarray(a) for a in gap_safe._extrapolated(df, pen, Wb, Qb, newest, rr)
    )
    a, b = (np.asarray(alphas)[:, None] * np.asarray(v) for v in (pen.l1, pen.l2))
    for i in range(len(alphas)):
        w = np.asarray(Wb[i, newest])
        r, r_e = y - X @ w, y - X @ w_e[i]
        u = X.T @ r_e / n
        s = V[i] @ u / (u @ u)  # V = s·Xᵀr_e/n
        theta = s * r_e / n
        v = X.T @ theta
        assert np.allclose(V[i], v, rtol=1e-10, atol=1e-14)
        conj = np.sum(
            np.maximum(np.abs(v) - a[i], 0) ** 2 / np.where(b[i] > 0, 2 * b[i], 1)
        )
        primal = r @ r / (2 * n) + np.sum(a[i] * np.abs(w) + b[i] * w * w / 2)
        dual = theta @ y - n * theta @ theta / 2 - conj
        # both sides are sums of at most n + p terms each as large as these
        scale = (n + p) * EPS * (y @ y / n + abs(primal) + abs(dual))
        assert abs(gap[i] - (primal - dual)) <= scale


def wide(n=50, p=200, seed=0, noise=0.3):
    X, _, _ = ref.make_glmnet_design(n, p, rho=0.5, seed=seed)
    rng = np.random.default_rng(seed + 2)
    beta = np.zeros(p)
    beta[:5] = rng.normal(size=5)
    return X, X @ beta + noise * rng.normal(size=n)


def assert_matches(X, y, a, b, l1_ratio=1.0, target=None, **kw):
    """``b`` (screen="none") certified by the reference's own gaps; every gap
    ``a`` (screen="gapsafe") reports bounds its distance to the optimum, which
    is at least its objective minus the reference solution's (its gap may be
    the extrapolated point's, which the plain residual's need not reproduce)."""
    pick = (lambda v: v) if target is None else (lambda v: v[:, target])
    assert a.converged.all() and b.converged.all()
    assert np.all(a.gaps <= a.gap_tol)
    exact = ref.enet_path(X, y, alphas=a.alphas, l1_ratio=l1_ratio, tol=1e-13, **kw)
    for i, alpha in enumerate(a.alphas):

        def obj(coef, intercept, alpha=alpha):
            return ref.objective(X, y, coef, intercept, alpha, l1_ratio=l1_ratio, **kw)

        best = obj(exact["coefs"][i], exact["intercepts"][i])
        # rounding of two objectives of this size (n·eps relative)
        slack = X.shape[0] * EPS * max(best, 1.0)
        assert obj(pick(a.coefs)[i], pick(a.intercepts)[i]) - best <= a.gaps[i] + slack
        gap_b = ref.duality_gap(
            X, y, pick(b.coefs)[i], pick(b.intercepts)[i], alpha, l1_ratio=l1_ratio,
            **kw,
        )  # fmt: skip
        assert gap_b <= b.gap_tol * (1 + 1e-6)


@pytest.mark.parametrize(
    "mode, strategy", [("design", "hybrid"), ("gram", "hybrid"), ("design", "parallel")]
)
def test_gapsafe_paths_match_and_are_certified(mode, strategy):
    X, y = wide()
    tol = 1e-7
    kw = dict(alphas=12, eps=1e-2, tol=tol, mode=mode, strategy=strategy)
    a = jaxreg.lasso_path(X, y, screen="gapsafe", **kw)
    b = jaxreg.lasso_path(X, y, screen="none", **kw)
    assert_matches(X, y, a, b)


def test_gapsafe_with_weights_factors_limits_and_standardize():
    X, y = wide(seed=4)
    n, p = X.shape
    rng = np.random.default_rng(9)
    model = dict(
        sample_weight=rng.uniform(0.2, 2.0, n),
        penalty_factor=np.r_[0.0, rng.uniform(0.5, 2.0, p - 1)],
        lower_limits=-0.5, upper_limits=2.0, standardize=True,
    )  # fmt: skip
    tol = 1e-7
    kw = dict(alphas=10, eps=1e-2, tol=tol, l1_ratio=0.6, strategy="hybrid", **model)
    a = jaxreg.enet_path(X, y, screen="gapsafe", **kw)
    b = jaxreg.enet_path(X, y, screen="none", **kw)
    sw = model["sample_weight"]
    ref_kw = dict(model, sample_weight=sw * n / sw.sum())
    assert_matches(X, y, a, b, l1_ratio=0.6, **ref_kw)


def test_gapsafe_two_targets_and_cv():
    X, y = wide(seed=7)
    Y = np.c_[y, y[::-1]]
    alphas = np.geomspace(1.0, 0.05, 8) * jaxreg.alpha_max(X, y)
    kw = dict(alphas=alphas, tol=1e-7, strategy="hybrid")
    a = jaxreg.multi_target_path(X, Y, screen="gapsafe", **kw)
    b = jaxreg.multi_target_path(X, Y, screen="none", **kw)
    for t in range(2):
        assert_matches(X, Y[:, t], a, b, target=t)
    X, y = wide(seed=7, noise=3.0)
    kw = dict(alphas=8, eps=1e-2, tol=1e-7, strategy="hybrid")
    cv_a = jaxreg.cv_path(X, y, cv=3, screen="gapsafe", **kw)
    cv_b = jaxreg.cv_path(X, y, cv=3, screen="none", **kw)
    assert np.asarray(cv_a.fold_converged).all()
    assert_matches(X, y, cv_a.path, cv_b.path)


def test_gapsafe_is_refused_where_it_has_no_tests():
    X, y = wide()
    with pytest.raises(ValueError, match="screen='gapsafe'.*strategy='active_set'"):
        jaxreg.lasso_path(X, y, screen="gapsafe", strategy="active_set")
    with pytest.raises(ValueError, match="strategy='newton'"):
        jaxreg.lasso_path(X, y, screen="gapsafe", strategy="newton")
    with pytest.raises(ValueError, match="screen='gapsafe' is not available"):
        jaxreg.lasso_path(X, (y > 0).astype(float), screen="gapsafe", family="binomial")
    with pytest.raises(ValueError, match="gapsafe"):
        jaxreg.lasso_path(
            scipy.sparse.csr_matrix(X), y, screen="gapsafe", mode="design"
        )
    with pytest.raises(ValueError, match="screen='gapsafe' is not available"):
        jaxreg.lasso_path(X, y, screen="gapsafe", groups=np.arange(X.shape[1]) // 4)
    with pytest.raises(ValueError, match="screen must be one of"):
        jaxreg.lasso_path(X, y, screen="safe")


def test_an_extrapolated_certificate_bounds_the_suboptimality(monkeypatch):
    """Without the host's refinement on supports (as on an accelerator or a
    mesh), a level may be certified by the extrapolated point: its reported gap
    then bounds the true suboptimality, though the plain residual's gap is
    larger (here many times the tolerance)."""
    from jaxreg.solvers import polish

    monkeypatch.setattr(polish, "refine_result", lambda r, *args, **kw: r)
    rng = np.random.default_rng(5)
    n, p = 48, 256
    X = rng.normal(size=(n, p)) + 0.5 * rng.normal(size=(n, 1))
    X[:, 3] *= 100.0  # a column on another scale
    beta = np.zeros(p)
    beta[[0, 3, 17, 100, 200]] = [2.0, 0.01, -1.5, 1.0, 0.5]
    y = X @ beta + 0.3 * rng.normal(size=n) + 4.0
    kw = dict(alphas=10, eps=1e-2, tol=1e-9, mode="design", strategy="hybrid")
    res = jaxreg.lasso_path(X, y, screen="gapsafe", **kw)
    assert res.converged.all()
    exact = ref.enet_path(X, y, alphas=res.alphas, l1_ratio=1.0, tol=1e-15)
    above = 0
    for i, alpha in enumerate(res.alphas):
        obj = ref.objective(X, y, res.coefs[i], res.intercepts[i], alpha)
        best = ref.objective(X, y, exact["coefs"][i], exact["intercepts"][i], alpha)
        # rounding of two objectives of this size (n·eps relative)
        assert obj - best <= res.gaps[i] + n * EPS * max(best, 1.0)
        plain = ref.duality_gap(X, y, res.coefs[i], res.intercepts[i], alpha)
        above += plain > res.gap_tol
    assert above > 0  # the extrapolated point certified what the plain could not


def test_float32_gapsafe_is_certified_in_float64():
    X, y = wide(seed=1, n=60, p=300)
    kw = dict(alphas=20, eps=1e-2, tol=1e-4, dtype="float32", strategy="hybrid")
    a = jaxreg.lasso_path(X, y, screen="gapsafe", **kw)
    b = jaxreg.lasso_path(X, y, screen="none", **kw)
    assert a.converged.all() and b.converged.all()
    for i, alpha in enumerate(a.alphas):
        g = ref.duality_gap(
            X, y, a.coefs[i].astype(float), float(a.intercepts[i]), alpha
        )
        assert g <= a.gap_tol * (1 + 1e-6)


def test_a_screened_coordinate_is_held_at_zero(monkeypatch):
    """The loop holds what the test screens: with the test forced to screen
    feature 0 (in the true support), fista_batch leaves it at 0; without
    screening it is not 0."""
    X, y = internal(seed=2)
    df, pen, _, _ = problem("lasso", X, y, [0.1, 0.02])
    L = float(np.linalg.eigvalsh(np.asarray(df.gram().G))[-1])
    args = (df, pen, jnp.zeros((2, X.shape[1])), jnp.ones(2, bool), L, 0.0, 200)
    free = fista.fista_batch(*args, check_every=10, screen=False)
    assert np.all(np.asarray(free.coef)[:, 0] != 0)

    def forced(self, V, radius):
        return jnp.zeros(V.shape, bool).at[:, 0].set(True)

    monkeypatch.setattr(penalties.ElasticNet, "safe_zero", forced)
    held = fista.fista_batch(*args, check_every=10, screen=True)
    assert np.all(np.asarray(held.coef)[:, 0] == 0)
