"""Differentiable solutions: the elastic net as a JAX function, with exact
derivatives by implicit differentiation.

:func:`enet_coef` solves the path objective (:func:`jaxreg.enet_path`'s, without
sample weights) for one alpha or a batch of them, inside ``jax.jit`` and
``jax.vmap``, and carries a ``custom_jvp`` built from the optimality conditions
on the support (FISTA is not unrolled): with ``S`` the non-zero coefficients,
``s`` their signs and ``H = X_SᵀX_S/n + alpha·(1 − l1_ratio)·diag(p_S)``::

    H·dw_S = d(X_Sᵀ(y − Xw)/n)|_w − d[alpha·(l1_ratio·p_S·s + (1 − l1_ratio)·p_S·w_S)]

and ``dw = 0`` off the support. ``jax.grad`` (reverse mode) works through the
linear solve's transpose. At a kink (a coefficient about to enter or leave the
support) the solution is not differentiable; the derivative returned is the one
on the current support, i.e. the one-sided derivative in the direction in which
the support does not change.

The forward solve is batched FISTA (:mod:`jaxreg.solvers.fista`) on the centred
data, stopped at ``gap <= tol·||y − ȳ||²/n``, then refined on its support by the
same linear system (exact when the support and signs are right; kept only when
its duality gap is no larger). Everything runs in the dtype of the inputs: turn
on ``jax_enable_x64`` for float64.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxreg import datafits, penalties
from jaxreg.solvers import fista

__all__ = ["enet_coef"]

DEFAULT_MAX_ITER = 100_000


def enet_coef(X, y, alpha, *, l1_ratio=1.0, penalty_factor=None, fit_intercept=True,
              sample_weight=None, coef_init=None, tol=1e-4,
              max_iter=DEFAULT_MAX_ITER):  # fmt: skip
    """Elastic-net coefficients at ``alpha`` as JAX arrays, differentiable in
    ``alpha``, ``penalty_factor``, ``X``, ``y`` and ``sample_weight``.

    Minimises ``1/(2n)·Σ s_i(y_i − x_i·w − b)² + alpha·(l1_ratio·Σ p_j|w_j| +
    (1 − l1_ratio)/2·Σ p_j w_j²)`` (:func:`jaxreg.enet_path`'s objective).

    Parameters
    ----------
    X : array (n_samples, n_features)
    y : array (n_samples,)
    alpha : scalar or array (k,)
        Positive; an array gives a batch (solved together).
    l1_ratio : float in (0, 1], static
    penalty_factor : array (n_features,), optional
        Positive factors ``p`` (default ones).
    fit_intercept : bool, static
    sample_weight : array (n_samples,), optional
        Non-negative, rescaled to sum to n (as in :func:`jaxreg.enet_path`);
        the derivatives in a weight are those of the positive ones.
    coef_init : array (n_features,) or (k, n_features), optional
        Where FISTA starts (zeros by default): near the solution it saves
        iterations; the solution and its derivatives are the same.
    tol : float, static
        FISTA stops when the duality gap is ``<= tol·||y − ȳ||²/n`` (at least
        4·eps of the dtype); the support's refinement then reaches rounding when
        that support and its signs are the solution's. Tighten it when
        derivatives near a kink matter: they are those of the support found.
    max_iter : int, static

    Returns
    -------
    coef : array (n_features,) or (k, n_features)
    intercept : scalar or array (k,)

    Examples
    --------
    >>> import jax, jax.numpy as jnp, numpy as np
    >>> from jaxreg.functional import enet_coef
    >>> X = jnp.asarray(np.random.default_rng(0).normal(size=(40, 3)))
    >>> y = X @ jnp.array([1.0, 0.0, -2.0])
    >>> coef, b = enet_coef(X, y, 0.1)
    >>> dcoef = jax.jacfwd(lambda a: enet_coef(X, y, a)[0])(0.1)
    >>> dcoef.shape
    (3,)
    """
    X, y = jnp.asarray(X), jnp.asarray(y)
    dt = jnp.result_type(X.dtype, y.dtype, jnp.float32)
    X, y = X.astype(dt), y.astype(dt)
    a = jnp.asarray(alpha, dt)
    batch = a.ndim == 1
    a = jnp.atleast_1d(a)
    p = X.shape[1]
    pf = jnp.ones(p, dt) if penalty_factor is None else jnp.asarray(penalty_factor, dt)
    n = X.shape[0]
    if sample_weight is None:
        s = jnp.ones(n, dt)
    else:
        s = jnp.asarray(sample_weight, dt)
        s = s * (n / jnp.sum(s))
    if fit_intercept:
        xm, ym = s @ X / n, s @ y / n
    else:
        xm, ym = jnp.zeros(p, dt), jnp.zeros((), dt)
    # zero weights without a NaN in the derivatives of the others
    root = jnp.where(s > 0, jnp.sqrt(jnp.where(s > 0, s, 1.0)), 0.0)
    Xc, yc = root[:, None] * (X - xm), root * (y - ym)
    # a gap below rounding cannot be certified: float32 stops at 4·eps
    tol = max(float(tol), 4.0 * float(jnp.finfo(dt).eps))
    df = datafits.QuadraticDesign(Xc, yc, jnp.sum(yc * yc) / X.shape[0])
    lip = _step(df)
    if coef_init is None:
        start = jnp.zeros((a.shape[0], p), dt)
    else:
        start = jnp.broadcast_to(jnp.asarray(coef_init, dt), (a.shape[0], p))
    W = _solve(float(l1_ratio), tol, int(max_iter), df, a, pf, start, lip)[0]
    b = ym - W @ xm
    return (W, b) if batch else (W[0], b[0])


@jax.jit
def _step(df):
    """FISTA's Lipschitz constant (its step does not change the solution)."""
    return jax.lax.stop_gradient(df).lipschitz(False)


def _penalty(alphas, pf, r):
    inf = jnp.full_like(pf, jnp.inf)
    return penalties.ElasticNet(alphas, r * pf, (1.0 - r) * pf, -inf, inf)


def _gram(df):
    """``XᵀX/n`` of a quadratic datafit in either form."""
    if isinstance(df, datafits.QuadraticGram):
        return df.G
    return datafits.dot(df.X.T, df.X) / df.X.shape[0]


def _system(G, a, pf, r, mask):
    """The support's matrix ``H`` padded to p × p (identity off the support)."""
    H = G + jnp.diag(a * (1.0 - r) * pf)
    both = mask[:, None] & mask[None, :]
    return jnp.where(both, H, 0.0) + jnp.diag(jnp.where(mask, 0.0, 1.0))


# Most sign corrections of the support (the first solve uses FISTA's support).
REFINE_ROUNDS = 8


def _refine(df, G, a, pf, r, w):
    """The exact solution on the support and signs of ``w``, corrected by a few
    primal-dual active-set rounds: a feature whose solved sign disagrees leaves
    the support, one violating its KKT condition enters with its gradient's sign,
    until the support is stable. Every feature (ridge's closed form) when
    ``r == 0``. The caller keeps it only if its duality gap is no larger."""
    c = df.neg_grad(jnp.zeros_like(w)[None])[0]  # Xᵀy/n
    t = a * r * pf  # the L1 thresholds

    def solve(mask, sign):
        rhs = (c - t * sign) * mask
        return jnp.where(mask, jnp.linalg.solve(_system(G, a, pf, r, mask), rhs), 0.0)

    def body(state):
        mask, sign, _, it, _ = state
        v = solve(mask, sign)
        q = c - datafits.dot(G, v)
        leave = mask & (v * sign <= 0) & (t > 0)  # unpenalized: any sign
        enter = ~mask & (jnp.abs(q) > t)
        new_mask = (mask & ~leave) | enter
        new_sign = jnp.where(enter, jnp.sign(q), sign)
        return new_mask, new_sign, v, it + 1, jnp.any(new_mask != mask)

    mask0 = (w != 0) | (r == 0.0)
    state = (mask0, jnp.sign(w), w, 0, True)
    state = jax.lax.while_loop(lambda st: st[4] & (st[3] < REFINE_ROUNDS), body, state)
    return state[2]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _solve(r, tol, max_iter, df, alphas, pf, start, lip):
    """``(W, gap)``: the solutions at ``alphas`` (B,) of the quadratic datafit
    ``df`` from the starts ``start`` (B, p), FISTA's step ``1/lip``;
    differentiable in ``df``, ``alphas`` and ``pf`` (not in the start or step,
    which do not change the solution)."""
    return _forward(r, tol, max_iter, df, alphas, pf, start, lip)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _forward(r, tol, max_iter, df, alphas, pf, start, lip):
    """FISTA to the gap, then the support's refinement (compiled once per shape,
    also for calls outside jit). Ridge (``r == 0``) is its closed form."""
    pen = _penalty(alphas, pf, r)
    G = _gram(df)
    B = alphas.shape[0]
    if r == 0.0:
        W = jax.vmap(lambda a, w: _refine(df, G, a, pf, r, w))(alphas, start)
        return W, fista.duality_gap(df, pen, W)[0]
    res = fista.fista_batch(
        df, pen, start, jnp.ones(B, bool), lip, tol * df.yy, max_iter,
        check_every=10,
    )  # fmt: skip
    refined = jax.vmap(lambda a, w: _refine(df, G, a, pf, r, w))(alphas, res.coef)
    gap_new = fista.duality_gap(df, pen, refined)[0]
    better = jnp.isfinite(gap_new) & (gap_new <= res.gap)
    W = jnp.where(better[:, None], refined, res.coef)
    return W, jnp.where(better, gap_new, res.gap)


@_solve.defjvp
def _solve_jvp(r, tol, max_iter, primals, tangents):
    W, gap = _solve(r, tol, max_iter, *primals)
    df, alphas, pf, _, _ = primals
    ddf, da, dpf, _, _ = tangents
    dW = _tangent(r, W, df, alphas, pf, ddf, da, dpf)
    return (W, gap), (dW, jnp.zeros_like(gap))


@functools.partial(jax.jit, static_argnums=(0,))
def _tangent(r, W, df, alphas, pf, ddf, da, dpf):
    """dW from the support's optimality conditions (linear in the tangents)."""
    G = _gram(df)

    def one(a, w, d_a):
        mask = (w != 0) | (r == 0.0)
        # d(Xᵀ(y − Xw)/n) with w held fixed, minus d of the penalty's gradient
        g = jax.jvp(lambda d: d.neg_grad(w[None])[0], (df,), (ddf,))[1]
        grad_pen = r * pf * jnp.sign(w) + (1.0 - r) * pf * w
        dgrad = r * dpf * jnp.sign(w) + (1.0 - r) * dpf * w
        rhs = (g - d_a * grad_pen - a * dgrad) * mask
        dw = jnp.linalg.solve(_system(G, a, pf, r, mask), rhs)
        return jnp.where(mask, dw, 0.0)

    return jax.vmap(one)(alphas, W, da)
