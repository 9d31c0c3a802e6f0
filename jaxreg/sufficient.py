"""Sufficient statistics: the Gaussian paths and their cross-validation from one pass.

For the squared loss every member of a path problem (the fit on all the data,
each fold's training set) needs only the weighted moments of ``z = [x, y]``
taken about a common *shift* ``K``::

    S0 = Σ sᵢ,   Sz = Σ sᵢ (zᵢ − K),   Szz = Σ sᵢ (zᵢ − K)(zᵢ − K)ᵀ

plus, per column, the range of z over the rows with a positive weight (which
says exactly whether a column is constant, as the in-memory reducer does). They
are accumulated chunk by chunk (:mod:`jaxreg.sources` reads the chunks from
arrays, ``.npy`` files, Parquet, dask, sharded ``jax.Array``\\ s and iterables),
merged with ``+`` (re-shifted exactly to the left operand's shift: no loss when
the means are large next to the spread, unlike the naive ``Σ zzᵀ`` or Chan's
update of centred moments) and subtracted with ``-`` (a complement, such as
``total - fold``).

With ``folds``, the statistics hold one *part* per fold (the moments of its
rows); a training member is the total minus its part, and a held-out error is a
quadratic form in the part's own moments, so :func:`jaxreg.cv_path` needs no
second pass. :func:`reduce_stats` turns them into the engine's members
(:func:`jaxreg.stats.gram_member`, the seam), in float64 on the host.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from jaxreg import _config
from jaxreg import stats as _stats

__all__ = [
    "MAX_FEATURES",
    "SufficientStats",
    "from_parts",
    "init_problem",
    "load_stats",
    "reduce_stats",
]

# The Gram matrix is p x p per fold part: beyond this many features (3.2 GB a
# part in float64) use design mode on the data itself.
MAX_FEATURES = 20_000
_FORMAT = "jaxreg.SufficientStats/1"
_ARRAYS = ("shift", "S0", "Sz", "Szz", "zmin", "zmax", "count", "npos")


class SufficientStats:
    """Weighted moments of ``[X, y]`` about a common shift, one part per fold.

    Built by :func:`jaxreg.sufficient_stats`; accepted by :func:`jaxreg.lasso_path`,
    :func:`jaxreg.enet_path`, :func:`jaxreg.ridge_path`, :func:`jaxreg.cv_path`
    (with folds) and :func:`jaxreg.alpha_max` in place of ``X`` (with ``y``
    omitted). Float64. ``a + b`` merges the statistics of disjoint rows (their
    fold parts by label), ``a - b`` removes rows (e.g. ``s.total() - s.fold(k)``
    is fold k's training set). ``save``/:func:`jaxreg.load_stats` use npz with
    no pickle, so any map-reduce engine can produce and combine them.

    Attributes
    ----------
    n_samples : int
        Rows (zero-weight rows included).
    n_features, n_targets : int
    folds : tuple or None
        The fold labels, in order (None without folds).
    shift : ndarray (n_features + n_targets,)
        The point the moments are taken about.
    S0 : ndarray (n_parts,)
        The sum of the sample weights of each part.
    Sz, Szz : ndarray (n_parts, q), (n_parts, q, q)
        First and second moments of ``z - shift``, ``q = n_features + n_targets``
        (features first, then targets).
    zmin, zmax : ndarray (n_parts, q)
        The range of z over rows with a positive weight (NaN when unknown: after
        a subtraction).
    count, npos : ndarray (n_parts,) int64
        Rows, and rows with a positive weight.
    feature_names, target_names : tuple of str or None
    """

    def __init__(self, shift, S0, Sz, Szz, zmin, zmax, count, npos, *, n_features,
                 folds=None, feature_names=None, target_names=None):  # fmt: skip
        self.shift = np.asarray(shift, np.float64)
        self.S0 = np.asarray(S0, np.float64)
        self.Sz = np.asarray(Sz, np.float64)
        self.Szz = np.asarray(Szz, np.float64)
        self.zmin = np.asarray(zmin, np.float64)
        self.zmax = np.asarray(zmax, np.float64)
        self.count = np.asarray(count, np.int64)
        self.npos = np.asarray(npos, np.int64)
        self.n_features = int(n_features)
        self.folds = None if folds is None else tuple(folds)
        self.feature_names = None if feature_names is None else tuple(feature_names)
        self.target_names = None if target_names is None else tuple(target_names)
        q, P = self.shift.shape[0], self.S0.shape[0]
        parts = 1 if self.folds is None else len(self.folds)
        if P != parts or self.Szz.shape != (P, q, q) or self.Sz.shape != (P, q):
            raise ValueError(
                f"inconsistent sufficient statistics: {P} parts for {parts} folds, "
                f"Sz {self.Sz.shape}, Szz {self.Szz.shape} for q = {q} columns."
            )

    # -- shape ------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.count.sum())

    @property
    def n_targets(self) -> int:
        return self.shift.shape[0] - self.n_features

    @property
    def n_folds(self) -> int:
        return 0 if self.folds is None else len(self.folds)

    @property
    def shape(self):
        """``(n_samples, n_features)``, as an X of the same data."""
        return (self.n_samples, self.n_features)

    def __repr__(self):
        folds = f", {self.n_folds} folds" if self.folds is not None else ""
        return (
            f"SufficientStats({self.n_samples} rows, {self.n_features} features, "
            f"{self.n_targets} target{'s' if self.n_targets != 1 else ''}{folds})"
        )

    def _replace(self, folds=None, **arrays):
        kw = {name: getattr(self, name) for name in _ARRAYS}
        kw.update(arrays)
        return SufficientStats(
            **kw,
            n_features=self.n_features,
            folds=self.folds if folds is None else folds,
            feature_names=self.feature_names,
            target_names=self.target_names,
        )

    # -- parts --------------------------------------------------------------------
    def total(self) -> SufficientStats:
        """All rows as one part (the fold parts summed)."""
        return self._subset(np.arange(self.S0.shape[0]))

    def fold(self, label) -> SufficientStats:
        """The rows of one fold, as statistics without folds."""
        if self.folds is None:
            raise ValueError("these statistics have no folds (build them with folds=).")
        if label not in self.folds:
            raise KeyError(f"no fold {label!r}; the folds are {list(self.folds)}.")
        return self._subset(np.array([self.folds.index(label)]))

    def _subset(self, idx):
        return SufficientStats(
            self.shift,
            self.S0[idx].sum(keepdims=True),
            self.Sz[idx].sum(axis=0, keepdims=True),
            self.Szz[idx].sum(axis=0, keepdims=True),
            _nan_reduce(np.min, self.zmin[idx]),
            _nan_reduce(np.max, self.zmax[idx]),
            self.count[idx].sum(keepdims=True),
            self.npos[idx].sum(keepdims=True),
            n_features=self.n_features,
            feature_names=self.feature_names,
            target_names=self.target_names,
        )

    def moments_about(self, shift):
        """``(Sz, Szz)`` of every part re-shifted exactly to ``shift``:
        ``z − K' = (z − K) + d`` with ``d = K − K'``."""
        d = self.shift - np.asarray(shift, np.float64)
        if not np.any(d):
            return self.Sz, self.Szz
        S0 = self.S0[:, None]
        Sz = self.Sz + S0 * d
        cross = self.Sz[:, :, None] * d[None, None, :]
        Szz = (
            self.Szz + cross + np.swapaxes(cross, 1, 2) + S0[..., None] * np.outer(d, d)
        )
        return Sz, Szz

    # -- algebra ------------------------------------------------------------------
    def _check_compatible(self, other, op):
        if not isinstance(other, SufficientStats):
            return NotImplemented
        if (other.n_features, other.n_targets) != (self.n_features, self.n_targets):
            raise ValueError(
                f"cannot {op} statistics of {other.n_features} features and "
                f"{other.n_targets} targets to ones of {self.n_features} and "
                f"{self.n_targets}."
            )
        if (self.folds is None) != (other.folds is None):
            raise ValueError(
                f"cannot {op} statistics with folds and statistics without: use "
                "s.total() for the rows of every fold."
            )
        return None

    def __add__(self, other):
        if other == 0:  # sum(list_of_stats)
            return self
        bad = self._check_compatible(other, "add")
        if bad is not None:
            return bad
        Sz_o, Szz_o = other.moments_about(self.shift)
        labels = list(self.folds) if self.folds is not None else [None]
        o_labels = list(other.folds) if other.folds is not None else [None]
        for lab in o_labels:
            if lab not in labels:
                labels.append(lab)
        P, q = len(labels), self.shift.shape[0]
        out = {
            "S0": np.zeros(P),
            "Sz": np.zeros((P, q)),
            "Szz": np.zeros((P, q, q)),
            "zmin": np.full((P, q), np.inf),
            "zmax": np.full((P, q), -np.inf),
            "count": np.zeros(P, np.int64),
            "npos": np.zeros(P, np.int64),
        }
        sources = (
            (self, self.Sz, self.Szz, labels[: self.S0.shape[0]]),
            (other, Sz_o, Szz_o, o_labels),
        )
        for st, Sz, Szz, labs in sources:
            idx = np.array([labels.index(lab) for lab in labs])
            out["S0"][idx] += st.S0
            out["Sz"][idx] += Sz
            out["Szz"][idx] += Szz
            out["count"][idx] += st.count
            out["npos"][idx] += st.npos
            out["zmin"][idx] = _nan_pair(np.minimum, out["zmin"][idx], st.zmin)
            out["zmax"][idx] = _nan_pair(np.maximum, out["zmax"][idx], st.zmax)
        empty = out["npos"] == 0
        out["zmin"][empty], out["zmax"][empty] = np.inf, -np.inf
        return self._replace(**out, folds=None if self.folds is None else tuple(labels))

    __radd__ = __add__

    def __sub__(self, other):
        bad = self._check_compatible(other, "subtract")
        if bad is not None:
            return bad
        labels = [None] if self.folds is None else list(self.folds)
        o_labels = [None] if other.folds is None else list(other.folds)
        missing = [lab for lab in o_labels if lab not in labels]
        if missing:
            raise ValueError(
                f"cannot subtract fold {missing[0]!r}: it is not in the left operand."
            )
        Sz_o, Szz_o = other.moments_about(self.shift)
        idx = np.array([labels.index(lab) for lab in o_labels])
        S0, Sz, Szz = self.S0.copy(), self.Sz.copy(), self.Szz.copy()
        count, npos = self.count.copy(), self.npos.copy()
        S0[idx] -= other.S0
        Sz[idx] -= Sz_o
        Szz[idx] -= Szz_o
        count[idx] -= other.count
        npos[idx] -= other.npos
        if (count < 0).any() or (npos < 0).any():
            raise ValueError(
                "cannot subtract statistics of more rows than the left operand holds."
            )
        # The range of the rows left is not known (ranges do not subtract).
        zmin, zmax = self.zmin.copy(), self.zmax.copy()
        zmin[idx], zmax[idx] = np.nan, np.nan
        return self._replace(
            S0=S0, Sz=Sz, Szz=Szz, zmin=zmin, zmax=zmax, count=count, npos=npos
        )

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    # -- files --------------------------------------------------------------------
    def save(self, path, *, overwrite=False):
        """Write an ``.npz`` (no pickle): arrays plus a JSON header. An existing
        file is kept unless ``overwrite=True``; the write is atomic."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        meta = {
            "format": _FORMAT,
            "n_features": self.n_features,
            "folds": None
            if self.folds is None
            else [_json_label(f) for f in self.folds],
            "feature_names": self.feature_names,
            "target_names": self.target_names,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.part")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path


def from_parts(shift, parts, *, n_features, folds=None, perm=None, check=True,
               feature_names=None, target_names=None) -> SufficientStats:  # fmt: skip
    """Statistics from stacked per-part arrays ``(S0, Sz, Szz, zmin, zmax, count,
    npos)`` whose columns ``perm`` puts in order (features, then targets).
    Non-finite moments, and (``check``) no positive weight, are refused."""
    S0, Sz, Szz, zmin, zmax, count, npos = (np.asarray(a) for a in parts)
    diag = np.diagonal(Szz, axis1=1, axis2=2)
    if not (np.isfinite(Sz).all() and np.isfinite(diag).all()):
        raise ValueError(
            "X or y holds NaN or inf (or values whose squares overflow float64)."
        )
    if perm is not None:
        shift, Sz, zmin, zmax = shift[perm], Sz[:, perm], zmin[:, perm], zmax[:, perm]
        Szz = Szz[:, perm][:, :, perm]
    if check and not S0.sum() > 0:
        raise ValueError("sample_weight must have a positive sum.")
    return SufficientStats(
        shift, S0, Sz, Szz, zmin, zmax, count, npos, n_features=n_features,
        folds=folds, feature_names=feature_names, target_names=target_names,
    )  # fmt: skip


def load_stats(path) -> SufficientStats:
    """Read statistics written by :meth:`SufficientStats.save` (no pickle)."""
    with np.load(os.fspath(path), allow_pickle=False) as f:
        try:
            meta = json.loads(str(f["meta"]))
        except KeyError:
            raise ValueError(f"{path} is not a jaxreg SufficientStats file.") from None
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path} holds {meta.get('format')!r}, not {_FORMAT!r}.")
        arrays = {name: f[name] for name in _ARRAYS}
    folds = meta["folds"]
    return SufficientStats(
        **arrays,
        n_features=meta["n_features"],
        folds=None if folds is None else [_json_label(f) for f in folds],
        feature_names=meta["feature_names"],
        target_names=meta["target_names"],
    )


