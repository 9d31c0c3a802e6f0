"""Files in and out: reading CSV/TSV/npy/npz/Parquet into a :class:`Table`, atomic
writes, the CSV and JSON output formats and the figures' canvas."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxreg.cli.base import CLIError
from jaxreg.cli.delimited import read_delimited

__all__ = [
    "Table",
    "atomic_write",
    "check_writable",
    "coefs_csv",
    "draw",
    "load_table",
    "need_matplotlib",
    "print_json",
    "save_figure",
    "split_names",
]


# --------------------------------------------------------------------------- input


@dataclass
class Table:
    """Numeric data read from a file: the design, the target and their names; or,
    for a file streamed in chunks, its sufficient statistics (``X``/``y`` None)."""

    X: np.ndarray | None
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str
    sample_weight: np.ndarray | None
    source: str
    stats: object = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape if self.stats is None else self.stats.shape

    def column_sd(self) -> np.ndarray:
        """Each feature's standard deviation (weighted, when streamed)."""
        if self.stats is None:
            return self.X.std(axis=0)
        st = self.stats.total()
        p, S0 = st.n_features, st.S0[0]
        mean = st.Sz[0, :p] / S0
        var = np.diagonal(st.Szz[0])[:p] / S0 - mean * mean
        return np.sqrt(np.maximum(var, 0.0))

    def data(self):
        """The API's positional data and weight keyword: ``(X, y)`` and the
        sample weights, or the statistics alone (their weights are inside)."""
        if self.stats is None:
            return (self.X, self.y), {"sample_weight": self.sample_weight}
        return (self.stats,), {}


def split_names(text: str | None) -> list[str] | None:
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


def _select(
    columns: dict[str, np.ndarray],
    order: list[str],
    target,
    features,
    weight,
    source: str,
    bad: dict[str, str] | None = None,
) -> Table:
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
        hint = (
            ""
            if features is not None
            else " Select numeric columns with --features, or encode these first."
        )
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
    return Table(
        X,
        columns[tname].astype(np.float64),
        fnames,
        tname,
        None if wname is None else columns[wname].astype(np.float64),
        source,
    )


