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
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg.datafits import dot
from jaxreg.solvers import closed_form

__all__ = [
    "Frame",
    "Members",
    "design_member",
    "gram_member",
    "reduce",
    "to_original",
    "unreduce",
]

_EIN = functools.partial(jnp.einsum, precision=jax.lax.Precision.HIGHEST)


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


def _exponent(a, axis):
    """Exponent e with ``max|a|·2^-e`` in [0.5, 1) (0 where a is all zero)."""
    top = jnp.max(jnp.abs(a), axis=axis)
    return jnp.where(top > 0, jnp.frexp(top)[1], 0).astype(jnp.int32)


def _pow2(k):
    """Exactly ``2.0**k`` in float64 for integer arrays k in [-1022, 1023], built
    from its bits (``jnp.ldexp`` goes through ``pow``, which need not be exact)."""
    k = jnp.clip(k, -1022, 1023).astype(jnp.int64)
    return jax.lax.bitcast_convert_type((k + 1023) << 52, jnp.float64)


def _scale_pow2(a, e):
    """``a·2^-e``, exactly (two steps, so that no factor leaves the normal range)."""
    half = e // 2
    return a * _pow2(-half) * _pow2(half - e)


def _standardize_scale(var):
    sd = jnp.sqrt(jnp.maximum(var, 0.0))
    return jnp.where(sd > 0, sd, 1.0)


def _precondition(diag, diag_before, enabled):
    """Column norms ``g`` of the reduced design; 1 where a column has no variance
    left beyond rounding (after partialling out), or without preconditioning."""
    eps = jnp.finfo(diag.dtype).eps
    ok = enabled & (diag > 64 * eps * diag_before) & (diag > jnp.finfo(diag.dtype).tiny)
    return jnp.where(ok, jnp.sqrt(jnp.where(ok, diag, 1.0)), 1.0)


def _no_free(pP, T, dtype):
    return (
        jnp.zeros((0, 0), dtype),
        jnp.zeros((0, pP), dtype),
        jnp.zeros((0, T), dtype),
    )


def gram_member(
    S0,
    Sx,
    Sy,
    Sxx,
    Sxy,
    Syy,
    const,
    idx_P,
    idx_U,
    *,
    fit_intercept,
    standardize,
    precondition,
):
    """One member's reduced Gram problem from its weighted moments about a shift.

    ``S0 = Σ s``, ``Sx = Σ s·x``, ``Sy``, ``Sxx = Σ s·xxᵀ``, ``Sxy``, ``Syy`` with x, y
    measured from the shift; ``const`` (p,) flags columns constant over the
    member's rows (they centre to exactly 0). Moments about a shift near the data
    lose nothing in ``Sxx/S0 - m·mᵀ``; the naive shift 0 loses log10((mean/sd)²)
    digits.
    """
    if fit_intercept:
        mx, my = Sx / S0, Sy / S0
    else:
        mx, my = jnp.zeros_like(Sx), jnp.zeros_like(Sy)
    G = Sxx / S0 - jnp.outer(mx, mx)
    G = 0.5 * (G + G.T)
    c = Sxy / S0 - jnp.outer(mx, my)
    yy = jnp.maximum(Syy / S0 - my * my, 0.0)
    G = jnp.where(const[:, None] | const[None, :], 0.0, G)
    c = jnp.where(const[:, None], 0.0, c)
    scale = _standardize_scale(jnp.diag(G)) if standardize else jnp.ones_like(mx)
    G = G / jnp.outer(scale, scale)
    c = c / scale[:, None]
    GP, cP = G[idx_P][:, idx_P], c[idx_P]
    yy_red = yy
    if idx_U.shape[0]:
        G_UP, c_U = G[idx_U][:, idx_P], c[idx_U]
        M = closed_form.pinv_psd(G[idx_U][:, idx_U], terms=1)
        GP = GP - dot(G_UP.T, dot(M, G_UP))
        cP = cP - dot(G_UP.T, dot(M, c_U))
        yy_red = yy - jnp.sum(c_U * dot(M, c_U), axis=0)
        rank0 = jnp.round(jnp.trace(dot(M, G[idx_U][:, idx_U]))).astype(jnp.int32)
    else:
        M, G_UP, c_U = _no_free(GP.shape[0], c.shape[1], G.dtype)
        rank0 = jnp.zeros((), jnp.int32)
    g = _precondition(jnp.diag(GP), jnp.diag(G)[idx_P], precondition)
    GP = GP / jnp.outer(g, g)
    cP = cP / g[:, None]
    rank0 = rank0 + (1 if fit_intercept else 0)
    return Members(
        GP,
        cP,
        jnp.maximum(yy_red, 0.0),
        yy,
        cP,
        mx,
        scale,
        my,
        g,
        M,
        G_UP,
        c_U,
        jnp.zeros((0,), G.dtype),
        rank0,
    )