def _json_label(label):
    if isinstance(label, np.generic):
        label = label.item()
    if not isinstance(label, (int, float, str)):
        raise TypeError(f"fold labels must be numbers or strings, got {label!r}.")
    return label


def _nan_reduce(fn, a):
    """Min/max over parts; NaN (unknown) wins."""
    out = fn(a, axis=0, keepdims=True)
    return np.where(np.isnan(a).any(axis=0, keepdims=True), np.nan, out)


def _nan_pair(fn, a, b):
    return np.where(np.isnan(a) | np.isnan(b), np.nan, fn(a, b))


# --------------------------------------------------------------------------- #
# Statistics to the engine's members
# --------------------------------------------------------------------------- #
def _constant(zmin, zmax, S0, Sz, Szz):
    """Columns constant over a member's rows: from the range when it is known,
    else (after a subtraction, whose ranges are unknown) a variance at the
    rounding level of the second moment it was computed from."""
    second = np.diagonal(Szz) / S0
    var = second - (Sz / S0) ** 2
    flat_var = var <= 64 * np.finfo(np.float64).eps * second
    known = np.isfinite(zmin) & np.isfinite(zmax)
    return np.where(known, zmin == zmax, flat_var)


def _column_exponents(st, p, safe, column_exponents):
    """The powers of two of the in-memory reducer (:func:`jaxreg.stats._reduce`),
    from each column's largest magnitude (its range, or an estimate from the
    moments when the range is unknown)."""
    top = np.fmax(np.abs(st.zmin), np.abs(st.zmax))
    top = np.where(np.isfinite(top), top, -np.inf).max(axis=0)
    mean = st.shift + st.Sz.sum(axis=0) / st.S0.sum()
    sd = np.sqrt(np.maximum(np.diagonal(st.Szz.sum(axis=0)) / st.S0.sum(), 0.0))
    top = np.where(np.isfinite(top), top, np.abs(mean) + sd)
    top = np.stack([top, -top])
    x_exp = _stats._exponent(np, top[:, :p], axis=0, safe=safe)
    if not column_exponents:
        x_exp = np.full_like(x_exp, x_exp.max(initial=0))
    y_exp = _stats._exponent(np, top[:, p:], axis=0).max()
    return x_exp, np.int32(y_exp)


