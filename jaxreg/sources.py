"""Where sufficient statistics come from: one pass over the rows of any source.

:func:`sufficient_stats` reads ``[X, y]`` chunk by chunk and accumulates the
moments of :class:`jaxreg.sufficient.SufficientStats`:

- an in-memory array (or DataFrame), in row chunks;
- a ``.npy`` file, read in row chunks by a background reader while the
  previous chunk is reduced (memory O(p² + chunk) whatever the file's size);
- a Parquet file or folder, in record batches (pyarrow);
- a dask array: blocks reduced where dask runs them (threads, processes or a
  ``dask.distributed`` cluster) and tree-merged, a bounded window of blocks at
  a time (a memmap-backed array never reads ahead without bound);
- a ``jax.Array``, on its devices: sharded over rows it is reduced with the
  devices' collectives (``shard_map`` and ``psum``), across processes after
  ``jax.distributed.initialize``, and every process gets the same statistics;
- an iterable of ``(X_chunk, y_chunk[, w_chunk])``.

On the CPU the products run on the host BLAS (a ``syrk`` of ``z − K``: faster
than XLA's GEMM on an operand computed in the same program); on an accelerator
(``device="gpu"``) on the device, every chunk padded to one row count with
zero-weight rows so that nothing recompiles.
"""

from __future__ import annotations

import concurrent.futures
import functools
import numbers
import os

import numpy as np

from jaxreg._progress import Progress
from jaxreg.folds import kfold_bounds
from jaxreg.sufficient import MAX_FEATURES, SufficientStats, from_parts

__all__ = ["sufficient_stats"]

# Default chunk: about this many bytes of float64 rows.
CHUNK_BYTES = 64 << 20
# dask: blocks in flight per worker thread.
DASK_WINDOW_PER_THREAD = 2


# --------------------------------------------------------------------------- #
# Accumulation
# --------------------------------------------------------------------------- #
def _host_block(E, Z, shift, w):
    """(S0, Σ s·d, Σ s·d dᵀ) of ``d = Z − shift`` with weights ``w`` (None: all
    ones), from one ``syrk`` of ``E = [√s·d, √s]`` written into the work
    buffer ``E`` (a fresh 64 MB array costs more in page faults than the
    product)."""
    q = Z.shape[1]
    np.subtract(Z, shift, out=E[:, :q])
    if w is None:
        E[:, q] = 1.0
    else:
        root = np.sqrt(w)
        E[:, :q] *= root[:, None]
        E[:, q] = root
    M = E.T @ E  # syrk
    return M[q, q], M[q, :q], M[:q, :q]


def _column_reduce(fn, Z, scratch):
    """``fn.reduce(Z, axis=0)`` (fn: np.minimum or np.maximum) by halving: long
    contiguous element-wise passes, 2-4x faster than numpy's axis-0 reduction
    of a C-ordered block with few columns. Exact (min/max do not round)."""
    m = Z.shape[0]
    if m < 4:
        return fn.reduce(Z, axis=0)
    h = m // 2
    out = fn(Z[:h], Z[h : 2 * h], out=scratch[:h])
    if m % 2:
        fn(out[:1], Z[2 * h :], out=out[:1])
    while out.shape[0] > 1:
        h = out.shape[0] // 2
        if out.shape[0] % 2:
            fn(out[:1], out[2 * h : 2 * h + 1], out=out[:1])
        fn(out[:h], out[h : 2 * h], out=out[:h])
        out = out[:h]
    return out[0].copy()


def first_shift(Z, w=None):
    """The shift every moment is taken about: the first chunk's weighted mean
    (its plain mean without positive weights; 0 where not finite)."""
    Z64 = np.asarray(Z, np.float64)
    if w is not None and np.sum(w) > 0:
        shift = (w @ Z64) / np.sum(w)
    else:
        shift = Z64.mean(axis=0)
    return np.where(np.isfinite(shift), shift, 0.0)


class Buffers:
    """Work arrays kept between chunks (a fresh 64 MB array costs more in page
    faults than the product it holds)."""

    def __init__(self):
        self.arrays = {}

    def get(self, name, size):
        buf = self.arrays.get(name)
        if buf is None or buf.size < size:
            buf = self.arrays[name] = np.empty(size)
        return buf[:size]


