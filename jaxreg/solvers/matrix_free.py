"""Matrix-free support systems for the active-set solver on sparse designs.

The active-set solver (:mod:`jaxreg.solvers.active_set`) solves the system of
a support, ``(A_TᵀA_T/n + diag(b_T))·x = rhs``, from a cache of Gram blocks and
the support's Cholesky factor: memory that grows with the square of the
working set. On a sparse design whose supports reach thousands of features
that is far more than the data itself (a 20,000-feature support: 3.2 GB for
its Gram block alone, against tens of MB of CSR). :class:`MatrixFree` solves
the same systems by preconditioned conjugate gradients, from products with
the sparse columns only: memory linear in the non-zeros, time linear in the
non-zeros the support touches per iteration.

The system's residual at ``x`` is the support's optimality error (the
gradient's distance from ``−a_T·sign``), so CG stops when it is at most
``KKT_RTOL`` times the smallest L1 weight: the certificate's dual point is
then scaled by at most ``1 + KKT_RTOL`` for it, a ``KKT_RTOL`` share of the
gap's units. Each level is still certified by its duality gap on the full problem;
a system CG cannot solve that well leaves the level uncertified, never
falsely certified.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Columns", "MatrixFree"]

# CG stops at a residual (the support's optimality error) of this share of the
# smallest L1 weight.
KKT_RTOL = 1e-9
# CG iterations per system of a support T, at most: CG_ITER_SHARE·|T| (at
# least CG_MIN_ITER). A system that needs more is one the factored route
# solves faster (it then takes over the path: see active_set.solve_path).
CG_ITER_SHARE, CG_MIN_ITER = 0.125, 100
# Restarts from the true residual (the recursive one drifts at tight tolerances).
CG_RESTARTS = 3
# A support holding this share of its working set's non-zeros at least is
# solved by products over the working set's columns (zeros outside the
# support): at most 1/SHARE times the non-zeros per product, no copy of its
# columns.
SHARE = 0.75
# Non-zeros squared at a time for the column norms (temporaries of this size).
SQUARES_NNZ = 1 << 18


class Columns:
    """Columns ``F`` of a design as products, never a dense block:
    ``A_F·x = root∘(X_F·(col∘x) − 1·(mean·(col∘x))) − B·(C·x)`` and its
    transpose, with ``X_F`` the columns of a sparse (or dense) X, ``mean`` their
    centres, ``col`` their scales, ``root`` the rows' √weights and ``(B, C)`` the
    projection of the free columns (:class:`jaxreg._sparse_design.Projected`),
    or None."""

    def __init__(self, X, root, mean, col, B=None, C=None, sq=None):
        self.X, self.root, self.mean, self.col = X, root, mean, col
        self.B, self.C = B, C
        self.sq = sq  # the squared norms (:meth:`squares`), when known
        # the transpose, made once: a sparse X's costs a new matrix object
        # (and its format checks) per product, a share of a CG iteration
        self.XT = X.T
        unit = bool(np.all(root == 1.0))
        self.weight = None if unit else root * root

    def take(self, loc):
        """The columns at positions ``loc`` of these."""
        C = None if self.C is None else self.C[:, loc]
        X, mean, col = self.X[:, loc], self.mean[loc], self.col[loc]
        sq = None if self.sq is None else self.sq[loc]
        return Columns(X, self.root, mean, col, self.B, C, sq)

    def mv(self, x):
        u = self.col * x
        z = self.root * (self.X @ u - self.mean @ u)
        if self.B is not None:
            z -= self.B @ (self.C @ x)
        return z

    def rmv(self, r):
        z = self.root * r
        out = self.col * (self.XT @ z - self.mean * z.sum())
        if self.B is not None:
            out -= self.C.T @ (self.B.T @ r)
        return out

    def normal(self, x):
        """``AᵀA·x``, CG's product: ``rmv(mv(x))`` with the row weights applied
        once (and not at all when they are 1)."""
        if self.B is not None:
            return self.rmv(self.mv(x))
        u = self.col * x
        z = self.X @ u
        z -= self.mean @ u
        if self.weight is not None:
            z *= self.weight
        out = self.XT @ z
        out -= self.mean * z.sum()
        out *= self.col
        return out

    def squares(self):
        """Each column's squared norm before the projection (a preconditioner:
        the projection only lowers it)."""
        if self.sq is not None:
            return self.sq
        w = self.root * self.root
        s1 = np.asarray(self.X.T @ w).ravel()
        s2 = weighted_squares(self.X, w)
        return self.col**2 * (s2 - 2.0 * self.mean * s1 + self.mean**2 * w.sum())


def weighted_squares(X, w):
    """``(X∘X)ᵀw``: each column's squares weighted by ``w`` (n,), for a sparse
    CSC X a block of columns at a time (temporaries of ``SQUARES_NNZ``
    non-zeros, or one column's: never a squared copy of X)."""
    if getattr(X, "format", None) != "csc":
        return np.asarray(
            (X.multiply(X) if hasattr(X, "multiply") else X * X).T @ w
        ).ravel()
    out, ptr, p = np.zeros(X.shape[1]), X.indptr, X.shape[1]
    stop = 0
    while stop < p:
        start = stop
        stop = int(np.searchsorted(ptr, ptr[start] + SQUARES_NNZ, side="right")) - 1
        stop = min(max(stop, start + 1), p)
        a, b = ptr[start], ptr[stop]
        nz = np.flatnonzero(np.diff(ptr[start : stop + 1])) + start
        if nz.size:
            sq = X.data[a:b] * X.data[a:b]
            sq *= w[X.indices[a:b]]
            out[nz] = np.add.reduceat(sq, ptr[nz] - a)
    return out


def cg(mv, rhs, x, dinv, tol, maxiter):
    """Jacobi-preconditioned conjugate gradients for ``mv(x) = rhs`` from ``x``,
    until the true residual's largest entry is at most ``tol``: ``maxiter``
    iterations in all, restarted from the true residual (``CG_RESTARTS`` times
    at most) when the recursive one drifts from it. Returns the last iterate
    and whether it met ``tol``."""
    x = np.array(x, np.float64)
    left = maxiter
    for _ in range(CG_RESTARTS + 1):
        r = rhs - mv(x)
        if np.abs(r).max(initial=0.0) <= tol:
            return x, True
        z = dinv * r
        d, rz = z.copy(), float(r @ z)
        while left > 0:
            left -= 1
            q = mv(d)
            dq = float(d @ q)
            if not dq > 0:  # no descent left (singular or rounding)
                left = 0
                break
            step = rz / dq
            x += step * d
            r -= step * q
            if np.abs(r).max() <= 0.5 * tol:
                break
            z = dinv * r
            rz, rz_old = float(r @ z), rz
            if not rz > 0:
                left = 0
                break
            d = z + (rz / rz_old) * d
        if left <= 0:
            break
    return x, bool(np.abs(rhs - mv(x)).max(initial=0.0) <= tol)


class MatrixFree:
    """The support systems of one working set ``W`` (:class:`Columns` ``A``) with
    its linear term ``c``, ridge weights ``b`` and ``n`` rows, by CG; the
    system protocol of :func:`jaxreg.solvers.active_set._feature_sign`."""

    def __init__(self, A, c, b, n, tol):
        self.A, self.c, self.b, self.n, self.tol = A, c, b, n, tol
        self.diag = A.squares() / n + b
        # the columns' non-zeros, where they are a sparse matrix's (CSC)
        X = A.X
        self.counts = np.diff(X.indptr) if getattr(X, "format", None) == "csc" else None
        self.nnz = None if self.counts is None else int(self.counts.sum())
        self.failed = False  # a system CG could not solve: the path goes factored

    def _fit(self, w):
        return self.A.mv(w)  # the zeros cost their non-zeros, not a copy

    def gradient(self, w):
        """Minus the smooth part's gradient, ``c − AᵀAw/n − b∘w``."""
        return self.c - self.A.normal(w) / self.n - self.b * w

    def objective(self, a, w):
        z = self._fit(w)
        return 0.5 * (z @ z / self.n + w @ (self.b * w)) - self.c @ w + a @ np.abs(w)

    def solve(self, T, rhs, cur):
        """The system of ``T``, from ``cur``; None when CG cannot reach the
        tolerance (a singular system: the caller then takes the factored
        route)."""
        bT, n, A = self.b[T], self.n, self.A
        d = self.diag[T]
        dinv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 1.0)
        cap = max(CG_MIN_ITER, int(CG_ITER_SHARE * T.size))
        if self.counts is not None and self.counts[T].sum() >= SHARE * self.nnz:
            # T holds most of the working set's non-zeros: products over all
            # of its columns (T's entries, zeros elsewhere), not a copy of T's
            u = np.zeros(self.c.size)

            def mv(v):
                u[T] = v
                return A.normal(u)[T] / n + bT * v
        else:
            AT = A.take(T)
            mv = lambda v: AT.normal(v) / n + bT * v  # noqa: E731
        x, ok = cg(mv, rhs, cur, dinv, self.tol, cap)
        if ok and np.isfinite(x).all():
            return x
        self.failed = True
        return None

    def enter_independent(self, S, enter, rhs, cur):
        return np.concatenate([S, enter[:1]]), None  # no second try

    def null_step(self, T, cur, sign):
        return None

    def lstsq(self, T, rhs):
        return None
