"""An active-set solver for wide designs (p ≫ n), on the host, level by level.

When p ≫ n the small-alpha end of a path is badly conditioned and FISTA's
iteration count explodes. The elastic net restricted to a support whose signs
are known is a linear system, so this solver searches the support instead
(the feature-sign search of Lee, Battle, Raina & Ng, 2007):

1. the coordinate of the working set that most violates its optimality
   condition enters the support, with the sign of its gradient;
2. the system of the support is solved; if a coordinate would change sign on
   the way, the step stops where it reaches 0 (the objective decreases along
   the segment) and the coordinate leaves; repeated until the signs hold;
3. until no coordinate of the working set violates its condition.

The working set of a level is the previous level's support and the sequential
strong-rule candidates; a KKT check on every feature adds the violators, and
the level ends when there are none. The Gram blocks of the features seen so
far are cached along the path (supports carry over from level to level, and
so does the support's Cholesky factor while its system is unchanged). Each
level is then certified by the same duality gap as every other solver
(:func:`jaxreg.solvers.fista.duality_gap`), recomputed on the full problem.

On sparse designs, working sets past ``MATRIX_FREE_AT`` features (fewer
where their factor would outgrow the sparse X: :func:`_matrix_free_at`) are solved
matrix-free instead (:mod:`jaxreg.solvers.matrix_free`: the support systems by
conjugate gradients on the sparse columns, memory linear in the non-zeros);
the Gram cache is released. A system CG cannot solve within its budget (an
ill-conditioned support, or one spanning the rows) sends the rest of the path
back to the factored route, the level it left short solved again there.
"""

from __future__ import annotations

import numpy as np

from jaxreg import _blas
from jaxreg._progress import Progress
from jaxreg.solvers import matrix_free
from jaxreg.solvers.cholesky import Factor, GramSystem, independent, sub
from jaxreg.solvers.matrix_free import Columns, MatrixFree

__all__ = ["better", "rescues", "solve_members", "solve_path", "wanted"]

# Entering coordinates per step: at most this share of the support (at least 1).
ENTER_SHARE = 0.1
# A coordinate violates its condition when |gradient| exceeds its L1 weight by
# this much, relatively (rounding must not make it enter and leave forever).
VIOLATION_RTOL = 1e-10
_TINY = float(np.finfo(np.float64).tiny)
# Features whose Gram columns are cached along the path, at most (or the
# working set and this many more, if more).
CACHE_MAX, CACHE_SPARE = 6000, 1000
# Working sets of sparse designs past this many features are solved
# matrix-free (:mod:`jaxreg.solvers.matrix_free`), the Gram cache released;
# sooner where the factored route's arrays (the cache, the factor and their
# updates: about FACTOR_COPIES square arrays of the working set's size) would
# take more than the sparse X's bytes (or FACTOR_FLOOR bytes, if more).
MATRIX_FREE_AT = 2000
FACTOR_COPIES, FACTOR_FLOOR = 6, 32 * 2**20
# Seconds before a path's progress bar appears (on a terminal only: see
# jaxreg._progress); quicker paths draw nothing.
PROGRESS_AFTER = 2.0


