"""The constraint view: least squares inside an L1 or L2 ball, every radius at once.

For every radius ``t`` of a grid this module solves::

    minimize   1/(2n)·Σ_i s_i (y_i - x_i·w - b)²
    subject to ||w||₁ <= t        (norm="l1", Tibshirani's original lasso)
           or  ||w||₂ <= t        (norm="l2", ridge as a constraint)

with sample weights ``s`` rescaled to sum to n and an unconstrained intercept ``b``.
By Lagrangian duality each radius corresponds to a penalty: the solution at ``t``
is the lasso solution at ``alpha = ||Xᵀr/n||∞`` (L1), or the ridge solution of
``1/(2n)·||r||² + (alpha/2)·||w||²`` at ``alpha = ||Xᵀr/n||₂ / ||w||₂`` (L2), where
``r`` is the residual at the solution. Both multipliers are 0 when the ball
contains a least-squares solution.

The solver is accelerated projected gradient (FISTA with the prox replaced by the
Euclidean projection onto the ball), batched over the radii in the same loop
structure as :mod:`jaxreg.fista`: the loop owns the batch axis, the convergence
flags live in the carry, the certificate is evaluated every ``check_every`` steps
and gradient-scheme adaptive restart is always on. The projections are optax's
``projection_l1_ball`` / ``projection_l2_ball``, vmapped over the radii.

Certificate. With ``q = Xᵀr/n`` (minus the gradient) the Frank–Wolfe gap::

    gap(w) = max_{||v|| <= t} ⟨q, v - w⟩ = t·||q||_* - ⟨q, w⟩

(``||·||_*`` the dual norm: ∞ for L1, 2 for L2) bounds ``P(w) - P*`` from above for
every feasible ``w`` by convexity, and it is exactly the Lagrangian duality gap of
the dual point ``r/n``. A radius has converged when its gap ``<= tol·||y - ȳ||²/n``,
the rule used everywhere in jaxreg. The same ``w`` is then also certified for the
penalized problem at the reported ``alpha``: that problem's duality gap at ``w``
is ``||q||_*·||w|| - ⟨q, w⟩``, which is at most the constrained gap.

References
----------
Tibshirani (1996), Regression shrinkage and selection via the lasso. J. R. Statist.
Soc. B 58(1).
Beck & Teboulle (2009), A fast iterative shrinkage-thresholding algorithm for linear
inverse problems. SIAM J. Imaging Sci. 2(1).
O'Donoghue & Candès (2015), Adaptive restart for accelerated gradient schemes.
Found. Comput. Math. 15.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _docs, batch, datafits, engine, penalties, results
from jaxreg import _validation as V
from jaxreg import path as _path
from jaxreg._config import compute_context
from jaxreg._plan import refuse_newton
from jaxreg.results import ConstrainedResult
from jaxreg.solvers import fista

__all__ = ["ConstrainedResult", "constrained_path", "NORMS"]

NORMS = ("l1", "l2")
DEFAULT_MAX_ITER = V.DEFAULT_MAX_ITER
# The compiled solver: the one FISTA path loop, with a ball as the penalty.
solve_constrained = fista.solve_path


def _check_norm(norm) -> str:
    if not isinstance(norm, str) or norm.lower() not in NORMS:
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}.")
    return norm.lower()


def _check_radii(radii):
    """An int grid size (>= 2) or a float64 array sorted increasing."""
    if isinstance(radii, bool):
        raise TypeError(f"radii must be an int (grid size) or an array, got {radii!r}.")
    if isinstance(radii, numbers.Integral):
        if radii < 2:
            raise ValueError(
                f"radii must be a grid size >= 2 (from 0 to the least-squares norm) "
                f"or an array of radii, got {radii!r}."
            )
        return int(radii)
    return np.sort(V.check_alphas(radii, name="radii"))


@_docs.shared
def constrained_path(X, y, *, radii, norm="l1", fit_intercept=True, standardize=False,
                     sample_weight=None, tol=1e-4, max_iter=DEFAULT_MAX_ITER,
                     dtype=None, mode="auto", strategy="auto", chunk=None,
                     check_every=10, device=None) -> ConstrainedResult:  # fmt: skip
    """Least squares inside an L1 or L2 ball, for every radius at once.

    Minimises, for every radius ``t``::

        1/(2n)·Σ s_i (y_i - x_i·w - b)²   subject to   ||w||₁ <= t  (or ||w||₂ <= t)

    the constrained form of the lasso (Tibshirani 1996) and of ridge regression.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    radii : int or array-like of shape (k,)
        The radii ``t >= 0`` (used sorted increasing), or a grid size ``k >= 2``:
        ``k`` equally spaced radii from 0 to the norm of the minimum-norm
        least-squares solution (``ls_norm`` of the result).
    norm : {"l1", "l2"}
        The ball: ``||w||₁ <= t`` (lasso) or ``||w||₂ <= t`` (ridge).
    fit_intercept, standardize, sample_weight
        As in :func:`jaxreg.enet_path` (with ``standardize`` the constraint bounds
        the standardized coefficients; the intercept is never constrained).
    [solver]
        (The levels are the radii; the gap is the certificate below.)
    [dtype]
    [device]

    Returns
    -------
    ConstrainedResult
        Also ``alphas``, the equivalent penalty of each radius.

    [raises]

    Notes
    -----
    The one FISTA loop of the paths with the ball's projection (optax's
    ``projection_l1_ball`` / ``projection_l2_ball``) as the prox. New radii, tol or
    max_iter reuse the compiled code. Radii at or beyond ``ls_norm`` return the
    minimum-norm least-squares solution, with certificate 0.

    The equivalent ``alphas`` come from the optimality conditions at the
    solution, ``q = Xᵀr/n``: for L1, ``q ∈ alpha·∂||w||₁`` gives
    ``alpha = ||q||∞``; for L2, ``q = alpha·w`` gives ``alpha = ||q||₂/||w||₂``.
    ``lasso_path(X, y, alphas=result.alphas)`` (or the ridge path at those alphas)
    returns the same coefficients.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> res = jaxreg.constrained_path(X, X @ [2.0, -1.0, 0.0, 0.5], radii=[1.0, 9.0])
    >>> np.round(np.abs(res.coefs).sum(axis=1), 6).tolist()
    [1.0, 3.5]
    """
    norm, radii = _check_norm(norm), _check_radii(radii)
    X, Y, _, _, model, solver = _path.prepare(dict(locals(), alphas=1))
    k = radii if isinstance(radii, int) else len(radii)
    problem = engine.Problem(X, Y, model, solver, separable=False, n_levels=k)
    out = _solve(problem, norm, radii)
    _warn(out, solver.max_iter)
    return out


def _warn(out, max_iter):
    results.warn_not_converged(
        out.radii,
        out.gaps,
        out.gap_tol,
        out.n_iter,
        out.converged,
        tol=out.tol,
        max_iter=max_iter,
        level="radius",
        certificate="certificate",
        remedy="Increase max_iter, loosen tol or standardize X.",
        stacklevel=3,
    )


def _solve(problem, norm, radii) -> ConstrainedResult:
    """Every radius by the one FISTA path loop, with a ball as the penalty."""
    Ball = penalties.L1Ball if norm == "l1" else penalties.L2Ball
    # One common power of two scales every column (the ball is not separable):
    # the reduced coefficients are the constrained ones times ``unit``, and the
    # elastic-net weights per unit alpha map the multipliers back.
    l1 = problem.enet_weights(1.0)["l1"][-1, 0]
    to_alpha = l1 if norm == "l1" else problem.enet_weights(0.0)["l2"][-1, 0]
    unit = 1.0 / np.ldexp(l1, 2 * problem.y_exp)
    dt, solver, mem = problem.dtype, problem.solver, problem.members
    with compute_context(dt, solver.device):
        datafit = batch.datafit(problem.gram)(
            jnp.asarray(mem.A[-1], dt),
            jnp.asarray(mem.c[-1, ..., 0], dt),
            jnp.asarray(mem.yy[-1, 0], dt),
        )
        w_ls = datafit.least_squares(jnp.ones(len(problem.idx_P), dt))
        ls_norm = float(Ball(None).size(w_ls)) / unit
        if isinstance(radii, int):
            radii = np.linspace(0.0, ls_norm, radii)
        k = len(radii)
        refuse_newton(solver, "constrained paths")
        pl = engine.plan(solver, k, problem.p, 1, problem.gram)
        t = np.concatenate(
            [radii, np.full(-(-k // pl.chunk) * pl.chunk - k, radii[-1])]
        )
        # A ball whose radius is the least-squares norm up to rounding (that norm
        # carries a relative error of a few eps) holds the least-squares solution.
        fixed = t >= ls_norm * (1.0 - 1e-12)
        tol_abs = solver.tol * problem.yy_total[-1, 0]
        ball = Ball(jnp.asarray(t * unit, dt))
        if problem.host:
            L = datafits.host_lipschitz(mem.A[-1], problem.gram)
        else:
            L = datafit.lipschitz(pl.exact_lipschitz)
        r = solve_constrained(
            datafit,
            ball,
            L,
            jnp.asarray(tol_abs, dt),
            jnp.int32(solver.max_iter),
            w_ls,
            jnp.asarray(fixed),
            check_every=solver.check_every,
            chunk=pl.chunk,
            unroll=pl.unroll,
        )
        alpha_v = ball.multiplier(r.coef, datafit.residual(r.coef)[0])
    r = jax.tree_util.tree_map(lambda a: np.asarray(a)[:k], r)
    alphas = np.where(fixed[:k], 0.0, np.asarray(alpha_v, np.float64)[:k] / to_alpha)
    coefs, intercepts, _, _ = problem.finish(r.coef[None, None])
    coefs, intercepts = coefs[-1, 0], intercepts[-1, 0]
    yy = problem.yy_total[-1, 0]
    dev_ratio = 1.0 - r.rr / yy if yy > 0 else np.zeros(k)
    finite = np.isfinite(coefs).all(axis=1) & np.isfinite(intercepts)
    dt = problem.dtype
    return ConstrainedResult(
        radii=radii.astype(dt),
        coefs=coefs.astype(dt),
        intercepts=intercepts.astype(dt),
        gaps=problem.to_data_units(r.gap).astype(dt),
        n_iter=r.n_iter.astype(np.int64),
        converged=r.converged.astype(bool) & finite,
        alphas=alphas.astype(dt),
        df=(coefs != 0).sum(axis=1).astype(np.int64),
        dev_ratio=np.clip(dev_ratio, 0.0, 1.0).astype(dt),
        norm=norm,
        ls_norm=ls_norm,
        tol=solver.tol,
        gap_tol=float(problem.to_data_units(tol_abs)),
        mode=problem.mode,
        strategy=pl.strategy,
        dtype=str(dt),
    )
