"""Bucketed shapes: small problems padded so that similar shapes share compiled
programs."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["PAD_MAX_ENTRIES", "bucket", "pad"]

# Problems up to this many entries are padded to bucketed shapes (zero-weight rows,
# all-zero columns), so that the many slightly different shapes of a grid search,
# of cross-validation folds or of a test suite reuse a few compiled programs (a
# compile takes seconds, a small fit milliseconds). The padding changes nothing in
# the solution: a zero-weight row is absent and an all-zero column keeps a zero
# coefficient and a zero share of every product.
PAD_MAX_ENTRIES = 1 << 16


def pad(X, Y, model, train, test):
    """Small problems padded to bucketed shapes (see ``PAD_MAX_ENTRIES``)."""
    n, p = X.shape
    if n * p > PAD_MAX_ENTRIES or not isinstance(X, np.ndarray):
        return X, Y, model, train, test
    nb, pb = bucket(n, 32), bucket(p, 8)
    Xp = np.zeros((nb, pb))
    Xp[:n, :p] = X
    Yp = np.zeros((nb, Y.shape[1]))
    Yp[:n] = Y
    # Weights still sum to the number of rows: the objective is unchanged.
    sw = np.concatenate([model.sample_weight * (nb / n), np.zeros(nb - n)])
    more = pb - p
    model = dataclasses.replace(
        model,
        sample_weight=sw,
        penalty_factor=np.concatenate([model.penalty_factor, np.ones(more)]),
        lower=np.concatenate([model.lower, np.full(more, -np.inf)]),
        upper=np.concatenate([model.upper, np.full(more, np.inf)]),
    )
    rows = np.zeros((train.shape[0], nb - n))
    return Xp, Yp, model, np.hstack([train, rows]), np.hstack([test, rows])


def bucket(x: int, minimum: int) -> int:
    """The smallest of ``minimum·{1, 1.5, 2, 3, 4, 6, ...}`` that is >= x
    (``minimum`` a power of two): padded sizes with at most 50% waste."""
    b = minimum
    while b < x:
        b = b * 3 // 2 if (b & (b - 1)) == 0 else b * 4 // 3
    return b
