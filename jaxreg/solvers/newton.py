"""Proximal Newton steps, batched over the members: glmnet's IRLS for the GLM
families, and for least squares on a working set (:mod:`jaxreg.solvers.working_set`,
``strategy="newton"``), where the model is the problem itself.

Each outer step of member b builds the quadratic model of the datafit at its
iterate ``w`` (gradient ``g`` and Hessian ``H = Xᵀdiag(s·b''(η))X/n``, in Gram
form, ``m × m``), minimises ``gᵀd + ½dᵀHd + h(w + d)``: a few cycles of
coordinate descent (the elastic net's prox per coordinate, boxes included) find
the support and signs, sign-constrained steps on them finish it (each stops
where a coordinate first crosses 0 or a bound; kept where it lowers the model),
then the step takes the largest ``t`` in 1, ½, ¼, … that decreases the objective
by Armijo's rule (Lee, Sun & Saunders 2014). The duality gap of the datafit's own
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
Lee, Battle, Raina & Ng (2007), Efficient sparse coding algorithms. NIPS 19.
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
ROUNDS = 32  # sign-constrained rounds of that search (most stop far sooner)


def _model(g, H, W, penalty, U):
    """The quadratic model ``gᵀd + ½dᵀHd + h(w + d)`` at ``U = W + d``."""
    D = U - W
    HD = jnp.einsum("bjk,bk->bj", H, D)
    return jnp.sum(g * D + 0.5 * D * HD, -1) + penalty.value(U)


def _support_solve(g, H, W, U, penalty, support=None):
    """The model's minimiser searched from U by sign-constrained steps (the
    feature-sign search of Lee, Battle, Raina & Ng 2007, batched): on the
    support M with signs σ the model is the quadratic ``½uᵀAu - (c - aσ)ᵀu``;
    each round steps towards its minimiser, stopping where a coordinate first
    reaches 0 or a bound (it leaves M), so the model never increases. After
    a full step the coordinates that violate their optimality condition enter,
    with the sign that lowers the model; an entering coordinate whose solved
    step has the other sign (possible when several enter at once) is put back.

    The step solves ``(A_MM + μI)d = -∇`` with ``μ = m·eps·max diag(A)``, the
    size of the factorization's rounding errors: a descent direction whatever
    the conditioning of the support (a singular support, more columns than
    rows, moves along its null space to the next crossing instead of to a
    rounding-error point). ``support`` (static): the size of the systems, at
    most m; a support that holds more coordinates (past the rank of a least-
    squares working set, n) steps on its nonzero ones first, the others held
    for the round. Returned where it lowers the model below U's, else U."""
    a, b = penalty._ab()
    a = jnp.broadcast_to(a, U.shape)
    b = jnp.broadcast_to(b, U.shape)
    lower = jnp.broadcast_to(penalty.lower, U.shape)
    upper = jnp.broadcast_to(penalty.upper, U.shape)
    m = U.shape[-1]
    K = m if support is None else min(support, m)
    eye = jnp.eye(m, dtype=U.dtype)
    A = H + b[:, :, None] * eye
    # the model's linear part in u = w + d
    c = jnp.einsum("bjk,bk->bj", H, W) - g
    diag = jnp.diagonal(A, axis1=-2, axis2=-1)
    mu = m * jnp.finfo(U.dtype).eps * jnp.max(diag, -1, keepdims=True)
    A_mu = A + mu[:, :, None] * eye

    def at_bound(u):
        # at a nonzero bound, or pinned by a box [v, v] (a working set's padding)
        return (((u == lower) & (lower != 0)) | ((u == upper) & (upper != 0))
                | (lower == upper))  # fmt: skip

    def body(state):
        u, mask, sign, entering, k, _ = state
        held = at_bound(u) & ~mask
        q = c - jnp.einsum("bjk,bk->bj", A, u)  # -∇ of the smooth part
        step = jnp.where(mask, q - a * sign, 0.0)
        d = _masked_solve(A_mu, step, mask, u, K)
        wrong = entering & (d * sign <= 0)
        retry = jnp.any(wrong, -1, keepdims=True)
        # the first crossing of 0 (penalized coordinates) or of a bound
        v = u + d
        tiny = jnp.finfo(U.dtype).tiny
        safe = jnp.where(jnp.abs(d) > tiny, d, 1.0)
        t_zero = jnp.where(mask & (a > 0) & (v * sign < 0), -u / safe, jnp.inf)
        t_up = jnp.where(mask & (v > upper), (upper - u) / safe, jnp.inf)
        t_lo = jnp.where(mask & (v < lower), (lower - u) / safe, jnp.inf)
        t_j = jnp.clip(jnp.minimum(jnp.minimum(t_zero, t_up), t_lo), 0.0, None)
        t = jnp.minimum(jnp.min(t_j, -1, keepdims=True), 1.0)
        t = jnp.where(retry, 0.0, t)
        new = jnp.clip(u + t * d, lower, upper)
        hit = (t_j <= t) & (t < 1.0) & ~retry
        new = jnp.where(hit & (t_zero <= t), 0.0, new)
        new = jnp.where(hit & (t_up <= t), upper, new)
        new = jnp.where(hit & (t_lo <= t), lower, new)
        full = (t >= 1.0) & ~retry
        # a coordinate that reached 0 or a bound leaves
        keep = mask & ~wrong & ~hit
        # after a full step the violators enter, with the sign that lowers the
        # model, on a side their box leaves open
        q = c - jnp.einsum("bjk,bk->bj", A, new)
        up = (q > a) & (upper > new)
        down = (-q > a) & (lower < new)
        enter = full & ~keep & ~held & ~at_bound(new) & (up | down)
        new_mask = keep | enter
        new_sign = jnp.where(
            enter, jnp.where(up, 1.0, -1.0), jnp.where(keep, sign, 0.0)
        )
        busy = jnp.any(enter | retry | ~full, -1)
        return new, new_mask, new_sign, enter, k + 1, jnp.any(busy)

    held0 = at_bound(U)
    mask0 = ~held0 & ((U != 0) | (a == 0))
    state = (U, mask0, jnp.where(mask0, jnp.sign(U), 0.0), jnp.zeros_like(mask0),
             0, True)  # fmt: skip
    state = jax.lax.while_loop(lambda st: st[5] & (st[4] < ROUNDS), body, state)
    V = state[0]
    new, old = _model(g, H, W, penalty, V), _model(g, H, W, penalty, U)
    better = jnp.isfinite(new) & jnp.all(jnp.isfinite(V), -1) & (new <= old)
    return jnp.where(better[:, None], V, U)


