"""Sufficient statistics of a dask array: blocks reduced where dask runs them.

Each row block's moments (p² numbers, whatever its rows) are computed by a dask
task on the worker that holds (or reads) the block, and only statistics travel.
At most ``DASK_WINDOW_PER_THREAD`` blocks per worker thread are in flight, so a
memmap-backed array is never read ahead without bound. With a
``dask.distributed`` client the window slides (a new block as soon as one is
done) and finished statistics are merged pairwise on the workers as they
arrive, a tree built as the results come; with the local schedulers each
window's blocks are tree-merged in the graph.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from jaxreg import sources

__all__ = ["sufficient_stats"]

# each worker thread keeps its work arrays from block to block
_LOCAL = threading.local()


def _block_stats(Xb, yb, wb, fb, shift, p, labels, perm):
    """One block's statistics about ``shift`` (runs on a dask worker). Without
    ``yb`` the block holds the target among its columns (``perm`` orders them:
    features, then targets)."""
    Z = np.asarray(Xb)
    if yb is not None:
        yb = np.asarray(yb, np.float64).reshape(Z.shape[0], -1)
        Z = np.concatenate([Z, yb], axis=1)
    acc = sources.Accumulator(Z.shape[1], labels, perm)
    if not hasattr(_LOCAL, "buffers"):
        _LOCAL.buffers = sources.Buffers()
    acc.buffers = _LOCAL.buffers
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


def _client():
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _aligned(da, name, a, n, rows):
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
    perm = None
    if target is not None:
        if y is not None:
            raise ValueError("give either y or target=, not both.")
        fcols, tcols = sources._columns(p_all, target, None)
        perm = np.array(fcols + tcols)  # the block stays whole: no copies
        p = len(fcols)
    elif y is None:
        raise ValueError("give y, or the target column with target=.")
    else:
        p = p_all
    sources._check_p(p)
    X = X.rechunk({1: -1})
    rows = X.chunks[0]
    y = _aligned(da, "y", y, n, rows)
    w = _aligned(da, "sample_weight", sample_weight, n, rows)
    labels = None
    if folds is not None:
        r = sources._Rows(
            n, None, np.asarray(folds) if hasattr(folds, "compute") else folds
        )
        labels = r.labels
        folds = _aligned(da, "folds", r.folds(0, n), n, rows)
    blocks = X.to_delayed().ravel()
    nb = len(blocks)
    ys = [None] * nb if y is None else y.to_delayed().ravel()
    ws = [None] * nb if w is None else w.to_delayed().ravel()
    fs = [None] * nb if folds is None else folds.to_delayed().ravel()
    # The shift: the first block's weighted mean (one small task).
    first = np.asarray(X.blocks[0].compute(), np.float64)
    if y is not None:
        y0 = np.asarray(y.blocks[0].compute(), np.float64).reshape(first.shape[0], -1)
        first = np.concatenate([first, y0], axis=1)
    w0 = None if w is None else np.asarray(w.blocks[0].compute(), np.float64)
    shift = sources.first_shift(first, w0)
    task = dask.delayed(_block_stats, pure=True)
    tasks = [task(blocks[i], ys[i], ws[i], fs[i], shift, p, labels, perm)
             for i in range(nb)]  # fmt: skip
    client = _client()
    if client is not None:
        total = _sliding(client, tasks)
    else:
        total = _windows(dask, tasks, os.cpu_count() or 1)
    if total is None or not total.S0.sum() > 0:
        raise ValueError("the data have no rows with a positive weight.")
    return total


def _windows(dask, tasks, threads):
    """Local schedulers: windows of blocks, each tree-merged in the graph."""
    merge = dask.delayed(_merge, pure=True)
    window = sources.DASK_WINDOW_PER_THREAD * threads
    total = None
    for start in range(0, len(tasks), window):
        parts = tasks[start : start + window]
        while len(parts) > 1:
            parts = [
                merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                for i in range(0, len(parts), 2)
            ]
        (got,) = dask.compute(parts[0])
        total = _merge(total, got)
    return total


def _sliding(client, tasks):
    """A distributed cluster: a sliding window of blocks; results merged
    pairwise on the workers as they complete."""
    from distributed import as_completed

    threads = max(1, sum(client.nthreads().values()))
    window = sources.DASK_WINDOW_PER_THREAD * threads
    ac = as_completed()
    in_flight, nxt, held = set(), 0, None

    def submit_block():
        nonlocal nxt
        fut = client.compute(tasks[nxt])
        in_flight.add(fut.key)
        ac.add(fut)
        nxt += 1

    while nxt < min(window, len(tasks)):
        submit_block()
    for fut in ac:
        if fut.key in in_flight:
            in_flight.discard(fut.key)
            if nxt < len(tasks):
                submit_block()
        if held is None:
            held = fut
        else:
            ac.add(client.submit(_merge, held, fut, pure=False))
            held = None
    return None if held is None else held.result()
