"""The ``jaxreg`` command line (also ``python -m jaxreg``).

Subcommands:

- ``jaxreg path DATA --target NAME``: lasso or elastic-net path (``--l1-ratio``);
- ``jaxreg cv DATA --target NAME --cv K``: cross-validated path, α_min and α_1se;
- ``jaxreg ridge DATA --target NAME``: closed-form ridge path and its exact
  leave-one-out curve;
- ``jaxreg bench ...``: the benchmark harness of a source checkout;
- ``jaxreg demo``: all of the above on the embedded diabetes data, with plots.

Every fit minimises, for each α of the grid::

    1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ |w_j| + (1 - l1_ratio)/2·Σ w_j²)

A user mistake prints one line on stderr and exits with status 2 (``--debug`` shows the
traceback instead). Output files are written atomically and never overwritten unless
``--force`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import inspect
import io
import json
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxreg import _progress

__all__ = ["CLIError", "load_table", "main"]

PROG = "jaxreg"
_MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "."}
_DEMO_DIR = "jaxreg-demo"
_DEMO_PLOTS = ("coef_path.png", "cv_curve.png", "ridge_loo.png")


class CLIError(Exception):
    """A user mistake: reported as one line on stderr, exit status 2."""


# --------------------------------------------------------------------------- input


@dataclass
class Table:
    """Numeric data read from a file: the design, the target and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    sample_weight: np.ndarray | None
    source: str


def _split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in names):
        raise CLIError(
            f"--features must be a comma-separated list of column names, got {text!r}."
        )
    return names


def _resolve(columns: list[str], token: str, option: str, source: str) -> str:
    """A column name, or (for unnamed arrays) an integer index into the columns."""
    if token in columns:
        return token
    with contextlib.suppress(ValueError):
        i = int(token)
        if -len(columns) <= i < len(columns):
            return columns[i]
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    raise CLIError(
        f"{option} {token!r} is not a column of {source} (columns: {shown})."
    )


def _select(columns: dict[str, np.ndarray], order: list[str], target, features,
            weight, source: str, bad: dict[str, str] | None = None) -> Table:
    """Pick target, features and weight columns; refuse non-numeric ones."""
    bad = bad or {}
    if target is None:
        raise CLIError(f"--target is required for {source}: name the response column.")
    tname = _resolve(order, target, "--target", source)
    wname = _resolve(order, weight, "--sample-weight", source) if weight else None
    if wname == tname:
        raise CLIError(f"--sample-weight {weight!r} is also the --target column.")
    if features is None:
        fnames = [c for c in order if c not in (tname, wname)]
    else:
        fnames = [_resolve(order, f, "--features", source) for f in features]
        dup = sorted({f for f in fnames if fnames.count(f) > 1})
        if dup:
            raise CLIError(
                f"--features lists {', '.join(map(repr, dup))} more than once."
            )
        clash = [f for f in fnames if f in (tname, wname)]
        if clash:
            raise CLIError(
                f"--features must not include the target or weight column, got "
                f"{clash[0]!r}."
            )
    if not fnames:
        raise CLIError(f"{source} has no feature columns besides the target {tname!r}.")
    nonnum = [c for c in [tname, wname, *fnames] if c is not None and c in bad]
    if nonnum:
        detail = "; ".join(f"{c!r} ({bad[c]})" for c in nonnum[:5])
        more = f" and {len(nonnum) - 5} more" if len(nonnum) > 5 else ""
        hint = "" if features is not None else \
            " Select numeric columns with --features, or encode these first."
        raise CLIError(
            f"{source}: non-numeric column{'s' if len(nonnum) > 1 else ''} "
            f"{detail}{more}.{hint}"
        )
    for c in [tname, wname, *fnames]:
        if c is None:
            continue
        col = columns[c]
        if not np.isfinite(col).all():
            i = int(np.argmax(~np.isfinite(col)))
            n_bad = int((~np.isfinite(col)).sum())
            raise CLIError(
                f"{source}: column {c!r} has {n_bad} missing or infinite value"
                f"{'s' if n_bad > 1 else ''} (first in data row {i + 1}); jaxreg does "
                "not impute: drop or fill them first."
            )
    X = np.column_stack([columns[c] for c in fnames]).astype(np.float64)
    return Table(X, columns[tname].astype(np.float64), fnames, tname,
                 None if wname is None else columns[wname].astype(np.float64), source)


