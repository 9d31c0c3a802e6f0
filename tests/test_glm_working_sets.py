"""Working sets for the binomial and the Poisson on wide designs: each solved
by proximal Newton steps, every level certified on the full problem.

Every gap is recomputed by the NumPy reference (its own dual point, no JAX); the
objectives are compared with the FISTA route's on all the columns
(``screen='none'``) within the sum of the two certified gaps.
"""

import dataclasses

import numpy as np
import pytest
import scipy.sparse

import jaxreg
from jaxreg import _glm_working, families
from jaxreg import reference as ref
from jaxreg.results import ConvergenceWarning
from jaxreg.solvers import working_set

EPS = np.finfo(np.float64).eps


def wide(family, n=60, p=300, seed=0, rho=0.3):
    """An equicorrelated design wider than Newton's on all columns, and a
    response of a few true features."""
    X, _, _ = ref.make_glmnet_design(n, p, rho=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    beta = np.zeros(p)
    beta[:5] = rng.normal(size=5)
    eta = X @ beta
    if family == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    else:
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


def objective(X, y, res, i, family, **kw):
    return ref.glm_objective(
        X, y, res.coefs[i], res.intercepts[i], res.alphas[i], family=family,
        l1_ratio=res.l1_ratio, **kw,
    )  # fmt: skip


def rounding(X, value):
    """What the rounding of an objective of this size over these data can reach:
    n·eps relative (sums of n terms), never less than an ulp of 1."""
    return X.shape[0] * EPS * max(abs(value), 1.0)


def widths_seen(monkeypatch):
    """Record the width of every working-set solve."""
    seen = []
    solve = working_set._solve_subset

    def spy(*args, **kwargs):
        seen.append(args[2].shape[0])
        return solve(*args, **kwargs)

    monkeypatch.setattr(working_set, "_solve_subset", spy)
    return seen


@pytest.mark.parametrize(
    "family, l1_ratio, extra",
    [
        ("binomial", 1.0, {}),
        ("binomial", 0.5, dict(sample_weight="ints")),
        ("binomial", 1.0, dict(fit_intercept=False)),
        ("poisson", 1.0, {}),
        ("poisson", 0.7, dict(standardize=True)),
    ],
)
def test_wide_paths_are_certified_on_working_sets(monkeypatch, family, l1_ratio, extra):
    """On a design wider than NEWTON_MAX_COLUMNS the default route solves
    working sets narrower than the design, and every level's gap, recomputed
    by the reference on the full problem, is within tol; the FISTA route on
    all the columns reaches the same objectives within both gaps."""
    X, y = wide(family)
    assert X.shape[1] + 1 > families.NEWTON_MAX_COLUMNS
    if extra.get("sample_weight") == "ints":
        extra = dict(sample_weight=np.random.default_rng(3).integers(1, 4, len(y)))
    kw = dict(family=family, l1_ratio=l1_ratio, alphas=12, eps=5e-2, tol=1e-8)
    seen = widths_seen(monkeypatch)
    res = jaxreg.enet_path(X, y, **kw, **extra)
    assert res.strategy == "newton" and res.converged.all()
    assert seen and min(seen) < X.shape[1]
    gkw = {k: v for k, v in extra.items() if k != "standardize"}
    fista = jaxreg.enet_path(X, y, screen="none", **kw, **extra)
    assert fista.strategy != "newton" and fista.converged.all()
    Xr, (res_r, fista_r) = X, (res, fista)
    if extra.get("standardize"):
        # the penalty is on the standardized coefficients: the reference
        # solves the same problem on the standardized columns
        Xr, (res_r, fista_r) = standardized(X, res.x_scale, res, fista)
    for i, a in enumerate(res.alphas):
        g = ref.glm_duality_gap(
            Xr, y, res_r.coefs[i], res_r.intercepts[i], a, family=family,
            l1_ratio=l1_ratio, **gkw,
        )  # fmt: skip
        slack = rounding(X, objective(Xr, y, res_r, i, family, **_okw(gkw)))
        assert g <= res.gap_tol + slack, (i, g, res.gap_tol)
        assert abs(g - res.gaps[i]) <= slack + 1e-6 * g
    for i in range(len(res.alphas)):
        obj = [objective(Xr, y, r, i, family, **_okw(gkw)) for r in (res_r, fista_r)]
        slack = rounding(X, obj[0])
        assert abs(obj[0] - obj[1]) <= res.gaps[i] + fista.gaps[i] + slack


def standardized(X, sd, *results):
    """``(X - mean)/sd`` and the results' coefficients on it (the same
    predictions)."""
    mean = X.mean(axis=0)
    moved = [
        dataclasses.replace(
            r, coefs=r.coefs * sd, intercepts=r.intercepts + r.coefs @ mean
        )
        for r in results
    ]
    return (X - mean) / sd, moved


def _okw(gkw):
    return {k: v for k, v in gkw.items() if k != "fit_intercept"}


def test_working_sets_stay_narrow_on_a_sparse_path(monkeypatch):
    """A lasso path whose supports stay small never solves on every column."""
    X, y = wide("binomial", n=60, p=600)
    seen = widths_seen(monkeypatch)
    res = jaxreg.lasso_path(X, y, family="binomial", alphas=10, eps=0.2, tol=1e-8)
    assert res.converged.all() and res.df.max() < 64
    assert max(seen) <= 2 * 64 < X.shape[1]


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_an_unpenalized_feature_and_bounds_on_working_sets(family):
    """An unpenalized feature never leaves the working set, and box limits
    hold: the objectives equal the FISTA route's within both gaps, which are
    finite and nonnegative."""
    X, y = wide(family, p=200, seed=4)
    pf = np.r_[0.0, np.ones(X.shape[1] - 1)]
    kw = dict(family=family, l1_ratio=0.8, alphas=8, eps=5e-2, tol=1e-9,
              penalty_factor=pf, lower_limits=-0.5, upper_limits=0.5)  # fmt: skip
    res = jaxreg.enet_path(X, y, **kw)
    fista = jaxreg.enet_path(X, y, screen="none", **kw)
    assert res.strategy == "newton" and res.converged.all() and fista.converged.all()
    assert (res.coefs >= -0.5).all() and (res.coefs <= 0.5).all()
    assert (res.coefs[:, 0] != 0).all()
    for i in range(len(res.alphas)):
        obj = [objective(X, y, r, i, family, penalty_factor=pf) for r in (res, fista)]
        slack = rounding(X, obj[0])
        assert res.gaps[i] >= -slack and np.isfinite(res.gaps[i])
        assert abs(obj[0] - obj[1]) <= res.gaps[i] + fista.gaps[i] + slack


def test_cv_folds_on_working_sets():
    """Cross-validation solves every fold on its own working sets: every fold's
    level certified, and the same choice as the FISTA route's (both at a tight
    tol)."""
    X, y = wide("binomial", n=80, p=200, seed=2)
    kw = dict(family="binomial", l1_ratio=1.0, alphas=8, eps=5e-2, tol=1e-10,
              cv=3)  # fmt: skip
    res = jaxreg.cv_path(X, y, **kw)
    fista = jaxreg.cv_path(X, y, screen="none", **kw)
    assert res.path.strategy == "newton" and res.path.converged.all()
    assert res.fold_converged.all() and np.isfinite(res.fold_gaps).all()
    assert res.index_min == fista.index_min and res.index_1se == fista.index_1se


def test_a_short_budget_on_working_sets_is_flagged():
    """max_iter counts Newton steps per working-set solve: one step leaves
    levels short, flagged with their gaps above tol."""
    X, y = wide("binomial")
    with pytest.warns(ConvergenceWarning):
        res = jaxreg.lasso_path(X, y, family="binomial", alphas=6, eps=5e-2,
                                max_iter=1, tol=1e-12)  # fmt: skip
    assert not res.converged.all()
    assert (res.gaps[~res.converged] > res.gap_tol).all()


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_past_newtons_width_the_path_goes_on_all_the_columns(monkeypatch, family):
    """Once a working set outgrows NEWTON_WIDTH, the rest of the path is solved
    by FISTA on all the columns (the Poisson's with its backtracking step),
    warm-started from the last level solved: no wider set is solved, and every
    level is certified the same."""
    X, y = wide(family, p=200, seed=5)
    kw = dict(family=family, l1_ratio=0.5, alphas=6, eps=5e-2, tol=1e-8)
    newton = jaxreg.enet_path(X, y, **kw)
    seen = widths_seen(monkeypatch)
    monkeypatch.setattr(_glm_working, "NEWTON_WIDTH", 64)
    mixed = jaxreg.enet_path(X, y, **kw)
    # fewer working-set solves than levels: the rest went on all the columns
    assert seen and max(seen) <= 64 and len(seen) < len(mixed.alphas)
    assert newton.converged.all() and mixed.converged.all()
    assert mixed.strategy == "newton"  # its first levels
    # FISTA's steps are many more than Newton's
    assert mixed.n_iter.sum() > newton.n_iter.sum()
    for i, a in enumerate(mixed.alphas):
        g = ref.glm_duality_gap(
            X, y, mixed.coefs[i], mixed.intercepts[i], a, family=family,
            l1_ratio=0.5,
        )  # fmt: skip
        assert g <= mixed.gap_tol + rounding(X, objective(X, y, mixed, i, family))


def sparse_wide(family, n=80, p=300, density=0.05, seed=6):
    """A CSR with positive entries at uniform positions, a few true features."""
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, p, density=density, format="csr", random_state=rng,
                            data_rvs=lambda k: rng.exponential(1.0, k))  # fmt: skip
    beta = np.zeros(p)
    beta[:5] = 2.0 * rng.normal(size=5)
    eta = X @ beta
    eta -= eta.mean()
    if family == "poisson":
        return X, rng.poisson(np.exp(0.5 * eta)).astype(float)
    return X, (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("dense_bytes", [None, 0])
def test_sparse_working_sets(monkeypatch, family, dense_bytes):
    """On a sparse X the working sets' columns are made dense for Newton's
    steps (never the whole X: every dense copy has fewer columns); past
    DENSE_BYTES the path is solved by FISTA on all the (sparse) columns. Every
    gap recomputed by the reference from the sparse X, and the objectives
    within both gaps of the dense route's."""
    from jaxreg import _sparse_glm

    X, y = sparse_wide(family)
    if dense_bytes is not None:
        monkeypatch.setattr(_sparse_glm, "DENSE_BYTES", dense_bytes)
    widths = []
    toarray = scipy.sparse.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        widths.append(self.shape[1])
        return toarray(self, *args, **kwargs)

    kw = dict(family=family, l1_ratio=0.8, alphas=8, eps=5e-2, tol=1e-8)
    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", spy)
    rs = jaxreg.enet_path(X, y, **kw)
    monkeypatch.undo()
    assert max(widths, default=0) < X.shape[1]
    assert bool(widths) == (dense_bytes is None)
    rd = jaxreg.enet_path(X.toarray(), y, **kw)
    assert rd.strategy == "newton"
    assert (rs.strategy == "newton") == (dense_bytes is None)
    assert rs.converged.all() and rd.converged.all()
    for i, a in enumerate(rs.alphas):
        g = ref.glm_duality_gap(
            X, y, rs.coefs[i], rs.intercepts[i], a, family=family, l1_ratio=0.8
        )
        obj = [objective(X, y, r, i, family) for r in (rs, rd)]
        slack = rounding(X, obj[0])
        assert g <= rs.gap_tol + slack, (i, g, rs.gap_tol)
        assert abs(obj[0] - obj[1]) <= rs.gaps[i] + rd.gaps[i] + slack