def design_member(
    Xc, Yc, s, pos, idx_P, idx_U, *, fit_intercept, standardize, precondition
):
    """One member's reduced design problem; ``s`` (n,) its weights summing to n,
    ``pos`` (n,) its rows with a positive weight, ``Xc``/``Yc`` about the shift."""
    n = Xc.shape[0]
    if fit_intercept:
        mx, my = dot(s, Xc) / n, dot(s, Yc) / n
        hi = jnp.max(jnp.where(pos[:, None], Xc, -jnp.inf), axis=0)
        lo = jnp.min(jnp.where(pos[:, None], Xc, jnp.inf), axis=0)
        Xm = jnp.where(hi == lo, 0.0, Xc - mx)
        Ym = Yc - my
    else:
        mx = jnp.zeros(Xc.shape[1], Xc.dtype)
        my = jnp.zeros(Yc.shape[1], Xc.dtype)
        Xm, Ym = Xc, Yc
    scale = (
        _standardize_scale(dot(s, Xm * Xm) / n) if standardize else jnp.ones_like(mx)
    )
    root = jnp.sqrt(s)[:, None]
    Xs, Ys = Xm / scale * root, Ym * root
    yy_total = jnp.sum(Ys * Ys, axis=0) / n
    XP = Xs[:, idx_P]
    lev = s / n if fit_intercept else jnp.zeros_like(s)
    rank0 = jnp.asarray(1 if fit_intercept else 0, jnp.int32)
    diag_before = jnp.sum(XP * XP, axis=0) / n
    if idx_U.shape[0]:
        XU = Xs[:, idx_U]
        G_UP, c_U = dot(XU.T, XP) / n, dot(XU.T, Ys) / n
        GU = dot(XU.T, XU) / n
        M = closed_form.pinv_psd(GU, terms=n)
        XP = XP - dot(XU, dot(M, G_UP))
        Ys = Ys - dot(XU, dot(M, c_U))
        lev = lev + jnp.sum(dot(XU, M) * XU, axis=1) / n
        rank0 = rank0 + jnp.round(jnp.trace(dot(M, GU))).astype(jnp.int32)
    else:
        M, G_UP, c_U = _no_free(XP.shape[1], Ys.shape[1], Xc.dtype)
    g = _precondition(jnp.sum(XP * XP, axis=0) / n, diag_before, precondition)
    XP = XP / g
    yy = jnp.sum(Ys * Ys, axis=0) / n
    return Members(
        XP,
        Ys,
        yy,
        yy_total,
        dot(XP.T, Ys) / n,
        mx,
        scale,
        my,
        g,
        M,
        G_UP,
        c_U,
        lev,
        rank0,
    )


def _constant_columns(Xc, pos):
    """Columns constant over the rows flagged in ``pos`` (one row per member)."""

    def one(mask):
        hi = jnp.max(jnp.where(mask[:, None], Xc, -jnp.inf), axis=0)
        lo = jnp.min(jnp.where(mask[:, None], Xc, jnp.inf), axis=0)
        return hi == lo

    # lax.map: one fused pass per member, never an (F, n, p) temporary.
    return jax.lax.map(one, pos)


def _gram_members(Xc, Yc, sw, gidx, gex, pos, partition, member):
    """Moments of every member from one pass over the rows: the total, minus the
    held-out rows of each fold (gathered: about n rows over all folds)."""
    Xw, Yw = Xc * sw[:, None], Yc * sw[:, None]
    Xg, Yg = Xc[gidx], Yc[gidx]  # (K, m, p), (K, m, T)
    Xgw, Ygw = Xg * gex[..., None], Yg * gex[..., None]

    def stack(total, part):
        # With a partition (K-fold, fold ids) the folds' parts add up to the
        # total, whose own pass is then dead code that XLA drops.
        if partition:
            total = jnp.sum(part, axis=0)
        return jnp.concatenate([total[None] - part, total[None]])

    S0 = stack(jnp.sum(sw), jnp.sum(gex, axis=1))
    Sx = stack(jnp.sum(Xw, axis=0), jnp.sum(Xgw, axis=1))
    Sy = stack(jnp.sum(Yw, axis=0), jnp.sum(Ygw, axis=1))
    Sxx = stack(dot(Xw.T, Xc), _EIN("kmp,kmq->kpq", Xgw, Xg))
    Sxy = stack(dot(Xw.T, Yc), _EIN("kmp,kmt->kpt", Xgw, Yg))
    Syy = stack(jnp.sum(Yw * Yc, axis=0), jnp.sum(Ygw * Yg, axis=1))
    const = _constant_columns(Xc, pos)
    return jax.vmap(member)(S0, Sx, Sy, Sxx, Sxy, Syy, const)


