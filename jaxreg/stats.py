"""The one reducer: data (or its moments) to the reduced problem every solver sees.

Every solver in jaxreg solves, for one or several *members* (the fit on all the
data, and each cross-validation fold's training set),

    min_v 1/(2n)·||ys - Xs·v||² + h(v)

on the penalized features only, where ``Xs``/``ys`` are the data

1. scaled by exact powers of two (one per column of X, one for y), so that no
   moment, objective, gap or tolerance overflows or underflows, whatever the
   units of the data;
2. centred by the member's weighted means (computed about a common *shift*, so
   centring stays exact when the means are large next to the spread);
3. optionally standardized (the model's choice: the penalty then applies to the
   standardized coefficients);
4. multiplied row-wise by ``sqrt(sample weight)``;
5. with the unpenalized, unbounded features *partialled out*
   (Frisch–Waugh–Lovell): the others are projected onto the orthogonal complement
   of their span, and they are recovered by least squares afterwards, which keeps
   the dual of the reduced problem well defined;
6. preconditioned: each column divided by its norm ``g_j`` (the solver's choice,
   exact for separable penalties: ``v_j = g_j·w_j``), so that FISTA's convergence
   does not depend on the units of X.

Gram mode keeps ``G = XsᵀXs/n`` and ``c = Xsᵀys/n``, built from weighted moments
about the shift (:func:`gram_member`: the seam where streamed, sharded or merged
statistics come in); design mode keeps ``Xs`` and ``ys`` (:func:`design_member`).
Both are vmapped over the members. :func:`to_original` maps solutions back.

The same functions run on two backends (``ops``): NumPy on the host, where the
host BLAS is about twice as fast as XLA's CPU GEMM and nothing is compiled (the
default for NumPy data on the CPU), and jax.numpy inside a jit, on any device
(:func:`reduce`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg._config import vmap
from jaxreg.datafits import dot
from jaxreg.solvers import closed_form

__all__ = [
    "Frame",
    "Members",
    "design_member",
    "gram_member",
    "reduce",
    "to_original",
    "score",
    "score_predictions",
    "unreduce",
]

_HIGHEST = jax.lax.Precision.HIGHEST


class Ops:
    """The array operations of a backend: ``Ops(np)`` on the host, ``Ops(jnp)``
    inside a jit (full-precision products, never TF32)."""

    def __init__(self, xp):
        self.xp = xp

    def __hash__(self):
        return hash(self.xp.__name__)

    def __eq__(self, other):
        return isinstance(other, Ops) and other.xp is self.xp

    @property
    def host(self):
        return self.xp is np

    def dot(self, a, b):
        return np.matmul(a, b) if self.host else dot(a, b)

    def einsum(self, spec, *operands):
        if self.host:
            return np.einsum(spec, *operands, optimize=True)
        return jnp.einsum(spec, *operands, precision=_HIGHEST)

    def pow2(self, k, dtype):
        """Exactly ``2.0**k`` for integers k in the normal range of ``dtype``, from
        its bits (``ldexp`` through ``pow`` need not be exact)."""
        info = np.finfo(dtype)
        bias, mant = info.maxexp - 1, info.nmant  # 1023, 52 (127, 23 in float32)
        ints = np.int64 if np.dtype(dtype).itemsize == 8 else np.int32
        two = (self.xp.clip(k, 1 - bias, bias).astype(ints) + bias) << mant
        if self.host:
            return np.asarray(two).view(dtype)
        return jax.lax.bitcast_convert_type(two, dtype)

    def pinv_psd(self, A, *, terms):
        """Pseudo-inverse of a PSD matrix by eigh, with the one cutoff rule."""
        if not self.host:
            return closed_form.pinv_psd(A, terms=terms)
        e, Q = np.linalg.eigh(A)
        rel = closed_form.cutoff("eigh", A.shape[0], terms, A.dtype)
        keep = e > max(e.max(initial=0.0) * rel, np.finfo(A.dtype).tiny)
        return (Q * np.where(keep, 1.0 / np.where(keep, e, 1.0), 0.0)) @ Q.T

    def map(self, fn, batch):
        """``fn`` on every row of ``batch``, stacked (one pass per row)."""
        if batch.shape[0] == 1:
            return fn(batch[0])[None]
        if self.host:
            return np.stack([fn(row) for row in batch])
        return jax.lax.map(fn, batch)


NUMPY, JAX = Ops(np), Ops(jnp)


class Members(NamedTuple):
    """Reduced problems, one per member (leading axis F)."""

    A: jax.Array  # (pP, pP) Gram, or (n, pP) design
    c: jax.Array  # (pP, T) Xsᵀys/n, or (n, T) ys
    yy: jax.Array  # (T,) ||ys||²/n of the reduced problem
    yy_total: jax.Array  # (T,) ||y - ȳ||²/n, weighted: the scale of tol
    q0: jax.Array  # (pP, T) Xsᵀys/n: the negative gradient at v = 0
    x_mean: jax.Array  # (p,) relative to the shift
    x_scale: jax.Array  # (p,) standardization (1 without)
    y_mean: jax.Array  # (T,) relative to the shift
    g: jax.Array  # (pP,) preconditioner: v = g·w_std
    M: jax.Array  # (pU, pU) pseudo-inverse of X_UᵀX_U/n
    G_UP: jax.Array  # (pU, pP) X_UᵀX_P/n (before preconditioning)
    c_U: jax.Array  # (pU, T) X_Uᵀys/n
    lev: jax.Array  # (n,) leverage of the intercept and X_U (design); (0,) in Gram
    rank0: jax.Array  # () rank of the intercept and X_U


class Frame(NamedTuple):
    """What maps the scaled, shifted units back to the data's: ``X = 2^x_exp·(X' +
    shift_x)``, ``y = 2^y_exp·(y' + shift_y)``."""

    shift_x: jax.Array  # (p,)
    shift_y: jax.Array  # (T,)
    x_exp: jax.Array  # (p,) int32
    y_exp: jax.Array  # () int32


# With preconditioning (every column then has norm 1), columns of X whose largest
# magnitude lies within 2^±SAFE_EXPONENT are not rescaled: their moments cannot
# overflow or underflow (n < 2^100 rows in float64, 2^40 in float32), and the data
# is not copied. Beyond, and always for y (small, and the scale of every gap and
# of a float32 solve), the scale is an exact power of two that brings the largest
# magnitude into [0.5, 1).
SAFE_EXPONENT = {np.dtype(np.float64): 400, np.dtype(np.float32): 40}


def _exponent(xp, a, axis, safe=0):
    """Exponent e for ``a·2^-e`` (per column): 0 within 2^±safe, else the one that
    brings the largest magnitude into [0.5, 1)."""
    top = xp.maximum(xp.max(a, axis=axis), -xp.min(a, axis=axis))  # no |a| copy
    e = xp.where(top > 0, xp.frexp(top)[1], 0)
    return xp.where(xp.abs(e) > safe, e, 0).astype(np.int32)


def _scale_pow2(ops, a, e):
    """``a·2^-e``, exactly (two steps, so that no factor leaves the normal range)."""
    if ops.host and not np.any(e):
        return a  # no copy of the data when nothing is rescaled
    half = e // 2
    return a * ops.pow2(-half, a.dtype) * ops.pow2(half - e, a.dtype)


def _standardize_scale(xp, var):
    sd = xp.sqrt(xp.maximum(var, 0.0))
    return xp.where(sd > 0, sd, 1.0)


def _precondition(xp, diag, diag_before, enabled):
    """Column norms ``g`` of the reduced design; 1 where a column has no variance
    left beyond rounding (after partialling out), or without preconditioning."""
    eps, tiny = np.finfo(diag.dtype).eps, np.finfo(diag.dtype).tiny
    ok = enabled & (diag > 64 * eps * diag_before) & (diag > tiny)
    return xp.where(ok, xp.sqrt(xp.where(ok, diag, 1.0)), 1.0)


def _no_free(xp, pP, T, dtype):
    return xp.zeros((0, 0), dtype), xp.zeros((0, pP), dtype), xp.zeros((0, T), dtype)


def _partial_out(ops, G, c, idx_P, idx_U, terms):
    """Frisch–Waugh–Lovell on Gram statistics: the penalized block with the free
    columns projected out, and what recovers them (M, G_UP, c_U, their rank)."""
    xp = ops.xp
    GP, cP = G[idx_P][:, idx_P], c[idx_P]
    if not idx_U.shape[0]:
        return GP, cP, *_no_free(xp, GP.shape[0], c.shape[1], G.dtype), 0
    GU, G_UP, c_U = G[idx_U][:, idx_U], G[idx_U][:, idx_P], c[idx_U]
    M = ops.pinv_psd(GU, terms=terms)
    GP = GP - ops.dot(G_UP.T, ops.dot(M, G_UP))
    cP = cP - ops.dot(G_UP.T, ops.dot(M, c_U))
    rank = xp.round(xp.trace(ops.dot(M, GU))).astype(np.int32)
    return GP, cP, M, G_UP, c_U, rank


def gram_member(S0, Sx, Sy, Sxx, Sxy, Syy, const, idx_P, idx_U, *, fit_intercept,
                standardize, precondition, ops=JAX):  # fmt: skip
    """One member's reduced Gram problem from its weighted moments about a shift.

    ``S0 = Σ s``, ``Sx = Σ s·x``, ``Sy``, ``Sxx = Σ s·xxᵀ``, ``Sxy``, ``Syy`` with x, y
    measured from the shift; ``const`` (p,) flags columns constant over the
    member's rows (they centre to exactly 0). Moments about a shift near the data
    lose nothing in ``Sxx/S0 - m·mᵀ``; the naive shift 0 loses log10((mean/sd)²)
    digits. This is the seam where streamed, sharded or merged statistics enter.
    """
    xp = ops.xp
    mx, my = (Sx / S0, Sy / S0) if fit_intercept else (0.0 * Sx, 0.0 * Sy)
    G = Sxx / S0 - xp.outer(mx, mx)
    G = xp.where(const[:, None] | const[None, :], 0.0, 0.5 * (G + G.T))
    c = xp.where(const[:, None], 0.0, Sxy / S0 - xp.outer(mx, my))
    yy = xp.maximum(Syy / S0 - my * my, 0.0)
    scale = _standardize_scale(xp, xp.diag(G)) if standardize else 1.0 + 0.0 * mx
    G, c = G / xp.outer(scale, scale), c / scale[:, None]
    GP, cP, M, G_UP, c_U, rank = _partial_out(ops, G, c, idx_P, idx_U, 1)
    g = _precondition(xp, xp.diag(GP), xp.diag(G)[idx_P], precondition)
    GP, cP = GP / xp.outer(g, g), cP / g[:, None]
    # ||ys||²/n of the reduced problem: minus the part the free columns explain
    yy_red = yy - xp.sum(c_U * ops.dot(M, c_U), axis=0) if idx_U.shape[0] else yy
    rank0 = xp.asarray(rank + (1 if fit_intercept else 0), np.int32)
    return Members(GP, cP, xp.maximum(yy_red, 0.0), yy, cP, mx, scale, my, g, M,
                   G_UP, c_U, xp.zeros((0,), G.dtype), rank0)  # fmt: skip


def design_member(Xc, Yc, s, pos, idx_P, idx_U, *, fit_intercept, standardize,
                  precondition, ops=JAX):  # fmt: skip
    """One member's reduced design problem; ``s`` (n,) its weights summing to n,
    ``pos`` (n,) its rows with a positive weight, ``Xc``/``Yc`` about the shift."""
    xp, dot_ = ops.xp, ops.dot
    n = Xc.shape[0]
    if ops.host:
        Xm, mx, my, Ym = _host_centre(Xc, Yc, s, pos, fit_intercept)
        return _design_rest(Xm, Ym, s, mx, my, idx_P, idx_U, standardize=standardize,
                            precondition=precondition,
                            fit_intercept=fit_intercept)  # fmt: skip
    if fit_intercept:
        mx, my = dot_(s, Xc) / n, dot_(s, Yc) / n
        Xm = xp.where(_constant(xp, Xc, pos), 0.0, Xc - mx)
        Ym = Yc - my
    else:
        mx, my = xp.zeros(Xc.shape[1], Xc.dtype), xp.zeros(Yc.shape[1], Xc.dtype)
        Xm, Ym = Xc, Yc
    return _design_rest(Xm, Ym, s, mx, my, idx_P, idx_U, standardize=standardize,
                        precondition=precondition, fit_intercept=fit_intercept,
                        ops=ops)  # fmt: skip


def _host_centre(Xc, Yc, s, pos, fit_intercept):
    """On the host: the centred design in one new array (the later steps then
    work in place: a 200 MB design is not copied five times)."""
    n = Xc.shape[0]
    if fit_intercept:
        mx, my = s @ Xc / n, s @ Yc / n
        Xm = Xc - mx
        Xm[:, _constant(np, Xc, pos)] = 0.0
        return Xm, mx, my, Yc - my
    zeros = np.zeros(Xc.shape[1], Xc.dtype)
    return np.array(Xc), zeros, np.zeros(Yc.shape[1], Xc.dtype), Yc


def _design_rest(Xm, Ym, s, mx, my, idx_P, idx_U, *, standardize, precondition,
                 fit_intercept, ops=NUMPY):  # fmt: skip
    """:func:`design_member` after the centring; on the host ``Xm`` is its own
    array, and is scaled in place."""
    xp, dot_ = ops.xp, ops.dot
    n, p = Xm.shape
    host = ops.host
    if host:
        var = np.einsum("i,ij,ij->j", s, Xm, Xm) / n
    else:
        var = dot_(s, Xm * Xm) / n
    scale = _standardize_scale(xp, var) if standardize else 1.0 + 0.0 * mx
    root = xp.sqrt(s)[:, None]
    if host:
        Xm /= scale
        Xm *= root
        Xs, Ys = Xm, Ym * root
    else:
        Xs, Ys = Xm / scale * root, Ym * root
    yy_total = xp.sum(Ys * Ys, axis=0) / n
    every = idx_P.shape[0] == p and not idx_U.shape[0]
    XP = Xs if every else Xs[:, idx_P]  # idx_P is then 0..p-1
    lev = s / n if fit_intercept else 0.0 * s
    rank0 = 1 if fit_intercept else 0
    diag_before = _col_sq(xp, XP) / n
    if idx_U.shape[0]:
        XU = Xs[:, idx_U]
        G_UP, c_U, GU = dot_(XU.T, XP) / n, dot_(XU.T, Ys) / n, dot_(XU.T, XU) / n
        M = ops.pinv_psd(GU, terms=n)
        XP = XP - dot_(XU, dot_(M, G_UP))
        Ys = Ys - dot_(XU, dot_(M, c_U))
        lev = lev + xp.sum(dot_(XU, M) * XU, axis=1) / n
        rank0 = rank0 + xp.round(xp.trace(dot_(M, GU))).astype(np.int32)
    else:
        M, G_UP, c_U = _no_free(xp, XP.shape[1], Ys.shape[1], Xm.dtype)
    g = _precondition(xp, _col_sq(xp, XP) / n, diag_before, precondition)
    if host:
        XP /= g
    else:
        XP = XP / g
    yy = xp.sum(Ys * Ys, axis=0) / n
    return Members(XP, Ys, yy, yy_total, dot_(XP.T, Ys) / n, mx, scale, my, g, M,
                   G_UP, c_U, lev, xp.asarray(rank0, np.int32))  # fmt: skip


def _col_sq(xp, A):
    """Σᵢ A_ij² per column (no squared copy on the host)."""
    if xp is np:
        return np.einsum("ij,ij->j", A, A)
    return xp.sum(A * A, axis=0)


def _constant(xp, Xc, mask):
    """Columns constant over the rows flagged in ``mask``."""
    if xp is np and mask.all():  # every row: no masked copies of the data
        return Xc.max(axis=0) == Xc.min(axis=0)
    hi = xp.max(xp.where(mask[:, None], Xc, -np.inf), axis=0)
    lo = xp.min(xp.where(mask[:, None], Xc, np.inf), axis=0)
    return hi == lo


def _gram_members(ops, Xc, Yc, sw, gidx, gex, pos, partition, member):
    """Moments of every member from one pass over the rows: the total, minus the
    held-out rows of each fold (gathered: about n rows over all folds)."""
    xp = ops.xp
    unit = ops.host and bool(np.all(sw == 1.0))  # no weighted copy of the data
    Xw, Yw = (Xc, Yc) if unit else (Xc * sw[:, None], Yc * sw[:, None])
    const = ops.map(lambda mask: _constant(xp, Xc, mask), pos)
    total = (xp.sum(sw), xp.sum(Xw, axis=0), xp.sum(Yw, axis=0), ops.dot(Xw.T, Xc),
             ops.dot(Xw.T, Yc), xp.sum(Yw * Yc, axis=0))  # fmt: skip
    if gidx.shape[0] == 0:  # the all-data member alone
        return _stack([member(*total, const[0])], xp)
    Xg, Yg = Xc[gidx], Yc[gidx]  # (K, m, p), (K, m, T)
    Xgw, Ygw = Xg * gex[..., None], Yg * gex[..., None]
    parts = (xp.sum(gex, axis=1), xp.sum(Xgw, axis=1), xp.sum(Ygw, axis=1),
             ops.einsum("kmp,kmq->kpq", Xgw, Xg), ops.einsum("kmp,kmt->kpt", Xgw, Yg),
             xp.sum(Ygw * Yg, axis=1))  # fmt: skip
    # With a partition (K-fold, fold ids) the folds' parts add up to the total,
    # whose own pass is then dead code that XLA drops.
    pairs = list(zip(total, parts, strict=True))
    total = [xp.sum(b, axis=0) if partition else a for a, b in pairs]
    moments = [
        xp.concatenate([a[None] - b, a[None]])
        for a, b in zip(total, parts, strict=True)
    ]
    if ops.host:
        return _stack([member(*m) for m in zip(*moments, const, strict=True)], xp)
    return jax.vmap(member)(*moments, const)


def _stack(rows, xp):
    if len(rows) == 1:  # one member: a view, not a copy of its design
        return jax.tree_util.tree_map(lambda a: xp.asarray(a)[None], rows[0])
    return jax.tree_util.tree_map(lambda *a: xp.stack(a), *rows)


def _reduce(X, Y, sw, s, pos, gidx, gex, idx_P, idx_U, *, fit_intercept,
            standardize, gram, partition, precondition=True, column_exponents=True,
            ops=JAX):  # fmt: skip
    """Every member's reduced problem, the frame, and the shifted held-out rows
    (see :func:`reduce`)."""
    xp = ops.xp
    n = X.shape[0]
    safe = SAFE_EXPONENT[np.dtype(X.dtype)] if precondition else 0
    x_exp = _exponent(xp, X, axis=0, safe=safe)
    if not column_exponents:
        x_exp = xp.full_like(x_exp, xp.max(x_exp))
    y_exp = xp.max(_exponent(xp, Y, axis=0))
    Xs, Ys = _scale_pow2(ops, X, x_exp), _scale_pow2(ops, Y, y_exp)
    if fit_intercept:
        # Shift by the overall weighted mean: member means are then small and the
        # centring below loses nothing. A constant y centres to exactly 0 (then
        # alpha_max is exactly 0), not to the rounding of its mean.
        shift_x, shift_y = ops.dot(sw, Xs) / n, ops.dot(sw, Ys) / n
        flat = _constant(xp, Ys, sw > 0)
    else:
        shift_x, shift_y = xp.zeros(X.shape[1], X.dtype), xp.zeros(Y.shape[1], X.dtype)
        flat = xp.zeros(Y.shape[1], bool)
    Xc, Yc = Xs - shift_x, xp.where(flat, 0.0, Ys - shift_y)
    common = dict(idx_P=idx_P, idx_U=idx_U, precondition=precondition, ops=ops)
    common.update(fit_intercept=fit_intercept, standardize=standardize)
    if gram:
        if not fit_intercept:
            pos = pos & False  # no centring: no constant-column rule
        member = functools.partial(gram_member, **common)
        members = _gram_members(ops, Xc, Yc, sw, gidx, gex, pos, partition, member)
    elif ops.host:
        member = functools.partial(design_member, **common)
        rows = zip(s, pos, strict=True)
        members = _stack([member(Xc, Yc, a, b) for a, b in rows], xp)
    else:
        member = functools.partial(design_member, **common)
        members = vmap(member, (None, None, 0, 0), s.shape[0])(Xc, Yc, s, pos)
    frame = Frame(shift_x, shift_y, x_exp, y_exp)
    return members, frame, Xc[gidx], Yc[gidx]


_STATIC = ("fit_intercept", "standardize", "gram", "partition", "precondition",
           "column_exponents")  # fmt: skip
_reduce_jit = jax.jit(_reduce, static_argnames=_STATIC + ("ops",))


def reduce(X, Y, sw, s, pos, gidx, gex, idx_P, idx_U, *, host=False, **options):
    """Every member's reduced problem, the frame, and the shifted held-out rows.

    ``X`` (n, p), ``Y`` (n, T); ``sw`` (n,) sample weights summing to n; ``s``
    (F, n) each member's weights summing to n (design mode); ``pos`` (F, n) its
    rows with a positive weight; ``gidx``/``gex`` (K, m) the rows each fold holds
    out and their excluded weight (Gram mode: a fold's moments are the total minus
    those rows). ``options``: fit_intercept, standardize, gram, partition,
    precondition, column_exponents (False scales all columns by one power of two,
    for penalties that are not separable, such as the balls). ``host=True`` runs
    on NumPy arrays with the host's BLAS, nothing compiled; otherwise one
    jit-compiled program (a new shape or option recompiles).
    """
    sw, s, gex = (a.astype(X.dtype) for a in (sw, s, gex))
    args = (X, Y, sw, s, pos, gidx, gex, idx_P, idx_U)
    if host:
        return _reduce(*(np.asarray(a) for a in args), ops=NUMPY, **options)
    return _reduce_jit(*args, ops=JAX, **options)


def unreduce(coef, members, frame, idx_P, idx_U, inplace=False):
    """Coefficients (F, T, k, p) and intercepts (F, T, k) in the scaled units from
    the reduced solutions ``coef`` (F, T, k, pP): ``w`` and ``b`` relative to the
    shift (what held-out scoring uses), and the intercept of unshifted data.
    NumPy float64, on the host (a few small products). ``inplace``: ``coef`` is
    the caller's to give up (a writable float64 array is then scaled in place:
    the path is not held twice)."""
    ops, xp = NUMPY, np
    members, frame = (jax.tree_util.tree_map(np.asarray, t) for t in (members, frame))
    coef = np.asarray(coef)
    own = inplace and coef.dtype == np.float64 and coef.flags.writeable
    coef = coef if own else coef.astype(np.float64)  # a copy: ours from here on
    F, T, k, _ = coef.shape
    p = members.x_mean.shape[1]
    w_P = np.divide(coef, members.g[:, None, None, :], out=coef)
    if idx_P.shape[0] == p:  # every feature penalized, in order: no copy
        full = w_P
    else:
        full = xp.zeros((F, T, k, p), coef.dtype)
        full[..., idx_P] = w_P
    if idx_U.shape[0]:
        # w_U = M (c_U - G_UP w_P), the least-squares fit of the free features.
        rhs = xp.swapaxes(members.c_U, 1, 2)[:, :, None, :] - ops.einsum(
            "fuq,ftkq->ftku", members.G_UP, w_P
        )
        full[..., idx_U] = ops.einsum("fvu,ftku->ftkv", members.M, rhs)
    w = full
    w /= members.x_scale[:, None, None, :]  # full is this function's own
    # products over p by matmul (einsum's bmm path copies w, the whole path)
    b = (
        members.y_mean[:, :, None]
        - np.matmul(w, members.x_mean[:, None, :, None])[..., 0]
    )
    shift = frame.shift_y[None, :, None] - np.matmul(w, frame.shift_x)
    return w, b, shift + b


def to_original(w, b_total, frame, inplace=False):
    """NumPy: coefficients and intercepts in the data's units, from the scaled ones
    (exact powers of two; a result beyond float64's range becomes inf);
    ``inplace``: the coefficients scaled in ``w`` itself (a float64 array)."""
    x_exp, y_exp = np.asarray(frame.x_exp), int(frame.y_exp)
    w = np.asarray(w, np.float64)
    with np.errstate(over="ignore"):
        return (
            np.ldexp(w, y_exp - x_exp, out=w if inplace else None),
            np.ldexp(np.asarray(b_total, np.float64), y_exp),
        )


def score(w, b, Xg, Yg, gtw):
    """Held-out weighted MSE and R² (K, T, k) of every fold, in the scaled units,
    from the shifted coefficients ``w``, ``b`` (:func:`unreduce`); NumPy."""
    Xg, Yg, gtw = (np.asarray(a, np.float64) for a in (Xg, Yg, gtw))
    K = Xg.shape[0]
    pred = np.einsum("kmp,ktap->kmta", Xg, w[:K], optimize=True) + b[:K][:, None]
    return score_predictions(pred, Yg, gtw)


def score_predictions(pred, Yg, gtw):
    """Weighted MSE and R² (K, T, k) of the predictions ``pred`` (K, m, T, k) of
    each fold's held-out targets ``Yg`` (K, m, T) with weights ``gtw`` (K, m)."""
    sq = (Yg[..., None] - pred) ** 2  # (K, m, T, k)
    sse = np.einsum("km,kmta->kta", gtw, sq, optimize=True)
    total = gtw.sum(axis=1)
    ybar = np.einsum("km,kmt->kt", gtw, Yg) / total[:, None]
    sst = np.einsum("km,kmt->kt", gtw, (Yg - ybar[:, None, :]) ** 2)[..., None]
    return sse / total[:, None, None], r2_of(sse, sst)


def r2_of(sse, sst):
    """R² from the residual and total sums of squares, with r2_score's
    convention for a constant held-out target: 1 if fitted exactly, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1.0 - sse / sst, np.where(sse > 0, 0.0, 1.0))
