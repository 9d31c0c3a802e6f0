"""scikit-learn's ``Ridge`` and ``RidgeCV`` backed by jaxreg's closed-form ridge.

``Ridge`` minimises ``Σ s_i (y_i - x_i·w - b)² + alpha·||w||²`` with the raw sample
weights: jaxreg's ridge path at ``alpha / Σ s_i`` (:func:`jaxreg.ridge_path`), or
the elastic-net path at ``l1_ratio=0`` by FISTA when ``positive=True``. ``RidgeCV``
scores leave-one-out errors from one decomposition (:func:`jaxreg.ridge_loo`; in
NumPy when per-sample values are needed), or K-fold CV with every fold in one batch
(:func:`jaxreg.cv.solve`, the route of :func:`jaxreg.cv_path`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, check_cv

from jaxreg import _docs, engine, sparse, sufficient
from jaxreg import _validation as V
from jaxreg._config import compute_context
from jaxreg.cv import solve as cv_solve
from jaxreg.estimators import _base as B
from jaxreg.path import multi_target_path
from jaxreg.ridge import ridge_loo, ridge_path
from jaxreg.solvers import closed_form

__all__ = ["Ridge", "RidgeCV"]


_RIDGE_SOLVERS = (
    "auto",
    "svd",
    "cholesky",
    "lsqr",
    "sparse_cg",
    "sag",
    "saga",
    "lbfgs",
)


def _ridge_alpha(alpha, n_targets):
    """sklearn's Ridge alpha: a float or one per target."""
    if np.ndim(alpha) == 0:
        return np.full(n_targets, V.check_real("alpha", alpha))
    arr = np.asarray(alpha, dtype=np.float64).ravel()
    if arr.size == 1:
        return np.full(n_targets, V.check_real("alpha", float(arr[0])))
    if arr.size != n_targets:
        raise ValueError(
            f"alpha must be a float or have one value per target ({n_targets}), got "
            f"{arr.size} values."
        )
    for i, a in enumerate(arr):
        V.check_real(f"alpha[{i}]", float(a))
    return arr


