"""Warm-started chunks on a working set chosen by the sequential strong rule.

On a sparse stretch of the path most features stay at zero, yet a dense iteration
pays for all p of them (p² per alpha in Gram mode). Here each chunk of alphas is
solved on a working set S only: the features active at the previous chunk's last
solution, plus those the sequential strong rule (Tibshirani et al. 2012) cannot
discard, ``|q_j(w_prev)| >= l1_ratio·p_j·(2·alpha - alpha_prev)``. The set is padded
to a bucket size so that only a handful of shapes are ever compiled.

The strong rule is not safe, so every chunk is checked on the full problem: the
duality gap is evaluated with all p features, and features that violate their
optimality condition join S before the chunk is solved again. The reported gaps are
those of the full problem, so the certificate is the same as without screening.

References
----------
Tibshirani, Bien, Friedman, Hastie, Simon, Taylor & Tibshirani (2012), Strong rules
for discarding predictors in lasso-type problems. JRSS-B 74(2).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import fista

__all__ = ["solve_path_screened"]

_MIN_BUCKET = 32


def _bucket(size: int, p: int) -> int:
    """Working-set width: the next power of two (at least 32), capped at p."""
    w = _MIN_BUCKET
    while w < size:
        w *= 2
    return min(w, p)


@functools.partial(jax.jit, static_argnames=("gram", "check_every"))
def _solve_subset(
    A,
    c,
    yy,
    idx,
    mask,
    a,
    b,
    lower,
    upper,
    coef0,
    lipschitz,
    tol_abs,
    max_iter,
    *,
    gram,
    check_every,
):
    """FISTA on the columns ``idx`` (padded entries masked to zero)."""
    m = mask.astype(A.dtype)
    if gram:
        A_S = A[idx][:, idx] * m[:, None] * m[None, :]
        c_S = c[idx] * m
    else:
        A_S = A[:, idx] * m[None, :]
        c_S = c
    # The working set's own step: the largest eigenvalue of X_SᵀX_S/n is at most the
    # full problem's, often far smaller (equicorrelated X: about rho·|S| against
    # rho·p), and FISTA's iterations grow with its square root.
    lipschitz = jnp.minimum(lipschitz, fista.lipschitz(A_S, gram=gram))
    # Padded coordinates have zero data and zero start, so they stay exactly zero.
    return fista.fista_batch(
        A_S,
        c_S,
        yy,
        a[:, idx],
        b[:, idx],
        lower[idx] * m,
        upper[idx] * m,
        coef0[:, idx] * m,
        lipschitz,
        tol_abs,
        max_iter,
        gram=gram,
        check_every=check_every,
    )


@functools.partial(jax.jit, static_argnames=("gram",))
def _full_gap(A, c, yy, W, a, b, lower, upper, *, gram):
    """Gap, ``||r||²/n`` and ``q = Xᵀr/n`` of the full problem at W (B, p)."""
    gap, rr = fista._gap_and_rr(A, c, yy, W, a, b, lower, upper, gram)
    q = fista._neg_grad(A, c, W, gram)
    return gap, rr, q


def solve_path_screened(
    A,
    c,
    yy,
    alphas,
    l1_ratio,
    penalty_factor,
    lower,
    upper,
    lipschitz,
    tol_abs,
    max_iter,
    *,
    gram,
    check_every,
    chunk,
    q_start,
):
    """Path over decreasing ``alphas`` in chunks, each on a strong-rule working set.

    Returns a :class:`jaxreg.fista.FistaResult` for the full problem (gaps of the full
    problem). ``q_start`` is ``Xᵀy/n`` (the negative gradient at w = 0).
    """
    dt = A.dtype
    p = A.shape[1]
    pf = np.asarray(penalty_factor, np.float64)
    lower_np, upper_np = np.asarray(lower), np.asarray(upper)
    # Unpenalized (bounded) features are never discarded.
    must = pf == 0
    can_up, can_down = upper_np > 0, lower_np < 0
    k = len(alphas)
    w_prev = np.zeros(p)
    q_prev = np.asarray(q_start, np.float64)
    alpha_prev = float(alphas[0])
    out_coef = np.zeros((k, p))
    out = {
        name: np.zeros(k, t)
        for name, t in (("n_iter", np.int64), ("gap", np.float64), ("rr", np.float64))
    }
    pf_j = jnp.asarray(pf, dt)
    for start in range(0, k, chunk):
        lam = np.asarray(alphas[start : start + chunk], np.float64)
        C = len(lam)
        lam_pad = np.concatenate([lam, np.full(chunk - C, lam[-1])])
        lam_j = jnp.asarray(lam_pad, dt)
        a = lam_j[:, None] * (l1_ratio * pf_j)
        b = lam_j[:, None] * ((1.0 - l1_ratio) * pf_j)
        in_set = (w_prev != 0) | must
        # Candidates: features the strong rule keeps, but at most as many as are
        # already active (plus a few): over a chunk spanning a wide range of alphas
        # the rule keeps nearly everything. Misses are added by the KKT check.
        score = np.abs(q_prev) / np.maximum(l1_ratio * pf, 1e-300)
        strong = score >= 2 * lam[-1] - alpha_prev
        extra = min(int(strong.sum()), max(_MIN_BUCKET, int(in_set.sum())))
        order = np.argsort(-np.where(in_set, -np.inf, score), kind="stable")
        in_set[order[:extra]] = True
        coef0 = jnp.broadcast_to(jnp.asarray(w_prev, dt), (chunk, p))
        iters = np.zeros(chunk, np.int64)
        while True:
            S = np.flatnonzero(in_set)
            W = _bucket(max(S.size, 1), p)
            idx = np.zeros(W, np.int64)
            idx[: S.size] = S
            mask = np.arange(W) < S.size
            res = _solve_subset(
                A,
                c,
                yy,
                jnp.asarray(idx),
                jnp.asarray(mask),
                a,
                b,
                lower,
                upper,
                coef0,
                lipschitz,
                tol_abs,
                max_iter,
                gram=gram,
                check_every=check_every,
            )
            iters += np.asarray(res.n_iter)
            full = (
                jnp.zeros((chunk, p), dt)
                .at[:, jnp.asarray(idx)]
                .add(res.coef * jnp.asarray(mask, dt))
            )
            gap, rr, q = _full_gap(A, c, yy, full, a, b, lower, upper, gram=gram)
            q_np = np.asarray(q, np.float64)
            a_np = np.asarray(a, np.float64)
            # A discarded feature (w_j = 0) is optimal iff -a_j <= q_j <= a_j, on the
            # sides the box leaves open.
            pushed = ((q_np > a_np * (1 + 1e-9)) & can_up) | (
                (q_np < -a_np * (1 + 1e-9)) & can_down
            )
            violators = ~in_set & pushed.any(axis=0)
            if not violators.any():
                break
            in_set |= violators
            coef0 = full
        sl = slice(start, start + C)
        out_coef[sl] = np.asarray(full[:C], np.float64)
        out["n_iter"][sl] = iters[:C]
        out["gap"][sl] = np.asarray(gap[:C], np.float64)
        out["rr"][sl] = np.asarray(rr[:C], np.float64)
        w_prev = out_coef[start + C - 1]
        q_prev = q_np[C - 1]
        alpha_prev = float(lam[-1])
    gap_tol = float(tol_abs)
    return fista.FistaResult(
        out_coef, out["n_iter"], out["gap"], out["rr"], out["gap"] <= gap_tol
    )
