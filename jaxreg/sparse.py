"""Sparse X (scipy.sparse, JAX BCOO): its moments from sparse products.

A sparse design is never densified: its weighted moments (the p × p Gram
``XᵀWX``, ``XᵀWy``, the column sums and ranges) come from sparse products, per
fold, into :class:`jaxreg.sufficient.SufficientStats`, and the paths, CV and
ridge run on them in Gram form, with the answers of the same data dense. The
moments of X are taken about the origin (a shift would fill in the zeros): a
column whose mean is large next to its spread loses about ``log10((mean/sd)²)``
digits when it is centred, and a warning says so beyond ``SHIFT_WARN``.
"""

from __future__ import annotations

import warnings

import numpy as np

from jaxreg.sufficient import MAX_FEATURES, SufficientStats, from_parts

__all__ = ["is_sparse", "stats_of", "to_scipy"]

# Warn when centring a sparse column loses more than half of float64's digits.
SHIFT_WARN = 1e4


def is_sparse(X) -> bool:
    mod = type(X).__module__
    return mod.startswith("scipy.sparse") or mod.startswith("jax.experimental.sparse")


def to_scipy(X):
    """CSR (float64) from any scipy.sparse format or a JAX BCOO."""
    import scipy.sparse as sp

    if type(X).__module__.startswith("jax.experimental.sparse"):
        if X.n_batch or X.n_dense or X.ndim != 2:
            raise ValueError("a BCOO X must be 2-D, with no batch or dense dimensions.")
        idx, data = np.asarray(X.indices), np.asarray(X.data)
        X = sp.coo_matrix((data, (idx[:, 0], idx[:, 1])), shape=X.shape)
    X = sp.csr_matrix(X, dtype=np.float64)  # may share the caller's arrays
    if not X.has_canonical_format:  # sorted in place: on a copy, not theirs
        X = X.copy()
        X.sum_duplicates()
    return X


def select_columns(X, keep):
    """The columns ``keep`` (a boolean mask) of a sparse X, as CSC."""
    return to_scipy(X).tocsc()[:, np.flatnonzero(keep)]


def _check(X, Y, w):
    n, p = X.shape
    if p > MAX_FEATURES:
        _check_width(p)
    if not np.isfinite(X.data).all():
        raise ValueError(
            "X contains NaN or infinity; jaxreg does not impute missing values."
        )
    if not np.isfinite(Y).all():
        raise ValueError("y contains NaN or infinity; drop or impute those samples.")
    if w is not None and not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("sample_weight must be finite and non-negative.")


def _part(X, Y, w, shift_y):
    """One fold part's (S0, Sz, Szz, zmin, zmax, count, npos) about
    ``[0, shift_y]``."""
    n, p = X.shape
    T = Y.shape[1]
    q = p + T
    D = Y - shift_y
    Xw = X.multiply(w[:, None]).tocsr() if w is not None else X
    wv = np.ones(n) if w is None else w
    Sz = np.empty(q)
    Sz[:p] = np.asarray(Xw.sum(axis=0)).ravel()
    Sz[p:] = wv @ D
    Szz = np.empty((q, q))
    Szz[:p, :p] = (X.T @ Xw).toarray()
    cross = np.asarray(Xw.T @ D)
    Szz[:p, p:], Szz[p:, :p] = cross, cross.T
    Szz[p:, p:] = (D * wv[:, None]).T @ D
    pos = wv > 0
    zmin, zmax = np.full(q, np.inf), np.full(q, -np.inf)
    if pos.any():
        Xp = X[pos] if not pos.all() else X
        zmin[:p] = Xp.min(axis=0).toarray().ravel()
        zmax[:p] = Xp.max(axis=0).toarray().ravel()
        zmin[p:], zmax[p:] = Y[pos].min(axis=0), Y[pos].max(axis=0)
    return wv.sum(), Sz, Szz, zmin, zmax, n, int(pos.sum())