@functools.partial(
    jax.jit,
    static_argnames=(
        "fit_intercept",
        "standardize",
        "gram",
        "partition",
        "precondition",
        "column_exponents",
    ),
)
def reduce(
    X,
    Y,
    sw,
    s,
    pos,
    gidx,
    gex,
    idx_P,
    idx_U,
    *,
    fit_intercept,
    standardize,
    gram,
    partition,
    precondition=True,
    column_exponents=True,
):
    """Every member's reduced problem, the frame, and the shifted held-out rows.

    ``X`` (n, p), ``Y`` (n, T); ``sw`` (n,) sample weights summing to n; ``s``
    (F, n) each member's weights summing to n (design mode); ``pos`` (F, n) its
    rows with a positive weight; ``gidx``/``gex`` (K, m) the rows each fold holds
    out and their excluded weight (Gram mode: a fold's moments are the total minus
    those rows). ``column_exponents=False`` scales all columns by one power of two
    (for penalties that are not separable, such as the balls).

    Notes
    -----
    jit-compiled; static: fit_intercept, standardize, gram, partition,
    precondition, column_exponents; a new shape recompiles.
    """
    n = X.shape[0]
    x_exp = _exponent(X, axis=0)
    if not column_exponents:
        x_exp = jnp.full_like(x_exp, jnp.max(x_exp))
    y_exp = jnp.max(_exponent(Y, axis=0))
    Xs, Ys = _scale_pow2(X, x_exp), _scale_pow2(Y, y_exp)
    if fit_intercept:
        # Shift by the overall weighted mean: member means are then small and the
        # centring below loses nothing.
        shift_x, shift_y = dot(sw, Xs) / n, dot(sw, Ys) / n
    else:
        shift_x = jnp.zeros(X.shape[1], X.dtype)
        shift_y = jnp.zeros(Y.shape[1], X.dtype)
    Xc, Yc = Xs - shift_x, Ys - shift_y
    if fit_intercept:
        # A constant y centres to exactly 0 (then alpha_max is exactly 0); rounding
        # in its mean would leave noise for the solver to fit.
        used = (sw > 0)[:, None]
        flat = jnp.max(jnp.where(used, Ys, -jnp.inf), axis=0) == jnp.min(
            jnp.where(used, Ys, jnp.inf), axis=0
        )
        Yc = jnp.where(flat, 0.0, Yc)
    common = dict(idx_P=idx_P, idx_U=idx_U, precondition=precondition)
    common.update(fit_intercept=fit_intercept, standardize=standardize)
    if gram:
        if not fit_intercept:
            pos = jnp.zeros_like(pos)  # no centring: no constant-column rule
        member = functools.partial(gram_member, **common)
        members = _gram_members(Xc, Yc, sw, gidx, gex, pos, partition, member)
    else:
        member = functools.partial(design_member, **common)
        members = jax.vmap(member, in_axes=(None, None, 0, 0))(Xc, Yc, s, pos)
    frame = Frame(shift_x, shift_y, x_exp, y_exp)
    return members, frame, Xc[gidx], Yc[gidx]


@jax.jit
def unreduce(coef, members, frame, idx_P, idx_U):
    """Coefficients (F, T, k, p) and intercepts (F, T, k) in the scaled units from
    the reduced solutions ``coef`` (F, T, k, pP): ``w`` and ``b`` relative to the
    shift (what held-out scoring uses), and the intercept of unshifted data.

    Notes
    -----
    jit-compiled; a new shape recompiles.
    """
    F, T, k, _ = coef.shape
    p = members.x_mean.shape[1]
    w_P = coef / members.g[:, None, None, :]
    full = jnp.zeros((F, T, k, p), coef.dtype).at[..., idx_P].set(w_P)
    if idx_U.shape[0]:
        # w_U = M (c_U - G_UP w_P), the least-squares fit of the free features.
        rhs = jnp.swapaxes(members.c_U, 1, 2)[:, :, None, :] - _EIN(
            "fuq,ftkq->ftku", members.G_UP, w_P
        )
        full = full.at[..., idx_U].set(_EIN("fvu,ftku->ftkv", members.M, rhs))
    w = full / members.x_scale[:, None, None, :]
    b = members.y_mean[:, :, None] - _EIN("fp,ftkp->ftk", members.x_mean, w)
    b_total = frame.shift_y[None, :, None] + b - _EIN("p,ftkp->ftk", frame.shift_x, w)
    return w, b, b_total


def to_original(w, b_total, frame):
    """NumPy: coefficients and intercepts in the data's units, from the scaled ones
    (exact powers of two; a result beyond float64's range becomes inf)."""
    x_exp, y_exp = np.asarray(frame.x_exp), int(frame.y_exp)
    with np.errstate(over="ignore"):
        return (
            np.ldexp(np.asarray(w, np.float64), y_exp - x_exp),
            np.ldexp(np.asarray(b_total, np.float64), y_exp),
        )