class Accumulator:
    """Running moments of ``z = [x, y]`` per fold label, about the first
    chunk's weighted mean.

    ``labels``: the fold labels when known up front (every one gets a part,
    even if empty), None without folds, or ``"discover"`` (a fold column).
    """

    def __init__(self, q, labels=None, perm=None):
        self.q, self.perm = q, perm
        self.shift = None
        self.discover = isinstance(labels, str) and labels == "discover"
        self.labels = (
            [] if self.discover else (None if labels is None else list(labels))
        )
        self.parts = {}
        for lab in self.labels if self.labels is not None else [None]:
            self._part(lab)
        self.rows = 0
        self.buffers = Buffers()

    def _part(self, label):
        if label not in self.parts:
            q = self.q
            self.parts[label] = [0.0, np.zeros(q), np.zeros((q, q)), np.full(q, np.inf),
                                 np.full(q, -np.inf), 0, 0]  # fmt: skip
        return self.parts[label]

    def add(self, Z, w=None, fold=None):
        """One chunk: ``Z`` (m, q), ``w`` (m,) or None, ``fold`` (m,) labels,
        one label, or None."""
        m = Z.shape[0]
        if m == 0:
            return
        if w is not None:
            w = np.asarray(w, np.float64)
        if self.shift is None:
            self.shift = first_shift(Z, w)
        if self.labels is None:
            self._add(None, Z, w)
        else:
            fold = np.asarray(fold)
            if fold.ndim == 0 or (fold == fold[0]).all():
                self._add(fold.flat[0].item(), Z, w)
            else:
                for lab in np.unique(fold):
                    sel = fold == lab
                    self._add(lab.item(), Z[sel], None if w is None else w[sel])
        self.rows += m

    def _add(self, label, Z, w):
        if self.labels is not None and label not in self.parts:
            if not self.discover:
                raise ValueError(f"fold label {label!r} is not among {self.labels}.")
            self.labels.append(label)
        part = self._part(label)
        m = Z.shape[0]
        work = self.buffers.get("work", m * (self.q + 1)).reshape(m, self.q + 1)
        S0, Sz, Szz = _host_block(work, Z, self.shift, w)
        if not (np.isfinite(Sz).all() and np.isfinite(Szz.diagonal()).all()):
            where = f" between rows {self.rows} and {self.rows + Z.shape[0]}"
            raise ValueError(
                f"X or y holds NaN or inf{where} (or values so large that their "
                "squares overflow float64): remove or impute them, or rescale."
            )
        pos = Z if w is None or (w > 0).all() else Z[w > 0]
        part[0] += S0
        part[1] += Sz
        part[2] += Szz
        if pos.shape[0]:
            size = (pos.shape[0] // 2) * pos.shape[1]
            scratch = self.buffers.get("scratch", size).reshape(-1, pos.shape[1])
            if pos.dtype != scratch.dtype:
                scratch = np.empty(scratch.shape, pos.dtype)
            part[3] = np.minimum(part[3], _column_reduce(np.minimum, pos, scratch))
            part[4] = np.maximum(part[4], _column_reduce(np.maximum, pos, scratch))
        part[5] += Z.shape[0]
        part[6] += pos.shape[0]

    def finish(self, n_features, feature_names=None, target_names=None, check=True):
        if self.shift is None:
            raise ValueError("the data have no rows.")
        labels = [None] if self.labels is None else sorted(self.labels, key=_sort_key)
        parts = [self.parts[lab] for lab in labels]
        arrays = [np.stack([np.asarray(part[i]) for part in parts]) for i in range(7)]
        return from_parts(
            self.shift,
            arrays,
            n_features=n_features,
            folds=None if self.labels is None else labels,
            perm=self.perm,
            check=check,
            feature_names=feature_names,
            target_names=target_names,
        )


def _sort_key(label):
    return (isinstance(label, str), label)


# --------------------------------------------------------------------------- #
# Folds, weights and targets of a row range
# --------------------------------------------------------------------------- #
class _Rows:
    """Per-row inputs given as arrays (or ``.npy`` paths) of length n: sliced
    by row range."""

    def __init__(self, n, sample_weight, folds, y=None):
        self.n = n
        self.w = _per_row("sample_weight", sample_weight, n)
        self.y = _per_row("y", y, n, ndim=(1, 2))
        self.labels = None
        self.fold_of = None
        if folds is None:
            return
        if isinstance(folds, numbers.Integral) and not isinstance(folds, bool):
            K = int(folds)
            if not 2 <= K <= n:
                raise ValueError(
                    f"folds must be an int in [2, n_samples={n}], got {K}."
                )
            self.bounds = kfold_bounds(K, n)
            self.labels = list(range(K))
            return
        ids = _per_row("folds", folds, n)
        labels = np.unique(ids)
        if labels.size < 2:
            raise ValueError(
                f"folds must hold at least 2 distinct fold ids, got {labels.size}."
            )
        self.fold_of, self.labels = ids, [lab.item() for lab in labels]

    def folds(self, a, b):
        if self.labels is None:
            return None
        if self.fold_of is not None:
            return np.asarray(self.fold_of[a:b])
        return np.searchsorted(self.bounds, np.arange(a, b), side="right")

    def weights(self, a, b):
        if self.w is None:
            return None
        w = np.asarray(self.w[a:b], np.float64)
        _check_weights(w)
        return w


def _per_row(name, a, n, ndim=(1,)):
    if a is None:
        return None
    if isinstance(a, (str, os.PathLike)):
        a = np.load(os.fspath(a), mmap_mode="r")
    elif not hasattr(a, "shape"):
        a = np.asarray(a)
    if a.ndim not in ndim or a.shape[0] != n:
        raise ValueError(
            f"{name} must have {n} rows (one per sample), got shape {a.shape}."
        )
    return a


def _check_weights(w):
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("sample_weight must be finite and non-negative.")


def _chunk_rows(chunk_rows, q):
    if chunk_rows is None:
        return max(1024, CHUNK_BYTES // (8 * max(q, 1)))
    if (
        isinstance(chunk_rows, bool)
        or not isinstance(chunk_rows, numbers.Integral)
        or chunk_rows < 1
    ):
        raise ValueError(f"chunk_rows must be a positive int, got {chunk_rows!r}.")
    return int(chunk_rows)


def _columns(p_all, target, features, names=None):
    """Feature and target column indices of a table of ``p_all`` columns."""

    def index(name, c):
        if isinstance(c, str):
            if names is None or c not in names:
                raise ValueError(f"{name} {c!r} is not a column name of the data.")
            return names.index(c)
        if (
            isinstance(c, bool)
            or not isinstance(c, numbers.Integral)
            or not -p_all <= c < p_all
        ):
            raise ValueError(
                f"{name} must be a column index in [-{p_all}, {p_all}), got {c!r}."
            )
        return int(c) % p_all

    tcols = (
        []
        if target is None
        else [
            index("target", t) for t in np.atleast_1d(np.asarray(target, dtype=object))
        ]
    )
    if features is None:
        fcols = [j for j in range(p_all) if j not in tcols]
    else:
        fcols = [index("features", c) for c in features]
    if set(fcols) & set(tcols):
        raise ValueError("a column cannot be both a feature and the target.")
    return fcols, tcols


# --------------------------------------------------------------------------- #
# Sources
# --------------------------------------------------------------------------- #
def _assemble(block, rows, a, b, fcols, tcols):
    """``[X, y]`` of rows a:b from a table block (the whole block, in its own
    column order, when it holds exactly the features and the target)."""
    if rows.y is None:
        if len(fcols) + len(tcols) == block.shape[1]:
            return block  # permuted once, at the end
        return block[:, fcols + tcols]
    yb = np.asarray(rows.y[a:b], np.float64).reshape(b - a, -1)
    Xb = block if fcols == list(range(block.shape[1])) else block[:, fcols]
    return np.concatenate([Xb, yb], axis=1)


def _iter_array(X, rows, m, fcols, tcols):
    """Chunks of an in-memory (or memory-mapped) array: (Z, w, folds)."""
    n = X.shape[0]
    for a in range(0, n, m):
        b = min(a + m, n)
        Z = _assemble(np.asarray(X[a:b]), rows, a, b, fcols, tcols)
        yield Z, rows.weights(a, b), rows.folds(a, b)


def _npy_header(path):
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(fh)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(fh)
        )
        return shape, fortran, dtype, fh.tell()


def _iter_npy(path, rows, m, fcols, tcols):
    """Row chunks of a C-ordered ``.npy`` read with ``readinto`` by a background
    thread (the next chunk is read while this one is reduced)."""
    shape, fortran, dtype, offset = _npy_header(path)
    if fortran or dtype.hasobject:
        yield from _iter_array(np.load(path, mmap_mode="r"), rows, m, fcols, tcols)
        return
    n, p_all = shape
    row_bytes = p_all * dtype.itemsize

    pool_bufs = [np.empty((min(m, n), p_all), dtype) for _ in range(2)]

    def read(a, b, i):
        buf = pool_bufs[i % 2][: b - a]
        with open(path, "rb", buffering=0) as fh:
            fh.seek(offset + a * row_bytes)
            view = memoryview(buf).cast("B")
            got = 0
            while got < view.nbytes:
                k = fh.readinto(view[got:])
                if not k:
                    raise ValueError(
                        f"{path} ends before row {b}: the file is truncated."
                    )
                got += k
        return buf

    starts = list(range(0, n, m))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        nxt = pool.submit(read, 0, min(m, n), 0) if starts else None
        for i, a in enumerate(starts):
            b = min(a + m, n)
            block = nxt.result()
            if i + 1 < len(starts):
                nxt = pool.submit(read, b, min(b + m, n), i + 1)
            Z = _assemble(block, rows, a, b, fcols, tcols)
            yield Z, rows.weights(a, b), rows.folds(a, b)


def _run(chunks, q, n_features, labels, total, *, show, feature_names=None,
         target_names=None, perm=None):  # fmt: skip
    acc = Accumulator(q, labels, perm)
    with Progress(total, "sufficient statistics", enabled=show, unit="rows") as bar:
        for Z, w, f in chunks:
            acc.add(Z, w, f)
            bar.update(Z.shape[0])
    return acc.finish(n_features, feature_names, target_names)


def _is_dask(X):
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _is_jax(X):
    import sys

    jax = sys.modules.get("jax")
    return jax is not None and isinstance(X, jax.Array)


def _check_p(p):
    if p > MAX_FEATURES:
        raise ValueError(
            f"sufficient statistics hold a p x p Gram matrix per fold: {p} features is "
            f"beyond {MAX_FEATURES}. Fit such wide data in design mode on X itself "
            "(lasso_path(X, y, mode='design')), or select features with features=."
        )


def sufficient_stats(X, y=None, *, sample_weight=None, folds=None, target=None,
                     features=None, chunk_rows=None, device=None,
                     progress=None) -> SufficientStats:  # fmt: skip
    """Weighted moments of ``[X, y]`` from one pass over the rows.

    The result stands in for ``X, y`` in :func:`jaxreg.lasso_path`,
    :func:`jaxreg.enet_path`, :func:`jaxreg.ridge_path`, :func:`jaxreg.cv_path`
    (with ``folds``) and :func:`jaxreg.alpha_max`, with the same answers as the
    data in memory: every Gaussian path needs only these moments.

    Parameters
    ----------
    X : array, path, dask array, jax.Array or iterable
        An array (n, p) or DataFrame; a ``.npy`` path (read in row chunks);
        a Parquet file or folder (read in record batches; needs pyarrow); a
        dask array (reduced where dask runs its blocks); a ``jax.Array``,
        possibly sharded over rows across devices and processes (reduced by
        the devices' collectives; every process gets the statistics); or an
        iterable of ``(X_chunk, y_chunk[, w_chunk])``.
    y : array-like (n,) or (n, n_targets), or a ``.npy`` path, optional
        Or ``target=``.
    sample_weight : array-like (n,), ``.npy`` path, or a column name (Parquet)
    folds : int, array-like (n,), or a column name (Parquet), optional
        Cross-validation folds: K contiguous folds by row (scikit-learn's
        ``KFold``), or each row's fold id (glmnet's ``foldid``). Each fold's
        moments are kept apart, for :func:`jaxreg.cv_path`.
    target : int or str, optional
        The column of X that is y: an index (arrays, ``.npy``) or a name
        (Parquet, DataFrames).
    features : sequence of int or str, optional
        The feature columns (default: every other (numeric) column).
    chunk_rows : int, optional
        Rows per chunk (default: 64 MB of float64).
    device : None, "cpu" or "gpu"
        The host BLAS (default on the CPU) or the device's GEMM (default on
        an accelerator). A ``jax.Array`` is always reduced on its devices.
    progress : bool, optional
        A bar over the rows, with rows/s and the time left (default: on a tty).

    Returns
    -------
    SufficientStats

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(1000, 5))
    >>> stats = jaxreg.sufficient_stats(X, X @ [1.0, 0, 0, 2.0, 0], chunk_rows=256)
    >>> jaxreg.lasso_path(stats, alphas=5).coefs.shape
    (5, 5)
    """
    show = progress
    if _is_jax(X):
        from jaxreg import _sharded

        return _sharded.sufficient_stats(X, y, sample_weight=sample_weight, folds=folds)
    if _is_dask(X):
        from jaxreg import _dask

        return _dask.sufficient_stats(X, y, sample_weight=sample_weight, folds=folds,
                                      target=target, features=features)  # fmt: skip
    rest = (y, sample_weight, folds, target, features, chunk_rows, show, device)
    if isinstance(X, (str, os.PathLike)):
        return _from_path(os.fspath(X), *rest)
    if hasattr(X, "shape") and hasattr(X, "dtype") or _is_frame(X):
        names = None
        if _is_frame(X):
            names = [str(c) for c in X.columns]
            X = X.to_numpy(dtype=np.float64)
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features), got shape {X.shape}."
            )
        source = functools.partial(_iter_array, X)
        return _from_table(source, X.shape, y, sample_weight, folds, target, features,
                           chunk_rows, show, device, names)  # fmt: skip
    from jaxreg._readers import from_iterable

    return from_iterable(X, y, sample_weight, folds, target, features, show)


