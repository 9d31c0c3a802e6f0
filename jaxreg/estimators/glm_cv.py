"""scikit-learn's ``LogisticRegressionCV`` backed by one batched path per
l1_ratio: every fold and the fit on all the data solved along the whole grid of
Cs at once (:func:`jaxreg.cv.solve`); see :mod:`jaxreg.estimators.glm` for the
objective and the differences that do not change answers."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from jaxreg import _validation as V
from jaxreg.estimators import _base as B
from jaxreg.estimators.glm import (
    _SOLVERS,
    GLM_STEPS_PER_ITER,
    LogisticRegression,
    _classes,
)

__all__ = ["LogisticRegressionCV"]


def _unless_warn(value, default, message):
    """``value``, or ``default`` after scikit-learn's FutureWarning ``message``
    when it is the sentinel "warn" (a parameter whose default will change)."""
    if isinstance(value, str) and value == "warn":
        warnings.warn(message, FutureWarning, stacklevel=4)
        return default
    return value


class LogisticRegressionCV(ClassifierMixin, BaseEstimator):
    """Logistic regression with C (and l1_ratio) chosen by cross-validation
    (scikit-learn's ``LogisticRegressionCV``, 1.9 parameters and attributes).

    Every fold and the fit on all the data are the members of one batch, each
    solved along the whole grid of Cs at once per l1_ratio: fold f minimises
    ``C·Σ_{train} s_i·(-loglik_i) + penalty`` (scikit-learn's fold objective).
    With ``refit=True`` the model is the all-data member at the best (C,
    l1_ratio): the same solution as a refit.

    Parameters
    ----------
    Cs : int or array-like, default=10
        An int: that many values in a logarithmic grid from 1e-4 to 1e4.
    l1_ratios : array-like of floats in [0, 1], default='warn'
        scikit-learn's deprecated default (None, meaning (0.0,), with a
        FutureWarning).
    fit_intercept : bool, default=True
    cv : int, splitter or iterable, default=None
        scikit-learn's ``check_cv`` for a classifier: stratified 5-fold.
    scoring : str, callable or None, default='warn'
        A scikit-learn scorer; None (and 'warn', with scikit-learn's
        FutureWarning) is accuracy.
    tol, max_iter, class_weight, penalty, dual, solver, n_jobs, verbose,
    intercept_scaling, random_state
        As in :class:`LogisticRegression`.
    refit : bool, default=True
        False: the coefficients, C and l1_ratio averaged over the folds' best.
    use_legacy_attributes : bool or 'warn', default='warn'
        scikit-learn 1.9's attribute layouts (see its documentation).

    Attributes
    ----------
    classes_, coef_, intercept_, Cs_, l1_ratios_, C_, l1_ratio_, coefs_paths_,
    scores_, n_iter_, n_features_in_
        With scikit-learn's shapes (``use_legacy_attributes`` chooses the
        layout of C_, l1_ratio_, coefs_paths_, scores_ and n_iter_).

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(80, 3))
    >>> clf = jaxreg.LogisticRegressionCV(Cs=4, l1_ratios=(0.0,), scoring=None,
    ...                                   use_legacy_attributes=False)
    >>> clf.fit(X, X[:, 0] > 0).Cs_.shape
    (4,)
    """

    def __init__(self, *, Cs=10, l1_ratios="warn", fit_intercept=True, cv=None,
                 dual=False, penalty="deprecated", scoring="warn", solver="lbfgs",
                 tol=1e-4, max_iter=100, class_weight=None, n_jobs=None, verbose=0,
                 refit=True, intercept_scaling=1.0, random_state=None,
                 use_legacy_attributes="warn"):  # fmt: skip
        B.store(self, locals())

    def _options(self):
        """(l1_ratios or None, elastic-net flag, scoring, legacy) after
        scikit-learn's deprecations."""
        l1_ratios = self.l1_ratios
        if isinstance(l1_ratios, str) and l1_ratios == "warn":
            l1_ratios = None
            warnings.warn(
                "The default value for l1_ratios will change from None to (0.0,) in "
                "version 1.10 (as in scikit-learn): set it, e.g. l1_ratios=(0,).",
                FutureWarning,
                stacklevel=3,
            )
        if self.penalty != "deprecated":
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10"
                " (as in scikit-learn): use l1_ratios and Cs instead.",
                FutureWarning,
                stacklevel=3,
            )
            V.check_choice("penalty", self.penalty, ("l1", "l2", "elasticnet", None))
            if self.penalty in ("l1", "l2"):
                l1_ratios = [1.0 if self.penalty == "l1" else 0.0]
        if l1_ratios is None:
            values = [0.0]
        else:
            values = [B.l1_ratio(r, "l1_ratios") for r in np.atleast_1d(l1_ratios)]
            if not values:
                raise ValueError("l1_ratios must hold at least one value in [0, 1].")
        enet = l1_ratios is not None and not (
            all(r == 0 for r in values) or all(r == 1 for r in values)
        )
        scoring = _unless_warn(self.scoring, None,
            "The default value of the parameter 'scoring' will change from None, "
            "i.e. accuracy, to 'neg_log_loss' in version 1.11 (as in "
            "scikit-learn): set scoring explicitly.",
        )  # fmt: skip
        legacy = _unless_warn(self.use_legacy_attributes, True,
            "The fitted attributes of LogisticRegressionCV will be simplified in "
            "scikit-learn 1.10: set use_legacy_attributes=False for the new "
            "layout, or True to keep the old one silently.",
        )  # fmt: skip
        legacy = V.check_flag("use_legacy_attributes", legacy)
        return l1_ratios, values, enet, scoring, legacy

    def _Cs(self):
        if isinstance(self.Cs, numbers.Integral) and not isinstance(self.Cs, bool):
            if self.Cs < 1:
                raise ValueError(f"Cs must be >= 1, got {self.Cs!r}.")
            return np.logspace(-4, 4, int(self.Cs))
        Cs = np.asarray(self.Cs, dtype=np.float64).ravel()
        if Cs.size == 0 or not (Cs > 0).all() or np.isnan(Cs).any():
            raise ValueError(
                f"Cs must be positive numbers (np.inf allowed), got {self.Cs!r}."
            )
        return Cs

    def fit(self, X, y, sample_weight=None):
        """Fit the model by cross-validation over Cs (and l1_ratios).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        from sklearn.metrics import check_scoring
        from sklearn.model_selection import check_cv

        from jaxreg import cv as _cv

        l1_given, l1_values, enet, scoring, legacy = self._options()
        Cs = self._Cs()
        V.check_flag("fit_intercept", self.fit_intercept)
        V.check_flag("refit", self.refit)
        V.check_choice("solver", self.solver, _SOLVERS)
        max_iter = V.check_int("max_iter", self.max_iter)
        tol = max(V.check_real("tol", self.tol), B.TINY_TOL)
        X, y, classes, codes, sw = _classes(self, X, y, sample_weight)
        n, p = X.shape
        binary = classes.size == 2
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        order = np.argsort(Cs, kind="stable")  # levels 1/C decreasing
        levels = np.where(np.isinf(Cs), 0.0, 1.0 / np.where(np.isinf(Cs), 1.0, Cs))
        kw = dict(
            X=X, y=codes.astype(np.float64) if binary else codes, cv=folds,
            alphas=levels[order], fit_intercept=self.fit_intercept, sample_weight=sw,
            tol=tol, max_iter=max_iter * GLM_STEPS_PER_ITER, dtype=np.float64,
            family="binomial" if binary else "multinomial",
        )  # fmt: skip
        problem, solved = B.quietly(_cv.solve, kw, l1_values, alpha_units="sum")
        scorer = check_scoring(self, scoring=scoring)
        K, nC, nL = len(folds), Cs.size, len(l1_values)
        back = np.argsort(order)  # the user's order of Cs
        scores = np.zeros((K, nL, nC))
        paths = np.zeros((K, nL, nC, 1 if binary else classes.size, p + 1))
        n_iter = np.zeros((K, nL, nC), dtype=np.int32)
        finals, gaps = [], []
        for j, (_, _, raw, coefs, intercepts, _, _) in enumerate(solved):
            w, b = coefs[:, 0][:, back], intercepts[:, 0][:, back]
            if binary:
                w, b = w[:, :, None, :], b[:, :, None]
            else:
                b = b - b.mean(axis=-1, keepdims=True)
            paths[:, j] = np.concatenate([w[:K], b[:K, ..., None]], axis=-1)
            n_iter[:, j] = np.maximum(raw["n_iter"][:K, 0][:, back], 1)
            finals.append((w[-1], b[-1]))
            gaps.append(raw["gap"][-1, 0][back])
            for f, (_, test) in enumerate(folds):
                for c in range(nC):
                    est = self._shell(classes, w[f, c], b[f, c], p)
                    scores[f, j, c] = scorer(est, X[test], y[test])
        # scikit-learn's order: l1_ratio-major, C-minor; the first best
        flat = scores.reshape(K, nL * nC)
        if self.refit:
            best = int(np.argmax(flat.sum(axis=0)))
            jl, jc = divmod(best, nC)
            coef, icpt = finals[jl][0][jc], finals[jl][1][jc]
            C_, l1_ = Cs[jc], l1_values[jl] if enet else 0.0
        else:
            bests = np.argmax(flat, axis=1)
            jl, jc = np.divmod(bests, nC)
            coef = np.mean([paths[f, jl[f], jc[f], :, :p] for f in range(K)], axis=0)
            icpt = np.mean([paths[f, jl[f], jc[f], :, p] for f in range(K)], axis=0)
            C_ = float(np.mean(Cs[jc]))
            l1_ = float(np.mean(np.asarray(l1_values)[jl])) if enet else 0.0
        if not self.fit_intercept:
            paths = paths[..., :p]
            icpt = np.zeros_like(icpt)
        self.classes_ = classes
        self.coef_ = np.asarray(coef, dtype=X.dtype)
        self.intercept_ = np.asarray(icpt, dtype=X.dtype)
        self.Cs_ = Cs
        self.l1_ratios_ = (
            np.asarray(l1_values) if l1_given is not None else np.array([None])
        )
        if l1_given is None and self.penalty == "l1":
            l1_ = 1.0
        drop = l1_given is None
        self._store_cv(classes, binary, drop, legacy, C_, l1_, paths, scores, n_iter)
        return self

    @staticmethod
    def _shell(classes, w, b, p):
        """A fitted LogisticRegression holding one solution, for the scorer."""
        est = LogisticRegression()
        est.classes_, est.coef_, est.intercept_ = classes, w, b
        est.n_features_in_ = p
        return est

    def _store_cv(self, classes, binary, drop, legacy, C_, l1_, paths, scores, n_iter):
        """scikit-learn's attributes; ``drop``: without l1_ratios, the legacy
        layout has no l1_ratio axis."""
        if not legacy:
            self.C_, self.l1_ratio_ = float(C_), float(l1_)
            self.coefs_paths_, self.scores_, self.n_iter_ = paths, scores, n_iter
            return
        keys = classes[1:] if binary else classes
        reps = 1 if binary else classes.size
        self.C_ = np.full(reps, float(C_))
        self.l1_ratio_ = np.full(reps, float(l1_))
        # legacy: (n_folds, n_cs[, n_l1], n_dof), per class
        lp = np.moveaxis(paths, 1, 2)  # (K, nC, nL, classes, dof)
        ls = np.moveaxis(scores, 1, 2)  # (K, nC, nL)
        li = np.moveaxis(n_iter, 1, 2)[None]
        if drop:
            lp, ls, li = lp[:, :, 0], ls[:, :, 0], li[..., 0]
        self.coefs_paths_ = {k: lp[..., i, :] for i, k in enumerate(keys)}
        self.scores_ = {k: ls for k in keys}
        self.n_iter_ = li

    decision_function = LogisticRegression.decision_function
    sparsify = LogisticRegression.sparsify
    densify = LogisticRegression.densify
    predict_proba = LogisticRegression.predict_proba
    predict_log_proba = LogisticRegression.predict_log_proba
    predict = LogisticRegression.predict

    def score(self, X, y, sample_weight=None):
        """The chosen scoring on (X, y) (accuracy by default), as scikit-learn's."""
        from sklearn.metrics import get_scorer

        scoring = self.scoring
        if scoring is None or (isinstance(scoring, str) and scoring == "warn"):
            return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)
        scorer = get_scorer(scoring)
        if sample_weight is None:
            return scorer(self, X, y)
        return scorer(self, X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
