"""Cross-validated elastic-net paths: every fold and every alpha in one batch.

Each fold is fitted on the path objective restricted to its training samples::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ_j p_j|w_j|
                                           + (1 - l1_ratio)/2·Σ_j p_j w_j²)

where ``s`` is the sample weight times the number of times sample i is in the
training set, rescaled to sum to n (so a fold is a weight vector: every fold has
the same shapes, see :mod:`jaxreg.folds`). The folds and the fit on all the data
are the members of one :class:`jaxreg.engine.Problem`: one reduction (in Gram
mode X is read once, a fold's statistics being the total minus its held-out
rows), one solver and one policy for all of them. The final model at the selected
alpha is read off the all-data path: there is no separate refit.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from jaxreg import _docs, _result_io, engine, families, folds, relax, results, sparse
from jaxreg import _validation as V
from jaxreg import groups as _groups
from jaxreg import path as _path
from jaxreg.path import multi_target_path
from jaxreg.results import CVResult
from jaxreg.sufficient import SufficientStats

__all__ = ["CVResult", "cv_path", "cv_paths", "multi_target_path"]

DEFAULT_FOLDS = 5


def _check_folds(train, test, sw):
    train_w, test_w = sw[None, :] * train, sw[None, :] * test
    for i in range(train.shape[0]):
        if not train_w[i].sum() > 0:
            raise ValueError(
                f"cv fold {i} has no training sample with a positive weight."
            )
        if not test_w[i].sum() > 0:
            raise ValueError(
                f"cv fold {i} has no held-out sample with a positive weight."
            )


def solve(kw, l1_ratios, *, alpha_units="mean", y_ndim=(1,), l1_batch=None):
    """Folds, members and solutions for every l1_ratio: the one route of
    :func:`cv_path`, :func:`cv_paths` and the estimators, from the keywords ``kw``
    of the public call (X, y, cv, groups, alphas, eps, the model and solver
    options).

    Returns the problem, and per l1_ratio its grid, alpha_max, raw solutions,
    original-scale coefficients, intercepts and fold errors.
    """
    family = families.check_family(kw.get("family", "gaussian"))
    scoring = families.check_scoring(family, kw.get("scoring"))
    if family not in families.LEAST_SQUARES:
        return _solve_family(kw, family, scoring, l1_ratios, alpha_units)
    if family == "mgaussian":
        y_ndim = (2,)
    if sparse.is_sparse(kw["X"]) and sparse.gram_form(kw):
        kw = _sparse_folds(kw, y_ndim)
    X, Y, alphas, eps, model, solver = _path.prepare(kw, y_ndim=y_ndim)
    grouping = _groups.TASKS if family == "mgaussian" else None
    if isinstance(X, SufficientStats):
        problem = _stats_problem(X, kw, model, solver, alphas, alpha_units)
        problem.grouping = grouping
        return _solve_problem(problem, l1_ratios, alphas, eps, l1_batch)
    y_split = Y[:, 0] if Y.shape[1] == 1 else Y
    X_split = X if isinstance(X, np.ndarray) or sparse.is_sparse(X) else np.asarray(X)
    train, test = _fold_counts(kw, X_split, y_split, X.shape[0], model.sample_weight)
    problem = _path.group_problem(
        X,
        Y,
        model,
        solver,
        grouping,
        folds=(train, test),
        n_levels=_path.n_levels(alphas),
        alpha_units=alpha_units,
    )
    problem.fold_counts = (train, test)
    problem.data = (X, Y, model)
    return _solve_problem(problem, l1_ratios, alphas, eps, l1_batch)


def _fold_counts(kw, X, y, n, sw):
    groups = kw.get("groups")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(
                f"groups must have shape ({n},), got shape {groups.shape}."
            )
    cv = _shuffled(kw, n)
    train, test = folds.fold_counts(cv, X, y, n, groups)
    _check_folds(train, test, sw)
    _warn_sorted(y, test, sw)
    return train, test


def _shuffled(kw, n):
    """``cv``, or with ``shuffle=True`` the fold ids of K shuffled folds
    (scikit-learn's ``KFold(shuffle=True)``; ``seed`` for the shuffle)."""
    cv = DEFAULT_FOLDS if kw.get("cv") is None else kw["cv"]
    if not V.check_flag("shuffle", kw.get("shuffle", False)):
        return cv
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)):
        raise ValueError(
            "shuffle=True needs an integer cv (the number of folds); shuffle a "
            "splitter or fold ids yourself."
        )
    k = folds.fold_counts(int(cv), None, None, n)[0].shape[0]  # validates cv
    ids = np.empty(n, dtype=np.int64)
    ids[np.random.default_rng(kw.get("seed")).permutation(n)] = np.arange(n) % k
    return ids


