"""The only vmaps of jaxreg: l1_ratios × members × targets around the solvers.

Jit-compiled functions of arrays, called by :class:`jaxreg.engine.Problem`: the
batched FISTA paths of every member and target (and several l1_ratios at once on
a GPU), the closed-form ridge of every member, the step sizes, and the held-out
scores of the cross-validation folds.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxreg import datafits
from jaxreg.solvers import closed_form, fista

__all__ = ["datafit", "lipschitz", "ridge_members", "score", "solve_paths"]


def datafit(gram):
    return datafits.QuadraticGram if gram else datafits.QuadraticDesign


@functools.partial(jax.jit, static_argnames=("gram", "exact"))
def lipschitz(A, *, gram, exact):
    return jax.vmap(lambda a: datafit(gram)(a, None, None).lipschitz(exact))(A)


@functools.partial(
    jax.jit, static_argnames=("gram", "check_every", "chunk", "unroll", "least_squares")
)
def solve_paths(
    A,
    c,
    yy,
    pen,
    lips,
    tol_abs,
    max_iter,
    fixed,
    ls_scale,
    *,
    gram,
    check_every,
    chunk,
    unroll,
    least_squares,
):
    """Batched FISTA paths: ``pen`` has levels (L, k) and weights (L, F, pP); A, c,
    yy, lips, tol_abs, ls_scale have the member axis F (c, yy and tol_abs also the
    targets T). Results have shape (L, F, T, k, ...)."""
    Datafit = datafit(gram)

    def one(A, c_t, yy_t, pen, lip, tol, fix, scale):
        df = Datafit(A, c_t, yy_t)
        w_ls = df.least_squares(scale) if least_squares else jnp.zeros_like(scale)
        return fista.solve_path(
            df,
            pen,
            lip,
            tol,
            max_iter,
            w_ls,
            fix,
            check_every=check_every,
            chunk=chunk,
            unroll=unroll,
        )

    shared = pen._replace(alpha=None, l1=None, l2=None, lower=None, upper=None)
    per_target = jax.vmap(one, in_axes=(None, -1, 0, shared, None, 0, None, None))
    per_member = jax.vmap(
        per_target, in_axes=(0, 0, 0, pen.member_axes(), 0, 0, None, 0)
    )
    per_l1 = jax.vmap(
        per_member,
        in_axes=(
            None,
            None,
            None,
            pen._replace(alpha=0, l1=0, l2=0, lower=None, upper=None),
            None,
            None,
            0,
            None,
        ),
    )
    return per_l1(A, c, yy, pen, lips, tol_abs, fixed, ls_scale)


@functools.partial(jax.jit, static_argnames=("gram", "method", "terms"))
def ridge_members(A, c, yy, l2, levels, *, gram, method, terms):
    """Closed-form ridge of every member: coef (F, T, k, pP) and rr (F, T, k)."""

    def one(A, c, yy, l2):
        if gram:
            fac = closed_form.factor_gram(A, c, l2, terms=terms)
        else:
            fac = closed_form.factorize(A, c, l2, method, need_u=False)
        w, inv = closed_form.ridge(fac, levels, A)
        rr = closed_form.residual_ss(fac, yy, levels, inv)
        return jnp.swapaxes(w, 0, 1), rr.T

    return jax.vmap(one)(A, c, yy, l2)


@jax.jit
def score(w, b, Xg, Yg, gtw):
    """Held-out weighted MSE and R² (K, T, k) of every fold, in the scaled units."""
    ein = functools.partial(jnp.einsum, precision=jax.lax.Precision.HIGHEST)
    K = Xg.shape[0]
    pred = ein("kmp,ktap->kmta", Xg, w[:K]) + b[:K][:, None]
    res = Yg[..., None] - pred  # (K, m, T, k)
    sq = res * res
    sse = ein("km,kmta->kta", gtw, sq)
    total = jnp.sum(gtw, axis=1)
    mse = sse / total[:, None, None]
    ybar = ein("km,kmt->kt", gtw, Yg) / total[:, None]
    dev = Yg - ybar[:, None, :]
    sst = ein("km,kmt->kt", gtw, dev * dev)[..., None]
    # r2_score's convention for a constant held-out target: 1 if fitted exactly.
    r2 = jnp.where(
        sst > 0, 1.0 - sse / jnp.where(sst > 0, sst, 1.0), jnp.where(sse > 0, 0.0, 1.0)
    )
    return mse, r2
