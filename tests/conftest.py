"""Shared fixtures. The library turns float64 on per call, so x64 stays off here:
the tests run the way users call jaxreg. The persistent compilation cache is off
(unless the environment sets it): a test must not depend on what earlier runs
left in the user's cache, and writing every program to disk made the suite slower
(measured: 502 s with a fresh cache per session against 464 s without;
tests/test_conventions.py tests the cache itself)."""

import os
import subprocess
import sys

os.environ.setdefault("JAXREG_COMPILATION_CACHE", "0")

# Compilation dominates the suite (small problems, many shapes), and on the CPU
# most of it is spent by XLA's fusion emitters: without them the suite took 257 s
# instead of 404-479 s on the 2-core CPU, every test passing. Newer XLA builds
# dropped the flag (an unknown flag aborts the process), so it is first tried in
# a subprocess; pytest-xdist's workers inherit the outcome.
FAST_COMPILE = "--xla_cpu_use_fusion_emitters=false"


def _fast_compile_flags():
    if os.environ.get("JAXREG_TEST_XLA_PROBED"):
        return
    os.environ["JAXREG_TEST_XLA_PROBED"] = "1"
    flags = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE}".strip()
    probe = subprocess.run(
        [sys.executable, "-c", "import jax; jax.devices('cpu')"],
        env={**os.environ, "XLA_FLAGS": flags},
        capture_output=True,
    )
    if probe.returncode == 0:
        os.environ["XLA_FLAGS"] = flags


_fast_compile_flags()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def traced(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), peak)``: the call's result and the peak of the
    NumPy and Python allocations it made (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def make_data(n, p, *, rho=0.0, seed=0, n_informative=5, noise=1.0, offset=3.0):
    """Equicorrelated Gaussian design with a sparse signal and a non-zero mean."""
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.normal(size=(n, p)) + np.sqrt(rho) * rng.normal(
        size=(n, 1)
    )
    X += rng.normal(size=p)  # non-zero column means exercise the centring
    coef = np.zeros(p)
    k = min(n_informative, p)
    coef[:k] = rng.choice([-1.0, 1.0], k) * rng.uniform(1.0, 3.0, k)
    y = X @ coef + noise * rng.normal(size=n) + offset
    return X, y


def enet_objective(
    X, y, coef, intercept, alpha, l1_ratio, sample_weight=None, penalty_factor=None
):
    """The documented path objective, written out independently in NumPy."""
    n, p = X.shape
    s = np.ones(n) if sample_weight is None else sample_weight * n / sample_weight.sum()
    pf = np.ones(p) if penalty_factor is None else penalty_factor
    r = y - X @ coef - intercept
    return (
        0.5 * np.sum(s * r * r) / n
        + alpha * l1_ratio * np.sum(pf * np.abs(coef))
        + 0.5 * alpha * (1 - l1_ratio) * np.sum(pf * coef * coef)
    )


def centred_yy(y, sample_weight=None):
    n = len(y)
    s = np.ones(n) if sample_weight is None else sample_weight * n / sample_weight.sum()
    ybar = np.sum(s * y) / n
    return np.sum(s * (y - ybar) ** 2) / n


@pytest.fixture(scope="session")
def tall():
    return make_data(120, 15, rho=0.3, seed=1)


@pytest.fixture(scope="session")
def wide():
    return make_data(40, 90, rho=0.2, seed=2)


@pytest.fixture(scope="session")
def correlated():
    return make_data(100, 30, rho=0.9, seed=3)


def pytest_collection_modifyitems(config, items):
    if jax.default_backend() != "gpu":
        skip = pytest.mark.skip(reason="needs a GPU backend")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


def heldout_mse_bound(
    X, y, train, test, alpha, l1_ratio, gap, coef, intercept, sample_weight=None
):
    """How far the held-out MSE of a fold can be from its value at the optimum when
    the training fit (coef, intercept) is certified by a duality gap ``gap``.

    Strong convexity of the training objective, ``mu`` = the smallest eigenvalue
    of the centred, weighted training Gram matrix plus ``alpha·(1 - l1_ratio)``,
    gives ``||w - w*|| <= delta = sqrt(2·gap/mu)``; the intercept follows w, so the
    predictions move by ``E·(w - w*)`` with ``E`` the held-out rows centred by the
    training means, and the weighted MSE by at most
    ``2·||Eᵀ(t·r)||·delta + lambda_max(Eᵀ diag(t) E)·delta²``. The gap itself is
    evaluated from terms of the size of ``||y - ȳ||²/n``, so its rounding (a few
    eps of that) is added to it.
    """
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    s = sw[train] / sw[train].sum()
    xbar = s @ X[train]
    Xc = X[train] - xbar
    mu = np.linalg.eigvalsh((Xc * s[:, None]).T @ Xc)[0] + alpha * (1 - l1_ratio)
    yy = s @ (y[train] - s @ y[train]) ** 2
    gap = max(gap, 0.0) + 8 * np.finfo(float).eps * yy
    delta = np.sqrt(2 * gap / mu)
    t = sw[test] / sw[test].sum()
    E = X[test] - xbar
    r = y[test] - X[test] @ coef - intercept
    grad = np.linalg.norm(E.T @ (t * r))
    top = np.linalg.eigvalsh((E * t[:, None]).T @ E)[-1]
    return 2 * grad * delta + top * delta**2


def exact_ridge_loo(X, y, alpha):
    """Leave-one-out MSE of ridge in exact rational arithmetic (no rounding): for
    each i, ``(XcᵀXc + n·alpha·I) w = Xcᵀyc`` on the other rows, solved by
    Gaussian elimination on Fractions."""
    from fractions import Fraction

    n, p = X.shape
    Xf = [[Fraction(v) for v in row] for row in X]
    yf = [Fraction(v) for v in y]
    lam = Fraction(alpha) * n
    total = Fraction(0)
    for i in range(n):
        rows = [k for k in range(n) if k != i]
        xbar = [sum(Xf[k][j] for k in rows) / len(rows) for j in range(p)]
        ybar = sum(yf[k] for k in rows) / len(rows)
        Xc = [[Xf[k][j] - xbar[j] for j in range(p)] for k in rows]
        yc = [yf[k] - ybar for k in rows]
        A = [[sum(r[a] * r[b] for r in Xc) + (lam if a == b else 0) for b in range(p)]
             for a in range(p)]  # fmt: skip
        rhs = [sum(r[a] * v for r, v in zip(Xc, yc, strict=True)) for a in range(p)]
        for col in range(p):  # Gaussian elimination, the matrix is SPD
            for row in range(col + 1, p):
                f = A[row][col] / A[col][col]
                A[row] = [u - f * v for u, v in zip(A[row], A[col], strict=True)]
                rhs[row] -= f * rhs[col]
        w = [Fraction(0)] * p
        for row in reversed(range(p)):
            acc = rhs[row] - sum(A[row][j] * w[j] for j in range(row + 1, p))
            w[row] = acc / A[row][row]
        pred = ybar + sum((Xf[i][j] - xbar[j]) * w[j] for j in range(p))
        total += (yf[i] - pred) ** 2
    return float(total / n)