def _scaled(st, e_all, shift):
    """Every part's (S0, Sz, Szz) about ``shift`` (data units), scaled by the
    powers of two ``2^-e`` (exact)."""
    Sz, Szz = st.moments_about(shift)
    return (
        st.S0,
        np.ldexp(Sz, -e_all),
        np.ldexp(Szz, -(e_all[:, None] + e_all[None, :])),
    )


def reduce_stats(st, *, idx_P, idx_U, fit_intercept, standardize, cv,
                 precondition=True, column_exponents=True):  # fmt: skip
    """The engine's members and frame from statistics, and the held-out parts.

    Members: each fold's training set (total − part) when ``cv``, then all the
    data. Returns ``members, frame, held`` with ``held`` the folds' own
    ``(S0, Sz, Szz)`` (scaled, about the frame's shift) for scoring, or None.
    """
    p, T = st.n_features, st.n_targets
    safe = _stats.SAFE_EXPONENT[np.dtype(np.float64)] if precondition else 0
    x_exp, y_exp = _column_exponents(st, p, safe, column_exponents)
    e_all = np.concatenate([x_exp, np.full(T, y_exp)]).astype(np.int64)
    whole = st.total()
    flat_y = (
        (whole.zmin[0, p:] == whole.zmax[0, p:]) if fit_intercept else np.zeros(T, bool)
    )
    if fit_intercept:
        shift = st.shift.copy()
        # A constant y centres to exactly 0, as in memory (alpha_max is then 0).
        shift[p:] = np.where(flat_y, whole.zmin[0, p:], shift[p:])
    else:
        shift = np.zeros_like(st.shift)  # no centring: moments about 0
    S0, Sz, Szz = _scaled(st, e_all, shift)
    Sz[:, p:] = np.where(flat_y, 0.0, Sz[:, p:])
    Szz[:, :, p:] = np.where(flat_y, 0.0, Szz[:, :, p:])
    Szz[:, p:, :] = np.where(flat_y[:, None], 0.0, Szz[:, p:, :])
    total = (S0.sum(), Sz.sum(axis=0), Szz.sum(axis=0))
    zmin, zmax = st.zmin, st.zmax
    K = st.S0.shape[0] if cv else 0
    members = []
    for k in list(range(K)) + [None]:
        if k is None:
            m = total
            lo, hi = _nan_reduce(np.min, zmin)[0], _nan_reduce(np.max, zmax)[0]
        else:
            m = (total[0] - S0[k], total[1] - Sz[k], total[2] - Szz[k])
            others = np.arange(K) != k
            lo = _nan_reduce(np.min, zmin[others])[0]
            hi = _nan_reduce(np.max, zmax[others])[0]
        if not m[0] > 0:
            raise ValueError(
                f"fold {st.folds[k]!r}'s training set has no positive weight."
            )
        const = _constant(lo[:p], hi[:p], m[0], m[1][:p], m[2][:p, :p])
        if not fit_intercept:
            const = np.zeros(p, bool)
        members.append(_member(m, p, const, idx_P, idx_U, fit_intercept,
                               standardize, precondition))  # fmt: skip
    members = _stats._stack(members, np)
    frame = _stats.Frame(
        np.ldexp(shift[:p], -x_exp), np.ldexp(shift[p:], -int(y_exp)), x_exp, y_exp
    )
    held = (S0[:K], Sz[:K], Szz[:K]) if cv else None
    return members, frame, held


