"""Support refinement: the exact elastic-net solution on the support FISTA found.

FISTA stops as soon as the duality gap meets the tolerance, and then the
coefficients are only as close to the solution as that gap allows (about
``sqrt(2·gap/μ)`` for curvature μ). Coordinate descent converges linearly once the
support is found, so at the same ``tol`` it usually lands far closer. Yet once
the support and the signs are known, the elastic net is a linear system: for the
free coordinates S (nonzero, or unpenalized, and strictly inside their box), with
the others held where they are (at 0, or at a bound),

    (X_SᵀX_S/n + diag(b_S))·w_S = X_Sᵀ(y - X·w_{not S})/n - a_S·sign(w_S)

:func:`refine` solves it for every level and hands back the candidates; the
caller keeps one only where its duality gap, computed by the same certificate as
the solver's, is no larger than that of the iterate. A wrong support or sign
gives a larger gap and is dropped, so refinement can never make a certificate
worse, let alone lie.

The systems are solved on the host, level by level along the path: LAPACK's
Cholesky (least squares when a support is rank deficient). Without an L2 part
the matrix does not depend on the level, and a lasso path's supports mostly
grow, so the factor of one level is extended to the next by appending the new
columns (``s²·m`` flops for m new features, against ``s³/3`` to refactor). The
work is bounded by ``budget`` flops (the caller passes what the path's FISTA
iterations cost): a path whose supports are wide next to that work keeps
FISTA's answers at its widest levels.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["refine"]


def _support(w, a, lower, upper):
    """The free coordinates: strictly inside their box, and nonzero or
    unpenalized."""
    inside = (w > lower) & (w < upper)
    return np.flatnonzero(inside & ((w != 0) | (a == 0)))


class _Factor:
    """The Cholesky factor of ``X_SᵀX_S/n (+ diag(ridge))`` for an ordered support,
    grown by appending columns while the ridge part is zero."""

    def __init__(self, datafit, per_entry):
        self.df, self.per_entry = datafit, per_entry
        self.order, self.L, self.ridge = np.zeros(0, np.int64), None, False

    def cost(self, S, ridge):
        s = S.size
        new = np.setdiff1d(S, self.order, assume_unique=True)
        if ridge or self.ridge or self.L is None or new.size + self.order.size != s:
            return s**3 / 3 + self.per_entry * s * s, None
        m = new.size
        return s * s * m + m**3 / 3 + self.per_entry * s * m, new

    def update(self, S, ridge_values, new):
        """Factor for S: appended (``new`` given) or refactored; False when the
        matrix is singular (then no factor is kept)."""
        try:
            if new is None:
                H = self.df.block(S, S)
                H[np.diag_indices_from(H)] += ridge_values
                self.order, self.ridge = S, bool(ridge_values.any())
                self.L = scipy.linalg.cholesky(H, lower=True)
            elif new.size:
                B = scipy.linalg.solve_triangular(
                    self.L, self.df.block(self.order, new), lower=True
                )
                C = self.df.block(new, new) - B.T @ B
                s, m = self.order.size, new.size
                L = np.zeros((s + m, s + m))
                L[:s, :s], L[s:, :s] = self.L, B.T
                L[s:, s:] = scipy.linalg.cholesky(C, lower=True)
                self.order, self.L = np.concatenate([self.order, new]), L
            return True
        except (np.linalg.LinAlgError, ValueError):
            self.order, self.L = np.zeros(0, np.int64), None
            return False

    def solve(self, rhs):
        return scipy.linalg.cho_solve((self.L, True), rhs)


def refine(datafit, penalty, W, budget: float):
    """Candidates for the rows of ``W`` (k, p, levels in path order): the exact
    solutions of the linear systems on their supports, while the work fits in
    ``budget`` flops.

    ``datafit``/``penalty``: one member's, with host (NumPy float64) arrays and
    ``penalty.alpha`` (k,). Returns ``(candidates, tried)``: (k, p) and (k,) bool;
    rows not tried are copies of ``W``. A candidate's signs and box are enforced
    (a coordinate that changed sign is set to 0, then clipped): the caller's gap
    decides whether it is better.
    """
    W = np.array(W, np.float64)
    k = W.shape[0]
    a, b = penalty._ab()
    lower, upper = penalty.lower, penalty.upper
    rows = getattr(datafit, "X", None)
    factor = _Factor(datafit, 1 if rows is None else 2 * rows.shape[0])
    out, tried = W.copy(), np.zeros(k, bool)
    for i in range(k):
        S = _support(W[i], a[i], lower, upper)
        if not S.size:
            continue
        ridge = b[i, S]
        cost, new = factor.cost(S, ridge.any())
        if cost > budget:
            continue
        budget -= cost
        if not factor.update(S, ridge, new):
            continue
        S = factor.order
        held = W[i].copy()
        held[S] = 0.0
        sign = np.sign(W[i, S])
        v = factor.solve(datafit.correlation(S, held) - a[i, S] * sign)
        if not np.isfinite(v).all():
            continue
        v = np.where((a[i, S] > 0) & (np.sign(v) != sign), 0.0, v)
        out[i, S] = np.clip(v, lower[S], upper[S])
        tried[i] = True
    return out, tried
