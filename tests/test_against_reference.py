"""Paths against the NumPy reference: independent gaps and objectives.

The reference shares no code with the solver, so its duality gap evaluated at our
coefficients is an independent certificate of optimality.
"""

import numpy as np
import pytest
from conftest import centred_yy, make_data

import jaxreg
from jaxreg import reference

TOL = 1e-9

CONFIGS = {
    "plain": {},
    "no-intercept": {"fit_intercept": False},
    "standardize": {"standardize": True},
    "weights": {"sample_weight": "w"},
    "penalty-factor": {"penalty_factor": "pf"},
    "positive": {"positive": True},
    "box": {"lower_limits": -0.5, "upper_limits": 2.0},
    "everything": {
        "standardize": True,
        "sample_weight": "w",
        "penalty_factor": "pf",
        "positive": True,
    },
}


def _kw(cfg, n, p):
    rng = np.random.default_rng(4)
    kw = dict(cfg)
    if kw.get("sample_weight") == "w":
        kw["sample_weight"] = rng.uniform(0.2, 3.0, n)
    if kw.get("penalty_factor") == "pf":
        pf = rng.uniform(0.5, 2.0, p)
        pf[1] = 0.0
        kw["penalty_factor"] = pf
    return kw


@pytest.mark.parametrize(
    "shape",
    [(80, 12, 0.0), (40, 60, 0.5), (90, 20, 0.9)],
    ids=["tall", "wide", "correlated"],
)
@pytest.mark.parametrize("cfg", list(CONFIGS), ids=list(CONFIGS))
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_gap_and_objective_match_reference(shape, cfg, l1_ratio):
    n, p, rho = shape
    X, y = make_data(n, p, rho=rho, seed=n + p)
    kw = _kw(CONFIGS[cfg], n, p)
    path = jaxreg.enet_path(X, y, l1_ratio=l1_ratio, alphas=8, eps=1e-2, tol=TOL, **kw)
    ref = reference.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=path.alphas, tol=1e-13, **kw
    )
    assert path.converged.all() and ref["converged"].all()
    yy = (
        centred_yy(y, kw.get("sample_weight"))
        if kw.get("fit_intercept", True)
        else np.mean(y * y)
    )
    for i, a in enumerate(path.alphas):
        ours = reference.objective(
            X, y, path.coefs[i], path.intercepts[i], a, l1_ratio=l1_ratio, **kw
        )
        best = reference.objective(
            X, y, ref["coefs"][i], ref["intercepts"][i], a, l1_ratio=l1_ratio, **kw
        )
        gap = reference.duality_gap(
            X, y, path.coefs[i], path.intercepts[i], a, l1_ratio=l1_ratio, **kw
        )
        # the independent gap certifies our point, and agrees with ours
        assert gap <= 1.01 * TOL * yy + 1e-13
        assert ours - best <= TOL * yy + 1e-13
        assert abs(path.gaps[i] - gap) <= 0.05 * TOL * yy + 1e-12 or gap < 1e-3 * TOL
    assert np.isclose(
        path.alpha_max, reference.alpha_max(X, y, l1_ratio=l1_ratio, **kw), rtol=1e-10
    )


def test_default_grid_matches_reference():
    X, y = make_data(50, 10, seed=3)
    path = jaxreg.enet_path(X, y, l1_ratio=0.5, alphas=12, eps=1e-2, standardize=True)
    grid = reference.alpha_grid(
        X, y, n_alphas=12, eps=1e-2, l1_ratio=0.5, standardize=True
    )
    np.testing.assert_allclose(path.alphas, grid, rtol=1e-12)


def test_glmnet_design_path_matches_reference():
    X, y, _ = reference.make_glmnet_design(300, 40, rho=0.5, seed=1)
    path = jaxreg.lasso_path(X, y, alphas=30, tol=1e-12)
    ref = reference.lasso_path(X, y, alphas=path.alphas, tol=1e-14)
    # the design is well conditioned (n >> p): coefficients agree too
    np.testing.assert_allclose(path.coefs, ref["coefs"], rtol=1e-5, atol=1e-6)
    # b = ȳ - x̄·w inherits the coefficient tolerance
    np.testing.assert_allclose(path.intercepts, ref["intercepts"], rtol=1e-5, atol=1e-6)
