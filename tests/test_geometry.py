"""The L1/L2 constraint picture: its maths by brute force, then the figure."""

import sys

import numpy as np
import pytest

from jaxreg._geometry import diabetes_geometry, geometry, geometry_problem
from jaxreg.datasets import load_diabetes

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, Polygon  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


@pytest.fixture(scope="module")
def problem(diabetes):
    X, y, names = diabetes
    return geometry_problem(X, y, ("s4", "s5"), feature_names=names)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def standardized(X, y):
    Z = X - X.mean(0)
    return Z / Z.std(0), y - y.mean()


def test_contours_hold_the_other_coefficients_at_least_squares(diabetes, problem):
    X, y, _ = diabetes
    Z, yc = standardized(X, y)
    theta = np.linalg.lstsq(Z, yc, rcond=None)[0]
    i, j = problem.features
    assert (i, j) == (7, 8) and problem.names == ("s4", "s5")
    np.testing.assert_allclose(problem.center, theta[[i, j]], rtol=1e-10)
    # f(a, b) is the loss of the full model with θ_i = a, θ_j = b and the other
    # coefficients at their least-squares values.
    rng = np.random.default_rng(0)
    for a, b in rng.normal(scale=30.0, size=(5, 2)):
        w = theta.copy()
        w[[i, j]] = a, b
        r = yc - Z @ w
        assert problem.loss(a, b) == pytest.approx(0.5 * np.mean(r * r), rel=1e-10)
    assert problem.loss_min == pytest.approx(
        0.5 * np.mean((yc - Z @ theta) ** 2), rel=1e-10
    )


def test_constrained_solutions_are_the_best_points_of_each_region(problem):
    C = problem.radius
    assert C == pytest.approx(0.5 * np.abs(problem.center).sum())
    # Brute force over the boundary (the unconstrained minimum lies outside both
    # regions, so the constrained minimum is on the boundary).
    assert np.abs(problem.center).sum() > C and np.linalg.norm(problem.center) > C
    s = np.linspace(-1.0, 1.0, 40001)
    diamond = np.concatenate(
        [np.c_[C * s, C * (1 - np.abs(s))], np.c_[C * s, -C * (1 - np.abs(s))]]
    )
    angle = np.linspace(0, 2 * np.pi, 80001)
    circle = C * np.c_[np.cos(angle), np.sin(angle)]
    f_l1 = problem.loss(*problem.l1)
    f_l2 = problem.loss(*problem.l2)
    assert f_l1 <= problem.loss(*diamond.T).min() + 1e-9
    assert f_l2 <= problem.loss(*circle.T).min() + 1e-9
    assert np.abs(problem.l1).sum() == pytest.approx(C, rel=1e-10)
    assert np.linalg.norm(problem.l2) == pytest.approx(C, rel=1e-10)
    # The point of the picture: the diamond is touched at a corner (θ[s4] = 0),
    # the disc is not.
    assert problem.l1[0] == 0 and problem.l1[1] == pytest.approx(C)
    assert (problem.l2 != 0).all()
    # A region bigger than the least-squares point leaves it alone.
    assert f_l1 > problem.loss_min and f_l2 > problem.loss_min


def test_radius_beyond_least_squares_returns_the_center(diabetes):
    X, y, names = diabetes
    g = geometry_problem(X, y, (2, 3), radius=1e3)
    np.testing.assert_allclose(g.l1, g.center, rtol=1e-9)
    np.testing.assert_allclose(g.l2, g.center, rtol=1e-9)
    assert g.names == ("x2", "x3") and g.alpha_l1 == 0 and g.alpha_l2 == 0


def test_figure_shows_regions_solutions_and_contours(diabetes, problem, tmp_path):
    X, y, names = diabetes
    fig = geometry(X, y, ("s4", "s5"), feature_names=names)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(diamonds) == 1 and len(circles) == 1
    C = problem.radius
    corners = diamonds[0].get_xy()[:4]
    np.testing.assert_allclose(np.abs(corners).sum(axis=1), C)
    assert circles[0].get_radius() == pytest.approx(C)
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.startswith("L1 solution") for label in labels)
    assert any(label.startswith("L2 solution") for label in labels)
    points = {
        line.get_label(): line.get_xydata()[0]
        for line in ax.lines
        if line.get_label().endswith(")")
    }
    l1 = next(v for k, v in points.items() if k.startswith("L1 solution"))
    np.testing.assert_allclose(l1, problem.l1)
    assert len(ax.collections) >= 3  # background and two touching contour sets
    assert ax.get_aspect() == 1.0  # the disc must look round
    assert "corner" in ax.get_title() and "θ[s4] = 0" in ax.get_title()
    out = tmp_path / "geometry.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000


def test_draws_into_a_given_axes(diabetes):
    X, y, _ = diabetes
    fig, (left, right) = plt.subplots(1, 2)
    got = geometry(X, y, (7, 8), ax=right, radius=10.0, title="mine")
    assert got is fig and not left.patches and right.get_title() == "mine"
    assert right.patches[1].get_radius() == 10.0
    assert diabetes_geometry(ax=left) is fig
    assert left.get_xlabel() == "θ[s4] (standardized)"


def test_missing_matplotlib_says_how_to_install(diabetes, monkeypatch):
    X, y, _ = diabetes
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'jaxreg\[plot\]'"):
        geometry(X, y, (0, 1))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"features": (1, 1)}, ValueError, r"two different features, got \(1, 1\)"),
        ({"features": (0,)}, ValueError, r"features must be a pair \(i, j\)"),
        ({"features": "ab"}, ValueError, r"features must be a pair"),
        ({"features": (0, 10)}, ValueError, r"indices in \[0, 10\), got 10"),
        ({"features": (0, 1.5)}, TypeError, "integer indices, got 1.5"),
        ({"features": ("bmi", "s5")}, ValueError, "must name columns of feature_names"),
        (
            {"radius": -1.0},
            ValueError,
            "radius must be a positive finite number, got -1.0",
        ),
        ({"radius": np.nan}, ValueError, "radius must be a positive finite number"),
        ({"n_contours": 0}, ValueError, "n_contours must be a positive integer, got 0"),
        ({"feature_names": ["a"]}, ValueError, "feature_names must have 10 entries"),
    ],
)
def test_bad_input_is_rejected(diabetes, kwargs, exc, match):
    X, y, _ = diabetes
    kwargs = {"features": (0, 1), **kwargs}
    with pytest.raises(exc, match=match):
        geometry(X, y, **kwargs)
