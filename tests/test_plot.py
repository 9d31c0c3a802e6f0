"""jaxreg.plot: what is drawn matches the results, and files really are PNGs."""

import io
import struct
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from jaxreg import plot  # noqa: E402
from jaxreg.path import enet_path, lasso_path  # noqa: E402


def _axes():
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def small_path():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)) * [1.0, 10.0, 0.1, 1.0]
    y = X @ [2.0, 0.3, 0.0, -1.0] + 0.5 * rng.normal(size=50)
    return X, y, lasso_path(X, y, alphas=10)


def _top_axis(ax):
    others = [a for a in ax.figure.axes if a is not ax]
    assert len(others) == 1
    return others[0]


def test_coef_path_draws_every_coefficient_on_a_log_alpha_axis(small_path):
    X, y, path = small_path
    fig, ax = _axes()
    out = plot.coef_path(path, ["a", "b", "c", "d"], ax=ax)
    assert out is ax
    lines = ax.get_lines()[:4]
    for j, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_xdata(), path.alphas)
        np.testing.assert_array_equal(line.get_ydata(), path.coefs[:, j])
    assert ax.get_xscale() == "log"
    left, right = ax.get_xlim()
    assert left > path.alphas[0] and right < path.alphas[-1]  # largest alpha left


def test_coef_path_top_axis_shows_df_at_its_ticks(small_path):
    _, _, path = small_path
    fig, ax = _axes()
    plot.coef_path(path, ax=ax)
    top = _top_axis(ax)
    assert top.get_xlim() == ax.get_xlim()
    ticks = top.get_xticks()
    labels = [t.get_text() for t in top.get_xticklabels()]
    assert len(ticks) >= 3
    for a, text in zip(ticks, labels, strict=True):
        i = int(np.argmin(np.abs(np.log(path.alphas) - np.log(a))))
        assert np.isclose(path.alphas[i], a)
        assert text == str(int(path.df[i]))
    assert "df" in top.get_xlabel()


def test_coef_path_labels_the_nonzero_path_ends(small_path):
    _, _, path = small_path
    fig, ax = _axes()
    names = ["age", "bmi", "bp", "s5"]
    plot.coef_path(path, names, ax=ax)
    texts = {t.get_text() for t in ax.texts}
    ends = {names[j] for j in range(4) if path.coefs[-1, j] != 0}
    assert ends and ends <= texts
    assert texts - ends == set()


def test_coef_path_labels_do_not_overlap():
    ys = plot._spread([0.0, 0.01, 0.02, 5.0], 0.5)
    s = np.sort(ys)
    assert np.all(np.diff(s) >= 0.5 - 1e-9)
    assert np.isclose(ys.mean(), np.mean([0.0, 0.01, 0.02, 5.0]))
    assert ys[3] == 5.0  # far from the others: not moved


def test_coef_path_scale_draws_standardized_coefficients(small_path):
    X, _, path = small_path
    fig, ax = _axes()
    sd = X.std(axis=0)
    plot.coef_path(path, ax=ax, scale=sd)
    for j, line in enumerate(ax.get_lines()[:4]):
        np.testing.assert_allclose(line.get_ydata(), path.coefs[:, j] * sd[j])
    assert "standardized" in ax.get_ylabel()


def test_coef_path_marks_alphas_and_names_the_model(small_path):
    X, y, _ = small_path
    path = enet_path(X, y, l1_ratio=0.5, alphas=10)
    fig, ax = _axes()
    plot.coef_path(path, ax=ax, mark_alphas={"min": path.alphas[3]})
    vlines = [
        ln
        for ln in ax.get_lines()
        if np.all(np.asarray(ln.get_xdata()) == path.alphas[3])
    ]
    assert len(vlines) == 1
    assert "elastic net" in ax.get_title() and "0.5" in ax.get_title()


def test_coef_path_rejects_bad_input(small_path):
    _, _, path = small_path
    fig, ax = _axes()
    with pytest.raises(
        ValueError,
        match=r"feature_names must have one name per "
        r"feature \(4\), got 2",
    ):
        plot.coef_path(path, ["a", "b"], ax=ax)
    multi = SimpleNamespace(
        alphas=path.alphas, coefs=np.zeros((10, 2, 4)), df=path.df, l1_ratio=1.0
    )
    with pytest.raises(ValueError, match="single-target path"):
        plot.coef_path(multi, ax=ax)
    zero = SimpleNamespace(alphas=np.array([1.0, 0.0]), coefs=np.zeros((2, 4)))
    with pytest.raises(
        ValueError,
        match=r"path.alphas must be positive and finite.*"
        r"path.alphas\[1\] = 0.0",
    ):
        plot.coef_path(zero, ax=ax)
    with pytest.raises(
        ValueError,
        match=r"scale must be a finite array of shape "
        r"\(4,\), got shape \(3,\)",
    ):
        plot.coef_path(path, ax=ax, scale=np.ones(3))


