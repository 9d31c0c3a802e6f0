"""Sufficient statistics: centring, weights, standardization, unpenalized features.

Every solver in jaxreg sees the same reduced problem

    min_w 1/(2n)·||ys - Xs·w||² + Σ_j h_j(w_j)

on the penalized features only, where ``Xs``/``ys`` are the centred (weighted mean),
optionally standardized data with each row multiplied by ``sqrt(sample_weight)``.
Features with ``penalty_factor == 0`` and no box are *partialled out*
(Frisch–Waugh–Lovell): the others are projected onto the orthogonal complement of
their span, and they are recovered by least squares afterwards. That keeps the dual
of the reduced problem well defined, so every alpha still gets a certificate.

Gram mode keeps ``G = XsᵀXs/n`` and ``c = Xsᵀys/n`` (X is not needed again);
design mode keeps ``Xs`` and ``ys``. Both are computed here, once, on the device, so
that later streamed or sharded inputs only have to produce these statistics.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Problem", "prepare", "pinv_psd", "dot"]

_HIGHEST = jax.lax.Precision.HIGHEST


def dot(a, b):
    """Matrix product at full precision (no TF32 on NVIDIA GPUs)."""
    return jnp.matmul(a, b, precision=_HIGHEST)


class Problem(NamedTuple):
    """The reduced problem and what is needed to map its solution back."""

    A: jax.Array  # (p_P, p_P) Gram matrix G, or (n, p_P) design Xs
    c: jax.Array  # (p_P,) Xsᵀys/n, or (n,) ys
    yy: jax.Array  # ||ys||²/n of the reduced problem
    q0: jax.Array  # (p_P,) Xsᵀys/n: the negative gradient at w = 0
    yy_total: jax.Array  # ||ys||²/n before partialling out: the scale of tol
    x_mean: jax.Array  # (p,)
    x_scale: jax.Array  # (p,)
    y_mean: jax.Array  # ()
    # recovery of the unpenalized block: w_U = M (c_U - G_UP w_P)
    M: jax.Array  # (p_U, p_U)
    G_UP: jax.Array  # (p_U, p_P)
    c_U: jax.Array  # (p_U,)


def pinv_psd(A):
    """Pseudo-inverse of a symmetric positive semi-definite matrix, by eigh."""
    evals, evecs = jnp.linalg.eigh(A)
    cutoff = evals[-1] * A.shape[0] * jnp.finfo(A.dtype).eps
    inv = jnp.where(evals > cutoff, 1.0 / jnp.where(evals > cutoff, evals, 1.0), 0.0)
    return dot(evecs * inv, evecs.T)


@functools.partial(
    jax.jit, static_argnames=("fit_intercept", "standardize", "gram", "weighted")
)
def prepare(
    X, y, sample_weight, idx_P, idx_U, *, fit_intercept, standardize, gram,
    weighted=True,
):
    """Centre, weight, standardize and reduce; see the module docstring.

    ``sample_weight`` sums to ``n``; ``idx_P``/``idx_U`` are the penalized and the
    partialled-out feature indices (their lengths are static shapes). With
    ``weighted=False`` the weights must all be 1: the rows are then not rescaled,
    and without partialled-out features X is not gathered either (each skipped
    step is a full pass over X).

    Notes
    -----
    jit-compiled; static: fit_intercept, standardize, gram, weighted; a new X.shape
    or a new number of unpenalized features recompiles.
    """
    n = X.shape[0]
    sw = sample_weight
    if fit_intercept:
        x_mean = dot(sw, X) / n
        y_mean = jnp.dot(sw, y) / n
        Xc = X - x_mean
        # A constant column must centre to exactly 0; rounding in the mean would
        # otherwise leave noise that standardization blows up to unit variance.
        constant = jnp.max(X, axis=0) == jnp.min(X, axis=0)
        Xc = jnp.where(constant, 0.0, Xc)
        # Likewise a constant y centres to exactly 0 (then alpha_max is exactly 0).
        yc = jnp.where(jnp.max(y) == jnp.min(y), 0.0, y - y_mean)
    else:
        x_mean = jnp.zeros(X.shape[1], X.dtype)
        y_mean = jnp.zeros((), X.dtype)
        Xc, yc = X, y
    if standardize:
        scale = jnp.sqrt(dot(sw, Xc * Xc) / n)
        scale = jnp.where(scale > 0, scale, 1.0)
        Xc = Xc / scale
    else:
        scale = jnp.ones(X.shape[1], X.dtype)
    if weighted:
        root_w = jnp.sqrt(sw)
        Xs = Xc * root_w[:, None]
        ys = yc * root_w
    else:
        Xs, ys = Xc, yc
    yy_total = jnp.dot(ys, ys) / n

    # Without partialled-out features idx_P is every column in order.
    XP = Xs[:, idx_P] if idx_U.shape[0] else Xs
    XU = Xs[:, idx_U]
    G_UP = dot(XU.T, XP) / n
    c_U = dot(XU.T, ys) / n
    M = pinv_psd(dot(XU.T, XU) / n) if idx_U.shape[0] else jnp.zeros((0, 0), X.dtype)
    if gram:
        G = dot(XP.T, XP) / n - dot(G_UP.T, dot(M, G_UP))
        c = dot(XP.T, ys) / n - dot(G_UP.T, dot(M, c_U))
        yy = yy_total - jnp.dot(c_U, dot(M, c_U))
        A, cc, q0 = G, c, c
    else:
        if idx_U.shape[0]:
            XP = XP - dot(XU, dot(M, G_UP))
            ys = ys - dot(XU, dot(M, c_U))
        yy = jnp.dot(ys, ys) / n
        A, cc, q0 = XP, ys, dot(XP.T, ys) / n
    return Problem(A, cc, yy, q0, yy_total, x_mean, scale, y_mean, M, G_UP, c_U)
