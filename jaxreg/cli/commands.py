"""The ``path``, ``cv``, ``ridge`` and ``bench`` commands.

Each one reads a :class:`~jaxreg.cli.io.Table`, calls the public API with the
options as given (the library checks them) and prints a report, or the whole
result as JSON; ``--out-coefs`` and ``--plot`` write files atomically.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path

import numpy as np

from jaxreg import _progress
from jaxreg.cli import stream
from jaxreg.cli.base import CLIError, import_optional, warnings_as_lines
from jaxreg.cli.io import (
    Table,
    atomic_write,
    check_writable,
    coefs_csv,
    draw,
    load_table,
    need_matplotlib,
    print_json,
    save_figure,
    split_names,
)
from jaxreg.cli.report import (
    coef_lines,
    cv_report,
    entry_order,
    entry_table,
    gap_rule,
    gap_table,
    header,
    kind,
    options_desc,
    plot_cv,
    plot_path,
    plot_ridge,
    ridge_report,
)

__all__ = ["cmd_bench", "cmd_cv", "cmd_path", "cmd_ridge", "ridge_fit"]

# ------------------------------------------------------------------- API plumbing


def _parse_alphas(text: str | None):
    """``--alphas``: a grid size, or the alphas themselves (checked by the API)."""
    if text is None:
        return None
    s = text.strip()
    with contextlib.suppress(ValueError):
        n = int(s)
        if n < 1:
            raise CLIError(f"--alphas must be a positive grid size, got {text!r}.")
        return n
    try:
        values = [float(t) for t in s.split(",")]
    except ValueError:
        raise CLIError(
            "--alphas must be a grid size (e.g. 100) or comma-separated alphas "
            f"(e.g. 1,0.1,0.01), got {text!r}."
        ) from None
    return np.asarray(values)


def _enet_kwargs(args) -> dict:
    """The keywords of ``enet_path`` / ``cv_path`` given on the command line."""
    kw = dict(
        eps=args.eps,
        standardize=args.standardize,
        fit_intercept=not args.no_intercept,
        tol=args.tol,
        dtype=args.dtype,
        device=args.device,
    )
    if args.max_iter is not None:
        kw["max_iter"] = args.max_iter
    if getattr(args, "family", "gaussian") != "gaussian":
        kw["family"] = args.family
    if args.positive:
        kw["positive"] = True
    alphas = _parse_alphas(args.alphas)
    if alphas is not None:
        kw["alphas"] = alphas
    return kw


def _selected_index(alphas, want: float | None) -> int:
    """The grid alpha nearest to ``want`` on a log scale (default the smallest)."""
    if want is None:
        return int(np.argmin(alphas))
    logs = np.log(np.maximum(alphas, np.finfo(np.float64).tiny))  # alpha = 0 allowed
    return int(np.argmin(np.abs(logs - math.log(want))))


def ridge_fit(table: Table, alphas, *, standardize, fit_intercept, dtype, device):
    """Ridge path, exact LOO MSE and effective df from one ``ridge_cv`` call.

    ``alphas`` None or an int: that many alphas (default 100) over the range where
    the effective df move (``grid="df"``). With ``standardize`` the penalty applies
    to the standardized columns, for the path and the leave-one-out errors alike;
    the coefficients are on the original scale.
    """
    ridge = import_optional("jaxreg.ridge", "ridge regression (jaxreg ridge)")
    data, weights = table.data()
    return ridge.ridge_cv(
        *data,
        alphas=100 if alphas is None else alphas,
        # exact leave-one-out needs the rows: a streamed file gets GCV
        criterion="loo" if table.stats is None else "gcv",
        standardize=standardize,
        grid="df",
        fit_intercept=fit_intercept,
        dtype=dtype,
        device=device,
        **weights,
    )


# ------------------------------------------------------------------------ outputs


def _load(args, cv=None) -> Table:
    """The data in memory, or streamed into sufficient statistics (with the
    folds of ``cv``, a ``(K, seed)`` pair) when :func:`stream.wanted`."""
    if stream.wanted(args.data, getattr(args, "chunk_rows", None)):
        return stream.load(args, cv)
    return load_table(
        args.data,
        target=args.target,
        features=split_names(args.features),
        sample_weight=args.sample_weight,
    )


def _prepare_outputs(args) -> None:
    """Fail before any work if an output file cannot be written."""
    for opt in ("out_coefs", "plot"):
        value = getattr(args, opt, None)
        if value is not None:
            check_writable(value, args.force)
    if getattr(args, "plot", None) is not None:
        need_matplotlib("--plot")


def _write_outputs(args, res, table, plot, extra=None):
    """``--out-coefs`` (the path as CSV, with ``extra`` columns) and ``--plot``."""
    written = []
    if args.out_coefs:
        data = coefs_csv(
            res.alphas,
            res.coefs,
            res.intercepts,
            table.feature_names,
            extra
            or dict(
                df=res.df,
                dev_ratio=res.dev_ratio,
                gap=res.gaps,
                converged=res.converged,
            ),
        )
        written.append(
            atomic_write(args.out_coefs, lambda f: f.write(data), force=args.force)
        )
    if args.plot:
        written.append(save_figure(draw(plot), args.plot, args.force))
    for p in written:
        print(f"wrote {p}", file=sys.stderr if args.json else sys.stdout)


_PATH_FIELDS = (
    "alphas",
    "df",
    "dev_ratio",
    "gaps",
    "converged",
    "n_iter",
    "intercepts",
    "coefs",
)
_CV_FIELDS = ("mse_mean", "mse_se", "alpha_min", "alpha_1se", "index_min", "index_1se")


def _path_dict(res, table, args) -> dict:
    return dict(
        source=table.source,
        target=table.target_name,
        n_samples=table.shape[0],
        n_features=table.shape[1],
        feature_names=table.feature_names,
        dtype=str(res.dtype),
        options=_options(args),
        **_fields(res, *_PATH_FIELDS),
    )


# the options a JSON record states, when the command has them
_OPTIONS = ("family", "standardize", "tol", "eps", "max_iter", "positive")


def _options(args) -> dict:
    """The model and solver options of the run (the solve's ``fit_intercept``
    from ``--no-intercept``)."""
    out = {k: getattr(args, k) for k in _OPTIONS if hasattr(args, k)}
    if hasattr(args, "no_intercept"):
        out["fit_intercept"] = not args.no_intercept
    return out


def _fields(result, *names) -> dict:
    """Attributes of a result, by name, for the JSON record."""
    return {name: getattr(result, name) for name in names}


def _selected_dict(res, i, table) -> dict:
    return dict(
        index=i,
        alpha=res.alphas[i],
        intercept=res.intercepts[i],
        df=res.df[i],
        dev_ratio=res.dev_ratio[i],
        coefs={
            n: c
            for n, c in zip(table.feature_names, res.coefs[i], strict=True)
            if c != 0
        },
    )


def _emit(args, res, table, record: dict, report, plot, extra=None) -> None:
    """The result on stdout (``record`` as JSON with --json, else ``report()``),
    then the files asked for."""
    if args.json:
        print_json(record)
    else:
        report()
    _write_outputs(args, res, table, plot, extra)


# ----------------------------------------------------------------------- commands


def _timed(label: str, compute):
    """``compute()`` under a spinner, its warnings as lines: (result, seconds)."""
    t0 = time.perf_counter()
    with warnings_as_lines(), _progress.task(label):
        result = compute()
    return result, time.perf_counter() - t0


def cmd_path(args) -> int:
    """``jaxreg path``: the lasso or elastic-net path."""
    from jaxreg.path import enet_path

    if args.l1_ratio == 0:
        raise CLIError("--l1-ratio 0 is ridge regression: use `jaxreg ridge`.")
    _prepare_outputs(args)
    table = _load(args)
    kw = _enet_kwargs(args)
    name = kind(args.l1_ratio)
    if args.family != "gaussian":
        name = f"{args.family} {name}"
    data, weights = table.data()
    res, seconds = _timed(
        f"{name} path",
        lambda: enet_path(*data, l1_ratio=args.l1_ratio, **weights, **kw),
    )
    i_sel = _selected_index(res.alphas, args.select)
    order = entry_order(res.coefs, table.feature_names, table.column_sd())
    record = dict(
        command="path",
        **_path_dict(res, table, args),
        l1_ratio=args.l1_ratio,
        seconds=seconds,
        selected=_selected_dict(res, i_sel, table),
        entry_order=[dict(feature=f, index=i, alpha=res.alphas[i]) for f, i in order],
    )
    _emit(
        args,
        res,
        table,
        record,
        lambda: _print_path(args, res, table, name, seconds, i_sel, order),
        plot=lambda ax: plot_path(ax, res, table),
    )
    return 0


def _print_path(args, res, table, name, seconds, i_sel, order) -> None:
    k = len(res.alphas)
    print(header(table, f"{name} path", args, options_desc(args)))
    print(
        f"{k} alphas from {res.alphas[0]:.4g} to {res.alphas[-1]:.4g}, solved in "
        f"{seconds:.2f} s ({int(res.converged.sum())}/{k} converged: "
        f"{gap_rule(res)})\n"
    )
    print(gap_table(res, args.rows, marks={i_sel: "selected"}))
    print("\nOrder in which features enter the path:")
    print(entry_table(order, res.alphas, res.df, len(table.feature_names)))
    print(
        f"\nSelected alpha = {res.alphas[i_sel]:.5g} (index {i_sel}, "
        f"{'--select' if args.select is not None else 'smallest alpha'}): "
        f"{int(res.df[i_sel])} non-zero coefficients, "
        f"{100 * res.dev_ratio[i_sel]:.2f}% deviance explained"
    )
    print(coef_lines(res.coefs[i_sel], res.intercepts[i_sel], table.feature_names))


def cmd_cv(args) -> int:
    """``jaxreg cv``: K-fold cross-validation along the path."""
    _prepare_outputs(args)
    table = _load(args, cv=(args.cv, args.seed))
    kw = _enet_kwargs(args)
    name = kind(args.l1_ratio)
    if args.family != "gaussian":
        name = f"{args.family} {name}"

    def compute():
        cv_mod = import_optional("jaxreg.cv", "cross-validation (jaxreg cv)")
        data, weights = table.data()
        # streamed: the statistics hold the folds already
        folds = (
            stream.folds_arg(args.cv, args.seed, table.shape[0])
            if table.stats is None
            else None
        )
        if args.scoring is not None:
            kw["scoring"] = args.scoring
        return cv_mod.cv_path(*data, l1_ratio=args.l1_ratio, cv=folds, **weights, **kw)

    cvr, seconds = _timed(f"{args.cv}-fold CV, {name}", compute)
    res = cvr.path
    i_sel = int(cvr.index_1se if args.select == "1se" else cvr.index_min)
    cv = dict(
        n_folds=args.cv,
        seed=args.seed,
        **_fields(cvr, *_CV_FIELDS),
    )
    record = dict(
        command="cv",
        **_path_dict(res, table, args),
        l1_ratio=args.l1_ratio,
        seconds=seconds,
        cv=cv,
        selected=dict(rule=args.select, **_selected_dict(res, i_sel, table)),
    )
    _emit(
        args,
        res,
        table,
        record,
        lambda: _print_cv(args, cvr, table, name, seconds),
        plot=lambda ax: plot_cv(ax, cvr),
        extra=dict(
            df=res.df,
            dev_ratio=res.dev_ratio,
            cv_mse=cvr.mse_mean,
            cv_se=cvr.mse_se,
            gap=res.gaps,
        ),
    )
    return 0


def _print_cv(args, cvr, table, name, seconds) -> None:
    seed = args.seed
    how = f"random folds (seed {seed})" if seed is not None else "contiguous folds"
    what = f"{args.cv}-fold cross-validated {name}"
    print(header(table, what, args, options_desc(args)))
    print(f"{len(cvr.alphas)} alphas, {how}, {seconds:.2f} s\n")
    print(cv_report(cvr, table, args.rows, args.select))


def cmd_ridge(args) -> int:
    """``jaxreg ridge``: the closed-form ridge path and its leave-one-out curve."""
    _prepare_outputs(args)
    table = _load(args)
    alphas = _parse_alphas(args.alphas)
    rcv, seconds = _timed(
        "ridge path and leave-one-out curve",
        lambda: ridge_fit(
            table,
            alphas,
            standardize=args.standardize,
            fit_intercept=not args.no_intercept,
            dtype=args.dtype,
            device=args.device,
        ),
    )
    res, i_best = rcv.path, int(rcv.index_best)
    record = _path_dict(res, table, args)
    tag = "loo" if rcv.criterion == "loo" else "gcv"  # streamed files: GCV
    record.update(
        {
            "command": "ridge",
            "seconds": seconds,
            "criterion": rcv.criterion,
            "loo_mse" if tag == "loo" else "gcv": rcv.cv_values,
            "effective_df": rcv.effective_df,
            f"alpha_{tag}": res.alphas[i_best],
            f"index_{tag}": i_best,
            "selected": _selected_dict(res, i_best, table),
        }
    )
    _emit(
        args,
        res,
        table,
        record,
        lambda: _print_ridge(args, rcv, table, seconds),
        plot=lambda ax: plot_ridge(ax, rcv, df=True),
        extra={
            "effective_df": rcv.effective_df,
            "dev_ratio": res.dev_ratio,
            "loo_mse" if tag == "loo" else "gcv": rcv.cv_values,
        },
    )
    return 0


def _print_ridge(args, rcv, table, seconds) -> None:
    alphas = rcv.path.alphas
    print(header(table, "ridge path", args, options_desc(args)))
    print(
        f"{len(alphas)} alphas from {alphas[0]:.4g} to {alphas[-1]:.4g} (path "
        f"units: sklearn Ridge(alpha=a) is alpha = a/n), {seconds:.2f} s\n"
    )
    print(ridge_report(rcv, table, args.rows))


def cmd_bench(args, rest) -> int:
    """``jaxreg bench [run|report] ARGS``: the benchmark harness of a checkout."""
    import importlib

    command = "run"
    if rest and rest[0] in ("run", "report"):
        command, rest = rest[0], rest[1:]
    checkout = Path(__file__).resolve().parents[2]
    for root in (Path.cwd(), checkout):
        if (root / "benchmarks" / "run.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            break
    name = f"benchmarks.{command}"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name not in ("benchmarks", name):
            raise
        raise CLIError(
            "jaxreg bench needs the benchmarks/ folder of a jaxreg source checkout; "
            "run it from the checkout (or use: python -m benchmarks run ...)."
        ) from None
    return int(module.main(list(rest)) or 0)
