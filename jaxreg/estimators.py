"""scikit-learn estimators backed by jaxreg: ``Lasso``, ``ElasticNet``, ``Ridge`` and
their cross-validated versions, as drop-in replacements.

Each class takes scikit-learn's constructor parameters with their meanings, sets the
same fitted attributes (NumPy arrays) and gives the same answers, up to the solver
tolerance. The objectives are scikit-learn's:

- ``Lasso``/``ElasticNet``: ``1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·l1_ratio·||w||₁
  + alpha·(1 - l1_ratio)/2·||w||²``, sample weights rescaled to sum to n; this is
  jaxreg's path objective, so ``alpha`` is passed through unchanged.
- ``Ridge``: ``Σ s_i (y_i - x_i·w - b)² + alpha·||w||²`` with the raw weights, which is
  the path objective at ``alpha / Σ s_i`` (``alpha / n`` without weights).

Every ``fit`` validates its input with scikit-learn's public helpers, calls jaxreg
(:func:`jaxreg.cv.multi_target_path`, :func:`jaxreg.cv.cv_paths`,
:func:`jaxreg.ridge.ridge_path`, :func:`jaxreg.ridge.ridge_loo`; ``RidgeCV`` with
``scoring`` or ``store_cv_results`` computes the per-sample leave-one-out errors in
NumPy, and with ``cv`` and ``scoring`` runs scikit-learn's ``GridSearchCV`` over
:class:`Ridge`), stores NumPy attributes, and raises scikit-learn's
``ConvergenceWarning`` (with the duality gap, the tolerance and a remedy) when an
alpha it reports did not converge.

Differences that do not change answers:

- The solver is FISTA, not coordinate descent. ``max_iter`` keeps scikit-learn's
  default; since a FISTA step does less than a coordinate-descent epoch, up to
  ``FISTA_STEPS_PER_ITER·max_iter`` FISTA steps are allowed, and ``n_iter_`` counts
  FISTA steps (at least 1: the initial duality-gap check).
- ``precompute``: jaxreg picks Gram or design mode itself; ``True`` (or a matrix)
  forces Gram mode, which is recomputed from X. ``selection``, ``random_state``,
  ``copy_X``, ``n_jobs`` and ``verbose`` are accepted and validated but have no
  effect (FISTA is deterministic and never modifies X). ``warm_start`` is accepted;
  each fit starts from zero, which changes the iterations, not the solution.
- The cross-validated estimators read the selected model off the path solved on all
  the data together with the folds: there is no separate refit.
- Computations run in float64; with float32 input the fitted arrays are float32.
- Small inputs are padded with zero-weight rows and all-zero columns to a few
  bucketed shapes, so that grid searches and cross-validation reuse compiled code.
- Sparse input is not supported (a ``TypeError`` says so).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from jaxreg import cv as _cv
from jaxreg import path as _path
from jaxreg import ridge as _ridge
from jaxreg.path import ConvergenceWarning as _PathConvergenceWarning

__all__ = ["ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "Ridge", "RidgeCV"]

# FISTA steps allowed per unit of max_iter (a coordinate-descent epoch in sklearn).
FISTA_STEPS_PER_ITER = 10
# sklearn allows tol=0 ("run max_iter"): the path solver needs a positive tol.
_TINY_TOL = 1e-300
_DTYPES = [np.float64, np.float32]


# --------------------------------------------------------------------------- #
# Parameter checks (sklearn validates in fit, never in __init__)
# --------------------------------------------------------------------------- #
def _real(name, value, *, low=0.0, low_open=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    ok = value > low if low_open else value >= low
    if not (ok and np.isfinite(value)):
        rule = f"> {low:g}" if low_open else f">= {low:g}"
        raise ValueError(f"{name} must be finite and {rule}, got {value!r}.")
    return float(value)


def _integer(name, value, *, low=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}.")
    return int(value)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


def _l1_ratio(value, name="l1_ratio"):
    value = _real(name, value)
    if value > 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return value


def _mode(precompute, n_features):
    """Solver mode from sklearn's ``precompute``."""
    if isinstance(precompute, (bool, np.bool_)):
        return "gram" if precompute else "auto"
    if isinstance(precompute, str):
        _choice("precompute", precompute, ("auto",))
        return "auto"
    gram = np.asarray(precompute)
    if gram.shape != (n_features, n_features):
        raise ValueError(
            f"precompute must be True, False, 'auto' or a Gram matrix of shape "
            f"({n_features}, {n_features}), got shape {gram.shape}."
        )
    return "gram"


