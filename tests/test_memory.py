"""The memory estimate refuses clearly instead of crashing inside XLA."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg
from jaxreg import _memory, reference


def test_estimate_grows_with_the_problem():
    small = _memory.estimate_bytes(1000, 100, 100, "float64", "gram")
    assert _memory.estimate_bytes(1000, 100, 100, "float32", "gram") == small // 2
    assert _memory.estimate_bytes(1000, 1000, 100, "float64", "gram") > 10 * small
    # the dominant terms: two copies of X and the p x p Gram matrix
    n, p = 100_000, 1000
    est = _memory.estimate_bytes(n, p, 100, "float64", "gram")
    assert 8 * (2 * n * p + p * p) <= est <= 1.2 * 8 * (2 * n * p + p * p)


def test_refuses_with_size_and_remedy(monkeypatch):
    X, y = make_data(200, 50)
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 10_000)
    with pytest.raises(
        jaxreg.InsufficientMemoryError,
        match=r"needs about .* GiB \(n=200, p=50.*Try dtype='float32'",
    ):
        jaxreg.lasso_path(X, y, alphas=10)
    assert issubclass(jaxreg.InsufficientMemoryError, MemoryError)


def test_unknown_free_memory_does_not_block(monkeypatch):
    X, y = make_data(30, 5)
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: None)
    assert np.isfinite(jaxreg.lasso_path(X, y, alphas=3).coefs).all()


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y: jaxreg.ridge_path(X, y, alphas=5),
        lambda X, y: jaxreg.ridge_loo(X, y, alphas=[1.0, 0.1]),
        lambda X, y: jaxreg.cv_path(X, y, cv=3, alphas=5),
        lambda X, y: jaxreg.constrained_path(X, y, radii=[0.5, 1.0]),
    ],
    ids=["ridge_path", "ridge_loo", "cv_path", "constrained_path"],
)
def test_every_entry_point_checks_memory(monkeypatch, call):
    X, y = make_data(60, 8)
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 1_000)
    with pytest.raises(jaxreg.InsufficientMemoryError, match="needs about"):
        call(X, y)


def test_the_path_is_held_once(monkeypatch):
    """The coefficients a sparse path returns are the solver's own array, mapped
    to the data's units in place: a wide path is not copied on its way out
    (dense designs are padded to bucketed widths: theirs is cut to size)."""
    import scipy.sparse

    from jaxreg.solvers import active_set

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 400)) * (rng.random((40, 400)) < 0.2)
    y = X[:, :5] @ np.arange(1.0, 6.0) + 0.1 * rng.standard_normal(40)
    solve, seen = active_set.solve_members, {}

    def recorded(*args, **kwargs):
        seen["raw"] = out = solve(*args, **kwargs)
        return out

    monkeypatch.setattr(active_set, "solve_members", recorded)
    res = jaxreg.lasso_path(scipy.sparse.csr_matrix(X), y, alphas=8, tol=1e-8)
    assert res.strategy == "active_set" and res.converged.all()
    assert np.shares_memory(res.coefs, seen["raw"]["coef"])
    # the values are a certified path's: every objective within the two gaps
    # (tol·yy each) of the reference's
    ref = reference.lasso_path(X, y, alphas=res.alphas, tol=1e-12)

    def objective(W, b):
        r = y[None] - W @ X.T - np.asarray(b)[:, None]
        return (r**2).mean(1) / 2 + np.asarray(res.alphas) * np.abs(W).sum(1)

    P, P_ref = (
        objective(res.coefs, res.intercepts),
        objective(ref["coefs"], ref["intercepts"]),
    )
    yy = np.mean((y - y.mean()) ** 2)
    bound = (1e-8 + 1e-12) * yy + 4 * np.finfo(float).eps * P_ref
    assert np.all(np.abs(P - P_ref) <= bound)


def test_a_cv_result_does_not_hold_the_folds_paths():
    """The full-data path of a CV result is its own array, not a view into
    the folds' paths (which would stay alive with it)."""
    X, y = make_data(n=60, p=8)
    res = jaxreg.cv_path(X, y, alphas=6, cv=3)
    coefs = res.path.coefs
    assert coefs.base is None or np.asarray(coefs.base).nbytes == coefs.nbytes