# Fold means of y this improbable under a random assignment of rows to folds
# (a chi-square test) mean the rows are ordered: contiguous folds then hold out
# one end of y each.
SORTED_P_VALUE = 1e-6


def _warn_sorted(y, test, sw):
    """Warn when the held-out folds' weighted means of y differ far more than
    random folds would (sorted rows and contiguous folds)."""
    from scipy.stats import chi2

    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "biuf" or test.shape[0] < 2:
        return
    w = sw[None, :] * test
    size = w.sum(axis=1)
    mean = np.average(y, weights=sw)
    var = np.average((y - mean) ** 2, weights=sw)
    if not (var > 0 and np.all(size > 0)):
        return
    fold_means = (w @ y) / size
    # each fold mean has variance var·(n_eff of the fold)⁻¹ under random folds
    n_eff = size**2 / (w**2).sum(axis=1)
    stat = float(np.sum(n_eff * (fold_means - mean) ** 2) / var)
    p = float(chi2.sf(stat, test.shape[0] - 1))
    if p < SORTED_P_VALUE:
        warnings.warn(
            f"the cross-validation folds' mean y differ far more than random folds "
            f"would (from {fold_means.min():.4g} to {fold_means.max():.4g}; "
            f"chi-square p = {p:.1e}): the rows look sorted, so each fold holds out "
            "one end of y. Shuffle them: cv_path(..., shuffle=True, seed=0), or "
            "pass shuffled fold ids.",
            UserWarning,
            stacklevel=5,
        )


def _solve_family(kw, family, scoring, l1_ratios, alpha_units):
    """A GLM family's folds and members (:class:`jaxreg.families.GLMProblem`)."""
    X, y, _, alphas, eps, model, solver = _path.prepare_family(kw, family)
    labels = np.asarray(kw["y"])  # what a stratified splitter should see
    train, test = _fold_counts(kw, X, labels, X.shape[0], model.sample_weight)
    problem = families.problem(
        X, y, model, solver, family, folds=(train, test), scoring=scoring,
        alpha_units=alpha_units,
    )  # fmt: skip
    return _solve_problem(problem, l1_ratios, alphas, eps, None)


def _sparse_folds(kw, y_ndim):
    """Sparse X: its statistics with one part per fold (the folds must
    partition the samples: each one held out exactly once)."""
    X = kw["X"]
    n = X.shape[0]
    cv = _shuffled(kw, n)
    y = np.asarray(kw["y"])
    train, test = folds.fold_counts(cv, X, y if y.ndim == 1 else y[:, 0], n,
                                    kw.get("groups"))  # fmt: skip
    if not (np.all(test.sum(axis=0) == 1) and np.all(train + test == 1)):
        raise ValueError(
            "with a sparse X the folds must partition the samples (each one held "
            "out exactly once, and trained on otherwise), as K-fold and fold ids do."
        )
    out = sparse.as_stats(kw, fold_ids=np.argmax(test, axis=0), y_ndim=y_ndim)
    out.update(cv=None, groups=None)
    return out


