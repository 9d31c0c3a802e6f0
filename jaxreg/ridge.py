"""Ridge paths in closed form: every alpha, and its leave-one-out error, from one
decomposition.

Objective, for every alpha of the grid (the path convention of jaxreg)::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha/2·Σ_j p_j w_j²

with sample weights ``s`` rescaled to sum to n, penalty factors ``p`` (0 = not
penalized) and an unpenalized intercept ``b``. scikit-learn's ``Ridge(alpha=a)``
minimises ``Σ_i s_i (y_i - x_i·w - b)² + a·||w||²`` with its raw weights, which is
this objective at ``alpha = a / Σ_i s_i`` (``a / n`` without weights); the
textbook form ``1/(2n)·||y - Xw - b||² + λ·||w||²`` is ``alpha = 2λ``.

A thin shell: the data are reduced by :mod:`jaxreg.stats` (centred, weighted,
standardized on request, the unpenalized columns projected out), factorized once
by :mod:`jaxreg.solvers.closed_form` (``"eigh"`` of the Gram matrix, ``"dual"``
of the kernel, or ``"svd"``), and every alpha and its leave-one-out error or GCV
costs GEMMs on that factorization.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _docs, _sparse_design, engine, results
from jaxreg import _validation as V
from jaxreg import path as _path
from jaxreg._config import compute_context
from jaxreg.results import PathResult, RidgeCVResult
from jaxreg.solvers import closed_form
from jaxreg.sufficient import SufficientStats

__all__ = [
    "RidgeCVResult",
    "alpha_from_sklearn",
    "alpha_to_sklearn",
    "ridge_alpha_max",
    "ridge_cv",
    "ridge_loo",
    "ridge_path",
]

METHODS = ("auto", "eigh", "svd", "dual")
CRITERIA = ("loo", "gcv")
MULTIOUTPUT = ("uniform_average", "raw_values")
GRIDS = ("glmnet", "df")
# The ridge grid starts 1000× above the lasso's alpha_max; eps = 1e-6 ends it at
# 1e-3 of the lasso alpha_max, where lasso_path's default grid ends. (glmnet's
# 1e-4 stops at 0.1 of it, above the leave-one-out optimum of most designs.)
DEFAULT_EPS = 1e-6


@functools.partial(jax.jit, static_argnames=("method", "need_u", "gram", "terms"))
def _factorize(A, c, l2, *, method, need_u, gram, terms):
    """One factorization of the all-data member.

    Notes
    -----
    jit-compiled; static: method, need_u, gram, terms; a new shape recompiles.
    """
    if gram:
        return closed_form.factor_gram(A, c, l2, terms=terms)
    return closed_form.factorize(A, c, l2, method, need_u)


@functools.partial(jax.jit, static_argnames=("with_path", "criterion"))
def _evaluate(fac, A, Y, yy, lev, rank0, n_pos, levels, *, with_path,
              criterion):  # fmt: skip
    """Everything per alpha from the factorization: GEMMs only, no solve.

    Notes
    -----
    jit-compiled; static: with_path, criterion; new alpha values do not
    recompile, a new number of alphas does.
    """
    if A is None:  # sparse X: Aᵀ is applied on the host (jaxreg._sparse_design)
        inv = closed_form.shrinkage(fac, levels)
        w = closed_form.dual_combination(fac, inv)
    else:
        w, inv = closed_form.ridge(fac, levels, A)
    out = {
        "rss": closed_form.residual_ss(fac, yy, levels, inv),
        "df": closed_form.effective_df(fac, levels, rank0),
    }
    if with_path:
        out["coef"] = w
    if criterion == "loo":
        out["cv"] = closed_form.loo(fac, Y, lev, rank0, levels, inv)
    elif criterion == "gcv":
        out["cv"] = closed_form.gcv(fac, n_pos, rank0, levels, inv, out["rss"])
    return out


class _Setup:
    """Validated inputs (from a public call's keywords ``kw``), the reduced
    problem and (unless ``factor=False``) its factorization."""

    def __init__(self, kw, *, need_u, factor=True, sort=True):
        X, Y, self.alphas, self.eps, model, solver = _path.prepare(
            kw, y_ndim=(1, 2), sort=sort
        )
        self.grid_kind = V.check_choice("grid", kw.get("grid", "glmnet"), GRIDS)
        method = V.check_choice("method", kw.get("method", "auto"), METHODS)
        n, m = X.shape[0], int((model.penalty_factor > 0).sum())
        if isinstance(X, SufficientStats):
            method = _stats_method(method, need_u and factor)
            need_u = False
        if method == "auto":
            # Gram eigh costs n·m² + m³, the kernel's n²·m + n³: factor the smaller.
            method = "eigh" if n >= m else "dual"
        self.method = method
        y = kw["y"]
        self.one_target = np.ndim(y) == 1 if y is not None else X.n_targets == 1
        mode = "gram" if method == "eigh" and not need_u else "design"
        levels = _path.n_levels(self.alphas)
        pr = self.problem = engine.Problem(
            X, Y, model, solver, n_levels=levels, mode=mode
        )
        if pr.sparse and self.method != "dual":
            raise ValueError(
                f"method={self.method!r} is not available for sparse X with more "
                "than 2n (or 20000) features: it is solved from its n x n kernel, "
                "method='dual' (or 'auto')."
            )
        self.alpha_max = pr.alpha_max(0.0)
        if factor:
            self._factorize(need_u, n)

    def _factorize(self, need_u, n):
        pr = self.problem
        l2, self.exponent = pr.ridge_weights()
        mem = pr.members
        positive = pr.n_positive
        self.rows = (mem.c[-1], mem.lev[-1], mem.rank0[-1], positive)
        if pr.sparse:  # the kernel from the sparse operator
            self.op, self.A = mem.A.operator(len(mem.A) - 1), None
            self.fac = _sparse_design.kernel_factor(self.op, mem.c[-1], l2[-1])
            return
        with compute_context(pr.dtype, pr.solver.device):
            self.A = jnp.asarray(mem.A[-1], pr.dtype)
            c, l2 = (jnp.asarray(a[-1], pr.dtype) for a in (mem.c, l2))
            eigh_u = need_u and self.method == "eigh"
            self.fac = _factorize(
                self.A, c, l2, method=self.method, need_u=eigh_u, gram=pr.gram, terms=n
            )

    def values(self):
        """The alphas: as given, or the grid of ``grid_kind``."""
        return self.grid(self.alphas, self.eps, self.grid_kind)

    def grid(self, alphas, eps, kind="glmnet"):
        if kind == "glmnet" or not isinstance(alphas, int):
            return _path.grid(alphas, self.alpha_max, eps)
        # The range where the effective df moves: from 10·trace(XᵀX/n) (df below
        # 0.1) to a hundredth of the smallest non-negligible eigenvalue (every
        # direction nearly unshrunk), in the penalty's metric.
        e = np.asarray(self.fac.e, np.float64)
        if not e.sum() > 0:
            return np.geomspace(1.0, 1e-4, alphas)
        low = e[e > e.max() * 1e-10].min()
        return np.ldexp(
            np.geomspace(10.0 * e.sum(), 1e-2 * low, alphas), -self.exponent
        )

    def evaluate(self, grid, *, with_path, criterion):
        pr = self.problem
        Y, lev, rank0, n_pos = self.rows
        dt = pr.dtype
        with compute_context(dt, pr.solver.device):
            out = _evaluate(
                self.fac,
                self.A,
                jnp.asarray(Y, dt),
                jnp.asarray(pr.members.yy[-1], dt),
                jnp.asarray(lev, dt),
                rank0,
                n_pos,
                jnp.asarray(np.ldexp(np.asarray(grid, np.float64), self.exponent), dt),
                with_path=with_path,
                criterion=criterion,
            )
            out = {key: np.asarray(val, np.float64) for key, val in out.items()}
        if with_path and self.A is None:
            out["coef"] = _sparse_design.dual_coef(self.op, self.fac, out["coef"])
        for key in ("rss", "cv"):
            if key in out:
                out[key] = pr.to_data_units(out[key])
        if pr.model.fit_intercept:
            out["df"] = out["df"] - 1.0  # the effective df counts no intercept
        return out

    def path_result(self, grid, out) -> PathResult:
        pr = self.problem
        coef = np.swapaxes(out["coef"], 0, 1)[None]  # (1, T, k, pP)
        coefs, intercepts, _, _ = pr.finish(coef)
        T, k = coef.shape[1:3]
        zeros = np.zeros((T, k))
        yy = pr.to_data_units(pr.yy_total[-1])
        res = results.path_result(
            grid,
            coefs[-1],
            intercepts[-1],
            zeros,
            zeros.astype(np.int64),
            np.ones((T, k), bool),
            out["rss"].T,
            yy,
            np.zeros(T),
            multi=not self.one_target,
            l1_ratio=0.0,
            alpha_max=self.alpha_max,
            tol=0.0,
            mode=self.method,
            strategy="closed_form",
            dtype=str(pr.dtype),
            x_scale=pr.column_scale(),
        )
        if self.one_target:
            return res
        # Several targets: one PathResult with (k, T, p) coefficients.
        return PathResult(
            **{f.name: getattr(res, f.name) for f in dataclasses.fields(PathResult)}
        )


@_docs.shared
def ridge_path(X, y=None, *, alphas=100, eps=DEFAULT_EPS, fit_intercept=True,
               standardize=False, sample_weight=None, penalty_factor=None,
               method="auto", dtype=None, device=None,
               grid="glmnet") -> PathResult:  # fmt: skip
    """Ridge path in closed form: every alpha from one decomposition.

    Minimises, for every alpha::

        1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha/2·Σ_j p_j w_j²

    which is scikit-learn's ``Ridge(alpha=n·alpha)`` (``alpha·Σ s_i`` with raw
    weights, see :func:`alpha_to_sklearn`) and ``ElasticNet(l1_ratio=0)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        All targets share one decomposition.
    alphas : int or array-like
        Grid size or the alphas (non-negative, sorted decreasing; 0 is the
        minimum-norm least squares). The grid of an int is geometric from glmnet's
        ridge ``alpha_max`` (the lasso ``alpha_max`` at ``l1_ratio=0.001``, the
        max over targets) down to ``eps·alpha_max``.
    eps : float in (0, 1]
        The default 1e-6 ends the grid where the default lasso grid ends.
    [model]
    method : {"auto", "eigh", "svd", "dual"}
        ``"eigh"``: eigendecomposition of the Gram matrix (``"auto"`` when
        n >= number of penalized features); ``"dual"``: of the n × n kernel
        (``"auto"`` otherwise); ``"svd"``: SVD of X, the most accurate for
        ill-conditioned X as alpha -> 0, and the slowest.
    [dtype]
    [device]
    grid : {"glmnet", "df"}
        The grid made when ``alphas`` is an int: glmnet's (geometric from
        ``alpha_max`` down to ``eps·alpha_max``), or ``"df"``, the range where the
        effective degrees of freedom move: from ``10·trace(XᵀX/n)`` (effective df
        below 0.1) down to a hundredth of the smallest non-negligible eigenvalue
        of ``XᵀX/n`` (in the penalty's metric; ``eps`` is then not used).

    Returns
    -------
    PathResult
        ``coefs`` (k, p) or (k, n_targets, p); ``gaps`` 0, ``n_iter`` 0 and
        ``converged`` True (closed form, unless a result is not finite);
        ``dev_ratio`` averaged over targets; ``mode`` the decomposition.

    [raises]

    Notes
    -----
    One factorization (``n·m² + m³`` for eigh, ``n²·m + n³`` for dual), then
    O(p·r) per alpha and target. Components below the factorization's noise level
    are dropped (:func:`jaxreg.solvers.closed_form.cutoff`). New alpha values do
    not recompile; a new shape, number of alphas or method does.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.ridge import ridge_path
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> path = ridge_path(X, X @ [1.0, 0.0, -2.0, 0.5, 0.0], alphas=20)
    >>> path.coefs.shape, path.mode
    ((20, 5), 'eigh')
    """
    setup = _Setup(locals(), need_u=False)
    values = setup.values()
    out = setup.evaluate(values, with_path=True, criterion=None)
    return setup.path_result(values, out)


def _stats_method(method, need_u):
    """Sufficient statistics and sparse X give the Gram matrix only."""
    if need_u:
        raise ValueError(
            "exact leave-one-out needs every row's leverage, which sufficient "
            "statistics (and sparse X, solved from its Gram matrix) do not give: use "
            "criterion='gcv', or pass dense X and y."
        )
    if method not in ("auto", "eigh"):
        raise ValueError(
            f"method={method!r} needs the rows of X; sufficient statistics and "
            "sparse X give method='eigh' (the Gram matrix)."
        )
    return "eigh"


def _average(values, multioutput, one_target):
    values = np.asarray(values, np.float64)
    if multioutput == "uniform_average" or one_target:
        return values.mean(axis=1)
    return values


def ridge_loo(X, y=None, *, alphas, criterion="loo", multioutput="uniform_average",
              eps=DEFAULT_EPS, fit_intercept=True, standardize=False,
              sample_weight=None, penalty_factor=None, method="auto", dtype=None,
              device=None, grid="glmnet") -> np.ndarray:  # fmt: skip
    """Exact leave-one-out mean squared error (or GCV) of ridge for every alpha.

    For the ridge objective of :func:`ridge_path`, the leave-one-out model of
    sample i minimises the same objective without sample i, with the penalty of
    the full data (``Σ_{k≠i} s_k r_k² + n·alpha·Σ_j p_j w_j²``), its intercept
    refitted. Its error is ``e_i = r_i/(1 - h_i)`` with the hat-matrix diagonal
    ``h_i`` (intercept leverage ``s_i/n`` included), so every alpha costs GEMMs
    on one decomposition, as in scikit-learn's ``RidgeCV``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    alphas : int or array-like
        The alphas (non-negative, in the path convention), or an int: the
        default grid of :func:`ridge_path` with that many alphas (same ``eps``).
        Results follow the order given.
    criterion : {"loo", "gcv"}
        ``"loo"``: ``Σ_i s_i e_i² / n``, the weighted mean squared leave-one-out
        error. With weights summing to n this is minus scikit-learn's
        ``RidgeCV().best_score_`` at that alpha; with raw weights sklearn's value
        is this times ``Σ s_raw / n``. ``"gcv"``: generalized cross-validation
        ``(Σ_i s_i r_i²/n) / (1 - df/n)²``, ``df = trace(H)`` (the intercept and
        the unpenalized features included) and n the number of samples with a
        positive weight.
    multioutput : {"uniform_average", "raw_values"}
        For 2-D y: the mean over targets (k,) (scikit-learn's ``RidgeCV``
        score), or one column per target (k, n_targets).
    eps, fit_intercept, standardize, sample_weight, penalty_factor, method,
    dtype, device, grid
        As in :func:`ridge_path`.

    Returns
    -------
    ndarray of shape (k,) or (k, n_targets)
        ``inf`` where a sample has leverage 1 and no leave-one-out prediction.
        At alpha = 0 with an interpolating fit (p >= n) the alpha -> 0 limit is
        returned.

    Notes
    -----
    Needs the n × r left factor U as well (for ``method="eigh"`` one more
    ``n·m²`` GEMM than :func:`ridge_path`; not for ``criterion="gcv"``).

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X, e = np.random.default_rng(0).normal(size=(2, 40, 3))
    >>> jaxreg.ridge_loo(X, X @ [1.0, -1.0, 0.5] + e[:, 0], alphas=[10.0, 0.0]).round(2)
    array([2.5 , 1.35])
    """
    V.check_choice("criterion", criterion, CRITERIA)
    V.check_choice("multioutput", multioutput, MULTIOUTPUT)
    setup = _Setup(locals(), need_u=criterion == "loo", sort=False)
    out = setup.evaluate(setup.values(), with_path=False, criterion=criterion)
    return _average(out["cv"], multioutput, setup.one_target)


def ridge_cv(X, y=None, *, alphas=100, criterion="loo", eps=DEFAULT_EPS,
             fit_intercept=True,
             standardize=False, sample_weight=None, penalty_factor=None, method="auto",
             dtype=None, device=None, grid="glmnet") -> RidgeCVResult:  # fmt: skip
    """Ridge path and its leave-one-out error (or GCV), one decomposition for both.

    Minimises the objective of :func:`ridge_path` for every alpha and scores
    each alpha as :func:`ridge_loo`; the selected alpha minimises the score
    averaged over targets (scikit-learn's ``RidgeCV`` with ``cv=None``:
    ``alpha_ = n·alpha_best``, ``best_score_ = -cv_values[index_best]`` with
    weights summing to n).

    Parameters
    ----------
    X, y, alphas, eps, fit_intercept, standardize, sample_weight, penalty_factor,
    method, dtype, device, grid
        As in :func:`ridge_path`.
    criterion : {"loo", "gcv"}
        As in :func:`ridge_loo`.

    Returns
    -------
    RidgeCVResult
        Also the effective degrees of freedom (the trace of the hat matrix
        without the intercept) of every alpha.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> jaxreg.ridge_cv(X, X @ [1.0, 2.0, 0.0, -1.0], alphas=30).coef.shape
    (4,)
    """
    V.check_choice("criterion", criterion, CRITERIA)
    setup = _Setup(locals(), need_u=criterion == "loo")
    values = setup.values()
    out = setup.evaluate(values, with_path=True, criterion=criterion)
    path = setup.path_result(values, out)
    cv_values = _average(out["cv"], "uniform_average", True)
    best = int(np.argmin(np.where(np.isnan(cv_values), np.inf, cv_values)))
    intercept = path.intercepts[best]
    return RidgeCVResult(
        alphas=path.alphas,
        cv_values=cv_values,
        criterion=criterion,
        index_best=best,
        alpha_best=float(path.alphas[best]),
        coef=path.coefs[best],
        intercept=float(intercept) if np.ndim(intercept) == 0 else intercept,
        path=path,
        effective_df=out["df"],
    )


def ridge_alpha_max(X, y=None, *, fit_intercept=True, standardize=False,
                    sample_weight=None,
                    penalty_factor=None, dtype=None) -> float:  # fmt: skip
    """The top of the default ridge grid: the lasso alpha_max at l1_ratio=0.001.

    ``max_j |x̃_jᵀ(ỹ - ȳ)| / (n·0.001·p_j)`` over the penalized features on the
    centred, weighted (and standardized) data with the unpenalized features
    projected out; the max over targets for 2-D y. This is glmnet's choice.
    """
    return _Setup(locals(), need_u=True, factor=False).alpha_max


def _check_conversion(alpha, n_samples, sample_weight):
    V.check_int("n_samples", n_samples)
    if sample_weight is None:
        total = float(n_samples)
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 0:
            sw = np.full(n_samples, float(sw))
        if sw.shape != (n_samples,) or not (np.isfinite(sw).all() and (sw >= 0).all()):
            raise ValueError(
                f"sample_weight must be {n_samples} finite non-negative weights, got "
                f"shape {sw.shape}."
            )
        total = float(sw.sum())
        if not total > 0:
            raise ValueError(f"sample_weight must have a positive sum, got {total!r}.")
    a = np.asarray(alpha, dtype=np.float64)
    if not (np.isfinite(a).all() and (a >= 0).all()):
        raise ValueError(f"alpha must be finite and non-negative, got {alpha!r}.")
    return a, total


def alpha_from_sklearn(alpha, n_samples, *, sample_weight=None):
    """Path alpha equal to scikit-learn's ``Ridge(alpha=alpha)``.

    ``Σ_i s_i r_i² + a·||w||²`` (raw weights) is ``(Σ s_i/n)`` times the path
    objective with ``alpha = a/Σ_i s_i``; ``a/n`` without weights.
    """
    a, total = _check_conversion(alpha, n_samples, sample_weight)
    return a / total if a.ndim else float(a) / total


def alpha_to_sklearn(alpha, n_samples, *, sample_weight=None):
    """scikit-learn ``Ridge`` alpha equal to the path ``alpha``: ``alpha·Σ_i s_i``."""
    a, total = _check_conversion(alpha, n_samples, sample_weight)
    return a * total if a.ndim else float(a) * total
