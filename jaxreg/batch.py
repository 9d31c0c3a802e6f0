"""The only vmaps of jaxreg: l1_ratios × members × targets around the solvers.

Jit-compiled functions of arrays, called by :class:`jaxreg.engine.Problem`: the
batched FISTA paths of every member and target (and several l1_ratios at once on
a GPU), the closed-form ridge of every member and the step sizes.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import datafits
from jaxreg._config import vmap
from jaxreg.solvers import closed_form, fista

__all__ = ["closed_form_raw", "datafit", "lipschitz", "ridge_members", "solve_paths"]


def datafit(gram):
    return datafits.QuadraticGram if gram else datafits.QuadraticDesign


@functools.partial(jax.jit, static_argnames=("gram", "exact"))
def lipschitz(A, *, gram, exact):
    return jax.vmap(lambda a: datafit(gram)(a, None, None).lipschitz(exact))(A)


@functools.partial(
    jax.jit,
    static_argnames=(
        "gram",
        "check_every",
        "chunk",
        "unroll",
        "least_squares",
        "screen",
    ),
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
    start,
    *,
    gram,
    check_every,
    chunk,
    unroll,
    least_squares,
    screen=False,
):
    """Batched FISTA paths: ``pen`` has levels (L, k) and weights (L, F, pP); A, c,
    yy, lips, tol_abs, ls_scale have the member axis F (c, yy and tol_abs also the
    targets T), ``start`` (F, T, pP) the first chunk's starts. Results have shape
    (L, F, T, k, ...). ``screen``: gap-safe tests (:mod:`jaxreg.solvers.gap_safe`)."""
    Datafit = datafit(gram)

    def one(A, c_t, yy_t, pen, lip, tol, fix, scale, w0):
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
            start=w0,
            screen=screen,
        )

    shared = pen._replace(alpha=None, l1=None, l2=None, lower=None, upper=None)
    L, F, T = fixed.shape[0], A.shape[0], yy.shape[1]
    per_target = vmap(one, (None, -1, 0, shared, None, 0, None, None, 0), T)
    per_member = vmap(per_target, (0, 0, 0, pen.member_axes(), 0, 0, None, 0, 0), F)
    by_l1 = pen._replace(alpha=0, l1=0, l2=0, lower=None, upper=None)
    per_l1 = vmap(per_member, (None, None, None, by_l1, None, None, 0, None, None), L)
    return per_l1(A, c, yy, pen, lips, tol_abs, fixed, ls_scale, start)


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


def closed_form_raw(coef, rr):
    """The engine's raw arrays of a closed-form solve (coef (F, T, k, p), rr
    (F, T, k)): exact, so gap 0, no iterations, converged."""
    shape = rr.shape
    return dict(
        coef=np.asarray(coef),
        gap=np.zeros(shape),
        n_iter=np.zeros(shape, np.int64),
        converged=np.ones(shape, bool),
        rr=np.asarray(rr),
        strategy="closed_form",
    )
