"""The Cholesky factor of a support's system, kept while the support changes.

The active-set solver (:mod:`jaxreg.solvers.active_set`) solves
``(G_TT + diag(b_T))·x = rhs`` for a support ``T`` that changes by a few
coordinates per step. :class:`Factor` keeps the factor of the last support and
appends the coordinates that enter and deletes those that leave, each by the
cheapest exact method, instead of factoring every support anew.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import qr_delete as _qr_delete
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotrs as _potrs
from scipy.linalg.lapack import dpstrf as _pstrf
from scipy.linalg.lapack import dtrtrs as _trtrs

__all__ = ["Factor", "GramSystem", "independent", "sub", "system"]

_EPS = float(np.finfo(np.float64).eps)


def sub(G, rows, cols):
    """``G[np.ix_(rows, cols)]``, the smaller set gathered first (rows first
    when equal: a third faster than ``np.ix_``); ``take`` copies a strided
    ``G`` whole first, so such a view is indexed instead."""
    if not G.flags.c_contiguous:
        if len(cols) < len(rows):
            return G[:, cols][rows]
        return G[rows][:, cols]
    if len(cols) < len(rows):
        return G.take(cols, 1).take(rows, 0)
    return G.take(rows, 0).take(cols, 1)


def system(G, T, b):
    """``G_TT + diag(b_T)``."""
    M = sub(G, T, T)
    M[np.diag_indices_from(M)] += b[T]
    return M


class Factor:
    """The Cholesky factor of a support's system ``G_TT + diag(b_T)``, kept
    along the steps of one working set: coordinates that enter are appended as
    a block (``O(m²k)``: a triangular solve and the factor of their Schur
    complement), coordinates that leave are deleted by Givens rotations or a QR
    of the rows after the first of them, whichever is cheaper
    (:func:`_delete`), instead of a new factorization (``m³/3``) at every step;
    the next working set adopts the last factor (:meth:`adopt`) while its
    system is the same (the lasso's whole path). The factor's order is its own;
    requests in any order are permuted. ``L`` is kept C-contiguous: LAPACK then
    reads ``Lᵀ`` (an upper factor, in Fortran order) without a copy."""

    def __init__(self, G, b):
        self.G, self.b = G, b
        self.pos = np.full(b.size, -1)
        self.T, self.L = np.zeros(0, np.int64), np.zeros((0, 0))

    def adopt(self, loc, L):
        """Start from the factor ``L`` of the same system kept by another working
        set, ``loc`` the positions of its order in this one (−1: not in it,
        deleted here unless a new factor would be cheaper)."""
        gone = np.flatnonzero(loc < 0)
        if gone.size:
            out = _delete(loc, L, gone)
            if out is None:
                return
            loc, L = out
        self.T, self.L = loc, L
        self.pos[:] = -1
        self.pos[loc] = np.arange(loc.size)

    def factor(self, T):
        """``(order, L)`` with ``L·Lᵀ`` the system of ``order`` (the set ``T``),
        or None when a pivot falls below √eps of its diagonal (dependent
        columns); the kept factor moves to ``T`` only when it succeeds."""
        new = T[self.pos[T] < 0]
        gone = np.flatnonzero(~np.isin(self.T, T))
        if gone.size:
            out = _delete(self.T, self.L, gone)
            if out is None:  # a new factor is cheaper
                return self._fresh(T)
            self._keep(*out)  # the old factor freed before the append
        if new.size:
            out = self._append(self.T, self.L, new)
            if out is None:  # the factor stays that of T's kept part
                return None
            self._keep(*out)
        return self.T, self.L

    def _keep(self, order, L):
        self.T, self.L = order, L
        self.pos[:] = -1
        self.pos[order] = np.arange(order.size)

    def _fresh(self, T):
        self._keep(np.zeros(0, np.int64), np.zeros((0, 0)))
        return self.factor(T)

    def _append(self, order, L, new):
        C = system(self.G, new, self.b)
        diag = np.diag(C).copy()
        Z = None
        if order.size:
            Z = _trtrs(L.T, sub(self.G, order, new), lower=0, trans=1)[0]
            C -= Z.T @ Z
        # factored in C's own memory: LAPACK reads Cᵀ (Fortran order, no copy)
        # as an upper triangle, which is C's lower one, and Uᵀ = L_new
        U, info = _potrf(C.T, lower=0, clean=1, overwrite_a=1)
        L_new = U.T
        # a pivot below √eps of its diagonal: dependent columns (rounding lets
        # exactly dependent ones through with a tiny pivot)
        if info != 0 or not np.all(np.diag(L_new) ** 2 > np.sqrt(_EPS) * diag):
            return None
        if not order.size:  # a new factor: no copy
            return new.copy(), L_new
        m, k = order.size, new.size
        out = np.empty((m + k, m + k))
        out[:m, :m] = L
        out[:m, m:] = 0.0
        if Z is not None:
            out[m:, :m] = Z.T
        out[m:, m:] = L_new
        return np.concatenate([order, new]), out

    def solve(self, T, rhs):
        """``(G_TT + diag(b_T))⁻¹·rhs`` in ``T``'s order, or None if singular."""
        got = self.factor(T)
        if got is None:
            return None
        order, L = got
        at = self.pos[T]
        x_f = np.empty(order.size)
        x_f[at] = rhs
        x_f, info = _potrs(L.T, x_f, lower=0)
        if info != 0 or not np.isfinite(x_f).all():
            return None
        return x_f[at]


# Relative costs (in units of a new factor's m³ flops, measured with one BLAS
# thread) of deleting from a kept factor by a QR of the rows after the first
# gone one (per (m − j0)·m₂²) and by Givens rotations (per (m − j)², one column).
_QR_COST, _GIVENS_COST = 6, 700


def _delete(order, L, gone):
    """The factor without the positions ``gone``, by the cheaper of two exact
    deletions; None when a new factor (``m'³/3`` flops) would be cheaper still."""
    m, kept, j0 = order.size, order.size - gone.size, int(gone.min())
    qr = _QR_COST * (m - j0) * (kept - j0) ** 2
    givens = _GIVENS_COST * float(np.sum((m - gone) ** 2.0))
    if min(qr, givens) > kept**3:
        return None
    keep = np.ones(m, bool)
    keep[gone] = False
    if givens < qr:
        return order[keep], _delete_givens(L, gone)
    rows = np.flatnonzero(keep[j0:]) + j0
    out = L[np.ix_(keep, keep)]
    if rows.size:
        R = np.linalg.qr(L[rows, j0:].T, mode="r")
        out[j0:, j0:] = R.T * np.where(np.diag(R) < 0, -1.0, 1.0)
    return order[keep], out


def _delete_givens(L, gone):
    """The factor without the rows and columns ``gone``: rows and columns
    before the first of them (``j0``) are unchanged, and the trailing block of
    ``Lᵀ`` without those columns is made triangular again by Givens rotations
    (:func:`scipy.linalg.qr_delete`, ``O((m − j)²)`` per column, the last one
    first, on one copy of the block) instead of the QR of :func:`_delete`
    (``O((m − j0)·m₂²)``)."""
    m, j0 = L.shape[0], int(gone.min())
    trail = np.array(L[j0:, j0:].T, order="F")  # upper
    for j in np.sort(gone)[::-1] - j0:
        s = trail.shape[0]
        _, trail = _qr_delete(
            np.eye(s, order="F"), trail, int(j), 1, which="col",
            overwrite_qr=True, check_finite=False,
        )  # fmt: skip
    k = m - gone.size  # the kept size; trail is (m − j0) × (k − j0)
    keep = np.ones(m, bool)
    keep[gone] = False
    out = np.empty((k, k))
    out[:j0, :j0] = L[:j0, :j0]
    out[j0:, :j0] = L[j0:][keep[j0:], :j0]
    out[:j0, j0:] = 0.0
    Lt = trail[: k - j0].T
    block = out[j0:, j0:]
    block[...] = Lt
    block *= np.where(np.diag(Lt) < 0, -1.0, 1.0)  # in place: no temporary
    return out


def _support_solve(T, b, rhs, cols, chol):
    """``(G_TT + diag(b_T))·x = rhs``: through the n × n system when an
    elastic-net support is wider than the rows (``cols``, the design's columns),
    else by the kept Cholesky factor ``chol`` (a :class:`Factor`); None when
    the support's columns are dependent (the caller then takes least squares)."""
    if cols is not None and T.size and b[T].min() > 0:
        X = cols(T)
        if T.size > X.shape[0]:
            return _woodbury(X, b[T], rhs)
    return chol.solve(T, rhs)


def _woodbury(X, d, rhs):
    """``(XᵀX + diag(d))⁻¹·rhs`` through the n × n system ``I + X·diag(d)⁻¹·Xᵀ``:
    for an elastic-net support wider than the rows, ``n²m + n³`` flops instead
    of ``m³``."""
    u = rhs / d
    Xd = X / d
    K = Xd @ X.T
    K[np.diag_indices_from(K)] += 1.0
    L, info = _potrf(K, lower=1, clean=1)
    if info != 0:
        return None
    z, info = _potrs(L, X @ u, lower=1)
    if info != 0:
        return None
    return u - Xd.T @ z


def independent(G, S, E, b, chol):
    """The entering coordinates ``E`` that keep the system of ``S`` and ``E``
    positive definite (numerically): pivoted Cholesky of their Schur complement
    given ``S`` (its factor from ``chol``), each pivot at least ``√eps`` of its own
    diagonal. Empty when ``S``'s own system is singular."""
    got = chol.factor(S) if S.size else (S, None)
    if got is None:
        return E[:0]
    order, L = got
    M_E = system(G, E, b)
    C = M_E.copy()
    if S.size:
        Z = _trtrs(L.T, sub(G, order, E), lower=0, trans=1)[0]
        C -= Z.T @ Z
    scale = np.sqrt(np.maximum(np.diag(M_E), np.finfo(float).tiny))
    C /= np.outer(scale, scale)  # unit diagonal before the Schur step
    _, piv, rank, _ = _pstrf(C, tol=np.sqrt(_EPS), lower=1)
    return E[np.sort(piv[:rank] - 1)] if rank else E[:0]


def _enter_independent(G, S, enter, b, rhs, cols, chol):
    """The support and its solution when only the entering coordinates that
    keep the system non-singular enter (the strongest alone if none does, for
    a null step); the solution is None when still singular."""
    keep = independent(G, S, enter, b, chol)
    enter = keep if keep.size else enter[:1]
    T = np.concatenate([S, enter])
    target = _support_solve(T, b, rhs[T], cols, chol)
    if target is None and enter.size > 1:
        T = np.concatenate([S, enter[:1]])
    return T, target


def _null_step(G, T, b, cur, sign, chol):
    """The step when the last coordinate ``e`` of T (entering) makes the system
    singular (the support already spans the rows): along the null direction
    ``d = (−M_SS⁻¹·M_Se, 1)`` (from the support's kept factor) the fit does not
    change and the penalty falls (the entering coordinate violates its
    condition), until a support coordinate reaches 0. Returns the new values on
    T and the index (in T) that left, or None."""
    S, e = T[:-1], T[-1:]
    got = chol.factor(S) if S.size else None
    if got is None:
        return None
    order, L = got
    m_se = sub(G, order, e)
    z, info = _potrs(L.T, m_se, lower=0)
    M_ee = float(system(G, e, b)[0, 0])
    schur = M_ee - float(m_se[:, 0] @ z[:, 0])
    d = np.append(-z[chol.pos[S], 0], 1.0)
    if (
        info != 0
        or schur > np.sqrt(_EPS) * M_ee
        or np.sqrt(_EPS) * np.abs(d).max() >= 1
    ):
        return None  # the singularity is not the entering coordinate's
    d = d * sign[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where((sign != 0) & (cur * d < 0), -cur / d, np.inf)
    t[-1] = np.inf
    j = int(np.argmin(t))
    if not np.isfinite(t[j]):
        return None
    new = cur + t[j] * d
    new[j] = 0.0
    return new, j


class GramSystem:
    """The support systems of a working set from its Gram block ``G``, linear
    term ``c`` and ridge weights ``b``, by the kept Cholesky factor ``chol`` (or
    the n × n system through ``cols``: :func:`_support_solve`); the system
    protocol of :func:`jaxreg.solvers.active_set._feature_sign` (the matrix-free one:
    :class:`jaxreg.solvers.matrix_free.MatrixFree`)."""

    def __init__(self, G, c, b, cols=None, chol=None):
        self.G, self.c, self.b, self.cols = G, c, b, cols
        self.chol = Factor(G, b) if chol is None else chol

    def gradient(self, w):
        """Minus the smooth part's gradient, ``c − Gw − b∘w``."""
        return self.c - self.G @ w - self.b * w

    def objective(self, a, w):
        # one product with all of G: gathering G's support block costs several
        G, b = self.G, self.b
        return 0.5 * w @ (G @ w + b * w) - self.c @ w + a @ np.abs(w)

    def solve(self, T, rhs, cur):
        return _support_solve(T, self.b, rhs, self.cols, self.chol)

    def enter_independent(self, S, enter, rhs, cur):
        return _enter_independent(self.G, S, enter, self.b, rhs, self.cols, self.chol)

    def null_step(self, T, cur, sign):
        return _null_step(self.G, T, self.b, cur, sign, self.chol)

    def lstsq(self, T, rhs):
        return np.linalg.lstsq(system(self.G, T, self.b), rhs, rcond=None)[0]
