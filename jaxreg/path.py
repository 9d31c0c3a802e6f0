"""Lasso and elastic-net paths: every alpha at once, each one certified.

Objective, for every alpha of the grid (glmnet's and scikit-learn's enet_path form)::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ_j p_j|w_j|
                                           + (1 - l1_ratio)/2·Σ_j p_j w_j²)

with sample weights ``s`` rescaled to sum to n, penalty factors ``p`` and an
unpenalized intercept ``b``. A thin shell: validate, reduce and solve
(:class:`jaxreg.engine.Problem`), build the result, warn.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxreg import _docs, _result_io, engine, families, groups, relax, results, sparse
from jaxreg import _validation as V
from jaxreg.results import ConvergenceWarning, PathResult
from jaxreg.sufficient import SufficientStats

__all__ = ["ConvergenceWarning", "PathResult", "alpha_max", "enet_path", "lasso_path"]

DEFAULT_MAX_ITER = V.DEFAULT_MAX_ITER
_KEYWORDS = ("alphas", "eps", "coef_init") + V.MODEL_KEYS + V.SOLVER_KEYS


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


def prepare(kw, *, y_ndim=(1,), sort=True):
    """Validated X, 2-D Y, the grid (alphas, eps), the model and the solver
    options, from the keywords ``kw`` of a public call (its ``locals()``): every
    argument is checked once, here (the finiteness of X and y by the engine, after
    its memory estimate). ``X`` may be :class:`~jaxreg.SufficientStats` (then Y
    is None: the targets are inside)."""
    if sparse.is_sparse(kw["X"]) and sparse.gram_form(kw):
        kw = sparse.as_stats(kw, y_ndim=y_ndim)
    if isinstance(kw["X"], SufficientStats):
        return _prepare_stats(kw, y_ndim, sort)
    if kw["y"] is None:
        raise TypeError(
            "y is required (it may be omitted only when X is a SufficientStats)."
        )
    if sparse.is_sparse(kw["X"]):  # in design form (jaxreg._sparse_design)
        X, y = sparse.check_X_y(kw, y_ndim)
    else:
        X, y = V.check_X_y(kw["X"], kw["y"], y_ndim=y_ndim, finite=False)
    alphas = V.check_alphas(kw.get("alphas", 1), sort=sort)
    eps = V.check_eps(kw.get("eps", 0.5), *X.shape)
    model, solver = V.split_keywords(kw)
    model = V.check_model(*X.shape, **model)
    solver = V.check_solver(**solver)
    return X, y[:, None] if y.ndim == 1 else y, alphas, eps, model, solver


def _prepare_stats(kw, y_ndim, sort):
    st = kw["X"]
    if kw["y"] is not None:
        raise ValueError(
            "y is inside the sufficient statistics: call with the statistics alone "
            "(lasso_path(stats, ...))."
        )
    if kw.get("sample_weight") is not None:
        raise ValueError(
            "sample weights are inside the sufficient statistics: give them to "
            "sufficient_stats(..., sample_weight=)."
        )
    if st.n_targets < 1:
        raise ValueError("these statistics hold no target (y).")
    if st.n_targets > 1 and 2 not in y_ndim:
        raise ValueError(
            f"these statistics hold {st.n_targets} targets; this function fits one "
            "(use multi_target_path or ridge_path)."
        )
    alphas = V.check_alphas(kw.get("alphas", 1), sort=sort)
    eps = V.check_eps(kw.get("eps", 0.5), st.n_samples, st.n_features)
    model, solver = V.split_keywords(kw)
    model = V.check_model(1, st.n_features, **model)
    model = dataclasses.replace(
        model, sample_weight=np.ones(0), raw_weight_total=float(st.S0.sum())
    )
    solver = V.check_solver(**solver)
    return st, None, alphas, eps, model, solver


def n_levels(alphas) -> int:
    return alphas if isinstance(alphas, int) else len(alphas)


def from_problem(problem, grid_, raw, coefs, intercepts, l1_ratio, amax, *,
                 multi) -> PathResult:  # fmt: skip
    """The all-data member of a solved problem as a PathResult."""
    if problem.grouping is not None and problem.grouping.joint:
        return groups.joint_result(problem, grid_, raw, coefs, intercepts, l1_ratio,
                                   amax)  # fmt: skip
    solver = problem.solver
    yy = problem.yy_total[-1]
    return results.path_result(
        grid_,
        coefs[-1],
        intercepts[-1],
        raw["gap"][-1],
        raw["n_iter"][-1],
        raw["converged"][-1],
        raw["rr"][-1],
        yy,
        problem.to_data_units(solver.tol * yy),
        multi=multi,
        l1_ratio=l1_ratio,
        alpha_max=amax,
        tol=solver.tol,
        mode=problem.mode,
        strategy=raw["strategy"],
        dtype=str(problem.dtype),
        x_scale=problem.column_scale(),
    )


def warn_path(res, max_iter, stacklevel):
    """The ConvergenceWarning of a path (per target for several)."""
    multi = getattr(res, "target_gaps", None) is not None
    if multi:
        args = (
            res.target_gaps,
            res.target_gap_tol[None, :],
            res.target_n_iter,
            res.target_converged,
        )
    else:
        args = (res.gaps, res.gap_tol, res.n_iter, res.converged)
    # (k,) or (k, n_targets): every number of each solution
    finite = np.isfinite(res.coefs).all(-1) & np.isfinite(res.intercepts)
    if res.family in ("multinomial", "mgaussian"):  # (k, classes or targets)
        finite = finite.all(-1)
    results.warn_not_converged(
        res.alphas,
        *args,
        tol=res.tol,
        max_iter=max_iter,
        where=(lambda i: f" of target {i[1]}") if multi else None,
        nonfinite=~(finite & np.isfinite(args[0])),
        scale={"gaussian": "||y - ȳ||²/n", "mgaussian": "||Y - Ȳ||²_F/n"}.get(
            res.family, "D_null/n"
        ),
        **float32_advice(res.dtype),
        stacklevel=stacklevel + 1,
    )


def float32_advice(dtype, note=""):
    """The note (after ``note``) and remedy of a result's warning in
    float32, where more iterations may not help: float32 stalls short of small
    gaps, and on the CPU its gaps are rechecked in float64
    (:func:`jaxreg.solvers.polish.recertify`)."""
    if dtype != "float32":
        return dict(note=note) if note else {}
    return dict(
        note=note + " In float32 a gap may stay above tol however many "
        "iterations it takes.",
        remedy="Use dtype='float64', increase max_iter, or loosen tol.",
    )


def prepare_family(kw, family):
    """Validated X (dense float64, or sparse as CSR), y in the family's domain
    (and its classes), the grid, the model and the solver options of a GLM
    family's call."""
    if isinstance(kw["X"], SufficientStats):
        raise ValueError(
            f"family={family!r} takes X itself (dense or sparse); sufficient "
            "statistics serve the gaussian family only."
        )
    if kw["y"] is None:
        raise TypeError("y is required.")
    y, classes = families.check_y(family, np.asarray(kw["y"]))
    if sparse.is_sparse(kw["X"]):
        X, _ = sparse.check_X_y(dict(kw, y=y), y_ndim=(1, 2))
        X = sparse.to_scipy(X)
        if not np.isfinite(X.data).all():
            raise ValueError(
                "X contains NaN or infinity; jaxreg does not impute missing values."
            )
    else:
        X, _ = V.check_X_y(kw["X"], y, y_ndim=(1, 2))
        X = np.asarray(X, np.float64)
    why = dict(
        mode="it is solved in design form",
        screen="its working sets are 'auto' (the binomial and the Poisson on "
        "wide X) or 'none'",
    )
    for key, allowed in (("mode", ("auto", "design")), ("screen", ("auto", "none"))):
        if kw.get(key, "auto") not in allowed:
            raise ValueError(
                f"{key}={kw[key]!r} is not available for family={family!r} "
                f"({why[key]}); use {allowed[0]!r}."
            )
    alphas = V.check_alphas(kw.get("alphas", 1))
    eps = V.check_eps(kw.get("eps", 0.5), *X.shape)
    model, solver = V.split_keywords(kw)
    model = V.check_model(*X.shape, **model)
    solver = V.check_solver(**solver)
    return X, y, classes, alphas, eps, model, solver


