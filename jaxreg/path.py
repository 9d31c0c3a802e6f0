"""Lasso and elastic-net paths: every alpha at once, each one certified.

Objective, for every alpha of the grid (glmnet's and scikit-learn's enet_path form)::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ_j p_j|w_j|
                                           + (1 - l1_ratio)/2·Σ_j p_j w_j²)

with sample weights ``s`` rescaled to sum to n, penalty factors ``p`` and an
unpenalized intercept ``b``. A thin shell: validate, reduce and solve
(:class:`jaxreg.engine.Problem`), build the result, warn.
"""

from __future__ import annotations

import numpy as np

from jaxreg import _validation as V
from jaxreg import engine, results
from jaxreg.results import ConvergenceWarning, PathResult

__all__ = ["ConvergenceWarning", "PathResult", "alpha_max", "enet_path", "lasso_path"]

DEFAULT_MAX_ITER = V.DEFAULT_MAX_ITER


def grid(alphas, amax: float, eps: float) -> np.ndarray:
    """The alphas: as given (sorted decreasing), or ``alphas`` values geometric from
    ``amax`` down to ``eps·amax``."""
    if not isinstance(alphas, int):
        return alphas
    if not amax > 0:
        # Nothing to explain (e.g. constant y): every alpha gives w = 0.
        return np.full(alphas, np.finfo(np.float64).resolution)
    if alphas == 1:
        return np.array([amax])
    return np.geomspace(amax, eps * amax, alphas)


def prepare(X, y, *, alphas, eps, y_ndim=(1, 2), model, solver):
    """Validated X, 2-D Y, the grid spec, and whether y was 1-D."""
    X, y = V.check_X_y(X, y, y_ndim=y_ndim)
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
    model = V.check_model(X.shape[0], X.shape[1], **model)
    solver = V.check_solver(**solver)
    Y = y[:, None] if y.ndim == 1 else y
    return X, Y, alphas, eps, model, solver, y.ndim == 1


def n_levels(alphas) -> int:
    return alphas if isinstance(alphas, int) else len(alphas)


def from_problem(problem, grid_, raw, coefs, intercepts, l1_ratio, amax, *,
                 multi) -> PathResult:
    """The all-data member of a solved problem as a PathResult."""
    solver = problem.solver
    yy = problem.yy_total[-1]
    return results.path_result(
        grid_, coefs[-1], intercepts[-1], raw["gap"][-1], raw["n_iter"][-1],
        raw["converged"][-1], raw["rr"][-1], yy, problem.to_data_units(solver.tol * yy),
        multi=multi, l1_ratio=l1_ratio, alpha_max=amax, tol=solver.tol,
        mode=problem.mode, strategy=raw["strategy"], dtype=str(problem.dtype))


def warn_path(res, max_iter, stacklevel):
    """The ConvergenceWarning of a path (per target for several)."""
    multi = getattr(res, "target_gaps", None) is not None
    if multi:
        args = (res.target_gaps, res.target_gap_tol[None, :], res.target_n_iter,
                res.target_converged)
    else:
        args = (res.gaps, res.gap_tol, res.n_iter, res.converged)
    results.warn_not_converged(
        res.alphas, *args, tol=res.tol, max_iter=max_iter,
        where=(lambda i: f" of target {i[1]}") if multi else None,
        stacklevel=stacklevel + 1)


def _run(X, y, l1_ratio, alphas, eps, model, solver, *, multi=False, stacklevel=3):
    X, Y, alphas, eps, model, solver, _ = prepare(
        X, y, alphas=alphas, eps=eps, y_ndim=(1, 2) if multi else (1,), model=model,
        solver=solver)
    problem = engine.Problem(X, Y, model, solver, n_levels=n_levels(alphas))
    amax = problem.alpha_max(l1_ratio)
    g = grid(alphas, amax, eps)
    raw = problem.solve_enet(np.asarray(g)[None], [l1_ratio])[0]
    coefs, intercepts, _, _ = problem.finish(raw["coef"])
    res = from_problem(problem, g, raw, coefs, intercepts, l1_ratio, amax,
                       multi=multi)
    warn_path(res, solver.max_iter, stacklevel)
    return res