class Ridge(MultiOutputMixin, B.LinearRegressor):
    """Linear least squares with L2 regularization (scikit-learn's Ridge).

    Minimises ``Σ_i s_i (y_i - x_i·w - b)² + alpha·||w||²`` with the raw sample
    weights: jaxreg's ridge path at ``alpha / Σ s_i``, in closed form
    (:func:`jaxreg.ridge.ridge_path`), or by FISTA when ``positive=True``.

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Accepted; X is never modified.
    max_iter : int, default=None
        For ``positive=True`` only: up to ``10·max_iter`` FISTA steps (default
        15000·10).
    tol : float, default=1e-4
        For ``positive=True`` only: duality gap <= ``tol·||y - ȳ||²/n``.
    solver : str, default="auto"
        Validated as in scikit-learn; the closed form is used for every solver
        except ``positive=True`` (which, as in scikit-learn, needs "auto" or
        "lbfgs").
    positive : bool, default=False
    random_state
        Accepted for compatibility.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
        0.0 when ``fit_intercept=False``.
    n_iter_ : ndarray of shape (n_targets,)
        1 per target for the closed form (one direct solve; scikit-learn reports
        None), FISTA steps with ``positive=True``.
    solver_ : str
        The solver scikit-learn reports for these parameters and data (the one
        asked for; "auto" resolved as scikit-learn resolves it: "cholesky", or
        "sparse_cg" for sparse X, "lbfgs" with ``positive=True``). jaxreg's own
        method is a decomposition (closed form) or FISTA (``positive=True``).
    n_features_in_, feature_names_in_
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None,
                 tol=1e-4, solver="auto", positive=False,
                 random_state=None):  # fmt: skip
        B.store(self, locals())

    def _params(self):
        fit_intercept = V.check_flag("fit_intercept", self.fit_intercept)
        V.check_flag("copy_X", self.copy_X)
        positive = V.check_flag("positive", self.positive)
        tol = max(V.check_real("tol", self.tol), B.TINY_TOL)
        max_iter = 15000 if self.max_iter is None else self.max_iter
        max_iter = V.check_int("max_iter", max_iter)
        solver = V.check_choice("solver", self.solver, _RIDGE_SOLVERS)
        if positive and solver not in ("auto", "lbfgs"):
            raise ValueError(
                f"solver='{solver}' does not support positive fitting. Please set "
                "the solver to 'auto' or 'lbfgs'."
            )
        if solver == "lbfgs" and not positive:
            raise ValueError(
                "'lbfgs' solver can be used only when positive=True. Please use "
                "another solver."
            )
        return fit_intercept, positive, tol, max_iter

    def _positive(self, X, Y, alpha, total, tol, max_iter, kw):  # fmt: skip
        """Non-negative ridge: the elastic-net path at l1_ratio=0, by FISTA."""
        steps = max_iter * B.FISTA_STEPS_PER_ITER
        res = B.quietly(
            multi_target_path,
            X,
            Y,
            l1_ratio=0.0,
            alphas=[alpha],
            positive=True,
            tol=tol,
            max_iter=steps,
            **kw,
        )
        B.warn_not_converged(
            "Ridge",
            np.full(Y.shape[1], alpha * total),
            res.target_gaps[0],
            res.target_gap_tol,
            np.maximum(res.target_n_iter[0], 1),
            res.target_converged[0],
            self.tol,
            max_iter,
        )
        return res

    @_docs.shared
    def fit(self, X, y, sample_weight=None):
        """Fit the ridge model.

        Parameters
        ----------
        [ridge_fit]

        Returns
        -------
        self
        """
        fit_intercept, positive, tol, max_iter = self._params()
        X, y = self._validate(X, y)
        n = X.shape[0]
        Y = y[:, None] if y.ndim == 1 else y
        T = Y.shape[1]
        sw, total = B.sample_weight(sample_weight, n, scalar_is_none=False)
        path_alpha = _ridge_alpha(self.alpha, T) / total
        coef, intercept = np.zeros((T, X.shape[1])), np.zeros(T)
        n_iter = np.ones(T, dtype=np.int64)
        kw = dict(fit_intercept=fit_intercept, sample_weight=sw)
        for a in np.unique(path_alpha):
            targets = np.flatnonzero(path_alpha == a)
            if positive:
                res = self._positive(X, Y[:, targets], a, total, tol, max_iter, kw)
                n_iter[targets] = np.maximum(res.target_n_iter[0], 1)
            else:
                res = ridge_path(X, Y[:, targets], alphas=[a], **kw)
            coef[targets] = np.asarray(res.coefs[0]).reshape(len(targets), -1)
            intercept[targets] = np.asarray(res.intercepts[0]).reshape(-1)
        self._set_coef(coef, intercept, y, X.dtype)
        self.n_iter_ = n_iter
        self.solver_ = _reported_solver(self.solver, positive, X, fit_intercept)
        return self


class _Identity(RegressorMixin, BaseEstimator):
    """Predicts its input: lets a scorer score precomputed predictions."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return X


def _residuals(fac, Ys, lev0, rank0, alphas, n):
    """:func:`jaxreg.solvers.closed_form.loo_errors` (no cancellation at small
    alpha) of the rows of ``fac.U`` (a block of them: n the total), in
    scikit-learn's alphas and layout: (b, T, k)."""
    a = jnp.asarray(np.asarray(alphas, np.float64) / n)  # e is σ²/n
    inv = closed_form.shrinkage(fac, a)
    err = closed_form.loo_errors(
        fac, jnp.asarray(Ys), jnp.asarray(lev0), rank0, a, inv, n
    )
    return np.moveaxis(np.asarray(err), 0, -1)


