"""Ridge paths in closed form: every alpha, and its leave-one-out error, from one
decomposition.

Objective, for every alpha of the grid (the path convention of jaxreg)::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha/2·Σ_j p_j w_j²

with sample weights ``s`` rescaled to sum to n, penalty factors ``p`` (0 = not
penalized) and an unpenalized intercept ``b``. scikit-learn's ``Ridge(alpha=a)``
minimises ``Σ_i s_i (y_i - x_i·w - b)² + a·||w||²`` with its raw weights, which is
this objective at ``alpha = a / Σ_i s_i`` (``a / n`` without weights); the
textbook form ``1/(2n)·||y - Xw - b||² + λ·||w||²`` is ``alpha = 2λ``.

How it works. After centring (weighted means), scaling rows by ``sqrt(s)``,
dividing column j by ``sqrt(p_j)`` and projecting out the unpenalized columns, the
problem is standard ridge on a matrix ``A`` (n × m) with ``A/√n = U diag(σ) Vᵀ``.
With ``u = UᵀY/√n`` and ``e = σ²`` (the eigenvalues of ``AᵀA/n``)::

    w(alpha)   = V diag(σ / (e + alpha)) u                 (per alpha: O(m·r))
    hat matrix = 1·sᵀ/n + H_U + U diag(e / (e + alpha)) Uᵀ

``U, σ, V`` come from one of three factorizations (``method``): ``"eigh"`` of the
Gram matrix ``AᵀA/n`` (n ≥ m), ``"dual"``, the eigendecomposition of the kernel
``AAᵀ/n`` (m > n), or ``"svd"`` of ``A`` (the most accurate, the slowest).
Components with ``e`` below a relative cutoff are dropped (a pseudo-inverse), so
``alpha = 0`` gives the minimum-norm least-squares solution.

The leave-one-out residual of sample i is ``r_i / (1 - h_i)`` (Rifkin & Lippert
2007), with the intercept's leverage ``s_i/n`` in ``h_i``, exactly as
scikit-learn's ``RidgeCV`` computes it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _memory, stats
from jaxreg import _validation as V
from jaxreg import path as _path
from jaxreg._config import compute_context, resolve_device
from jaxreg.path import PathResult

__all__ = [
    "RidgeCVResult",
    "alpha_from_sklearn",
    "alpha_to_sklearn",
    "ridge_alpha_max",
    "ridge_cv",
    "ridge_loo",
    "ridge_path",
]

METHODS = ("auto", "eigh", "svd", "dual")
CRITERIA = ("loo", "gcv")
MULTIOUTPUT = ("uniform_average", "raw_values")
# glmnet starts its ridge path at the lasso alpha_max computed with this l1_ratio.
RIDGE_L1_RATIO = 1e-3
# The ridge grid starts 1000× above the lasso's alpha_max; eps = 1e-6 ends it at
# 1e-3 of the lasso alpha_max, where lasso_path's default grid ends. (glmnet's
# 1e-4 stops at 0.1 of it, above the leave-one-out optimum of most designs.)
DEFAULT_EPS = 1e-6

_HIGHEST = jax.lax.Precision.HIGHEST


def _einsum(spec, *operands):
    return jnp.einsum(spec, *operands, precision=_HIGHEST)


# --------------------------------------------------------------------------- #
# Core (jit-compiled, arrays in, arrays out)
# --------------------------------------------------------------------------- #
class _Reduced(NamedTuple):
    """Centred, weighted, scaled data with the unpenalized columns projected out."""

    A: jax.Array  # (n, m) penalized columns / sqrt(p_j), projected
    Y: jax.Array  # (n, t) targets, projected
    c: jax.Array  # (m, t) AᵀY/n
    yy: jax.Array  # (t,) ||Y||²/n after projection
    tss: jax.Array  # (t,) weighted, centred ||y - ȳ||²/n: the deviance scale
    x_mean: jax.Array  # (p,)
    x_scale: jax.Array  # (p,)
    y_mean: jax.Array  # (t,)
    inv_root_pf: jax.Array  # (m,)
    M: jax.Array  # (p_U, p_U) pseudo-inverse of X_UᵀX_U/n
    G_UP: jax.Array  # (p_U, m) X_UᵀA/n before projection
    C_U: jax.Array  # (p_U, t) X_UᵀY/n before projection
    lev: jax.Array  # (n,) leverage of the intercept and the unpenalized columns
    rank0: jax.Array  # () rank of that unpenalized part (intercept included)
    n_pos: jax.Array  # () number of samples with a positive weight


class _Factor(NamedTuple):
    """``A/√n = U diag(√e) Vᵀ`` restricted to the kept components."""

    e: jax.Array  # (r,) eigenvalues of AᵀA/n, 0 where dropped
    keep: jax.Array  # (r,) bool
    u: jax.Array  # (r, t) UᵀY/√n, 0 where dropped
    V: jax.Array  # (m, r), or (m, 0) for the dual method (not needed)
    U: jax.Array  # (n, r), 0 where dropped; (n, 0) when not asked for


def _rank_cutoff(n, m, dtype):
    # Singular values of an n × m matrix below max(n, m)·eps·σ_max are noise
    # (numpy.linalg.lstsq's default); used by method="svd".
    return max(n, m) * float(jnp.finfo(dtype).eps)


def _eig_cutoff(size, terms, dtype):
    """Relative cutoff for the eigenvalues of a size × size Gram (or kernel) matrix
    whose entries are sums of ``terms`` products.

    The eigensolver's error is about size·eps·e_max (numpy.linalg.matrix_rank's
    rule for a Hermitian matrix) and rounding in the sums adds about
    sqrt(terms)·eps·e_max; below that a component is noise. The number of terms
    must not enter linearly: in float32 with n = 100000 rows, n·eps·e_max exceeds
    the small eigenvalues of any correlated design and would drop them all.
    """
    return max(size, math.sqrt(terms)) * float(jnp.finfo(dtype).eps)


def _reduce(X, Y, sw, inv_root_pf, idx_P, idx_U, fit_intercept, standardize):
    # fit_intercept and standardize are traced booleans: one compilation serves
    # every combination.
    n = X.shape[0]
    dt = X.dtype
    x_mean = jnp.where(fit_intercept, stats.dot(sw, X) / n, 0.0)
    y_mean = jnp.where(fit_intercept, stats.dot(sw, Y) / n, 0.0)
    used = (sw > 0)[:, None]
    # A column constant over the weighted rows centres to exactly 0; rounding in
    # its mean would otherwise leave noise that standardize blows up.
    constant = jnp.max(jnp.where(used, X, -jnp.inf), axis=0) == jnp.min(
        jnp.where(used, X, jnp.inf), axis=0
    )
    Xc = jnp.where(fit_intercept & constant, 0.0, X - x_mean)
    Yc = Y - y_mean
    sd = jnp.sqrt(stats.dot(sw, Xc * Xc) / n)
    scale = jnp.where(standardize & (sd > 0), sd, jnp.ones_like(sd))
    Xc = Xc / scale
    root_w = jnp.sqrt(sw)
    Xs = Xc * root_w[:, None]
    Ys = Yc * root_w[:, None]
    tss = jnp.sum(Ys * Ys, axis=0) / n
    lev = jnp.where(fit_intercept, sw / n, 0.0)
    rank0 = fit_intercept.astype(jnp.int32)
    p_U = idx_U.shape[0]
    A = Xs if p_U == 0 else Xs[:, idx_P]
    A = A * inv_root_pf
    if p_U:
        # Frisch–Waugh–Lovell: the unpenalized columns are fitted exactly, so the
        # penalized block is ridge on the residual of its projection onto them.
        XU = Xs[:, idx_U]
        ev, W = jnp.linalg.eigh(stats.dot(XU.T, XU) / n)
        keep = ev > jnp.maximum(ev[-1] * _eig_cutoff(p_U, n, dt), jnp.finfo(dt).tiny)
        ev_safe = jnp.where(keep, ev, 1.0)
        M = stats.dot(W * jnp.where(keep, 1.0 / ev_safe, 0.0), W.T)
        QU = stats.dot(XU, W) * jnp.where(keep, 1.0 / jnp.sqrt(n * ev_safe), 0.0)
        G_UP = stats.dot(XU.T, A) / n
        C_U = stats.dot(XU.T, Ys) / n
        A = A - stats.dot(QU, stats.dot(QU.T, A))
        Ys = Ys - stats.dot(QU, stats.dot(QU.T, Ys))
        lev = lev + jnp.sum(QU * QU, axis=1)
        rank0 = rank0 + jnp.sum(keep)
    else:
        m = A.shape[1]
        M = jnp.zeros((0, 0), dt)
        G_UP = jnp.zeros((0, m), dt)
        C_U = jnp.zeros((0, Y.shape[1]), dt)
    c = stats.dot(A.T, Ys) / n
    yy = jnp.sum(Ys * Ys, axis=0) / n
    n_pos = jnp.sum(sw > 0).astype(dt)
    return _Reduced(A, Ys, c, yy, tss, x_mean, scale, y_mean, inv_root_pf, M, G_UP,
                    C_U, lev, rank0, n_pos)


def _decompose(A, Y, c, method, need_u):
    n, m = A.shape
    dt = A.dtype
    root_n = jnp.sqrt(jnp.asarray(n, dt))
    tiny = jnp.finfo(dt).tiny
    if method == "svd":
        if n >= m:
            U, S, Vt = jnp.linalg.svd(A, full_matrices=False)
        else:
            # The CPU SVD of a wide matrix is several times slower than that of
            # its transpose (measured 4.3 s against 0.5 s at 100 × 2000).
            Vm, S, Ut = jnp.linalg.svd(A.T, full_matrices=False)
            U, Vt = Ut.T, Vm.T
        keep = S > jnp.maximum(S[0] * _rank_cutoff(n, m, dt), tiny)
        e = jnp.where(keep, S * S / n, 0.0)
        U = U * keep
        u = stats.dot(U.T, Y) / root_n
        # U comes for free here (and in the dual): keep it, so that the path and
        # the leave-one-out share one compilation.
        return _Factor(e, keep, u, Vt.T, U)
    if method == "eigh":
        e, Vm = jnp.linalg.eigh(stats.dot(A.T, A) / n)
        keep = e > jnp.maximum(e[-1] * _eig_cutoff(m, n, dt), tiny)
        e_safe = jnp.where(keep, e, 1.0)
        # u = UᵀY/√n with U = A V / (√n σ), so u = Vᵀc / σ.
        root_e = jnp.sqrt(e_safe)
        u = jnp.where(keep[:, None], stats.dot(Vm.T, c) / root_e[:, None], 0.0)
        if need_u:
            U = stats.dot(A, Vm) * jnp.where(keep, 1.0 / (root_n * root_e), 0.0)
        else:
            U = jnp.zeros((n, 0), dt)
        return _Factor(jnp.where(keep, e, 0.0), keep, u, Vm, U)
    # dual: the kernel AAᵀ/n = U diag(e) Uᵀ shares its non-zero eigenvalues with AᵀA/n.
    e, Q = jnp.linalg.eigh(stats.dot(A, A.T) / n)
    keep = e > jnp.maximum(e[-1] * _eig_cutoff(n, m, dt), tiny)
    U = Q * keep
    u = stats.dot(U.T, Y) / root_n
    return _Factor(jnp.where(keep, e, 0.0), keep, u, jnp.zeros((m, 0), dt), U)


@functools.partial(jax.jit, static_argnames=("method", "need_u"))
def _factorize(X, Y, sw, inv_root_pf, idx_P, idx_U, fit_intercept, standardize, *,
               method, need_u):
    """Reduce the problem and factorize it once; also return the ridge alpha_max.

    Notes
    -----
    jit-compiled; static: method, need_u; a new X.shape, number of targets or
    number of unpenalized features recompiles.
    """
    red = _reduce(X, Y, sw, inv_root_pf, idx_P, idx_U, fit_intercept, standardize)
    fac = None if method == "none" else _decompose(red.A, red.Y, red.c, method, need_u)
    # Lasso alpha_max at l1_ratio = 0.001, max over the targets: with A's column j
    # scaled by 1/sqrt(p_j), |x_jᵀy/n|/(l1_ratio·p_j) = |c_j|/(l1_ratio·sqrt(p_j)).
    amax = jnp.max(jnp.abs(red.c) * inv_root_pf[:, None]) / RIDGE_L1_RATIO
    return red, fac, amax


def _shrinkage(fac, alphas):
    """``1/(e + alpha)`` per (alpha, component), 0 for dropped components."""
    den = fac.e[None, :] + alphas[:, None]
    return jnp.where(fac.keep[None, :], 1.0 / jnp.where(fac.keep[None, :], den, 1.0),
                     0.0)


def _coefs(red, fac, alphas, inv, idx_P, idx_U, dual):
    """Coefficients (k, t, p) and intercepts (k, t) on the original scale."""
    n = red.A.shape[0]
    k, t, p = alphas.shape[0], red.Y.shape[1], red.x_mean.shape[0]
    scaled_u = inv[:, :, None] * fac.u[None]  # (k, r, t): u/(e + alpha)
    if dual:
        # w = Aᵀ U diag(1/(e + alpha)) u / √n: two GEMMs, no m×r matrix V needed.
        T = _einsum("nr,krt->knt", fac.U, scaled_u)
        w = _einsum("nm,knt->ktm", red.A, T) / jnp.sqrt(jnp.asarray(n, red.A.dtype))
    else:
        w = _einsum("mr,krt->ktm", fac.V, jnp.sqrt(fac.e)[None, :, None] * scaled_u)
        # An all-zero column gets exactly 0 (the eigenvectors mix in rounding).
        w = jnp.where(jnp.all(red.A == 0, axis=0), 0.0, w)
    full = jnp.zeros((k, t, p), w.dtype).at[..., idx_P].set(w * red.inv_root_pf)
    if idx_U.shape[0]:
        rhs = red.C_U.T[None] - _einsum("um,ktm->ktu", red.G_UP, w)
        full = full.at[..., idx_U].set(_einsum("vu,ktu->ktv", red.M, rhs))
    coefs = full / red.x_scale
    intercepts = red.y_mean[None] - _einsum("ktp,p->kt", coefs, red.x_mean)
    return coefs, intercepts


def _rss(red, fac, alphas, inv):
    """Weighted residual sum of squares / n, (k, t), without cancellation.

    The residual splits into the part of Y outside the range of A (independent of
    alpha) and ``α/(e + α)·u`` inside it; both are sums of squares.
    """
    rss_out = jnp.maximum(red.yy - jnp.sum(fac.u * fac.u, axis=0), 0.0)
    inside = (alphas[:, None] * inv)[:, :, None] * fac.u[None]
    return rss_out[None] + jnp.sum(inside * inside, axis=1)


def _loo(red, fac, alphas, inv):
    """Exact leave-one-out mean squared error (k, t), weighted as RidgeCV."""
    n, m = red.A.shape
    dt = red.A.dtype
    root_n = jnp.sqrt(jnp.asarray(n, dt))
    U = fac.U
    U2 = U * U
    r = jnp.sum(fac.keep) + red.rank0
    # 1 - h_i(alpha) = d0_i + alpha·Σ_k U_ik²/(e_k + alpha) and the residual is
    # r_i(alpha) = r0_i + alpha·√n·Σ_k U_ik u_k/(e_k + alpha), where d0 and r0 are
    # the parts outside the column space: no cancellation for small alpha.
    d0 = jnp.clip(1.0 - red.lev - jnp.sum(U2, axis=1), 0.0, 1.0)
    d0 = jnp.where((r >= n) | (d0 <= 10 * _rank_cutoff(n, m, dt)), 0.0, d0)
    r0 = red.Y - root_n * stats.dot(U, fac.u)
    num_s = root_n * _einsum("nr,krt->knt", U, inv[:, :, None] * fac.u[None])
    den_s = stats.dot(inv, U2.T)  # (k, n)
    # Where sample i lies in the column space (d0_i = 0, always when the fit can
    # interpolate, e.g. p > n), numerator and denominator are both O(alpha):
    # divide both by alpha, which also gives the alpha -> 0 limit (the
    # minimum-norm interpolant's leave-one-out error).
    inside = d0 == 0.0
    num = jnp.where(inside[None, :, None], num_s,
                    r0[None] + alphas[:, None, None] * num_s)
    den = jnp.where(inside[None, :], den_s, d0[None, :] + alphas[:, None] * den_s)
    den_safe = jnp.where(den > 0, den, 1.0)[:, :, None]
    err = jnp.where(den[:, :, None] > 0, num / den_safe, jnp.inf)
    return jnp.mean(err * err, axis=1)


def _gcv(red, fac, alphas, inv, rss):
    """Generalized cross-validation (k, t): (RSS/n) / (1 - df/n)².

    n counts the samples with a positive weight (the others are absent), so
    zero-weight rows change nothing; RSS/n is the weighted mean Σ s_i r_i²/Σ s_i.
    """
    n = red.n_pos
    dt = red.A.dtype
    # n - df = (n - rank) + alpha·Σ_k 1/(e_k + alpha), the trace of I - H.
    n_out = n - (jnp.sum(fac.keep) + red.rank0).astype(dt)
    resid_trace = n_out + alphas * jnp.sum(inv, axis=1)
    plain = rss / (resid_trace / n)[:, None] ** 2
    # An interpolating fit (rank n): RSS and (n - df)² are both O(alpha²).
    scaled_u = inv[:, :, None] * fac.u[None]
    interp = n**2 * jnp.sum(scaled_u * scaled_u, axis=1) / (
        jnp.sum(inv, axis=1)[:, None] ** 2
    )
    return jnp.where(n_out > 0, plain, interp)


@functools.partial(jax.jit, static_argnames=("dual", "with_path", "criterion"))
def _evaluate(red, fac, alphas, idx_P, idx_U, *, dual, with_path, criterion):
    """Everything per alpha from the factorization: GEMMs only, no solve.

    Notes
    -----
    jit-compiled; static: dual, with_path, criterion; new alpha values do not
    recompile, a new number of alphas does.
    """
    inv = _shrinkage(fac, alphas)
    out = {}
    rss = _rss(red, fac, alphas, inv)
    if with_path:
        out["coefs"], out["intercepts"] = _coefs(red, fac, alphas, inv, idx_P, idx_U,
                                                 dual)
        out["rss"] = rss
    if criterion == "loo":
        out["cv"] = _loo(red, fac, alphas, inv)
    elif criterion == "gcv":
        out["cv"] = _gcv(red, fac, alphas, inv, rss)
    return out


# --------------------------------------------------------------------------- #
# Shell (validation, defaults, NumPy results)
# --------------------------------------------------------------------------- #
def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


class _Setup:
    """Validated inputs, the reduced problem and (unless ``factor=False``) its
    factorization."""

    def __init__(self, X, y, *, fit_intercept, standardize, sample_weight,
                 penalty_factor, method, dtype, device, need_u, factor=True):
        X, y = V.check_X_y(X, y, y_ndim=(1, 2))
        self.fit_intercept = _check_flag("fit_intercept", fit_intercept)
        standardize = _check_flag("standardize", standardize)
        _check_choice("method", method, METHODS)
        self.dtype = V.check_dtype(dtype)
        self.device = resolve_device(device)
        n, p = X.shape
        self.n, self.p = n, p
        self.one_target = y.ndim == 1
        pf = V.check_penalty_factor(penalty_factor, p)
        sw = V.check_sample_weight(sample_weight, n)
        self.sw = np.ones(n) if sw is None else sw
        self.idx_P = np.flatnonzero(pf > 0)
        self.idx_U = np.flatnonzero(pf == 0)
        m = self.idx_P.size
        if method == "auto":
            # Gram eigh costs n·m² + m³, the kernel's n²·m + n³: factor the smaller.
            method = "eigh" if n >= m else "dual"
        self.method = method
        dt = self.dtype
        # The factorization holds an m x m (eigh) or n x n (dual) matrix and its
        # eigenvectors, on top of X and its centred copy.
        side = m if method == "eigh" else n
        _memory.check_memory(n, p, 1, dt, "design", self.device,
                             extra=2 * side * side + n * min(n, p))
        with compute_context(dt, self.device):
            Y = jnp.asarray(y, dt)
            self.red, self.fac, amax = _factorize(
                jnp.asarray(X, dt), Y[:, None] if self.one_target else Y,
                jnp.asarray(self.sw, dt),
                jnp.asarray(1.0 / np.sqrt(pf[self.idx_P]), dt),
                jnp.asarray(self.idx_P), jnp.asarray(self.idx_U),
                jnp.asarray(self.fit_intercept), jnp.asarray(standardize),
                method=method if factor else "none",
                need_u=need_u and method == "eigh",
            )
        self.alpha_max = float(amax)

    def grid(self, alphas, eps):
        return _path._grid(alphas, self.alpha_max, eps)

    def evaluate(self, grid, *, with_path, criterion):
        with compute_context(self.dtype, self.device):
            out = _evaluate(
                self.red, self.fac, jnp.asarray(grid, self.dtype),
                jnp.asarray(self.idx_P), jnp.asarray(self.idx_U),
                dual=self.method == "dual", with_path=with_path, criterion=criterion,
            )
            return {key: np.asarray(val) for key, val in out.items()}

    def path_result(self, grid, out) -> PathResult:
        dt = np.dtype(self.dtype)
        k = len(grid)
        coefs, intercepts = out["coefs"], out["intercepts"]
        tss = np.asarray(self.red.tss, np.float64)
        rss = np.asarray(out["rss"], np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(tss > 0, 1.0 - rss / np.where(tss > 0, tss, 1.0), 0.0)
        # 2-D y: the average over targets (as r2_score's "uniform_average").
        dev_ratio = np.clip(ratio, 0.0, 1.0).mean(axis=1)
        df = (coefs != 0).any(axis=1).sum(axis=-1)
        if self.one_target:
            coefs, intercepts = coefs[:, 0, :], intercepts[:, 0]
        return PathResult(
            alphas=np.asarray(grid, dt), coefs=coefs.astype(dt),
            intercepts=intercepts.astype(dt), gaps=np.zeros(k, dt),
            n_iter=np.zeros(k, np.int64), converged=np.ones(k, bool),
            df=df.astype(np.int64), dev_ratio=dev_ratio.astype(dt), l1_ratio=0.0,
            alpha_max=self.alpha_max, tol=0.0, gap_tol=0.0, mode=self.method,
            strategy="closed_form", dtype=str(dt),
        )


def _check_loo_alphas(alphas):
    """Validated alphas in the order given (an int means the default grid)."""
    V.check_alphas(alphas)  # raises on bad input; it also sorts, unwanted here
    if isinstance(alphas, numbers.Integral):
        return int(alphas)
    return np.atleast_1d(np.asarray(alphas, dtype=np.float64))


def ridge_path(X, y, *, alphas=100, eps=DEFAULT_EPS, fit_intercept=True,
               standardize=False, sample_weight=None, penalty_factor=None,
               method="auto", dtype=None, device=None) -> PathResult:
    """Ridge path in closed form: every alpha from one decomposition.

    Minimises, for every alpha::

        1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha/2·Σ_j p_j w_j²

    which is scikit-learn's ``Ridge(alpha=n·alpha)`` (``alpha·Σ s_i`` with raw
    weights, see :func:`alpha_to_sklearn`) and ``ElasticNet(l1_ratio=0)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        All targets share one decomposition.
    alphas : int or array-like
        Grid size or the alphas themselves (non-negative, sorted decreasing; 0 is
        least squares, minimum-norm when it is not unique). The default grid is
        geometric from glmnet's ridge ``alpha_max`` (the lasso ``alpha_max`` at
        ``l1_ratio=0.001``, i.e. ``1000·max_j |x̃_jᵀ(y - ȳ)|/(n·p_j)``, the max
        over targets for 2-D y) down to ``eps·alpha_max``.
    eps : float in (0, 1)
        Ratio of the smallest to the largest alpha of the default grid. The
        default 1e-6 ends the grid at 1e-3 of the lasso ``alpha_max``, where the
        default lasso grid ends (glmnet's 1e-4 stops 100 times higher).
    fit_intercept : bool
        Centre X and y (weighted means); the intercept is never penalized.
    standardize : bool
        Penalize the coefficients of columns scaled to unit (weighted, 1/n)
        variance; coefficients are reported on the original scale.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative; rescaled to sum to n.
    penalty_factor : array-like of shape (n_features,), optional
        Per-feature multiplier of the penalty; 0 leaves a feature unpenalized
        (fitted exactly by least squares, jointly with the others).
    method : {"auto", "eigh", "svd", "dual"}
        ``"eigh"``: eigendecomposition of the Gram matrix (``"auto"`` when
        n >= number of penalized features); ``"dual"``: of the n × n kernel
        (``"auto"`` otherwise); ``"svd"``: SVD of X, the most accurate for
        ill-conditioned X as alpha -> 0, and the slowest.
    dtype : {None, "float64", "float32"}
        float64 unless float32 is asked for (the global JAX config is untouched).
    device : {None, "cpu", "gpu"} or jax.Device

    Returns
    -------
    PathResult
        ``coefs`` (k, p) or (k, n_targets, p), ``intercepts`` (k,) or
        (k, n_targets); ``gaps`` 0, ``n_iter`` 0 and ``converged`` True (closed
        form); ``df`` the number of features with a non-zero coefficient (for any
        target); ``dev_ratio`` the fraction of weighted deviance explained,
        averaged over targets for 2-D y; ``l1_ratio`` 0; ``mode`` the
        decomposition used; ``strategy`` "closed_form".

    Raises
    ------
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.

    Notes
    -----
    Cost: one factorization (``n·m² + m³`` for eigh, ``n²·m + n³`` for dual), then
    O(p·r) per alpha and target with no solve. Eigen-components below
    ``max(s, sqrt(t))·eps_machine`` times the largest eigenvalue are dropped, with
    ``s`` the size of the factorized matrix and ``t`` the length of the sums that
    form it (``max(n, m)·eps_machine·σ_max`` for the singular values of
    ``"svd"``): a pseudo-inverse, so alpha -> 0 tends to the minimum-norm least-squares
    solution on the numerically non-singular subspace. Both stages are
    jit-compiled; new alpha values do not recompile, a new shape of X, a new
    number of alphas or a new method does.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.ridge import ridge_path
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> path = ridge_path(X, X @ [1.0, 0.0, -2.0, 0.5, 0.0], alphas=20)
    >>> path.coefs.shape, path.mode
    ((20, 5), 'eigh')
    """
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
    setup = _Setup(X, y, fit_intercept=fit_intercept, standardize=standardize,
                   sample_weight=sample_weight, penalty_factor=penalty_factor,
                   method=method, dtype=dtype, device=device, need_u=False)
    grid = setup.grid(alphas, eps)
    out = setup.evaluate(grid, with_path=True, criterion=None)
    return setup.path_result(grid, out)


def _average(values, multioutput, one_target):
    values = np.asarray(values, np.float64)
    if multioutput == "uniform_average" or one_target:
        return values.mean(axis=1)
    return values


def ridge_loo(X, y, *, alphas, criterion="loo", multioutput="uniform_average",
              eps=DEFAULT_EPS, fit_intercept=True, sample_weight=None,
              penalty_factor=None, method="auto", dtype=None,
              device=None) -> np.ndarray:
    """Exact leave-one-out mean squared error (or GCV) of ridge for every alpha.

    For the ridge objective of :func:`ridge_path`, the leave-one-out model of
    sample i minimises the same objective without sample i, with the penalty of
    the full data (``Σ_{k≠i} s_k r_k² + n·alpha·Σ_j p_j w_j²``), its intercept
    refitted. Its error is ``e_i = r_i/(1 - h_i)`` with the hat-matrix diagonal
    ``h_i`` (intercept leverage ``s_i/n`` included), so every alpha costs GEMMs
    on one decomposition, as in scikit-learn's ``RidgeCV``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    alphas : int or array-like
        The alphas (non-negative, in the path convention), or an int: the
        default grid of :func:`ridge_path` with that many alphas (same ``eps``).
        Results follow the order given.
    criterion : {"loo", "gcv"}
        ``"loo"``: ``Σ_i s_i e_i² / n``, the weighted mean squared leave-one-out
        error. With weights summing to n this is minus scikit-learn's
        ``RidgeCV().best_score_`` at that alpha; with raw weights sklearn's value
        is this times ``Σ s_raw / n``. ``"gcv"``: generalized cross-validation
        ``(Σ_i s_i r_i²/n) / (1 - df/n)²``, ``df = trace(H)`` (the intercept and
        the unpenalized features included) and n the number of samples with a
        positive weight.
    multioutput : {"uniform_average", "raw_values"}
        For 2-D y: the mean over targets (k,) (scikit-learn's ``RidgeCV``
        score), or one column per target (k, n_targets).
    eps, fit_intercept, sample_weight, penalty_factor, method, dtype, device
        As in :func:`ridge_path`.

    Returns
    -------
    ndarray of shape (k,) or (k, n_targets)
        ``inf`` where a sample has leverage 1 and no leave-one-out prediction.
        At alpha = 0 with an interpolating fit (p >= n) the alpha -> 0 limit is
        returned.

    Notes
    -----
    Needs the n × r left factor U as well (for ``method="eigh"`` one more
    ``n·m²`` GEMM than :func:`ridge_path`; not for ``criterion="gcv"``).

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.ridge import ridge_loo
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = X @ [1.0, -1.0, 0.5] + rng.normal(size=40)
    >>> ridge_loo(X, y, alphas=[10.0, 0.1, 0.0]).round(2)
    array([3.74, 1.05, 1.03])
    """
    alphas = _check_loo_alphas(alphas)
    eps = V.check_eps(eps)
    _check_choice("criterion", criterion, CRITERIA)
    _check_choice("multioutput", multioutput, MULTIOUTPUT)
    setup = _Setup(X, y, fit_intercept=fit_intercept, standardize=False,
                   sample_weight=sample_weight, penalty_factor=penalty_factor,
                   method=method, dtype=dtype, device=device,
                   need_u=criterion == "loo")
    grid = setup.grid(alphas, eps)
    out = setup.evaluate(grid, with_path=False, criterion=criterion)
    return _average(out["cv"], multioutput, setup.one_target)


@dataclasses.dataclass(frozen=True, repr=False)
class RidgeCVResult:
    """Cross-validated ridge from one decomposition.

    Attributes
    ----------
    alphas : ndarray (k,)
        Decreasing.
    cv_values : ndarray (k,)
        Leave-one-out MSE (or GCV) per alpha, averaged over targets.
    criterion : str
        ``"loo"`` or ``"gcv"``.
    index_best : int
        The minimiser of ``cv_values`` (the largest alpha among ties).
    alpha_best : float
    coef : ndarray (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_best``.
    intercept : float or ndarray (n_targets,)
    path : PathResult
        The whole path on ``alphas``.
    """

    alphas: np.ndarray
    cv_values: np.ndarray
    criterion: str
    index_best: int
    alpha_best: float
    coef: np.ndarray
    intercept: float | np.ndarray
    path: PathResult

    def __repr__(self) -> str:
        return (
            f"RidgeCVResult({self.criterion}: alpha_best={self.alpha_best:.4g} "
            f"(index {self.index_best} of {len(self.alphas)}), "
            f"cv={self.cv_values[self.index_best]:.4g})"
        )


def ridge_cv(X, y, *, alphas=100, criterion="loo", eps=DEFAULT_EPS,
             fit_intercept=True, sample_weight=None, penalty_factor=None,
             method="auto", dtype=None, device=None) -> RidgeCVResult:
    """Ridge path and its leave-one-out error (or GCV), one decomposition for both.

    Minimises the objective of :func:`ridge_path` for every alpha and scores
    each alpha as :func:`ridge_loo`; the selected alpha minimises the score
    averaged over targets (scikit-learn's ``RidgeCV`` with ``cv=None``:
    ``alpha_ = n·alpha_best``, ``best_score_ = -cv_values[index_best]`` with
    weights summing to n).

    Parameters
    ----------
    X, y, alphas, eps, fit_intercept, sample_weight, penalty_factor, method,
    dtype, device
        As in :func:`ridge_path`.
    criterion : {"loo", "gcv"}
        As in :func:`ridge_loo`.

    Returns
    -------
    RidgeCVResult

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.ridge import ridge_cv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> res = ridge_cv(X, X @ [1.0, 2.0, 0.0, -1.0] + rng.normal(size=60), alphas=30)
    >>> res.coef.shape
    (4,)
    """
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
    _check_choice("criterion", criterion, CRITERIA)
    setup = _Setup(X, y, fit_intercept=fit_intercept, standardize=False,
                   sample_weight=sample_weight, penalty_factor=penalty_factor,
                   method=method, dtype=dtype, device=device,
                   need_u=criterion == "loo")
    grid = setup.grid(alphas, eps)
    out = setup.evaluate(grid, with_path=True, criterion=criterion)
    path = setup.path_result(grid, out)
    cv_values = _average(out["cv"], "uniform_average", True)
    best = int(np.argmin(np.where(np.isnan(cv_values), np.inf, cv_values)))
    intercept = path.intercepts[best]
    return RidgeCVResult(
        alphas=path.alphas, cv_values=cv_values, criterion=criterion,
        index_best=best, alpha_best=float(path.alphas[best]),
        coef=path.coefs[best],
        intercept=float(intercept) if np.ndim(intercept) == 0 else intercept,
        path=path,
    )


def ridge_alpha_max(X, y, *, fit_intercept=True, standardize=False,
                    sample_weight=None, penalty_factor=None, dtype=None) -> float:
    """The top of the default ridge grid: the lasso alpha_max at l1_ratio=0.001.

    ``max_j |x̃_jᵀ(ỹ - ȳ)| / (n·0.001·p_j)`` over the penalized features on the
    centred, weighted (and standardized) data with the unpenalized features
    projected out; the max over targets for 2-D y. This is glmnet's choice.
    """
    setup = _Setup(X, y, fit_intercept=fit_intercept, standardize=standardize,
                   sample_weight=sample_weight, penalty_factor=penalty_factor,
                   method="auto", dtype=dtype, device=None, need_u=False,
                   factor=False)
    return setup.alpha_max


def _check_conversion(alpha, n_samples, sample_weight):
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if sample_weight is None:
        total = float(n_samples)
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 0:
            sw = np.full(n_samples, float(sw))
        if sw.shape != (n_samples,) or not (np.isfinite(sw).all() and (sw >= 0).all()):
            raise ValueError(
                f"sample_weight must be {n_samples} finite non-negative weights, got "
                f"shape {sw.shape}."
            )
        total = float(sw.sum())
        if not total > 0:
            raise ValueError(f"sample_weight must have a positive sum, got {total!r}.")
    a = np.asarray(alpha, dtype=np.float64)
    if not (np.isfinite(a).all() and (a >= 0).all()):
        raise ValueError(f"alpha must be finite and non-negative, got {alpha!r}.")
    return a, total


def alpha_from_sklearn(alpha, n_samples, *, sample_weight=None):
    """Path alpha equal to scikit-learn's ``Ridge(alpha=alpha)``.

    ``Σ_i s_i r_i² + a·||w||²`` (raw weights) is ``(Σ s_i/n)`` times the path
    objective with ``alpha = a/Σ_i s_i``; ``a/n`` without weights.
    """
    a, total = _check_conversion(alpha, n_samples, sample_weight)
    return a / total if a.ndim else float(a) / total


def alpha_to_sklearn(alpha, n_samples, *, sample_weight=None):
    """scikit-learn ``Ridge`` alpha equal to the path ``alpha``: ``alpha·Σ_i s_i``."""
    a, total = _check_conversion(alpha, n_samples, sample_weight)
    return a * total if a.ndim else float(a) * total
