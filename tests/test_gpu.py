"""The GPU gives the CPU's answers (skipped without a GPU backend).

The loop layout differs by backend (all alphas in one batch, unrolled steps, power
iteration for CV's step size), so each public entry point is compared with its CPU
result through what both certify: gaps within tol and objectives within 2·tol of
each other (in units of ||y - ȳ||²/n).
"""

import numpy as np
import pytest
from conftest import centred_yy, enet_objective, make_data

import jaxreg

pytestmark = pytest.mark.gpu

TOL = 1e-8


def _objectives(X, y, path, l1_ratio=1.0):
    return np.array(
        [
            enet_objective(X, y, w, b, a, l1_ratio)
            for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=True)
        ]
    )


# Gram mode (lasso, elastic net) and design mode (p > n, where the smallest
# alphas are slow for any first-order method: the grid stops at 1e-2·alpha_max).
@pytest.mark.parametrize(
    ("n", "p", "l1_ratio", "eps"),
    [(3000, 200, 1.0, 1e-3), (2000, 100, 0.5, 1e-3), (80, 400, 1.0, 1e-2)],
)
def test_path_gpu_matches_cpu(n, p, l1_ratio, eps):
    X, y = make_data(n, p, rho=0.5, seed=4)
    kw = dict(l1_ratio=l1_ratio, alphas=30, eps=eps, tol=TOL)
    gpu = jaxreg.enet_path(X, y, device="gpu", **kw)
    cpu = jaxreg.enet_path(X, y, device="cpu", **kw)
    assert gpu.converged.all() and cpu.converged.all()
    assert gpu.strategy == "parallel"
    yy = centred_yy(y)
    assert np.all(gpu.gaps <= TOL * yy)
    diff = np.abs(_objectives(X, y, gpu, l1_ratio) - _objectives(X, y, cpu, l1_ratio))
    assert diff.max() <= 2 * TOL * yy


def test_path_gpu_jax_input_stays_on_device():
    import jax

    X, y = make_data(500, 50, rho=0.3, seed=5)
    with jax.enable_x64(True):
        dev = jax.devices("gpu")[0]
        Xd, yd = jax.device_put(X, dev), jax.device_put(y, dev)
        p = jaxreg.lasso_path(Xd, yd, alphas=10, tol=TOL, device="gpu")
    q = jaxreg.lasso_path(X, y, alphas=10, tol=TOL, device="cpu")
    assert type(p.coefs) is np.ndarray
    diff = np.abs(_objectives(X, y, p) - _objectives(X, y, q))
    assert diff.max() <= 2 * TOL * centred_yy(y)


def test_ridge_gpu_matches_cpu():
    X, y = make_data(2000, 150, rho=0.5, seed=6)
    gpu = jaxreg.ridge_path(X, y, alphas=25, device="gpu")
    cpu = jaxreg.ridge_path(X, y, alphas=25, device="cpu")
    np.testing.assert_allclose(gpu.coefs, cpu.coefs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gpu.intercepts, cpu.intercepts, rtol=1e-8, atol=1e-10)


def test_cv_gpu_matches_cpu():
    X, y = make_data(1500, 80, rho=0.5, seed=7)
    kw = dict(alphas=20, cv=5, tol=TOL)
    gpu = jaxreg.cv_path(X, y, device="gpu", **kw)
    cpu = jaxreg.cv_path(X, y, device="cpu", **kw)
    assert gpu.fold_converged.all() and cpu.fold_converged.all()
    # Held-out errors of solutions within tol of their optimum: equal to a few tol.
    np.testing.assert_allclose(gpu.mse_mean, cpu.mse_mean, rtol=1e-5)
    assert gpu.index_min == cpu.index_min


def test_sufficient_stats_on_the_gpu_match_the_host():
    X, y = make_data(5000, 50, rho=0.5, seed=2)
    host = jaxreg.sufficient_stats(X, y, folds=5, device="cpu")
    gpu = jaxreg.sufficient_stats(X, y, folds=5, device="gpu", chunk_rows=999)
    scale = np.abs(host.Szz).max()
    assert np.abs(gpu.moments_about(host.shift)[1] - host.Szz).max() <= 1e-12 * scale
    np.testing.assert_array_equal(gpu.count, host.count)
