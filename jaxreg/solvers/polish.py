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

The systems are solved on the host, level by level along the path, by LAPACK's
Cholesky; a support with dependent columns (more free coordinates than rows, or a
pivot at rounding level) has no unique solution and is skipped. Without an L2
part the matrix does not depend on the level, and along a path most of a support
carries over to the next level, so the factor is kept for the longest prefix of
its columns still in the support and the new columns are appended. The work is
bounded by ``budget`` flops (:func:`refine_result` passes a share of what the
path's FISTA iterations cost, see ``REFINE_SHARE``): systems are taken in path
order while they fit, and the levels left keep FISTA's answers.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotrs as _potrs
from scipy.linalg.lapack import dtrtrs as _trtrs

from jaxreg.solvers import fista

__all__ = ["recertify", "refine", "refine_result"]

_EPS = float(np.finfo(np.float64).eps)
# The cost of one linear system beyond its flops: a dozen NumPy and LAPACK calls,
# about 60 microseconds on a 2-core CPU (39 systems of a 1000 x 100 path in
# 2.2 ms), in the units of the budget: flops of the solver's batched products,
# which go far faster than these small calls. Set so that a 5-fold CV at
# 2000 x 200 no longer refined all its levels (at 3e5 it refined 69 a member,
# 60 of its 320 ms, profiled).
GROUP_OVERHEAD = 3e6
# Its flops run in small single-threaded LAPACK calls, far slower per flop than
# the solver's batched products (an elastic-net path at 5000 x 500 refined 96
# levels in 29 ms, on a 0.23 s path): they count eight times, a calibration.
FLOP_WEIGHT = 8.0
# The support refinement may spend this share of the cost of the path's FISTA
# iterations (their flops and a fixed cost per iteration; GROUP_OVERHEAD
# per linear system for its Python and LAPACK calls; its LAPACK runs on one
# thread, the loop's products on all). Measured on a 2-core CPU, 100 alphas, tol
# 1e-6, against the previous release: with a share of 0.1 a 1000 x 100 path of
# 16 iterations a level took 1.68x as long and the elastic net at 5000 x 500
# 1.24x.
REFINE_SHARE = 0.05
# Paths of at most this many levels (single alphas: the estimators) may also
# spend REFINE_FLOOR, about a millisecond: a call costs that before any
# iteration.
SHORT_PATH = 16
REFINE_FLOOR = 16 * GROUP_OVERHEAD


class _Factor:
    """The Cholesky factor of ``X_SᵀX_S/n (+ diag(ridge))`` for an ordered support.

    While the ridge part is zero the matrix does not depend on the level, so a
    new support keeps the factor of the longest prefix of the current order that
    it still holds (a leading block of a Cholesky factor is the factor of the
    leading block) and appends the rest: ``s·k·m + m³/3`` flops for ``m`` columns
    after a kept prefix of ``k``, against ``s³/3`` to refactor.
    """

    def __init__(self, datafit, p, per_entry, rank):
        self.df, self.per_entry, self.rank = datafit, per_entry, rank
        self.order, self.L, self.ridge = np.zeros(0, np.int64), None, False
        self._in = np.zeros(p, bool)  # scratch membership mask

    def plan(self, S, ridge):
        """``(flops, keep, new)``: keep the first ``keep`` columns of the current
        factor and append ``new``; ``keep = 0``, ``new = S`` refactors.
        ``flops`` is inf for a support the datafit cannot determine (more free
        coordinates than rows, and no ridge part)."""
        s = S.size
        if not ridge and s > self.rank:
            return np.inf, 0, S
        keep = 0
        if not (ridge or self.ridge or self.L is None):
            self._in[S] = True
            held = self._in[self.order]
            self._in[S] = False
            keep = int(np.argmin(held)) if not held.all() else held.size
        if keep == 0:
            return s**3 / 3 + self.per_entry * s * s, 0, S
        self._in[self.order[:keep]] = True
        new = S[~self._in[S]]
        self._in[self.order[:keep]] = False
        m = new.size
        return s * keep * m + m**3 / 3 + self.per_entry * s * m, keep, new

    def update(self, keep, new, ridge_values):
        """The factor of ``order[:keep] + new``; False (and no factor kept) when
        the matrix is not numerically positive definite."""
        try:
            if keep == 0:
                H = self.df.block(new, new)
                H[np.diag_indices_from(H)] += ridge_values
                self.ridge = bool(ridge_values.any())
                self.order, self.L = new, _cholesky(H)
            elif new.size or keep < self.order.size:
                head, L0 = self.order[:keep], self.L[:keep, :keep]
                B, info = _trtrs(L0, self.df.block(head, new), lower=1)
                if info != 0:
                    raise np.linalg.LinAlgError("singular triangle")
                C = self.df.block(new, new) - B.T @ B
                s = keep + new.size
                L = np.zeros((s, s))
                L[:keep, :keep], L[keep:, :keep] = L0, B.T
                L[keep:, keep:] = _cholesky(C, s, float(np.diag(L0).max()))
                self.order, self.L = np.concatenate([head, new]), L
            return True
        except (np.linalg.LinAlgError, ValueError):
            self.order, self.L = np.zeros(0, np.int64), None
            return False

    def solve(self, rhs):
        x, info = _potrs(self.L, rhs, lower=1)
        return x if info == 0 else np.full_like(rhs, np.nan)


def _cholesky(H, size=None, scale=0.0):
    """Lower Cholesky factor of ``H``, the trailing block of a matrix of ``size``
    columns whose earlier pivots reach ``scale``."""
    L, info = _potrf(H, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("not positive definite")
    # LAPACK stops at the first non-positive pivot. Dependent columns leave a
    # Schur complement of rounding size, about size·eps·max(H): a pivot below
    # sqrt(10·size·eps) times the largest means no unique solution to take.
    d = np.diag(L)
    size = H.shape[0] if size is None else size
    top = max(float(d.max()), scale)
    if not (np.isfinite(d).all() and d.min() > np.sqrt(10 * size * _EPS) * top):
        raise np.linalg.LinAlgError("numerically singular")
    return L


def _groups(W, a, b, lower, upper):
    """The free coordinates of every row, and runs of consecutive rows that share
    one linear system: the same free set, signs and held values, and no L2 part
    (which would change the matrix with the level). Returns ``(free, starts)``."""
    free = (W > lower) & (W < upper) & ((W != 0) | (a == 0))
    pattern = np.where(free, np.sign(W) + 2.0, W)  # signs on S, values off it
    starts = np.ones(W.shape[0], bool)
    starts[1:] = np.any(pattern[1:] != pattern[:-1], axis=1)
    starts |= b.any(axis=1)
    return free, np.flatnonzero(starts)


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
    k, p = W.shape
    a, b = penalty._ab()
    lower, upper = penalty.lower, penalty.upper
    X = getattr(datafit, "X", None)  # the design form, or None for the Gram's
    if X is None:
        factor = _Factor(datafit, p, 1, p)
    else:
        factor = _Factor(datafit, p, 2 * X.shape[0], X.shape[0])
    out, tried = W.copy(), np.zeros(k, bool)
    free, starts = _groups(W, a, b, lower, upper)
    for g0, g1 in zip(starts, [*starts[1:], k], strict=True):
        S = np.flatnonzero(free[g0])
        if not S.size:
            continue
        ridge = b[g0, S]
        cost, keep, new = factor.plan(S, ridge.any())
        cost = FLOP_WEIGHT * (cost + 2 * S.size * S.size * (g1 - g0)) + GROUP_OVERHEAD
        if cost > budget:
            continue
        budget -= cost
        if not factor.update(keep, new, ridge):
            continue
        S = factor.order
        held = np.where(free[g0], 0.0, W[g0])
        sign = np.sign(W[g0, S])
        rhs = datafit.correlation(S, held)[:, None] - (a[g0:g1, S] * sign).T
        V = factor.solve(rhs).T  # (g, s)
        if not np.isfinite(V).all():
            continue
        V = np.where((a[g0:g1, S] > 0) & (np.sign(V) != sign), 0.0, V)
        out[g0:g1, S] = np.clip(V, lower[S], upper[S])
        tried[g0:g1] = True
    return out, tried


def _member(datafit, penalty, lv, f, t):
    """One path's datafit and penalty of the stacked ones (see refine_result)."""
    df = type(datafit)(datafit[0][f], datafit[1][f][..., t], datafit[2][f, t])
    pen = penalty._replace(
        alpha=penalty.alpha[lv],
        l1=penalty.l1[lv, f],
        l2=penalty.l2[lv, f],
        lower=penalty.lower[f],
        upper=penalty.upper[f],
    )
    return df, pen


def recertify(r, datafit, penalty, fixed, tol):
    """A float32 solver result with every level's duality gap (and ``rr``)
    recomputed in float64 on the host, and ``converged`` from those: a float32
    gap can be off by some eps32 of ‖y − ȳ‖²/n (its products in float32, a Gram
    form's ``c − G·w`` cancelling), enough to pass a level whose gap is above
    tol. The coefficients are the solver's; the arguments as for
    :func:`refine_result` (``datafit`` in float64, from the float32 data)."""
    gap, rr = (np.array(a, np.float64) for a in (r.gap, r.rr))
    L, F, T = gap.shape[:3]
    for lv, f, t in np.ndindex(L, F, T):
        rows = np.flatnonzero(~fixed[lv])
        if not rows.size:
            continue
        df, pen = _member(datafit, penalty, lv, f, t)
        W = np.asarray(r.coef[lv, f, t, rows], np.float64)
        g, rr_new, _ = fista.duality_gap(df, pen._replace(alpha=pen.alpha[rows]), W)
        gap[lv, f, t, rows], rr[lv, f, t, rows] = g, rr_new
    conv = (gap <= tol[None, :, :, None]) & np.isfinite(gap)
    conv |= fixed[:, None, None, :]
    return r._replace(gap=gap, rr=rr, converged=conv)


def refine_result(r, datafit, penalty, fixed, tol, per_iter):
    """A batched solver result (``coef`` (L, F, T, k, p), ``gap``, ``rr``,
    ``n_iter``, ``converged``) with each path refined, kept where its duality gap
    (recomputed on the host) is no larger, and ``converged`` recomputed.

    ``datafit``: stacked over the F members (``c`` (F, p, T), ``yy`` (F, T));
    ``penalty``: an ElasticNet stacked over the L l1_ratios (``alpha`` (L, k),
    ``l1``/``l2`` (L, F, p), ``lower``/``upper`` (F, p)); ``fixed`` (L, k) the
    closed-form levels; ``tol`` (F, T) the absolute tolerances; ``per_iter`` the
    cost of one FISTA iteration of one level, in flops.
    """
    coef, gap, rr = (np.array(a, np.float64) for a in (r.coef, r.gap, r.rr))
    L, F, T = gap.shape[:3]
    floor = REFINE_FLOOR if int((~fixed[0]).sum()) <= SHORT_PATH else 0.0
    for lv, f, t in np.ndindex(L, F, T):
        df, pen = _member(datafit, penalty, lv, f, t)
        budget = REFINE_SHARE * per_iter * float(r.n_iter[lv, f, t].sum()) + floor
        cand, tried = refine(df, pen, coef[lv, f, t], budget)
        rows = np.flatnonzero(tried & ~fixed[lv])
        if not rows.size:
            continue
        new, rr_new, _ = fista.duality_gap(
            df, pen._replace(alpha=pen.alpha[rows]), cand[rows]
        )
        better = np.isfinite(new) & ~(new > gap[lv, f, t, rows])
        keep = rows[better]
        coef[lv, f, t, keep] = cand[keep]
        gap[lv, f, t, keep] = new[better]
        rr[lv, f, t, keep] = rr_new[better]
    conv = (gap <= tol[None, :, :, None]) & np.isfinite(gap)
    conv |= fixed[:, None, None, :]
    return r._replace(coef=coef, gap=gap, rr=rr, converged=conv)
