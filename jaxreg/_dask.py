"""Sufficient statistics of a dask array: blocks reduced where dask runs them.

Each row block's moments (p² numbers, whatever its rows) are computed by a dask
task (threads, processes, or the workers of a ``dask.distributed`` client),
merged by a binary tree of tasks, and only the merged statistics travel back.
Blocks are submitted a window at a time (``DASK_WINDOW_PER_THREAD`` per worker
thread), so a memmap-backed array is never read ahead without bound.
"""

from __future__ import annotations

import os

import numpy as np

from jaxreg import sources
from jaxreg.sufficient import SufficientStats

__all__ = ["sufficient_stats"]


def _block_stats(Xb, yb, wb, fb, shift, p, labels):
    """One block's statistics about ``shift`` (runs on a dask worker)."""
    Xb = np.asarray(Xb)
    yb = np.asarray(yb, np.float64).reshape(Xb.shape[0], -1)
    Z = (
        np.concatenate([Xb, yb], axis=1)
        if Xb.shape[0]
        else np.zeros((0, p + yb.shape[1]))
    )
    acc = sources.Accumulator(Z.shape[1], labels)
    acc.shift = np.asarray(shift, np.float64)
    w = None if wb is None else np.asarray(wb, np.float64)
    if w is not None:
        sources._check_weights(w)
    acc.add(Z, w, None if fb is None else np.asarray(fb))
    if acc.rows == 0:
        return None
    return acc.finish(p, check=False)


def _merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _threads():
    try:
        from distributed import get_client

        client = get_client()
        return max(1, sum(client.nthreads().values()))
    except (ImportError, ValueError):
        return os.cpu_count() or 1


def sufficient_stats(X, y, *, sample_weight=None, folds=None, target=None,
                     features=None):  # fmt: skip
    import dask
    import dask.array as da

    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    if features is not None:
        raise ValueError(
            "features= is not used with a dask array: slice it, X[:, cols]."
        )
    n, p_all = X.shape
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X has unknown chunk sizes: call X.compute_chunk_sizes() first."
        )
    if target is not None:
        if y is not None:
            raise ValueError("give either y or target=, not both.")
        j = sources._columns(p_all, target, None)[1][0]
        y = X[:, j]
        X = X[:, [c for c in range(p_all) if c != j]]
    if y is None:
        raise ValueError("give y, or the target column with target=.")
    p = X.shape[1]
    sources._check_p(p)
    X = X.rechunk({1: -1})
    rows = X.chunks[0]

    def aligned(name, a):
        if a is None:
            return None
        if not hasattr(a, "rechunk"):
            a = np.asarray(a)
            if a.shape[0] != n:
                raise ValueError(f"{name} must have {n} rows, got shape {a.shape}.")
            a = da.from_array(a, chunks=(rows,) + a.shape[1:])
        elif a.shape[0] != n:
            raise ValueError(f"{name} must have {n} rows, got shape {a.shape}.")
        return a.rechunk((rows,) + tuple(-1 for _ in a.shape[1:]))

    y, w = aligned("y", y), aligned("sample_weight", sample_weight)
    labels = None
    if folds is not None:
        r = sources._Rows(
            n, None, folds if not hasattr(folds, "compute") else np.asarray(folds)
        )
        labels = r.labels
        f_all = r.folds(0, n)
        folds = aligned("folds", f_all)
    blocks = X.to_delayed().ravel()
    ys = y.to_delayed().ravel()
    ws = [None] * len(blocks) if w is None else w.to_delayed().ravel()
    fs = [None] * len(blocks) if folds is None else folds.to_delayed().ravel()
    # The shift: the first block's weighted mean (one small task).
    first = np.asarray(X.blocks[0].compute(), np.float64)
    y0 = np.asarray(y.blocks[0].compute(), np.float64).reshape(first.shape[0], -1)
    w0 = None if w is None else np.asarray(w.blocks[0].compute(), np.float64)
    acc = sources.Accumulator(p + y0.shape[1], labels)
    acc._set_shift(np.concatenate([first, y0], axis=1), w0)
    shift = acc.shift
    task = dask.delayed(_block_stats, pure=True)
    merge = dask.delayed(_merge, pure=True)
    window = sources.DASK_WINDOW_PER_THREAD * _threads()
    total = None
    for start in range(0, len(blocks), window):
        parts = [
            task(blocks[i], ys[i], ws[i], fs[i], shift, p, labels)
            for i in range(start, min(start + window, len(blocks)))
        ]
        while len(parts) > 1:  # a binary tree of merges, on the workers
            parts = [
                merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                for i in range(0, len(parts), 2)
            ]
        (got,) = dask.compute(parts[0])
        total = _merge(total, got)
    if total is None or not total.S0.sum() > 0:
        raise ValueError("the data have no rows with a positive weight.")
    if not isinstance(total, SufficientStats):  # pragma: no cover
        raise TypeError("dask returned no statistics.")
    return total
