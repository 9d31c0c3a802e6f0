"""The embedded diabetes data: exact agreement with the published data set."""

import hashlib
import re
from importlib import resources

import numpy as np
import pytest

from jaxreg.datasets import DIABETES_FEATURES, load_diabetes

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def test_shape_names_and_types():
    X, y, names = load_diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert tuple(names) == DIABETES_FEATURES
    assert np.isfinite(X).all() and np.isfinite(y).all()


def test_equals_scikit_learn_raw_data_exactly():
    ref = sklearn_datasets.load_diabetes(scaled=False)
    X, y, names = load_diabetes()
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)
    assert names == list(ref.feature_names)


def test_scaled_version_is_the_centred_unit_norm_transform():
    # scikit-learn's default (scaled) copy centres each column and divides it by
    # its standard deviation times sqrt(n): the same numbers, another scale.
    X, _, _ = load_diabetes()
    scaled = sklearn_datasets.load_diabetes().data
    Xc = X - X.mean(axis=0)
    expected = Xc / np.sqrt((Xc**2).sum(axis=0))
    np.testing.assert_allclose(expected, scaled, rtol=0, atol=1e-12)


def test_known_values_of_the_original_file():
    # The first patient of Efron et al.'s file and the summary of the response.
    X, y, _ = load_diabetes()
    np.testing.assert_array_equal(
        X[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87]
    )
    assert y[0] == 151
    assert (y.min(), y.max()) == (25, 346)
    assert set(np.unique(X[:, 1])) == {1.0, 2.0}  # sex is coded 1 / 2
    assert (X[:, 0].min(), X[:, 0].max()) == (19, 79)


def test_returns_fresh_arrays():
    X1, y1, n1 = load_diabetes()
    X1[:] = 0
    y1[:] = 0
    n1.append("x")
    X2, y2, n2 = load_diabetes()
    assert X2[0, 0] == 59 and y2[0] == 151 and len(n2) == 10


def test_readme_names_the_source_and_the_file_hash():
    data = resources.files("jaxreg").joinpath("data")
    readme = " ".join(data.joinpath("README.md").read_text(encoding="utf-8").split())
    assert "Least Angle Regression" in readme and "Efron" in readme
    assert "ncsu.edu" in readme
    digest = hashlib.sha256(data.joinpath("diabetes.csv").read_bytes()).hexdigest()
    assert re.search(rf"\b{digest}\b", readme)


def test_csv_header():
    text = resources.files("jaxreg").joinpath("data", "diabetes.csv").read_text()
    assert text.splitlines()[0] == "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,target"
    assert len(text.splitlines()) == 443