def enet_path(X, y, *, l1_ratio=0.5, alphas=100, eps=1e-3, fit_intercept=True,
              standardize=False, sample_weight=None, penalty_factor=None,
              positive=False, lower_limits=None, upper_limits=None, tol=1e-4,
              max_iter=DEFAULT_MAX_ITER, dtype=None, mode="auto", strategy="auto",
              chunk=None, check_every=10, screen="auto", device=None) -> PathResult:
    """Elastic-net path over a grid of alphas, solved all at once by batched FISTA.

    Minimises, for every alpha::

        1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ p_j|w_j|
                                                + (1 - l1_ratio)/2·Σ p_j w_j²)

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        For several targets sharing X and the grid, fitted independently in one
        batch, see :func:`multi_target_path`.
    l1_ratio : float in (0, 1]
        1 is the lasso. For l1_ratio = 0 (ridge) use :func:`jaxreg.ridge_path`.
    alphas : int or array-like
        Grid size (geometric from ``alpha_max`` down to ``eps·alpha_max``) or the
        alphas themselves (sorted decreasing; 0 gives least squares).
    eps : float in (0, 1)
    fit_intercept : bool
        Centre X and y (weighted means); the intercept is never penalized.
    standardize : bool
        Solve on columns scaled to unit (weighted, 1/n) variance, as glmnet does;
        coefficients are reported on the original scale.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative; rescaled to sum to n.
    penalty_factor : array-like of shape (n_features,), optional
        Per-feature multiplier of the penalty (0 = never penalized).
    positive : bool
        Constrain the coefficients to be non-negative.
    lower_limits, upper_limits : float or array-like of shape (n_features,)
        Box constraints (``lower <= 0 <= upper``) on the original scale.
    tol : float
        An alpha has converged when its duality gap <= ``tol·||y - ȳ||²/n``.
    max_iter : int
        Most FISTA iterations per alpha.
    dtype : {None, "float64", "float32"}
        float64 unless float32 is asked for (the global JAX config is untouched).
        The data are centred and scaled in float64 either way.
    mode : {"auto", "gram", "design"}
        Gram mode precomputes XᵀX/n (n >= p); design mode multiplies by X.
    strategy : {"auto", "parallel", "hybrid", "sequential"}
        All alphas in one batch (GPU default), warm-started chunks of ``chunk``
        alphas (CPU default), or one alpha at a time.
    chunk : int, optional
        Chunk size for ``strategy="hybrid"`` (default 8).
    check_every : int
        FISTA steps between two duality-gap evaluations.
    screen : {"auto", "none", "strong"}
        ``"strong"`` solves each chunk on a working set chosen by the sequential
        strong rule, then checks every feature on the full problem (the gaps are
        always those of the full problem). ``"auto"`` uses it for warm-started
        chunks on the CPU from 256 penalized features.
    device : {None, "cpu", "gpu"} or jax.Device

    Returns
    -------
    PathResult

    Raises
    ------
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.

    Notes
    -----
    The solver is jit-compiled. Calling again with new alpha values, tol, max_iter
    or l1_ratio does not recompile; a new shape of X or a new number of alphas does.
    Internally the problem is solved in coordinates scaled by exact powers of two
    and by the column norms (a diagonal preconditioner, exact for this separable
    penalty), so its convergence does not depend on the units of X or y.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X, y = np.random.default_rng(0).normal(size=(50, 5)), np.arange(50.0)
    >>> path = jaxreg.enet_path(X, y, l1_ratio=0.5, alphas=10)
    >>> path.coefs.shape
    (10, 5)
    """
    l1_ratio = V.check_l1_ratio(l1_ratio)
    return _run(X, y, l1_ratio, alphas, eps,
                dict(fit_intercept=fit_intercept, standardize=standardize,
                     sample_weight=sample_weight, penalty_factor=penalty_factor,
                     positive=positive, lower_limits=lower_limits,
                     upper_limits=upper_limits),
                dict(tol=tol, max_iter=max_iter, dtype=dtype, mode=mode,
                     strategy=strategy, chunk=chunk, check_every=check_every,
                     screen=screen, device=device))


def lasso_path(X, y, **kwargs) -> PathResult:
    """Lasso path: :func:`enet_path` with ``l1_ratio=1``.

    Minimises ``1/(2n)·||y - Xw - b||² + alpha·Σ p_j|w_j|`` for every alpha; see
    :func:`enet_path` for every keyword.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> path = jaxreg.lasso_path(X, X @ [1.0, 0.0, -2.0], alphas=5)
    >>> path.df[0], path.df[-1]
    (0, 2)
    """
    if "l1_ratio" in kwargs:
        raise TypeError("lasso_path has l1_ratio=1 fixed; use enet_path for others.")
    return enet_path(X, y, l1_ratio=1.0, **kwargs)


def multi_target_path(X, Y, *, l1_ratio=1.0, **kwargs):
    """Elastic-net paths of several targets at once, fitted independently.

    :func:`enet_path` for ``Y`` of shape (n_samples,) or (n_samples, n_targets),
    always returning a :class:`~jaxreg.results.MultiTargetPath` (``coefs``
    (k, n_targets, p), per-target gaps, iterations and convergence flags); the
    grid starts at the largest ``alpha_max`` over the targets and each target's
    tol threshold uses its own ``||y - ȳ||²/n``. ``l1_ratio=0`` is ridge (closed
    form unless there are box constraints).

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> res = jaxreg.multi_target_path(X, X @ np.eye(3)[:, :2], alphas=[0.1, 0.01])
    >>> res.coefs.shape
    (2, 2, 3)
    """
    l1_ratio = V.check_l1_ratio(l1_ratio, allow_zero=True)
    model = {key: kwargs.pop(key) for key in (
        "fit_intercept", "standardize", "sample_weight", "penalty_factor", "positive",
        "lower_limits", "upper_limits") if key in kwargs}
    alphas, eps = kwargs.pop("alphas", 100), kwargs.pop("eps", 1e-3)
    return _run(X, Y, l1_ratio, alphas, eps, model, kwargs, multi=True)


def alpha_max(X, y, *, l1_ratio=1.0, fit_intercept=True, standardize=False,
              sample_weight=None, penalty_factor=None, positive=False,
              lower_limits=None, upper_limits=None, dtype=None) -> float:
    """Smallest alpha whose solution is all zeros (for the penalized features):
    ``max_j |x̃_jᵀ(y - ȳ)| / (n·l1_ratio·p_j)`` on the centred, weighted (and
    standardized) data, the free features partialled out."""
    l1_ratio = V.check_l1_ratio(l1_ratio)
    X, Y, _, _, model, solver, _ = prepare(
        X, y, alphas=1, eps=0.5, y_ndim=(1,),
        model=dict(fit_intercept=fit_intercept, standardize=standardize,
                   sample_weight=sample_weight, penalty_factor=penalty_factor,
                   positive=positive, lower_limits=lower_limits,
                   upper_limits=upper_limits),
        solver=dict(dtype=dtype))
    return engine.Problem(X, Y, model, solver, mode="design").alpha_max(l1_ratio)
