"""Cross-validation folds as sample counts: every fold has the same shapes.

A fold is a pair of count vectors of length n (how many times each sample is in
its training set and in its held-out set), so every fold is a weight vector of
the same shape, and all of them are solved in one batch (:mod:`jaxreg.engine`).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["fold_counts", "kfold_bounds"]


def kfold_bounds(k: int, n: int) -> np.ndarray:
    """The end of each of k contiguous folds of n rows (scikit-learn's KFold:
    the first n % k folds get one more row); row i is in fold
    ``searchsorted(bounds, i, side="right")``."""
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return np.cumsum(sizes)


def _kfold_counts(k: int, n: int):
    fold_of = np.searchsorted(kfold_bounds(k, n), np.arange(n), side="right")
    test = (fold_of[None, :] == np.arange(k)[:, None]).astype(np.float64)
    return 1.0 - test, test


def _index_counts(name: str, idx, n: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool and arr.shape == (n,):
        arr = np.flatnonzero(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a 1-D array of integer sample indices, got "
            f"{arr.dtype} array of shape {arr.shape}."
        )
    if arr.size and (arr.min() < -n or arr.max() >= n):
        bad = arr[(arr < -n) | (arr >= n)][0]
        raise ValueError(f"{name} must index 0..{n - 1}, got index {int(bad)}.")
    # Counts, not a mask: a sample drawn twice (a bootstrap split) weighs twice.
    return np.bincount(np.mod(arr, n), minlength=n).astype(np.float64)


def _split_counts(splits, n: int):
    train, test = [], []
    for i, split in enumerate(splits):
        try:
            tr, te = split
        except (TypeError, ValueError):
            raise TypeError(
                f"cv must yield (train, test) index pairs, got {type(split).__name__} "
                f"for split {i}."
            ) from None
        train.append(_index_counts(f"cv split {i} train", tr, n))
        test.append(_index_counts(f"cv split {i} test", te, n))
    if not train:
        raise ValueError("cv must give at least one (train, test) split, got none.")
    return np.array(train), np.array(test)


def fold_counts(cv, X, y, n: int, groups=None):
    """Training and held-out counts ``(n_folds, n)`` of every sample in every fold.

    ``cv``: an int (contiguous K-fold, no shuffle, as scikit-learn's ``KFold``),
    an object with a ``split(X, y[, groups])`` method (any scikit-learn splitter),
    an iterable of ``(train, test)`` index arrays, or an array of fold ids of
    length n (glmnet's ``foldid``: fold j holds out the samples with the j-th
    smallest id).
    """
    if isinstance(cv, (bool, np.bool_)):
        raise TypeError(f"cv must be an int, a splitter or fold ids, got {cv!r}.")
    if isinstance(cv, numbers.Integral):
        k = int(cv)
        if k < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv!r}.")
        if k > n:
            raise ValueError(f"cv={k} folds need at least {k} samples, got {n}.")
        return _kfold_counts(k, n)
    if isinstance(cv, (str, bytes)) or not (
        hasattr(cv, "split") or hasattr(cv, "__iter__")
    ):
        raise TypeError(
            "cv must be an int, a splitter with a split method, (train, test) "
            f"pairs or an array of fold ids, got {cv!r}."
        )
    if hasattr(cv, "split") and callable(cv.split):
        splits = cv.split(X, y) if groups is None else cv.split(X, y, groups)
        return _split_counts(list(splits), n)
    try:
        arr = np.asarray(cv)
    except ValueError:  # ragged (train, test) pairs
        arr = None
    if arr is not None and arr.ndim == 1 and arr.size and arr.dtype.kind in "iuf":
        return _foldid_counts(arr, n)
    return _split_counts(list(cv), n)


def _foldid_counts(foldid: np.ndarray, n: int):
    if foldid.shape != (n,):
        raise ValueError(
            f"cv fold ids must have one id per sample, shape ({n},), got shape "
            f"{foldid.shape}."
        )
    if foldid.dtype.kind == "f" and not np.all(
        np.isfinite(foldid) & (foldid == np.round(foldid))
    ):
        raise ValueError("cv fold ids must be integers, got non-integer values.")
    labels = np.unique(foldid)
    if labels.size < 2:
        raise ValueError(f"cv fold ids must name at least 2 folds, got {labels.size}.")
    test = (foldid[None, :] == labels[:, None]).astype(np.float64)
    return 1.0 - test, test