def _stats_problem(st, kw, model, solver, alphas, alpha_units):
    """The members of sufficient statistics with folds: their own folds."""
    if kw.get("cv") is not None or kw.get("groups") is not None:
        raise ValueError(
            "the folds of sufficient statistics are fixed when they are built: give "
            "folds= to sufficient_stats, and no cv= or groups= here."
        )
    if st.n_folds < 2:
        raise ValueError(
            "cross-validation needs statistics built with folds (at least 2): "
            "sufficient_stats(X, y, folds=5)."
        )
    for label, s0, w in zip(st.folds, st.count, st.S0, strict=True):
        if not (s0 > 0 and w > 0):
            raise ValueError(
                f"cv fold {label!r} has no held-out sample with a positive weight."
            )
    return engine.Problem(
        st, None, model, solver, folds=True, n_levels=_path.n_levels(alphas),
        alpha_units=alpha_units,
    )  # fmt: skip


def _solve_problem(problem, l1_ratios, alphas, eps, l1_batch):
    amaxes = [problem.alpha_max(r) for r in l1_ratios]
    grids = np.stack([_path.grid(alphas, a, eps) for a in amaxes])
    out = []
    raws = problem.solve_enet(grids, l1_ratios, l1_batch=l1_batch)
    for g, a, raw in zip(grids, amaxes, raws, strict=True):
        coefs, intercepts, mse, r2 = problem.finish(raw.pop("coef"), inplace=True)
        out.append((g, a, raw, coefs, intercepts, mse, r2))
    return problem, out


def _cv_result(problem, solved, l1_ratio) -> CVResult:
    grid, amax, raw, coefs, intercepts, mse, r2 = solved
    # (k, K); several targets (mgaussian): their mean, as scikit-learn's
    mse_path = mse.mean(axis=1).T
    r2_path = r2.mean(axis=1).T if r2 is not None else np.full(mse_path.shape, np.nan)
    K = mse_path.shape[1]
    mse_mean = mse_path.mean(axis=1)
    mse_se = np.full(len(grid), np.nan)
    if K > 1:
        # a fold's infinite deviance (a held-out sample given probability 0)
        # leaves the mean infinite, and its standard error too
        finite = np.isfinite(mse_path).all(axis=1)
        with np.errstate(invalid="ignore"):
            spread = mse_path.std(axis=1, ddof=1) / np.sqrt(K)
        mse_se = np.where(finite, spread, np.inf)
    scoring = getattr(problem, "scoring", "mse")
    sign = -1.0 if scoring == "auc" else 1.0  # the AUC is maximised
    i_min, i_1se = results.select_1se(sign * mse_mean, mse_se)
    if isinstance(problem, families.GLMProblem):
        path = families.path_result(problem, grid, raw, coefs, intercepts, l1_ratio,
                                    amax)  # fmt: skip
    else:
        path = _path.from_problem(
            problem, grid, raw, coefs, intercepts, l1_ratio, amax, multi=False
        )
    folds_coefs = coefs[:-1].reshape(K, coefs.shape[1], len(grid), -1)
    fold_finite = np.isfinite(folds_coefs).all(axis=(1, 3))  # (K, k)
    return CVResult(
        alphas=path.alphas,
        mse_mean=mse_mean,
        mse_se=mse_se,
        alpha_min=float(grid[i_min]),
        alpha_1se=float(grid[i_1se]),
        index_min=i_min,
        index_1se=i_1se,
        path=path,
        mse_path=mse_path,
        r2_path=r2_path,
        fold_converged=(raw["converged"][:-1, 0] & fold_finite).T,
        fold_gaps=raw["gap"][:-1, 0].T,
        test_weight=problem.test_weight,
        l1_ratio=l1_ratio,
        fold_n_iter=raw["n_iter"][:-1, 0].T,
        measure=scoring,
    )


def _warn_cv(res: CVResult, fold_gap_tol, max_iter, stacklevel):
    _path.warn_path(res.path, max_iter, stacklevel + 1)
    note = (
        f" {int((~res.fold_converged).any(axis=0).sum())} of {res.n_folds} "
        "cross-validation folds have such alphas; their held-out errors are less "
        "reliable."
    )
    results.warn_not_converged(
        res.alphas,
        res.fold_gaps,
        fold_gap_tol[None, :],
        res.fold_n_iter,
        res.fold_converged,
        tol=res.path.tol,
        max_iter=max_iter,
        scope=" in the cross-validation folds",
        scale={
            "gaussian": "the fold's ||y - ȳ||²/n",
            "mgaussian": "the fold's ||Y - Ȳ||²_F/n",
        }.get(res.path.family, "the fold's null deviance/n"),
        where=lambda i: f" in fold {i[1]}",
        **_path.float32_advice(res.path.dtype, note),
        stacklevel=stacklevel + 1,
    )


