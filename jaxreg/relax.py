"""The relaxed lasso (glmnet's ``relax=TRUE``): the unpenalized refit on each
alpha's active set, blended with the penalized solution by ``gamma``.

For every alpha the refit minimises ``1/(2n)·Σ sᵢ(yᵢ − x_{i,S}·w_S − b)²`` over
the features S that are non-zero in the penalized solution (least squares on
the support, the minimum-norm one when the support's columns are dependent);
the result is ``gamma·(penalized) + (1 − gamma)·(refit)``, the intercept blended
alike. All supports are solved at once from the weighted, centred Gram matrix:
one batched eigendecomposition of the masked systems per block of alphas, no
loop over alphas on the host.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg._config import compute_context

__all__ = ["check_gamma", "relaxed"]

# Alphas per batched eigendecomposition: a block holds block·p² numbers.
BLOCK_ENTRIES = 2**25


def check_gamma(gamma) -> float:
    g = float(gamma) if isinstance(gamma, (int, float, np.floating)) else None
    if g is None or isinstance(gamma, bool) or not 0.0 <= g <= 1.0:
        raise ValueError(f"gamma must be a number in [0, 1], got {gamma!r}.")
    return g


@jax.jit
def _refits(G, c, masks):
    """Minimum-norm least squares of ``G_S w = c_S`` for each mask (k, p)."""
    m = masks.astype(G.dtype)
    A = G[None] * m[:, :, None] * m[:, None, :]
    lam, V = jnp.linalg.eigh(A)
    top = jnp.max(jnp.abs(lam), axis=-1, keepdims=True)
    cut = top * A.shape[-1] * jnp.finfo(G.dtype).eps
    inv = jnp.where(jnp.abs(lam) > cut, 1.0 / jnp.where(lam == 0, 1.0, lam), 0.0)
    rhs = jnp.einsum("kpq,kp->kq", V, c[None] * m)
    return jnp.einsum("kpq,kq->kp", V, inv * rhs) * m


def refit(X, y, sw, masks, fit_intercept):
    """Coefficients (k, p) and intercepts (k,) of the refits on the supports."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.asarray(sw, np.float64)
    w = w / w.sum()
    xm = w @ X if fit_intercept else np.zeros(X.shape[1])
    ym = float(w @ y) if fit_intercept else 0.0
    Xc = X - xm
    G = (Xc * w[:, None]).T @ Xc
    c = Xc.T @ (w * (y - ym))
    k, p = masks.shape
    block = max(1, BLOCK_ENTRIES // max(p * p, 1))
    out = np.zeros((k, p))
    with compute_context(np.float64):
        for start in range(0, k, block):
            sl = slice(start, start + block)
            out[sl] = np.asarray(_refits(jnp.asarray(G), jnp.asarray(c),
                                         jnp.asarray(masks[sl])))  # fmt: skip
    return out, ym - out @ xm


def relaxed(res, X, y, sw, fit_intercept, gamma):
    """``res`` (a single-target PathResult) relaxed: coefficients and intercepts
    blended with the refits on the supports. ``gaps`` and ``converged`` remain
    those of the penalized solutions, whose supports define the refits."""
    masks = res.coefs != 0
    w, b = refit(X, y, sw, masks, fit_intercept)
    coefs = gamma * res.coefs + (1.0 - gamma) * w
    intercepts = gamma * res.intercepts + (1.0 - gamma) * b
    return dataclasses.replace(
        res,
        coefs=coefs.astype(res.coefs.dtype),
        intercepts=intercepts.astype(res.intercepts.dtype),
        gamma=gamma,
    )
