"""Honest at the edges: extreme magnitudes, float32 from float64 data, memory
refusals before anything is allocated, Ctrl-C. Each test here failed before its
fix."""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from conftest import make_data

import jaxreg
from jaxreg import _memory, reference

TOL = 1e-10


@pytest.fixture(scope="module")
def data():
    return make_data(60, 8, rho=0.3, seed=31)


def _certified(path, X, y, alphas, scale, **kw):
    """Converged, finite, and every gap recomputed by the reference within tol. The
    reference is plain float64 NumPy, so it certifies the same problem on unscaled
    data: the objective of (X·c, w) equals that of (X, c·w), at alpha/c without
    standardization and at the same alpha with it."""
    assert path.converged.all()
    assert np.isfinite(path.coefs).all() and np.isfinite(path.gaps).all()
    for a, w, b in zip(alphas, path.coefs * scale, path.intercepts, strict=True):
        gap = reference.duality_gap(X, y, w, b, a, **kw)
        assert gap <= 1.01 * path.gap_tol + 1e-13 * abs(path.gap_tol)


@pytest.mark.parametrize("scale", [1e150, 1e-150, 2.0**-600])
def test_units_of_y_do_not_matter(data, scale):
    # w(c·y, c·alpha) = c·w(y, alpha) for the lasso; y·1e150 overflowed the
    # tolerance to inf before (every alpha "converged" at all zeros).
    X, y = data
    base = jaxreg.lasso_path(X, y, alphas=6, tol=TOL)
    big = jaxreg.lasso_path(X, y * scale, alphas=base.alphas * scale, tol=TOL)
    assert big.converged.all() and np.isfinite(big.coefs).all()
    np.testing.assert_allclose(big.coefs / scale, base.coefs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(big.alpha_max / scale, base.alpha_max, rtol=1e-12)


@pytest.mark.parametrize("scale", [1e160, 1e-160, 1e100])
def test_units_of_x_do_not_matter_when_standardized(data, scale):
    # X·1e±160 with standardize=True: all zeros at gap 0, "converged", before.
    X, y = data
    base = jaxreg.lasso_path(X, y, alphas=6, tol=TOL, standardize=True)
    big = jaxreg.lasso_path(X * scale, y, alphas=base.alphas, tol=TOL, standardize=True)
    assert big.converged.all()
    np.testing.assert_allclose(big.coefs * scale, base.coefs, rtol=1e-6, atol=1e-8)
    _certified(big, X, y, base.alphas, scale, standardize=True)


@pytest.mark.parametrize("scale", [1e100, 1e-100])
def test_units_of_x_do_not_matter(data, scale):
    # X·1e100 at alpha 1e99 gave NaN before (flagged, but "increase max_iter").
    X, y = data
    base = jaxreg.lasso_path(X, y, alphas=6, tol=TOL)
    big = jaxreg.lasso_path(X * scale, y, alphas=base.alphas * scale, tol=TOL)
    np.testing.assert_allclose(big.coefs * scale, base.coefs, rtol=1e-6, atol=1e-8)
    _certified(big, X, y, base.alphas, scale)


def test_ridge_on_huge_x_is_least_squares(data):
    # ridge_path(X·1e160, alpha=1e-10): NaN coefficients, "converged", before. The
    # penalty is alpha/c² = 1e-330 on the rescaled problem: least squares.
    X, y = data
    res = jaxreg.ridge_path(X * 1e160, y, alphas=[1e-10])
    Xc, yc = X - X.mean(0), y - y.mean()
    ls = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    assert res.converged.all()
    np.testing.assert_allclose(res.coefs[0] * 1e160, ls, rtol=1e-8)


def test_y_too_large_for_float64_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y is too large for float64"):
        jaxreg.lasso_path(X, y * 1e160, alphas=[1e159])


def test_non_finite_results_are_never_converged(data):
    # A solution beyond float64: coefficients near 1e400.
    X, y = data
    with pytest.warns(jaxreg.ConvergenceWarning, match="non-finite.*rescale X or y"):
        res = jaxreg.lasso_path(X * 1e-300, y * 1e100, alphas=[1e-250, 0.0])
    assert not res.converged.any()


@pytest.mark.parametrize("shift", ["X", "y"])
def test_float32_from_float64_data_is_centred_first(data, shift):
    # float64 data with an offset of 1e8 asked for in float32: 25% off (y) or all
    # zeros (X), "converged", before: the data was cast before it was centred.
    X, y = data
    X2, y2 = (X + 1e8, y) if shift == "X" else (X, y + 1e8)
    p64 = jaxreg.lasso_path(X, y, alphas=6, tol=1e-8)
    p32 = jaxreg.lasso_path(X2, y2, alphas=p64.alphas, tol=1e-4, dtype="float32")
    assert p32.converged.all()
    np.testing.assert_allclose(p32.coefs, p64.coefs, rtol=2e-2, atol=2e-2)


def test_ridge_memory_counts_every_coefficient(monkeypatch):
    # 100000 alphas x 50000 features needed 40 GB for the coefficients alone and
    # passed the estimate (k = 1 was counted); XLA aborted.
    X, y = make_data(20, 50)
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 2**30)
    with pytest.raises(jaxreg.InsufficientMemoryError, match="needs about"):
        jaxreg.ridge_path(X, y, alphas=np.geomspace(1, 1e-3, 3_000_000))
    with pytest.raises(jaxreg.InsufficientMemoryError, match="needs about"):
        jaxreg.multi_target_path(X, np.c_[y, y], alphas=np.geomspace(1, 1e-3, 10**6))


