"""The GLM families on the host (NumPy): the family and scoring names, the checks
of y, the null fits, the unit deviances and the held-out measures of
cross-validation. The datafits and the route that solves them are in
:mod:`jaxreg.families`, which re-exports these names."""

from __future__ import annotations

import numpy as np

__all__ = [
    "FAMILIES",
    "LEAST_SQUARES",
    "SCORINGS",
    "check_family",
    "check_scoring",
    "check_y",
    "intercepts_at",
    "measure",
    "null_fit",
    "unit_deviance",
]

FAMILIES = ("gaussian", "binomial", "multinomial", "poisson", "mgaussian")
# least squares, on the engine (jaxreg.engine; "mgaussian" through jaxreg.groups)
LEAST_SQUARES = ("gaussian", "mgaussian")


def check_family(family) -> str:
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}.")
    return family


def _np_mean(family, eta):
    if family == "multinomial":  # eta (n, K)
        e = np.exp(eta - eta.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if family == "binomial":
        return 0.5 * (1.0 + np.tanh(0.5 * eta))
    return np.exp(eta)


def unit_deviance(family, y, mu):
    """glmnet's unit deviance ``d(y, μ)`` (NumPy)."""
    from scipy.special import xlogy as xl

    def log_ratio(a, b):  # a·log(a/b), 0 where a = 0 (whatever b, 0 included)
        return xl(a, np.where(a > 0, a, 1.0) / np.where(a > 0, b, 1.0))

    with np.errstate(divide="ignore", invalid="ignore"):
        if family == "multinomial":  # (n, K) one-hot against (n, K) means
            return 2.0 * np.sum(log_ratio(y, mu), axis=1)
        if family == "binomial":
            d = 2.0 * (log_ratio(y, mu) + log_ratio(1.0 - y, 1.0 - mu))
        else:
            d = 2.0 * (log_ratio(y, mu) - y + mu)
    return d


def check_y(family, y) -> tuple[np.ndarray, np.ndarray | None]:
    """y as float64 in the family's domain, and the classes of a binomial y given
    as two labels (None for numeric 0/1 or proportions)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"family={family!r} needs a 1-D y, got shape {y.shape}.")
    if family == "multinomial":
        classes, codes = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "family='multinomial' needs y with at least two classes, got "
                f"{classes.size}."
            )
        return np.eye(classes.size)[codes.ravel()], classes
    if family == "binomial":
        numeric = y.dtype.kind in "biuf"
        if numeric:
            yf = y.astype(np.float64)
            if np.isfinite(yf).all() and ((yf >= 0) & (yf <= 1)).all():
                if np.unique(yf).size > 2 or set(np.unique(yf)) <= {0.0, 1.0}:
                    return yf, None
        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(
                "family='binomial' needs y with exactly two classes (labels, or 0/1, "
                f"or proportions in [0, 1]); got {classes.size} distinct values."
            )
        return (y == classes[1]).astype(np.float64), classes
    yf = np.asarray(y, np.float64)
    if not (np.isfinite(yf).all() and (yf >= 0).all()):
        raise ValueError("family='poisson' needs y finite and >= 0 (counts or rates).")
    if not yf.any():
        raise ValueError("family='poisson' needs some y > 0 (every y is 0).")
    return yf, None


def null_fit(family, Xf, y, s, fit_intercept, iters=100):
    """The fit of the unpenalized columns ``Xf`` (n, f) and the intercept alone
    (Newton's method with halving, NumPy): their coefficients and η."""
    n = y.shape[0]
    if family == "multinomial":
        K = y.shape[1]
        beta = np.zeros((K, 1 if fit_intercept else 0))
        if fit_intercept:
            pi = s @ y / np.sum(s)
            with np.errstate(divide="ignore"):
                logpi = np.log(np.maximum(pi, np.finfo(np.float64).tiny))
            beta[:, 0] = logpi - np.mean(logpi)
        if Xf.shape[1]:
            return _multinomial_null(Xf, y, s, beta, fit_intercept, iters)
        eta = np.zeros((n, K)) + (beta[:, 0] if fit_intercept else 0.0)
        return beta, eta
    cols = [Xf] + ([np.ones((n, 1))] if fit_intercept else [])
    Z = np.concatenate(cols, axis=1)
    beta = np.zeros(Z.shape[1])
    if fit_intercept and not Xf.shape[1]:
        ybar = np.sum(s * y) / np.sum(s)
        if family == "binomial":
            beta[-1] = np.log(ybar) - np.log1p(-ybar)
        else:
            beta[-1] = np.log(ybar)
        return beta, Z @ beta

    def obj(b):
        return _neg_loglik(family, y, Z @ b, s) / n

    f = obj(beta)
    for _ in range(iters if Z.shape[1] else 0):
        eta = Z @ beta
        mu = _np_mean(family, eta)
        g = Z.T @ (s * (mu - y)) / n
        h = mu * (1.0 - mu) if family == "binomial" else mu
        H = (Z * (s * h)[:, None]).T @ Z / n
        beta, f, moved = _halving(obj, beta, f, np.linalg.lstsq(H, g, rcond=None)[0])
        if not moved:
            break
    return beta, Z @ beta


def _neg_loglik(family, y, eta, s):
    """``Σ s_i·(b(η_i) − y_i·η_i)`` (the multinomial's y and η (n, C))."""
    if family == "multinomial":
        top = eta.max(axis=1, keepdims=True)
        lse = np.log(np.exp(eta - top).sum(axis=1)) + top[:, 0]
        return np.sum(s * (lse - np.sum(y * eta, axis=1)))
    cum = np.logaddexp(0.0, eta) if family == "binomial" else np.exp(eta)
    return np.sum(s * (cum - y * eta))


def intercepts_at(family, off, y, s, b, iters=50):
    """The optimal intercepts (C,) with the rest of the linear predictor fixed at
    ``off`` (n, C; one-hot y (n, C), or (n, 1)), from ``b``: Newton's method with
    halving, the multinomial's singular Hessian taking its least-norm step."""
    multi = family == "multinomial"
    y = y if multi else y[:, 0]

    def eta(b):
        return off + b if multi else off[:, 0] + b[0]

    def obj(b):
        return _neg_loglik(family, y, eta(b), s)

    b = np.asarray(b, np.float64)
    f = obj(b)
    for _ in range(iters):
        mu = _np_mean(family, eta(b))
        if multi:
            g, H = s @ (mu - y), np.diag(s @ mu) - (mu * s[:, None]).T @ mu
        else:
            h = mu * (1.0 - mu) if family == "binomial" else mu
            g, H = np.atleast_1d(s @ (mu - y)), np.atleast_2d(s @ h)
        b, f, moved = _halving(obj, b, f, np.linalg.lstsq(H, g, rcond=None)[0])
        if not moved:
            break
    return b


def _halving(obj, x, f, step):
    """One damped Newton step: ``x - t·step`` with the largest ``t`` in 1, 1/2,
    ... that does not increase ``obj``; (x, f, moved) after it."""
    t = 1.0
    while t > 1e-10:
        cand = x - t * step
        fc = obj(cand)
        if fc <= f:
            break
        t *= 0.5
    if not fc < f - 1e-15 * abs(f):
        return x, f, False
    return cand, fc, True


def _multinomial_null(Xf, y, s, icpt, fit_intercept, iters):
    """The unpenalized columns ``Xf`` and the intercepts of the multinomial
    (Newton's method on all K·(f + 1) parameters, the minimum-norm step of the
    singular Hessian, with halving)."""
    n, K = y.shape
    Z = np.concatenate([Xf] + ([np.ones((n, 1))] if fit_intercept else []), axis=1)
    B = np.zeros((K, Z.shape[1]))
    if fit_intercept:
        B[:, -1] = icpt[:, 0]

    def obj(B):
        return _neg_loglik("multinomial", y, Z @ B.T, s) / n

    f = obj(B)
    for _ in range(iters):
        mu = _np_mean("multinomial", Z @ B.T)
        G = ((mu - y) * s[:, None]).T @ Z / n  # (K, q)
        sz = Z * s[:, None]
        H = np.einsum("ik,ia,ib->kab", mu, sz, Z)[:, :, None, :] * np.eye(K)[
            :, None, :, None
        ] - np.einsum("ik,il,ia,ib->kalb", mu, mu, sz, Z)
        q = Z.shape[1]
        step = np.linalg.lstsq(H.reshape(K * q, K * q) / n, G.ravel(), rcond=None)[0]
        B, f, moved = _halving(obj, B, f, step.reshape(K, q))
        if not moved:
            break
    return B, Z @ B.T


SCORINGS = {
    "gaussian": ("mse", "deviance"),
    "binomial": ("deviance", "mse", "misclassification", "auc"),
    "multinomial": ("deviance", "mse", "misclassification"),
    "poisson": ("deviance", "mse"),
    "mgaussian": ("mse", "deviance"),
}


def check_scoring(family, scoring) -> str:
    """glmnet's ``type.measure`` for this family (default: deviance; the
    gaussian family's deviance is its mean squared error)."""
    if scoring is None:
        return "mse" if family in LEAST_SQUARES else "deviance"
    allowed = SCORINGS[family]
    if not isinstance(scoring, str) or scoring not in allowed:
        raise ValueError(
            f"scoring must be one of {allowed} for family={family!r}, got {scoring!r}."
        )
    return "mse" if family in LEAST_SQUARES else scoring


def _weighted_auc(y, score, w):
    """Weighted area under the ROC curve: the weighted share of (positive,
    negative) pairs ranked correctly, ties counting half."""
    order = np.argsort(score, kind="mergesort")
    score, y, w = score[order], y[order], w[order]
    pos, neg = w * y, w * (1.0 - y)
    # ties: group equal scores
    _, start = np.unique(score, return_index=True)
    neg_before = np.concatenate([[0.0], np.cumsum(neg)])[start]
    groups = np.add.reduceat(np.stack([pos, neg]), start, axis=1)
    total = np.sum(pos) * np.sum(neg)
    if not total > 0:
        return np.nan
    return float(np.sum(groups[0] * (neg_before + 0.5 * groups[1])) / total)


def measure(family, scoring, y, mu, w):
    """The held-out measure at each alpha (k,) from the means ``mu`` (k, r) or
    (k, r, C) of rows with targets y and weights w (glmnet's type.measure: mean
    deviance, mean squared error, misclassification rate or AUC)."""
    W = np.sum(w)
    if scoring == "deviance":
        return np.stack([np.sum(w * unit_deviance(family, y, m)) for m in mu]) / W
    if scoring == "mse":
        sq = (y - mu) ** 2
        sq = sq.sum(axis=-1) if family == "multinomial" else sq
        return np.sum(w * sq, axis=-1) / W
    if scoring == "misclassification":
        if family == "multinomial":
            wrong = np.argmax(mu, axis=-1) != np.argmax(y, axis=-1)
        else:
            wrong = (mu > 0.5) != (y > 0.5)
        return np.sum(w * wrong, axis=-1) / W
    return np.array([_weighted_auc(y, m, w) for m in mu])