def _masked_solve(A, rhs, mask, u, K):
    """``A_MM d_M = rhs_M`` for every member (0 off M, and where the solve is not
    finite), on systems of size K: when M holds more, its nonzero coordinates
    (of u) go first and the others are held for this solve."""
    m = u.shape[-1]
    if K == m:
        both = mask[:, :, None] & mask[:, None, :]
        system = jnp.where(both, A, jnp.eye(m, dtype=A.dtype))
        d = jnp.linalg.solve(system, jnp.where(mask, rhs, 0.0)[..., None])[..., 0]
        return jnp.where(mask & jnp.isfinite(d), d, 0.0)
    key = jnp.where(mask, jnp.where(u != 0, 0, 1), 2)
    order = jnp.argsort(key, axis=-1, stable=True)[:, :K]
    sel = jnp.take_along_axis(mask, order, 1)
    rows = jnp.take_along_axis(A, order[:, :, None], 1)
    sub = jnp.take_along_axis(rows, order[:, None, :], 2)
    system = jnp.where(
        sel[:, :, None] & sel[:, None, :], sub, jnp.eye(K, dtype=A.dtype)
    )
    rhs_k = jnp.where(sel, jnp.take_along_axis(rhs, order, 1), 0.0)
    d_k = jnp.linalg.solve(system, rhs_k[..., None])[..., 0]
    d_k = jnp.where(sel & jnp.isfinite(d_k), d_k, 0.0)
    return jnp.zeros_like(u).at[jnp.arange(u.shape[0])[:, None], order].set(d_k)


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
    datafit, penalty, coef0, active0, lipschitz, tol_abs, max_iter, *, support=None,
    **unused
) -> FistaResult:  # fmt: skip
    """Solve the B problems of ``penalty``'s levels by proximal Newton steps.
    The arguments are :func:`jaxreg.solvers.fista.fista_batch`'s; the gap is
    checked after every step, and ``lipschitz`` and the keywords
    (``check_every``, ``unroll``) are not used. ``support``: the size of the
    support systems (see :func:`_support_solve`; all m by default)."""
    del lipschitz, unused
    dt = coef0.dtype
    eps = jnp.finfo(dt).eps

    def objective(W):
        return datafit.value(W) + penalty.value(W)

    def step(W, active):
        f = objective(W)
        g, H = datafit.hessian(W)
        U = _coordinate_descent(g, H, W, penalty, SWEEPS)
        D = _support_solve(g, H, W, U, penalty, support) - W
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
