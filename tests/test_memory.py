"""The memory estimate refuses clearly instead of crashing inside XLA."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg
from jaxreg import _memory


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