def test_memory_is_estimated_before_the_data_is_read():
    # A broadcast 10^6 x 10^5 design takes no memory; checking it for NaN made an
    # n x p mask (93 GiB) before the estimate ran.
    X = np.broadcast_to(np.arange(100_000.0), (1_000_000, 100_000))
    y = np.zeros(1_000_000)
    with pytest.raises(jaxreg.InsufficientMemoryError, match="needs about"):
        jaxreg.lasso_path(X, y, alphas=3)


def test_pandas_nullable_columns_are_numbers():
    pd = pytest.importorskip("pandas")
    X, y = make_data(30, 3)
    df = pd.DataFrame(X, columns=list("abc")).astype("Float64")
    res = jaxreg.lasso_path(df, pd.Series(y, dtype="Float64"), alphas=3)
    np.testing.assert_allclose(res.coefs, jaxreg.lasso_path(X, y, alphas=3).coefs)
    df.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match="X contains NaN"):
        jaxreg.lasso_path(df, y, alphas=3)


def test_sparse_input_gets_a_clear_message_where_it_must_be_dense():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = make_data(30, 3)
    with pytest.raises(TypeError, match=r"y is a sparse matrix .* y\.toarray\(\)"):
        jaxreg.lasso_path(X, sparse.csr_matrix(y[:, None]))
    with pytest.raises(ValueError, match="criterion='gcv'"):
        jaxreg.ridge_loo(sparse.csr_matrix(X), y, alphas=[1.0])
    assert jaxreg.lasso_path(sparse.csr_matrix(X), y, alphas=3).coefs.shape == (3, 3)


@pytest.mark.parametrize("delay", [0.3, 1.5, 5.0])
def test_ctrl_c_exits_130_with_one_line(tmp_path, delay):
    # Ctrl-C on a long `jaxreg path` printed a line and then segfaulted (5 of 10
    # tries), or was swallowed by a JAX callback; during the import, a traceback.
    # Minutes of work (tol 1e-12 on correlated data): the interrupt always lands
    # inside it.
    X, y = make_data(3000, 600, rho=0.9, seed=1)
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=y)
    cmd = [sys.executable, "-m", "jaxreg", "path", str(data), "--alphas", "400",
           "--tol", "1e-12", "--max-iter", "1000000"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip("finished before the interrupt")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines()[-1] == "jaxreg: interrupted"
    assert "Traceback" not in err.decode()


def test_no_stale_part_file_survives_a_kill(tmp_path):
    # After kill -9 a hidden .NAME.part stayed next to the destination.
    from jaxreg.cli import io

    dest = tmp_path / "coefs.csv"
    stale = tmp_path / ".coefs.csv.jaxreg-999999999.part"
    stale.write_bytes(b"half a file")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.atomic_write(dest, lambda f: f.write(b"ok"), force=False)
    assert dest.read_bytes() == b"ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coefs.csv"]
    assert os.getpid() > 0