def _member(m, p, const, idx_P, idx_U, fit_intercept, standardize, precondition):
    S0, Sz, Szz = m
    return _stats.gram_member(
        S0,
        Sz[:p],
        Sz[p:],
        Szz[:p, :p],
        Szz[:p, p:],
        np.diagonal(Szz[p:, p:]).copy(),
        const,
        idx_P,
        idx_U,
        fit_intercept=fit_intercept,
        standardize=standardize,
        precondition=precondition,
        ops=_stats.NUMPY,
    )


def init_problem(self, st, model, solver, folds, n_levels, alpha_units, separable,
                 mode):  # fmt: skip
    """Set up an :class:`jaxreg.engine.Problem` (``self``) from statistics:
    Gram mode, reduced on the host in float64; with ``folds`` (any value) the
    statistics' own folds are the CV members."""
    if (mode or solver.mode) == "design":
        raise ValueError(
            "mode='design' needs X itself: sufficient statistics give Gram mode "
            "only (mode='gram' or 'auto'). Pass X and y for design mode."
        )

    self.p, self.mode, self.gram = st.n_features, "gram", True
    self.solver, self.dtype = solver, np.dtype(solver.dtype)
    self.K = st.n_folds if folds is not None else 0
    self.F, self.T = self.K + 1, st.n_targets
    self._check_memory(0, self.p, n_levels)
    self.n = st.n_samples
    self.model = model
    self.idx_U = np.flatnonzero(model.free)
    self.idx_P = np.flatnonzero(~model.free)
    if alpha_units == "sum":  # scikit-learn's Ridge: alpha / raw training weight
        total = st.S0.sum()
        self.alpha_scale = 1.0 / np.append(total - st.S0[: self.K], total)
    else:
        self.alpha_scale = np.ones(self.F)
    self.host = _config.backend_of(solver.device) == "cpu"
    members, frame, self.held = reduce_stats(
        st,
        idx_P=self.idx_P,
        idx_U=self.idx_U,
        fit_intercept=model.fit_intercept,
        standardize=model.standardize,
        cv=self.K > 0,
        precondition=separable,
        column_exponents=separable,
    )
    self.test_weight = st.S0[: self.K] * (self.n / st.S0.sum())
    self.test_rows = st.count[: self.K]
    self.n_positive = float(st.npos.sum())
    self.Xg = self.Yg = self.gtw = None
    self._adopt(members, frame)


