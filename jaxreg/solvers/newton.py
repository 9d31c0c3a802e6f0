"""Proximal Newton for the GLM families: glmnet's IRLS, batched over the members.

Each outer step of member b builds the quadratic model of the datafit at its
iterate ``w`` (gradient ``g`` and Hessian ``H = Xᵀdiag(s·b''(η))X/n``, in Gram
form, ``m × m``), minimises ``gᵀd + ½dᵀHd + h(w + d)``: a few cycles of
coordinate descent (the elastic net's prox per coordinate, boxes included) find
the support and signs, an exact solve on them corrected by primal-dual
active-set rounds finishes it (kept where it lowers the model), then the step
takes the largest ``t`` in 1, ½, ¼, … that decreases the objective by Armijo's
rule (Lee, Sun & Saunders 2014). The duality gap of the datafit's own
dual point is checked after every step; converged members freeze, as in the
FISTA loop (:mod:`jaxreg.solvers.fista`), with which it shares its signature.

No Lipschitz constant is needed (the Poisson has none) and the curvature of
the loss is used where it is, not bounded by its maximum: on small designs
(breast_cancer, 30 features) the path's small-alpha end, where the binomial's
fixed FISTA step is far too short, takes tens of Newton steps instead of
thousands of gradient steps. Each step costs ``n·m²`` per member for the
Hessian, so the families use it for narrow designs only (:mod:`jaxreg.families`).

``n_iter`` counts Newton steps.

References
----------
Friedman, Hastie & Tibshirani (2010), Regularization paths for generalized linear
models via coordinate descent. J. Stat. Softw. 33(1).
Lee, Sun & Saunders (2014), Proximal Newton-type methods for minimizing composite
functions. SIAM J. Optim. 24(3).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxreg.penalties import soft_threshold
from jaxreg.solvers.fista import FistaResult, certified_loop

__all__ = ["newton_batch"]

ARMIJO = 1e-4  # sufficient decrease, a fraction of the model's predicted one
HALVINGS = 30  # the smallest step tried is 2**-30
SWEEPS = 2  # coordinate-descent cycles per step, before the support's exact solve
ROUNDS = 4  # primal-dual active-set rounds of that solve


def _model(g, H, W, penalty, U):
    """The quadratic model ``gᵀd + ½dᵀHd + h(w + d)`` at ``U = W + d``."""
    D = U - W
    HD = jnp.einsum("bjk,bk->bj", H, D)
    return jnp.sum(g * D + 0.5 * D * HD, -1) + penalty.value(U)


def _support_solve(g, H, W, U, penalty):
    """The model's exact minimiser on the support and signs of U (coordinates
    at a nonzero bound held there), corrected by ``ROUNDS`` primal-dual
    active-set rounds (a coordinate whose solved sign disagrees leaves, one
    violating its optimality condition enters), clipped to the box. Returned
    where it lowers the model below U's, else U (a singular support gives
    non-finite values and is not kept)."""
    a, b = penalty._ab()
    a = jnp.broadcast_to(a, U.shape)
    b = jnp.broadcast_to(b, U.shape)
    lower = jnp.broadcast_to(penalty.lower, U.shape)
    upper = jnp.broadcast_to(penalty.upper, U.shape)
    held = ((U == lower) & (lower != 0)) | ((U == upper) & (upper != 0))
    fixed = jnp.where(held, U, 0.0)
    m = U.shape[-1]
    A = H + b[:, :, None] * jnp.eye(m, dtype=U.dtype)
    # the model's linear part in u = w + d, less the held coordinates' share
    c = jnp.einsum("bjk,bk->bj", H, W) - g - jnp.einsum("bjk,bk->bj", A, fixed)
    eye = jnp.eye(m, dtype=bool)

    def solve(mask, sign):
        both = mask[:, :, None] & mask[:, None, :]
        system = jnp.where(both, A, eye.astype(A.dtype))
        rhs = jnp.where(mask, c - a * sign, 0.0)
        v = jnp.linalg.solve(system, rhs[..., None])[..., 0]
        return jnp.where(mask, v, 0.0)

    def body(state):
        mask, sign, _, k, _ = state
        v = solve(mask, sign)
        q = c - jnp.einsum("bjk,bk->bj", A, v)
        leave = mask & (v * sign <= 0) & (a > 0)
        enter = ~mask & ~held & (jnp.abs(q) > a)
        new_mask = (mask & ~leave) | enter
        new_sign = jnp.where(enter, jnp.sign(q), sign)
        return new_mask, new_sign, v, k + 1, jnp.any(new_mask != mask)

    mask0 = ~held & ((U != 0) | (a == 0))
    state = (mask0, jnp.sign(U), U, 0, True)
    state = jax.lax.while_loop(lambda st: st[4] & (st[3] < ROUNDS), body, state)
    V = jnp.clip(jnp.where(held, fixed, state[2]), lower, upper)
    new, old = _model(g, H, W, penalty, V), _model(g, H, W, penalty, U)
    better = jnp.isfinite(new) & jnp.all(jnp.isfinite(V), -1) & (new <= old)
    return jnp.where(better[:, None], V, U)


def _coordinate_descent(g, H, W, penalty, sweeps):
    """``sweeps`` cycles of coordinate descent on ``gᵀd + ½dᵀHd + h(w + d)``
    for every member, from d = 0: returns ``U = W + d`` (B, m)."""
    a, b = penalty._ab()
    a = jnp.broadcast_to(a, W.shape)
    b = jnp.broadcast_to(b, W.shape)
    lower = jnp.broadcast_to(penalty.lower, W.shape)
    upper = jnp.broadcast_to(penalty.upper, W.shape)
    diag = jnp.diagonal(H, axis1=-2, axis2=-1)  # (B, m)
    ok = diag > 0
    safe = jnp.where(ok, diag, 1.0)
    m = W.shape[-1]

    def coordinate(j, carry):
        U, R = carry  # U = w + d, R = H·d (B, m)
        hj = safe[:, j]
        v = U[:, j] - (g[:, j] + R[:, j]) / hj
        new = soft_threshold(v, a[:, j] / hj) / (1.0 + b[:, j] / hj)
        new = jnp.clip(new, lower[:, j], upper[:, j])
        delta = jnp.where(ok[:, j], new - U[:, j], 0.0)
        U = U.at[:, j].add(delta)
        R = R + delta[:, None] * H[:, :, j]
        return U, R

    def sweep(_, carry):
        return jax.lax.fori_loop(0, m, coordinate, carry)

    U, _ = jax.lax.fori_loop(0, sweeps, sweep, (W, jnp.zeros_like(W)))
    return U


def newton_batch(
    datafit, penalty, coef0, active0, lipschitz, tol_abs, max_iter, **unused
) -> FistaResult:
    """Solve the B problems of ``penalty``'s levels by proximal Newton steps.
    The arguments are :func:`jaxreg.solvers.fista.fista_batch`'s; the gap is
    checked after every step, and ``lipschitz`` and the keywords
    (``check_every``, ``unroll``) are not used."""
    del lipschitz, unused
    dt = coef0.dtype
    eps = jnp.finfo(dt).eps

    def objective(W):
        return datafit.value(W) + penalty.value(W)

    def step(W, active):
        f = objective(W)
        g, H = datafit.hessian(W)
        U = _coordinate_descent(g, H, W, penalty, SWEEPS)
        D = _support_solve(g, H, W, U, penalty) - W
        # the model's predicted decrease (<= 0: coordinate descent from d = 0
        # never increases the model)
        pred = jnp.sum(g * D, -1) + penalty.value(W + D) - penalty.value(W)
        pred = jnp.minimum(pred, 0.0)
        margin = 16 * eps * jnp.abs(f)

        def halve(state):
            t, done, k = state
            fnew = objective(W + t[:, None] * D)
            accept = fnew <= f + ARMIJO * t * pred + margin
            done = done | accept | ~active
            return jnp.where(done, t, 0.5 * t), done, k + 1

        def more(state):
            _, done, k = state
            return ~jnp.all(done) & (k < HALVINGS)

        B = W.shape[0]
        t, done, _ = jax.lax.while_loop(
            more, halve, (jnp.ones(B, dt), jnp.zeros(B, bool), 0)
        )
        t = jnp.where(done & active, t, 0.0)
        return W + t[:, None] * D

    def advance(W, extra, active):
        return step(W, active), extra

    return certified_loop(
        datafit, penalty, coef0, active0, tol_abs, max_iter, advance, (), steps=1
    )
