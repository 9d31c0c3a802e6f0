"""``jaxreg demo``: the lasso path, 5-fold CV and the ridge leave-one-out curve on
the embedded diabetes data, with plots."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jaxreg import _progress
from jaxreg.cli.base import (
    PROG,
    CLIError,
    device_label,
    import_optional,
    warnings_as_lines,
)
from jaxreg.cli.commands import ridge_fit
from jaxreg.cli.io import Table, draw, save_figure
from jaxreg.cli.report import (
    cv_report,
    entry_order,
    entry_table,
    gap_rule,
    gap_table,
    plot_cv,
    plot_path,
    plot_ridge,
    ridge_report,
)

__all__ = ["DEMO_DIR", "cmd_demo"]

DEMO_DIR = "jaxreg-demo"
_DEMO_PLOTS = ("coef_path.png", "cv_curve.png", "ridge_loo.png")


@dataclass
class _Stage:
    """One part of the demo: its result, or why it could not run, and its time."""

    value: object = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class _Run:
    """Everything the demo computed."""

    table: Table
    path: _Stage
    cv: _Stage
    ridge: _Stage
    geometry: _Stage = field(default_factory=_Stage)


def cmd_demo(args) -> int:
    """``jaxreg demo``: exit 0, or 1 when a part could not run."""
    from jaxreg.datasets import load_diabetes

    out_dir = Path(args.out)
    plots = _plots_wanted(args, out_dir)
    X, y, feat = load_diabetes()
    table = Table(X, y, feat, "target", None, "diabetes")
    _print_intro(X.shape, feat)
    run = _compute(args, table, plots)
    figures = {} if plots else None  # what the reports draw, by file name
    for report in (_report_path, _report_cv, _report_ridge):
        report(args, run, figures)
    if args.geometry and run.geometry.error:
        print(f"\n4. Geometry: skipped: {run.geometry.error}")
    if plots:
        if run.geometry.value is not None:
            figures = {"geometry.png": run.geometry.value, **figures}
        _save_plots(args, out_dir, figures)
    failed = [s.error for s in (run.cv, run.ridge, run.geometry) if s.error]
    return 0 if not failed else 1


def _plots_wanted(args, out_dir: Path) -> bool:
    """Whether to draw; refuse (before any work) to overwrite plots without --force."""
    if args.no_plots:
        return False
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            f"{PROG}: note: matplotlib is not installed, so no plots are drawn "
            '(pip install "jaxreg[plot]").',
            file=sys.stderr,
        )
        return False
    names = list(_DEMO_PLOTS) + (["geometry.png"] if args.geometry else [])
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {out_dir} exists and is not a folder.")
    for name in names:
        if (out_dir / name).exists() and not args.force:
            raise CLIError(
                f"{out_dir / name} already exists; pass --force to overwrite the "
                "demo plots, or --out DIR to write them elsewhere."
            )
    return True


def _print_intro(shape, feat) -> None:
    n, p = shape
    print(
        "jaxreg demo: the diabetes data of Efron, Hastie, Johnstone & Tibshirani "
        "(2004, 'Least Angle Regression')"
    )
    print(
        f"{n} patients x {p} baseline variables ({', '.join(feat)}); target: disease "
        "progression one year after baseline."
    )
    print(
        "Columns are standardized inside the solver (glmnet's default); coefficients "
        "are on the original scale.\n"
    )


def _stage(bar, description, compute, *, catch=True) -> _Stage:
    """Run one part of the demo under the progress bar; a CLIError (a part that is
    not installed) is kept as the reason it was skipped when ``catch``."""
    bar.set_description(f"demo: {description}")
    stage = _Stage()
    t0 = time.perf_counter()
    try:
        stage.value = compute()
    except CLIError as exc:
        if not catch:
            raise
        stage.error = str(exc)
    stage.seconds = time.perf_counter() - t0
    bar.update()
    return stage


def _compute(args, table: Table, plots: bool) -> _Run:
    """The lasso path, 5-fold CV, ridge LOO (and the geometry figure)."""
    from jaxreg.path import lasso_path

    X, y = table.X, table.y
    kw = dict(
        alphas=100,
        eps=1e-3,
        standardize=True,
        tol=args.tol,
        dtype=args.dtype,
        device=args.device,
    )

    def cv():
        cv_mod = import_optional("jaxreg.cv", "cross-validation")
        return cv_mod.cv_path(X, y, l1_ratio=1.0, cv=5, **kw)

    def ridge():
        return ridge_fit(
            table,
            None,
            standardize=True,
            fit_intercept=True,
            dtype=args.dtype,
            device=args.device,
        )

    def geometry():
        return _demo_geometry(X, y, table.feature_names) if plots else None

    with (
        warnings_as_lines(),
        _progress.Progress(3 + bool(args.geometry), "demo") as bar,
    ):
        run = _Run(
            table,
            path=_stage(bar, "lasso path", lambda: lasso_path(X, y, **kw), catch=False),
            cv=_stage(bar, "5-fold CV", cv),
            ridge=_stage(bar, "ridge LOO", ridge),
        )
        if args.geometry:
            run.geometry = _stage(bar, "geometry", geometry)
    return run


def _report_path(args, run: _Run, figures) -> None:
    """1. The lasso path, the order of entry (and coef_path.png)."""
    res, feat = run.path.value, run.table.feature_names
    k = len(res.alphas)
    print(
        f"1. Lasso path: {k} alphas from alpha_max = {res.alphas[0]:.4g} down to "
        f"{res.alphas[-1]:.4g} ({args.dtype}, {device_label(args.device)}, "
        f"{run.path.seconds:.2f} s including compilation)"
    )
    print(f"{int(res.converged.sum())}/{k} converged: {gap_rule(res)}\n")
    print(gap_table(res, args.rows))
    order = entry_order(res.coefs, feat, res.x_scale)
    print("\nOrder in which the features enter the lasso path:")
    print(entry_table(order, res.alphas, res.df, len(feat)))
    print(
        "  (Efron et al. 2004 report bmi, s5 (ltg), bp, s3 (hdl), sex, s6, s1, s4, "
        "s2, age.)"
    )
    cvr = run.cv.value
    marks = None if cvr is None else {"min": cvr.alpha_min, "1se": cvr.alpha_1se}
    _draw(figures, "coef_path.png", lambda ax: plot_path(ax, res, run.table, marks))


def _report_cv(args, run: _Run, figures) -> None:
    """2. Lasso 5-fold CV (and cv_curve.png)."""
    print("\n2. Lasso, 5-fold cross-validation (contiguous folds)")
    if run.cv.value is None:
        print(f"   skipped: {run.cv.error}")
        return
    print(f"   {run.cv.seconds:.2f} s\n")
    print(cv_report(run.cv.value, run.table, args.rows, "1se"))
    _draw(figures, "cv_curve.png", lambda ax: plot_cv(ax, run.cv.value))


def _report_ridge(args, run: _Run, figures) -> None:
    """3. Ridge and its exact leave-one-out curve (and ridge_loo.png)."""
    print("\n3. Ridge, exact leave-one-out curve")
    rcv = run.ridge.value
    if rcv is None:
        print(f"   skipped: {run.ridge.error}")
        return
    print(f"   {len(rcv.alphas)} alphas, {run.ridge.seconds:.2f} s\n")
    print(ridge_report(rcv, run.table, args.rows))
    cvr = run.cv.value
    if cvr is not None:
        i = int(cvr.index_min)
        print(
            "\n   For comparison: lasso CV MSE at alpha_min "
            f"{cvr.mse_mean[i]:.5g} ({int(cvr.path.df[i])} features), ridge LOO MSE "
            f"{rcv.cv_values[rcv.index_best]:.5g} (all {len(run.table.feature_names)})."
        )
    _draw(figures, "ridge_loo.png", lambda ax: plot_ridge(ax, rcv, df=True))


def _draw(figures, name, plot) -> None:
    """Draw ``plot(ax)`` into ``figures[name]``, unless there are no plots."""
    if figures is not None:
        figures[name] = draw(plot)


def _save_plots(args, out_dir: Path, figures) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        save_figure(fig, out_dir / name, args.force) for name, fig in figures.items()
    ]
    if written:
        print(f"\nPlots written to {out_dir}/: " + ", ".join(w.name for w in written))


def _demo_geometry(X, y, feat):
    """The L1/L2 constraint picture for s4 and s5 (standardized), on an Agg figure.

    On the diabetes data this pair shows the point of the picture: the L1 fit lands
    on a corner of the diamond (s4 = 0) while the L2 fit keeps both.
    """
    geo = import_optional("jaxreg._geometry", "the geometry plot")
    return draw(
        lambda ax: geo.geometry(X, y, ("s4", "s5"), ax=ax, feature_names=feat),
        figsize=(6.4, 6.0),
    )