def score_parts(w, b, held, p):
    """Held-out weighted MSE and R² (K, T, k) of every fold from its own moments:
    ``Σ s r²`` with ``r = (y − K_y) − (x − K)·w − b`` is a quadratic form in
    (S0, Sz, Szz); ``w`` (F, T, k, p), ``b`` (F, T, k) about the shift, scaled."""
    S0, Sz, Szz = held
    K = S0.shape[0]
    w, b = w[:K], b[:K]
    Sx, Sy = Sz[:, :p], Sz[:, p:]
    Sxx, Sxy = Szz[:, :p, :p], Szz[:, :p, p:]
    Syy = np.diagonal(Szz[:, p:, p:], axis1=1, axis2=2)  # (K, T)
    wSxy = np.einsum("ktap,kpt->kta", w, Sxy)
    wSxxw = np.einsum("ktap,kpq,ktaq->kta", w, Sxx, w, optimize=True)
    wSx = np.einsum("ktap,kp->kta", w, Sx)
    s0 = S0[:, None, None]
    sse = (Syy[..., None] - 2 * wSxy - 2 * b * Sy[..., None] + wSxxw + 2 * b * wSx
           + b * b * s0)  # fmt: skip
    sse = np.maximum(sse, 0.0)
    sst = np.maximum(Syy - Sy * Sy / S0[:, None], 0.0)[..., None]
    return sse / s0, _stats.r2_of(sse, sst)
