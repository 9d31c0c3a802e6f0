"""Working sets for the binomial and the Poisson on wide designs.

Narrow designs take proximal Newton steps on all their columns
(:mod:`jaxreg.solvers.newton`); on wider ones an ``m × m`` Hessian per level
is too dear, and FISTA on every column slows down where the data term is far
from strongly convex (the small-alpha end of a path with about as many
features as rows, or more). There each level is solved on a working set
(:mod:`jaxreg.solvers.working_set`, as for least squares): the previous
level's support and the sequential strong rule's candidates, grown by the
features that violate their optimality condition on the full problem, each
member (the CV folds and the fit on all the data) on its own sets, and every
level is certified by the full problem's duality gap. Each set is solved by
proximal Newton steps; once a set outgrows ``NEWTON_WIDTH`` columns the rest of
the path is solved by FISTA on all the columns (batched over its levels, which
one level at a time on such sets is not: measured on a text-like 5,000 ×
25,000 CSR, 20 alphas, tol 1e-6, 45 s with single-level FISTA on sets of up to
8,192 columns against 17 s on all the columns).

A sparse X keeps its non-zeros: a working set's columns are made dense for
Newton's steps (:mod:`jaxreg._sparse_glm`), never the whole X.
"""

from __future__ import annotations

import jax
import numpy as np

from jaxreg import penalties
from jaxreg._config import compute_context
from jaxreg.solvers import fista, working_set

__all__ = ["GROWTH", "NEWTON_WIDTH", "ROWS", "solve", "wanted"]

# Designs of at most ROWS rows per feature; taller ones are solved by FISTA on
# all their columns, which their conditioning keeps fast. Measured (2-core CPU,
# binomial lasso, 100 alphas to 1e-3·alpha_max (1e-2 when p > n), tol 1e-6,
# warm calls, benchmarks/bench_glm.py at rho 0.5): working sets against FISTA
# on every column, 500 x 5000 12.6 s against 21 of 100 alphas short after 212 s;
# 2000 x 1000 35 s against 8 short after 141 s; 3000 x 1000 28.0 s against
# 29.7 s; 5000 x 1000 33.9 s against 28.7 s; 10000 x 1000 44.9 against 36.7 s.
ROWS = 3
# Working sets of at most this many columns (Newton's steps, m² per level).
NEWTON_WIDTH = 1024
# The ladder of widths (64, 128, ...): finer than least squares' (x4), a Newton
# step costing up to the cube of its width (500 x 5000: 13.6 s, with x4 15.1 s).
GROWTH = 2


def wanted(problem) -> bool:
    """Working sets for a :class:`jaxreg.families.GLMProblem`: the binomial or
    the Poisson wider than Newton's steps take on all the columns, and not
    tall, unless ``screen='none'`` or a FISTA strategy is asked for."""
    from jaxreg.families import NEWTON_MAX_COLUMNS

    return (
        problem.family != "multinomial"
        and NEWTON_MAX_COLUMNS < problem.m
        and problem.n <= ROWS * problem.p
        and problem.solver.screen != "none"
        and problem.solver.strategy in ("auto", "newton")
    )


def solve(problem, levels, l1_ratio, lips, tol):
    """One l1_ratio's path for every member of ``problem``, as
    :meth:`jaxreg.families.GLMProblem.solve_enet` returns it: its levels one at
    a time on working sets (chunks of 4 took 34.4 s at 500 x 5000), each
    member on its own (see :func:`_member`), while Newton's steps take them
    (``NEWTON_WIDTH`` columns; a sparse X's within its dense bytes); from the
    first level a member's set outgrows, every member's rest on all the
    columns, warm-started from its last level solved. ``lips`` and ``tol``
    (F,): FISTA's steps, the gaps' bound."""
    dt, m = problem.dtype, problem.m
    problem._newton_fits(1, min(m, NEWTON_WIDTH))
    with compute_context(dt, problem.solver.device):
        weights = [np.asarray(a, dt) for a in problem.weights(l1_ratio)]
        df = problem.datafit(dt)
        parts, done = [], len(levels)
        for f in range(problem.F):  # each as far as every one before it went
            parts.append(_member(problem, df, weights, levels[:done], lips, tol, f))
            done = parts[-1].coef.shape[1]
            if not done:  # all on all the columns
                return problem._solve_all(levels, l1_ratio, lips, tol, problem.W0)
    r = fista.FistaResult(*(np.concatenate([a[:, :done] for a in field], 0)
                            for field in zip(*parts, strict=True)))  # fmt: skip
    raw = problem._raw(r, done, "newton")
    if done == len(levels):
        return raw
    rest = problem._solve_all(levels[done:], l1_ratio, lips, tol, r.coef[:, -1])
    return {
        key: raw[key] if key == "strategy" else np.concatenate([raw[key], rest[key]], 2)
        for key in raw
    }


def _member(problem, df, weights, levels, lips, tol, f):
    """Member f's levels on its own working sets, as far as they go (a
    FistaResult (1, k', ...)). Each member alone: the CV folds' supports
    differ, and a set shared by all of them holds their union (5-fold CV at
    500 x 5000, 100 alphas, tol 1e-6, first calls: 866 s with shared sets and
    levels left short, 72 s each on its own, all certified)."""
    dt, m, dev = problem.dtype, problem.m, jax.device_put
    one = slice(f, f + 1)
    dff = df._replace(s=df.s[one])
    pen = penalties.ElasticNet(dev(levels.astype(dt)), *(dev(w[one]) for w in weights))
    q0 = np.zeros((1, m))
    q0[:, : problem.p] = problem.q0[f, 0]
    r = working_set.solve_path(
        dff, pen, levels, dev(q0.astype(dt)), np.zeros((1, m)),
        np.zeros(len(levels), bool), lipschitz=dev(lips[one].astype(dt)),
        tol_abs=dev(tol[one].astype(dt)),
        max_iter=dev(np.int32(problem.solver.max_iter)), chunk=1,
        check_every=problem.solver.check_every, exact=False, newton=True,
        max_width=NEWTON_WIDTH, start=problem.W0[one], growth=GROWTH,
        columns=problem._working_columns(dff, dt),
    )  # fmt: skip
    return jax.tree_util.tree_map(np.asarray, r)