def _common_cd_params(est):
    """Check the parameters shared by the coordinate-descent estimators."""
    _flag("fit_intercept", est.fit_intercept)
    _flag("copy_X", est.copy_X)
    _flag("positive", est.positive)
    _choice("selection", est.selection, ("cyclic", "random"))
    max_iter = _integer("max_iter", est.max_iter)
    tol = _real("tol", est.tol)
    return max_iter * FISTA_STEPS_PER_ITER, max(tol, _TINY_TOL)


def _sample_weight(sample_weight, n, *, scalar_is_none):
    """float64 weights, or None. sklearn's coordinate-descent estimators ignore a
    scalar weight; Ridge broadcasts it (which rescales alpha)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        if scalar_is_none:
            return None
        return np.full(n, float(sample_weight))
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(
            f"sample_weight must have shape ({n},), got shape {sw.shape}."
        )
    if not np.isfinite(sw).all():
        raise ValueError("sample_weight must be finite, got NaN or infinity.")
    if (sw < 0).any():
        j = int(np.argmax(sw < 0))
        raise ValueError(
            f"sample_weight must be non-negative, got sample_weight[{j}] = "
            f"{float(sw[j])!r}."
        )
    if not sw.sum() > 0:
        raise ValueError("sample_weight must not be all zero, got weights summing "
                         "to zero.")
    return sw


# Small problems are padded to bucketed shapes so that the many slightly different
# shapes of a grid search, of cross-validation folds or of a test suite reuse a few
# compiled programs (a compile takes seconds, a small fit milliseconds). Padding adds
# rows of weight zero and all-zero columns, which change nothing in the solution:
# weights are rescaled to sum to n either way, and a zero column keeps a zero
# coefficient and a zero share of every matrix product.
_PAD_MAX_ENTRIES = 1 << 16


def _pad(X, Y, sw):
    """float64 ``X`` (n, p), ``Y`` (n, T) and weights (n,) padded to bucketed
    shapes; returns them and the true ``(n, p)``."""
    n, p = X.shape
    if n * p > _PAD_MAX_ENTRIES:
        return (np.asarray(X, np.float64), Y, np.ones(n) if sw is None else sw)
    nb, pb = _cv.bucket(n, 32), _cv.bucket(p, 8)
    Xp = np.zeros((nb, pb))
    Xp[:n, :p] = X
    Yp = np.zeros((nb,) + Y.shape[1:])
    Yp[:n] = Y
    swp = np.zeros(nb)
    swp[:n] = 1.0 if sw is None else sw
    return Xp, Yp, swp


# --------------------------------------------------------------------------- #
# Shared behaviour
# --------------------------------------------------------------------------- #
class _LinearRegressor(RegressorMixin, BaseEstimator):
    """Validation, prediction and attribute handling shared by every estimator."""

    _multi_output = True

    def _validate(self, X, y):
        X, y = validate_data(self, X, y, dtype=_DTYPES, y_numeric=True,
                             multi_output=self._multi_output, ensure_min_samples=2)
        return X, np.asarray(y, dtype=np.float64)

    def predict(self, X):
        """Predict with the fitted linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_DTYPES)
        return X @ self.coef_.T + self.intercept_

    def _set_coef(self, coef, intercept, y, dtype):
        """coef (T, p), intercept (T,): stored with sklearn's shapes and X's dtype."""
        if y.ndim == 1 or y.shape[1] == 1:
            self.coef_ = np.asarray(coef[0], dtype=dtype)
            self.intercept_ = (np.asarray(intercept, dtype=dtype) if y.ndim == 2
                               else dtype.type(intercept[0]))
        else:
            self.coef_ = np.asarray(coef, dtype=dtype)
            self.intercept_ = np.asarray(intercept, dtype=dtype)
        if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all()):
            raise ValueError(
                "The fit gave non-finite coefficients; the input contains values too "
                "large for float64 arithmetic. Rescale X and y (e.g. StandardScaler)."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = self._multi_output
        tags.target_tags.single_output = True
        return tags


def _warn_if_not_converged(name, alphas, gaps, gap_tol, n_iter, converged, tol,
                           max_iter):
    """sklearn's ConvergenceWarning for the alphas the estimator reports."""
    bad = ~np.asarray(converged, bool)
    if not bad.any():
        return
    ratio = np.where(bad, gaps / np.maximum(gap_tol, np.finfo(float).tiny), -np.inf)
    i = int(np.argmax(ratio))
    warnings.warn(
        f"{name} did not converge for alpha={alphas[i]:.4g}: duality gap "
        f"{gaps[i]:.3e} > tol {tol:g}·||y - ȳ||²/n = {gap_tol[i]:.3e} after "
        f"{int(n_iter[i])} FISTA steps (max_iter={max_iter} allows "
        f"{FISTA_STEPS_PER_ITER * max_iter}). Increase max_iter, loosen tol, or "
        "scale the features (e.g. StandardScaler).",
        ConvergenceWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- #
# Lasso and ElasticNet
# --------------------------------------------------------------------------- #
class ElasticNet(MultiOutputMixin, _LinearRegressor):
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
        Accepted; every fit starts from zero (the solution is the same).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    random_state, selection
        Accepted for compatibility (FISTA is deterministic).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    sparse_coef_ : scipy sparse matrix of ``coef_``
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
        FISTA steps used (per target), at least 1.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap at the end, in objective units (as scikit-learn's).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X has string feature names.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.estimators import ElasticNet
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> model = ElasticNet(alpha=0.1).fit(X, X @ [1.0, 0.0, -1.0, 0.0])
    >>> model.coef_.shape
    (4,)
    """

    _estimator_name = "ElasticNet"

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True,
                 precompute=False, max_iter=1000, copy_X=True, tol=1e-4,
                 warm_start=False, positive=False, random_state=None,
                 selection="cyclic"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _l1(self):
        return _l1_ratio(self.l1_ratio)

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), optional
            Rescaled to sum to n_samples (a scalar means no weights).
        check_input : bool, default=True
            Accepted for compatibility; input is always checked.

        Returns
        -------
        self
        """
        alpha = _real("alpha", self.alpha)
        l1_ratio = self._l1()
        steps, tol = _common_cd_params(self)
        _flag("warm_start", self.warm_start)
        X, y = self._validate(X, y)
        n, p = X.shape
        mode = _path._choose_mode(_mode(self.precompute, p), n, p)
        sw = _sample_weight(sample_weight, n, scalar_is_none=True)
        Xp, Yp, swp = _pad(X, y[:, None] if y.ndim == 1 else y, sw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _PathConvergenceWarning)
            res = _cv.multi_target_path(
                Xp, Yp, l1_ratio=l1_ratio, alphas=[alpha],
                fit_intercept=self.fit_intercept, sample_weight=swp,
                positive=self.positive, tol=tol, max_iter=steps, mode=mode,
            )
        self._set_coef(res.coefs[0][:, :p], res.intercepts[0], y, X.dtype)
        gaps = res.target_gaps[0]
        n_iter = np.maximum(res.target_n_iter[0], 1)
        if y.ndim == 1 or y.shape[1] == 1:
            self.n_iter_ = int(n_iter[0])
            self.dual_gap_ = float(gaps[0])
        else:
            self.n_iter_ = [int(i) for i in n_iter]
            self.dual_gap_ = np.asarray(gaps, dtype=X.dtype)
        _warn_if_not_converged(
            self._estimator_name, np.full(len(gaps), alpha), gaps,
            res.target_gap_tol, n_iter, res.target_converged[0], self.tol,
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

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False,
                 copy_X=True, max_iter=1000, tol=1e-4, warm_start=False,
                 positive=False, random_state=None, selection="cyclic"):
        # No l1_ratio: get_params reads the signature, and fit uses _l1().
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _l1(self):
        return 1.0


# --------------------------------------------------------------------------- #
# LassoCV and ElasticNetCV
# --------------------------------------------------------------------------- #
class ElasticNetCV(_LinearRegressor):
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
                 selection="cyclic", selection_rule="min"):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.selection_rule = selection_rule

    def _l1_ratios(self):
        value = self.l1_ratio
        if np.ndim(value) == 0:
            return [_l1_ratio(value)], False
        ratios = list(np.asarray(value, dtype=object).ravel())
        if not ratios:
            raise ValueError(f"l1_ratio must not be empty, got {value!r}.")
        return [_l1_ratio(r, f"l1_ratio[{i}]") for i, r in enumerate(ratios)], True

    def fit(self, X, y, sample_weight=None):
        """Fit the model with cross-validation over the alphas (and l1_ratios).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : float or array-like of shape (n_samples,), optional
            Used for fitting and for the weighted MSE of each held-out fold (the
            folds then count equally); a scalar means no weights.

        Returns
        -------
        self
        """
        ratios, _ = self._l1_ratios()
        steps, tol = _common_cd_params(self)
        _real("eps", self.eps, low_open=True)
        _choice("selection_rule", self.selection_rule, ("min", "1se"))
        alphas = self.alphas
        if isinstance(alphas, (bool, np.bool_)):
            raise TypeError(f"alphas must be an int or an array, got {alphas!r}.")
        if isinstance(alphas, numbers.Integral):
            _integer("alphas", alphas)
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
        X, y = self._validate(X, y)
        n, p = X.shape
        mode = _path._choose_mode(_mode(self.precompute, p), n, p)
        sw = _sample_weight(sample_weight, n, scalar_is_none=True)
        # The folds come from the real rows; padded rows are in no fold.
        splits = list(check_cv(self.cv).split(X, y))
        Xp, Yp, swp = _pad(X, y[:, None], sw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _PathConvergenceWarning)
            results = _cv.cv_paths(
                Xp, Yp[:, 0], l1_ratio=ratios, cv=splits, alphas=alphas,
                eps=self.eps, fit_intercept=self.fit_intercept, sample_weight=swp,
                positive=self.positive, tol=tol, max_iter=steps, mode=mode,
            )
        self._store(results, ratios, X.dtype, p)
        return self

    def _store(self, results, ratios, dtype, p):
        # Best l1_ratio as scikit-learn: strictly smaller minimum, in list order.
        best = 0
        for i, r in enumerate(results):
            if r.mse_mean[r.index_min] < results[best].mse_mean[
                    results[best].index_min]:
                best = i
        res = results[best]
        index = res.index_min if self.selection_rule == "min" else res.index_1se
        self.alpha_ = float(res.alphas[index])
        self.l1_ratio_ = float(ratios[best])
        mse = np.stack([r.mse_path for r in results])  # (L, k, K)
        self.mse_path_ = np.squeeze(mse).astype(dtype)
        self.mse_se_ = np.squeeze(np.stack([r.mse_se for r in results])).astype(dtype)
        alphas = np.stack([r.alphas for r in results])
        self.alphas_ = (alphas[0] if len(results) == 1 or not isinstance(
            self.alphas, numbers.Integral) else alphas).astype(dtype)
        path = res.path
        self._set_coef(path.coefs[index][None, :p], path.intercepts[index][None],
                       np.empty(1), dtype)
        self.dual_gap_ = float(path.gaps[index])
        self.n_iter_ = max(int(path.n_iter[index]), 1)
        _warn_if_not_converged(
            self._estimator_name, path.alphas[index:index + 1],
            path.gaps[index:index + 1], np.array([path.gap_tol]),
            np.array([path.n_iter[index]]), path.converged[index:index + 1],
            self.tol, self.max_iter,
        )


class LassoCV(ElasticNetCV):
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

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True,
                 precompute="auto", max_iter=1000, tol=1e-4, copy_X=True, cv=None,
                 verbose=False, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", selection_rule="min"):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.selection_rule = selection_rule

    def _l1_ratios(self):
        return [1.0], False

    def _store(self, results, ratios, dtype, p):
        super()._store(results, ratios, dtype, p)
        del self.l1_ratio_


# --------------------------------------------------------------------------- #
# Ridge and RidgeCV
# --------------------------------------------------------------------------- #
_RIDGE_SOLVERS = ("auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga",
                  "lbfgs")


def _ridge_alpha(alpha, n_targets):
    """sklearn's Ridge alpha: a float or one per target."""
    if np.ndim(alpha) == 0:
        return np.full(n_targets, _real("alpha", alpha))
    arr = np.asarray(alpha, dtype=np.float64).ravel()
    if arr.size == 1:
        return np.full(n_targets, _real("alpha", float(arr[0])))
    if arr.size != n_targets:
        raise ValueError(
            f"alpha must be a float or have one value per target ({n_targets}), got "
            f"{arr.size} values."
        )
    for i, a in enumerate(arr):
        _real(f"alpha[{i}]", float(a))
    return arr


class Ridge(MultiOutputMixin, _LinearRegressor):
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
    n_iter_ : ndarray of shape (n_targets,)
        1 per target for the closed form (one direct solve; scikit-learn reports
        None), FISTA steps with ``positive=True``.
    solver_ : str
        The decomposition used (``"eigh"``, ``"dual"`` or ``"svd"``), or "fista".
    n_features_in_, feature_names_in_
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None,
                 tol=1e-4, solver="auto", positive=False, random_state=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Fit the ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), optional
            Raw weights (not rescaled: scaling them rescales alpha, as in
            scikit-learn).

        Returns
        -------
        self
        """
        fit_intercept = _flag("fit_intercept", self.fit_intercept)
        _flag("copy_X", self.copy_X)
        positive = _flag("positive", self.positive)
        tol = max(_real("tol", self.tol), _TINY_TOL)
        max_iter = 15000 if self.max_iter is None else _integer("max_iter",
                                                                self.max_iter)
        solver = _choice("solver", self.solver, _RIDGE_SOLVERS)
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
        X, y = self._validate(X, y)
        n = X.shape[0]
        Y = y[:, None] if y.ndim == 1 else y
        T = Y.shape[1]
        alpha = _ridge_alpha(self.alpha, T)
        sw = _sample_weight(sample_weight, n, scalar_is_none=False)
        total = float(n if sw is None else np.sum(sw))
        path_alpha = alpha / total
        p = X.shape[1]
        method = "eigh" if n >= p else "dual"
        Xp, Yp, swp = _pad(X, Y, sw)
        coef = np.zeros((T, p))
        intercept = np.zeros(T)
        n_iter = np.ones(T, dtype=np.int64)
        for a in np.unique(path_alpha):
            targets = np.flatnonzero(path_alpha == a)
            if positive:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", _PathConvergenceWarning)
                    res = _cv.multi_target_path(
                        Xp, Yp[:, targets], l1_ratio=0.0, alphas=[a],
                        fit_intercept=fit_intercept, sample_weight=swp, positive=True,
                        tol=tol, max_iter=max_iter * FISTA_STEPS_PER_ITER,
                        mode=_path._choose_mode("auto", n, p),
                    )
                n_iter[targets] = np.maximum(res.target_n_iter[0], 1)
                _warn_if_not_converged(
                    "Ridge", np.full(len(targets), a * total), res.target_gaps[0],
                    res.target_gap_tol, n_iter[targets], res.target_converged[0],
                    self.tol, max_iter,
                )
                self.solver_ = "fista"
            else:
                res = _ridge.ridge_path(Xp, Yp[:, targets], alphas=[a],
                                        fit_intercept=fit_intercept,
                                        sample_weight=swp, method=method)
                self.solver_ = res.mode
            coef[targets] = np.asarray(res.coefs[0]).reshape(len(targets), -1)[:, :p]
            intercept[targets] = np.asarray(res.intercepts[0]).reshape(-1)
        self._set_coef(coef, intercept, y, X.dtype)
        self.n_iter_ = n_iter
        return self


class _Identity(RegressorMixin, BaseEstimator):
    """Predicts its input: lets a scorer score precomputed predictions."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return X


def _loo_errors(X, Y, sw, alphas, fit_intercept):
    """scikit-learn's leave-one-out errors of ridge (in its sqrt(weight)-scaled
    space), per sample, target and alpha: (n, T, k). NumPy float64.

    With ``Xs = √s·(X - x̄)``, ``ys = √s·(y - ȳ)`` and the hat matrix
    ``H = Xs (XsᵀXs + a I)⁻¹ Xsᵀ + √s√sᵀ/Σs`` (the intercept's part), the error is
    ``(ys - H ys)_i / (1 - H_ii)`` (Rifkin & Lippert 2007).
    """
    n = X.shape[0]
    s = np.ones(n) if sw is None else sw
    root = np.sqrt(s)
    if fit_intercept:
        X = X - s @ X / s.sum()
        Y = Y - s @ Y / s.sum()
    Xs, Ys = X * root[:, None], Y * root[:, None]
    U, sv, _ = np.linalg.svd(Xs, full_matrices=False)
    UtY = U.T @ Ys
    out = np.empty((n, Y.shape[1], len(alphas)))
    for j, a in enumerate(alphas):
        shrink = sv**2 / (sv**2 + a)
        fitted = U @ (shrink[:, None] * UtY)
        h = (U * U) @ shrink + (s / s.sum() if fit_intercept else 0.0)
        out[:, :, j] = (Ys - fitted) / (1.0 - h)[:, None]
    return out, root


class RidgeCV(MultiOutputMixin, _LinearRegressor):
    """Ridge with the alpha chosen by (leave-one-out) cross-validation.

    ``cv=None`` (the default) uses the exact leave-one-out error from one
    decomposition (:func:`jaxreg.ridge.ridge_loo`); an int or splitter uses
    K-fold cross-validation with every fold in one batch (closed form per fold),
    scored like scikit-learn's (mean R² over folds unless ``scoring`` is given).
    ``alphas`` are in scikit-learn's ``Ridge`` units.

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
    cv_results_ : ndarray of shape (n_samples, n_alphas) or (n_samples, n_targets, \
n_alphas)
    n_features_in_, feature_names_in_
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept=True, scoring=None,
                 cv=None, gcv_mode=None, store_cv_results=False,
                 alpha_per_target=False):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target

    def _check_alphas(self, strict):
        arr = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64)).ravel()
        if arr.size == 0:
            raise ValueError(f"alphas must not be empty, got {self.alphas!r}.")
        for i, a in enumerate(arr):
            if not (np.isfinite(a) and (a > 0 if strict else a >= 0)):
                rule = "> 0 with cv=None (leave-one-out)" if strict else ">= 0"
                raise ValueError(f"alphas[{i}] must be {rule}, got {float(a)!r}.")
        return arr

    def fit(self, X, y, sample_weight=None):
        """Fit ridge for every alpha and keep the best by cross-validation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), optional
            Raw weights (they rescale alpha, as in scikit-learn); they also weight
            the held-out scores.

        Returns
        -------
        self
        """
        fit_intercept = _flag("fit_intercept", self.fit_intercept)
        store = _flag("store_cv_results", self.store_cv_results)
        per_target = _flag("alpha_per_target", self.alpha_per_target)
        if self.gcv_mode is not None:
            _choice("gcv_mode", self.gcv_mode, ("auto", "svd", "eigen"))
        alphas = self._check_alphas(strict=self.cv is None)
        if self.cv is not None and store:
            raise ValueError("cv!=None and store_cv_results=True are incompatible")
        if self.cv is not None and per_target:
            raise ValueError("cv!=None and alpha_per_target=True are incompatible")
        X, y = self._validate(X, y)
        n = X.shape[0]
        sw = _sample_weight(sample_weight, n, scalar_is_none=False)
        total = float(n if sw is None else np.sum(sw))
        Xf = np.asarray(X, np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        if self.cv is None:
            best_alpha, best_score = self._fit_loo(Xf, y, Y, sw, alphas, total,
                                                   fit_intercept, store, per_target)
        elif self.scoring is None:
            best_alpha, best_score = self._fit_kfold(Xf, y, Y, sw, alphas,
                                                     fit_intercept)
        else:
            search = GridSearchCV(Ridge(fit_intercept=fit_intercept),
                                  {"alpha": list(alphas)}, cv=self.cv,
                                  scoring=self.scoring)
            search.fit(Xf, y, sample_weight=sw)
            best_alpha = float(search.best_params_["alpha"])
            best_score = float(search.best_score_)
        model = Ridge(alpha=best_alpha, fit_intercept=fit_intercept)
        model.fit(Xf, y, sample_weight=sw)
        self._set_coef(np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_),
                       y, X.dtype)
        self.alpha_ = best_alpha
        self.best_score_ = best_score
        return self

    def _fit_loo(self, X, y, Y, sw, alphas, total, fit_intercept, store, per_target):
        path_alphas = alphas / total
        T = Y.shape[1]
        per_target = per_target and T > 1
        if self.scoring is None and not store:
            n, p = X.shape
            method = "svd" if self.gcv_mode == "svd" else ("eigh" if n >= p else
                                                           "dual")
            Xp, Yp, swp = _pad(X, Y, sw)
            loo = _ridge.ridge_loo(
                Xp, Yp, alphas=path_alphas, fit_intercept=fit_intercept,
                sample_weight=swp, method=method,
                multioutput="raw_values" if per_target else "uniform_average",
            )
            # ridge_loo averages with weights summing to n; sklearn's raw weights.
            scores = -np.asarray(loo) * (total / X.shape[0])  # (k,) or (k, T)
        else:
            err, root = _loo_errors(X, Y, sw, alphas, fit_intercept)  # (n, T, k)
            if self.scoring is None:
                sq = err**2
                scores = sq.mean(axis=0).T if per_target else sq.mean(axis=(0, 1))
                scores = -scores
                values = sq
            else:
                ys = (Y - (sw if sw is not None else np.ones(len(Y))) @ Y
                      / total) if fit_intercept else Y
                offset = Y - ys
                pred = (ys[..., None] * root[:, None, None] - err) / root[:, None,
                                                                        None]
                pred = pred + offset[..., None]
                values = pred
                scorer = check_scoring(self, scoring=self.scoring)
                params = {} if sw is None else {"sample_weight": sw}
                ident = _Identity()
                if per_target:
                    scores = np.array([[scorer(ident, pred[:, t, j], Y[:, t],
                                               **params) for t in range(T)]
                                       for j in range(len(alphas))])
                else:
                    yy = y if y.ndim == 1 else Y
                    scores = np.array([
                        scorer(ident, pred[:, 0, j] if y.ndim == 1 else pred[:, :, j],
                               yy, **params) for j in range(len(alphas))])
            if store:
                self.cv_results_ = values[:, 0, :] if y.ndim == 1 else values
        scores = np.where(np.isnan(scores), -np.inf, scores)
        best = np.argmax(scores, axis=0)  # first maximum, as sklearn's strict '>'
        if per_target:
            return alphas[best], scores[best, np.arange(T)]
        return float(alphas[best]), float(scores[best])

    def _fit_kfold(self, X, y, Y, sw, alphas, fit_intercept):
        splits = list(check_cv(self.cv).split(X, y))
        Xp, Yp, swp = _pad(X, Y, sw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _PathConvergenceWarning)
            fit, grids, _, results, _, _ = _cv._cv_raw(
                Xp, Yp, [0.0], cv=splits, alphas=alphas, eps=1e-3,
                fit_intercept=fit_intercept, standardize=False, sample_weight=swp,
                penalty_factor=None, positive=False, lower_limits=None,
                upper_limits=None, tol=1e-4, max_iter=1000, dtype=None, groups=None,
                mode=_path._choose_mode("auto", *X.shape), strategy="auto",
                chunk=None, check_every=10,
                device=None, l1_batch=False, alpha_units="sum",
            )
        # R² (K, T, k): uniform average over targets (r2_score), mean over folds
        # (GridSearchCV). The grid is sorted decreasing; report in the user's order.
        mean_r2 = results[0]["r2"].mean(axis=(0, 1))
        order = np.argsort(-alphas, kind="stable")
        r2 = np.empty(len(alphas))
        r2[order] = mean_r2
        best = int(np.argmax(np.where(np.isnan(r2), -np.inf, r2)))
        return float(alphas[best]), float(r2[best])