def _read_parquet(path: Path, source: str):
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise CLIError(
            f"reading Parquet ({source}) needs pyarrow, which is not installed: "
            "pip install pyarrow, or convert the file to CSV."
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow's own errors: a corrupt or truncated file
        raise CLIError(f"{source} is not a readable Parquet file: {exc}") from None
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
        columns, order, bad = read_delimited(sys.stdin.read(), None, "stdin")
        return _select(columns, order, target, features, sample_weight, "stdin", bad)
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise CLIError(
            f"input file {source} does not exist."
            if not path.exists()
            else f"input {source} is not a file."
        )
    suffix = "".join(s.lower() for s in path.suffixes[-1:])
    if suffix in (".csv", ".tsv", ".tab", ".txt", ".dat"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CLIError(f"{source} is not UTF-8 text: {exc.reason}.") from None
        delim = {".csv": ",", ".tsv": "\t", ".tab": "\t"}.get(suffix)
        columns, order, bad = read_delimited(text, delim, source, path)
        return _select(columns, order, target, features, sample_weight, source, bad)
    if suffix in (".parquet", ".pq"):
        columns, order, bad = _read_parquet(path, source)
        return _select(columns, order, target, features, sample_weight, source, bad)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CLIError(_unreadable(source, ".npy array", exc)) from None
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


def _unreadable(source, what, exc) -> str:
    """Why a NumPy file cannot be read, without relaying numpy's advice to load
    pickled data (which can run arbitrary code: jaxreg never does)."""
    if "pickle" in str(exc):
        return (
            f"{source} is not a readable {what}: it holds Python objects (pickled "
            "data), not numbers; jaxreg loads numeric arrays only."
        )
    if isinstance(exc, zipfile.BadZipFile | EOFError) or "zip" in str(exc).lower():
        return f"{source} is not a readable {what}: the file is truncated or corrupt."
    return f"{source} is not a readable {what}: {exc}"


def _load_npz(path, source, target, features, sample_weight) -> Table:
    if target is not None or sample_weight is not None:
        raise CLIError(
            f"--target and --sample-weight do not apply to .npz input ({source} holds "
            "arrays named X, y and optionally sample_weight)."
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CLIError(_unreadable(source, ".npz archive", exc)) from None
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
    """Fail early (before any work) if ``path`` cannot be written: it exists and
    ``--force`` is not set, it is a folder, or its folder is missing or refuses
    new files."""
    path = Path(path)
    if path.exists() and not force:
        raise CLIError(f"{path} already exists; pass --force to overwrite it.")
    if path.is_dir():
        raise CLIError(f"{path} is a folder; give a file name.")
    parent = path.parent
    if not parent.is_dir():
        raise CLIError(f"cannot write {path}: folder {parent} does not exist.")
    try:
        os.close(_new_file(parent))
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror} in {parent}.") from None
    return path


def _new_file(folder: Path) -> int:
    """A writable descriptor in ``folder``: an unnamed file (Linux O_TMPFILE),
    which a killed process cannot leave behind, else a named temp file that is
    unlinked at once."""
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        try:
            return os.open(folder, flag | os.O_WRONLY, 0o666 & ~_umask())
        except IsADirectoryError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    fd, name = tempfile.mkstemp(dir=folder, prefix=".jaxreg-probe-")
    os.unlink(name)
    return fd


def _part_name(path: Path) -> Path:
    return path.parent / f".{path.name}.jaxreg-{os.getpid()}.part"


def _remove_stale_parts(path: Path) -> None:
    """Named temp files of runs that were killed (their process is gone)."""
    for part in path.parent.glob(f".{path.name}.jaxreg-*.part"):
        pid = part.name.rsplit("-", 1)[-1].removesuffix(".part")
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                part.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def atomic_write(path, write, *, force: bool) -> Path:
    """Write a file through ``write(fileobj)`` into a temp file, then put it in
    place at once.

    A failure leaves nothing at ``path``. The temp file is named after this
    process (``.NAME.jaxreg-PID.part``): one left by a run that was killed is
    removed by the next write to the same place. Without ``force`` an existing
    file is never replaced: the link fails if ``path`` appeared meanwhile.
    """
    path = check_writable(path, force)
    _remove_stale_parts(path)
    tmp = _part_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _move_into_place(tmp, path, force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _move_into_place(tmp: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise CLIError(
            f"{path} already exists; pass --force to overwrite it."
        ) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise CLIError(
                f"{path} already exists; pass --force to overwrite it."
            ) from None
        os.replace(tmp, path)


def coefs_csv(alphas, coefs, intercepts, names, extra: dict) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["alpha", *extra, "intercept", *names])
    for i in range(len(alphas)):
        w.writerow(
            [
                _number(alphas[i]),
                *(_cell(v[i]) for v in extra.values()),
                _number(intercepts[i]),
                *(_number(c) for c in coefs[i]),
            ]
        )
    return buf.getvalue().encode()


def _number(v) -> str:
    """A float's shortest exact text, never "-0.0" (a zero coefficient is 0.0)."""
    return repr(float(v) + 0.0)


def _cell(v):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return _number(v)


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
        f = float(obj) + 0.0  # never -0.0
        return f if math.isfinite(f) else None
    return obj


def need_matplotlib(option: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(
            f"{option} needs matplotlib, which is not installed: "
            'pip install "jaxreg[plot]".'
        ) from None


def draw(plot, figsize=(7.2, 4.6)):
    """A new figure with ``plot(ax)`` drawn on its axes, on its own Agg canvas (no
    pyplot, no display, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    plot(fig.add_subplot())
    return fig


def save_figure(fig, path, force: bool) -> Path:
    return atomic_write(
        path,
        lambda f: fig.savefig(f, format="png", dpi=130, bbox_inches="tight"),
        force=force,
    )


def print_json(obj) -> None:
    """``obj`` as JSON on stdout (arrays as lists, non-finite numbers as null)."""
    print(json.dumps(_jsonable(obj), indent=1))