def _from_path(path, y, sample_weight, folds, target, features, chunk_rows, show,
               device):  # fmt: skip
    """A ``.npy`` file, a Parquet file or folder, or a CSV file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.endswith(".npy"):
        shape, _, dtype, _ = _npy_header(path)
        if len(shape) != 2 or dtype.kind not in "biuf":
            raise ValueError(
                f"{path} must hold a 2-D numeric array, got {dtype} {shape}."
            )
        source = functools.partial(_iter_npy, path)
        return _from_table(
            source,
            shape,
            y,
            sample_weight,
            folds,
            target,
            features,
            chunk_rows,
            show,
            device,
        )
    from jaxreg import _readers

    lower = path.lower()
    text = lower.endswith((".csv", ".tsv", ".txt"))
    reader = _readers.csv_chunks if text else _readers.parquet_chunks
    chunks, total, spec = reader(
        path, y, target, features, sample_weight, folds, chunk_rows
    )
    _check_p(len(spec.features))
    return _run(chunks, len(spec.cols), len(spec.features), spec.labels(), total,
                show=show, feature_names=spec.features,
                target_names=spec.targets)  # fmt: skip


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "to_numpy")


def _from_table(source, shape, y, sample_weight, folds, target, features, chunk_rows,
                show, device, names=None):  # fmt: skip
    n, p_all = shape
    if y is None and target is None:
        raise ValueError("give y, or the target column with target=.")
    if y is not None and target is not None:
        raise ValueError("give either y or target=, not both.")
    fcols, tcols = _columns(p_all, target, features, names)
    rows = _Rows(n, sample_weight, folds, y)
    T = len(tcols) if y is None else (1 if rows.y.ndim == 1 else rows.y.shape[1])
    p = len(fcols)
    _check_p(p)
    m = _chunk_rows(chunk_rows, p_all + T)
    chunks = source(rows, m, fcols, tcols)
    whole = y is None and len(fcols) + len(tcols) == p_all
    perm = np.array(fcols + tcols) if whole else None
    fnames = None if names is None else [names[j] for j in fcols]
    tnames = None if names is None or target is None else [names[j] for j in tcols]
    if _use_device(device):
        from jaxreg import _sharded

        return _sharded.from_chunks(chunks, p + T, p, rows.labels, n, m, perm=perm,
                                    show=show, feature_names=fnames,
                                    target_names=tnames, device=device)  # fmt: skip
    return _run(chunks, p + T, p, rows.labels, n, show=show, feature_names=fnames,
                target_names=tnames, perm=perm)  # fmt: skip


def _use_device(device):
    if device is None:
        import jax

        return jax.default_backend() != "cpu"
    if device not in ("cpu", "gpu", "device"):
        raise ValueError(f"device must be None, 'cpu' or 'gpu', got {device!r}.")
    return device != "cpu"
