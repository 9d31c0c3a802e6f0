"""Bad input: a clear error that names the argument, the rule and the value."""

import numpy as np
import pytest
from conftest import make_data

import jaxreg

X, Y = make_data(20, 4, seed=7)


def bad(**kw):
    args = {"X": X, "y": Y}
    args.update(kw)
    return jaxreg.enet_path(args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"X": np.ones(5)}, ValueError, r"X must be 2-D .*got shape \(5,\)"),
        ({"X": np.ones((20, 0))}, ValueError, "at least one feature"),
        ({"X": np.ones((1, 3)), "y": [1.0]}, ValueError, "at least 2 samples"),
        ({"X": np.ones((0, 3)), "y": np.ones(0)}, ValueError, "at least 2 samples"),
        ({"y": Y[:-1]}, ValueError, "X has 20 rows, y has 19"),
        ({"y": np.ones((20, 2))}, ValueError, r"y must be 1-D, got shape \(20, 2\)"),
        ({"X": np.where(np.eye(20, 4) > 0, np.nan, X)}, ValueError, "X contains NaN"),
        (
            {"X": np.where(np.eye(20, 4) > 0, np.inf, X)},
            ValueError,
            "X contains NaN or inf",
        ),
        ({"y": np.r_[np.nan, Y[1:]]}, ValueError, "y contains NaN"),
        ({"X": X.astype(complex)}, TypeError, "X must hold real numbers.*complex"),
        ({"X": X.astype(str)}, TypeError, "X must hold real numbers.*string"),
        ({"X": X.astype(object)}, TypeError, "X must hold real numbers.*object"),
        ({"y": "abc"}, TypeError, "y must be array-like"),
        ({"alphas": [0.1, -0.1]}, ValueError, r"alphas\[1\] = -0.1"),
        ({"alphas": [0.1, np.nan]}, ValueError, r"non-negative finite.*nan"),
        ({"alphas": 0}, ValueError, "alphas must be a positive grid size, got 0"),
        ({"alphas": [[0.1]]}, ValueError, "alphas must be an int or a non-empty 1-D"),
        ({"alphas": []}, ValueError, "non-empty 1-D"),
        ({"l1_ratio": 1.5}, ValueError, r"l1_ratio must be in \(0, 1\], got 1.5"),
        ({"l1_ratio": 0.0}, ValueError, "use jaxreg.ridge_path"),
        ({"l1_ratio": np.nan}, ValueError, "l1_ratio must be in"),
        ({"l1_ratio": "a"}, TypeError, "l1_ratio must be a real number"),
        ({"eps": 0.0}, ValueError, r"eps must be in \(0, 1\], got 0.0"),
        ({"eps": 1.5}, ValueError, r"eps must be in \(0, 1\]"),
        ({"tol": -1e-3}, ValueError, "tol must be positive"),
        ({"tol": np.nan}, ValueError, "tol must be positive"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer, got 0"),
        ({"max_iter": 10.5}, TypeError, "max_iter must be a positive integer"),
        (
            {"sample_weight": np.ones(19)},
            ValueError,
            r"sample_weight must have shape \(20,\)",
        ),
        (
            {"sample_weight": -np.ones(20)},
            ValueError,
            r"non-negative, got sample_weight\[0\]",
        ),
        ({"sample_weight": np.zeros(20)}, ValueError, "positive sum, got sum 0.0"),
        (
            {"sample_weight": np.r_[np.nan, np.ones(19)]},
            ValueError,
            "sample_weight contains NaN",
        ),
        (
            {"penalty_factor": [1.0, 1.0]},
            ValueError,
            r"penalty_factor must have shape \(4,\)",
        ),
        ({"penalty_factor": [1, -1, 1, 1]}, ValueError, r"penalty_factor\[1\] = -1.0"),
        ({"penalty_factor": np.zeros(4)}, ValueError, "at least one positive entry"),
        ({"lower_limits": 1.0}, ValueError, "lower_limits must be <= 0"),
        ({"upper_limits": [-1, 1, 1, 1]}, ValueError, r"upper_limits\[0\] = -1.0"),
        ({"positive": "yes"}, TypeError, "positive must be True or False"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32' or 'float64'"),
        ({"dtype": "int8"}, ValueError, "dtype must be"),
        ({"mode": "fast"}, ValueError, "mode must be one of"),
        ({"strategy": "magic"}, ValueError, "strategy must be one of"),
        (
            {"strategy": "hybrid", "chunk": 0},
            ValueError,
            "chunk must be a positive integer",
        ),
        ({"check_every": 0}, ValueError, "check_every must be a positive integer"),
        ({"device": "tpu"}, ValueError, "device must be 'cpu' or 'gpu'"),
    ],
)
def test_bad_input_is_named(kw, exc, match):
    with pytest.raises(exc, match=match):
        bad(**kw)


def test_lasso_path_refuses_l1_ratio():
    with pytest.raises(TypeError, match="l1_ratio=1 fixed"):
        jaxreg.lasso_path(X, Y, l1_ratio=0.5)


def test_inputs_are_not_modified():
    Xc, yc = X.copy(), Y.copy()
    w = np.linspace(1, 2, 20)
    wc = w.copy()
    jaxreg.lasso_path(X, Y, alphas=3, sample_weight=w, standardize=True)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(Y, yc)
    np.testing.assert_array_equal(w, wc)


def test_list_input_and_column_vector_y_are_accepted():
    p = jaxreg.lasso_path(X.tolist(), Y.reshape(-1, 1), alphas=3)
    q = jaxreg.lasso_path(X, Y, alphas=3)
    np.testing.assert_allclose(p.coefs, q.coefs)