def _fake_cv(path):
    k = len(path.alphas)
    mse = 1.0 + (np.linspace(-1, 1, k)) ** 2
    se = np.full(k, 0.1)
    i_min = int(np.argmin(mse))
    i_1se = int(np.flatnonzero(mse <= mse[i_min] + se[i_min])[0])
    return SimpleNamespace(
        alphas=path.alphas,
        mse_mean=mse,
        mse_se=se,
        alpha_min=path.alphas[i_min],
        alpha_1se=path.alphas[i_1se],
        index_min=i_min,
        index_1se=i_1se,
        path=path,
        mse_path=np.tile(mse[:, None], (1, 5)),
    )


def test_cv_curve_error_bars_and_selection_lines(small_path):
    _, _, path = small_path
    cvr = _fake_cv(path)
    fig, ax = _axes()
    assert plot.cv_curve(cvr, ax=ax) is ax
    points = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(points) == 1
    np.testing.assert_array_equal(points[0].get_ydata(), cvr.mse_mean)
    # The error bars span mean ± se.
    segs = [c for c in ax.collections if hasattr(c, "get_segments")]
    ends = np.array([[s[0][1], s[1][1]] for c in segs for s in c.get_segments()])
    np.testing.assert_allclose(
        np.sort(ends, axis=1), np.c_[cvr.mse_mean - 0.1, cvr.mse_mean + 0.1]
    )
    xs = sorted(
        float(np.asarray(ln.get_xdata())[0])
        for ln in ax.get_lines()
        if ln.get_linestyle() == "--"
    )
    assert xs == sorted([cvr.alpha_min, cvr.alpha_1se])
    assert "5-fold" in ax.get_ylabel()
    assert [t.get_text() for t in _top_axis(ax).get_xticklabels()][0] == "0"


def test_cv_curve_options(small_path):
    _, _, path = small_path
    cvr = _fake_cv(path)
    fig, ax = _axes()
    plot.cv_curve(cvr, ax=ax, folds=True, marks=("min",), df=False, title=None)
    grey = [ln for ln in ax.get_lines() if ln.get_color() == "0.8"]
    assert len(grey) == cvr.mse_path.shape[1]  # one line per fold
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert [float(np.asarray(d.get_xdata())[0]) for d in dashed] == [cvr.alpha_min]
    assert len(fig.axes) == 1 and ax.get_title() == ""  # no df axis, no title
    fig, ax = _axes()
    plot.cv_curve(cvr, ax=ax, marks=())
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert ax.get_legend() is None
    with pytest.raises(ValueError, match="marks must hold"):
        plot.cv_curve(cvr, ax=_axes()[1], marks=("best",))


def test_cv_curve_relaxed_draws_every_gamma():
    from jaxreg import cv_path

    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 6))
    y = X[:, :2] @ [2.0, -1.0] + rng.normal(size=60)
    cvr = cv_path(X, y, cv=3, alphas=8, relax=True, gammas=(0.0, 0.5, 1.0))
    fig, ax = _axes()
    plot.cv_curve(cvr, ax=ax)
    labels = [ln.get_label() for ln in ax.get_lines() if ln.get_label().startswith("γ")]
    others = [g for g in cvr.gammas if g != cvr.gamma_min]
    assert labels == [f"γ = {g:g}" for g in others]
    points = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][0]
    i = list(cvr.gammas).index(cvr.gamma_min)
    np.testing.assert_array_equal(points.get_ydata(), cvr.relaxed_mse_mean[i])


def test_cv_curve_shape_mismatch(small_path):
    _, _, path = small_path
    cvr = _fake_cv(path)
    cvr.mse_se = cvr.mse_se[:-1]
    with pytest.raises(ValueError, match="mse_mean and mse_se must have the shape"):
        plot.cv_curve(cvr, ax=_axes()[1])


def test_ridge_loo_curve_marks_the_minimum():
    alphas = np.geomspace(10, 1e-3, 25)
    mse = (np.log10(alphas) + 1.2) ** 2 + 3.0
    df = 5 * 1 / (1 + alphas)
    fig, ax = _axes()
    plot.ridge_loo_curve(alphas, mse, ax=ax, df=df)
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert np.asarray(dashed[0].get_xdata())[0] == alphas[np.argmin(mse)]
    top = _top_axis(ax)
    assert top.get_xticklabels()[0].get_text() == f"{df[0]:.1f}"
    with pytest.raises(ValueError, match=r"mse must have the shape of alphas \(25,\)"):
        plot.ridge_loo_curve(alphas, mse[:3], ax=ax)
    with pytest.raises(ValueError, match=r"alphas\[0\] = -1.0"):
        plot.ridge_loo_curve([-1.0, 1.0], [1.0, 2.0], ax=ax)