def _run_family(kw, l1_ratio, family, stacklevel):
    X, y, _, alphas, eps, model, solver = prepare_family(kw, family)
    problem = families.problem(X, y, model, solver, family)
    if kw.get("coef_init") is not None:
        problem.W0 = problem.start_from(kw["coef_init"])
    amax = problem.alpha_max(l1_ratio)
    g = grid(alphas, amax, eps)
    raw = problem.solve_enet(np.asarray(g, np.float64)[None], [l1_ratio])[0]
    coefs, intercepts, _, _ = problem.finish(raw.pop("coef"), inplace=True)
    res = families.path_result(problem, g, raw, coefs, intercepts, l1_ratio, amax)
    warn_path(res, solver.max_iter, stacklevel)
    return res


def _run(kw, l1_ratio, *, multi=False, stacklevel=3):
    names = _result_io.feature_names_of(kw["X"])
    kw, keep = exclude(kw)
    res = _solve(kw, l1_ratio, multi, stacklevel + 1)
    return _result_io.with_names(_result_io.expand(res, keep), names)


def exclude(kw):
    """glmnet's ``exclude``: features with ``penalty_factor = inf`` are dropped
    before solving (their coefficients are 0 at every alpha; see
    :func:`jaxreg._result_io.expand`). Returns the keywords without them and the
    mask of the kept features (None when nothing is excluded)."""
    pf = kw.get("penalty_factor")
    if pf is None or isinstance(pf, (int, float)):
        return kw, None
    pf = np.asarray(pf, dtype=np.float64)
    if pf.ndim != 1 or not np.isposinf(pf).any():
        return kw, None
    X = kw["X"]
    if isinstance(X, SufficientStats):
        raise ValueError(
            "penalty_factor=inf (excluding a feature) needs X itself; leave the "
            "feature out of the statistics instead (sufficient_stats(features=))."
        )
    if pf.shape[0] != np.shape(X)[1]:
        return kw, None  # the validation names the mismatch
    keep = ~np.isposinf(pf)
    if not keep.any():
        raise ValueError(
            "penalty_factor is inf for every feature: nothing is left to fit."
        )
    if sparse.is_sparse(X):
        Xk = sparse.select_columns(X, keep)
    elif not hasattr(X, "shape") or hasattr(X, "columns"):  # lists, DataFrames
        Xk = np.asarray(X)[:, keep]
    else:
        Xk = X[:, np.flatnonzero(keep)]
    out = dict(kw, X=Xk, penalty_factor=pf[keep])
    start = kw.get("coef_init")
    if start is not None and np.shape(start)[-1:] == keep.shape:
        out["coef_init"] = np.asarray(start)[..., keep]
    ids = kw.get("groups")
    if ids is not None and np.ndim(ids) == 1 and len(ids) == keep.size:
        out["groups"] = np.asarray(ids)[keep]
    for key in ("lower_limits", "upper_limits"):
        lim = kw.get(key)
        if lim is not None and np.ndim(lim) == 1 and len(lim) == keep.size:
            out[key] = np.asarray(lim)[keep]
    return out, keep