def _results(problem, solved, l1_ratios):
    out = []
    tol = problem.solver.tol
    # one target, or the joint problem of several (mgaussian)
    fold_gap_tol = problem.to_data_units(tol * problem.yy_total[:-1].sum(axis=1))
    for s, r in zip(solved, l1_ratios, strict=True):
        res = _cv_result(problem, s, r)
        _warn_cv(res, fold_gap_tol, problem.solver.max_iter, 3)
        _warn_grid_end(res)
        out.append(res)
    return out


def _warn_grid_end(res):
    """Warn when the best alpha is the grid's smallest: the error may still fall
    below it."""
    k = len(res.alphas)
    if k > 2 and res.index_min == k - 1 and res.alphas[-1] > 0:
        warnings.warn(
            f"the cross-validation optimum is the grid's smallest alpha "
            f"({res.alphas[-1]:.4g}, l1_ratio={res.l1_ratio:g}): the error may keep "
            "falling below it. Extend the grid: a smaller eps (eps='glmnet' gives "
            "1e-4 when n_samples >= n_features) or explicit smaller alphas.",
            UserWarning,
            stacklevel=5,
        )


@_docs.shared
def cv_path(X, y=None, *, l1_ratio=1.0, cv=None, alphas=100, eps=1e-3,
            fit_intercept=True, standardize=False, sample_weight=None,
            penalty_factor=None, positive=False, lower_limits=None, upper_limits=None,
            tol=1e-4, max_iter=_path.DEFAULT_MAX_ITER, dtype=None, groups=None,
            mode="auto", strategy="auto", chunk=None, check_every=10, screen="auto",
            device=None, family="gaussian", scoring=None, shuffle=False,
            seed=None, relax=False,
            gammas=(0.0, 0.25, 0.5, 0.75, 1.0)) -> CVResult:  # fmt: skip
    """K-fold cross-validation of the elastic-net path, all folds × alphas at once.

    Every fold minimises, on its training samples and for every alpha::

        1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ p_j|w_j|
                                                + (1 - l1_ratio)/2·Σ p_j w_j²)

    and is scored by its held-out mean squared error (``Σ s_i r_i² / Σ s_i`` over
    the held-out samples). The grid is computed on all the data (as glmnet and
    ``LassoCV`` do) and shared by every fold; the fit on all the data is solved in
    the same batch as the folds and returned as ``path``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    l1_ratio : float in [0, 1]
        1 is the lasso; 0 is ridge (closed form per fold unless there are box
        constraints; its default grid starts at glmnet's ridge ``alpha_max``).
    cv : int, splitter, iterable of (train, test), or array of fold ids
        An int K: contiguous K-fold without shuffling (scikit-learn's ``KFold``).
        An object with a ``split(X, y[, groups])`` method (any scikit-learn
        splitter). An iterable of ``(train, test)`` index arrays (a sample listed
        twice in a training set counts twice). Or glmnet's ``foldid`` array.
    groups : array-like of shape (n_samples,), optional
        Passed to ``cv.split`` (e.g. for ``GroupKFold``).
    shuffle : bool, default False
        With an integer ``cv``: assign the rows to the K folds at random
        (scikit-learn's ``KFold(shuffle=True)``), ``seed`` seeding the shuffle. A
        ``UserWarning`` says when contiguous folds hold out implausibly different
        means of y (sorted rows).
    seed : int, optional
    relax : bool, default False
        The relaxed lasso (glmnet's ``relax=TRUE``): every fold's penalized
        solutions and their least-squares refits on the supports, blended by each
        of ``gammas``, are scored on the held-out rows, and (alpha, gamma) are
        chosen jointly: ``alpha_min``/``gamma_min`` the smallest mean error,
        ``alpha_1se``/``gamma_1se`` the largest alpha (then gamma) within one
        standard error of it. ``mse_mean``/``mse_se``/``mse_path`` are those at
        ``gamma_min``; ``relaxed_mse_mean``/``relaxed_mse_se`` (gammas, alphas)
        hold them all; ``coef_at`` blends ``path`` with ``refit_path``. Dense X.
    gammas : sequence of float in [0, 1]
        glmnet's default (0, 0.25, 0.5, 0.75, 1).
    alphas, eps, fit_intercept, standardize, sample_weight, penalty_factor,
    positive, lower_limits, upper_limits, tol, max_iter, dtype, mode, strategy,
    chunk, check_every, screen, device
        As in :func:`jaxreg.enet_path`: one policy picks the strategy and the
        working sets for folds and paths alike. Each fold's tol threshold uses
        its own weighted training ``||y - ȳ||²/n``.
    family : {"gaussian", "binomial", "multinomial", "poisson"}
        As in :func:`jaxreg.enet_path`; each fold's tol threshold uses its own
        null deviance.
    scoring : {"deviance", "mse", "misclassification", "auc"}, optional
        The held-out measure (glmnet's ``type.measure``), stored in ``mse_path``,
        ``mse_mean`` and ``mse_se`` and named by ``CVResult.measure``: the mean
        deviance (the default for a GLM family; for "gaussian" it is the MSE),
        the mean squared error of the means, the misclassification rate
        ("binomial", "multinomial") or the area under the ROC curve
        ("binomial"; maximised, and the 1se rule keeps the largest alpha within
        one standard error below the best).

    Returns
    -------
    CVResult

    [raises]

    Folds are weight vectors, so all folds and the all-data fit have the same
    shapes and are solved in one batch; in Gram mode X is read once.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(60, 8))
    >>> res = jaxreg.cv_path(X, X @ np.arange(8.0), cv=5, alphas=30)
    >>> res.mse_path.shape, res.alpha_1se >= res.alpha_min
    ((30, 5), True)
    """
    kw = locals()
    kw["l1_ratio"] = [V.check_l1_ratio(l1_ratio, allow_zero=True)]
    return cv_paths(**kw)[0]