def _loo_errors(X, Y, sw, alphas, fit_intercept):
    """scikit-learn's leave-one-out errors of ridge (in its sqrt(weight)-scaled
    space), per sample, target and alpha: (n, T, k). NumPy float64.

    With ``Xs = √s·(X - x̄)``, ``ys = √s·(y - ȳ)`` and the hat matrix
    ``H = Xs (XsᵀXs + a I)⁻¹ Xsᵀ + √s√sᵀ/Σs`` (the intercept's part), the error is
    ``(ys - H ys)_i / (1 - H_ii)`` (Rifkin & Lippert 2007), from the SVD of
    ``Xs`` (:func:`jaxreg.solvers.closed_form.factorize`).
    """
    n, p = X.shape
    s = np.ones(n) if sw is None else sw
    root = np.sqrt(s)
    if fit_intercept:
        X = X - s @ X / s.sum()
        Y = Y - s @ Y / s.sum()
    Xs, Ys = X * root[:, None], Y * root[:, None]
    lev0 = s / s.sum() if fit_intercept else np.zeros(n)
    with compute_context(np.float64):
        fac = closed_form.factorize(
            jnp.asarray(Xs), jnp.asarray(Ys), jnp.ones(p), "svd", need_u=True
        )
        return _residuals(fac, Ys, lev0, int(fit_intercept), alphas, n), root


def _sparse_loo_errors(X, Y, sw, alphas, fit_intercept, block=4096):
    """:func:`_loo_errors` of sparse X, never densified: the p × p Gram of the
    centred, weighted X from sparse products, factored by
    :func:`jaxreg.solvers.closed_form.factor_gram`; then, a block of rows at a
    time, ``Xs·V/√(n·e)`` gives those rows of the left factor.
    O(p² + block·p) memory."""
    X = X.tocsr()
    n, p = X.shape
    s = np.ones(n) if sw is None else np.asarray(sw, np.float64)
    root = np.sqrt(s)
    m = s @ X / s.sum() if fit_intercept else np.zeros(p)
    Yc = Y - s @ Y / s.sum() if fit_intercept else Y
    Ys = Yc * root[:, None]
    Xw = X.multiply(s[:, None]).tocsr()
    G = np.asarray((X.T @ Xw).toarray()) - s.sum() * np.outer(m, m)
    c = np.asarray(X.T @ (root[:, None] * Ys)) - np.outer(m, root @ Ys)
    lev0 = s / s.sum() if fit_intercept else np.zeros(n)
    out = np.empty((n, Y.shape[1], len(alphas)))
    with compute_context(np.float64):
        fac = closed_form.factor_gram(
            jnp.asarray((G + G.T) / (2 * n)), jnp.asarray(c / n), jnp.ones(p), terms=n
        )
        V = np.asarray(fac.V)
        scale = np.where(fac.keep, 1.0 / np.sqrt(n * np.where(fac.keep, fac.e, 1.0)), 0)
        for i in range(0, n, block):
            rows = slice(i, i + block)
            Z = root[rows, None] * (np.asarray(X[rows] @ V) - m @ V)
            U = jnp.asarray(Z * scale)
            out[rows] = _residuals(fac._replace(U=U), Ys[rows], lev0[rows],
                                   int(fit_intercept), alphas, n)  # fmt: skip
    return out, root


def _sparse_loo(X, scoring, store):
    """How RidgeCV(cv=None) scores sparse X: ``"kernel"`` (wide X, the default
    score: :func:`jaxreg.ridge.ridge_loo` from the n × n kernel) or ``"gram"``
    (:func:`_sparse_loo_errors`, up to 20000 features)."""
    n, p = X.shape
    if engine.choose_mode("auto", n, p) == "design" and scoring is None and not store:
        return "kernel"
    if p > sufficient.MAX_FEATURES:
        raise ValueError(
            f"RidgeCV(cv=None) of sparse X with {p} features and a scoring or "
            "store_cv_results needs a p x p Gram matrix, beyond "
            f"{sufficient.MAX_FEATURES} features: pass cv=5 (K-fold), or no scoring."
        )
    return "gram"