def grouping_of(kw, family):
    """The group penalty of a call (``groups=`` or ``family="mgaussian"``), or
    None; checked against the other options."""
    ids = kw.pop("groups", None)
    if family == "mgaussian":
        if ids is not None:
            raise ValueError("groups= and family='mgaussian' cannot be combined.")
        grouping = groups.TASKS
    elif ids is None:
        return None
    else:
        grouping = groups.check_groups(ids, np.shape(kw["X"])[1])
    if kw.get("relax", False):
        raise ValueError("relax=True is not available with groups or mgaussian.")
    return grouping


def group_problem(X, Y, model, solver, grouping, **options):
    """An engine problem with the group penalty (no per-column preconditioning
    for feature groups: a group norm is not separable)."""
    separable = grouping is None or grouping.joint
    problem = engine.Problem(X, Y, model, solver, separable=separable, **options)
    problem.grouping = grouping
    return problem


def check_coef_init(coef, p, T):
    """``coef_init``: finite, of shape (n_features,) or (n_targets, n_features)."""
    arr = np.asarray(coef, dtype=np.float64)
    if arr.shape not in ((p,), (T, p)) or (arr.ndim == 1 and T > 1):
        want = f"({p},)" if T == 1 else f"({T}, {p})"
        raise ValueError(f"coef_init must have shape {want}, got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError("coef_init must be finite.")
    return arr


def _solve(kw, l1_ratio, multi, stacklevel):
    family = families.check_family(kw.pop("family", "gaussian"))
    if V.check_flag("relax", kw.get("relax", False)) and family != "gaussian":
        raise ValueError("relax=True is for the gaussian family.")
    if family not in families.LEAST_SQUARES:
        return _run_family(kw, l1_ratio, family, stacklevel + 1)
    grouping = grouping_of(kw, family)
    multi = multi or family == "mgaussian"
    X, Y, alphas, eps, model, solver = prepare(kw, y_ndim=(1, 2) if multi else (1,))
    problem = group_problem(X, Y, model, solver, grouping, n_levels=n_levels(alphas))
    if kw.get("coef_init") is not None:
        problem.start = problem.start_from(
            check_coef_init(kw["coef_init"], problem.p, problem.T)
        )
    amax = problem.alpha_max(l1_ratio)
    g = grid(alphas, amax, eps)
    raw = problem.solve_enet(np.asarray(g)[None], [l1_ratio])[0]
    coefs, intercepts, _, _ = problem.finish(raw.pop("coef"), inplace=True)
    res = from_problem(problem, g, raw, coefs, intercepts, l1_ratio, amax, multi=multi)
    warn_path(res, solver.max_iter, stacklevel)
    if kw.get("relax", False):
        gamma = relax.check_gamma(kw.get("gamma", 0.0))
        if multi or not isinstance(X, np.ndarray) or model.boxed:
            raise ValueError(
                "relax=True takes a dense X, one target and no box limits (positive, "
                "lower_limits, upper_limits)."
            )
        res = relax.relaxed(res, X, Y[:, 0], model.sample_weight,
                            model.fit_intercept, gamma)  # fmt: skip
    return res


@_docs.shared
def enet_path(X, y=None, *, l1_ratio=0.5, alphas=100, eps=1e-3, fit_intercept=True,
              standardize=False, sample_weight=None, penalty_factor=None,
              positive=False, lower_limits=None, upper_limits=None, tol=1e-4,
              max_iter=DEFAULT_MAX_ITER, dtype=None, mode="auto", strategy="auto",
              chunk=None, check_every=10, screen="auto", device=None,
              family="gaussian", relax=False, gamma=0.0, groups=None,
              coef_init=None) -> PathResult:  # fmt: skip
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
        1 is the lasso. For l1_ratio = 0 (ridge) use :func:`jaxreg.ridge_path`
        (a GLM family takes 0 here: L2 only, solved iteratively).
    alphas : int or array-like
        Grid size (geometric from ``alpha_max`` down to ``eps·alpha_max``) or the
        alphas themselves (sorted decreasing; 0 gives least squares).
    eps : float in (0, 1], or "glmnet"
        The smallest alpha of the grid as a fraction of ``alpha_max``; "glmnet"
        is glmnet's default (1e-4 when n_samples >= n_features, else 1e-2).
    [model]
    [box]
    [solver]
    [screen]
    [dtype]
    [device]
    family : {"gaussian", "binomial", "multinomial", "poisson", "mgaussian"}
        "mgaussian" fits the columns of a 2-D ``y`` jointly, ``||W_j||₂`` across
        targets in place of ``|w_j|`` (glmnet's mgaussian, scikit-learn's
        MultiTaskElasticNet), returning a :class:`~jaxreg.results.MultiTargetPath`
        whose gaps are the joint problem's. The GLM families (glmnet's): the data
        term becomes
        ``(1/n)·Σ s_i·(-loglik_i)`` (logistic regression for "binomial", y two
        labels, 0/1 or proportions; log-linear for "poisson", y >= 0). The
        intercept is refit at every alpha; convergence is ``gap <= tol·D_null/n``
        (the weighted null deviance), which for "gaussian" is ``tol·||y - ȳ||²/n``.
        See :mod:`jaxreg.families`.
    relax : bool, default False
        The relaxed lasso (glmnet's ``relax=TRUE``): each alpha's coefficients
        become ``gamma·(penalized) + (1 − gamma)·(the unpenalized least-squares
        refit on its support)``; see :mod:`jaxreg.relax`. Dense X, one target.
    gamma : float in [0, 1], default 0
        The blend; 0 is the refit itself.
    groups : array-like of shape (n_features,), optional
        A group label per feature: the sparse-group lasso, ``alpha·(l1_ratio·Σ_j
        p_j|w_j| + (1 − l1_ratio)·Σ_g √|g|·||w_g||₂)`` (``l1_ratio=0`` is the group
        lasso). See :mod:`jaxreg.groups`.
    coef_init : array-like of shape (n_features,), optional
        Where the iterations start at the first alphas (scikit-learn's
        ``coef_init``; (n_classes, n_features) for the multinomial; a GLM
        family's intercepts are refit to it): near the solutions it saves
        iterations, the solutions are the same. The active-set and working-set
        solvers find their supports themselves and do not use it.

    Returns
    -------
    PathResult

    [raises]

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
    # a GLM family has no closed form for l1_ratio = 0: it is solved like the others
    ridge_ok = family != "gaussian" or groups is not None
    return _run(locals(), V.check_l1_ratio(l1_ratio, allow_zero=ridge_ok))


def lasso_path(X, y=None, **kwargs) -> PathResult:
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


def multi_target_path(X, Y=None, *, l1_ratio=1.0, **kwargs):
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
    unknown = set(kwargs) - set(_KEYWORDS)
    if unknown:
        raise TypeError(
            f"multi_target_path() got an unexpected keyword argument "
            f"{sorted(unknown)[0]!r}."
        )
    l1_ratio = V.check_l1_ratio(l1_ratio, allow_zero=True)
    return _run(dict(kwargs, X=X, y=Y), l1_ratio, multi=True)


def alpha_max(X, y=None, *, l1_ratio=1.0, fit_intercept=True, standardize=False,
              sample_weight=None, penalty_factor=None, positive=False,
              lower_limits=None, upper_limits=None, dtype=None) -> float:  # fmt: skip
    """Smallest alpha whose solution is all zeros (for the penalized features):
    ``max_j |x̃_jᵀ(y - ȳ)| / (n·l1_ratio·p_j)`` on the centred, weighted (and
    standardized) data, the free features partialled out."""
    l1_ratio = V.check_l1_ratio(l1_ratio)
    X, Y, _, _, model, solver = prepare(locals())
    mode = None if isinstance(X, SufficientStats) else "design"
    return engine.Problem(X, Y, model, solver, mode=mode).alpha_max(l1_ratio)