def test_saved_figure_is_a_real_png(small_path):
    _, _, path = small_path
    fig, ax = _axes()
    plot.coef_path(path, ax=ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = buf.getvalue()
    w, h = _png_size(data)
    assert (w, h) == (600, 400)
    assert len(data) > 10_000


def test_new_figure_when_no_axes_given(small_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, _, path = small_path
    ax = plot.coef_path(path)
    try:
        assert ax.figure is not None and len(ax.get_lines()) >= 4
    finally:
        plt.close(ax.figure)


def test_geometry_is_reexported_lazily():
    from jaxreg import _geometry

    assert plot.geometry is _geometry.geometry
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        plot.nope  # noqa: B018


def test_missing_matplotlib_gives_an_install_hint(monkeypatch, small_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "jaxreg\[plot\]"'):
        plot.coef_path(small_path[2])


def test_family_paths_and_measures():
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_iris

    from jaxreg.cv import cv_path

    X, y = load_iris(return_X_y=True)
    path = lasso_path(X, y, family="multinomial", alphas=6)
    axes = plot.coef_path(path)
    assert len(axes) == 3 and "class 2" in axes[2].get_title()
    with pytest.raises(ValueError, match="klass must be a class index"):
        plot.coef_path(path, klass=3)
    plt.close("all")
    cv = cv_path(X[:100], y[:100], family="binomial", scoring="auc",
                        cv=np.arange(100) % 4, alphas=6)  # fmt: skip
    assert plot.cv_curve(cv).get_ylabel() == "AUC (4-fold CV)"
    plt.close("all")


@pytest.mark.parametrize("xvar", ["norm", "dev"])
def test_coef_path_xvar(xvar):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    res = lasso_path(X, X @ [1.0, -2.0, 0.0, 0.5] + rng.normal(size=50), alphas=12)
    ax = plot.coef_path(res, xvar=xvar, mark_alphas={"a": float(res.alphas[5])})
    x = ax.lines[0].get_xdata()
    expected = np.abs(res.coefs).sum(axis=1) if xvar == "norm" else res.dev_ratio
    np.testing.assert_allclose(x, expected)
    assert ax.get_xscale() == "linear"
    with pytest.raises(ValueError, match="xvar must be"):
        plot.coef_path(res, xvar="alpha")
    plt.close("all")


def test_label_spread_moves_labels_least():
    # equal values: a symmetric stack around them (the least-squares placement)
    np.testing.assert_allclose(plot._spread([0.0] * 4, 1.0), [-1.5, -0.5, 0.5, 1.5])
    rng = np.random.default_rng(0)
    v = rng.normal(size=30)
    ys = plot._spread(v, 0.2)
    order = np.argsort(v, kind="stable")
    assert np.all(np.diff(ys[order]) >= 0.2 - 1e-12)  # order kept, gaps met
    # no feasible placement in the same order is closer: perturbing the stack
    # within the constraints only moves it further from the values
    for _ in range(20):
        t = ys[order] + rng.normal(scale=0.01, size=30)
        t = np.maximum.accumulate(t - 0.2 * np.arange(30)) + 0.2 * np.arange(30)
        assert (
            np.sum((t - v[order]) ** 2) >= np.sum((ys[order] - v[order]) ** 2) - 1e-12
        )


@pytest.mark.parametrize("params", ["alpha", "penalty_factor"])
def test_tune_trajectory_marks_the_best_certified_step(params):
    from jaxreg.tuning import TuneResult

    loss = np.array([3.0, 2.0, 1.5, 1.2, 1.4])
    ok = np.array([True, True, True, False, True])
    pfs = np.exp(np.linspace(0, 1, 5))[:, None] * np.ones((5, 3))
    res = TuneResult(
        params=params, alpha=0.1, penalty_factor=pfs[2], l1_ratio=1.0,
        coef=np.zeros(3), intercept=0.0, cv_mse=1.5, best_step=2, loss_path=loss,
        alpha_path=np.geomspace(1, 0.1, 5), penalty_factor_path=pfs,
        grad_path=np.zeros(5), fold_certified=ok, gap=0.0, converged=True,
        seconds=0.0,
    )  # fmt: skip
    grid = SimpleNamespace(mse_mean=np.array([2.5, 1.6, 1.9]), alphas=np.ones(3))
    fig, ax = _axes()
    plot.tune_trajectory(res, ax=ax, grid=grid)
    lines = ax.get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), loss)
    hollow = [ln for ln in lines if ln.get_markerfacecolor() == "none"]
    assert len(hollow) == 1 and list(hollow[0].get_ydata()) == [1.2]
    star = [ln for ln in lines if ln.get_marker() == "*"]
    assert list(star[0].get_xdata()) == [2] and list(star[0].get_ydata()) == [1.5]
    dashed = [ln for ln in lines if ln.get_linestyle() == "--"]
    assert list(dashed[0].get_ydata()) == [1.6, 1.6]
    assert _top_axis(ax).get_yscale() == "log"
