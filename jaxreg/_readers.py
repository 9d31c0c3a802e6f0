"""Parquet files and folders (pyarrow), and iterables of chunks, for
:mod:`jaxreg.sources`."""

from __future__ import annotations

import glob
import os

import numpy as np

from jaxreg._progress import Progress
from jaxreg.sources import Accumulator, _check_p, _check_weights, _chunk_rows

__all__ = ["from_iterable", "parquet_chunks"]


def _parquet_files(path):
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True))
        if not files:
            raise ValueError(f"{path} holds no .parquet file.")
        return files
    return [path]


def _numeric(t):
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t)


class _Columns:
    """The columns a table source reads: features, targets, and optionally a
    weight and a fold-id column (by name), or per-row arrays for those."""

    def __init__(self, path, names, numeric, target, features, sample_weight, folds,
                 n_rows=None):  # fmt: skip
        if target is None:
            raise ValueError(f"give the target column of {path} with target= (a name).")
        for name, c in (("sample_weight", sample_weight), ("folds", folds)):
            if isinstance(c, str) and c not in names:
                raise ValueError(f"{name} {c!r} is not a column of {path}.")
        self.targets = [target] if isinstance(target, str) else list(target)
        for t in self.targets:
            if t not in names:
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise ValueError(
                    f"target {t!r} is not a column of {path} (columns: {shown})."
                )
        self.wcol = sample_weight if isinstance(sample_weight, str) else None
        self.fcol = folds if isinstance(folds, str) else None
        special = {self.wcol, self.fcol} - {None}
        if features is None:
            features = [
                c
                for c in names
                if c not in self.targets and c not in special and numeric(c)
            ]
        else:
            features = list(features)
            for c in features:
                if c not in names:
                    raise ValueError(f"feature {c!r} is not a column of {path}.")
        if not features:
            raise ValueError(f"{path} has no numeric feature column.")
        self.features, self.path = features, path
        self.cols = features + self.targets
        self.extra = [c for c in (self.wcol, self.fcol) if c is not None]
        self.w_rows = None if self.wcol or sample_weight is None else sample_weight
        if isinstance(folds, (int, np.integer)) and not isinstance(folds, bool):
            if n_rows is None:
                raise ValueError(
                    f"folds={folds} needs the number of rows of {path}, which is not "
                    "known before reading it: give one fold id per row, or a column."
                )
            from jaxreg.sources import _Rows

            folds = _Rows(n_rows, None, int(folds)).folds(0, n_rows)
        self.f_rows = None if self.fcol or folds is None else np.asarray(folds)
        if self.f_rows is not None and self.f_rows.ndim != 1:
            raise ValueError(
                "folds must be a fold-id column name or one fold id per row (an "
                "int K needs the number of rows: use it with arrays and .npy files)."
            )

    def labels(self):
        if self.fcol is not None:
            return "discover"
        if self.f_rows is not None:
            return [v.item() for v in np.unique(self.f_rows)]
        return None

    def chunks(self, batches):
        """``(Z, w, folds)`` from batches ``(get, m)``: ``get(name)`` is a column of
        the batch as a NumPy array."""
        row = 0
        for get, m in batches:
            arrays = []
            for c in self.cols:
                col = np.asarray(get(c), dtype=np.float64)
                if not np.isfinite(col).all():
                    i = row + int(np.argmax(~np.isfinite(col)))
                    raise ValueError(
                        f"{self.path}: column {c!r} has a missing or infinite value "
                        f"(data row {i + 1}); impute or drop it first."
                    )
                arrays.append(col)
            Z = np.column_stack(arrays)
            w = f = None
            if self.wcol is not None:
                w = np.asarray(get(self.wcol), np.float64)
            elif self.w_rows is not None:
                w = np.asarray(self.w_rows[row : row + m], np.float64)
            if w is not None:
                _check_weights(w)
            if self.fcol is not None:
                f = np.asarray(get(self.fcol))
            elif self.f_rows is not None:
                if row + m > self.f_rows.shape[0]:
                    raise ValueError(
                        f"folds has {self.f_rows.shape[0]} ids; {self.path} has "
                        "more rows."
                    )
                f = self.f_rows[row : row + m]
            row += m
            yield Z, w, f
        if self.f_rows is not None and row != self.f_rows.shape[0]:
            raise ValueError(f"folds has {self.f_rows.shape[0]} ids for {row} rows.")


