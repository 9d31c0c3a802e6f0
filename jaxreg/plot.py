"""Plots of regularization paths, cross-validation curves and ridge LOO curves.

The figures follow glmnet's ``plot.glmnet`` and ``plot.cv.glmnet``: α runs on a
logarithmic axis from the largest value (the null model, on the left) to the
smallest, and the top axis gives the number of non-zero coefficients (df) at that α.

matplotlib is an optional dependency (``pip install "jaxreg[plot]"``); it is imported
only when a plot is drawn. Every function draws into ``ax`` when given one, or into a
new figure otherwise, and returns the Axes.
"""

from __future__ import annotations

import numpy as np

__all__ = [  # noqa: F822
    "coef_path",
    "cv_curve",
    "geometry",
    "ridge_loo_curve",
    "tune_trajectory",
]

# Path-end labels closer than this fraction of the y range are spread apart.
_LABEL_SPACING = 0.045


def _mpl():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "jaxreg.plot needs matplotlib, which is not installed: "
            'pip install "jaxreg[plot]" (or pip install matplotlib).'
        ) from None
    import matplotlib

    return matplotlib


def _new_axes(ax, figsize=(7.0, 4.6)):
    if ax is not None:
        return ax
    _mpl()
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_alphas(alphas, name="alphas") -> np.ndarray:
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}.")
    if not (np.isfinite(a).all() and (a > 0).all()):
        j = int(np.argmax(~(np.isfinite(a) & (a > 0))))
        raise ValueError(
            f"{name} must be positive and finite to be drawn on a log axis, got "
            f"{name}[{j}] = {float(a[j])!r}."
        )
    return a


def _alpha_tex(sub: str) -> str:
    """α with a subscript, in mathtext: ``_alpha_tex("min")`` is α_min."""
    return rf"$\alpha_{{\mathrm{{{sub}}}}}$"


def _log_alpha_axis(ax, alphas) -> None:
    """Log-scale α axis, largest α on the left (the path unfolds to the right)."""
    ax.set_xscale("log")
    lo, hi = float(alphas.min()), float(alphas.max())
    if lo == hi:
        lo, hi = lo / 1.5, hi * 1.5
    pad = (hi / lo) ** 0.02
    ax.set_xlim(hi * pad, lo / pad)
    ax.set_xlabel("α (log scale)")


def _df_top_axis(
    ax, alphas, df, n_ticks=7, label="df (non-zero coefficients)", fmt="{:d}"
):
    """A top axis giving df at a few α positions, as glmnet's plots do."""
    from matplotlib.ticker import FixedLocator, NullLocator

    top = ax.twiny()
    top.set_xscale(ax.get_xscale())
    top.set_xlim(ax.get_xlim())
    k = len(alphas)
    idx = np.unique(np.linspace(0, k - 1, min(k, n_ticks)).round().astype(int))
    top.xaxis.set_major_locator(FixedLocator(alphas[idx]))
    top.xaxis.set_minor_locator(NullLocator())
    values = np.asarray(df)[idx]
    top.set_xticklabels(
        [fmt.format(int(d) if fmt == "{:d}" else float(d)) for d in values]
    )
    top.set_xlabel(label)
    top.tick_params(axis="x", labelsize="small")
    return top


def _colors(mpl, p):
    """Distinct colours: tab10, tab20, then tab20 + tab20b + tab20c (60); beyond
    that they repeat."""
    if p <= 10:
        maps = ["tab10"]
    elif p <= 20:
        maps = ["tab20"]
    else:
        maps = ["tab20", "tab20b", "tab20c"]
    palette = [mpl.colormaps[m](i) for m in maps for i in range(mpl.colormaps[m].N)]
    return [palette[j % len(palette)] for j in range(p)]


