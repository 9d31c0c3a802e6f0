"""JAX behaviour: compile once, dtypes, jit on/off, global config untouched."""

import logging

import jax
import numpy as np
import pytest
from conftest import make_data

import jaxreg
from jaxreg import _validation


@pytest.fixture(scope="module")
def data():
    return make_data(50, 8, seed=11)


def _compiles(caplog, fn):
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level(logging.WARNING, logger="jax"):
        fn()
    return [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()]


def test_new_alphas_or_tol_do_not_recompile(data, caplog):
    X, y = data
    jaxreg.lasso_path(X, y, alphas=[0.5, 0.2, 0.1, 0.05], tol=1e-6)
    again = _compiles(
        caplog,
        lambda: jaxreg.lasso_path(
            X, y, alphas=[0.4, 0.3, 0.01, 0.001], tol=1e-9, max_iter=5000
        ),
    )
    solver = [m for m in again if "solve_path" in m or "fista" in m]
    assert solver == [], again


def test_compile_logging_is_observed(caplog):
    # guards the test above: a new shape must show up as a solve_path compile.
    # The shape is this test's own (too large to be padded to a shared bucket,
    # 37 features), so no other test of the session (which share a compilation
    # cache) has compiled its program.
    X, y = make_data(1800, 37, seed=12)
    msgs = _compiles(caplog, lambda: jaxreg.lasso_path(X, y, alphas=3))
    assert any("solve_path" in m for m in msgs), msgs


def test_float32_and_float64(data):
    X, y = data
    p64 = jaxreg.lasso_path(X, y, alphas=10, tol=1e-8)
    p32 = jaxreg.lasso_path(
        X.astype(np.float32), y, alphas=10, tol=1e-4, dtype="float32"
    )
    assert p64.coefs.dtype == np.float64 and p32.coefs.dtype == np.float32
    assert p32.dtype == "float32"
    assert p32.converged.all()
    np.testing.assert_allclose(p32.coefs, p64.coefs, rtol=2e-2, atol=2e-2)
    # float32 input still gives float64 results by default
    p = jaxreg.lasso_path(X.astype(np.float32), y.astype(np.float32), alphas=3)
    assert p.coefs.dtype == np.float64


def test_float32_warns_below_its_floor(data):
    X, y = data
    with pytest.warns(UserWarning, match="below what float32 can certify"):
        jaxreg.lasso_path(
            X,
            y,
            alphas=3,
            tol=_validation.FLOAT32_TOL_FLOOR / 10,
            dtype="float32",
            max_iter=50,
        )


def test_global_config_is_left_alone(data):
    X, y = data
    before = (jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
    jaxreg.lasso_path(X, y, alphas=3)
    assert (
        jax.config.jax_enable_x64,
        jax.config.jax_default_matmul_precision,
    ) == before
    assert jax.numpy.zeros(1).dtype == (np.float64 if before[0] else np.float32)


def test_with_and_without_jit_agree(data):
    X, y = data
    X, y = X[:20, :4], y[:20]
    jitted = jaxreg.lasso_path(X, y, alphas=4, tol=1e-10, strategy="parallel")
    with jax.disable_jit():
        eager = jaxreg.lasso_path(X, y, alphas=4, tol=1e-10, strategy="parallel")
    np.testing.assert_allclose(eager.coefs, jitted.coefs, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(eager.n_iter, jitted.n_iter)


def test_same_input_is_bit_identical(data):
    X, y = data
    a = jaxreg.enet_path(X, y, alphas=6)
    b = jaxreg.enet_path(X, y, alphas=6)
    np.testing.assert_array_equal(a.coefs, b.coefs)
    np.testing.assert_array_equal(a.gaps, b.gaps)


def test_jax_array_input(data):
    X, y = data
    with jax.enable_x64(True):
        Xj, yj = jax.numpy.asarray(X), jax.numpy.asarray(y)
        p = jaxreg.lasso_path(Xj, yj, alphas=4)
    q = jaxreg.lasso_path(X, y, alphas=4)
    np.testing.assert_allclose(p.coefs, q.coefs)
    assert type(p.coefs) is np.ndarray


@pytest.mark.gpu
def test_gpu_float32_is_not_tf32():
    # With TF32 matmuls the certified gap stalls near 1e-3 of the objective.
    X, y = make_data(2000, 200, rho=0.5, seed=0)
    p = jaxreg.lasso_path(
        X.astype(np.float32), y, alphas=20, tol=1e-4, dtype="float32", device="gpu"
    )
    assert p.converged.all()
