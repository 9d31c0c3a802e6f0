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
from scipy.linalg.lapack import dtrtrs as _trtrs

__all__ = ["Factor", "sub", "system"]

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
        order, L = self.T, self.L
        gone = np.flatnonzero(~np.isin(order, T))
        if gone.size:
            out = _delete(order, L, gone)
            if out is None:  # a new factor is cheaper
                return self._fresh(T)
            order, L = out
        if new.size:
            out = self._append(order, L, new)
            if out is None:
                return None
            order, L = out
        self.T, self.L = order, L
        self.pos[:] = -1
        self.pos[order] = np.arange(order.size)
        return order, L

    def _fresh(self, T):
        self.T, self.L = np.zeros(0, np.int64), np.zeros((0, 0))
        self.pos[:] = -1
        return self.factor(T)

    def _append(self, order, L, new):
        M_new = system(self.G, new, self.b)
        B = sub(self.G, order, new)
        Z = _trtrs(L.T, B, lower=0, trans=1)[0] if order.size else None
        C = M_new - Z.T @ Z if Z is not None else M_new.copy()
        L_new, info = _potrf(C, lower=1, clean=1)
        # a pivot below √eps of its diagonal: dependent columns (rounding lets
        # exactly dependent ones through with a tiny pivot)
        if info != 0 or not np.all(
            np.diag(L_new) ** 2 > np.sqrt(_EPS) * np.diag(M_new)
        ):
            return None
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
    out[j0:, j0:] = Lt * np.where(np.diag(Lt) < 0, -1.0, 1.0)
    return out
