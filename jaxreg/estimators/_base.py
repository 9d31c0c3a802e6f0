"""What every jaxreg estimator shares: validation, prediction, fitted attributes.

The estimators are a thin shell: they validate with scikit-learn's public helpers
and :mod:`jaxreg._validation`, call jaxreg's public path, CV and ridge functions,
and store NumPy attributes with scikit-learn's names and shapes.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from jaxreg import _validation as V
from jaxreg import results
from jaxreg.results import ConvergenceWarning as PathConvergenceWarning

# FISTA steps allowed per unit of max_iter (a coordinate-descent epoch in sklearn).
FISTA_STEPS_PER_ITER = 10
# sklearn allows tol=0 ("run max_iter"): the path solver needs a positive tol.
TINY_TOL = 1e-300
DTYPES = [np.float64, np.float32]


def store(estimator, params):
    """Store each constructor parameter as the attribute of its name and nothing
    else (scikit-learn's rule: ``__init__`` stores, ``fit`` validates)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def l1_ratio(value, name="l1_ratio"):
    value = V.check_real(name, value)
    if value > 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return value


def mode(precompute, X, fit_intercept=True, sw=None):
    """Solver mode from sklearn's ``precompute``; a given Gram matrix is checked
    against X (it is recomputed either way)."""
    n_features = X.shape[1]
    if isinstance(precompute, (bool, np.bool_)):
        return "gram" if precompute else "auto"
    if isinstance(precompute, str):
        V.check_choice("precompute", precompute, ("auto",))
        return "auto"
    gram = np.asarray(precompute)
    if gram.shape != (n_features, n_features):
        raise ValueError(
            f"precompute must be True, False, 'auto' or a Gram matrix of shape "
            f"({n_features}, {n_features}), got shape {gram.shape}."
        )
    _check_gram(gram, X, fit_intercept, sw)
    return "gram"


def _check_gram(gram, X, fit_intercept, sw):
    """The Gram matrix must be XᵀX (or, with an intercept, that of the centred X;
    weighted by the sample weights when given), as scikit-learn checks: its
    diagonal and one off-diagonal entry, within rounding of the products."""
    if not (np.issubdtype(gram.dtype, np.number) and np.all(np.isfinite(gram))):
        raise ValueError("precompute (a Gram matrix) must be finite numbers.")
    if scipy.sparse.issparse(X):
        X = X.toarray() if X.shape[0] * X.shape[1] <= 1e7 else None
        if X is None:
            return  # too large to check cheaply
    X = np.asarray(X, np.float64)
    w = np.ones(X.shape[0]) if sw is None else np.asarray(sw, np.float64)
    p = X.shape[1]
    j, k = (0, min(1, p - 1))
    candidates = [X]
    if fit_intercept:
        candidates.append(X - np.average(X, axis=0, weights=w))
    weightings = [w] if sw is None else [w, w * (len(w) / w.sum())]
    for A, ww in ((A, ww) for A in candidates for ww in weightings):
        Aw = A * ww[:, None]
        diag = np.einsum("ij,ij->j", Aw, A)
        off = Aw[:, j] @ A[:, k]
        scale = np.sqrt(np.outer(diag, diag)).max(initial=0.0)
        atol = 1e-6 * max(scale, np.finfo(np.float64).tiny)
        if np.allclose(np.diag(gram), diag, rtol=1e-6, atol=atol) and abs(
            gram[j, k] - off
        ) <= atol + 1e-6 * abs(off):
            return
    raise ValueError(
        "precompute does not match X: a Gram matrix must be XᵀX (or, with "
        "fit_intercept=True, the Gram matrix of the centred X), weighted by the "
        "sample weights when given. Pass precompute=True to have it computed."
    )


def cd_params(est):
    """Check the parameters shared by the coordinate-descent estimators; returns
    the FISTA step budget and the tol."""
    V.check_flag("fit_intercept", est.fit_intercept)
    V.check_flag("copy_X", est.copy_X)
    V.check_flag("positive", getattr(est, "positive", False))
    V.check_choice("selection", est.selection, ("cyclic", "random"))
    max_iter = V.check_int("max_iter", est.max_iter)
    tol = V.check_real("tol", est.tol)
    return max_iter * FISTA_STEPS_PER_ITER, max(tol, TINY_TOL)


def cd_fit(est, X, y, sw):
    """Validated X and y, and the keywords of the jaxreg call shared by the
    coordinate-descent estimators' fits."""
    steps, tol = cd_params(est)
    X, y = est._validate(X, y)
    sw, _ = sample_weight(sw, X.shape[0], scalar_is_none=True)
    mode_ = mode(est.precompute, X, est.fit_intercept, sw)
    kw = dict(fit_intercept=est.fit_intercept, sample_weight=sw, mode=mode_)
    return X, y, dict(kw, positive=est.positive, tol=tol, max_iter=steps)


def warm_start(est, X, y):
    """The previous ``coef_`` as the start (scikit-learn's ``warm_start``), as
    (n_targets, n_features), or None: not asked for, not fitted, or another
    shape."""
    if not V.check_flag("warm_start", est.warm_start) or not hasattr(est, "coef_"):
        return None
    T = 1 if y.ndim == 1 else y.shape[1]
    coef = np.asarray(est.coef_, np.float64).reshape(-1, est.coef_.shape[-1])
    return coef if coef.shape == (T, X.shape[1]) else None


def sample_weight(sw, n, *, scalar_is_none):
    """Raw float64 weights and their sum (None and n without weights).
    scikit-learn's coordinate-descent estimators ignore a scalar weight; Ridge
    broadcasts it (which rescales alpha)."""
    if sw is None or (isinstance(sw, numbers.Number) and scalar_is_none):
        return None, float(n)
    if isinstance(sw, numbers.Number):
        sw = np.full(n, float(sw))
    V.check_sample_weight(sw, n)
    sw = np.asarray(sw, np.float64)
    return sw, float(sw.sum())


def quietly(func, *args, **kwargs):
    """Call a jaxreg function with its own ConvergenceWarning silenced: the
    estimator warns, in scikit-learn's category, about what it reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PathConvergenceWarning)
        return func(*args, **kwargs)


def warn_not_converged(name, alphas, gaps, gap_tol, n_iter, converged, tol, max_iter):
    """scikit-learn's ConvergenceWarning for the alphas the estimator reports."""
    results.warn_not_converged(
        alphas,
        gaps,
        gap_tol,
        n_iter,
        converged,
        tol=tol,
        max_iter=max_iter,
        subject=name,
        steps="FISTA steps",
        allows=f" allows {FISTA_STEPS_PER_ITER * max_iter}",
        remedy="Increase max_iter, loosen tol, or scale the features (e.g. "
        "StandardScaler).",
        category=ConvergenceWarning,
        stacklevel=3,
    )


class LinearRegressor(RegressorMixin, BaseEstimator):
    """Validation, prediction and attribute handling shared by every estimator."""

    _multi_output = True
    # scipy.sparse X is fitted from its Gram matrix (sparse products, never
    # densified); an estimator that needs the rows says False.
    _accept_sparse = ("csr", "csc", "coo")

    def _validate(self, X, y):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=self._accept_sparse,
            dtype=DTYPES,
            y_numeric=True,
            multi_output=self._multi_output,
            ensure_min_samples=2,
        )
        return X, np.asarray(y, dtype=np.float64)

    def predict(self, X):
        """Predict with the fitted linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=DTYPES, accept_sparse=self._accept_sparse
        )
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def _set_coef(self, coef, intercept, y, dtype):
        """coef (T, p), intercept (T,): stored with sklearn's shapes and X's dtype
        (``intercept_`` is 0.0 without ``fit_intercept``, as scikit-learn's)."""
        if y.ndim == 1 or y.shape[1] == 1:
            self.coef_ = np.asarray(coef[0], dtype=dtype)
            self.intercept_ = (
                np.asarray(intercept, dtype=dtype)
                if y.ndim == 2
                else dtype.type(intercept[0])
            )
        else:
            self.coef_ = np.asarray(coef, dtype=dtype)
            self.intercept_ = np.asarray(intercept, dtype=dtype)
        if not getattr(self, "fit_intercept", True):
            # scikit-learn's LinearModel: a plain 0.0 without an intercept,
            # whatever the number of targets
            self.intercept_ = 0.0
        if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all()):
            raise ValueError(
                "The fit gave non-finite coefficients: the solution is beyond the "
                "range of float64. Rescale X and y (e.g. StandardScaler)."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(self._accept_sparse)
        tags.target_tags.multi_output = self._multi_output
        tags.target_tags.single_output = True
        return tags
