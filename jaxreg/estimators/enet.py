"""scikit-learn's ``Lasso``, ``ElasticNet``, ``LassoCV`` and ``ElasticNetCV`` backed
by jaxreg's paths (:func:`jaxreg.path.multi_target_path`, :func:`jaxreg.cv_paths`).

The objective is scikit-learn's: ``1/(2n)·Σ s_i (y_i - x_i·w - b)² +
alpha·l1_ratio·||w||₁ + alpha·(1 - l1_ratio)/2·||w||²``, sample weights rescaled to
sum to n; this is jaxreg's path objective, so ``alpha`` is passed through.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse
from sklearn.base import MultiOutputMixin
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted

from jaxreg import _validation as V
from jaxreg.cv import cv_paths
from jaxreg.estimators import _base as B
from jaxreg.path import multi_target_path

__all__ = ["ElasticNet", "ElasticNetCV", "Lasso", "LassoCV"]


class ElasticNet(MultiOutputMixin, B.LinearRegressor):
    """Linear regression with combined L1 and L2 priors (scikit-learn's ElasticNet).

    Minimises::

        1/(2n)·||y - Xw - b||² + alpha·l1_ratio·||w||₁
                               + alpha·(1 - l1_ratio)/2·||w||²

    (with sample weights rescaled to sum to n) by batched FISTA; a 2-D ``y`` fits
    its targets independently, in one batch.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (0 is least squares, solved in closed form).
    l1_ratio : float in [0, 1], default=0.5
        Mixing parameter; 1 is the lasso, 0 ridge (closed form).
    fit_intercept : bool, default=True
    precompute : bool, 'auto' or array of shape (n_features, n_features), default=False
        ``True`` or a matrix forces Gram mode (recomputed from X); otherwise jaxreg
        chooses (Gram when n_features <= 2·n_samples).
    max_iter : int, default=1000
        Up to ``10·max_iter`` FISTA steps per target.
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    tol : float, default=1e-4
        Converged when the duality gap <= ``tol·||y - ȳ||²/n`` (scikit-learn's rule).
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` (when its shape matches): fewer
        iterations near the last solution, the same solution.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    random_state, selection
        Accepted for compatibility (FISTA is deterministic).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    sparse_coef_ : scipy sparse matrix of ``coef_``
    intercept_ : float or ndarray of shape (n_targets,)
        0.0 when ``fit_intercept=False``.
    n_iter_ : int or list of int
        FISTA steps used (per target), at least 1.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap at the end, in objective units (as scikit-learn's).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X has string feature names.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> model = jaxreg.ElasticNet(alpha=0.1).fit(X, X @ [1.0, 0.0, -1.0, 0.0])
    >>> model.coef_.shape
    (4,)
    """

    _estimator_name = "ElasticNet"

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False,
                 max_iter=1000, copy_X=True, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic"):  # fmt: skip
        B.store(self, locals())

    def _l1(self):
        return B.l1_ratio(self.l1_ratio)

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), optional
            Rescaled to sum to n_samples (a scalar means no weights).
        check_input : bool, default=True
            Accepted for compatibility; input is always checked.

        Returns
        -------
        self
        """
        alpha = V.check_real("alpha", self.alpha)
        l1_ratio = self._l1()
        X, y, kw = B.cd_fit(self, X, y, sample_weight)
        kw["coef_init"] = B.warm_start(self, X, y)
        res = B.quietly(
            multi_target_path, X, y, l1_ratio=l1_ratio, alphas=[alpha], **kw
        )
        self._set_coef(res.coefs[0], res.intercepts[0], y, X.dtype)
        gaps = res.target_gaps[0]
        n_iter = np.maximum(res.target_n_iter[0], 1)
        if y.ndim == 1 or y.shape[1] == 1:
            self.n_iter_ = int(n_iter[0])
            self.dual_gap_ = float(gaps[0])
        else:
            self.n_iter_ = [int(i) for i in n_iter]
            self.dual_gap_ = np.asarray(gaps, dtype=X.dtype)
        B.warn_not_converged(
            self._estimator_name,
            np.full(len(gaps), alpha),
            gaps,
            res.target_gap_tol,
            n_iter,
            res.target_converged[0],
            self.tol,
            self.max_iter,
        )
        return self

    @property
    def sparse_coef_(self):
        """Sparse representation of ``coef_``."""
        check_is_fitted(self)
        return scipy.sparse.csr_matrix(np.atleast_2d(self.coef_))


class Lasso(ElasticNet):
    """Linear model with an L1 penalty (scikit-learn's Lasso).

    Minimises ``1/(2n)·||y - Xw - b||² + alpha·||w||₁`` (sample weights rescaled to
    sum to n) by batched FISTA; a 2-D ``y`` fits its targets independently. Same
    parameters and attributes as :class:`ElasticNet` without ``l1_ratio``.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.estimators import Lasso
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> model = Lasso(alpha=0.1).fit(X, X @ [1.0, 0.0, -1.0, 0.0])
    >>> np.flatnonzero(model.coef_), model.coef_[0].round(2)
    (array([0, 2]), np.float64(0.87))
    """

    _estimator_name = "Lasso"

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic"):  # fmt: skip
        # No l1_ratio: get_params reads the signature, and fit uses _l1().
        B.store(self, locals())

    def _l1(self):
        return 1.0


# --------------------------------------------------------------------------- #
# LassoCV and ElasticNetCV
# --------------------------------------------------------------------------- #
class ElasticNetCV(B.LinearRegressor):
    """Elastic net with the alpha (and l1_ratio) chosen by cross-validation.

    Every fold, every alpha and the fit on all the data are solved in one batch
    (:func:`jaxreg.cv.cv_paths`); the selected model is read off the all-data path,
    so there is no separate refit. The objective is :class:`ElasticNet`'s.

    Parameters
    ----------
    l1_ratio : float or list of float in [0, 1], default=0.5
        A list is searched too (``l1_ratio_`` is the best). 0 needs explicit
        ``alphas`` (as in scikit-learn).
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the generated grid.
    alphas : int or array-like, default=100
        Grid size (computed on all the data, per l1_ratio) or the alphas.
    fit_intercept, precompute, max_iter, tol, copy_X, positive, random_state,
    selection
        As in :class:`ElasticNet`.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None: 5-fold ``KFold`` without shuffling).
    verbose, n_jobs
        Accepted for compatibility.
    selection_rule : {"min", "1se"}, default="min"
        ``"min"``: the alpha of the smallest mean held-out MSE (scikit-learn);
        ``"1se"``: glmnet's one-standard-error rule, the largest alpha whose mean
        MSE is within one standard error of the minimum (for a list of l1_ratios,
        the l1_ratio is the one of the minimum).

    Attributes
    ----------
    alpha_ : float
    l1_ratio_ : float
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out MSE (weighted by ``sample_weight`` when given).
    mse_se_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        Standard error of the mean MSE over folds.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
    dual_gap_ : float
    n_iter_ : int
    n_features_in_, feature_names_in_
    """

    _multi_output = False
    _estimator_name = "ElasticNetCV"

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True,
                 precompute="auto", max_iter=1000, tol=1e-4, cv=None, copy_X=True,
                 verbose=0, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", selection_rule="min"):  # fmt: skip
        B.store(self, locals())

    def _l1_ratios(self):
        value = self.l1_ratio
        if np.ndim(value) == 0:
            return [B.l1_ratio(value)], False
        ratios = list(np.asarray(value, dtype=object).ravel())
        if not ratios:
            raise ValueError(f"l1_ratio must not be empty, got {value!r}.")
        return [B.l1_ratio(r, f"l1_ratio[{i}]") for i, r in enumerate(ratios)], True

    def fit(self, X, y, sample_weight=None):
        """Fit the model with cross-validation over the alphas (and l1_ratios).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : float or array-like of shape (n_samples,), optional
            Used for fitting and for the weighted MSE of each held-out fold (the
            folds then count equally); a scalar means no weights.

        Returns
        -------
        self
        """
        ratios, _ = self._l1_ratios()
        V.check_real("eps", self.eps, low_open=True)
        V.check_choice("selection_rule", self.selection_rule, ("min", "1se"))
        alphas = self._alphas(ratios)
        X, y, kw = B.cd_fit(self, X, y, sample_weight)
        kw.update(l1_ratio=ratios, cv=check_cv(self.cv), alphas=alphas, eps=self.eps)
        results = B.quietly(cv_paths, X, y, **kw)
        self._store(results, ratios, X.dtype, X.shape[1])
        return self

    def _alphas(self, ratios):
        """The validated ``alphas``: an int (the grid size) or a float64 array."""
        alphas = self.alphas
        if isinstance(alphas, (bool, np.bool_)):
            raise TypeError(f"alphas must be an int or an array, got {alphas!r}.")
        if isinstance(alphas, numbers.Integral):
            V.check_int("alphas", alphas)
            if 0.0 in ratios:
                raise ValueError(
                    "An automatic alpha grid is not available for l1_ratio=0; give "
                    "the alphas explicitly (alphas=[...])."
                )
        else:
            arr = np.asarray(alphas, dtype=np.float64).ravel()
            if arr.size == 0 or not (np.isfinite(arr).all() and (arr >= 0).all()):
                raise ValueError(
                    f"alphas must be non-negative finite values, got {alphas!r}."
                )
            alphas = arr
        return alphas

    def _store(self, results, ratios, dtype, p):
        # Best l1_ratio as scikit-learn: strictly smaller minimum, in list order.
        best = 0
        for i, r in enumerate(results):
            if (
                r.mse_mean[r.index_min]
                < results[best].mse_mean[results[best].index_min]
            ):
                best = i
        res = results[best]
        rule = getattr(self, "selection_rule", "min")  # not in every subclass
        index = res.index_min if rule == "min" else res.index_1se
        self.alpha_ = float(res.alphas[index])
        self.l1_ratio_ = float(ratios[best])
        mse = np.stack([r.mse_path for r in results])  # (L, k, K)
        self.mse_path_ = np.squeeze(mse).astype(dtype)
        self.mse_se_ = np.squeeze(np.stack([r.mse_se for r in results])).astype(dtype)
        alphas = np.stack([r.alphas for r in results])
        self.alphas_ = (
            alphas[0]
            if len(results) == 1 or not isinstance(self.alphas, numbers.Integral)
            else alphas
        ).astype(dtype)
        path = res.path
        self._set_selected(path, index, p, dtype)
        self.dual_gap_ = float(path.gaps[index])
        self.n_iter_ = max(int(path.n_iter[index]), 1)
        B.warn_not_converged(
            self._estimator_name,
            path.alphas[index : index + 1],
            path.gaps[index : index + 1],
            np.array([path.gap_tol]),
            np.array([path.n_iter[index]]),
            path.converged[index : index + 1],
            self.tol,
            self.max_iter,
        )

    def _set_selected(self, path, index, p, dtype):
        """coef_ and intercept_ of the selected alpha of the all-data path."""
        coef = path.coefs[index][None, :p]
        self._set_coef(coef, path.intercepts[index][None], np.empty(1), dtype)


class LassoOnly:
    """The lasso's CV: l1_ratio fixed at 1, and no ``l1_ratio_`` attribute."""

    def _l1_ratios(self):
        return [1.0], False

    def _store(self, results, ratios, dtype, p):
        super()._store(results, ratios, dtype, p)
        del self.l1_ratio_


class LassoCV(LassoOnly, ElasticNetCV):
    """Lasso with the alpha chosen by cross-validation (scikit-learn's LassoCV).

    All folds × all alphas, plus the fit on all the data, in one batched
    computation; see :class:`ElasticNetCV` for the attributes (without
    ``l1_ratio_``) and ``selection_rule``.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.estimators import LassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5))
    >>> y = X @ [1.0, 0.0, -1.0, 0.0, 0.0] + rng.normal(size=60)
    >>> model = LassoCV(cv=3).fit(X, y)
    >>> model.mse_path_.shape
    (100, 3)
    """

    _estimator_name = "LassoCV"

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto",
                 max_iter=1000, tol=1e-4, copy_X=True, cv=None, verbose=False,
                 n_jobs=None, positive=False, random_state=None, selection="cyclic",
                 selection_rule="min"):  # fmt: skip
        B.store(self, locals())