class RidgeCV(MultiOutputMixin, B.LinearRegressor):
    """Ridge with the alpha chosen by (leave-one-out) cross-validation.

    ``cv=None`` (the default) uses the exact leave-one-out error from one
    decomposition (:func:`jaxreg.ridge.ridge_loo`); an int or splitter uses
    K-fold cross-validation with every fold in one batch (closed form per fold),
    scored like scikit-learn's (mean R² over folds unless ``scoring`` is given).
    ``alphas`` are in scikit-learn's ``Ridge`` units. Sparse X is never densified:
    the leave-one-out comes from the n × n kernel (wide X) or the p × p Gram with
    the rows' leverages a block at a time, K-fold from sparse products.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
    fit_intercept : bool, default=True
    scoring : str or callable, default=None
        None: minus the mean squared leave-one-out error (cv=None), or R² (cv
        given).
    cv : int, cross-validation generator or iterable, default=None
    gcv_mode : {None, "auto", "svd", "eigen"}, default=None
        The decomposition for cv=None ("svd" is the most accurate).
    store_cv_results : bool, default=False
        Keep the leave-one-out squared errors (or predictions with ``scoring``)
        of every sample and alpha as ``cv_results_`` (cv=None only).
    alpha_per_target : bool, default=False
        Choose one alpha per target (cv=None only).

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
    best_score_ : float or ndarray of shape (n_targets,)
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
        0.0 when ``fit_intercept=False``.
    cv_results_ : ndarray of shape (n_samples, n_alphas) or (n_samples, n_targets, \
n_alphas)
    n_features_in_, feature_names_in_
    """

    # sparse X: leave-one-out from the kernel when wide (p > 2n), else from the
    # Gram with the rows' leverages a block at a time; K-fold from sparse products
    _accept_sparse = ("csr", "csc", "coo")

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept=True, scoring=None,
                 cv=None, gcv_mode=None, store_cv_results=False,
                 alpha_per_target=False):  # fmt: skip
        B.store(self, locals())

    def _check_alphas(self, strict):
        arr = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64)).ravel()
        if arr.size == 0:
            raise ValueError(f"alphas must not be empty, got {self.alphas!r}.")
        for i, a in enumerate(arr):
            if not (np.isfinite(a) and (a > 0 if strict else a >= 0)):
                rule = "> 0 with cv=None (leave-one-out)" if strict else ">= 0"
                raise ValueError(f"alphas[{i}] must be {rule}, got {float(a)!r}.")
        return arr

    @_docs.shared
    def fit(self, X, y, sample_weight=None):
        """Fit ridge for every alpha and keep the best by cross-validation.

        Parameters
        ----------
        [ridge_fit]
            They also weight the held-out scores.

        Returns
        -------
        self
        """
        fit_intercept = V.check_flag("fit_intercept", self.fit_intercept)
        store = V.check_flag("store_cv_results", self.store_cv_results)
        per_target = V.check_flag("alpha_per_target", self.alpha_per_target)
        if self.gcv_mode is not None:
            V.check_choice("gcv_mode", self.gcv_mode, ("auto", "svd", "eigen"))
        alphas = self._check_alphas(strict=self.cv is None)
        if self.cv is not None and store:
            raise ValueError("cv!=None and store_cv_results=True are incompatible")
        if self.cv is not None and per_target:
            raise ValueError("cv!=None and alpha_per_target=True are incompatible")
        X, y = self._validate(X, y)
        n = X.shape[0]
        sw, total = B.sample_weight(sample_weight, n, scalar_is_none=False)
        Xf = X.astype(np.float64) if sparse.is_sparse(X) else np.asarray(X, np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        route = None
        if self.cv is None and sparse.is_sparse(X):
            route = _sparse_loo(X, self.scoring, store)
        if self.cv is None:
            best_alpha, best_score = self._fit_loo(
                Xf, y, Y, sw, alphas, total, fit_intercept, store, per_target, route
            )
        elif self.scoring is None:
            best_alpha, best_score = self._fit_kfold(
                Xf, y, Y, sw, alphas, fit_intercept
            )
        else:
            search = GridSearchCV(
                Ridge(fit_intercept=fit_intercept),
                {"alpha": list(alphas)},
                cv=self.cv,
                scoring=self.scoring,
            )
            search.fit(Xf, y, sample_weight=sw)
            best_alpha = float(search.best_params_["alpha"])
            best_score = float(search.best_score_)
        model = Ridge(alpha=best_alpha, fit_intercept=fit_intercept)
        model.fit(Xf, y, sample_weight=sw)
        self._set_coef(
            np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_), y, X.dtype
        )
        self.alpha_ = best_alpha
        self.best_score_ = best_score
        return self

    def _fit_loo(self, X, y, Y, sw, alphas, total, fit_intercept, store,
                 per_target, route):  # fmt: skip
        path_alphas = alphas / total
        T = Y.shape[1]
        per_target = per_target and T > 1
        if self.scoring is None and not store and route != "gram":
            n, p = X.shape
            method = "svd" if self.gcv_mode == "svd" else ("eigh" if n >= p else "dual")
            method = "dual" if sparse.is_sparse(X) else method
            loo = ridge_loo(
                X,
                Y,
                alphas=path_alphas,
                fit_intercept=fit_intercept,
                sample_weight=sw,
                method=method,
                multioutput="raw_values" if per_target else "uniform_average",
            )
            # ridge_loo averages with weights summing to n; sklearn's raw weights.
            scores = -np.asarray(loo) * (total / X.shape[0])  # (k,) or (k, T)
        else:
            errors = _sparse_loo_errors if sparse.is_sparse(X) else _loo_errors
            err, root = errors(X, Y, sw, alphas, fit_intercept)  # (n, T, k)
            if self.scoring is None:
                sq = err**2
                scores = sq.mean(axis=0).T if per_target else sq.mean(axis=(0, 1))
                scores = -scores
                values = sq
            else:
                ys = (
                    (Y - (sw if sw is not None else np.ones(len(Y))) @ Y / total)
                    if fit_intercept
                    else Y
                )
                offset = Y - ys
                pred = (ys[..., None] * root[:, None, None] - err) / root[:, None, None]
                pred = pred + offset[..., None]
                values = pred
                scorer = check_scoring(self, scoring=self.scoring)
                params = {} if sw is None else {"sample_weight": sw}
                ident = _Identity()
                if per_target:
                    scores = np.array(
                        [
                            [
                                scorer(ident, pred[:, t, j], Y[:, t], **params)
                                for t in range(T)
                            ]
                            for j in range(len(alphas))
                        ]
                    )
                else:
                    yy = y if y.ndim == 1 else Y
                    scores = np.array(
                        [
                            scorer(
                                ident,
                                pred[:, 0, j] if y.ndim == 1 else pred[:, :, j],
                                yy,
                                **params,
                            )
                            for j in range(len(alphas))
                        ]
                    )
            if store:
                self.cv_results_ = values[:, 0, :] if y.ndim == 1 else values
        scores = np.where(np.isnan(scores), -np.inf, scores)
        best = np.argmax(scores, axis=0)  # first maximum, as sklearn's strict '>'
        if per_target:
            return alphas[best], scores[best, np.arange(T)]
        return float(alphas[best]), float(scores[best])

    def _fit_kfold(self, X, y, Y, sw, alphas, fit_intercept):
        # Each training fold solves scikit-learn's Ridge(alpha): the path alpha
        # alpha / Σ_train weights, which differs between folds ("sum" units).
        kw = dict(X=X, y=Y, cv=check_cv(self.cv), alphas=alphas, sample_weight=sw)
        kw.update(fit_intercept=fit_intercept)
        _, solved = B.quietly(cv_solve, kw, [0.0], alpha_units="sum", y_ndim=(2,))
        # R² (K, T, k): uniform average over targets (r2_score), mean over folds
        # (GridSearchCV). The grid is sorted decreasing; report in the user's order.
        mean_r2 = solved[0][6].mean(axis=(0, 1))
        order = np.argsort(-alphas, kind="stable")
        r2 = np.empty(len(alphas))
        r2[order] = mean_r2
        best = int(np.argmax(np.where(np.isnan(r2), -np.inf, r2)))
        return float(alphas[best]), float(r2[best])


def _reported_solver(solver, positive, X, fit_intercept):
    """scikit-learn's ``Ridge.solver_`` for these parameters and data."""
    sparse_x = scipy.sparse.issparse(X)
    if positive:
        return "lbfgs"
    if solver == "auto":
        return "sparse_cg" if sparse_x else "cholesky"
    if solver == "sag" and sparse_x and fit_intercept:
        return "sparse_cg"
    return solver
