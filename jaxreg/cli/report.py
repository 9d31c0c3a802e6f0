"""The text reports and plots of the commands: glmnet-style path tables, the order
in which features enter, coefficient lists, the CV and ridge summaries."""

from __future__ import annotations

import numpy as np

from jaxreg.cli.base import device_label
from jaxreg.cli.io import Table

__all__ = [
    "coef_lines",
    "cv_report",
    "entry_order",
    "entry_table",
    "gap_rule",
    "gap_table",
    "header",
    "kind",
    "options_desc",
    "path_table",
    "plot_cv",
    "plot_path",
    "plot_ridge",
    "ridge_report",
]

# ------------------------------------------------------------------------- tables


def _rows(k: int, max_rows: int, keep=()) -> list[int]:
    if max_rows <= 0 or k <= max_rows:
        return list(range(k))
    idx = set(np.linspace(0, k - 1, max_rows).round().astype(int).tolist())
    idx.update(int(i) for i in keep)
    return sorted(idx)


def path_table(
    alphas,
    df,
    dev_ratio,
    gaps=None,
    converged=None,
    *,
    max_rows=20,
    extra=None,
    marks=None,
    df_fmt="d",
) -> str:
    """glmnet's print table: α, df, % deviance explained, duality gap (and more)."""
    k = len(alphas)
    extra = extra or {}
    marks = marks or {}
    head = f"{'i':>4}  {'alpha':>10}  {'df':>5}  {'%dev':>6}"
    if gaps is not None:
        head += f"  {'gap':>9}"
    for name, (_, width, _) in extra.items():
        head += f"  {name:>{width}}"
    lines = [head]
    for i in _rows(k, max_rows, keep=marks):
        dfv = f"{df[i]:>5d}" if df_fmt == "d" else f"{df[i]:>5.2f}"
        line = f"{i:>4}  {alphas[i]:>10.4g}  {dfv}  {100 * dev_ratio[i]:>6.2f}"
        if gaps is not None:
            line += f"  {gaps[i]:>9.2e}"
            if converged is not None and not converged[i]:
                line += "!"
        for values, width, fmt in extra.values():
            line += f"  {values[i]:>{width}{fmt}}"
        if i in marks:
            line += f"  <- {marks[i]}"
        lines.append(line)
    if converged is not None and not np.all(converged):
        lines.append("  ! duality gap above tol: not converged")
    return "\n".join(lines)


def gap_table(res, max_rows, **kw) -> str:
    """:func:`path_table` of a solved path, with its duality gaps."""
    return path_table(
        res.alphas,
        res.df,
        res.dev_ratio,
        res.gaps,
        res.converged,
        max_rows=max_rows,
        **kw,
    )


def entry_order(coefs, names, scale=None) -> list[tuple[str, int]]:
    """Features in the order they first become non-zero along the path.

    Returns ``(name, index)`` pairs, ``index`` being the first grid position where the
    coefficient is non-zero; features entering at the same α are ordered by the size
    of their coefficient there, times ``scale`` (the columns' standard deviations make
    the sizes comparable). Features that never enter are left out.
    """
    coefs = np.asarray(coefs)
    if scale is not None:
        coefs = coefs * np.asarray(scale)
    nz = coefs != 0
    first = np.where(nz.any(axis=0), nz.argmax(axis=0), -1)
    entered = [j for j in range(coefs.shape[1]) if first[j] >= 0]
    entered.sort(key=lambda j: (first[j], -abs(coefs[first[j], j])))
    return [(names[j], int(first[j])) for j in entered]


def entry_table(order, alphas, df, n_features) -> str:
    lines = [f"{'step':>4}  {'feature':<14} {'enters at alpha':>15}  {'df':>3}"]
    for s, (name, i) in enumerate(order, 1):
        lines.append(f"{s:>4}  {name:<14} {alphas[i]:>15.4g}  {int(df[i]):>3}")
    never = n_features - len(order)
    if never:
        verb = "s never enter" if never > 1 else " never enters"
        lines.append(f"  ({never} feature{verb} the path)")
    return "\n".join(lines)


def coef_lines(coef, intercept, names, *, all_coefs=False) -> str:
    width = max([len(n) for n in names] + [11])
    lines = [f"  {'(intercept)':<{width}}  {intercept:>+12.5g}"]
    shown = 0
    for name, c in zip(names, coef, strict=True):
        if c != 0 or all_coefs:
            lines.append(f"  {name:<{width}}  {c:>+12.5g}")
            shown += 1
    zeros = len(names) - int(np.count_nonzero(coef))
    if zeros and not all_coefs:
        lines.append(f"  ({zeros} coefficient{'s' if zeros > 1 else ''} exactly zero)")
    return "\n".join(lines)


