"""Sparse X in design form: the reduced members as operators over one sparse X.

For sparse data too wide for a Gram matrix, no member is densified: member f's
reduced design (:mod:`jaxreg.stats`) is the operator

    A_f = diag(√s_f)·(X − 1·m_fᵀ)·diag(d_f)

over the one CSC copy of X, with ``s_f`` the member's weights (0 on the rows it
holds out), ``m_f`` its weighted column means (the centring is implicit: ``A_f·v
= √s_f∘(X·u − 1·(m_fᵀu))`` with ``u = d_f∘v``) and ``d_f`` the column exponent,
the standardization and the preconditioner together. Products with ``A_f``,
``A_fᵀ`` and blocks of ``A_fᵀA_f`` cost the non-zeros they touch; the active-set
solver (:mod:`jaxreg.solvers.active_set`) needs nothing else. Ridge comes
from the n × n kernel ``A_fA_fᵀ/n`` (:func:`kernel_factor`), the coefficients
``A_fᵀ`` times a combination of its eigenvectors. The moments of X
are taken about the origin, as in Gram form (:mod:`jaxreg.sparse`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _config, _memory, sparse
from jaxreg import stats as _stats
from jaxreg.solvers import active_set, closed_form
from jaxreg.solvers.matrix_free import Columns, weighted_squares

__all__ = [
    "Operator",
    "SparseMembers",
    "init_problem",
    "kernel_factor",
    "ridge_members",
]


# Rows of a Gram block corrected for the centring at a time (a temporary of
# this many rows, not of the block).
GRAM_ROWS = 256


class Operator:
    """One member's reduced design ``A = diag(root)·(X − 1·meanᵀ)·diag(col)``."""

    sparse = True  # the active-set solver may go matrix-free on it

    def __init__(self, X, root, mean, col):
        self.X, self.root, self.mean, self.col = X, root, mean, col
        self.n, self.p = X.shape
        self.weight = root * root
        self.unit = bool(np.all(self.weight == 1.0))
        self._squares = None

    def matvec(self, v):
        """``A·v`` for a coefficient vector that is mostly 0 (its columns only)."""
        S = np.flatnonzero(v)
        if not S.size:
            return np.zeros(self.n)
        ptr = self.X.indptr
        if 4 * int(np.sum(ptr[S + 1] - ptr[S])) >= ptr[-1]:
            # S holds a quarter of the non-zeros or more: the product over
            # every column (zeros elsewhere), no copy of S's columns
            return self.restrict().mv(v)
        return self.restrict(S).mv(v[S])

    def rmatvec(self, r):
        """``Aᵀ·r``."""
        return self.restrict().rmv(r)

    def rmatmat(self, Z):
        """``Aᵀ·Z`` (p, q) for ``Z`` (n, q)."""
        Z = self.root[:, None] * Z
        return self.col[:, None] * (self.X.T @ Z - np.outer(self.mean, Z.sum(axis=0)))

    def matmat(self, V):
        """``A·V`` (n, q) for a dense ``V`` (p, q)."""
        U = self.col[:, None] * V
        return self.root[:, None] * (self.X @ U - self.mean @ U)

    def kernel(self, d):
        """``(A·diag(d))(A·diag(d))ᵀ/n`` (n, n): sparse products ``XcXcᵀ`` of
        the scaled columns (a block of rows at a time: the sparse product's own
        index arrays stay small), the centring as rank-one corrections."""
        import scipy.sparse as sp

        c = self.col * d
        Xc = (self.X @ sp.diags(c)).tocsr()
        XcT = Xc.T.tocsc()
        mu = self.mean * c
        v = Xc @ mu
        K = np.empty((self.n, self.n))
        step = max(1, 2**22 // self.n)
        for i in range(0, self.n, step):
            K[i : i + step] = (Xc[i : i + step] @ XcT).toarray()
        K -= v[:, None]
        K -= v[None, :]
        K += mu @ mu
        K *= np.outer(self.root, self.root) / self.n
        return K

    def columns(self, idx):
        """The dense columns ``A[:, idx]``."""
        D = self.X[:, idx].toarray()
        D -= self.mean[idx]
        D *= self.col[idx]
        D *= self.root[:, None]
        return D

    def gram(self, rows, cols):
        """``A_rowsᵀA_cols/n`` from sparse products: ``XᵀSX − S0·m·mᵀ``."""
        Xr, Xc = self.X[:, rows], self.X[:, cols]
        if not self.unit:
            Xc = Xc.multiply(self.weight[:, None]).tocsc()
        B = (Xr.T @ Xc).toarray()
        # B = (B − S0·m_r·m_cᵀ)∘(c_r·c_cᵀ)/n, in place: the rank-one term a
        # block of rows at a time (no temporary the block's size)
        left = self.weight.sum() * self.mean[rows]
        right = self.mean[cols]
        step = GRAM_ROWS
        for i in range(0, B.shape[0], step):
            B[i : i + step] -= np.outer(left[i : i + step], right)
        B *= self.col[rows][:, None]
        B *= (self.col[cols] / self.n)[None, :]
        return B

    def blocks(self):
        """The Gram blocks of the features the solver meets, as it meets them."""
        return _Blocks(self)

    def restrict(self, idx=None):
        """The columns ``idx`` (all by default) as products, kept sparse
        (:class:`Columns`: the one place the vector products are written)."""
        A = Columns(self.X, self.root, self.mean, self.col, *self._low(), self._sq)
        return A if idx is None else A.take(idx)

    @property
    def _sq(self):
        """Every column's squared norm, computed once (CG's preconditioner for
        each working set takes its share)."""
        if self._squares is None:
            self._squares = Columns(self.X, self.root, self.mean, self.col).squares()
        return self._squares

    def _low(self):
        return None, None  # no free columns projected out


class Projected(Operator):
    """A member's design with its free (unpenalized) columns projected out,
    ``A − B·C`` (Frisch–Waugh–Lovell, as :mod:`jaxreg.stats` does for dense X):
    ``B`` (n, u) the free columns, ``C = M·G_UP`` (u, pP) the least-squares
    fit of the penalized ones by them, ``H = BᵀA/n`` (u, pP), ``GU = BᵀB/n``. Every
    product takes a rank-u correction; X stays sparse."""

    def __init__(self, X, root, mean, col, B, C, H, GU):
        super().__init__(X, root, mean, col)
        self.B, self.C, self.H, self.GU = B, C, H, GU

    def rmatmat(self, Z):
        return super().rmatmat(Z) - self.C.T @ (self.B.T @ Z)

    def matmat(self, V):
        return super().matmat(V) - self.B @ (self.C @ V)

    def columns(self, idx):
        return super().columns(idx) - self.B @ self.C[:, idx]

    def _low(self):
        return self.B, self.C

    def gram(self, rows, cols):
        Cr, Cc, Hr, Hc = (
            self.C[:, rows],
            self.C[:, cols],
            self.H[:, rows],
            self.H[:, cols],
        )
        return super().gram(rows, cols) - Hr.T @ Cc - Cr.T @ Hc + Cr.T @ (self.GU @ Cc)

    def kernel(self, d):
        """``(A − B·C)·diag(d)`` times its transpose, over n: the unprojected
        kernel and three rank-u corrections."""
        K = super().kernel(d)
        Z = Operator.matmat(self, (d * d)[:, None] * self.C.T)  # A·D²·Cᵀ (n, u)
        BZ = self.B @ Z.T
        K -= (BZ + BZ.T) / self.n
        CD = self.C * d
        K += self.B @ (CD @ CD.T) @ self.B.T / self.n
        return K


class _Blocks:
    def __init__(self, op):
        self.op, self.feat = op, np.zeros(0, np.int64)

    def extend(self, k, new):
        """Keep the first ``k`` features, append ``new``: their cross and own
        blocks."""
        known = self.feat[:k]
        self.feat = np.concatenate([known, new])
        return self.op.gram(known, new), self.op.gram(new, new)

    def select(self, keep):
        """Keep the known features at positions ``keep``, in order."""
        self.feat = self.feat[keep]


class SparseMembers:
    """Every member's operator over the one sparse X (the ``A`` of
    :class:`jaxreg.stats.Members` in this form): X's penalized columns, and per
    member the projection of the free ones (``(B, C, H, GU)`` of
    :class:`Projected`), or None without free features."""

    def __init__(self, X, roots, means, cols, lows=None):
        self.X, self.roots, self.means, self.cols = X, roots, means, cols
        self.lows = lows if lows is not None else [None] * roots.shape[0]

    def __len__(self):
        return self.roots.shape[0]

    def operator(self, f) -> Operator:
        return _operator(
            self.X, self.roots[f], self.means[f], self.cols[f], self.lows[f]
        )


def _operator(X, root, mean, col, low):
    """An :class:`Operator`, or a :class:`Projected` one with ``low`` (its
    ``(B, C, H, GU)``)."""
    if low is None:
        return Operator(X, root, mean, col)
    return Projected(X, root, mean, col, *low)


def _column_top(X):
    """Each column's largest magnitude (CSC, canonical)."""
    top = np.zeros(X.shape[1])
    nz = np.flatnonzero(np.diff(X.indptr))
    if nz.size:
        top[nz] = np.maximum.reduceat(np.abs(X.data), X.indptr[nz])
    return top


def _check(problem, X, model, solver):
    if problem.idx_U.size > min(problem.n, 2000):
        raise ValueError(
            f"penalty_factor=0 on {problem.idx_U.size} features of a sparse X in "
            "design form: at most min(n_samples, 2000) may be unpenalized (their "
            "columns are projected out densely); penalize the others a little, "
            "or use mode='gram' (up to 20000 features)."
        )
    if not active_set.signs_only(model):
        raise ValueError(
            "sparse X in design form is solved by the active-set solver, which "
            "takes no box limits but signs (positive=True, or lower_limits and "
            "upper_limits at 0, on penalized features); use mode='gram' (up to "
            "20000 features)."
        )
    if _config.backend_of(solver.device) != "cpu" or solver.dtype != np.float64:
        raise ValueError(
            "sparse X in design form is solved on the CPU in float64: use "
            "device='cpu' and dtype='float64' (or a dense X on the device)."
        )
    if not np.isfinite(X.data).all():
        raise ValueError(
            "X contains NaN or infinity; jaxreg does not impute missing values."
        )


def init_problem(self, X, Y, model, solver, folds, n_levels, alpha_units):
    """Set up a :class:`jaxreg.engine.Problem` (``self``) for sparse ``X`` (n, p)
    and dense ``Y`` (n, T) in design form, on the host in float64."""
    X = sparse.to_scipy(X).tocsc()
    n, p = X.shape
    self.p, self.n, self.mode, self.gram = p, n, "design", False
    self.solver, self.dtype = solver, np.dtype(np.float64)
    self.model, self.host, self.sparse = model, True, True
    self.idx_U = np.flatnonzero(model.free)
    self.idx_P = np.flatnonzero(~model.free)
    _check(self, X, model, solver)
    if not np.isfinite(Y).all():
        raise ValueError("y contains NaN or infinity; drop or impute those samples.")
    train, test = folds if folds is not None else (np.zeros((0, n)),) * 2
    self.K, self.T = train.shape[0], Y.shape[1]
    self.F = self.K + 1
    # the CSC copy, one operator vector set per member, the results, the Gram cache
    u = self.idx_U.size
    extra = 3 * X.nnz + self.F * (n * (self.T + 2 + u) + (8 + 2 * u) * p) + 6000**2
    _memory.check_memory(0, p, n_levels, np.float64, "design", solver.device,
                         batch=1, n_problems=self.F, extra=extra)  # fmt: skip
    sw = model.sample_weight
    train_w = np.concatenate([sw[None, :] * train, sw[None]])
    if alpha_units == "sum":
        self.alpha_scale = 1.0 / (train_w.sum(axis=1) * (model.raw_weight_total / n))
    else:
        self.alpha_scale = np.ones(self.F)
    s = train_w * (n / train_w.sum(axis=1, keepdims=True))
    members, frame = _members(X, Y, s, model, self.idx_P, self.idx_U)
    self.test_weight = (sw[None, :] * test).sum(axis=1)
    self.test_rows = (test > 0).sum(axis=1)
    self.n_positive = float((sw > 0).sum())
    self.Xg = self.Yg = self.gtw = None
    self.held = _scorer(X.tocsr(), Y, frame, sw[None, :] * test)
    self._adopt(members, frame)


def _members(X, Y, s, model, idx_P, idx_U):
    """Every member's reduced problem (design form) and the frame: the free
    columns ``idx_U`` projected out of the penalized ones ``idx_P`` and of y
    (:class:`Projected`), as :func:`jaxreg.stats.design_member` does."""
    n, p = X.shape
    T, u = Y.shape[1], idx_U.size
    safe = _stats.SAFE_EXPONENT[np.dtype(np.float64)]
    top = _column_top(X)
    x_exp = _stats._exponent(np, np.stack([top, -top]), axis=0, safe=safe)
    y_exp = _stats._exponent(np, Y, axis=0).max()
    Ys = np.ldexp(Y, -int(y_exp))
    sw = model.sample_weight
    if model.fit_intercept:
        shift_y = sw @ Ys / n
        Yc = np.where(_stats._constant(np, Ys, sw > 0), 0.0, Ys - shift_y)
    else:
        shift_y, Yc = np.zeros(T), Ys
    unit = np.ldexp(1.0, -x_exp)
    XP, XU = (X, None) if not u else (X[:, idx_P], X[:, idx_U])
    fields = {k: [] for k in ("root", "mean", "col", "c", "yy", "yy_total", "q0",
                              "x_mean", "x_scale", "y_mean", "g", "M", "G_UP",
                              "c_U", "lev", "rank0", "low")}  # fmt: skip
    for sf in s:
        m1 = X.T @ sf / n if model.fit_intercept else np.zeros(p)
        m2 = weighted_squares(X, sf) / n  # no squared copy of X
        var = np.maximum(m2 - m1 * m1, 0.0)
        const = var <= 64 * np.finfo(np.float64).eps * m2
        var_s = np.where(const, 0.0, var) * unit * unit  # scaled units
        scale = _stats._standardize_scale(np, var_s) if model.standardize else 1.0
        scale = np.broadcast_to(scale, (p,))
        diag = var_s / (scale * scale)
        base = np.where(const, 0.0, unit / scale)  # the columns before g
        my = sf @ Yc / n if model.fit_intercept else np.zeros(T)
        root = np.sqrt(sf)
        ys = root[:, None] * (Yc - my)
        lev = sf / n if model.fit_intercept else 0 * sf
        rank0 = 1 if model.fit_intercept else 0
        low = None
        if u:
            B = Operator(XU, root, m1[idx_U], base[idx_U]).columns(np.arange(u))
            G_UP = Operator(XP, root, m1[idx_P], base[idx_P]).rmatmat(B).T / n
            GU, c_U = B.T @ B / n, B.T @ ys / n
            M = _stats.NUMPY.pinv_psd(GU, terms=n)
            C = M @ G_UP
            diag_red = np.maximum(diag[idx_P] - np.sum(G_UP * C, axis=0), 0.0)
            g = _stats._precondition(np, diag_red, diag[idx_P], True)
            ys_red = ys - B @ (M @ c_U)
            lev = lev + np.sum((B @ M) * B, axis=1) / n
            rank0 += int(np.round(np.trace(M @ GU)))
            low = (B, C / g, G_UP / g, GU)
        else:
            M, G_UP, c_U = np.zeros((0, 0)), np.zeros((0, p)), np.zeros((0, T))
            g = _stats._precondition(np, diag, diag, True)
            ys_red = ys
        col = base[idx_P] / g
        q0 = _operator(XP, root, m1[idx_P], col, low).rmatmat(ys_red) / n
        values = (
            root,
            m1[idx_P],
            col,
            ys_red,
            np.sum(ys_red * ys_red, axis=0) / n,
            np.sum(ys * ys, axis=0) / n,
            q0,
            m1 * unit,
            np.array(scale),
            my,
            g,
            M,
            G_UP,
            c_U,
            lev,
            rank0,
            low,
        )
        for key, val in zip(fields, values, strict=True):
            fields[key].append(val)
    lows = fields.pop("low")
    a = {key: np.stack(val) for key, val in fields.items()}
    members = _stats.Members(
        SparseMembers(XP, a["root"], a["mean"], a["col"], lows), a["c"], a["yy"],
        a["yy_total"], a["q0"], a["x_mean"], a["x_scale"], a["y_mean"], a["g"],
        a["M"], a["G_UP"], a["c_U"], a["lev"], a["rank0"].astype(np.int32),
    )  # fmt: skip
    frame = _stats.Frame(np.zeros(p), shift_y, x_exp, np.int32(y_exp))
    return members, frame


def _scorer(Xr, Y, frame, test_w):
    """Held-out MSE and R² (K, T, k) of every fold from the sparse rows it holds
    out (scaled units, about the frame's shift)."""
    K = test_w.shape[0]
    if not K:
        return None
    rows = [np.flatnonzero(t > 0) for t in test_w]
    m = max(r.size for r in rows)
    y_exp, unit = int(frame.y_exp), np.ldexp(1.0, -np.asarray(frame.x_exp))
    Yc = np.ldexp(Y, -y_exp) - frame.shift_y

    def score(w, b):
        T, k = w.shape[1], w.shape[2]
        pred = np.zeros((K, m, T, k))
        Yg, gtw = np.zeros((K, m, T)), np.zeros((K, m))
        for f, r in enumerate(rows):
            used = np.flatnonzero(np.any(w[f] != 0, axis=(0, 1)))
            W = (w[f][..., used] * unit[used]).reshape(T * k, -1)
            block = Xr[r][:, used] @ W.T  # (m_f, T·k)
            pred[f, : r.size] = block.reshape(r.size, T, k) + b[f][None]
            Yg[f, : r.size], gtw[f, : r.size] = Yc[r], test_w[f, r]
        return _stats.score_predictions(pred, Yg, gtw)

    return score


_factor_kernel = jax.jit(closed_form.factor_kernel, static_argnames="terms")


@jax.jit
def _combine(fac, levels, yy):
    inv = closed_form.shrinkage(fac, levels)
    T = closed_form.dual_combination(fac, inv)
    return T, closed_form.residual_ss(fac, yy, levels, inv)


def kernel_factor(op, Y, l2):
    """Ridge's factor of one member (:func:`jaxreg.solvers.closed_form.factor_kernel`)
    from its operator ``op``, reduced targets ``Y`` (n, T) and L2 weights ``l2``
    (p,): the n × n kernel, never the p × p Gram matrix."""
    n, p = op.n, op.p
    # the kernel, its eigenvectors and the factor's copies; and the results
    _memory.check_memory(n, 0, 1, np.float64, "design", extra=4 * n * n)
    with _config.compute_context(np.float64):
        # an all-zero column (op.col 0) gets exactly 0, as in the dense factor
        d = np.where(op.col == 0, 0.0, closed_form.column_scale(jnp.asarray(l2)))
        K = jnp.asarray(op.kernel(d))
        return _factor_kernel(K, jnp.asarray(Y), jnp.asarray(d), terms=p)


def dual_coef(op, fac, T):
    """The coefficients ``d∘(A·diag(d))ᵀT`` (k, t, p) from ``T`` (k, n, t), as
    :func:`jaxreg.solvers.closed_form.ridge` forms them."""
    k, n, t = T.shape
    W = op.rmatmat(np.moveaxis(np.asarray(T), 1, 0).reshape(n, k * t))
    d = np.asarray(fac.d)
    return W.reshape(-1, k, t).transpose(1, 2, 0) * (d * d)


def ridge_members(members, l2, levels):
    """Closed-form ridge of every member (the kernel form): coef (F, T, k, p)
    and rr (F, T, k), as :func:`jaxreg.batch.ridge_members`."""
    coefs, rrs = [], []
    for f in range(len(members.A)):
        op = members.A.operator(f)
        fac = kernel_factor(op, members.c[f], l2[f])
        with _config.compute_context(np.float64):
            T, rr = _combine(fac, jnp.asarray(levels), jnp.asarray(members.yy[f]))
        coefs.append(np.swapaxes(dual_coef(op, fac, T), 0, 1))
        rrs.append(np.asarray(rr).T)
    return np.stack(coefs), np.stack(rrs)