def _spread(values, min_gap):
    """Label positions at least ``min_gap`` apart, in the order of ``values``,
    moved as little as possible (least squares): with ``z_i = y_i - i·gap`` for
    the sorted values, the closest non-decreasing z (pool-adjacent-violators)
    plus ``i·gap``."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    z = values[order] - min_gap * np.arange(len(values))
    blocks = []  # [mean, count]
    for v in z:
        blocks.append([v, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    fitted = np.concatenate([np.full(c, m) for m, c in blocks]) if blocks else z
    y = fitted + min_gap * np.arange(len(values))
    out = np.empty_like(y)
    out[order] = y
    return out


def coef_path(
    path,
    feature_names=None,
    ax=None,
    *,
    label=True,
    mark_alphas=None,
    scale=None,
    colors=None,
    klass=None,
    xvar="lambda",
):
    """Coefficient paths against log α, df on the top axis (glmnet's plot.glmnet).

    Each feature's coefficient (on the original scale of X) across ``path``'s grid.

    Parameters
    ----------
    path : PathResult
        A single-target path (``coefs`` of shape ``(k, n_features)``), e.g. from
        :func:`jaxreg.lasso_path`.
    feature_names : sequence of str, optional
        Labels written at the small-α end of each path (default: the path's
        ``feature_names``, from a DataFrame, else ``x0, x1, …``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    label : bool
        Write feature names at the path ends (features that are zero at the
        smallest α are not labelled).
    mark_alphas : dict of {str: float}, optional
        Vertical dotted lines, e.g. ``{"min": cv.alpha_min, "1se": cv.alpha_1se}``.
    scale : array-like of shape (n_features,), optional
        Multiply each coefficient by this before drawing: the columns' standard
        deviations (``path.x_scale`` with ``standardize=True``) draw standardized
        coefficients, features in different units on one axis.
    colors : sequence of colours, optional
        One per feature; defaults to matplotlib's ``tab10`` / ``tab20``.
    klass : int, optional
        For a multinomial path (``coefs`` of shape ``(k, n_classes, n_features)``):
        the class (its index) to draw. By default every class is drawn in its
        own panel of a new figure, as glmnet does.
    xvar : {"lambda", "norm", "dev"}
        The horizontal axis, as glmnet's: log α (default), the L1 norm of the
        coefficients, or the fraction of deviance explained (``dev_ratio``).

    Returns
    -------
    matplotlib.axes.Axes
        The main (bottom) axes; the df axis is its ``twiny``. A list of them,
        one per class, for a multinomial path drawn whole.

    Raises
    ------
    ValueError
        For a multi-target path, a ``feature_names`` of the wrong length or
        non-positive alphas (which a log axis cannot show).

    Examples
    --------
    >>> import jaxreg, jaxreg.plot, jaxreg.datasets
    >>> X, y, names = jaxreg.datasets.load_diabetes()
    >>> ax = jaxreg.plot.coef_path(jaxreg.lasso_path(X, y, standardize=True), names)
    """
    mpl = _mpl()
    alphas = _check_alphas(path.alphas, "path.alphas")
    family = getattr(path, "family", "gaussian")
    raw = np.asarray(path.coefs)
    if family == "multinomial" and raw.ndim == 3:
        opts = dict(label=label, mark_alphas=mark_alphas, scale=scale, colors=colors,
                    xvar=xvar)  # fmt: skip
        if klass is None:
            if ax is not None:
                raise ValueError(
                    "a multinomial path draws one panel per class: give klass= to "
                    "draw one class on ax."
                )
            import matplotlib.pyplot as plt

            C = raw.shape[1]
            _, axes = plt.subplots(C, 1, figsize=(7.0, 3.6 * C), layout="constrained")
            for c, a in enumerate(axes):
                coef_path(path, feature_names, a, klass=c, **opts)
            return list(axes)
        if not (isinstance(klass, (int, np.integer)) and 0 <= klass < raw.shape[1]):
            raise ValueError(
                f"klass must be a class index in [0, {raw.shape[1]}), got {klass!r}."
            )
        raw = raw[:, klass]
    coefs, ylabel = _scaled_coefs(raw, scale)
    p = coefs.shape[1]
    if feature_names is None and getattr(path, "feature_names", None) is not None:
        feature_names = list(path.feature_names)
    feature_names = _names(feature_names, p)
    if colors is None:
        colors = _colors(mpl, p)
    ax = _new_axes(ax)
    if xvar not in ("lambda", "norm", "dev"):
        raise ValueError(f"xvar must be 'lambda', 'norm' or 'dev', got {xvar!r}.")
    if xvar == "lambda":
        x = alphas
    elif xvar == "norm":
        x = np.abs(coefs).sum(axis=1)
    else:
        x = np.asarray(path.dev_ratio, dtype=np.float64)
    for j in range(p):
        ax.plot(x, coefs[:, j], color=colors[j], lw=1.6)
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    if xvar == "lambda":
        _log_alpha_axis(ax, alphas)
    else:
        ax.set_xlabel("L1 norm of the coefficients" if xvar == "norm"
                      else "fraction of deviance explained")  # fmt: skip
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", color="0.92", lw=0.6)
    if xvar == "lambda":
        _mark(ax, mark_alphas)
    elif mark_alphas:  # the α's position on this axis, between grid points
        la = np.log(np.maximum(alphas, np.finfo(float).tiny))[::-1]
        _mark(ax, {k: float(np.interp(np.log(a), la, x[::-1]))
                   for k, a in mark_alphas.items()})  # fmt: skip
    df = np.asarray(getattr(path, "df", (coefs != 0).sum(axis=1)))
    if klass is not None:
        df = (coefs != 0).sum(axis=1)
    _df_top_axis(ax, x, df)
    if label:
        _label_ends(ax, mpl, alphas, coefs, feature_names, colors)
    l1 = getattr(path, "l1_ratio", None)
    kind = "lasso" if l1 == 1.0 else (f"elastic net, l1_ratio={l1:g}" if l1 else "")
    if family != "gaussian":
        kind = f"{family} {kind}".strip()
    if klass is not None:
        kind += f", class {klass}"
    ax.set_title(
        f"Coefficient paths ({kind})" if kind else "Coefficient paths",
        fontsize="medium",
        pad=8,
    )
    return ax


def _scaled_coefs(coefs, scale):
    coefs = np.asarray(coefs, dtype=np.float64)
    if coefs.ndim != 2:
        raise ValueError(
            "coef_path needs a single-target path with coefs of shape (k, n_features), "
            f"got coefs of shape {coefs.shape}. Plot one target at a time."
        )
    if scale is None:
        return coefs, "coefficient"
    p = coefs.shape[1]
    scale = np.asarray(scale, dtype=np.float64)
    if scale.shape != (p,) or not np.isfinite(scale).all():
        raise ValueError(
            f"scale must be a finite array of shape ({p},), got shape {scale.shape}."
        )
    return coefs * scale, "standardized coefficient (per SD of feature)"


def _names(feature_names, p):
    if feature_names is None:
        return [f"x{j}" for j in range(p)]
    feature_names = [str(f) for f in feature_names]
    if len(feature_names) != p:
        raise ValueError(
            f"feature_names must have one name per feature ({p}), got "
            f"{len(feature_names)}."
        )
    return feature_names


def _mark(ax, mark_alphas):
    """Vertical dotted lines at the named alphas."""
    for name, a in (mark_alphas or {}).items():
        ax.axvline(a, color="0.35", ls=":", lw=1.2)
        ax.text(
            a,
            1.0,
            f" {_alpha_tex(name)}",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            va="top",
            ha="right",
            fontsize="small",
            color="0.3",
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1.0),
        )


def _label_ends(ax, mpl, alphas, coefs, names, colors):
    """Feature names at the small-alpha end of the paths that are non-zero there."""
    end = int(np.argmin(alphas))
    shown = [j for j in range(coefs.shape[1]) if coefs[end, j] != 0]
    if not shown:
        return
    lo, hi = ax.get_ylim()
    # as far apart as reads well, but never more than the axis holds
    gap = min(_LABEL_SPACING, 0.98 / len(shown)) * (hi - lo)
    ys = _spread([coefs[end, j] for j in shown], gap)
    # the stack of labels kept within the axis
    shift = max(lo - ys.min(), 0.0) - max(ys.max() - hi, 0.0)
    ys = ys + shift
    trans = mpl.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    many = len(shown) > 12
    for j, yl in zip(shown, ys, strict=True):
        # a leader from the curve's end to its label, so that a label moved
        # apart from its neighbours still points at its own curve
        ax.plot([1.0, 1.01], [coefs[end, j], yl], transform=trans, color=colors[j],
                lw=0.6, clip_on=False)  # fmt: skip
        ax.text(
            1.012,
            yl,
            names[j],
            transform=trans,
            va="center",
            ha="left",
            fontsize="x-small" if many else "small",
            color=colors[j],
            clip_on=False,
        )


_MEASURES = {
    "mse": "mean-squared error",
    "deviance": "mean deviance",
    "misclassification": "misclassification error",
    "auc": "AUC",
}


def cv_curve(cv_result, ax=None, *, folds=False, marks=("min", "1se"), df=True,
             relaxed=True, title="Cross-validation curve"):  # fmt: skip
    """Cross-validated error against log α with ±1 SE bars (glmnet's plot.cv.glmnet):
    the MSE, or the measure of a GLM family's ``scoring`` (``cv_result.measure``).

    Dashed vertical lines mark ``alpha_min`` (lowest mean CV error) and ``alpha_1se``
    (the largest α whose mean error is within one standard error of that minimum);
    the top axis gives df of the full-data path at each α.

    Parameters
    ----------
    cv_result : CVResult
        From :func:`jaxreg.cv_path`: ``alphas``, ``mse_mean``, ``mse_se``,
        ``alpha_min``, ``alpha_1se`` and ``path``; ``mse_path`` of shape
        ``(k, n_folds)`` gives the fold count in the label when present.
    ax : matplotlib Axes, optional
    folds : bool, default False
        Also draw each fold's held-out error (thin grey lines): how much the
        folds disagree, beyond the standard error.
    marks : sequence of {"min", "1se"}, default ("min", "1se")
        Which selected alphas to mark; ``()`` for none.
    df : bool, default True
        The top axis of non-zero coefficients.
    relaxed : bool, default True
        For a relaxed CV (``cv_path(relax=True)``), one curve per gamma (glmnet's
        plot of a relaxed cv.glmnet), the chosen gamma's with its error bars.
    title : str or None

    Returns
    -------
    matplotlib.axes.Axes
    """
    marks = tuple(marks)
    for m in marks:
        if m not in ("min", "1se"):
            raise ValueError(f"marks must hold 'min' and/or '1se', got {m!r}.")
    _mpl()
    alphas = _check_alphas(cv_result.alphas, "cv_result.alphas")
    mean = np.asarray(cv_result.mse_mean, dtype=np.float64)
    se = np.asarray(cv_result.mse_se, dtype=np.float64)
    if mean.shape != alphas.shape or se.shape != alphas.shape:
        raise ValueError(
            "cv_result.mse_mean and mse_se must have the shape of alphas "
            f"{alphas.shape}, got {mean.shape} and {se.shape}."
        )
    ax = _new_axes(ax)
    mse_path = getattr(cv_result, "mse_path", None)
    if folds and mse_path is not None and np.ndim(mse_path) == 2:
        ax.plot(alphas, mse_path, color="0.8", lw=0.7, zorder=0)
    gammas = getattr(cv_result, "gammas", None)
    if relaxed and gammas is not None:
        chosen = cv_result.gamma_min
        cmap = _mpl().colormaps["viridis"]
        for i, g in enumerate(gammas):
            if g == chosen:
                continue
            color = cmap(i / max(len(gammas) - 1, 1))
            ax.plot(alphas, cv_result.relaxed_mse_mean[i], "-", color=color, lw=1,
                    alpha=0.8, label=f"γ = {g:g}", zorder=1)  # fmt: skip
        i = int(np.flatnonzero(np.asarray(gammas) == chosen)[0])
        mean = np.asarray(cv_result.relaxed_mse_mean[i], dtype=np.float64)
        se = np.asarray(cv_result.relaxed_mse_se[i], dtype=np.float64)
    ax.errorbar(
        alphas,
        mean,
        yerr=se,
        fmt="none",
        ecolor="0.65",
        elinewidth=1.0,
        capsize=2.0,
        zorder=1,
    )
    ax.plot(alphas, mean, "o", color="tab:red", ms=3.5, zorder=2)
    _log_alpha_axis(ax, alphas)
    n_folds = (
        np.shape(mse_path)[1]
        if mse_path is not None and np.ndim(mse_path) == 2
        else None
    )
    measure = _MEASURES.get(getattr(cv_result, "measure", "mse"), "CV error")
    ax.set_ylabel(f"{measure} ({n_folds}-fold CV)" if n_folds else f"{measure} (CV)")
    ax.grid(True, which="major", color="0.92", lw=0.6)
    for name, a, color in (
        ("min", cv_result.alpha_min, "tab:blue"),
        ("1se", cv_result.alpha_1se, "tab:green"),
    ):
        if name in marks:
            ax.axvline(a, color=color, ls="--", lw=1.2,
                       label=f"{_alpha_tex(name)} = {a:.3g}")  # fmt: skip
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize="small", frameon=False)
    path = getattr(cv_result, "path", None)
    if (
        df
        and path is not None
        and getattr(path, "df", None) is not None
        and len(path.df) == len(alphas)
    ):
        _df_top_axis(ax, alphas, path.df)
    if title:
        ax.set_title(title, fontsize="medium", pad=8)
    return ax


def ridge_loo_curve(alphas, mse, ax=None, *, alpha_best=None, df=None):
    """Exact leave-one-out MSE of ridge against log α, with the minimum marked.

    For ridge (``l1_ratio = 0``) the leave-one-out residuals are exact in closed
    form, ``e_i / (1 - h_ii)`` with ``H = X(XᵀX + nαI)⁻¹Xᵀ`` on centred data, so the
    whole curve costs one decomposition of X.

    Parameters
    ----------
    alphas : array-like of shape (k,)
        Positive α values (path units: ``Ridge(alpha=a)`` is ``α = a/n``).
    mse : array-like of shape (k,)
        Leave-one-out mean-squared error at each α (:func:`jaxreg.ridge_loo`).
    ax : matplotlib Axes, optional
    alpha_best : float, optional
        The α to mark; by default the α of the smallest ``mse``.
    df : array-like of shape (k,), optional
        Effective degrees of freedom at each α (``Σ_j d_j²/(d_j² + nα)`` with
        ``d_j`` the singular values of the centred X), shown on the top axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _mpl()
    alphas = _check_alphas(alphas)
    mse = np.asarray(mse, dtype=np.float64)
    if mse.shape != alphas.shape:
        raise ValueError(
            f"mse must have the shape of alphas {alphas.shape}, got {mse.shape}."
        )
    order = np.argsort(alphas)[::-1]
    alphas, mse = alphas[order], mse[order]
    if df is not None:
        df = np.asarray(df, dtype=np.float64)
        if df.shape != alphas.shape:
            raise ValueError(
                f"df must have the shape of alphas {alphas.shape}, got {df.shape}."
            )
        df = df[order]
    if alpha_best is None:
        alpha_best = float(alphas[int(np.nanargmin(mse))])
    ax = _new_axes(ax)
    ax.plot(alphas, mse, "-", color="tab:purple", lw=1.8)
    ax.axvline(
        alpha_best,
        color="tab:blue",
        ls="--",
        lw=1.2,
        label=f"{_alpha_tex('LOO')} = {alpha_best:.3g}",
    )
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    _log_alpha_axis(ax, alphas)
    if df is not None:
        _df_top_axis(ax, alphas, df, label="effective df", fmt="{:.1f}")
    ax.set_ylabel("mean-squared error (exact leave-one-out)")
    ax.grid(True, which="major", color="0.92", lw=0.6)
    ax.set_title("Ridge: leave-one-out curve", fontsize="medium", pad=8)
    return ax


def tune_trajectory(tune_result, ax=None, *, grid=None, title="Tuning by gradient"):
    """The cross-validated error at every step of :func:`jaxreg.tune`, the best
    step marked; steps whose folds were not all certified are drawn hollow.

    A right axis (log scale) follows alpha (``params="alpha"``) or the spread of
    the penalty factors, their 10th to 90th percentiles
    (``params="penalty_factor"``).

    Parameters
    ----------
    tune_result : TuneResult
    ax : matplotlib Axes, optional
    grid : CVResult, optional
        A grid search on the same folds (:func:`jaxreg.cv_path`): its smallest
        mean error is drawn as a horizontal line, for comparison.
    title : str or None

    Returns
    -------
    matplotlib.axes.Axes
    """
    _mpl()
    loss = np.asarray(tune_result.loss_path, dtype=np.float64)
    ok = np.asarray(tune_result.fold_certified, bool)
    steps = np.arange(loss.shape[0])
    ax = _new_axes(ax)
    ax.plot(steps, loss, "-", color="tab:red", lw=1.6, label="CV error (tune)")
    ax.plot(steps[ok], loss[ok], "o", color="tab:red", ms=3)
    ax.plot(steps[~ok], loss[~ok], "o", mfc="none", color="tab:red", ms=4)
    best = int(tune_result.best_step)
    ax.plot([best], [loss[best]], "*", color="k", ms=11, zorder=3,
            label=f"best (step {best})")  # fmt: skip
    if grid is not None:
        m = float(np.nanmin(np.asarray(grid.mse_mean, dtype=np.float64)))
        k = np.asarray(grid.alphas).size
        ax.axhline(m, color="tab:blue", ls="--", lw=1.2,
                   label=f"grid CV minimum ({k} alphas)")  # fmt: skip
    ax.set_xlabel("step")
    ax.set_ylabel("cross-validated mean squared error")
    ax.grid(True, color="0.92", lw=0.6)
    right = ax.twinx()
    if tune_result.params == "alpha":
        right.plot(steps, tune_result.alpha_path, color="0.45", lw=1.0)
        right.set_ylabel("alpha", color="0.35")
    else:
        q = np.quantile(tune_result.penalty_factor_path, [0.1, 0.9], axis=1)
        right.fill_between(steps, q[0], q[1], color="0.5", alpha=0.18, lw=0)
        right.set_ylabel("penalty factors (10th-90th percentile)", color="0.35")
    right.set_yscale("log")
    ax.set_zorder(right.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    if title:
        ax.set_title(title, fontsize="medium", pad=8)
    return ax


def __getattr__(name):
    # geometry lives in its own module (it pulls in more of matplotlib); import it
    # only when asked for.
    if name == "geometry":
        from jaxreg._geometry import geometry

        return geometry
    raise AttributeError(f"module 'jaxreg.plot' has no attribute {name!r}")
