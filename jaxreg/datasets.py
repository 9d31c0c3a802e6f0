"""Small data sets shipped with jaxreg (read with NumPy only).

The diabetes data (Efron, Hastie, Johnstone & Tibshirani 2004) is the classic test
bed of the lasso: 442 patients, ten baseline variables and a measure of disease
progression one year later. It is stored unscaled in ``jaxreg/data/diabetes.csv``;
``jaxreg/data/README.md`` describes its columns and source.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np

__all__ = ["DIABETES_FEATURES", "load_diabetes"]

DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def load_diabetes() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The diabetes data of Efron, Hastie, Johnstone & Tibshirani (2004).

    Ten baseline variables of 442 diabetes patients — age, sex, body mass index
    (``bmi``), average blood pressure (``bp``) and six blood serum measurements
    (``s1`` … ``s6``) — and the response, a quantitative measure of disease
    progression one year after baseline. The values are the original, unscaled
    measurements.

    Returns
    -------
    X : ndarray of shape (442, 10), float64
        The baseline variables, in the column order of ``feature_names``.
    y : ndarray of shape (442,), float64
        Disease progression one year after baseline.
    feature_names : list of str
        ``["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]``.

    Notes
    -----
    Read from the package data file ``jaxreg/data/diabetes.csv`` with
    :mod:`importlib.resources`; no network access and no scikit-learn needed.

    References
    ----------
    B. Efron, T. Hastie, I. Johnstone and R. Tibshirani (2004), "Least Angle
    Regression", *Annals of Statistics* 32(2), 407–499. Original data:
    https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html

    Examples
    --------
    >>> from jaxreg.datasets import load_diabetes
    >>> X, y, names = load_diabetes()
    >>> X.shape, y.shape, names[2]
    ((442, 10), (442,), 'bmi')
    """
    text = (
        resources.files("jaxreg")
        .joinpath("data", "diabetes.csv")
        .read_text(encoding="utf-8")
    )
    header, _, body = text.partition("\n")
    names = header.strip().split(",")
    data = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    if names[-1] != "target" or data.shape[1] != len(names):
        raise RuntimeError(
            "jaxreg/data/diabetes.csv is damaged: expected a header ending in "
            f"'target' and {len(names)} columns, got {header!r} and "
            f"{data.shape[1]} columns. Reinstall jaxreg."
        )
    return data[:, :-1].copy(), data[:, -1].copy(), names[:-1]
