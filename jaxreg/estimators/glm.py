"""scikit-learn's ``LogisticRegression`` and ``PoissonRegressor`` backed by jaxreg's
GLM paths (:func:`jaxreg.enet_path` with ``family=``).

``LogisticRegression`` minimises scikit-learn's objective::

    C·Σ_i s_i·(-loglik_i) + l1_ratio·||W||₁ + (1 - l1_ratio)/2·||W||²

which is the path objective ``(1/n)·Σ s̃_i·(-loglik_i) + alpha·penalty`` (weights
``s̃`` rescaled to sum to n) at ``alpha = 1/(C·Σ s_i)``, with ``s`` the sample
weights times the class weights. Two classes are the binomial family (one row
of coefficients), more the multinomial (one row per class, intercepts centred
to sum to 0: the softmax does not see a common shift).

``PoissonRegressor`` minimises ``1/(2·Σ s_i)·Σ s_i·d(y_i, μ_i) + alpha/2·||w||²``
(d the Poisson unit deviance), the Poisson path objective at ``l1_ratio = 0``.

Differences that do not change answers: the solver is batched proximal Newton
(binomial and Poisson on narrow designs, :mod:`jaxreg.solvers.newton`) or FISTA
(``solver``, ``dual``, ``intercept_scaling``, ``random_state``, ``n_jobs`` and
``verbose`` are accepted and have no effect); ``tol`` is the certified rule
``duality gap <= tol·D_null/n`` (the null deviance); up to
``GLM_STEPS_PER_ITER·max_iter`` solver steps are allowed and ``n_iter_`` counts
them. Sparse X is refused.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from jaxreg import _validation as V
from jaxreg import results
from jaxreg.estimators import _base as B
from jaxreg.path import enet_path

__all__ = [
    "GLM_STEPS_PER_ITER",
    "LogisticRegression",
    "LogisticRegressionCV",
    "PoissonRegressor",
]

# Solver steps allowed per unit of max_iter (an L-BFGS iteration in scikit-learn
# does far more than one proximal-gradient step; a proximal Newton step, used on
# narrow designs, needs far fewer than this).
GLM_STEPS_PER_ITER = 100
_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


def _same_shape(coef, shape):
    """The previous fit's coefficients as a warm start, when their shape fits."""
    if scipy.sparse.issparse(coef):  # after sparsify()
        coef = coef.toarray()
    return np.asarray(coef, np.float64) if np.shape(coef) == shape else None


def _fit_path(est, X, y, family, alpha, l1_ratio, sw, start=None):
    """One alpha of the family's path (from ``start``, the warm start's
    coefficients, when given); the ConvergenceWarning in scikit-learn's
    category."""
    max_iter = V.check_int("max_iter", est.max_iter)
    tol = max(V.check_real("tol", est.tol), B.TINY_TOL)
    res = B.quietly(
        enet_path, X, y, family=family, l1_ratio=l1_ratio, alphas=[alpha],
        fit_intercept=est.fit_intercept, sample_weight=sw, tol=tol,
        max_iter=max_iter * GLM_STEPS_PER_ITER, dtype=np.float64, coef_init=start,
    )  # fmt: skip
    results.warn_not_converged(
        res.alphas,
        res.gaps,
        res.gap_tol,
        res.n_iter,
        res.converged,
        tol=tol,
        max_iter=max_iter,
        subject=type(est).__name__,
        steps="Newton steps" if res.strategy == "newton" else "FISTA steps",
        allows=f" allows {GLM_STEPS_PER_ITER * max_iter}",
        scale="D_null/n",
        remedy="Increase max_iter, loosen tol, or scale the features (e.g. "
        "StandardScaler).",
        category=ConvergenceWarning,
        stacklevel=3,
    )
    return res


_NO_Y = object()


def _validate_X(est, X, y=_NO_Y, reset=True):
    kw = dict(
        accept_sparse=("csr", "csc"),
        dtype=B.DTYPES,
        ensure_min_samples=2 if reset else 1,
    )
    if y is _NO_Y:
        return validate_data(est, X, reset=reset, **kw)
    return validate_data(est, X, y, **kw)