class _GramCache:
    """Gram blocks ``A_iᵀA_j/n`` of the features seen so far, grown by blocks
    from a design's ``blocks()`` source (each new block costs its products with
    the known ones) in a buffer with spare capacity (no copy per block). Past
    ``CACHE_MAX`` features, or ``most`` if fewer (or the working set's and
    ``CACHE_SPARE`` more, or a quarter of ``most`` if fewer), the features
    outside the working set are dropped."""

    def __init__(self, source, p, most=None):
        self.source = source
        # features kept, at most (or the working set's and a quarter more)
        self.most = CACHE_MAX if most is None else min(CACHE_MAX, most)
        self.spare = CACHE_SPARE if most is None else min(CACHE_SPARE, most // 4)
        self.pos = np.full(p, -1)
        self.feat = np.zeros(0, np.int64)
        self.buf = np.zeros((0, 0))

    @property
    def G(self):
        k = self.feat.size
        return self.buf[:k, :k]

    def ensure(self, idx):
        new = idx[self.pos[idx] < 0]
        if not new.size:
            return
        k, m = self.feat.size, new.size
        if k + m > max(self.most, idx.size + self.spare):  # keep idx's only
            keep = np.sort(self.pos[idx[self.pos[idx] >= 0]])
            G = sub(self.buf, keep, keep)
            self.source.select(keep)
            self.pos[:] = -1
            self.feat, k = self.feat[keep], keep.size
            self.pos[self.feat] = np.arange(k)
            self.buf = np.empty((k + m + m // 4, k + m + m // 4))
            self.buf[:k, :k] = G
        elif k + m > self.buf.shape[0]:  # grow by a quarter (at least)
            cap = max(k + m, 5 * self.buf.shape[0] // 4, 64)
            buf = np.empty((cap, cap))
            buf[:k, :k] = self.G
            self.buf = buf
        cross, own = self.source.extend(k, new)
        self.buf[:k, k : k + m] = cross
        self.buf[k : k + m, :k] = cross.T
        self.buf[k : k + m, k : k + m] = own
        self.feat = np.concatenate([self.feat, new])
        self.pos[new] = np.arange(k, k + m)

    def view(self, W):
        """``(F, G_FF)`` for a working set ``W`` (its features ``F``, a
        superset): every cached feature without a copy when they are at most
        twice as many as ``W``, else ``W``'s own block."""
        if self.feat.size <= 2 * W.size:
            return self.feat, self.G
        return W, sub(self.buf, self.pos[W], self.pos[W])


class _Dense:
    """A dense design as the operator the solver uses (the sparse one is
    :class:`jaxreg._sparse_design.Operator`)."""

    def __init__(self, A):
        self.A = A
        self.n, self.p = A.shape

    def matvec(self, v):
        S = np.flatnonzero(v)
        return self.A[:, S] @ v[S]

    def rmatvec(self, r):
        return self.A.T @ r

    def columns(self, idx):
        return self.A[:, idx]

    def blocks(self):
        return _DenseBlocks(self.A)

    def restrict(self, idx):
        """The columns ``idx`` as products (:class:`Columns`)."""
        m = idx.size
        return Columns(self.A[:, idx], np.ones(self.n), np.zeros(m), np.ones(m))


class _DenseBlocks:
    """New Gram blocks of a dense design; the known columns are kept contiguous
    (transposed), so a new block costs one product and no gather of them."""

    def __init__(self, A):
        self.A, self.n = A, A.shape[0]
        self.At = np.empty((0, self.n))  # known columns, as rows (capacity)

    def extend(self, k, new):
        m = new.size
        if k + m > self.At.shape[0]:
            At = np.empty((max(2 * (k + m), 64), self.n))
            At[:k] = self.At[:k]
            self.At = At
        self.At[k : k + m] = self.A[:, new].T
        Bt = self.At[k : k + m]
        return self.At[:k] @ Bt.T / self.n, Bt @ Bt.T / self.n

    def select(self, keep):
        """Keep the known columns at positions ``keep`` (increasing), in order."""
        self.At[: keep.size] = self.At[keep]


class _FullGram:
    """The Gram form: every block is at hand."""

    def __init__(self, G):
        self.G = np.asarray(G)

    def ensure(self, idx):
        pass

    def view(self, W):
        return W, sub(self.G, W, W)


def _excess(grad, a, signs):
    """How far each coordinate at 0 violates its optimality condition (> 0:
    it does): ``|grad| − a``, or ``grad − a`` where it may only grow (lower
    limit 0), ``−grad − a`` where it may only shrink (upper limit 0), −inf
    where both hold. ``signs``: the masks (lower == 0, upper == 0), or None."""
    if signs is None:
        return np.abs(grad) - a * (1.0 + VIOLATION_RTOL)
    lo0, up0 = signs
    g = np.where(lo0, grad, np.where(up0, -grad, np.abs(grad)))
    return np.where(lo0 & up0, -np.inf, g - a * (1.0 + VIOLATION_RTOL))


def _feature_sign(system, a, w, max_steps, signs=None, out=None):
    """Minimise ``½wᵀGw − cᵀw + Σ a_j|w_j| + b_j/2·w_j²`` over the working set
    from ``w``, with ``G``, ``c``, ``b`` and the support systems of ``system``
    (:class:`jaxreg.solvers.cholesky.GramSystem`, or
    :class:`jaxreg.solvers.matrix_free.MatrixFree`). Returns ``(w, steps,
    done)``: ``done`` when every coordinate meets its optimality condition.
    ``signs``: masks of the coordinates held ≥ 0 and ≤ 0 (:func:`_excess`); a
    coordinate enters with the sign of its gradient and leaves where it would
    change sign, so its limit holds at every step. ``out``: a mask of
    coordinates outside the working set (held at 0, never entering)."""
    c = system.c
    free = a <= 0  # unpenalized: always in the support, no sign
    w = np.array(w, np.float64)
    solved = False  # w solves the system of its support and signs
    blocked = np.zeros(c.size, bool)  # entered and turned back at once
    closed = np.zeros(c.size, bool) if out is None else out  # never entering
    sign_of = np.sign(w)
    steps = 0
    while steps < max_steps:
        steps += 1
        S = np.flatnonzero((w != 0) | free)
        enter = np.zeros(0, np.int64)
        if solved:
            grad = system.gradient(w)
            excess = _excess(grad, a, signs)
            viol = np.flatnonzero((w == 0) & ~(free | blocked | closed) & (excess > 0))
            if not viol.size:
                return w, steps, not blocked.any()
            count = max(1, int(ENTER_SHARE * S.size))
            enter = viol[np.argsort(-excess[viol])[:count]]
            new_sign = np.sign(grad[enter])
        else:
            new_sign = np.zeros(0)
        T = np.concatenate([S, enter])
        if not T.size:
            solved = True
            continue
        sign_of[S] = np.sign(w[S])
        sign_of[enter] = new_sign
        sign_of[free] = 0.0
        target = system.solve(T, c[T] - a[T] * sign_of[T], w[T])
        sign = sign_of[T]
        cur = w[T]
        if target is None and enter.size > 1:  # some depend on S and the others
            T, target = system.enter_independent(S, enter, c - a * sign_of, w)
            sign, cur, enter = sign_of[T], w[T], T[S.size :]
        if target is None and enter.size == 1:
            step = system.null_step(T, cur, sign)
            if step is None:
                return w, steps, False
            w[T] = step[0]
            solved, blocked[:] = False, False
            continue
        if target is None:
            target = system.lstsq(T, c[T] - a[T] * sign)
        if target is None or not np.isfinite(target).all():
            return w, steps, False
        crosses = (sign != 0) & (np.sign(target) != sign)
        if not crosses.any():
            w[T] = target
            solved, blocked[:] = True, False
            continue
        # every crossing coordinate leaves at once when that still lowers the
        # objective (the signs' quadratic on the orthant); else stop where the
        # first one reaches 0, which always does
        if crosses.sum() > 1:
            trial = w.copy()
            trial[T] = np.where(crosses, 0.0, target)
            if system.objective(a, trial) < system.objective(a, w):
                w, solved = trial, False
                blocked[:] = False
                continue
        delta = target - cur
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0: stays at 0
            t = np.where(crosses, np.where(delta != 0, -cur / delta, 0.0), np.inf)
        j = int(np.argmin(t))
        frac = min(max(float(t[j]), 0.0), 1.0)
        if frac == 0.0 and cur[j] == 0.0:  # entering coordinates turned back
            blocked[T[crosses & (cur == 0.0)]] = True
            continue
        w[T] = cur + frac * delta
        w[T[j]] = 0.0
        solved, blocked[:] = False, False
    return w, steps, False


def _matrix_free_at(design):
    """The working-set size past which a sparse design's sets are solved
    matrix-free (None: a dense design's never are)."""
    if not getattr(design, "sparse", False):
        return None
    X = design.X
    size = max(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes, FACTOR_FLOOR)
    return min(MATRIX_FREE_AT, int(np.sqrt(size / (8 * FACTOR_COPIES))))


def _working_set(w, q, a, a_prev, l1):
    """A level's first working set: the support, the unpenalized and the
    sequential strong rule's strongest candidates, at most as many as the
    support (64 at least); the KKT check adds any that are missing."""
    base = (w != 0) | (l1 <= 0)
    cand = np.flatnonzero(~base & (np.abs(q) >= 2.0 * a - a_prev))
    cand = cand[np.argsort(-np.abs(q[cand]) / np.maximum(a[cand], _TINY))]
    return np.union1d(np.flatnonzero(base), cand[: max(64, int(base.sum()))])


def solve_path(datafit, penalty, levels, w0, tol_abs, max_iter, coef=None,
               on_level=None):  # fmt: skip
    """Every level of one member and target, in path order, warm-started.

    ``datafit``: a host datafit in design form (``X`` (n, p), ``y`` (n,),
    ``yy``) or in Gram form (``G`` (p, p), ``c`` (p,), ``yy``: sparse X and
    sufficient statistics);
    ``penalty``: an ElasticNet with host arrays (``l1``, ``l2``, ``lower``,
    ``upper`` (p,), finite ones 0 only: sign constraints); ``levels`` (k,)
    decreasing; ``w0`` (p,) the start; ``tol_abs`` the gap to reach;
    ``max_iter`` the support steps a level may take; ``coef`` (k, p): where
    to write the coefficients (a new array by default; the caller's own, so
    that a path is not held twice); ``on_level``: called after each level
    (progress). Returns ``coef`` (k, p),
    ``gap``, ``rr``, ``n_iter`` and ``converged`` (k,).
    """
    design = None
    if hasattr(datafit, "G"):
        cache, c_all = _FullGram(datafit.G), np.asarray(datafit.c)
        p, limit = c_all.size, None

        def grad(w):
            """``q = Xᵀ(y − Xw)/n`` and ``rr = ||y − Xw||²/n``."""
            S = np.flatnonzero(w)
            q = c_all - datafit.G[:, S] @ w[S]
            return q, max(float(datafit.yy - w[S] @ (c_all[S] + q[S])), 0.0)
    else:
        y = datafit.y
        design = datafit.X if hasattr(datafit.X, "blocks") else _Dense(datafit.X)
        n, p = design.n, design.p
        c_all = design.rmatvec(y) / n
        limit = _matrix_free_at(design)
        cache = _GramCache(design.blocks(), p, limit)

        def grad(w):
            r = y - design.matvec(w)
            return design.rmatvec(r) / n, float(r @ r) / n

    root = 1.0 / np.sqrt(n) if design is not None else None

    def unfactored(W):
        """Whether a working set is solved matrix-free (sparse designs whose
        working sets grow past ``limit`` features, :func:`_matrix_free_at`:
        their Gram blocks and factor would outgrow the data)."""
        return limit is not None and W.size > limit

    l1, l2 = np.asarray(penalty.l1), np.asarray(penalty.l2)
    lower, upper = np.asarray(penalty.lower), np.asarray(penalty.upper)
    signs = None  # sign constraints (finite limits are 0: see signs_only)
    if np.isfinite(lower).any() or np.isfinite(upper).any():
        signs = lower == 0, upper == 0
    k = len(levels)
    coef = np.zeros((k, p)) if coef is None else coef
    n_iter = np.zeros(k, np.int64)
    w = np.array(w0, np.float64)
    q, rr_i = grad(w)
    gap, rr = np.zeros(k), np.zeros(k)

    def certificate(lam, w, q, rr_i):
        """A level's duality gap, from this w's own residual (the terms of
        :func:`jaxreg.solvers.fista.duality_gap`)."""
        pen = penalty._replace(alpha=np.array([lam]))
        sc = pen.dual_scale(q[None])
        g = datafit.fenchel_young(np.array([rr_i]), sc)
        return (g + pen.fenchel_young(w[None], sc[:, None] * q[None]))[0]

    prev = kept = None
    factored = prune = False  # matrix-free failed once: factored from then on
    for i, lam in enumerate(np.asarray(levels, np.float64)):
        a, b = lam * l1, lam * l2
        a_prev = a if prev is None else prev * l1
        W = _working_set(w, q, a, a_prev, l1)
        steps = 0
        while True:
            if cache is None and factored:
                cache = _GramCache(design.blocks(), p)
            elif cache is not None and not factored and unfactored(W):
                cache = kept = None  # free the cache
            outside = np.ones(p, bool)
            outside[W] = False
            if cache is None:
                F, out, chol = W, None, None
                pos = a[W][a[W] > 0]  # the smallest L1 weight sets CG's tolerance
                tol = matrix_free.KKT_RTOL * (float(pos.min()) if pos.size else _TINY)
                system = MatrixFree(design.restrict(W), c_all[W], b[W], n, tol)
            else:
                cache.ensure(W)
                # the features solved over: W, or every cached one (no copy
                # of G), those outside W held at 0
                F, G = cache.view(W)
                out = None if W.size == F.size else outside[F]
                cols = None
                if design is not None:  # the columns scaled so that G = colsᵀcols
                    cols = lambda T, F=F: design.columns(F[T]) * root  # noqa: E731
                chol = Factor(G, b[F])
                if prune:
                    S = np.flatnonzero(w[F])
                    drop = np.setdiff1d(S, independent(G, S[:0], S, b[F], chol))
                    w[F[drop]], prune = 0.0, False
                if kept is not None and np.array_equal(kept[2], b[kept[0]]):
                    at = np.full(p, -1)
                    at[F] = np.arange(F.size)
                    chol.adopt(at[kept[0]], kept[1])
                kept = None  # the last factor, or its copy, is chol's now
                system = GramSystem(G, c_all[F], b[F], cols, chol)
            sF = None if signs is None else (signs[0][F], signs[1][F])
            wF, s, done = _feature_sign(system, a[F], w[F], max_iter - steps, sF, out)
            if chol is not None:
                # the last factor, by feature, for the next working set or
                # level (its system is the same while b is: the lasso's path)
                kept = F[chol.T], chol.L, b[F[chol.T]]
            steps += s
            failed = getattr(system, "failed", False)
            system = G = None  # the working set's columns freed for the full products
            w = np.zeros(p)
            w[F] = wF
            q, rr_i = grad(w)
            viol = outside & (_excess(q, a, signs) > 0)
            if done and viol.any() and steps < max_iter:
                # the violators, the strongest first (at most as many as the set)
                add = np.flatnonzero(viol)
                add = add[np.argsort(-np.abs(q[add]))][: max(16, W.size)]
                W = np.concatenate([W, add])
                continue
            gap[i] = certificate(lam, w, q, rr_i)
            if cache is None and (failed or not gap[i] <= tol_abs):
                # a support CG could not solve (ill-conditioned, or spanning
                # the rows): factored from here on; a level left short anew,
                # from w's independent part (CG may split a fit over
                # dependent columns: the factored search never does)
                factored = True
                if not gap[i] <= tol_abs and steps < max_iter:
                    prune = True
                    continue
            break
        coef[i], n_iter[i], rr[i] = w, steps, rr_i
        prev = lam
        if on_level is not None:
            on_level()
    converged = np.isfinite(gap) & (gap <= tol_abs)
    return coef, gap, rr, n_iter, converged


def signs_only(model, l1_ratios=(1.0,)):
    """Whether the box limits of a model (:class:`jaxreg._validation.Model`) are
    ones this solver takes: none, or sign constraints only (``positive=True``,
    limits at 0) on features with an L1 part (l1_ratio > 0, penalty_factor > 0)."""
    lo, up = np.asarray(model.lower), np.asarray(model.upper)
    bounded = np.isfinite(lo) | np.isfinite(up)
    if not bounded.any():
        return True
    zero = np.all(lo[np.isfinite(lo)] == 0) and np.all(up[np.isfinite(up)] == 0)
    penalized = min(l1_ratios) > 0 and not np.any(bounded & (model.penalty_factor == 0))
    return bool(zero and penalized)


def wanted(problem, grids, l1_ratios=(1.0,)):
    """Whether a problem (:class:`jaxreg.engine.Problem`) takes this solver: asked for,
    or by default for wide designs (more penalized features than rows) on
    the CPU in float64, without box limits other than signs (:func:`signs_only`)
    or an alpha of 0."""
    s = problem.solver
    # the caller's rows and penalized features, not the padded shape's
    # (jaxreg._shapes.pad): the route must not depend on the padding
    rows = getattr(problem, "rows", problem.n)
    wide = np.count_nonzero(problem.idx_P < problem.p) > rows
    plain = signs_only(problem.model, l1_ratios) and bool(np.all(np.asarray(grids) > 0))
    if getattr(problem, "sparse", False):  # sparse X in design form: this only
        refused = s.strategy not in ("auto", "active_set") or s.screen == "gapsafe"
        if not plain or refused:
            raise ValueError(
                "sparse X in design form is solved by the active-set solver only: "
                "strategy='auto' or 'active_set', positive alphas, no box limits "
                "but signs (positive=True, or limits at 0, on features with an L1 "
                "penalty), screen other than 'gapsafe'; use mode='gram' (up to "
                "20000 features) for the others."
            )
        return True
    if s.strategy == "active_set":
        if not (plain and problem.host):
            raise ValueError(
                "strategy='active_set' solves on the CPU, without box limits other "
                "than signs (positive=True, or lower/upper_limits at 0, on features "
                "with an L1 penalty) and without alpha=0."
            )
        return True
    return (
        s.strategy == "auto" and wide and plain and problem.host
        and problem.dtype == np.float64 and s.screen != "gapsafe"
    )  # fmt: skip


def rescues(problem, grids, l1_ratios=(1.0,)):
    """Whether this solver takes the levels another left short: with
    strategy='auto', in float64, on data the host can read (not spread over
    devices), with the limits and alphas it takes (:func:`signs_only`, alphas
    above 0)."""
    from jaxreg import _config

    return bool(
        problem.solver.strategy == "auto"
        and problem.dtype == np.float64
        and not _config.spread(problem.members.A)
        and signs_only(problem.model, l1_ratios)
        and np.all(np.asarray(grids) > 0)
    )


def solve_members(members, levels, weights, lower, upper, tol_abs, max_iter, gram,
                  start=None):  # fmt: skip
    """:func:`solve_path` for every l1_ratio, member and target of a problem in
    design form (host arrays): ``levels`` (L, k), ``weights`` with ``l1``/``l2``
    (L, F, p), ``lower``/``upper`` (F, p), ``tol_abs`` (F, T), ``start``
    (F, T, p) the first level's start (``coef_init``; zeros by default).
    Returns the engine's raw arrays: ``coef`` (L, F, T, k, p), ``gap``, ``rr``,
    ``n_iter`` and ``converged`` (L, F, T, k)."""
    from jaxreg import penalties
    from jaxreg.datafits import QuadraticDesign, QuadraticGram

    c, yy = (np.asarray(a, np.float64) for a in (members.c, members.yy))
    sparse = hasattr(members.A, "operator")
    A = members.A if sparse else np.asarray(members.A, np.float64)
    L, k = levels.shape
    F, p = len(A), np.asarray(members.g).shape[1]
    form = QuadraticGram if gram else QuadraticDesign
    T = c.shape[-1]
    coef = np.zeros((L, F, T, k, p))
    w0 = np.zeros((F, T, p)) if start is None else np.asarray(start, np.float64)
    gap, rr = np.zeros((L, F, T, k)), np.zeros((L, F, T, k))
    n_iter, conv = np.zeros((L, F, T, k), np.int64), np.zeros((L, F, T, k), bool)
    # a bar on a terminal for a path that takes a while (none for a quick one)
    bar = Progress(L * F * T * k, "active-set path (levels)", delay=PROGRESS_AFTER)
    with _blas.single_threaded(), bar:  # many small calls: see jaxreg._blas
        for li, f, t in np.ndindex(L, F, T):
            df = form(A.operator(f) if sparse else A[f], c[f, :, t], yy[f, t])
            pen = penalties.ElasticNet(
                levels[li],
                weights["l1"][li, f],
                weights["l2"][li, f],
                lower[f],
                upper[f],
            )
            out = solve_path(
                df, pen, levels[li], w0[f, t], tol_abs[f, t], max_iter,
                coef=coef[li, f, t], on_level=bar.update,
            )  # fmt: skip
            gap[li, f, t], rr[li, f, t] = out[1:3]
            n_iter[li, f, t], conv[li, f, t] = out[3:]
    return dict(coef=coef, gap=gap, rr=rr, n_iter=n_iter, converged=conv)


def better(a, b, levels):
    """``a`` (the engine's raw arrays, levels last) with, at the levels
    ``levels``, ``b``'s results (the same arrays at those levels only) wherever
    ``b``'s certified gap is finite and smaller."""
    gap_a = np.asarray(a["gap"])[..., levels]
    gap_b = np.asarray(b["gap"])
    take = np.isfinite(gap_b) & (~np.isfinite(gap_a) | (gap_b < gap_a))
    out = {key: np.array(val) for key, val in a.items()}
    for key in ("gap", "rr", "n_iter", "converged"):
        sel = out[key][..., levels]
        out[key][..., levels] = np.where(take, np.asarray(b[key]), sel)
    sel = out["coef"][..., levels, :]
    out["coef"][..., levels, :] = np.where(take[..., None], np.asarray(b["coef"]), sel)
    return out