def cv_paths(X, y=None, *, l1_ratio=(0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0), cv=None,
             alphas=100, eps=1e-3, fit_intercept=True, standardize=False,
             sample_weight=None, penalty_factor=None, positive=False, lower_limits=None,
             upper_limits=None, tol=1e-4, max_iter=_path.DEFAULT_MAX_ITER, dtype=None,
             groups=None, mode="auto", strategy="auto", chunk=None, check_every=10,
             screen="auto", device=None, l1_batch=None, family="gaussian",
             scoring=None, shuffle=False, seed=None, relax=False,
             gammas=(0.0, 0.25, 0.5, 0.75, 1.0)) -> list[CVResult]:  # fmt: skip
    """:func:`cv_path` for several l1_ratios on the same folds (one CVResult each).

    The fold statistics are computed once for all l1_ratios. Each l1_ratio gets
    its own grid (``alpha_max`` scales as ``1/l1_ratio``). On a GPU all l1_ratios
    are solved in one batch; on the CPU one after the other, reusing the compiled
    solver.

    Parameters
    ----------
    l1_ratio : sequence of float in [0, 1]
    l1_batch : bool, optional
        Solve all l1_ratios in one batch (default on GPU, where a wider batch is
        almost free) or one after the other (CPU, where a batch costs as much as
        its slowest member).
    Others
        As in :func:`cv_path`.

    Returns
    -------
    list of CVResult, in the order of ``l1_ratio``.
    """
    ratios = np.atleast_1d(np.asarray(l1_ratio, dtype=object))
    if ratios.ndim != 1 or ratios.size == 0:
        raise ValueError(
            f"l1_ratio must be a non-empty 1-D sequence, got {l1_ratio!r}."
        )
    ratios = [V.check_l1_ratio(r, allow_zero=True) for r in ratios]
    if l1_batch is not None:
        l1_batch = V.check_flag("l1_batch", l1_batch)
    names = _result_io.feature_names_of(X)
    kw, keep = _path.exclude(locals())
    if V.check_flag("relax", relax) and family != "gaussian":
        raise ValueError("relax=True is for the gaussian family.")
    gammas = _relax_gammas(gammas) if relax else None
    problem, solved = solve(kw, ratios, l1_batch=l1_batch)
    out = _results(problem, solved, ratios)
    if relax:
        pairs = zip(out, solved, strict=True)
        out = [_relaxed_cv(r, s, problem, gammas) for r, s in pairs]
    return [_result_io.with_names(_result_io.expand(r, keep), names) for r in out]