def _classes(est, X, y, sample_weight):
    """Validated X and y, the classes, each sample's class code and its weight
    (sample_weight times class_weight); at least two classes must have weight."""
    X, y = _validate_X(est, X, y)
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )
    n = X.shape[0]
    sw, _ = B.sample_weight(sample_weight, n, scalar_is_none=False)
    sw = np.ones(n) if sw is None else sw
    if est.class_weight is not None:
        cw = compute_class_weight(est.class_weight, classes=classes, y=y)
        sw = sw * cw[codes]
    present = np.bincount(codes, weights=sw, minlength=classes.size) > 0
    if present.sum() < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes with a positive "
            f"sample_weight, but only {int(present.sum())} class has one."
        )
    return X, y, classes, codes, sw


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with L1, L2 or elastic-net penalties (scikit-learn's
    ``LogisticRegression``, 1.9 parameters), certified by a duality gap.

    Parameters
    ----------
    penalty : deprecated
        As in scikit-learn 1.8+: ``'l1'``, ``'l2'``, ``'elasticnet'`` or None
        (FutureWarning); use ``l1_ratio`` and ``C``.
    C : float > 0, default=1.0
        Inverse penalty strength; ``np.inf`` is unpenalized.
    l1_ratio : float in [0, 1], default=0.0
        1 is the lasso penalty, 0 ridge.
    dual : bool, default=False
        Accepted for compatibility.
    tol : float, default=1e-4
        Converged when the duality gap <= ``tol·D_null/n``.
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        Accepted for compatibility (the intercept is never penalized).
    class_weight : dict, 'balanced' or None
        Multiplies the sample weights, as in scikit-learn.
    random_state, solver, verbose, n_jobs
        Accepted for compatibility (the solvers are deterministic).
    max_iter : int, default=100
        Up to ``GLM_STEPS_PER_ITER·max_iter`` solver steps (proximal Newton
        steps for binomial and Poisson fits of narrow designs, else FISTA steps).
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` (same classes), the intercepts
        refit to it: the same solution, fewer iterations near it.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    n_iter_ : ndarray (1,)
        Solver steps used (see max_iter), at least 1.
    dual_gap_ : float
        Duality gap at the end, in objective units (of the path objective).
    n_features_in_ : int
    feature_names_in_ : ndarray
        When X has string feature names.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(60, 3))
    >>> clf = jaxreg.LogisticRegression(C=1.0).fit(X, X[:, 0] > 0)
    >>> clf.coef_.shape, clf.predict(X[:2]).dtype
    ((1, 3), dtype('bool'))
    """

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False,
                 tol=1e-4, fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="lbfgs", max_iter=100, verbose=0,
                 warm_start=False, n_jobs=None):  # fmt: skip
        B.store(self, locals())

    def _penalty(self):
        """(C, l1_ratio) after scikit-learn's deprecated ``penalty``."""
        C = self.C
        unpenalized = isinstance(C, numbers.Real) and C == np.inf
        C = np.inf if unpenalized else V.check_real("C", C)
        if not C > 0:
            raise ValueError(f"C must be > 0 (np.inf: unpenalized), got {self.C!r}.")
        l1_ratio = self.l1_ratio
        if self.penalty != "deprecated":
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10"
                " (as in scikit-learn): use l1_ratio=0 for 'l2', 1 for 'l1', a "
                "value in between for 'elasticnet', and C=np.inf for None.",
                FutureWarning,
                stacklevel=3,
            )
            V.check_choice("penalty", self.penalty, ("l1", "l2", "elasticnet", None))
            if self.penalty is None:
                return np.inf, 0.0
            if self.penalty != "elasticnet":
                l1_ratio = 1.0 if self.penalty == "l1" else 0.0
        if l1_ratio is None:
            raise ValueError("l1_ratio must be a number in [0, 1], got None.")
        return C, B.l1_ratio(l1_ratio)

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        C, l1_ratio = self._penalty()
        V.check_flag("fit_intercept", self.fit_intercept)
        V.check_flag("warm_start", self.warm_start)
        V.check_choice("solver", self.solver, _SOLVERS)
        X, y, classes, codes, sw = _classes(self, X, y, sample_weight)
        alpha = 0.0 if np.isinf(C) else 1.0 / (C * sw.sum())
        binary = classes.size == 2
        family = "binomial" if binary else "multinomial"
        target = codes.astype(np.float64) if binary else codes
        start = None
        # the intercepts are refit to the start (a multinomial start with the
        # null's intercepts took more steps than the null itself: 220 against 130
        # on iris at tol 1e-8)
        if self.warm_start and np.array_equal(self.__dict__.get(
                "classes_", []), classes):  # fmt: skip
            start = _same_shape(self.coef_, (1 if binary else classes.size, X.shape[1]))
        res = _fit_path(self, X, target, family, alpha, l1_ratio, sw, start)
        self.classes_ = classes
        coef, b = res.coefs[0], res.intercepts[0]
        if binary:
            coef, b = coef[None, :], np.atleast_1d(b)
        else:
            b = b - b.mean()
        self.coef_ = np.asarray(coef, dtype=X.dtype)
        self.intercept_ = np.asarray(b, dtype=X.dtype)
        self.n_iter_ = np.array([max(int(res.n_iter[0]), 1)], dtype=np.int32)
        self.dual_gap_ = float(res.gaps[0])
        return self

    def decision_function(self, X):
        """Linear predictors: (n_samples,) for two classes, else (n, n_classes)."""
        check_is_fitted(self)
        X = _validate_X(self, X, reset=False)
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix (scikit-learn's
        ``sparsify``): less memory, faster predictions on sparse X, for a
        coefficient matrix that is mostly zeros. Returns self."""
        check_is_fitted(self, "coef_")
        self.coef_ = scipy.sparse.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense array again (undoes :meth:`sparsify`).
        Returns self."""
        check_is_fitted(self, "coef_")
        if scipy.sparse.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), in the order of classes_."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = 0.5 * (1.0 + np.tanh(0.5 * scores))
            return np.stack([1.0 - p, p], axis=1)
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return -np.logaddexp(0.0, -np.stack([-scores, scores], axis=1))
        top = scores.max(axis=1, keepdims=True)
        return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The class of the largest probability."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class PoissonRegressor(RegressorMixin, BaseEstimator):
    """Poisson regression with an L2 penalty (scikit-learn's ``PoissonRegressor``),
    certified by a duality gap.

    Minimises ``1/(2·Σ s_i)·Σ s_i·d(y_i, exp(x_i·w + b)) + alpha/2·||w||²``.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    fit_intercept : bool, default=True
    solver : str, default='lbfgs'
        Accepted for compatibility.
    max_iter : int, default=100
        Up to ``GLM_STEPS_PER_ITER·max_iter`` solver steps (proximal Newton
        steps for binomial and Poisson fits of narrow designs, else FISTA steps).
    tol : float, default=1e-4
        Converged when the duality gap <= ``tol·D_null/n``.
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` (the intercept refit to it).
    verbose : int, default=0
        Accepted for compatibility.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
    n_iter_ : int
    dual_gap_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(80, 2))
    >>> y = np.random.default_rng(1).poisson(np.exp(X[:, 0]))
    >>> jaxreg.PoissonRegressor(alpha=0.1).fit(X, y).coef_.shape
    (2,)
    """

    def __init__(self, *, alpha=1.0, fit_intercept=True, solver="lbfgs", max_iter=100,
                 tol=1e-4, warm_start=False, verbose=0):  # fmt: skip
        B.store(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), non-negative
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        alpha = V.check_real("alpha", self.alpha)
        V.check_flag("fit_intercept", self.fit_intercept)
        V.check_flag("warm_start", self.warm_start)
        V.check_choice("solver", self.solver, ("lbfgs", "newton-cholesky"))
        X, y = _validate_X(self, X, y)
        y = np.asarray(y, np.float64)
        if not (np.all(y >= 0) and np.sum(y) > 0):
            raise ValueError(
                "Some value(s) of y are out of the valid range of the Poisson loss: "
                "y must be >= 0 with a positive sum."
            )
        sw, _ = B.sample_weight(sample_weight, X.shape[0], scalar_is_none=False)
        start = None
        if self.warm_start and hasattr(self, "coef_"):
            start = _same_shape(self.coef_, (X.shape[1],))
        res = _fit_path(self, X, y, "poisson", alpha, 0.0, sw, start)
        self.coef_ = np.asarray(res.coefs[0], dtype=X.dtype)
        self.intercept_ = X.dtype.type(res.intercepts[0])
        self.n_iter_ = max(int(res.n_iter[0]), 1)
        self.dual_gap_ = float(res.gaps[0])
        return self

    def predict(self, X):
        """The mean ``exp(X @ coef_ + intercept_)``."""
        check_is_fitted(self)
        X = _validate_X(self, X, reset=False)
        return np.exp(X @ self.coef_ + self.intercept_)

    def score(self, X, y, sample_weight=None):
        """D², the share of the Poisson deviance explained (scikit-learn's)."""
        from sklearn.metrics import d2_tweedie_score

        return d2_tweedie_score(
            y, self.predict(X), sample_weight=sample_weight, power=1
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.positive_only = True
        return tags


# Defined beside it, kept importable from here (pickles name this module).
from jaxreg.estimators.glm_cv import LogisticRegressionCV  # noqa: E402
