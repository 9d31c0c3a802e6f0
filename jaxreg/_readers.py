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


def parquet_chunks(path, y, target, features, sample_weight, folds, chunk_rows):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "reading Parquet needs pyarrow: pip install pyarrow"
        ) from None
    if y is not None or target is None:
        raise ValueError(
            "for Parquet give the target as target= (a column name), not y."
        )
    files = _parquet_files(path)
    schema = pq.ParquetFile(files[0]).schema_arrow
    names = list(schema.names)
    special = {c for c in (sample_weight, folds) if isinstance(c, str)}
    for name, c in (("sample_weight", sample_weight), ("folds", folds)):
        if c is not None and not isinstance(c, str):
            raise ValueError(
                f"for Parquet give {name} as a column name, got {type(c).__name__}."
            )
        if isinstance(c, str) and c not in names:
            raise ValueError(f"{name} {c!r} is not a column of {path}.")
    tnames = [target] if isinstance(target, str) else list(target)
    for t in tnames:
        if t not in names:
            raise ValueError(
                f"target {t!r} is not a column of {path}; columns: {names[:10]}..."
            )
    if features is None:
        features = [
            c
            for c in names
            if c not in tnames and c not in special and _numeric(schema.field(c).type)
        ]
    else:
        features = list(features)
        for c in features:
            if c not in names:
                raise ValueError(f"feature {c!r} is not a column of {path}.")
    cols = features + tnames
    extra = [c for c in (sample_weight, folds) if isinstance(c, str)]
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    m = _chunk_rows(chunk_rows, len(cols))

    def chunks():
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(
                batch_size=m, columns=cols + extra
            ):
                arrays = []
                for c in cols:
                    col = batch.column(c)
                    if col.null_count:
                        raise ValueError(
                            f"column {c!r} of {f} has missing values (nulls): "
                            "impute or drop them."
                        )
                    arrays.append(
                        col.to_numpy(zero_copy_only=False).astype(
                            np.float64, copy=False
                        )
                    )
                Z = np.column_stack(arrays)
                w = None
                if isinstance(sample_weight, str):
                    w = (
                        batch.column(sample_weight)
                        .to_numpy(zero_copy_only=False)
                        .astype(np.float64)
                    )
                    _check_weights(w)
                fl = (
                    batch.column(folds).to_numpy(zero_copy_only=False)
                    if isinstance(folds, str)
                    else None
                )
                yield Z, w, fl

    labels = "discover" if isinstance(folds, str) else None
    if folds is not None and not isinstance(folds, str):
        raise ValueError("for Parquet give folds as a fold-id column name.")
    return chunks(), total, len(cols), labels, features, tnames


def _numeric(t):
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t)


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
