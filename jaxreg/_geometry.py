"""Why the lasso zeros coefficients out: the constraint picture on real data.

For two chosen features ``i`` and ``j`` the least-squares loss is restricted to the
plane of their coefficients, the other coefficients held at their least-squares
values::

    f(θ_i, θ_j) = 1/(2n)·||y - ȳ - Σ_{k≠i,j} x̃_k θ̂_k - x̃_i θ_i - x̃_j θ_j||²

(``x̃`` the centred, by default standardized, columns). ``f`` is a quadratic whose
contours are ellipses centred on the least-squares point ``(θ̂_i, θ̂_j)``. The
constrained fits minimise ``f`` over the L1 diamond ``|θ_i| + |θ_j| <= C`` and over
the L2 disc ``θ_i² + θ_j² <= C²``; each solution is where the contours first touch
the region. The diamond has corners on the axes, and the contours usually touch it
there, which sets a coefficient to exactly 0; the disc has no corners, so the L2 fit
only shrinks.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from jaxreg import _validation as V

__all__ = ["GeometryProblem", "geometry", "geometry_problem", "diabetes_geometry"]

_NEED_MPL = "matplotlib is needed for plots: pip install 'jaxreg[plot]'"
L1_COLOR = "#c0392b"
L2_COLOR = "#1f5fa8"


class GeometryProblem(NamedTuple):
    """The two-feature picture's maths (coefficients on the plotted scale)."""

    features: tuple[int, int]
    names: tuple[str, str]
    center: np.ndarray  # (2,) least-squares (θ̂_i, θ̂_j): the contours' centre
    hessian: np.ndarray  # (2, 2) x̃ᵀx̃/n of the two columns
    loss_min: float  # f at the centre (the full least-squares loss)
    radius: float  # C
    l1: np.ndarray  # (2,) argmin of f over |θ_i| + |θ_j| <= C
    l2: np.ndarray  # (2,) argmin of f over θ_i² + θ_j² <= C²
    alpha_l1: float  # the lasso alpha of the L1 solution (2-D problem)
    alpha_l2: float  # the ridge alpha of the L2 solution (2-D problem)
    standardize: bool

    def loss(self, a, b):
        """``f(a, b)``, elementwise over arrays ``a`` (θ_i) and ``b`` (θ_j)."""
        da = np.asarray(a, np.float64) - self.center[0]
        db = np.asarray(b, np.float64) - self.center[1]
        H = self.hessian
        return self.loss_min + 0.5 * (
            H[0, 0] * da * da + 2 * H[0, 1] * da * db + H[1, 1] * db * db
        )


def _check_features(features, p, feature_names):
    if (
        isinstance(features, (str, bytes))
        or not hasattr(features, "__len__")
        or len(features) != 2
    ):
        raise ValueError(
            f"features must be a pair (i, j) of two feature indices, got {features!r}."
        )
    out = []
    for f in features:
        if isinstance(f, str):
            if feature_names is None or f not in feature_names:
                raise ValueError(
                    f"features must name columns of feature_names, got {f!r} "
                    f"(feature_names={feature_names!r})."
                )
            f = list(feature_names).index(f)
        elif isinstance(f, bool) or not isinstance(f, numbers.Integral):
            raise TypeError(f"features must hold integer indices, got {f!r}.")
        if not 0 <= f < p:
            raise ValueError(f"features must be indices in [0, {p}), got {f!r}.")
        out.append(int(f))
    if out[0] == out[1]:
        raise ValueError(f"features must be two different features, got {features!r}.")
    return out[0], out[1]


def _pair_problem(X, y, i, j, standardize):
    """The two-feature least-squares problem of features i, j, the other
    coefficients held at their least-squares values (same minimiser)."""
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    if standardize:
        scale = np.sqrt(np.mean(Xc * Xc, axis=0))
        Xc = Xc / np.where(scale > 0, scale, 1.0)
    theta = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    others = [k for k in range(X.shape[1]) if k not in (i, j)]
    return Xc[:, [i, j]], yc - Xc[:, others] @ theta[others], theta[[i, j]]