def parquet_chunks(path, y, target, features, sample_weight, folds, chunk_rows):
    """Row chunks of a Parquet file or folder, in record batches."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "reading Parquet needs pyarrow: pip install pyarrow"
        ) from None
    if y is not None:
        raise ValueError(
            "for Parquet give the target as target= (a column name), not y."
        )
    files = _parquet_files(path)
    schema = pq.ParquetFile(files[0]).schema_arrow
    names = list(schema.names)
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    spec = _Columns(path, names, lambda c: _numeric(schema.field(c).type), target,
                    features, sample_weight, folds, total)  # fmt: skip
    m = _chunk_rows(chunk_rows, len(spec.cols))

    def batches():
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(
                batch_size=m, columns=spec.cols + spec.extra
            ):
                yield (
                    lambda c, b=batch: b.column(c).to_numpy(zero_copy_only=False),
                    batch.num_rows,
                )

    return spec.chunks(batches()), total, spec


def _csv_header(path, delimiter):
    import csv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise ValueError(f"{path} is empty.")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(head, delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    first = next(csv.reader(head.splitlines(), delimiter=delimiter))
    return [h.strip() for h in first], delimiter


def csv_chunks(path, y, target, features, sample_weight, folds, chunk_rows,
               delimiter=None):  # fmt: skip
    """Row chunks of a delimited text file with a header: pyarrow's streaming
    reader when it is installed, else NumPy's parser on blocks of lines."""
    if y is not None:
        raise ValueError("for CSV give the target as target= (a column name), not y.")
    names, delimiter = _csv_header(path, delimiter)
    spec = _Columns(path, names, lambda c: True, target, features, sample_weight,
                    folds)  # fmt: skip
    m = _chunk_rows(chunk_rows, len(spec.cols))
    try:
        import pyarrow.csv as pcsv
    except ImportError:
        pcsv = None
    if pcsv is not None:
        batches = _arrow_csv(pcsv, path, spec, delimiter, m)
    else:
        batches = _numpy_csv(path, names, spec, delimiter, m)
    return spec.chunks(batches), None, spec


def _arrow_csv(pcsv, path, spec, delimiter, m):
    import pyarrow as pa

    block = max(1 << 20, min(64 << 20, m * 16 * len(spec.cols)))
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=block),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(
                include_columns=spec.cols + spec.extra,
                column_types={c: pa.float64() for c in spec.cols},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{path}: {exc}") from None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path}: {exc}") from None
        yield (
            lambda c, b=batch: b.column(c).to_numpy(zero_copy_only=False),
            batch.num_rows,
        )


def _numpy_csv(path, names, spec, delimiter, m):
    import itertools

    idx = {c: names.index(c) for c in spec.cols + spec.extra}
    with open(path, encoding="utf-8-sig") as fh:
        next(fh)  # the header
        line = 2
        while True:
            lines = list(itertools.islice(fh, m))
            if not lines:
                return
            try:
                data = np.loadtxt(
                    lines,
                    delimiter=delimiter,
                    usecols=list(idx.values()),
                    ndmin=2,
                    comments=None,
                    dtype=np.float64,
                )
            except ValueError as exc:
                raise ValueError(
                    f"{path}: {exc} (in the block starting at line {line}); every "
                    "cell of the columns used must be a number."
                ) from None
            cols = dict(zip(idx, data.T, strict=True))
            yield (lambda c, d=cols: d[c]), data.shape[0]
            line += len(lines)


def from_iterable(chunks, y, sample_weight, folds, target, features, show):
    for name, v in (("y", y), ("sample_weight", sample_weight), ("target", target),
                    ("features", features)):  # fmt: skip
        if v is not None:
            raise ValueError(
                f"an iterable of chunks carries its own y and weights: {name}= is not "
                "used; yield (X_chunk, y_chunk[, w_chunk]) tuples."
            )
    try:
        it = iter(chunks)
    except TypeError:
        raise TypeError(
            "X must be an array, a .npy or Parquet path, a dask array, a jax.Array or "
            "an iterable of (X_chunk, y_chunk[, w_chunk]); got "
            f"{type(chunks).__name__}."
        ) from None
    if folds is not None and not (
        hasattr(folds, "__len__") and not isinstance(folds, str)
    ):
        raise ValueError(
            "with an iterable of chunks the number of rows is not known up front: "
            "give folds as an array of fold ids (one per row)."
        )
    fold_ids = None if folds is None else np.asarray(folds)
    labels = None if fold_ids is None else [v.item() for v in np.unique(fold_ids)]

    def tables():
        row, p = 0, None
        for i, item in enumerate(it):
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise ValueError(f"chunk {i} must be (X_chunk, y_chunk[, w_chunk]).")
            Xc = np.asarray(item[0])
            yc = np.asarray(item[1], np.float64)
            m = Xc.shape[0]
            if Xc.ndim != 2 or yc.shape[0] != m:
                raise ValueError(
                    f"chunk {i}: X_chunk must be 2-D and y_chunk have its "
                    f"{Xc.shape[0]} rows."
                )
            if p is not None and Xc.shape[1] != p:
                raise ValueError(
                    f"chunk {i} has {Xc.shape[1]} features, the first had {p}."
                )
            p = Xc.shape[1]
            w = None
            if len(item) == 3:
                w = np.asarray(item[2], np.float64).reshape(m)
                _check_weights(w)
            f = None
            if fold_ids is not None:
                if row + m > fold_ids.shape[0]:
                    raise ValueError(
                        f"folds has {fold_ids.shape[0]} ids, but the chunks hold "
                        "more rows."
                    )
                f = fold_ids[row : row + m]
            row += m
            tables.p, tables.T = p, yc.reshape(m, -1).shape[1]
            yield np.concatenate([Xc, yc.reshape(m, -1)], axis=1), w, f

    acc = None
    with Progress(None, "sufficient statistics", enabled=show, unit="rows") as bar:
        for Z, w, f in tables():
            if acc is None:
                _check_p(tables.p)
                acc = Accumulator(Z.shape[1], labels)
            acc.add(Z, w, f)
            bar.update(Z.shape[0])
    if acc is None:
        raise ValueError("the iterable of chunks is empty.")
    if fold_ids is not None and acc.rows != fold_ids.shape[0]:
        raise ValueError(f"folds has {fold_ids.shape[0]} ids for {acc.rows} rows.")
    return acc.finish(tables.p)
