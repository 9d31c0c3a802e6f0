"""The one working-set driver: warm-started chunks of the path on a few columns.

On a sparse stretch of the path most features stay at zero, yet a full iteration
pays for all p of them (p² per level in Gram mode). Here each chunk of levels is
solved on a working set S only, shared by every member of the batch (the CV
folds and the fit on all the data): the features active in any member at the
previous chunk's last solution, plus those the sequential strong rule
(Tibshirani et al. 2012) keeps, ``score_j >= 2·alpha - alpha_prev``. The set is
padded to a width of a short ladder, so only a few shapes are ever compiled.

The strong rule is not safe, so every chunk is checked on the full problem: the
duality gap is evaluated with all p features, and features that violate their
optimality condition join S before the chunk is solved again. The reported gaps
are those of the full problems: the certificate is the same as without working
sets.

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

from jaxreg import datafits as datafits_mod
from jaxreg._config import vmap
from jaxreg.solvers import fista
from jaxreg.solvers import newton as _newton

__all__ = ["MIN_WIDTH", "MIN_WIDTH_GRAM", "solve_path", "width"]

# The narrowest working set; wider ones grow geometrically (see width()).
MIN_WIDTH = 64
# Each width is one more compiled solver (about 0.8 s on a 2-core CPU), so the
# ladder is coarse: measured on a first lasso path at n=10000, p=1000 (2-core CPU),
# doubling from 32 compiled six widths (first call 10.6 s), quadrupling from 64
# three (6.3 s), for the same warm time (1.3 s).
GROWTH = 4
# In Gram form an iteration on w features costs 2·w² flops a level, so the
# narrow rungs save little next to their compile: the ladder starts at 256.
# Measured at n=10000, p=1000 with the defaults (tol 1e-4, 2-core CPU; two
# runs each): first call 2.8-2.9 s from 256, 4.2-5.5 s from 64; warm 0.65-0.67 s
# from 256, 0.63-0.98 s from 64. In design form an iteration costs 4·n·w and
# wide paths take many (200 x 1000, tol 1e-6: warm 4.4-4.5 s from 64, 5.5-5.7 s
# from 256), so it starts at MIN_WIDTH.
MIN_WIDTH_GRAM = 256


def width(size: int, p: int, first: int = MIN_WIDTH, growth: int = GROWTH) -> int:
    """Padded working-set width: ``first·growth^k >= size``, capped at p."""
    w = first
    while w < size:
        w *= growth
    return min(w, p)


@functools.partial(
    jax.jit,
    static_argnames=("check_every", "exact", "newton", "support", "restricted"),
)
def _solve_subset(
    datafits,
    penalties,
    idx,
    mask,
    coef0,
    active0,
    lipschitz,
    tol_abs,
    max_iter,
    *,
    check_every,
    exact,
    newton,
    support,
    restricted=False,
):
    """FISTA (or proximal Newton steps) for every member on the columns ``idx``
    (padded entries masked); ``restricted``: the datafits hold these columns
    already."""

    def one(df, pen, w0, act, lip, tol):
        df_s = df if restricted else df.restrict(idx, mask)
        pen_s = pen.restrict(idx, mask)
        if newton:
            # the working set's Gram matrix (width x width), formed once
            df_s = df_s.gram() if hasattr(df_s, "gram") else df_s
            return _newton.newton_batch(
                df_s, pen_s, w0[:, idx] * mask, act, lip, tol, max_iter,
                support=support,
            )  # fmt: skip
        # The working set's own step: the largest eigenvalue of X_SᵀX_S/n is at
        # most the full problem's, often far smaller (equicorrelated X: about
        # rho·|S| against rho·p), and FISTA's iterations grow with its square root.
        # Computed at every solve, so cheaply (see the datafits).
        lip = jnp.minimum(lip, df_s.lipschitz_bound(exact))
        # Padded coordinates have no data, a zero start and a [0, 0] box.
        return fista.fista_batch(
            df_s,
            pen_s,
            w0[:, idx] * mask,
            act,
            lip,
            tol,
            max_iter,
            check_every=check_every,
        )

    axes = (_axes(datafits), penalties.member_axes(), 0, None, 0, 0)
    return vmap(one, axes, tol_abs.shape[0])(
        datafits, penalties, coef0, active0, lipschitz, tol_abs
    )


def _axes(datafits):
    """The members' axes of the datafits: their own (the GLM families share the
    design) or a leading axis on every leaf."""
    return datafits.member_axes() if hasattr(datafits, "member_axes") else 0


@jax.jit
def _check(datafits, penalties, W, fixed):
    """Full-problem gaps and rr (F, C), the last member's ``q`` (F, p), and the
    coordinates at 0 that violate their optimality condition in any member."""

    def one(df, pen, w):
        gap, rr, q = fista.duality_gap(df, pen, w)
        bad = pen.kkt_violation(q) & ~fixed[:, None]
        return gap, rr, q[-1], jnp.any(bad, axis=0)

    axes = (_axes(datafits), penalties.member_axes(), 0)
    gap, rr, q_last, bad = vmap(one, axes, W.shape[0])(datafits, penalties, W)
    return gap, rr, q_last, jnp.any(bad, axis=0)


@jax.jit
def _scores(penalties, Q):
    axes = (penalties.member_axes(), 0)
    return vmap(lambda pen, q: pen.strong_score(q), axes, Q.shape[0])(penalties, Q)


def _candidates(in_set, score, lam_next, lam_prev):
    """Add the strong-rule candidates to ``in_set``, at most as many as are already
    in it (plus a few): over a chunk spanning a wide range of levels the rule keeps
    nearly everything. Misses are added by the KKT check."""
    strong = score >= 2 * lam_next - lam_prev
    extra = min(int(strong.sum()), max(MIN_WIDTH, int(in_set.sum())))
    order = np.argsort(-np.where(in_set, -np.inf, score), kind="stable")
    in_set = in_set.copy()
    in_set[order[:extra]] = True
    return in_set


def _solve_chunk(datafits, pen, in_set, coef0, fix, fixed_coef, opts):
    """One chunk: solve on the working set, check every feature on the full
    problem, add the violators and solve again until there are none."""
    F, chunk, p = coef0.shape
    dt = opts["dtype"]
    iters = np.zeros((F, chunk), np.int64)
    while True:
        S = np.flatnonzero(in_set)
        W = width(max(S.size, 1), p, opts["first_width"], opts.get("growth", GROWTH))
        idx = np.zeros(W, np.int64)
        idx[: S.size] = S
        if W > opts.get("max_width", p):
            return None
        sub = datafits
        if opts.get("columns") is not None:  # made on the host
            sub = opts["columns"](S, W)
            if sub is None:
                return None
        res = _solve_subset(
            sub,
            pen,
            jax.device_put(idx),
            jax.device_put(np.arange(W) < S.size),
            jax.device_put(np.asarray(coef0, dt)),
            jax.device_put(~fix),
            opts["lipschitz"],
            opts["tol_abs"],
            opts["max_iter"],
            check_every=opts["check_every"],
            exact=opts["exact"],
            newton=opts.get("newton", False),
            support=opts["support"],
            restricted=sub is not datafits,
        )
        iters += np.asarray(res.n_iter)
        full = np.zeros((F, chunk, p))
        full[:, :, S] = np.asarray(res.coef, np.float64)[:, :, : S.size]
        full = np.where(fix[None, :, None], fixed_coef[:, None, :], full)
        checked = _check(
            datafits, pen, jax.device_put(np.asarray(full, dt)), jax.device_put(fix)
        )
        violators = ~in_set & np.asarray(checked[3])
        if not violators.any():
            return full, iters, checked[:3]
        in_set = in_set | violators
        coef0 = full


def _result_fields(F, k, p):
    """The shapes and types of the fields of a FistaResult (F, k, ...)."""
    return [
        ((F, k, p), float),
        ((F, k), np.int64),
        ((F, k), float),
        ((F, k), float),
        ((F, k), bool),
    ]


def solve_path(datafits, penalties, levels, q0, fixed_coef, fixed, **opts):
    """Every level (k, decreasing, a multiple of ``chunk``) for F members sharing
    one working set per chunk.

    ``datafits``/``penalties``: pytrees with a leading member axis F (the
    penalties' levels are replaced chunk by chunk); ``q0`` (F, p) the negative
    gradient at 0; ``fixed``/``fixed_coef`` as in
    :func:`jaxreg.solvers.fista.solve_path` ((k,) and (F, p)); ``opts``:
    ``lipschitz`` and ``tol_abs`` (F,), ``max_iter``, ``chunk``, ``check_every``
    and ``exact`` (the step-size method), and ``newton``: each working set
    solved by proximal Newton steps (:mod:`jaxreg.solvers.newton`; ``n_iter``
    then counts them) instead of FISTA; ``start`` (F, p): the first level's
    start (zeros by default); ``growth``: the ladder of widths (``GROWTH``
    by default); ``columns(S, W)``: the datafits on the columns S padded to
    W, made on the host (a sparse design's; by default the datafits restrict
    themselves); ``max_width``: the path stops at the first chunk whose
    working set is wider, or whose columns ``columns`` does not make (None),
    and the result holds the levels before it. Returns a
    :class:`~jaxreg.solvers.fista.FistaResult` of NumPy arrays (F, k, ...), with the
    gaps of the full problems.
    """
    F, p = q0.shape
    k, chunk = len(levels), opts["chunk"]
    opts["dtype"] = q0.dtype
    opts["first_width"] = (
        MIN_WIDTH_GRAM
        if isinstance(datafits, datafits_mod.QuadraticGram)
        else MIN_WIDTH
    )
    must = ~np.asarray(penalties.penalized()).all(axis=0)  # unpenalized: stay in
    # Newton's support systems: a lasso solution needs at most n nonzeros (the
    # rank of X_S), so its systems hold n coordinates; an L2 part makes every
    # system full rank and the support may be wider. (None for FISTA: a static
    # argument, so one compiled program serves the lasso and the elastic net.)
    rows = datafits.X.shape[-2] if hasattr(datafits, "X") else None
    lasso = not np.any(np.asarray(getattr(penalties, "l2", 1.0)))
    newton = opts.get("newton", False)
    opts["support"] = rows if lasso and newton else None
    fixed_coef = np.asarray(fixed_coef)
    w_prev = opts.get("start")
    w_prev = np.zeros((F, p)) if w_prev is None else np.asarray(w_prev, np.float64)
    # At the chunk's shape: the same compiled program scores every chunk.
    first = penalties._replace(
        alpha=jax.device_put(np.asarray(levels[:chunk], q0.dtype))
    )
    score = np.max(np.asarray(_scores(first, q0)), axis=0)
    lam_prev = float(levels[0])
    out = fista.FistaResult(
        *(np.zeros(shape, t) for shape, t in _result_fields(F, k, p))
    )
    for start in range(0, k, chunk):
        sl = slice(start, start + chunk)
        lam, fix = np.asarray(levels[sl]), np.asarray(fixed[sl])
        pen = penalties._replace(alpha=jax.device_put(np.asarray(lam, q0.dtype)))
        in_set = _candidates((w_prev != 0).any(axis=0) | must, score, lam[-1], lam_prev)
        coef0 = np.where(fix[None, :, None], fixed_coef[:, None, :], w_prev[:, None, :])
        solved = _solve_chunk(datafits, pen, in_set, coef0, fix, fixed_coef, opts)
        if solved is None:  # past max_width: the levels before this chunk
            out = fista.FistaResult(*(a[:, :start] for a in out))
            fixed = fixed[:start]
            break
        full, iters, (gap, rr, q_last) = solved
        out.coef[:, sl], out.n_iter[:, sl] = full, iters
        out.gap[:, sl] = np.where(fix, 0.0, np.asarray(gap))
        out.rr[:, sl] = np.asarray(rr)
        w_prev, lam_prev = full[:, -1], float(lam[-1])
        score = np.max(np.asarray(_scores(pen, q_last)), axis=0)
    tol = np.asarray(opts["tol_abs"])[:, None]
    conv = (out.gap <= tol) & np.isfinite(out.gap)
    return out._replace(converged=conv | fixed[None, :])
