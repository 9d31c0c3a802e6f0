"""scikit-learn's ``MultiTaskLasso``, ``MultiTaskElasticNet`` and their
cross-validated versions, backed by ``family="mgaussian"``
(:mod:`jaxreg.groups`).

The objective is scikit-learn's: ``1/(2n)·||Y - XW - 1bᵀ||²_F + alpha·l1_ratio·
Σ_j ||W_j||₂ + alpha·(1 - l1_ratio)/2·||W||²_F`` (sample weights rescaled to sum
to n), certified by the joint duality gap: converged when ``gap <= tol·||Y −
Ȳ||²_F/n``.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import check_cv

from jaxreg import _docs
from jaxreg import _validation as V
from jaxreg.cv import cv_paths
from jaxreg.estimators import _base as B
from jaxreg.estimators.enet import ElasticNet, ElasticNetCV, LassoOnly
from jaxreg.path import enet_path

__all__ = [
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
]


def _check_multi(est, y):
    if y.ndim == 1:
        raise ValueError(
            f"For mono-task outputs, use {est._estimator_name[len('MultiTask') :]}: "
            f"{est._estimator_name} takes y of shape (n_samples, n_targets)."
        )


def _fit_kw(est, X, y, sample_weight):
    steps, tol = B.cd_params(est)
    X, y = est._validate(X, y)
    _check_multi(est, y)
    sw, _ = B.sample_weight(sample_weight, X.shape[0], scalar_is_none=True)
    kw = dict(fit_intercept=est.fit_intercept, sample_weight=sw, tol=tol,
              max_iter=steps, family="mgaussian")  # fmt: skip
    return X, y, kw


class _MultiTask:
    """coef_ (n_targets, n_features) and intercept_ (n_targets,) even for one
    target, as scikit-learn's multi-task models."""

    def _set_coef(self, coef, intercept, y, dtype):
        super()._set_coef(coef, intercept, np.empty((1, 2)), dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = False
        return tags


class MultiTaskElasticNet(_MultiTask, ElasticNet):
    """Multi-task elastic net (scikit-learn's MultiTaskElasticNet): the targets
    share their support.

    Minimises::

        1/(2n)·||Y - XW - 1bᵀ||²_F + alpha·l1_ratio·Σ_j ||W_j||₂
                                   + alpha·(1 - l1_ratio)/2·||W||²_F

    (``W_j`` the coefficients of feature j for every target) by batched FISTA on
    the joint problem.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Accepted; X is never modified.
    max_iter : int, default=1000
        Up to ``10·max_iter`` FISTA steps.
    tol : float, default=1e-4
        Converged when the joint duality gap <= ``tol·||Y − Ȳ||²_F/n``.
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` (same solution, fewer iterations).
    random_state, selection
        Accepted for compatibility (FISTA is deterministic).

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features)
    intercept_ : ndarray of shape (n_targets,)
        0.0 when ``fit_intercept=False``.
    n_iter_ : int
    dual_gap_ : float
        The joint duality gap, in objective units (as scikit-learn's).
    eps_ : float
        ``tol·||Y − Ȳ||²_F`` (scikit-learn's, in units of n·objective).
    sparse_coef_, n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> Y = X @ np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 1.0], [0.0, 0.0]])
    >>> model = jaxreg.MultiTaskElasticNet(alpha=0.1).fit(X, Y)
    >>> model.coef_.shape, np.flatnonzero(model.coef_[0])
    ((2, 4), array([0, 2]))
    """

    _estimator_name = "MultiTaskElasticNet"
    _accept_sparse = ("csr", "csc", "coo")

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, random_state=None,
                 selection="cyclic"):  # fmt: skip
        B.store(self, locals())

    @_docs.shared
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        [multitask_fit]
        """
        alpha = V.check_real("alpha", self.alpha)
        l1_ratio = self._l1()
        X, y, kw = _fit_kw(self, X, y, sample_weight)
        kw["coef_init"] = B.warm_start(self, X, y)
        res = B.quietly(enet_path, X, y, l1_ratio=l1_ratio, alphas=[alpha], **kw)
        self._set_coef(res.coefs[0], res.intercepts[0], y, X.dtype)
        self.n_iter_ = max(int(res.n_iter[0]), 1)
        self.dual_gap_ = float(res.gaps[0])
        self.eps_ = float(res.gap_tol) * X.shape[0]
        B.warn_not_converged(
            self._estimator_name, res.alphas, res.gaps, np.array([res.gap_tol]),
            res.n_iter, res.converged, self.tol, self.max_iter,
        )  # fmt: skip
        return self


class MultiTaskLasso(MultiTaskElasticNet):
    """Multi-task lasso (scikit-learn's MultiTaskLasso): :class:`MultiTaskElasticNet`
    with ``l1_ratio=1``, ``alpha·Σ_j ||W_j||₂`` as the penalty.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> Y = X @ np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 1.0], [0.0, 0.0]])
    >>> jaxreg.MultiTaskLasso(alpha=0.1).fit(X, Y).coef_.shape
    (2, 4)
    """

    _estimator_name = "MultiTaskLasso"

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=1000,
                 tol=1e-4, warm_start=False, random_state=None,
                 selection="cyclic"):  # fmt: skip
        B.store(self, locals())

    def _l1(self):
        return 1.0


class MultiTaskElasticNetCV(_MultiTask, ElasticNetCV):
    """Multi-task elastic net with alpha (and l1_ratio) chosen by cross-validation
    (scikit-learn's MultiTaskElasticNetCV): every fold, every alpha and the fit on
    all the data in one batch; the held-out MSE is averaged over the targets, as
    scikit-learn's. Parameters and attributes as :class:`ElasticNetCV` (without
    ``precompute``, ``positive`` and ``selection_rule``), with ``coef_`` of shape
    (n_targets, n_features) and ``intercept_`` (n_targets,).

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5))
    >>> Y = X[:, :2] @ [[1.0, 2.0], [-1.0, 1.0]] + rng.normal(size=(60, 2))
    >>> model = jaxreg.MultiTaskElasticNetCV(cv=3).fit(X, Y)
    >>> model.coef_.shape, model.mse_path_.shape
    ((2, 5), (100, 3))
    """

    _estimator_name = "MultiTaskElasticNetCV"
    _multi_output = True

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True,
                 max_iter=1000, tol=1e-4, cv=None, copy_X=True, verbose=0,
                 n_jobs=None, random_state=None, selection="cyclic"):  # fmt: skip
        B.store(self, locals())

    @_docs.shared
    def fit(self, X, y, sample_weight=None):
        """Fit the model with cross-validation over the alphas (and l1_ratios).

        [multitask_fit]
        """
        ratios, _ = self._l1_ratios()
        V.check_real("eps", self.eps, low_open=True)
        alphas = self._alphas(ratios)
        X, y, kw = _fit_kw(self, X, y, sample_weight)
        kw.update(l1_ratio=ratios, cv=check_cv(self.cv), alphas=alphas, eps=self.eps)
        results = B.quietly(cv_paths, X, y, **kw)
        self._store(results, ratios, X.dtype, X.shape[1])
        return self

    def _set_selected(self, path, index, p, dtype):
        coef = path.coefs[index][:, :p]  # (n_targets, p)
        self._set_coef(coef, path.intercepts[index], None, dtype)


class MultiTaskLassoCV(LassoOnly, MultiTaskElasticNetCV):
    """Multi-task lasso with alpha chosen by cross-validation (scikit-learn's
    MultiTaskLassoCV); see :class:`MultiTaskElasticNetCV` (no ``l1_ratio_``).

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(60, 5))
    >>> noise = np.random.default_rng(1).normal(size=(60, 2))
    >>> Y = X[:, :2] @ [[1.0, 2.0], [-1.0, 1.0]] + noise
    >>> jaxreg.MultiTaskLassoCV(cv=3).fit(X, Y).coef_.shape
    (2, 5)
    """

    _estimator_name = "MultiTaskLassoCV"

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000,
                 tol=1e-4, copy_X=True, cv=None, verbose=False, n_jobs=None,
                 random_state=None, selection="cyclic"):  # fmt: skip
        B.store(self, locals())