def geometry_problem(
    X, y, features=(0, 1), *, radius=None, standardize=True, feature_names=None
) -> GeometryProblem:
    """The maths of :func:`geometry`: contours, regions and both constrained fits.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), n_features >= 2
    y : array-like of shape (n_samples,)
    features : pair of int (or of str, with ``feature_names``)
        The two features ``(i, j)`` whose coefficient plane is drawn.
    radius : float, optional
        The size ``C`` of the diamond ``|θ_i| + |θ_j| <= C`` and of the disc of
        radius C. Default: half the L1 norm of ``(θ̂_i, θ̂_j)``, where both
        constraints bind.
    standardize : bool
        Work with unit-variance columns, so that both axes share one scale.
    feature_names : sequence of str, optional

    Returns
    -------
    GeometryProblem
    """
    from jaxreg.constrained import constrained_path

    X, y = V.check_X_y(X, y)
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n, p = X.shape
    if feature_names is not None:
        feature_names = [str(s) for s in feature_names]
        if len(feature_names) != p:
            raise ValueError(
                f"feature_names must have {p} entries (one per column of X), got "
                f"{len(feature_names)}."
            )
    i, j = _check_features(features, p, feature_names)
    X2, y2, center = _pair_problem(X, y, i, j, standardize)
    r = y2 - X2 @ center
    loss_min = float(r @ r / (2 * n))
    if radius is None:
        radius = 0.5 * float(np.abs(center).sum())
    elif not (
        isinstance(radius, numbers.Real)
        and not isinstance(radius, bool)
        and np.isfinite(radius)
        and radius > 0
    ):
        raise ValueError(f"radius must be a positive finite number, got {radius!r}.")
    radius = float(radius)
    fits = {}
    for norm in ("l1", "l2"):
        res = constrained_path(
            X2, y2, radii=[radius], norm=norm, fit_intercept=False, tol=1e-12
        )
        fits[norm] = (res.coefs[0] + 0.0, float(res.alphas[0]))  # no -0.0
    names = (
        (feature_names[i], feature_names[j]) if feature_names else (f"x{i}", f"x{j}")
    )
    return GeometryProblem(
        features=(i, j),
        names=names,
        center=center,
        hessian=X2.T @ X2 / n,
        loss_min=loss_min,
        radius=radius,
        l1=fits["l1"][0],
        l2=fits["l2"][0],
        alpha_l1=fits["l1"][1],
        alpha_l2=fits["l2"][1],
        standardize=bool(standardize),
    )