def stats_of(X, Y, sample_weight=None, fold_ids=None) -> SufficientStats:
    """The statistics of sparse X and dense Y (n, T), per fold when ``fold_ids``
    (one per row) are given."""
    X = to_scipy(X)
    Y = np.asarray(Y, np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    _check(X, Y, w)
    p = X.shape[1]
    wv = np.ones(X.shape[0]) if w is None else w
    shift_y = (wv @ Y) / wv.sum() if wv.sum() > 0 else np.zeros(Y.shape[1])
    if fold_ids is None:
        labels, rows = None, [np.arange(X.shape[0])]
    else:
        fold_ids = np.asarray(fold_ids)
        labels = [v.item() for v in np.unique(fold_ids)]
        rows = [np.flatnonzero(fold_ids == lab) for lab in labels]
    parts = [_part(X[r], Y[r], None if w is None else w[r], shift_y) for r in rows]
    arrays = [np.stack([np.asarray(part[i]) for part in parts]) for i in range(7)]
    shift = np.concatenate([np.zeros(p), shift_y])
    st = from_parts(shift, arrays, n_features=p, folds=labels)
    _warn_centring(st)
    return st


def _warn_centring(st):
    tot = st.total()
    p, S0 = st.n_features, tot.S0[0]
    mean = tot.Sz[0, :p] / S0
    var = np.diagonal(tot.Szz[0])[:p] / S0 - mean * mean
    # a constant column (its range 0: every entry stored and equal) has a
    # variance of rounding alone, and nothing to lose
    varies = (tot.zmax[0] > tot.zmin[0])[:p]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            varies & (var > 0), np.abs(mean) / np.sqrt(np.maximum(var, 0.0)), 0.0
        )
    j = int(np.argmax(ratio)) if ratio.size else 0
    if ratio.size and ratio[j] > SHIFT_WARN:
        warnings.warn(
            f"sparse column {j} has mean/sd = {ratio[j]:.3g}: centring it from "
            f"sparse moments loses about {2 * np.log10(ratio[j]):.0f} of float64's "
            "16 digits. Subtract a typical value from that column (dense), or "
            "fit it without the intercept.",
            RuntimeWarning,
            stacklevel=4,
        )
        return


def gram_form(kw) -> bool:
    """Whether a public call with a sparse ``X`` is solved from its Gram matrix
    (the rule of dense X: ``p <= 2n`` and at most 20000 features, or
    ``mode='gram'``) or in design form (:mod:`jaxreg._sparse_design`)."""
    from jaxreg.engine import choose_mode

    mode = kw.get("mode", "auto")
    if mode == "gram" and kw["X"].shape[1] > MAX_FEATURES:
        _check_width(kw["X"].shape[1])
    if mode == "auto" and kw["X"].shape[1] <= MAX_FEATURES and not _signs_only(kw):
        return True  # limits the design form does not take (positive ridge, ...)
    return choose_mode(mode, *kw["X"].shape) == "gram"


def _signs_only(kw) -> bool:
    """:func:`jaxreg.solvers.active_set.signs_only` (the limits the design form
    takes) from a call's raw arguments; limits that are not valid arrays are
    left to the validation's own message."""
    from types import SimpleNamespace

    from jaxreg.solvers.active_set import signs_only

    lo, up = kw.get("lower_limits"), kw.get("upper_limits")
    if not kw.get("positive") and lo is None and up is None:
        return True
    p = kw["X"].shape[1]

    def full(v, default):
        return np.broadcast_to(np.asarray(default if v is None else v, float), (p,))

    try:
        model = SimpleNamespace(
            lower=full(0.0 if kw.get("positive") else lo, -np.inf),
            upper=full(up, np.inf),
            penalty_factor=full(kw.get("penalty_factor"), 1.0),
        )
        l1 = float(np.min(np.asarray(kw.get("l1_ratio", 0.0), float)))
    except (TypeError, ValueError):
        return True
    return signs_only(model, (l1,))


def _check_width(p):
    raise ValueError(
        f"sparse X in Gram form needs a p x p matrix, and {p} features is beyond "
        f"{MAX_FEATURES}: use mode='auto' or 'design'."
    )


def check_X_y(kw, y_ndim=(1,)):
    """A public call's sparse ``X`` and its ``y`` (validated: (n,) or (n, T) as
    ``y_ndim`` allows)."""
    from jaxreg import _validation as V

    X = kw["X"]
    if kw.get("y") is None:
        raise TypeError("y is required with a sparse X.")
    n, p = X.shape
    if n < 2 or p < 1:
        raise ValueError(
            f"X must have at least 2 samples and 1 feature, got {X.shape}."
        )
    y = V._as_array("y", kw["y"])
    if y.ndim == 2 and y.shape[1] == 1 and 2 not in y_ndim:
        y = y[:, 0]
    if y.ndim not in y_ndim or y.shape[0] != n:
        raise ValueError(
            f"y must have {n} rows and be {y_ndim}-D, got shape {y.shape}."
        )
    return X, np.asarray(y, np.float64)


def as_stats(kw, fold_ids=None, y_ndim=(1,)):
    """The keywords of a public call with a sparse ``X`` turned into statistics
    (``y`` and ``sample_weight`` then inside them)."""
    from jaxreg import _validation as V

    X, y = check_X_y(kw, y_ndim)
    n = X.shape[0]
    sw = kw.get("sample_weight")
    raw = None
    if sw is not None:
        rescaled = V.check_sample_weight(sw, n)
        if rescaled is not None:
            total = float(np.sum(np.broadcast_to(np.asarray(sw, np.float64), (n,))))
            raw = rescaled * (total / n)
    out = dict(kw)
    out.update(X=stats_of(X, y, raw, fold_ids), y=None, sample_weight=None)
    if out.get("mode") == "auto":
        out["mode"] = "gram"
    return out