def _relax_gammas(gammas):
    g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    if g.ndim != 1 or g.size == 0 or not np.all((g >= 0) & (g <= 1)):
        raise ValueError(f"gammas must be numbers in [0, 1], got {gammas!r}.")
    return np.unique(g)


def _relaxed_cv(res, solved, problem, gammas):
    """The relaxed lasso's cross-validation: every fold's refits on its supports
    (:mod:`jaxreg.relax`), blended by each gamma and scored on its held-out rows;
    (alpha, gamma) chosen jointly."""
    data = getattr(problem, "data", None)
    if data is None or not isinstance(data[0], np.ndarray) or data[2].boxed:
        raise ValueError("relax=True takes a dense X, one target and no box limits.")
    X, Y, model = data
    X, y = np.asarray(X, np.float64), np.asarray(Y, np.float64)[:, 0]
    train, test = problem.fold_counts
    _, _, _, coefs, intercepts, _, _ = solved
    sw, icpt = model.sample_weight, model.fit_intercept
    K, G, k = train.shape[0], gammas.size, len(res.alphas)
    mse = np.zeros((K, G, k))
    for f in range(K):
        w, b = coefs[f, 0], intercepts[f, 0]
        wr, br = relax.refit(X, y, sw * train[f], w != 0, icpt)
        rows = np.flatnonzero(sw * test[f] > 0)
        tw = (sw * test[f])[rows]
        pen = X[rows] @ w.T + b  # (r, k)
        ref = X[rows] @ wr.T + br
        for g, gam in enumerate(gammas):
            r = y[rows, None] - (gam * pen + (1.0 - gam) * ref)
            mse[f, g] = tw @ (r * r) / tw.sum()
    mean = mse.mean(axis=0)
    se = mse.std(axis=0, ddof=1) / np.sqrt(K) if K > 1 else np.full((G, k), np.nan)
    flat = np.where(np.isnan(mean), np.inf, mean)
    g_min, i_min = np.unravel_index(int(np.argmin(flat)), flat.shape)
    bound = flat[g_min, i_min] + (se[g_min, i_min] if K > 1 else 0.0)
    ok = flat <= bound
    i_1se = int(np.argmax(ok.any(axis=0)))  # the largest alpha within the bound
    g_1se = int(np.flatnonzero(ok[:, i_1se])[-1])  # its largest gamma
    wr, br = relax.refit(X, y, sw, coefs[-1, 0] != 0, icpt)
    refit_path = dataclasses.replace(res.path, coefs=wr.astype(res.path.coefs.dtype),
                                     intercepts=br, gamma=0.0)  # fmt: skip
    return dataclasses.replace(
        res,
        alpha_min=float(res.alphas[i_min]),
        alpha_1se=float(res.alphas[i_1se]),
        index_min=int(i_min),
        index_1se=i_1se,
        mse_mean=mean[g_min],
        mse_se=se[g_min],
        mse_path=mse[:, g_min].T,
        gammas=gammas,
        gamma_min=float(gammas[g_min]),
        gamma_1se=float(gammas[g_1se]),
        relaxed_mse_mean=mean,
        relaxed_mse_se=se,
        refit_path=refit_path,
    )
