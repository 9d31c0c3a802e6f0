"""Data files too large for memory: streamed into sufficient statistics.

``jaxreg path|cv|ridge FILE`` reads a ``.npy``, Parquet or CSV file above
``STREAM_BYTES`` (and any Parquet folder, or any file with ``--chunk-rows``)
in row chunks, keeping only the weighted moments of the columns
(:func:`jaxreg.sufficient_stats`): memory stays O(p² + chunk) whatever the
number of rows, and the paths are the ones of the data in memory. Ridge then
reports GCV (exact leave-one-out needs every row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxreg.cli.base import CLIError
from jaxreg.cli.io import Table, _resolve, split_names
from jaxreg.folds import kfold_bounds

__all__ = ["STREAM_BYTES", "folds_arg", "load", "wanted"]

# Files larger than this are streamed (their float64 copy, the centred one and
# the parsing would need several times as much memory).
STREAM_BYTES = 1 << 30
_TEXT = (".csv", ".tsv", ".tab", ".txt", ".dat")
_STREAMABLE = (".npy", ".parquet", ".pq", *_TEXT)


def wanted(path, chunk_rows) -> bool:
    """Whether ``path`` is streamed: a Parquet folder, or a streamable file above
    ``STREAM_BYTES`` or read with ``--chunk-rows``."""
    if str(path) == "-":
        if chunk_rows is not None:
            raise CLIError("--chunk-rows needs a file, not standard input.")
        return False
    p = Path(path)
    if p.is_dir():
        return True
    if not p.is_file() or p.suffix.lower() not in _STREAMABLE:
        return False
    return chunk_rows is not None or p.stat().st_size > STREAM_BYTES


def _count_rows(path: Path) -> int:
    """Data rows of a text file with a header (non-blank lines)."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip()) - 1


def folds_arg(k, seed, n):
    """``--cv K [--seed S]`` as the API's folds: K contiguous folds, or shuffled
    fold ids."""
    if not 2 <= k <= n:
        raise CLIError(
            f"--cv must be between 2 and the number of samples ({n}), got {k}."
        )
    if seed is None:
        return k
    return np.random.default_rng(seed).permutation(np.arange(n) % k)


def load(args, cv=None) -> Table:
    """Stream ``args.data`` into a :class:`Table` holding its statistics."""
    from jaxreg.sources import sufficient_stats

    path = Path(args.data)
    source = str(path)
    features = split_names(args.features)
    suffix = "" if path.is_dir() else path.suffix.lower()
    common = dict(chunk_rows=getattr(args, "chunk_rows", None))
    if suffix == ".npy":
        try:
            arr = np.load(path, mmap_mode="r")
        except (ValueError, OSError) as exc:
            raise CLIError(f"{source} is not a readable .npy array: {exc}") from None
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise CLIError(
                f"{source} must hold a 2-D numeric array, got {arr.dtype} {arr.shape}."
            )
        if args.target is None:
            raise CLIError(f"--target is required for {source}: its column index.")
        names = [f"x{j}" for j in range(arr.shape[1])]
        tname = _resolve(names, args.target, "--target", source)
        wname = (
            _resolve(names, args.sample_weight, "--sample-weight", source)
            if args.sample_weight
            else None
        )
        if features is None:
            fnames = [c for c in names if c not in (tname, wname)]
        else:
            fnames = [_resolve(names, f, "--features", source) for f in features]
        weights = None if wname is None else arr[:, names.index(wname)]
        st = sufficient_stats(
            source,
            target=names.index(tname),
            features=[names.index(c) for c in fnames],
            sample_weight=weights,
            folds=None if cv is None else folds_arg(*cv, arr.shape[0]),
            **common,
        )
        return Table(None, None, fnames, tname, None, source, stats=st)
    if args.target is None:
        raise CLIError(f"--target is required for {source}: name the response column.")
    if suffix in _TEXT:
        n = _count_rows(path) if cv is not None else None
    else:
        import pyarrow.parquet as pq

        from jaxreg._readers import _parquet_files

        files = _parquet_files(source)
        n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    folds = None if cv is None else folds_arg(*cv, n)
    if isinstance(folds, int) and suffix in _TEXT:  # text: fold ids (n is counted)
        folds = np.searchsorted(kfold_bounds(folds, n), np.arange(n), side="right")
    st = sufficient_stats(
        source,
        target=args.target,
        features=features,
        sample_weight=args.sample_weight,
        folds=folds,
        **common,
    )
    return Table(
        None, None, list(st.feature_names), args.target, None, source, stats=st
    )