def kind(l1_ratio: float) -> str:
    """The model's name: lasso, ridge or elastic net."""
    if l1_ratio == 1:
        return "lasso"
    if l1_ratio == 0:
        return "ridge"
    return f"elastic net (l1_ratio={l1_ratio:g})"


def header(table: Table, what: str, args, extra="") -> str:
    """The first line of a report: the data, the dtype and the device."""
    return (
        f"{what}: {table.source}, {table.shape[0]} samples x {table.shape[1]} "
        f"features, target {table.target_name!r}; {args.dtype}, "
        f"{device_label(args.device)}{extra}"
    )


def options_desc(args) -> str:
    """The model options worth naming in the header."""
    parts = []
    if args.standardize:
        parts.append("standardized columns")
    if args.no_intercept:
        parts.append("no intercept")
    return (", " + ", ".join(parts)) if parts else ""


def gap_rule(res) -> str:
    """What "converged" means for ``res``."""
    scale = "||y - mean(y)||^2/n" if res.family == "gaussian" else "null deviance/n"
    return f"duality gap <= {res.gap_tol:.3g} = tol {res.tol:g} x {scale}"


# ------------------------------------------------------------------------ reports


def cv_report(cvr, table, max_rows, select) -> str:
    """The CV table with alpha_min and alpha_1se marked, and the chosen fit."""
    res = cvr.path
    i_min, i_1se = int(cvr.index_min), int(cvr.index_1se)
    marks = {i_min: "min"} if i_min == i_1se else {i_min: "min", i_1se: "1se"}
    if i_min == i_1se:
        marks[i_min] = "min = 1se"
    out = [
        gap_table(
            res,
            max_rows,
            marks=marks,
            extra={
                f"cv {cvr.measure[:6]}": (cvr.mse_mean, 10, ".5g"),
                "se": (cvr.mse_se, 9, ".4g"),
            },
        )
    ]
    out.append("")
    measure = "MSE" if cvr.measure == "mse" else cvr.measure
    for rule, i in (("min", i_min), ("1se", i_1se)):
        out.append(
            f"alpha_{rule} = {cvr.alphas[i]:.5g} (index {i}): CV {measure} "
            f"{cvr.mse_mean[i]:.5g} ± {cvr.mse_se[i]:.3g}, {int(res.df[i])} non-zero "
            f"coefficients{'  [selected]' if rule == select else ''}"
        )
    i_sel = i_1se if select == "1se" else i_min
    out.append(f"\nCoefficients at alpha_{select} (refit on all the data):")
    out.append(coef_lines(res.coefs[i_sel], res.intercepts[i_sel], table.feature_names))
    return "\n".join(out)


def ridge_report(rcv, table, max_rows) -> str:
    """The ridge table (effective df, leave-one-out MSE) and the LOO-best fit."""
    res, loo, df_eff = rcv.path, rcv.cv_values, rcv.effective_df
    i = int(rcv.index_best)
    gcv = rcv.criterion == "gcv"
    tag, what = ("GCV", "GCV score") if gcv else ("LOO", "leave-one-out MSE")
    out = [
        path_table(
            res.alphas,
            df_eff,
            res.dev_ratio,
            max_rows=max_rows,
            marks={i: f"{tag} min"},
            df_fmt=".2f",
            extra={"gcv" if gcv else "loo mse": (loo, 10, ".5g")},
        )
    ]
    out.append(
        "  (df: effective number of parameters, the trace of the hat matrix "
        "without the intercept)"
    )
    out.append(
        f"\nalpha_{tag} = {res.alphas[i]:.5g} (index {i}): {what} "
        f"{loo[i]:.5g}, effective df {df_eff[i]:.2f}"
    )
    out.append(
        coef_lines(res.coefs[i], res.intercepts[i], table.feature_names, all_coefs=True)
    )
    return "\n".join(out)


# -------------------------------------------------------------------------- plots


def plot_path(ax, res, table, marks=None):
    """Coefficient paths; standardized ones (coef × SD) when X was standardized."""
    from jaxreg import plot

    plot.coef_path(
        res, table.feature_names, ax=ax, mark_alphas=marks, scale=res.x_scale
    )


def plot_cv(ax, cvr):
    """The CV curve with its error bars."""
    from jaxreg import plot

    plot.cv_curve(cvr, ax=ax)


def plot_ridge(ax, rcv, df=False):
    """The leave-one-out curve (with an effective-df axis when ``df``)."""
    from jaxreg import plot

    df_eff = rcv.effective_df if df else None
    plot.ridge_loo_curve(rcv.alphas, rcv.cv_values, ax=ax, df=df_eff)