def _read_delimited(text: str, delimiter: str | None, source: str):
    """Columns of a delimited text file with a header line (blank lines skipped)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CLIError(f"{source} is empty.")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, lines = [], []
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append(row)
            lines.append(reader.line_num)
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header):
        j = next(i for i, h in enumerate(header) if not h)
        raise CLIError(
            f"{source}: the header must name every column, column {j + 1} has no name."
        )
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise CLIError(f"{source}: duplicate column names {', '.join(map(repr, dup))}.")
    body, lines = rows[1:], lines[1:]
    if not body:
        raise CLIError(f"{source} has a header but no data rows.")
    p = len(header)
    for row, line in zip(body, lines, strict=True):
        if len(row) != p:
            raise CLIError(
                f"{source}: line {line} has {len(row)} fields, the header has {p}."
            )
    columns: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    for j, name in enumerate(header):
        cells = [row[j].strip() for row in body]
        try:  # the common case: every cell a number (NumPy parses "nan", "inf")
            columns[name] = np.array(cells, dtype=np.float64)
            continue
        except ValueError:
            pass
        values = np.empty(len(body))
        for i, cell in enumerate(cells):
            if cell.lower() in _MISSING:
                values[i] = np.nan
                continue
            try:
                values[i] = float(cell)
            except ValueError:
                bad[name] = f"line {lines[i]}: {cell[:20]!r}"
                break
        columns[name] = values
    return columns, header, bad


def _read_parquet(path: Path, source: str):
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise CLIError(
            f"reading Parquet ({source}) needs pyarrow, which is not installed: "
            "pip install pyarrow, or convert the file to CSV."
        ) from None
    table = pq.read_table(path)
    columns: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    for field in table.schema:
        t = field.type
        if pat.is_integer(t) or pat.is_floating(t) or pat.is_boolean(t):
            col = table.column(field.name).to_numpy(zero_copy_only=False)
            columns[field.name] = np.asarray(col, dtype=np.float64)
        else:
            bad[field.name] = f"type {t}"
            columns[field.name] = np.zeros(table.num_rows)
    return columns, list(table.column_names), bad


def load_table(path, *, target=None, features=None, sample_weight=None) -> Table:
    """Read a data file into a :class:`Table`.

    Parameters
    ----------
    path : str or Path
        ``.csv`` / ``.tsv`` / ``.txt`` with a header line (``-`` reads CSV from
        stdin), ``.npy`` (a 2-D numeric array whose columns are named ``x0``, ``x1``,
        …), ``.npz`` (arrays ``X`` and ``y``, optionally ``feature_names`` and
        ``sample_weight``) or ``.parquet`` (needs pyarrow).
    target : str, optional
        Response column (name, or index for ``.npy``). Required except for ``.npz``.
    features : list of str, optional
        Feature columns, in order; default every other numeric column.
    sample_weight : str, optional
        Column of sample weights.

    Raises
    ------
    CLIError
        For a missing file, an unknown column, a non-numeric or incomplete column
        (the message names them).
    """
    features = list(features) if features is not None else None
    if str(path) == "-":
        columns, order, bad = _read_delimited(sys.stdin.read(), None, "stdin")
        return _select(columns, order, target, features, sample_weight, "stdin", bad)
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise CLIError(f"input file {source} does not exist." if not path.exists()
                       else f"input {source} is not a file.")
    suffix = "".join(s.lower() for s in path.suffixes[-1:])
    if suffix in (".csv", ".tsv", ".tab", ".txt", ".dat"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CLIError(f"{source} is not UTF-8 text: {exc.reason}.") from None
        delim = {".csv": ",", ".tsv": "\t", ".tab": "\t"}.get(suffix)
        columns, order, bad = _read_delimited(text, delim, source)
        return _select(columns, order, target, features, sample_weight, source, bad)
    if suffix in (".parquet", ".pq"):
        columns, order, bad = _read_parquet(path, source)
        return _select(columns, order, target, features, sample_weight, source, bad)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise CLIError(f"{source} is not a readable .npy array: {exc}") from None
        if arr.ndim != 2:
            raise CLIError(
                f"{source} must hold a 2-D array (rows = samples, columns = features "
                f"and target), got shape {arr.shape}."
            )
        if arr.dtype.kind not in "biuf":
            raise CLIError(f"{source} must hold numbers, got dtype {arr.dtype}.")
        order = [f"x{j}" for j in range(arr.shape[1])]
        columns = {c: arr[:, j].astype(np.float64) for j, c in enumerate(order)}
        return _select(columns, order, target, features, sample_weight, source)
    if suffix == ".npz":
        return _load_npz(path, source, target, features, sample_weight)
    raise CLIError(
        f"cannot tell the format of {source}: use a .csv, .tsv, .npy, .npz or .parquet "
        "file."
    )


def _load_npz(path, source, target, features, sample_weight) -> Table:
    if target is not None or sample_weight is not None:
        raise CLIError(
            f"--target and --sample-weight do not apply to .npz input ({source} holds "
            "arrays named X, y and optionally sample_weight)."
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise CLIError(f"{source} is not a readable .npz archive: {exc}") from None
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise CLIError(
            f"{source} must contain arrays named X and y, missing "
            f"{' and '.join(missing)} (found: {', '.join(sorted(arrays)) or 'none'})."
        )
    X, y = arrays["X"], arrays["y"]
    for name, a in (("X", X), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise CLIError(f"{source}: {name} must hold numbers, got dtype {a.dtype}.")
    if X.ndim != 2:
        raise CLIError(f"{source}: X must be 2-D, got shape {X.shape}.")
    if y.ndim != 1 or len(y) != len(X):
        raise CLIError(
            f"{source}: y must be 1-D with one value per row of X ({len(X)}), got "
            f"shape {y.shape}."
        )
    names = [f"x{j}" for j in range(X.shape[1])]
    if "feature_names" in arrays:
        fn = arrays["feature_names"]
        if fn.shape != (X.shape[1],):
            raise CLIError(
                f"{source}: feature_names must have one name per column of X "
                f"({X.shape[1]}), got shape {fn.shape}."
            )
        names = [str(f) for f in fn]
    columns = {c: X[:, j].astype(np.float64) for j, c in enumerate(names)}
    order = list(names)
    columns["\0y"] = y.astype(np.float64)
    order.append("\0y")
    weight = None
    if "sample_weight" in arrays:
        columns["\0w"] = np.asarray(arrays["sample_weight"], dtype=np.float64)
        order.append("\0w")
        weight = "\0w"
    t = _select(columns, order, "\0y", features, weight, source)
    t.target_name = "y"
    return t


# -------------------------------------------------------------------------- output


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path, force: bool) -> Path:
    """Fail early (before any work) if ``path`` exists and ``--force`` is not set."""
    path = Path(path)
    if path.exists() and not force:
        raise CLIError(f"{path} already exists; pass --force to overwrite it.")
    if path.is_dir():
        raise CLIError(f"{path} is a folder; give a file name.")
    parent = path.parent
    if not parent.is_dir():
        raise CLIError(f"cannot write {path}: folder {parent} does not exist.")
    return path


def atomic_write(path, write, *, force: bool) -> Path:
    """Write a file through ``write(fileobj)`` into a temp file, then rename it.

    A failure leaves nothing at ``path``. Without ``force`` an existing file is
    never replaced: the rename is a hard link, which fails if ``path`` appeared.
    """
    path = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                               dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise CLIError(f"{path} already exists; pass --force to overwrite "
                               "it.") from None
            except OSError:  # a file system without hard links
                if path.exists():
                    raise CLIError(f"{path} already exists; pass --force to "
                                   "overwrite it.") from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _coefs_csv(alphas, coefs, intercepts, names, extra: dict) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["alpha", *extra, "intercept", *names])
    for i in range(len(alphas)):
        w.writerow([repr(float(alphas[i])), *(_cell(v[i]) for v in extra.values()),
                    repr(float(intercepts[i])), *(repr(float(c)) for c in coefs[i])])
    return buf.getvalue().encode()


def _cell(v):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def _need_matplotlib(option: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(
            f"{option} needs matplotlib, which is not installed: "
            'pip install "jaxreg[plot]".'
        ) from None


def _figure(figsize=(7.2, 4.6)):
    """A figure with its own Agg canvas (no pyplot, no display, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save_figure(fig, path, force: bool) -> Path:
    return atomic_write(
        path, lambda f: fig.savefig(f, format="png", dpi=130, bbox_inches="tight"),
        force=force,
    )


# ----------------------------------------------------------------- text formatting


def _rows(k: int, max_rows: int, keep=()) -> list[int]:
    if max_rows <= 0 or k <= max_rows:
        return list(range(k))
    idx = set(np.linspace(0, k - 1, max_rows).round().astype(int).tolist())
    idx.update(int(i) for i in keep)
    return sorted(idx)


def path_table(alphas, df, dev_ratio, gaps=None, converged=None, *, max_rows=20,
               extra=None, marks=None, df_fmt="d") -> str:
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


def _entry_table(order, alphas, df, n_features) -> str:
    lines = [f"{'step':>4}  {'feature':<14} {'enters at alpha':>15}  {'df':>3}"]
    for s, (name, i) in enumerate(order, 1):
        lines.append(f"{s:>4}  {name:<14} {alphas[i]:>15.4g}  {int(df[i]):>3}")
    never = n_features - len(order)
    if never:
        verb = "s never enter" if never > 1 else " never enters"
        lines.append(f"  ({never} feature{verb} the path)")
    return "\n".join(lines)


def _coef_lines(coef, intercept, names, *, all_coefs=False) -> str:
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


# ------------------------------------------------------------------- API plumbing


def _parse_alphas(text: str | None):
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


def _call(func, args_ns, *posargs, **kwargs):
    """Call a public API function with ``device`` handled even where not a keyword."""
    device = getattr(args_ns, "device", None)
    params = inspect.signature(func).parameters
    if device is not None and "device" in params:
        kwargs["device"] = device
        return func(*posargs, **kwargs)
    if device is None:
        return func(*posargs, **kwargs)
    import jax

    from jaxreg._config import resolve_device

    with jax.default_device(resolve_device(device)):
        return func(*posargs, **kwargs)


@contextlib.contextmanager
def _warnings_as_lines():
    """Collect warnings and print each as one ``jaxreg: warning:`` line.

    User-facing warnings (``UserWarning`` such as ``ConvergenceWarning``, and
    ``RuntimeWarning``) are shown once each; deprecation notices of the libraries
    underneath are for developers and are dropped.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                if not issubclass(w.category, (UserWarning, RuntimeWarning)):
                    continue
                text = str(w.message).replace("\n", " ")
                if text not in seen:
                    seen.add(text)
                    print(f"{PROG}: warning: {text}", file=sys.stderr)


def _device_label(device) -> str:
    import jax

    return device or jax.default_backend()


def _enet_kwargs(args) -> dict:
    kw = dict(eps=args.eps, standardize=args.standardize,
              fit_intercept=not args.no_intercept, tol=args.tol, dtype=args.dtype)
    if args.max_iter is not None:
        kw["max_iter"] = args.max_iter
    if args.positive:
        kw["positive"] = True
    alphas = _parse_alphas(args.alphas)
    if alphas is not None:
        kw["alphas"] = alphas
    return kw


def _check_l1_ratio(args, allow_zero=False):
    r = args.l1_ratio
    if r == 0 and not allow_zero:
        raise CLIError("--l1-ratio 0 is ridge regression: use `jaxreg ridge`.")
    if not 0.0 <= r <= 1.0:
        raise CLIError(f"--l1-ratio must be in (0, 1], got {r!r}.")


def _selected_index(alphas, want: float | None) -> int:
    if want is None:
        return int(np.argmin(alphas))
    if not want > 0:
        raise CLIError(f"--select must be a positive alpha, got {want!r}.")
    logs = np.log(np.maximum(alphas, np.finfo(np.float64).tiny))  # alpha = 0 allowed
    return int(np.argmin(np.abs(logs - math.log(want))))


def _kind(l1_ratio: float) -> str:
    if l1_ratio == 1:
        return "lasso"
    if l1_ratio == 0:
        return "ridge"
    return f"elastic net (l1_ratio={l1_ratio:g})"


def _header(table: Table, what: str, args, extra="") -> str:
    return (f"{what}: {table.source}, {table.X.shape[0]} samples x {table.X.shape[1]} "
            f"features, target {table.target_name!r}; {args.dtype}, "
            f"{_device_label(args.device)}{extra}")


def _options_desc(args) -> str:
    parts = []
    if args.standardize:
        parts.append("standardized columns")
    if args.no_intercept:
        parts.append("no intercept")
    return (", " + ", ".join(parts)) if parts else ""


# ----------------------------------------------------------------------- commands


def _load(args) -> Table:
    return load_table(args.data, target=args.target,
                      features=_split_names(args.features),
                      sample_weight=args.sample_weight)


def _prepare_outputs(args) -> None:
    for opt in ("out_coefs", "plot"):
        value = getattr(args, opt, None)
        if value is not None:
            check_writable(value, args.force)
    if getattr(args, "plot", None) is not None:
        _need_matplotlib("--plot")


def cmd_path(args) -> int:
    from jaxreg.path import enet_path

    _check_l1_ratio(args)
    _prepare_outputs(args)
    table = _load(args)
    kw = _enet_kwargs(args)
    kind = _kind(args.l1_ratio)
    t0 = time.perf_counter()
    with _warnings_as_lines(), _progress.task(f"{kind} path"):
        res = _call(enet_path, args, table.X, table.y, l1_ratio=args.l1_ratio,
                    sample_weight=table.sample_weight, **kw)
    seconds = time.perf_counter() - t0
    i_sel = _selected_index(res.alphas, args.select)
    order = entry_order(res.coefs, table.feature_names, table.X.std(axis=0))
    if args.json:
        _print_json(dict(
            command="path", **_path_dict(res, table), l1_ratio=args.l1_ratio,
            seconds=seconds, selected=_selected_dict(res, i_sel, table),
            entry_order=[dict(feature=f, index=i, alpha=res.alphas[i])
                         for f, i in order],
        ))
    else:
        print(_header(table, f"{kind} path", args, _options_desc(args)))
        print(f"{len(res.alphas)} alphas from {res.alphas[0]:.4g} to "
              f"{res.alphas[-1]:.4g}, solved in {seconds:.2f} s "
              f"({int(res.converged.sum())}/{len(res.alphas)} converged: "
              f"{_gap_rule(res)})\n")
        print(path_table(res.alphas, res.df, res.dev_ratio, res.gaps, res.converged,
                         max_rows=args.rows, marks={i_sel: "selected"}))
        print("\nOrder in which features enter the path:")
        print(_entry_table(order, res.alphas, res.df, len(table.feature_names)))
        print(f"\nSelected alpha = {res.alphas[i_sel]:.5g} (index {i_sel}, "
              f"{'--select' if args.select is not None else 'smallest alpha'}): "
              f"{int(res.df[i_sel])} non-zero coefficients, "
              f"{100 * res.dev_ratio[i_sel]:.2f}% deviance explained")
        print(_coef_lines(res.coefs[i_sel], res.intercepts[i_sel],
                          table.feature_names))
    _write_outputs(args, res, table, plot=lambda ax: _plot_path(
        ax, res, table, standardized=args.standardize))
    return 0


def _gap_rule(res) -> str:
    return (f"duality gap <= {res.gap_tol:.3g} = tol {res.tol:g} x ||y - mean(y)||^2/n")


def _plot_path(ax, res, table, marks=None, standardized=False):
    """Coefficient paths; standardized ones (coef × SD) when X was standardized."""
    from jaxreg import plot

    scale = None
    if standardized:
        scale = _ridge_standardize(table.X, table.sample_weight)[1]
    plot.coef_path(res, table.feature_names, ax=ax, mark_alphas=marks, scale=scale)


def _write_outputs(args, res, table, plot, extra=None):
    written = []
    if args.out_coefs:
        data = _coefs_csv(res.alphas, res.coefs, res.intercepts, table.feature_names,
                          extra or dict(df=res.df, dev_ratio=res.dev_ratio,
                                        gap=res.gaps, converged=res.converged))
        written.append(atomic_write(args.out_coefs, lambda f: f.write(data),
                                    force=args.force))
    if args.plot:
        fig, ax = _figure()
        plot(ax)
        written.append(_save_figure(fig, args.plot, args.force))
    for p in written:
        print(f"wrote {p}", file=sys.stderr if args.json else sys.stdout)


def _path_dict(res, table) -> dict:
    return dict(
        source=table.source, target=table.target_name,
        n_samples=table.X.shape[0], n_features=table.X.shape[1],
        feature_names=table.feature_names, dtype=str(res.dtype),
        alphas=res.alphas, df=res.df, dev_ratio=res.dev_ratio, gaps=res.gaps,
        converged=res.converged, n_iter=res.n_iter, intercepts=res.intercepts,
        coefs=res.coefs,
    )


def _selected_dict(res, i, table) -> dict:
    return dict(
        index=i, alpha=res.alphas[i], intercept=res.intercepts[i],
        df=res.df[i], dev_ratio=res.dev_ratio[i],
        coefs={n: c for n, c in zip(table.feature_names, res.coefs[i], strict=True)
               if c != 0},
    )


def _print_json(obj) -> None:
    print(json.dumps(_jsonable(obj), indent=1))


def _import(module: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name != module:
            raise
        raise CLIError(
            f"{what} is not available in this jaxreg installation ({module} is "
            "missing)."
        ) from None


def _fold_arg(args, n):
    k = args.cv
    if not 2 <= k <= n:
        raise CLIError(f"--cv must be between 2 and the number of samples ({n}), "
                       f"got {k}.")
    if args.seed is None:
        return k
    rng = np.random.default_rng(args.seed)
    return rng.permutation(np.arange(n) % k)


def _cv_result(args, table, *, l1_ratio, kw):
    cv_mod = _import("jaxreg.cv", "cross-validation (jaxreg cv)")
    folds = _fold_arg(args, table.X.shape[0])
    return _call(cv_mod.cv_path, args, table.X, table.y, l1_ratio=l1_ratio, cv=folds,
                 sample_weight=table.sample_weight, **kw)


def cmd_cv(args) -> int:
    _check_l1_ratio(args, allow_zero=True)
    _prepare_outputs(args)
    table = _load(args)
    kw = _enet_kwargs(args)
    kind = _kind(args.l1_ratio)
    t0 = time.perf_counter()
    with _warnings_as_lines(), _progress.task(f"{args.cv}-fold CV, {kind}"):
        cvr = _cv_result(args, table, l1_ratio=args.l1_ratio, kw=kw)
    seconds = time.perf_counter() - t0
    res = cvr.path
    i_sel = int(cvr.index_1se if args.select == "1se" else cvr.index_min)
    folds = (f"random folds (seed {args.seed})" if args.seed is not None
             else "contiguous folds")
    if args.json:
        _print_json(dict(
            command="cv", **_path_dict(res, table), l1_ratio=args.l1_ratio,
            seconds=seconds,
            cv=dict(n_folds=args.cv, seed=args.seed, mse_mean=cvr.mse_mean,
                    mse_se=cvr.mse_se, alpha_min=cvr.alpha_min,
                    alpha_1se=cvr.alpha_1se, index_min=cvr.index_min,
                    index_1se=cvr.index_1se),
            selected=dict(rule=args.select, **_selected_dict(res, i_sel, table)),
        ))
    else:
        print(_header(table, f"{args.cv}-fold cross-validated {kind}", args,
                      _options_desc(args)))
        print(f"{len(cvr.alphas)} alphas, {folds}, {seconds:.2f} s\n")
        print(_cv_report(cvr, table, args.rows, args.select))
    _write_outputs(
        args, res, table, plot=lambda ax: _plot_cv(ax, cvr),
        extra=dict(df=res.df, dev_ratio=res.dev_ratio, cv_mse=cvr.mse_mean,
                   cv_se=cvr.mse_se, gap=res.gaps),
    )
    return 0


def _cv_report(cvr, table, max_rows, select) -> str:
    res = cvr.path
    i_min, i_1se = int(cvr.index_min), int(cvr.index_1se)
    marks = {i_min: "min"} if i_min == i_1se else {i_min: "min", i_1se: "1se"}
    if i_min == i_1se:
        marks[i_min] = "min = 1se"
    out = [path_table(cvr.alphas, res.df, res.dev_ratio, res.gaps, res.converged,
                      max_rows=max_rows, marks=marks,
                      extra={"cv mse": (cvr.mse_mean, 10, ".5g"),
                             "se": (cvr.mse_se, 9, ".4g")})]
    out.append("")
    for rule, i in (("min", i_min), ("1se", i_1se)):
        out.append(
            f"alpha_{rule} = {cvr.alphas[i]:.5g} (index {i}): CV MSE "
            f"{cvr.mse_mean[i]:.5g} ± {cvr.mse_se[i]:.3g}, {int(res.df[i])} non-zero "
            f"coefficients{'  [selected]' if rule == select else ''}"
        )
    i_sel = i_1se if select == "1se" else i_min
    out.append(f"\nCoefficients at alpha_{select} (refit on all the data):")
    out.append(_coef_lines(res.coefs[i_sel], res.intercepts[i_sel],
                           table.feature_names))
    return "\n".join(out)


def _plot_cv(ax, cvr):
    from jaxreg import plot

    plot.cv_curve(cvr, ax=ax)


def _ridge_standardize(X, sw):
    w = np.ones(len(X)) if sw is None else sw * (len(X) / sw.sum())
    mean = (w[:, None] * X).sum(0) / w.sum()
    scale = np.sqrt((w[:, None] * (X - mean) ** 2).sum(0) / w.sum())
    scale = np.where(scale > 0, scale, 1.0)
    return X / scale, scale


def _effective_df(X, alphas, sw, fit_intercept) -> np.ndarray:
    """Ridge degrees of freedom Σ d_j²/(d_j² + nα) (the trace of the hat matrix)."""
    n = len(X)
    w = np.ones(n) if sw is None else sw * (n / sw.sum())
    Xc = X - ((w[:, None] * X).sum(0) / n if fit_intercept else 0.0)
    d2 = np.linalg.svd(np.sqrt(w)[:, None] * Xc, compute_uv=False) ** 2
    return (d2[None, :] / (d2[None, :] + n * np.asarray(alphas)[:, None])).sum(1)


def _ridge_fit(args, table, alphas):
    """Ridge path, exact LOO MSE and effective df (standardizing X here if asked).

    With ``--standardize`` the columns are scaled to unit (weighted, 1/n) variance
    before the path and the leave-one-out errors are computed, so both see the same
    problem; coefficients are mapped back to the original scale.
    """
    import dataclasses

    ridge = _import("jaxreg.ridge", "ridge regression (jaxreg ridge)")
    X, scale = table.X, None
    if args.standardize:
        X, scale = _ridge_standardize(X, table.sample_weight)
    kw = dict(fit_intercept=not args.no_intercept, sample_weight=table.sample_weight,
              dtype=args.dtype)
    if alphas is None:
        alphas = _ridge_grid(X, table.sample_weight, 100)
    if hasattr(ridge, "ridge_cv"):  # path and LOO from one decomposition
        r = _call(ridge.ridge_cv, args, X, table.y, alphas=alphas, criterion="loo",
                  **kw)
        res, loo = r.path, np.asarray(r.cv_values, dtype=np.float64)
    else:
        res = _call(ridge.ridge_path, args, X, table.y, alphas=alphas, **kw)
        loo = np.asarray(_call(ridge.ridge_loo, args, X, table.y, alphas=res.alphas,
                               **kw), dtype=np.float64)
    if scale is not None:  # back to the original scale of X
        res = dataclasses.replace(res, coefs=res.coefs / scale)
    df_eff = _effective_df(X, res.alphas, table.sample_weight, not args.no_intercept)
    return res, loo, df_eff


def _ridge_grid(X, sw, k) -> np.ndarray:
    """k alphas over the useful range: effective df from under 0.1 up to ~p.

    The top is ``10·trace(XᵀX/n)`` (effective df below 0.1), the bottom a hundredth
    of the smallest non-negligible eigenvalue of ``XᵀX/n`` (every direction is
    nearly unshrunk).
    """
    n = len(X)
    w = np.ones(n) if sw is None else sw * (n / sw.sum())
    Xc = X - (w[:, None] * X).sum(0) / n
    e = np.linalg.svd(np.sqrt(w)[:, None] * Xc, compute_uv=False) ** 2 / n
    total = float(e.sum())
    if not total > 0:
        return np.geomspace(1.0, 1e-4, k)
    pos = e[e > e.max() * 1e-10]
    return np.geomspace(10 * total, 1e-2 * float(pos.min()), k)


def cmd_ridge(args) -> int:
    _prepare_outputs(args)
    table = _load(args)
    alphas = _parse_alphas(args.alphas)
    if isinstance(alphas, int):
        X = _ridge_standardize(table.X, table.sample_weight)[0] if args.standardize \
            else table.X
        alphas = _ridge_grid(X, table.sample_weight, alphas)
    t0 = time.perf_counter()
    with _warnings_as_lines(), _progress.task("ridge path and leave-one-out curve"):
        res, loo, df_eff = _ridge_fit(args, table, alphas)
    seconds = time.perf_counter() - t0
    i_best = int(np.nanargmin(loo))
    if args.json:
        d = _path_dict(res, table)
        d.update(command="ridge", seconds=seconds, loo_mse=loo, effective_df=df_eff,
                 alpha_loo=res.alphas[i_best], index_loo=i_best,
                 selected=_selected_dict(res, i_best, table))
        _print_json(d)
    else:
        print(_header(table, "ridge path", args, _options_desc(args)))
        print(f"{len(res.alphas)} alphas from {res.alphas[0]:.4g} to "
              f"{res.alphas[-1]:.4g} (path units: sklearn Ridge(alpha=a) is "
              f"alpha = a/n), {seconds:.2f} s\n")
        print(_ridge_report(res, loo, df_eff, table, args.rows))
    _write_outputs(
        args, res, table, plot=lambda ax: _plot_ridge(ax, res.alphas, loo),
        extra=dict(effective_df=df_eff, dev_ratio=res.dev_ratio, loo_mse=loo),
    )
    return 0


def _ridge_report(res, loo, df_eff, table, max_rows) -> str:
    i = int(np.nanargmin(loo))
    out = [path_table(res.alphas, df_eff, res.dev_ratio, max_rows=max_rows,
                      marks={i: "LOO min"}, df_fmt=".2f",
                      extra={"loo mse": (loo, 10, ".5g")})]
    out.append("  (df: effective number of parameters, the trace of the hat matrix "
               "without the intercept)")
    out.append(f"\nalpha_LOO = {res.alphas[i]:.5g} (index {i}): leave-one-out MSE "
               f"{loo[i]:.5g}, effective df {df_eff[i]:.2f}")
    out.append(_coef_lines(res.coefs[i], res.intercepts[i], table.feature_names,
                           all_coefs=True))
    return "\n".join(out)


def _plot_ridge(ax, alphas, loo, df_eff=None):
    from jaxreg import plot

    plot.ridge_loo_curve(alphas, loo, ax=ax, df=df_eff)


# --------------------------------------------------------------------------- bench


def cmd_bench(args, rest) -> int:
    """``jaxreg bench [run|report] ARGS``: the benchmark harness of a checkout."""
    import importlib

    command = "run"
    if rest and rest[0] in ("run", "report"):
        command, rest = rest[0], rest[1:]
    checkout = Path(__file__).resolve().parent.parent
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


# ---------------------------------------------------------------------------- demo


def cmd_demo(args) -> int:
    from jaxreg.datasets import load_diabetes
    from jaxreg.path import lasso_path

    out_dir = Path(args.out)
    plots = not args.no_plots
    if plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            plots = False
            print(f"{PROG}: note: matplotlib is not installed, so no plots are drawn "
                  '(pip install "jaxreg[plot]").', file=sys.stderr)
    names = list(_DEMO_PLOTS) + (["geometry.png"] if args.geometry else [])
    if plots:
        if out_dir.exists() and not out_dir.is_dir():
            raise CLIError(f"--out {out_dir} exists and is not a folder.")
        for name in names:
            if (out_dir / name).exists() and not args.force:
                raise CLIError(
                    f"{out_dir / name} already exists; pass --force to overwrite the "
                    "demo plots, or --out DIR to write them elsewhere."
                )
    X, y, feat = load_diabetes()
    table = Table(X, y, feat, "target", None, "diabetes")
    n, p = X.shape
    dt = args.dtype
    print("jaxreg demo: the diabetes data of Efron, Hastie, Johnstone & Tibshirani "
          "(2004, 'Least Angle Regression')")
    print(f"{n} patients x {p} baseline variables ({', '.join(feat)}); target: disease "
          "progression one year after baseline.")
    print("Columns are standardized inside the solver (glmnet's default); coefficients "
          "are on the original scale.\n")
    kw = dict(alphas=100, eps=1e-3, standardize=True, tol=args.tol, dtype=dt)
    stages = 3 + bool(args.geometry)
    figures = {}
    with _warnings_as_lines(), _progress.Progress(stages, "demo") as bar:
        bar.set_description("demo: lasso path")
        t0 = time.perf_counter()
        res = _call(lasso_path, args, X, y, **kw)
        t_path = time.perf_counter() - t0
        bar.update()

        bar.set_description("demo: 5-fold CV")
        cvr, cv_error = None, None
        t0 = time.perf_counter()
        try:
            cv_mod = _import("jaxreg.cv", "cross-validation")
            cvr = _call(cv_mod.cv_path, args, X, y, l1_ratio=1.0, cv=5, **kw)
        except CLIError as exc:
            cv_error = str(exc)
        t_cv = time.perf_counter() - t0
        bar.update()

        bar.set_description("demo: ridge LOO")
        ridge = None
        ridge_error = None
        t0 = time.perf_counter()
        try:
            rargs = argparse.Namespace(standardize=True, no_intercept=False,
                                       device=args.device, dtype=dt)
            ridge = _ridge_fit(rargs, table, None)
        except CLIError as exc:
            ridge_error = str(exc)
        t_ridge = time.perf_counter() - t0
        bar.update()

        geometry_error = None
        if args.geometry:
            bar.set_description("demo: geometry")
            try:
                figures["geometry.png"] = _demo_geometry(X, y, feat) if plots else None
            except CLIError as exc:
                geometry_error = str(exc)
            bar.update()

    # 1. the path
    print(f"1. Lasso path: {len(res.alphas)} alphas from alpha_max = "
          f"{res.alphas[0]:.4g} down to {res.alphas[-1]:.4g} ({dt}, "
          f"{_device_label(args.device)}, {t_path:.2f} s including compilation)")
    print(f"{int(res.converged.sum())}/{len(res.alphas)} converged: "
          f"{_gap_rule(res)}\n")
    print(path_table(res.alphas, res.df, res.dev_ratio, res.gaps, res.converged,
                     max_rows=args.rows))
    order = entry_order(res.coefs, feat, X.std(axis=0))
    print("\nOrder in which the features enter the lasso path:")
    print(_entry_table(order, res.alphas, res.df, p))
    print("  (Efron et al. 2004 report bmi, s5 (ltg), bp, s3 (hdl), sex, s6, s1, s4, "
          "s2, age.)")
    if plots:
        marks = None
        if cvr is not None:
            marks = {"min": cvr.alpha_min, "1se": cvr.alpha_1se}
        fig, ax = _figure()
        _plot_path(ax, res, table, marks, standardized=True)
        figures["coef_path.png"] = fig

    # 2. CV
    print("\n2. Lasso, 5-fold cross-validation (contiguous folds)")
    if cvr is None:
        print(f"   skipped: {cv_error}")
    else:
        print(f"   {t_cv:.2f} s\n")
        print(_cv_report(cvr, table, args.rows, "1se"))
        if plots:
            fig, ax = _figure()
            _plot_cv(ax, cvr)
            figures["cv_curve.png"] = fig

    # 3. ridge
    print("\n3. Ridge, exact leave-one-out curve")
    if ridge is None:
        print(f"   skipped: {ridge_error}")
    else:
        rres, loo, df_eff = ridge
        print(f"   {len(rres.alphas)} alphas, {t_ridge:.2f} s\n")
        print(_ridge_report(rres, loo, df_eff, table, args.rows))
        if cvr is not None:
            i = int(cvr.index_min)
            print("\n   For comparison: lasso CV MSE at alpha_min "
                  f"{cvr.mse_mean[i]:.5g}"
                  f" ({int(cvr.path.df[i])} features), ridge LOO MSE "
                  f"{np.nanmin(loo):.5g} (all {p}).")
        if plots:
            fig, ax = _figure()
            _plot_ridge(ax, rres.alphas, loo, df_eff)
            figures["ridge_loo.png"] = fig
    if args.geometry and geometry_error:
        print(f"\n4. Geometry: skipped: {geometry_error}")

    if plots:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [_save_figure(fig, out_dir / name, args.force)
                   for name, fig in figures.items() if fig is not None]
        if written:
            print(f"\nPlots written to {out_dir}/: "
                  + ", ".join(w.name for w in written))
    missing = [m for m in (cv_error, ridge_error, geometry_error) if m]
    return 0 if not missing else 1


def _demo_geometry(X, y, feat):
    """The L1/L2 constraint picture for s4 and s5 (standardized), on an Agg figure.

    On the diabetes data this pair shows the point of the picture: the L1 fit lands
    on a corner of the diamond (s4 = 0) while the L2 fit keeps both.
    """
    geo = _import("jaxreg._geometry", "the geometry plot")
    fig, ax = _figure(figsize=(6.4, 6.0))
    geo.geometry(X, y, ("s4", "s5"), ax=ax, feature_names=feat)
    return fig


# ------------------------------------------------------------------------- parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise CLIError(f"{message} (see `{self.prog} --help`)")


def _positive_int(name):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a positive integer, got {text!r}") from None
        if v < 1:
            raise argparse.ArgumentTypeError(
                f"{name} must be a positive integer, got {text!r}")
        return v
    return parse


def _float(name, rule, ok):
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text!r}") \
                from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text!r}")
        return v
    return parse


def _nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rows must be a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(
            f"--rows must be a non-negative integer, got {text!r}")
    return v


def _debug_arg(default) -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    p.add_argument("--debug", action="store_true", default=default,
                   help="show the full traceback on errors")
    return p


def _common() -> argparse.ArgumentParser:
    # --debug is also accepted after the subcommand; SUPPRESS keeps the subparser
    # from resetting a --debug given before it.
    p = _Parser(add_help=False, parents=[_debug_arg(argparse.SUPPRESS)])
    g = p.add_argument_group("compute")
    g.add_argument("--device", choices=("cpu", "gpu"), default=None,
                   help="where to compute (default: JAX's default device)")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="precision of the solve (default float64)")
    return p


def _data_args(p):
    g = p.add_argument_group("input")
    g.add_argument("data", help="CSV/TSV with a header ('-' = stdin), .npy, .npz or "
                                ".parquet (needs pyarrow)")
    g.add_argument("--target", metavar="NAME",
                   help="response column (name; an index for .npy); not for .npz")
    g.add_argument("--features", metavar="A,B,...",
                   help="feature columns to use (default: all other columns)")
    g.add_argument("--sample-weight", metavar="NAME",
                   help="column of non-negative sample weights")


def _model_args(p, *, l1_default, grid=True):
    g = p.add_argument_group("model")
    if l1_default is not None:
        g.add_argument("--l1-ratio", type=_float("--l1-ratio", "a number in [0, 1]",
                                                 lambda v: 0 <= v <= 1),
                       default=l1_default,
                       help=f"1 = lasso, (0, 1) = elastic net (default {l1_default:g})")
    g.add_argument("--alphas", metavar="N|a,b,c",
                   help="grid size, or the alphas themselves (comma-separated)")
    if grid:
        g.add_argument("--eps", type=_float("--eps", "in (0, 1)", lambda v: 0 < v < 1),
                       default=1e-3,
                       help="smallest alpha as a fraction of alpha_max (default 1e-3)")
        g.add_argument("--tol", type=_float("--tol", "positive",
                                            lambda v: v > 0 and math.isfinite(v)),
                       default=1e-4,
                       help="duality-gap tolerance, relative to ||y - mean||^2/n "
                            "(default 1e-4)")
        g.add_argument("--max-iter", type=_positive_int("--max-iter"), default=None,
                       help="most iterations per alpha")
        g.add_argument("--positive", action="store_true",
                       help="constrain the coefficients to be non-negative")
    g.add_argument("--standardize", action="store_true",
                   help="scale columns to unit variance inside the solver "
                        "(coefficients stay on the original scale)")
    g.add_argument("--no-intercept", action="store_true", help="fit no intercept")


def _output_args(p, plot_help):
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true",
                   help="print the full result as JSON on stdout")
    g.add_argument("--out-coefs", metavar="FILE.csv",
                   help="write the coefficient path (one row per alpha) as CSV")
    g.add_argument("--plot", metavar="FILE.png", help=plot_help)
    g.add_argument("--force", action="store_true",
                   help="overwrite existing output files")
    g.add_argument("--rows", type=_nonneg_int, default=20,
                   help="rows of the summary table (0 = every alpha; default 20)")


def build_parser() -> argparse.ArgumentParser:
    from jaxreg import __version__

    common = _common()
    parser = _Parser(
        prog=PROG,
        description="Lasso, elastic-net and ridge regularization paths with JAX: every "
                    "alpha at once, each certified by its duality gap.",
        epilog="Try `jaxreg demo`. Each command has its own --help.",
        parents=[_debug_arg(False)],
    )
    parser.add_argument("--version", action="version", version=f"jaxreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("path", parents=[common], help="lasso / elastic-net path",
                       description="Lasso or elastic-net regularization path.")
    _data_args(p)
    _model_args(p, l1_default=1.0)
    p.add_argument("--select", type=_float("--select", "a positive alpha",
                                           lambda v: v > 0),
                   metavar="ALPHA", default=None,
                   help="show the coefficients at the grid alpha nearest to ALPHA "
                        "(default: the smallest alpha)")
    _output_args(p, "plot the coefficient paths against log alpha (needs matplotlib)")
    p.set_defaults(func=cmd_path)

    p = sub.add_parser("cv", parents=[common], help="cross-validated path",
                       description="K-fold cross-validation along the path: alpha_min "
                                   "and alpha_1se.")
    _data_args(p)
    _model_args(p, l1_default=1.0)
    g = p.add_argument_group("cross-validation")
    g.add_argument("--cv", type=_positive_int("--cv"), default=5, metavar="K",
                   help="number of folds (default 5; contiguous folds as "
                        "scikit-learn's KFold)")
    g.add_argument("--seed", type=int, default=None,
                   help="shuffle samples into folds with this seed")
    g.add_argument("--select", choices=("min", "1se"), default="min",
                   help="which alpha's coefficients to show (default min)")
    _output_args(p, "plot the CV curve with error bars (needs matplotlib)")
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("ridge", parents=[common], help="ridge path and LOO curve",
                       description="Closed-form ridge path and its exact "
                                   "leave-one-out error curve.")
    _data_args(p)
    _model_args(p, l1_default=None, grid=False)
    _output_args(p, "plot the leave-one-out curve (needs matplotlib)")
    p.set_defaults(func=cmd_ridge)

    p = sub.add_parser("bench", parents=[_debug_arg(argparse.SUPPRESS)],
                       help="run the benchmarks (from a source checkout)",
                       description="Run the benchmark harness of a jaxreg source "
                                   "checkout; the arguments are passed on to "
                                   "`python -m benchmarks run` (e.g. --preset smoke "
                                   "--devices cpu --out DIR; `jaxreg bench run "
                                   "--help` shows them all). `jaxreg bench report "
                                   "DIR` rebuilds a report.")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", parents=[common], help="lasso, CV and ridge on the "
                       "diabetes data, with plots",
                       description="Lasso path, 5-fold CV and the ridge leave-one-out "
                                   "curve on the embedded diabetes data; the plots go "
                                   "to ./jaxreg-demo/.")
    p.add_argument("--out", default=_DEMO_DIR, metavar="DIR",
                   help=f"folder for the plots (default ./{_DEMO_DIR})")
    p.add_argument("--geometry", action="store_true",
                   help="also draw geometry.png (the lasso and ridge constraint "
                        "regions against the loss contours)")
    p.add_argument("--no-plots", action="store_true", help="print the summary only")
    p.add_argument("--force", action="store_true", help="overwrite existing plots")
    p.add_argument("--rows", type=_nonneg_int, default=20,
                   help="rows of the summary tables (0 = every alpha; default 20)")
    p.add_argument("--tol", type=_float("--tol", "positive",
                                        lambda v: v > 0 and math.isfinite(v)),
                   default=1e-4, help="duality-gap tolerance (default 1e-4)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    """Run the ``jaxreg`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a user mistake (one line on stderr,
        no traceback unless ``--debug``), 1 for an internal error (or, for
        ``demo``, a part that could not run), 130 when interrupted.

    Examples
    --------
    >>> from jaxreg.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    jaxreg 0.1.0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        rest: list[str] = []
        # `jaxreg bench ARGS`: ARGS belong to the benchmark harness, not to us.
        i = next((i for i, t in enumerate(argv) if not t.startswith("-")), None)
        if i is not None and argv[i] == "bench" and argv[i + 1:i + 2] not in (
                ["-h"], ["--help"]):
            argv, rest = argv[: i + 1], argv[i + 1:]
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return int(exc.code or 0)
        debug = bool(getattr(args, "debug", False))
        if getattr(args, "device", None) == "cpu" and "jax" not in sys.modules:
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if args.command == "bench":
            return cmd_bench(args, rest)
        return args.func(args)
    except CLIError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # The API's own input checks: the message names the argument and the rule.
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`jaxreg ... | head`): stop quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug, not a user mistake
        if debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun "
              "with --debug for the traceback)", file=sys.stderr)
        return 1


def _one_line(exc) -> str:
    return " ".join(str(exc).split())
