"""Ridge in closed form: one factorization, every alpha, its leave-one-out error.

On a reduced problem (:mod:`jaxreg.stats`) whose penalty is ``alpha/2·Σ_j l2_j·v_j²``,
the columns are first divided by ``sqrt(l2_j)``, so the penalty is isotropic. With
``A/√n = U diag(√e) Vᵀ`` (``e`` the eigenvalues of ``AᵀA/n``) and ``u = UᵀY/√n``::

    v(alpha)   = V diag(√e / (e + alpha)) u              (per alpha: O(m·r))
    hat matrix = H_0 + U diag(e / (e + alpha)) Uᵀ        (H_0: intercept, free columns)

``U, e, V`` come from one of three factorizations (``method``): ``"eigh"`` of the
Gram matrix ``AᵀA/n``, ``"dual"``, the eigendecomposition of the kernel ``AAᵀ/n``,
or ``"svd"`` of ``A`` (the most accurate, the slowest). The Gram form needs only
``G`` and ``c`` (sufficient statistics); the others need the design.

One cutoff rule drops the components below the noise level of the factorization
that computed them (:func:`cutoff`), so alpha = 0 is the minimum-norm
least-squares solution on the numerically non-singular subspace; the same rule
serves every pseudo-inverse in jaxreg (:func:`pinv_psd`).

The leave-one-out residual of sample i is ``r_i / (1 - h_i)`` (Rifkin & Lippert
2007), with the intercept's leverage ``s_i/n`` in ``h_i``, as scikit-learn's
``RidgeCV`` computes it.

References
----------
Rifkin & Lippert (2007), Notes on regularized least squares. MIT-CSAIL-TR-2007-025.
Golub, Heath & Wahba (1979), Generalized cross-validation as a method for choosing
a good ridge parameter. Technometrics 21(2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Factor",
    "METHODS",
    "column_scale",
    "cutoff",
    "dual_combination",
    "factor_kernel",
    "factorize",
    "loo_errors",
    "pinv_psd",
    "ridge",
]

METHODS = ("eigh", "svd", "dual")
_HIGHEST = jax.lax.Precision.HIGHEST


def _dot(a, b):
    return jnp.matmul(a, b, precision=_HIGHEST)


def _einsum(spec, *operands):
    return jnp.einsum(spec, *operands, precision=_HIGHEST)


def cutoff(method: str, size: int, terms: int, dtype) -> float:
    """Relative cutoff on the eigenvalues ``e`` (of ``AᵀA/n``) of a factorization.

    ``"eigh"``/``"dual"`` factor a size × size matrix whose entries are sums of
    ``terms`` products: the eigensolver's error is about size·eps·e_max
    (numpy.linalg.matrix_rank's rule for a Hermitian matrix) and rounding in the
    sums adds about sqrt(terms)·eps·e_max. The number of terms must not enter
    linearly: in float32 with 100000 rows, n·eps·e_max exceeds the small
    eigenvalues of any correlated design. ``"svd"`` resolves singular values down
    to max(n, m)·eps·σ_max (numpy.linalg.lstsq's default), so its cutoff on
    ``e = σ²/n`` is the square of that.
    """
    eps = float(jnp.finfo(dtype).eps)
    if method == "svd":
        return (max(size, terms) * eps) ** 2
    return max(size, math.sqrt(terms)) * eps


def _keep(e, method, size, terms):
    rel = cutoff(method, size, terms, e.dtype)
    return e > jnp.maximum(jnp.max(e) * rel, jnp.finfo(e.dtype).tiny)


def pinv_psd(A, *, terms: int):
    """Pseudo-inverse of a symmetric positive semi-definite matrix, by eigh."""
    e, Q = jnp.linalg.eigh(A)
    keep = _keep(e, "eigh", A.shape[0], terms)
    inv = jnp.where(keep, 1.0 / jnp.where(keep, e, 1.0), 0.0)
    return _dot(Q * inv, Q.T)


class Factor(NamedTuple):
    """``A/√n = U diag(√e) Vᵀ`` on the kept components (``A`` column-scaled)."""

    e: jax.Array  # (r,) eigenvalues of AᵀA/n, 0 where dropped
    keep: jax.Array  # (r,) bool
    u: jax.Array  # (r, t) UᵀY/√n, 0 where dropped
    V: jax.Array  # (m, r); (m, 0) for the dual form (not needed there)
    U: jax.Array  # (n, r), 0 where dropped; (n, 0) when not asked for
    d: jax.Array  # (m,) the column scaling 1/sqrt(l2)


def column_scale(l2):
    """``1/sqrt(l2)`` where ``l2 > 0``, else 0: the column scaling that makes the
    penalty isotropic."""
    return jnp.where(l2 > 0, 1.0 / jnp.sqrt(jnp.where(l2 > 0, l2, 1.0)), 0.0)


def factor_gram(G, c, l2, *, terms: int):
    """Factor from sufficient statistics ``G = AᵀA/n`` (m, m), ``c = AᵀY/n`` (m, t)."""
    # An all-zero column gets exactly 0 (the eigenvectors mix in rounding).
    d = jnp.where(jnp.all(G == 0, axis=0), 0.0, column_scale(l2))
    e, V = jnp.linalg.eigh(G * d[:, None] * d[None, :])
    keep = _keep(e, "eigh", G.shape[0], terms)
    e_safe = jnp.where(keep, e, 1.0)
    # u = UᵀY/√n with U = A V / (√n σ), so u = Vᵀc / σ.
    u = jnp.where(
        keep[:, None], _dot(V.T, d[:, None] * c) / jnp.sqrt(e_safe)[:, None], 0.0
    )
    n_dummy = jnp.zeros((0, e.shape[0]), G.dtype)
    return Factor(jnp.where(keep, e, 0.0), keep, u, V, n_dummy, d)


def factorize(A, Y, l2, method: str, need_u: bool):
    """Factor from the design ``A`` (n, m) and targets ``Y`` (n, t)."""
    n, m = A.shape
    dt = A.dtype
    d = jnp.where(jnp.all(A == 0, axis=0), 0.0, column_scale(l2))
    A = A * d
    root_n = jnp.sqrt(jnp.asarray(n, dt))
    if method == "svd":
        if n >= m:
            U, S, Vt = jnp.linalg.svd(A, full_matrices=False)
        else:
            # The CPU SVD of a wide matrix is several times slower than that of
            # its transpose (measured 4.3 s against 0.5 s at 100 × 2000).
            Vm, S, Ut = jnp.linalg.svd(A.T, full_matrices=False)
            U, Vt = Ut.T, Vm.T
        e = S * S / n
        keep = _keep(e, "svd", max(n, m), 0)
        U = U * keep
        # U comes for free here (and in the dual): keep it, so that the path and
        # the leave-one-out share one compilation.
        return Factor(jnp.where(keep, e, 0.0), keep, _dot(U.T, Y) / root_n, Vt.T, U, d)
    if method == "eigh":
        fac = factor_gram(_dot(A.T, A) / n, _dot(A.T, Y) / n, jnp.ones(m, dt), terms=n)
        if need_u:
            root_e = jnp.sqrt(jnp.where(fac.keep, fac.e, 1.0))
            U = _dot(A, fac.V) * jnp.where(fac.keep, 1.0 / (root_n * root_e), 0.0)
            fac = fac._replace(U=U)
        else:
            fac = fac._replace(U=jnp.zeros((n, 0), dt))
        return fac._replace(d=d)
    # dual: the kernel AAᵀ/n = U diag(e) Uᵀ shares its non-zero eigenvalues with AᵀA/n.
    return factor_kernel(_dot(A, A.T) / n, Y, d, terms=m)


def factor_kernel(K, Y, d, *, terms: int):
    """Factor from the kernel ``K = (A·diag(d))(A·diag(d))ᵀ/n`` (n, n) and ``Y``
    (n, t); ``d`` (m,) the column scaling, ``terms`` the number of columns summed
    into each entry. The coefficients are then ``d∘(A·diag(d))ᵀ·T`` with ``T``
    from :func:`dual_combination`: ``A`` itself may be an operator (sparse X)."""
    n = K.shape[0]
    e, Q = jnp.linalg.eigh(K)
    keep = _keep(e, "dual", n, terms)
    U = Q * keep
    return Factor(
        jnp.where(keep, e, 0.0),
        keep,
        _dot(U.T, Y) / jnp.sqrt(jnp.asarray(n, K.dtype)),
        jnp.zeros((d.shape[0], 0), K.dtype),
        U,
        d,
    )


def dual_combination(fac, inv):
    """``T = U·diag(1/(e + alpha))·u/√n`` (k, n, t) of a kernel factor: the
    coefficients are ``w = d∘(A·diag(d))ᵀT``."""
    n = fac.U.shape[0]
    T = _einsum("nr,krt->knt", fac.U, inv[:, :, None] * fac.u[None])
    return T / jnp.sqrt(jnp.asarray(n, T.dtype))


def shrinkage(fac, alphas):
    """``1/(e + alpha)`` per (alpha, component), 0 for dropped components."""
    den = fac.e[None, :] + alphas[:, None]
    keep = fac.keep[None, :]
    return jnp.where(keep, 1.0 / jnp.where(keep, den, 1.0), 0.0)


def ridge(fac, alphas, A=None):
    """Coefficients (k, t, m) in the reduced coordinates, and ``rr = ||r||²/n``
    (k, t) of the penalized block, for every alpha.

    ``A`` (the unscaled design) is needed for the dual form only.
    """
    inv = shrinkage(fac, alphas)
    if fac.V.shape[1] == 0:
        # w = Aᵀ U diag(1/(e + alpha)) u / √n: two GEMMs, no m×r matrix V needed.
        w = _einsum("nm,knt->ktm", A * fac.d, dual_combination(fac, inv))
    else:
        scaled_u = inv[:, :, None] * fac.u[None]  # (k, r, t): u/(e + alpha)
        w = _einsum("mr,krt->ktm", fac.V, jnp.sqrt(fac.e)[None, :, None] * scaled_u)
    return w * fac.d, inv


def residual_ss(fac, yy, alphas, inv):
    """``||r||²/n`` (k, t) without cancellation: the part of Y outside the range of
    A (independent of alpha) plus ``alpha/(e + alpha)·u`` inside it."""
    rss_out = jnp.maximum(yy - jnp.sum(fac.u * fac.u, axis=0), 0.0)
    inside = (alphas[:, None] * inv)[:, :, None] * fac.u[None]
    return rss_out[None] + jnp.sum(inside * inside, axis=1)


def effective_df(fac, alphas, rank0):
    """The trace of the hat matrix: ``rank0 + Σ_k e_k/(e_k + alpha)`` (k,)."""
    inv = shrinkage(fac, alphas)
    return rank0 + jnp.sum(fac.e[None, :] * inv, axis=1)


def loo(fac, Y, lev, rank0, alphas, inv):
    """Exact leave-one-out mean squared error (k, t), weighted as RidgeCV.

    ``Y`` (n, t) the reduced targets, ``lev`` (n,) the leverage of the intercept
    and the free columns, ``rank0`` their rank.
    """
    err = loo_errors(fac, Y, lev, rank0, alphas, inv)
    return jnp.mean(err * err, axis=1)


def loo_errors(fac, Y, lev, rank0, alphas, inv, n=None):
    """The leave-one-out residuals (k, b, t) of :func:`loo`, for the rows of
    ``fac.U``, ``Y`` and ``lev`` (all n, or a block of b of them: ``n`` the
    total)."""
    n = Y.shape[0] if n is None else n
    dt = Y.dtype
    root_n = jnp.sqrt(jnp.asarray(n, dt))
    U = fac.U
    U2 = U * U
    r = jnp.sum(fac.keep) + rank0
    # 1 - h_i(alpha) = d0_i + alpha·Σ_k U_ik²/(e_k + alpha) and the residual is
    # r_i(alpha) = r0_i + alpha·√n·Σ_k U_ik u_k/(e_k + alpha), where d0 and r0 are
    # the parts outside the column space: no cancellation for small alpha.
    d0 = jnp.clip(1.0 - lev - jnp.sum(U2, axis=1), 0.0, 1.0)
    rank_noise = max(n, fac.d.shape[0]) * float(jnp.finfo(dt).eps)
    d0 = jnp.where((r >= n) | (d0 <= 10 * rank_noise), 0.0, d0)
    r0 = Y - root_n * _dot(U, fac.u)
    num_s = root_n * _einsum("nr,krt->knt", U, inv[:, :, None] * fac.u[None])
    den_s = _dot(inv, U2.T)  # (k, n)
    # Where sample i lies in the column space (d0_i = 0, always when the fit can
    # interpolate, e.g. p > n), numerator and denominator are both O(alpha):
    # divide both by alpha, which also gives the alpha -> 0 limit (the
    # minimum-norm interpolant's leave-one-out error).
    inside = d0 == 0.0
    num = jnp.where(
        inside[None, :, None], num_s, r0[None] + alphas[:, None, None] * num_s
    )
    den = jnp.where(inside[None, :], den_s, d0[None, :] + alphas[:, None] * den_s)
    den_safe = jnp.where(den > 0, den, 1.0)[:, :, None]
    return jnp.where(den[:, :, None] > 0, num / den_safe, jnp.inf)


def gcv(fac, n_pos, rank0, alphas, inv, rss):
    """Generalized cross-validation (k, t): ``(RSS/n) / (1 - df/n)²``, n counting the
    samples with a positive weight (the others are absent)."""
    dt = inv.dtype
    # n - df = (n - rank) + alpha·Σ_k 1/(e_k + alpha), the trace of I - H.
    n_out = n_pos - (jnp.sum(fac.keep) + rank0).astype(dt)
    resid_trace = n_out + alphas * jnp.sum(inv, axis=1)
    plain = rss / (resid_trace / n_pos)[:, None] ** 2
    # An interpolating fit (rank n): RSS and (n - df)² are both O(alpha²).
    scaled_u = inv[:, :, None] * fac.u[None]
    interp = (
        n_pos**2
        * jnp.sum(scaled_u * scaled_u, axis=1)
        / (jnp.sum(inv, axis=1)[:, None] ** 2)
    )
    return jnp.where(n_out > 0, plain, interp)