def geometry(X, y, features=(0, 1), *, radius=None, ax=None, standardize=True,
             feature_names=None, n_contours=8, title=None):  # fmt: skip
    """Draw the L1/L2 constraint picture of the lasso on real data.

    In the plane of the coefficients ``(θ_i, θ_j)`` of two features, with the other
    coefficients held at their least-squares values, the figure shows the contours
    of ``f(θ_i, θ_j) = 1/(2n)·||y - ȳ - X̃θ||²`` (ellipses around the least-squares
    point), the L1 diamond ``|θ_i| + |θ_j| <= C`` and the L2 disc
    ``θ_i² + θ_j² <= C²``, and the two constrained solutions, each where a contour
    touches its region (the touching contours are drawn in the region's colour).

    Parameters
    ----------
    X, y, features, radius, standardize, feature_names
        As in :func:`geometry_problem`.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    n_contours : int
        Number of background loss contours.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.patches import Circle, Polygon
    except ImportError:
        raise ImportError(_NEED_MPL) from None
    V.check_int("n_contours", n_contours)
    kw = dict(radius=radius, standardize=standardize, feature_names=feature_names)
    g = geometry_problem(X, y, features, **kw)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6, 5.4), layout="constrained")
        legend = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    else:
        fig = ax.figure
        legend = dict(loc="best")
    u, v = (f"θ[{name}]" for name in g.names)
    a, b = _window(g)
    _contours(ax, g, a, b, n_contours)
    _regions(ax, g.radius, u, v, Polygon, Circle)
    _points(ax, g)
    ax.set_xlim(a[0], a[-1])
    ax.set_ylim(b[0], b[-1])
    ax.set_aspect("equal")
    unit = " (standardized)" if g.standardize else ""
    ax.set_xlabel(f"{u}{unit}")
    ax.set_ylabel(f"{v}{unit}")
    ax.set_title(_title(g, u, v) if title is None else title, fontsize=10)
    ax.legend(fontsize=8, framealpha=0.9, **legend)
    return fig


def _contours(ax, g, a, b, n_contours):
    """Background loss contours, and the ones touching each region (dashed)."""
    A, B = np.meshgrid(a, b)
    F = g.loss(A, B)
    f1, f2 = float(g.loss(*g.l1)), float(g.loss(*g.l2))
    # Background levels spread geometrically in f - f_min around the touching ones.
    excess = max(f1, f2) - g.loss_min
    if excess > 0:
        levels = g.loss_min + excess * np.geomspace(0.02, 4.0, n_contours)
        ax.contour(A, B, F, levels=levels, colors="0.65", linewidths=0.7)
    for level, color in ((f1, L1_COLOR), (f2, L2_COLOR)):
        if level > g.loss_min:
            ax.contour(
                A, B, F, levels=[level], colors=color, linewidths=1.2, linestyles="--"
            )


def _window(g):
    """A square window around the regions and the least-squares point (the disc
    must look round)."""
    C = g.radius
    lo = np.minimum(np.minimum(g.center, -C), 0.0)
    hi = np.maximum(np.maximum(g.center, C), 0.0)
    mid = 0.5 * (lo + hi)
    half = 0.6 * float(np.max(hi - lo))
    return (
        np.linspace(mid[0] - half, mid[0] + half, 400),
        np.linspace(mid[1] - half, mid[1] + half, 400),
    )


def _regions(ax, C, u, v, Polygon, Circle):
    ax.add_patch(
        Polygon(
            [(C, 0), (0, C), (-C, 0), (0, -C)],
            closed=True,
            facecolor=L1_COLOR,
            alpha=0.16,
            edgecolor=L1_COLOR,
            lw=1.8,
            label=f"L1 region |{u}| + |{v}| ≤ {C:.3g}",
        )
    )
    ax.add_patch(
        Circle(
            (0.0, 0.0),
            C,
            facecolor=L2_COLOR,
            alpha=0.10,
            edgecolor=L2_COLOR,
            lw=1.8,
            label=f"L2 region {u}² + {v}² ≤ {C:.3g}²",
        )
    )


def _points(ax, g):
    ax.plot(
        *g.center,
        "k+",
        ms=12,
        mew=2,
        label=f"least squares ({g.center[0]:.3g}, {g.center[1]:.3g})",
    )
    ax.plot(
        *g.l1,
        "o",
        color=L1_COLOR,
        ms=9,
        mec="k",
        label=f"L1 solution ({g.l1[0]:.3g}, {g.l1[1]:.3g})",
    )
    ax.plot(
        *g.l2,
        "s",
        color=L2_COLOR,
        ms=8,
        mec="k",
        label=f"L2 solution ({g.l2[0]:.3g}, {g.l2[1]:.3g})",
    )
    ax.plot([], [], "--", color="0.3", lw=1.2, label="contour touching each region")
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.axvline(0.0, color="0.3", lw=0.6)


def _title(g, u, v):
    zero = [name for name, w in zip((u, v), g.l1, strict=True) if w == 0]
    if len(zero) == 1:
        where = f"at a corner: the L1 fit sets {zero[0]} = 0"
    else:
        where = "on an edge: the L1 fit keeps both" if not zero else "at the origin"
    return f"The loss contours touch the L1 diamond {where}"


def diabetes_geometry(features=("s4", "s5"), *, radius=None, ax=None):
    """:func:`geometry` on the diabetes data shipped with jaxreg (standardized)."""
    from jaxreg.datasets import load_diabetes

    X, y, names = load_diabetes()
    return geometry(X, y, features, radius=radius, ax=ax, feature_names=names)
