"""NumPy float64 reference solvers for penalized least squares.

This module is the ground truth that the tests and the benchmarks compare the
JAX solvers against. It depends on NumPy only and shares no code with the JAX
implementation.

All functions use the same objective. For ``alpha >= 0`` and
``0 < l1_ratio <= 1`` (``l1_ratio = 0`` is ridge)::

    P(w, b) = 1/(2n) sum_i s_i (y_i - x_i.w - b)^2
              + alpha * (l1_ratio * sum_j p_j |w_j|
                         + (1 - l1_ratio)/2 * sum_j p_j w_j^2)

* ``s`` are the sample weights, rescaled to sum to ``n`` (default all ones).
* ``p`` are the penalty factors, used as given (default all ones, 0 means the
  feature is not penalized).
* The intercept ``b`` is not penalized. With ``fit_intercept=True`` the data are
  centred with the weighted means and ``b = y_mean - x_mean.w``; with
  ``fit_intercept=False`` the intercept is fixed at 0.
* With ``standardize=True`` every column is divided by its weighted standard
  deviation (``1/n`` normalisation, about the weighted mean when an intercept is
  fitted and about 0 otherwise; constant columns get scale 1). The penalty then
  acts on the standardized coefficients, while coefficients are always reported
  on the original scale.
* Box constraints ``lower_j <= w_j <= upper_j`` (``lower <= 0 <= upper``) apply
  to the coefficients on the original scale; ``positive=True`` sets the lower
  limits to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "alpha_grid",
    "alpha_max",
    "duality_gap",
    "enet_path",
    "glm_duality_gap",
    "glm_objective",
    "group_duality_gap",
    "group_enet_path",
    "group_objective",
    "lasso_path",
    "make_glmnet_design",
    "make_regression",
    "objective",
    "ridge_loo_mse",
    "ridge_path",
]

_RESOLUTION = float(np.finfo(np.float64).resolution)
_ACTIVE_SWEEPS = 10
_SUPPORT_ROUNDS = 20


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
def _as_design(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array of shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values.")
    return X


def _as_target(y, n_samples, *, allow_2d=False):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in ((1, 2) if allow_2d else (1,)):
        allowed = "1-D or 2-D" if allow_2d else "1-D"
        raise ValueError(f"y must be {allowed}, got an array of shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but y has {y.shape[0]} (shape mismatch)."
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values.")
    return y


def _sample_weight(sample_weight, n_samples):
    if sample_weight is None:
        return np.ones(n_samples)
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {s.shape}."
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    total = s.sum()
    if total <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    return s * (n_samples / total)


def _penalty_factor(penalty_factor, n_features):
    if penalty_factor is None:
        return np.ones(n_features)
    pf = np.asarray(penalty_factor, dtype=np.float64)
    if pf.shape != (n_features,):
        raise ValueError(
            f"penalty_factor must have shape ({n_features},), got {pf.shape}."
        )
    if not np.all(np.isfinite(pf)) or np.any(pf < 0):
        raise ValueError("penalty_factor must be finite and non-negative.")
    return pf


def _limits(lower_limits, upper_limits, positive, n_features):
    def expand(value, default, name):
        if value is None:
            return np.full(n_features, default)
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            return np.full(n_features, float(arr))
        if arr.shape != (n_features,):
            raise ValueError(
                f"{name} must be a scalar or have shape ({n_features},), "
                f"got {arr.shape}."
            )
        return arr.copy()

    lower = expand(lower_limits, -np.inf, "lower_limits")
    upper = expand(upper_limits, np.inf, "upper_limits")
    if np.any(np.isnan(lower)) or np.any(lower > 0):
        raise ValueError("lower_limits must be <= 0 (-inf allowed).")
    if np.any(np.isnan(upper)) or np.any(upper < 0):
        raise ValueError("upper_limits must be >= 0 (+inf allowed).")
    if positive:
        lower = np.maximum(lower, 0.0)
    return lower, upper


def _l1_ratio(l1_ratio, *, allow_zero):
    l1_ratio = float(l1_ratio)
    low_ok = l1_ratio >= 0 if allow_zero else l1_ratio > 0
    if not (low_ok and l1_ratio <= 1):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"l1_ratio must be in {interval}, got {l1_ratio}.")
    return l1_ratio


def _alpha(alpha):
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be finite and non-negative, got {alpha}.")
    return alpha


def _weighted_centre(A, s, fit_intercept):
    """Weighted means of the columns of ``A`` and ``A`` minus them.

    Columns that are constant over the rows with positive weight are centred to
    exactly zero, so that rounding in the mean cannot create a spurious signal.
    """
    n = A.shape[0]
    if not fit_intercept:
        return np.zeros(A.shape[1:]), A.copy()
    mean = s @ A / n
    centred = A - mean
    used = s > 0
    constant = np.all(A[used] == A[used][:1], axis=0)
    if A.ndim == 1:
        if constant:
            centred[:] = 0.0
    else:
        centred[:, constant] = 0.0
    return mean, centred


@dataclass
class _Problem:
    """The problem in internal coordinates (centred, weighted, standardized)."""

    n: int
    p: int
    s: np.ndarray  # rescaled sample weights
    sqrt_s: np.ndarray
    x_mean: np.ndarray
    y_mean: float
    scale: np.ndarray
    Xt: np.ndarray  # sqrt(s) * (X - x_mean) / scale, Fortran ordered
    yt: np.ndarray  # sqrt(s) * (y - y_mean)
    yy: float  # sum_i s_i (y_i - y_mean)^2 / n
    penalty: np.ndarray
    lower: np.ndarray  # original scale
    upper: np.ndarray
    lower_t: np.ndarray  # internal (standardized) scale
    upper_t: np.ndarray
    fit_intercept: bool

    @property
    def boxed(self):
        return bool(np.any(np.isfinite(self.lower_t) | np.isfinite(self.upper_t)))


def _prepare(
    X,
    y,
    *,
    fit_intercept,
    standardize,
    sample_weight,
    penalty_factor,
    lower_limits,
    upper_limits,
    positive,
):
    X = _as_design(X)
    n, p = X.shape
    y = _as_target(y, n)
    s = _sample_weight(sample_weight, n)
    pf = _penalty_factor(penalty_factor, p)
    lower, upper = _limits(lower_limits, upper_limits, positive, p)

    x_mean, Xc = _weighted_centre(X, s, fit_intercept)
    y_mean, yc = _weighted_centre(y, s, fit_intercept)
    if standardize:
        scale = np.sqrt(s @ Xc**2 / n)
        scale[scale == 0] = 1.0
    else:
        scale = np.ones(p)
    sqrt_s = np.sqrt(s)
    Xt = np.asfortranarray(sqrt_s[:, None] * Xc / scale)
    yt = sqrt_s * yc
    return _Problem(
        n=n,
        p=p,
        s=s,
        sqrt_s=sqrt_s,
        x_mean=x_mean,
        y_mean=float(y_mean),
        scale=scale,
        Xt=Xt,
        yt=yt,
        yy=float(yt @ yt / n),
        penalty=pf,
        lower=lower,
        upper=upper,
        lower_t=lower * scale,
        upper_t=upper * scale,
        fit_intercept=bool(fit_intercept),
    )


# --------------------------------------------------------------------------- #
# Duality gap in internal coordinates
# --------------------------------------------------------------------------- #
def _soft_threshold(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def _penalty_value(w, a, b):
    """Sum of ``a_j |w_j| + b_j w_j^2 / 2`` (the box indicator is checked apart)."""
    return a * np.abs(w) + 0.5 * b * w * w


def _penalty_conjugate(v, a, b, lower, upper):
    """Convex conjugate of ``a|w| + b w^2/2 + indicator[lower <= w <= upper]``.

    For ``b > 0`` the supremum is attained at the clipped, soft-thresholded
    point. For ``b == 0`` it is ``(v - a)_+ upper + (-v - a)_+ (-lower)`` with
    ``0 * inf = 0``; the caller guarantees the value is finite.
    """
    out = np.zeros_like(v)
    quad = b > 0
    if np.any(quad):
        vq, aq, bq = v[quad], a[quad], b[quad]
        wq = np.clip(_soft_threshold(vq, aq) / bq, lower[quad], upper[quad])
        out[quad] = vq * wq - aq * np.abs(wq) - 0.5 * bq * wq * wq
    lin = ~quad
    if np.any(lin):
        vl, al = v[lin], a[lin]
        above = np.maximum(vl - al, 0.0)
        below = np.maximum(-vl - al, 0.0)
        up, lo = upper[lin], lower[lin]
        # 0 * inf = 0: only multiply the limits that are actually reached.
        out[lin] = above * np.where(above > 0, up, 0.0) + below * np.where(
            below > 0, -lo, 0.0
        )
    return out


def _free_basis(Xt, free, cache):
    """Orthonormal basis of the span of the columns ``Xt[:, free]``."""
    key = free.tobytes()
    if cache is not None and key in cache:
        return cache[key]
    A = Xt[:, free]
    u, sv, _ = np.linalg.svd(A, full_matrices=False)
    if sv.size == 0 or sv[0] == 0:
        basis = np.zeros((Xt.shape[0], 0))
    else:
        cutoff = sv[0] * max(A.shape) * np.finfo(np.float64).eps
        basis = u[:, sv > cutoff]
    if cache is not None:
        cache[key] = basis
    return basis


def _internal_gap(Xt, r, w, a, b, lower, upper, cache=None):
    """Duality gap of ``1/(2n)||yt - Xt w||^2 + sum_j h_j(w_j)``.

    ``r`` is the residual ``yt - Xt w`` and must already be orthogonal to the
    intercept direction when an intercept is fitted. ``w`` must satisfy the box
    constraints. The dual point is ``theta = sigma * rho / n`` where ``rho`` is
    ``r`` with its projection on the columns of the unpenalized coordinates that
    lie strictly inside their box removed (for those coordinates the dual
    constraint ``x_j' theta = 0`` then holds exactly), and ``sigma`` in [0, 1] is
    the largest value making every conjugate finite. The gap is::

        ||P r||^2/(2n) + (1 - sigma)^2 ||rho||^2/(2n)
        + sum_j [h_j(w_j) + h_j*(sigma g_j) - sigma g_j w_j]

    with ``g = Xt' rho / n`` and ``P`` the projection that was removed. It upper
    bounds ``P(w) - min P`` for every feasible ``w``.
    """
    n = Xt.shape[0]
    free = (a == 0) & (b == 0) & (w > lower) & (w < upper)
    projected = 0.0
    if np.any(free):
        basis = _free_basis(Xt, free, cache)
        if basis.shape[1]:
            coords = basis.T @ r
            projected = float(coords @ coords) / (2 * n)
            r = r - basis @ coords
    g = Xt.T @ r / n
    if np.any(free):
        rest = ~free
        g, a, b, w = g[rest], a[rest], b[rest], w[rest]
        lower, upper = lower[rest], upper[rest]

    lin = b == 0
    sigma = 1.0
    over = lin & np.isinf(upper) & (g > a)
    if np.any(over):
        sigma = min(sigma, float(np.min(a[over] / g[over])))
    under = lin & np.isinf(lower) & (g < -a)
    if np.any(under):
        sigma = min(sigma, float(np.min(a[under] / -g[under])))
    v = sigma * g
    # Remove the rounding excess of sigma * g over the limit where it matters.
    v = np.where(lin & np.isinf(upper), np.minimum(v, a), v)
    v = np.where(lin & np.isinf(lower), np.maximum(v, -a), v)

    terms = _penalty_value(w, a, b) + _penalty_conjugate(v, a, b, lower, upper) - v * w
    rho2 = float(r @ r)
    return (
        projected
        + (1.0 - sigma) ** 2 * rho2 / (2 * n)
        + float(np.sum(np.maximum(terms, 0.0)))
    )


# --------------------------------------------------------------------------- #
# Coordinate descent
# --------------------------------------------------------------------------- #
def _sweep(order, cols, r, w, diag, a, b_den, lower, upper, n):
    """One cyclic pass over ``order``; updates ``r`` in place and ``w`` (list).

    Returns ``sum_j (G_jj + b_j) dw_j^2``, a measure of the progress made.
    """
    progress = 0.0
    for j in order:
        xj = cols[j]
        wj = w[j]
        z = wj * diag[j] + float(xj @ r) / n
        aj = a[j]
        if z > aj:
            new = (z - aj) / b_den[j]
        elif z < -aj:
            new = (z + aj) / b_den[j]
        else:
            new = 0.0
        if new < lower[j]:
            new = lower[j]
        elif new > upper[j]:
            new = upper[j]
        delta = new - wj
        if delta != 0.0:
            r -= delta * xj
            w[j] = new
            progress += b_den[j] * delta * delta
    return progress


class _Gram:
    """Blocks of ``Xt' Xt / n``, from a stored matrix when it is small enough."""

    max_stored = 2048

    def __init__(self, Xt):
        self.Xt = Xt
        self.n, p = Xt.shape
        self.full = Xt.T @ Xt / self.n if p <= self.max_stored else None

    def block(self, rows, cols):
        if self.full is not None:
            return self.full[np.ix_(rows, cols)]
        return self.Xt[:, rows].T @ self.Xt[:, cols] / self.n


def _internal_objective(r, w, a, b):
    """Objective from the residual ``r = yt - Xt w``."""
    return float(r @ r) / (2 * r.shape[0]) + float(np.sum(_penalty_value(w, a, b)))


def _support_step(w, a, b, lower, upper, gram, xty, movable):
    """Minimise the objective over the current support (feature-sign search).

    The ``movable`` coordinates strictly inside their box that are nonzero (or
    not penalized) are free; those at a nonzero bound stay there and the others
    stay at 0. On that support, with the current signs, the objective is the
    quadratic whose minimiser solves ``(G_FF + diag(b_F)) w_F = c_F - a_F
    sign(w_F) - G_FB w_B`` with ``c = Xt' yt / n`` (minimum-norm least squares
    if the matrix is singular). If the minimiser changes a sign or leaves the
    box, the step goes only as far as the first such event along the segment
    (the objective decreases along it), that coordinate is fixed at 0 or at its
    bound, and the reduced problem is solved again (at most
    ``_SUPPORT_ROUNDS`` times more than there are nonzero coordinates).

    Returns ``(w_new, exact)``, ``exact`` telling whether ``w_new`` minimises
    the objective over its support, or ``None`` when nothing is free.
    """
    w = w.copy()
    # Each event removes one coordinate from the free set, so this many
    # rounds always suffice when the reduced systems are nonsingular.
    rounds = _SUPPORT_ROUNDS + int(np.count_nonzero(w))
    for _ in range(rounds):
        inside = (w > lower) & (w < upper)
        free = np.flatnonzero(movable & inside & ((w != 0) | (a == 0)))
        if free.size == 0:
            return None
        w_free = w[free]
        sign = np.sign(w_free)
        rhs = xty[free] - a[free] * sign
        bound = np.flatnonzero(~inside & (w != 0))
        if bound.size:
            rhs -= gram.block(free, bound) @ w[bound]
        matrix = gram.block(free, free)
        matrix[np.diag_indices_from(matrix)] += b[free]
        try:
            target = np.linalg.solve(matrix, rhs)
        except np.linalg.LinAlgError:
            target = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
        if not np.all(np.isfinite(target)):
            return None
        lo, up = lower[free], upper[free]
        crosses = (a[free] > 0) & (np.sign(target) != sign)
        stop = np.where(crosses, 0.0, np.clip(target, lo, up))
        event = crosses | (target < lo) | (target > up)
        if not np.any(event):
            w[free] = target
            return w, True
        # Fraction of the step at which each event happens; take the first.
        delta = target - w_free
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(event, (stop - w_free) / delta, np.inf)
        k = int(np.argmin(frac))
        t = min(max(float(frac[k]), 0.0), 1.0)
        w[free] = np.clip(w_free + t * delta, lo, up)
        w[free[k]] = stop[k]
    return w, False


def _coordinate_descent(
    Xt, yt, w0, a, b, lower, upper, *, diag, gram, xty, tol_abs, max_iter, cache
):
    """Minimise ``1/(2n)||yt - Xt w||^2 + sum_j h_j(w_j)`` from ``w0``.

    Cyclic coordinate descent with residual updates. Each outer iteration is a
    full sweep, a safeguarded support step (the minimiser over the current
    support, see :func:`_support_step`, kept only if it lowers the
    objective), a duality-gap check and, unless the support step was exact, up
    to ``_ACTIVE_SWEEPS`` sweeps over the nonzero coordinates. Returns
    ``(w, gap, n_iter, converged)`` where ``n_iter`` counts sweeps of either
    kind.

    The support step does not change what is computed, only how fast: plain
    cyclic coordinate descent needs thousands of sweeps per alpha on
    equicorrelated designs, while the support step finishes the job as soon as
    the sweeps have identified the support.
    """
    n, p = Xt.shape
    w = np.clip(np.array(w0, dtype=np.float64), lower, upper)
    r = yt - Xt @ w

    def gap_now(fresh=True):
        if fresh:
            # Fresh residual to stop rounding drift of the incremental updates.
            r[:] = yt - Xt @ w
        return _internal_gap(Xt, r, w, a, b, lower, upper, cache)

    gap = gap_now()
    if gap <= tol_abs:
        return w, gap, 0, True

    cols = [Xt[:, j] for j in range(p)]
    skip = (diag == 0) & (b == 0)
    order = [j for j in range(p) if not skip[j]]
    args = (
        diag.tolist(),
        a.tolist(),
        (diag + b).tolist(),
        lower.tolist(),
        upper.tolist(),
        n,
    )
    wl = w.tolist()
    n_iter = 0
    small = 0.1 * tol_abs
    while n_iter < max_iter:
        _sweep(order, cols, r, wl, *args)
        n_iter += 1
        w[:] = wl
        r[:] = yt - Xt @ w
        step = _support_step(w, a, b, lower, upper, gram, xty, ~skip)
        solved = False
        if step is not None:
            candidate, exact = step
            r_candidate = yt - Xt @ candidate
            if _internal_objective(r_candidate, candidate, a, b) < (
                _internal_objective(r, w, a, b)
            ):
                w[:] = candidate
                r[:] = r_candidate
                wl = w.tolist()
                solved = exact
        gap = gap_now(fresh=False)
        if gap <= tol_abs:
            return w, gap, n_iter, True
        if solved:
            # Optimal on the current support: only a full sweep can improve.
            continue
        active = [j for j in order if wl[j] != 0.0]
        for _ in range(_ACTIVE_SWEEPS):
            if n_iter >= max_iter or not active:
                break
            progress = _sweep(active, cols, r, wl, *args)
            n_iter += 1
            if progress <= small:
                break
        w[:] = wl
    gap = gap_now()
    return w, gap, n_iter, gap <= tol_abs


def _null_solution(prob, cache):
    """Internal coefficients with every penalized coefficient at 0.

    The unpenalized coefficients minimise the least-squares loss (within their
    box, if any).
    """
    w0 = np.zeros(prob.p)
    unpen = prob.penalty == 0
    if not np.any(unpen):
        return w0
    boxed = unpen & (np.isfinite(prob.lower_t) | np.isfinite(prob.upper_t))
    if not np.any(boxed):
        w0[unpen] = np.linalg.lstsq(prob.Xt[:, unpen], prob.yt, rcond=None)[0]
        return w0
    lower = np.where(unpen, prob.lower_t, 0.0)
    upper = np.where(unpen, prob.upper_t, 0.0)
    zeros = np.zeros(prob.p)
    w0, _, _, _ = _coordinate_descent(
        prob.Xt,
        prob.yt,
        w0,
        zeros,
        zeros,
        lower,
        upper,
        diag=np.einsum("ij,ij->j", prob.Xt, prob.Xt) / prob.n,
        gram=_Gram(prob.Xt),
        xty=prob.Xt.T @ prob.yt / prob.n,
        tol_abs=1e-14 * prob.yy,
        max_iter=100_000,
        cache=cache,
    )
    return w0


def _alpha_max_internal(prob, l1_ratio, w0):
    r = prob.yt - prob.Xt @ w0
    g = prob.Xt.T @ r / prob.n
    lo, up = prob.lower_t, prob.upper_t
    reach = np.where(
        (lo < 0) & (up > 0),
        np.abs(g),
        np.where(
            up > 0, np.maximum(g, 0.0), np.where(lo < 0, np.maximum(-g, 0.0), 0.0)
        ),
    )
    pen = prob.penalty > 0
    if not np.any(pen):
        return 0.0
    return float(np.max(reach[pen] / (l1_ratio * prob.penalty[pen])))


def _grid_from_max(amax, n_alphas, eps):
    n_alphas = int(n_alphas)
    if n_alphas < 1:
        raise ValueError(f"n_alphas must be >= 1, got {n_alphas}.")
    eps = float(eps)
    if not (0 < eps <= 1):
        raise ValueError(f"eps must be in (0, 1], got {eps}.")
    if amax <= _RESOLUTION:
        return np.full(n_alphas, _RESOLUTION)
    return np.geomspace(amax, eps * amax, n_alphas)


# --------------------------------------------------------------------------- #
# Public API: lasso / elastic net
# --------------------------------------------------------------------------- #
def alpha_max(
    X,
    y,
    *,
    l1_ratio=1.0,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    lower_limits=None,
    upper_limits=None,
    positive=False,
):
    """Smallest ``alpha`` at which every penalized coefficient is zero.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,)
        Response.
    l1_ratio : float, default=1.0
        Elastic-net mixing parameter in (0, 1].
    fit_intercept : bool, default=True
        Whether an unpenalized intercept is fitted.
    standardize : bool, default=False
        Whether the penalty acts on coefficients of standardized columns.
    sample_weight : array_like of shape (n_samples,), optional
        Non-negative sample weights; rescaled to sum to ``n_samples``.
    penalty_factor : array_like of shape (n_features,), optional
        Non-negative per-feature penalty multipliers (0 = unpenalized).
    lower_limits, upper_limits : float or array_like of shape (n_features,)
        Box constraints on the coefficients (``lower <= 0 <= upper``).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    Returns
    -------
    float
        ``max_j reach_j / (l1_ratio * p_j)`` over the penalized features, where
        ``reach_j`` is ``|g_j|`` (or only its admissible sign when a limit is 0)
        and ``g = X' S r / n`` is evaluated at the solution whose penalized
        coefficients are 0 and whose unpenalized coefficients are least squares.
        0 when no feature is penalized.
    """
    l1_ratio = _l1_ratio(l1_ratio, allow_zero=False)
    prob = _prepare(
        X,
        y,
        fit_intercept=fit_intercept,
        standardize=standardize,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        lower_limits=lower_limits,
        upper_limits=upper_limits,
        positive=positive,
    )
    return _alpha_max_internal(prob, l1_ratio, _null_solution(prob, {}))


def alpha_grid(
    X,
    y,
    *,
    n_alphas=100,
    eps=1e-3,
    l1_ratio=1.0,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    lower_limits=None,
    upper_limits=None,
    positive=False,
):
    """Decreasing geometric grid from :func:`alpha_max` to ``eps * alpha_max``.

    Parameters
    ----------
    X, y, l1_ratio, fit_intercept, standardize, sample_weight, penalty_factor,
    lower_limits, upper_limits, positive
        As in :func:`alpha_max`.
    n_alphas : int, default=100
        Number of grid points.
    eps : float, default=1e-3
        Ratio of the smallest to the largest alpha.

    Returns
    -------
    ndarray of shape (n_alphas,)
        ``np.geomspace(alpha_max, eps * alpha_max, n_alphas)``, or
        ``np.full(n_alphas, np.finfo(float).resolution)`` when ``alpha_max`` is
        not larger than that resolution (e.g. for a constant response).
    """
    amax = alpha_max(
        X,
        y,
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        standardize=standardize,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        lower_limits=lower_limits,
        upper_limits=upper_limits,
        positive=positive,
    )
    return _grid_from_max(amax, n_alphas, eps)


def _check_coef(prob, coef):
    coef = np.asarray(coef, dtype=np.float64)
    if coef.shape != (prob.p,):
        raise ValueError(f"coef must have shape ({prob.p},), got {coef.shape}.")
    if not np.all(np.isfinite(coef)):
        raise ValueError("coef contains NaN or infinite values.")
    return coef


def _is_feasible(prob, coef, intercept):
    if not prob.fit_intercept and intercept != 0:
        return False
    return bool(np.all(coef >= prob.lower) and np.all(coef <= prob.upper))


def objective(
    X,
    y,
    coef,
    intercept,
    alpha,
    *,
    l1_ratio=1.0,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    lower_limits=None,
    upper_limits=None,
    positive=False,
):
    """Value of the penalized objective ``P(w, b)``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,)
        Response.
    coef : array_like of shape (n_features,)
        Coefficients on the original scale.
    intercept : float
        Intercept. Must be 0 when ``fit_intercept=False``.
    alpha : float
        Regularization strength (>= 0).
    l1_ratio : float, default=1.0
        Mixing parameter in [0, 1] (0 is ridge).
    fit_intercept, standardize, sample_weight, penalty_factor, lower_limits,
    upper_limits, positive
        As in :func:`alpha_max`.

    Returns
    -------
    float
        ``1/(2n) sum_i s_i r_i^2 + alpha * (l1_ratio * sum_j p_j |v_j| +
        (1 - l1_ratio)/2 * sum_j p_j v_j^2)`` with ``v = coef * scale`` the
        coefficients in standardized coordinates (``scale = 1`` without
        standardization); ``inf`` when ``coef`` violates a box constraint or an
        intercept is given although ``fit_intercept=False``.
    """
    l1_ratio = _l1_ratio(l1_ratio, allow_zero=True)
    alpha = _alpha(alpha)
    prob = _prepare(
        X,
        y,
        fit_intercept=fit_intercept,
        standardize=standardize,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        lower_limits=lower_limits,
        upper_limits=upper_limits,
        positive=positive,
    )
    coef = _check_coef(prob, coef)
    intercept = float(intercept)
    if not _is_feasible(prob, coef, intercept):
        return np.inf
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    r = y - X @ coef - intercept
    v = coef * prob.scale
    pf = prob.penalty
    penalty = l1_ratio * np.sum(pf * np.abs(v)) + 0.5 * (1 - l1_ratio) * np.sum(
        pf * v * v
    )
    return float(prob.s @ (r * r) / (2 * prob.n) + alpha * penalty)


def duality_gap(
    X,
    y,
    coef,
    intercept,
    alpha,
    *,
    l1_ratio=1.0,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    lower_limits=None,
    upper_limits=None,
    positive=False,
):
    """Duality gap of ``(coef, intercept)``, an upper bound on suboptimality.

    The problem is the one of :func:`objective` (in standardized coordinates
    when ``standardize=True``). With rows multiplied by ``sqrt(s_i)``, residual
    ``r = y - X coef - intercept``, ``g = X' r / n`` and per-coordinate penalty
    ``h_j(w) = a_j|w| + b_j w^2/2 + indicator[l_j <= w <= u_j]`` with
    ``a_j = alpha l1_ratio p_j`` and ``b_j = alpha (1 - l1_ratio) p_j``, the dual
    point is ``theta = sigma r / n`` with ``sigma`` in [0, 1] the largest value
    for which every conjugate ``h_j*(sigma g_j)`` is finite, and::

        gap = (1 - sigma)^2 ||r||^2/(2n)
              + sum_j [h_j(w_j) + h_j*(sigma g_j) - sigma g_j w_j]

    Two refinements keep the bound valid for any ``coef`` and any
    ``intercept``, and tight at the optimum when unpenalized features exist:
    the residual is first projected orthogonally to the intercept direction
    (adding ``rbar^2 / 2``, ``rbar`` the weighted mean residual, which is exactly
    the loss excess of a non-optimal intercept), and orthogonally to the columns
    of the coordinates with ``a_j = b_j = 0`` that lie strictly inside their
    box (adding ``||P r||^2/(2n)``, ``P`` that projection). For the plain
    lasso with an optimal intercept and no unpenalized feature this is exactly
    the gap used by scikit-learn.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,)
        Response.
    coef : array_like of shape (n_features,)
        Coefficients on the original scale.
    intercept : float
        Intercept. Must be 0 when ``fit_intercept=False``.
    alpha : float
        Regularization strength (>= 0).
    l1_ratio : float, default=1.0
        Mixing parameter in [0, 1].
    fit_intercept, standardize, sample_weight, penalty_factor, lower_limits,
    upper_limits, positive
        As in :func:`alpha_max`.

    Returns
    -------
    float
        The gap, >= 0 (each term is clipped at 0 against rounding); ``inf``
        for an infeasible point (box violated, or a nonzero intercept with
        ``fit_intercept=False``).
    """
    l1_ratio = _l1_ratio(l1_ratio, allow_zero=True)
    alpha = _alpha(alpha)
    prob = _prepare(
        X,
        y,
        fit_intercept=fit_intercept,
        standardize=standardize,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        lower_limits=lower_limits,
        upper_limits=upper_limits,
        positive=positive,
    )
    coef = _check_coef(prob, coef)
    intercept = float(intercept)
    if not _is_feasible(prob, coef, intercept):
        return np.inf
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    resid = y - X @ coef - intercept
    excess = 0.0
    if prob.fit_intercept:
        rbar = float(prob.s @ resid / prob.n)
        excess = 0.5 * rbar * rbar
        resid = resid - rbar
    r = prob.sqrt_s * resid
    w = np.clip(coef * prob.scale, prob.lower_t, prob.upper_t)
    a = alpha * l1_ratio * prob.penalty
    b = alpha * (1 - l1_ratio) * prob.penalty
    return excess + _internal_gap(prob.Xt, r, w, a, b, prob.lower_t, prob.upper_t)


def enet_path(
    X,
    y,
    *,
    l1_ratio=0.5,
    alphas=100,
    eps=1e-3,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    positive=False,
    lower_limits=None,
    upper_limits=None,
    tol=1e-10,
    max_iter=100_000,
):
    """Elastic-net regularization path by cyclic coordinate descent.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,)
        Response.
    l1_ratio : float, default=0.5
        Mixing parameter in (0, 1]; 1 is the lasso.
    alphas : int or array_like, default=100
        Number of alphas on the grid of :func:`alpha_grid`, or explicit
        non-negative values (sorted into decreasing order).
    eps : float, default=1e-3
        Ratio of the smallest to the largest alpha of a generated grid.
    fit_intercept, standardize, sample_weight, penalty_factor, positive,
    lower_limits, upper_limits
        As in :func:`alpha_max`.
    tol : float, default=1e-10
        Convergence when ``duality_gap <= tol * yy`` with
        ``yy = sum_i s_i (y_i - y_mean)^2 / n`` (``y_mean = 0`` without
        intercept).
    max_iter : int, default=100_000
        Maximum number of coordinate sweeps per alpha.

    Returns
    -------
    dict
        ``alphas`` (k,), ``coefs`` (k, n_features) on the original scale,
        ``intercepts`` (k,), ``gaps`` (k,) duality gaps of the returned
        solutions, ``n_iter`` (k,) number of sweeps (full or over the active
        set; 0 when the warm start already met the tolerance or the closed form
        was used), ``converged`` (k,) bool.

    Notes
    -----
    Each coordinate update is ``w_j = clip(S(w_j G_jj + x_j' r / n, a_j) /
    (G_jj + b_j), l_j, u_j)`` with ``G_jj = ||x_j||^2 / n`` in internal
    coordinates. After every full sweep the exact minimiser on the current
    support (nonzero coordinates, their signs, the coordinates held at a
    bound) is computed from the Gram matrix and kept only if it lowers the
    objective; this is what makes equicorrelated designs tractable, where plain
    cyclic sweeps need thousands of passes. Convergence is always certified by
    the duality gap of :func:`duality_gap`. Solutions are warm started along
    the decreasing grid, the first one from the null solution of
    :func:`alpha_max`. When no coefficient is penalized (e.g. ``alpha = 0``)
    and there is no box constraint, the minimum-norm least-squares solution is
    used.
    """
    l1_ratio = _l1_ratio(l1_ratio, allow_zero=False)
    tol = float(tol)
    if not tol >= 0:
        raise ValueError(f"tol must be non-negative, got {tol}.")
    max_iter = int(max_iter)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}.")
    prob = _prepare(
        X,
        y,
        fit_intercept=fit_intercept,
        standardize=standardize,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        lower_limits=lower_limits,
        upper_limits=upper_limits,
        positive=positive,
    )
    cache = {}
    w = _null_solution(prob, cache)
    if np.ndim(alphas) == 0:
        grid = _grid_from_max(_alpha_max_internal(prob, l1_ratio, w), alphas, eps)
    else:
        grid = np.asarray(alphas, dtype=np.float64).ravel()
        if grid.size == 0:
            raise ValueError("alphas must not be empty.")
        if not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError("alphas must be finite and non-negative.")
        grid = np.sort(grid)[::-1]

    k = grid.size
    coefs = np.zeros((k, prob.p))
    gaps = np.zeros(k)
    n_iter = np.zeros(k, dtype=np.int64)
    converged = np.zeros(k, dtype=bool)
    diag = np.einsum("ij,ij->j", prob.Xt, prob.Xt) / prob.n
    gram = _Gram(prob.Xt)
    xty = prob.Xt.T @ prob.yt / prob.n
    tol_abs = tol * prob.yy
    for i, alpha in enumerate(grid):
        a = alpha * l1_ratio * prob.penalty
        b = alpha * (1 - l1_ratio) * prob.penalty
        if not prob.boxed and not np.any(a) and not np.any(b):
            w = np.linalg.lstsq(prob.Xt, prob.yt, rcond=None)[0]
            r = prob.yt - prob.Xt @ w
            gaps[i] = _internal_gap(
                prob.Xt, r, w, a, b, prob.lower_t, prob.upper_t, cache
            )
            converged[i] = True
        else:
            w, gaps[i], n_iter[i], converged[i] = _coordinate_descent(
                prob.Xt,
                prob.yt,
                w,
                a,
                b,
                prob.lower_t,
                prob.upper_t,
                diag=diag,
                gram=gram,
                xty=xty,
                tol_abs=tol_abs,
                max_iter=max_iter,
                cache=cache,
            )
        coefs[i] = w
    coefs = np.clip(coefs / prob.scale, prob.lower, prob.upper)
    intercepts = prob.y_mean - coefs @ prob.x_mean
    return {
        "alphas": grid,
        "coefs": coefs,
        "intercepts": intercepts,
        "gaps": gaps,
        "n_iter": n_iter,
        "converged": converged,
    }


def lasso_path(X, y, **kwargs):
    """Lasso path: :func:`enet_path` with ``l1_ratio=1``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,)
        Response.
    **kwargs
        Any keyword of :func:`enet_path` except ``l1_ratio``.

    Returns
    -------
    dict
        As :func:`enet_path`.
    """
    if "l1_ratio" in kwargs:
        raise TypeError("lasso_path does not accept l1_ratio.")
    return enet_path(X, y, l1_ratio=1.0, **kwargs)


# --------------------------------------------------------------------------- #
# Ridge
# --------------------------------------------------------------------------- #
def _ridge_fit(X, y, alphas, s, pf, fit_intercept):
    """Ridge coefficients for each alpha, in the order given.

    ``s`` must already sum to ``n``. Returns ``coefs`` of shape
    (k, n_features) or (k, n_targets, n_features) and matching intercepts.
    """
    n, p = X.shape
    x_mean, Xc = _weighted_centre(X, s, fit_intercept)
    y_mean, yc = _weighted_centre(y, s, fit_intercept)
    sqrt_s = np.sqrt(s)
    Xw = sqrt_s[:, None] * Xc
    yw = sqrt_s[:, None] * yc if y.ndim == 2 else sqrt_s * yc
    # With every feature penalized, ridge on the columns scaled by 1/sqrt(p_j) is
    # V diag(σ/(σ² + nα)) Uᵀy from the SVD of the weighted design: backward
    # stable for every alpha, also as alpha -> 0 when p > n, where the normal
    # equations (XᵀX/n + αI) w = Xᵀy/n lose about log10(1/α) digits.
    d = 1.0 / np.sqrt(np.where(pf > 0, pf, 1.0))
    U, sv, Vt = np.linalg.svd(Xw * d, full_matrices=False)
    keep = sv > max(n, p) * np.finfo(float).eps * sv.max(initial=0.0)
    Uty = U.T @ yw
    out = []
    for alpha in alphas:
        if alpha == 0:
            coef = np.linalg.lstsq(Xw, yw, rcond=None)[0]
        elif np.all(pf > 0):
            shrink = np.where(keep, sv / (sv * sv + n * alpha), 0.0)
            coef = d[:, None] * (Vt.T @ (shrink[:, None] * Uty.reshape(len(sv), -1)))
            coef = coef.reshape((p,) + yw.shape[1:])
        else:
            # Unpenalized features may make the normal matrix singular: use
            # the minimum-norm solution of the augmented least-squares problem.
            aug_X = np.vstack([Xw, np.diag(np.sqrt(n * alpha * pf))])
            pad = np.zeros((p,) + yw.shape[1:])
            coef = np.linalg.lstsq(aug_X, np.concatenate([yw, pad]), rcond=None)[0]
        out.append(coef.T)  # (p,) or (n_targets, p)
    coefs = np.array(out)
    intercepts = y_mean - coefs @ x_mean
    return coefs, intercepts


def _ridge_alphas(alphas):
    grid = np.asarray(alphas, dtype=np.float64).ravel()
    if grid.size == 0:
        raise ValueError("alphas must not be empty.")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError("alphas must be finite and non-negative.")
    return grid


def ridge_path(
    X, y, *, alphas, fit_intercept=True, sample_weight=None, penalty_factor=None
):
    """Closed-form ridge solutions along a path of alphas.

    Minimises ``1/(2n) sum_i s_i (y_i - x_i.w - b)^2 + alpha/2 sum_j p_j w_j^2``
    by solving ``(X' S X / n + alpha diag(p)) w = X' S y / n`` on centred data
    (minimum-norm least squares at ``alpha = 0``).

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,) or (n_samples, n_targets)
        Response(s).
    alphas : array_like
        Non-negative regularization strengths; sorted into decreasing order.
    fit_intercept : bool, default=True
        Whether an unpenalized intercept is fitted.
    sample_weight : array_like of shape (n_samples,), optional
        Non-negative sample weights; rescaled to sum to ``n_samples``.
    penalty_factor : array_like of shape (n_features,), optional
        Non-negative per-feature penalty multipliers.

    Returns
    -------
    dict
        ``alphas`` (k,) decreasing, ``coefs`` (k, n_features) or
        (k, n_targets, n_features), ``intercepts`` (k,) or (k, n_targets).
    """
    X = _as_design(X)
    n, p = X.shape
    y = _as_target(y, n, allow_2d=True)
    s = _sample_weight(sample_weight, n)
    pf = _penalty_factor(penalty_factor, p)
    grid = np.sort(_ridge_alphas(alphas))[::-1]
    coefs, intercepts = _ridge_fit(X, y, grid, s, pf, fit_intercept)
    return {"alphas": grid, "coefs": coefs, "intercepts": intercepts}


def ridge_loo_mse(X, y, *, alphas, fit_intercept=True):
    """Exact leave-one-out mean squared error of ridge, by brute force.

    For every sample ``i`` the model is refitted (intercept included) on the
    other ``n - 1`` samples with the penalty of the full-data problem, i.e. it
    minimises ``sum_{k != i} (y_k - x_k.w - b)^2 + n * alpha * ||w||^2``, which
    is the leave-one-out model of the hat-matrix shortcut. Costs ``n`` fits per
    alpha: meant for small problems.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design matrix.
    y : array_like of shape (n_samples,) or (n_samples, n_targets)
        Response(s).
    alphas : array_like
        Non-negative regularization strengths (in the ``1/(2n)`` convention).
    fit_intercept : bool, default=True
        Whether an unpenalized intercept is fitted.

    Returns
    -------
    ndarray of shape (k,)
        Mean over samples (and targets) of the squared leave-one-out
        prediction errors, in the order of ``alphas`` as given.
    """
    X = _as_design(X)
    n, p = X.shape
    if n < 2:
        raise ValueError("ridge_loo_mse needs at least 2 samples.")
    y = _as_target(y, n, allow_2d=True)
    grid = _ridge_alphas(alphas)
    # On n - 1 samples the 1/(2(n-1)) objective needs alpha * n / (n - 1).
    train_alphas = grid * n / (n - 1)
    ones = np.ones(n - 1)
    pf = np.ones(p)
    sq_err = np.zeros((grid.size,) + y.shape[1:])
    for i in range(n):
        keep = np.arange(n) != i
        coefs, intercepts = _ridge_fit(
            X[keep], y[keep], train_alphas, ones, pf, fit_intercept
        )
        pred = coefs @ X[i] + intercepts  # (k,) or (k, n_targets)
        sq_err += (y[i] - pred) ** 2
    mse = sq_err / n
    return mse if mse.ndim == 1 else mse.mean(axis=1)


# --------------------------------------------------------------------------- #
# Data generators
# --------------------------------------------------------------------------- #
def _equicorrelated(rng, n_samples, n_features, rho):
    rho = float(rho)
    if not (0 <= rho < 1):
        raise ValueError(f"correlation must be in [0, 1), got {rho}.")
    Z = rng.standard_normal((n_samples, n_features))
    z0 = rng.standard_normal(n_samples)
    return np.sqrt(1 - rho) * Z + np.sqrt(rho) * z0[:, None]


def make_glmnet_design(n_samples, n_features, rho=0.5, snr=3.0, seed=0):
    """Simulated design of Friedman, Hastie and Tibshirani (2010, JSS).

    Rows of ``X`` are Gaussian with unit variances and equicorrelation ``rho``:
    ``X = sqrt(1 - rho) Z + sqrt(rho) z0[:, None]``. The coefficients are
    ``beta_j = (-1)^j exp(-2 (j - 1) / 20)`` for ``j = 1..p`` and
    ``y = X beta + k eps`` with standard normal ``eps`` and ``k`` chosen so
    that the population signal-to-noise ratio ``sd(x.beta) / sd(k eps)``
    equals ``snr``.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    rho : float, default=0.5
        Correlation between any two features, in [0, 1).
    snr : float, default=3.0
        Signal-to-noise ratio (> 0).
    seed : int, default=0
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    coef : ndarray of shape (n_features,)
        The true ``beta``.
    """
    snr = float(snr)
    if not snr > 0:
        raise ValueError(f"snr must be positive, got {snr}.")
    rng = np.random.default_rng(seed)
    X = _equicorrelated(rng, int(n_samples), int(n_features), rho)
    j = np.arange(1, int(n_features) + 1)
    coef = (-1.0) ** j * np.exp(-2.0 * (j - 1) / 20.0)
    # Var(x.beta) = beta' ((1 - rho) I + rho 11') beta.
    signal_sd = np.sqrt((1 - rho) * coef @ coef + rho * coef.sum() ** 2)
    noise = rng.standard_normal(X.shape[0])
    y = X @ coef + (signal_sd / snr) * noise
    return X, y, coef


def make_regression(
    n_samples,
    n_features,
    *,
    n_informative=None,
    noise=1.0,
    correlation=0.0,
    seed=0,
):
    """Simple linear-model data set with equicorrelated Gaussian features.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    n_informative : int, optional
        Number of nonzero coefficients, at random positions (default: all).
        Their magnitudes are uniform on [1, 3] with random signs.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to ``y``.
    correlation : float, default=0.0
        Correlation between any two features, in [0, 1).
    seed : int, default=0
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    coef : ndarray of shape (n_features,)
    """
    n_samples, n_features = int(n_samples), int(n_features)
    k = n_features if n_informative is None else int(n_informative)
    if not 0 <= k <= n_features:
        raise ValueError(f"n_informative must be in [0, {n_features}], got {k}.")
    noise = float(noise)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}.")
    rng = np.random.default_rng(seed)
    X = _equicorrelated(rng, n_samples, n_features, correlation)
    coef = np.zeros(n_features)
    idx = rng.choice(n_features, size=k, replace=False)
    coef[idx] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(1.0, 3.0, size=k)
    y = X @ coef + noise * rng.standard_normal(n_samples)
    return X, y, coef


# --------------------------------------------------------------------------- #
# GLM families (binomial, Poisson): objective and duality gap
# --------------------------------------------------------------------------- #
def _glm_parts(family, X, y, sample_weight, penalty_factor, l1_ratio):
    if family not in ("binomial", "poisson"):
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}.")
    if hasattr(X, "tocsr"):  # scipy.sparse: its products are all these need
        X = X.tocsr().astype(np.float64)
        if X.ndim != 2 or not np.all(np.isfinite(X.data)):
            raise ValueError("X must be 2-D with finite values.")
    else:
        X = _as_design(X)
    n, p = X.shape
    y = np.asarray(y, dtype=np.float64)
    s = _sample_weight(sample_weight, n)
    pf = _penalty_factor(penalty_factor, p)
    l1_ratio = _l1_ratio(l1_ratio, allow_zero=True)
    return X, y, s, pf, l1_ratio


def _glm_loss(family, y, eta):
    """``b(η) - y·η`` per sample."""
    cumulant = np.logaddexp(0.0, eta) if family == "binomial" else np.exp(eta)
    return cumulant - y * eta


def _glm_conjugate(family, m):
    """``b*(m)``: the negative binary entropy, or ``m·log m - m`` (0·log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mlogm = np.where(m > 0, m * np.log(np.where(m > 0, m, 1.0)), 0.0)
        if family == "binomial":
            c = 1.0 - m
            clogc = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0)), 0.0)
            return np.where((m >= 0) & (m <= 1), mlogm + clogc, np.inf)
        return np.where(m >= 0, mlogm - m, np.inf)


def glm_objective(X, y, coef, intercept, alpha, *, family, l1_ratio=1.0,
                  sample_weight=None, penalty_factor=None):  # fmt: skip
    """``(1/n)·Σ s_i·(b(η_i) - y_i·η_i) + alpha·(l1_ratio·Σ p_j|w_j| + (1 -
    l1_ratio)/2·Σ p_j w_j²)`` with ``η = Xw + b``: ``b(η) = log(1 + e^η)``
    (binomial, y in [0, 1]) or ``e^η`` (Poisson); ``s`` rescaled to sum to n."""
    X, y, s, pf, r = _glm_parts(family, X, y, sample_weight, penalty_factor, l1_ratio)
    w = np.asarray(coef, dtype=np.float64)
    eta = X @ w + float(intercept)
    data = np.sum(s * _glm_loss(family, y, eta)) / X.shape[0]
    pen = alpha * np.sum(pf * (r * np.abs(w) + 0.5 * (1.0 - r) * w * w))
    return float(data + pen)


def glm_duality_gap(X, y, coef, intercept, alpha, *, family, l1_ratio=1.0,
                    fit_intercept=True, sample_weight=None,
                    penalty_factor=None):  # fmt: skip
    """Primal minus dual objective at ``(coef, intercept)``, from a dual point
    built independently of the solver.

    The dual of the GLM problem is ``D(θ) = -(1/n)·Σ s_i·b*(y_i - n·θ_i/s_i) -
    Σ_j h_j*(x_jᵀθ)`` over θ with ``Σ θ_i = 0`` when an intercept is fitted
    (``h_j(w) = alpha·p_j·(l1_ratio·|w| + (1 - l1_ratio)/2·w²)``). The point is
    the generalized residual ``s_i(y_i - μ_i)/n``, its larger side (positive or
    negative entries) shrunk to balance the other, then scaled into the box
    ``|x_jᵀθ| <= alpha·p_j·l1_ratio`` of the features without an L2 part.
    Returns +inf when no finite dual point exists (an unpenalized feature with a
    non-zero correlation).
    """
    X, y, s, pf, r = _glm_parts(family, X, y, sample_weight, penalty_factor, l1_ratio)
    n = X.shape[0]
    w = np.asarray(coef, dtype=np.float64)
    b0 = float(intercept) if fit_intercept else 0.0
    eta = X @ w + b0
    mu = 1.0 / (1.0 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
    theta = s * (y - mu) / n
    if fit_intercept:
        pos, neg = theta[theta > 0].sum(), -theta[theta < 0].sum()
        if pos > neg:
            theta = np.where(theta > 0, theta * (neg / pos), theta)
        elif neg > pos:
            theta = np.where(theta < 0, theta * (pos / neg), theta)
    a = alpha * pf * r
    bq = alpha * pf * (1.0 - r)
    v = X.T @ theta
    flat = bq <= 0
    over = flat & (np.abs(v) > a)
    if np.any(over & (a <= 0)):
        return float("inf")
    scale = min(1.0, float(np.min(a[over] / np.abs(v[over]), initial=1.0)))
    theta, v = theta * scale, v * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        hstar = np.where(
            flat, 0.0, np.maximum(np.abs(v) - a, 0.0) ** 2 / (2 * np.where(flat, 1, bq))
        )
    pos_w = s > 0
    m = y[pos_w] - n * theta[pos_w] / s[pos_w]
    dual = -np.sum(s[pos_w] * _glm_conjugate(family, m)) / n - np.sum(hstar)
    primal = glm_objective(
        X, y, w, b0, alpha, family=family, l1_ratio=r, sample_weight=s,
        penalty_factor=pf,
    )  # fmt: skip
    return float(primal - dual)


# --------------------------------------------------------------------------- #
# Group penalties: the sparse-group lasso and the multi-task elastic net
# --------------------------------------------------------------------------- #
def _group_setup(X, y, l1_ratio, groups, sample_weight, penalty_factor,
                 fit_intercept):  # fmt: skip
    """Centred weighted data and the penalty in the (p, T) coefficient layout:
    per-coordinate L1 weights ``a``, per-group weights ``c`` and ridge ``b``, and
    the coordinates' group labels (flattened row-major)."""
    X = _as_design(X)
    n, p = X.shape
    Y = np.asarray(y, dtype=np.float64)
    multi = Y.ndim == 2
    Y = Y if multi else Y[:, None]
    if Y.shape[0] != n or not np.all(np.isfinite(Y)):
        raise ValueError("y must be finite with one row per sample.")
    T = Y.shape[1]
    s = _sample_weight(sample_weight, n)
    pf = _penalty_factor(penalty_factor, p)
    if np.any(pf <= 0):
        raise ValueError("the group reference needs penalty factors > 0.")
    r = float(l1_ratio)
    if multi:
        if groups is not None:
            raise ValueError("groups applies to one target; 2-D y is multi-task.")
        ids = np.repeat(np.arange(p), T)
        a = np.zeros(p * T)
        c = r * pf
        b = (1.0 - r) * pf
    else:
        if groups is None:
            raise ValueError("groups is required for a 1-D y.")
        _, ids = np.unique(np.asarray(groups), return_inverse=True)
        ids = ids.reshape(-1)
        a = r * pf
        c = (1.0 - r) * np.sqrt(np.bincount(ids).astype(np.float64))
        b = np.zeros(c.size)
    x_mean, Xc = _weighted_centre(X, s, fit_intercept)
    y_mean, Yc = _weighted_centre(Y, s, fit_intercept)
    sq = np.sqrt(s)
    return dict(Xt=sq[:, None] * Xc, Yt=sq[:, None] * Yc, x_mean=x_mean,
                y_mean=y_mean, a=a, c=c, b=b, ids=ids, n=n, T=T,
                multi=multi)  # fmt: skip


def _group_norms(V, ids, G):
    return np.sqrt(np.bincount(ids, weights=V * V, minlength=G))


def _group_penalty(z, alpha, g):
    G = g["c"].size
    nrm = _group_norms(z, g["ids"], G)
    return alpha * (
        np.sum(g["a"] * np.abs(z))
        + np.sum(g["c"] * nrm)
        + 0.5 * np.sum(g["b"][g["ids"]] * z * z)
    )


def _group_dual_norm(v, g):
    """Per group, the least t with ||S(v_g, t·a)|| <= t·c_g (bisection on a
    bracket whose upper end is always feasible)."""
    a, c, ids = g["a"], g["c"], g["ids"]
    G = c.size
    hi = np.full(G, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_c = np.where(c > 0, _group_norms(v, ids, G) / c, np.inf)
        ratio = np.where(a > 0, np.abs(v) / a, np.where(v != 0, np.inf, 0.0))
    by_a = np.zeros(G)
    np.maximum.at(by_a, ids, ratio)
    hi = np.minimum(by_c, by_a)
    lo = np.zeros(G)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        ok = _group_norms(_soft_threshold(v, mid[ids] * a), ids, G) <= mid * c
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    return hi


def _group_gap(g, z, alpha):
    """Primal minus dual at θ = s·R/n (s the largest keeping θ dual feasible)."""
    n, ids, G = g["n"], g["ids"], g["c"].size
    W = z.reshape(-1, g["T"])  # (p, T)
    R = g["Yt"] - g["Xt"] @ W
    primal = np.sum(R * R) / (2 * n) + _group_penalty(z, alpha, g)
    v = (g["Xt"].T @ R / n).reshape(-1)
    t = _group_dual_norm(v, g)
    t = np.where(g["b"] > 0, 0.0, t)
    tmax = float(np.max(t, initial=0.0))
    scale = alpha / tmax if tmax > alpha else 1.0
    u = _soft_threshold(scale * v, alpha * g["a"])
    excess = np.maximum(_group_norms(u, ids, G) - alpha * g["c"], 0.0)
    bb = alpha * g["b"]
    conj = np.sum(np.where(bb > 0, excess**2 / (2 * np.where(bb > 0, bb, 1.0)), 0.0))
    D = g["Yt"] - scale * R
    dual = (np.sum(g["Yt"] ** 2) - np.sum(D * D)) / (2 * n) - conj
    return primal - dual, primal


def _group_coef(coef, g):
    coef = np.asarray(coef, dtype=np.float64)
    return (coef.T if g["multi"] else coef[:, None]).reshape(-1)


def group_objective(X, y, coef, alpha, *, l1_ratio=1.0,
                    groups=None, sample_weight=None, penalty_factor=None,
                    fit_intercept=True):  # fmt: skip
    """The objective of a sparse-group lasso (1-D ``y`` and ``groups``) or of the
    multi-task elastic net (2-D ``y``, ``coef`` (n_targets, n_features) as
    scikit-learn's), at the intercept that is optimal for ``coef``::

        1/(2n)·||S^½(Y - XW - 1bᵀ)||²_F + alpha·(Σ_j a_j|w_j| + Σ_g c_g||w_g||
                                                 + Σ_g b_g/2·||w_g||²)

    with ``a = l1_ratio·p``, ``c_g = (1 - l1_ratio)·√|g|``, ``b = 0`` for groups, and
    ``a = 0``, ``c_j = l1_ratio·p_j``, ``b_j = (1 - l1_ratio)·p_j`` (one group per
    feature, across targets) for the multi-task penalty."""
    g = _group_setup(X, y, l1_ratio, groups, sample_weight, penalty_factor,
                     fit_intercept)  # fmt: skip
    return _group_gap(g, _group_coef(coef, g), float(alpha))[1]


def group_duality_gap(X, y, coef, alpha, *, l1_ratio=1.0,
                      groups=None, sample_weight=None, penalty_factor=None,
                      fit_intercept=True):  # fmt: skip
    """The duality gap of :func:`group_objective` at ``coef`` (objective units)."""
    g = _group_setup(X, y, l1_ratio, groups, sample_weight, penalty_factor,
                     fit_intercept)  # fmt: skip
    return _group_gap(g, _group_coef(coef, g), float(alpha))[0]


def group_enet_path(X, y, alphas, *, l1_ratio=1.0, groups=None, sample_weight=None,
                    penalty_factor=None, fit_intercept=True, tol=1e-10,
                    max_iter=200_000):  # fmt: skip
    """Proximal-gradient (ISTA) solutions of :func:`group_objective` at each alpha,
    warm-started along ``alphas``, each run until its gap is at most
    ``tol·||y − ȳ||²_F/n``. Returns coefs ((k, p) or (k, T, p)), intercepts and
    gaps."""
    g = _group_setup(X, y, l1_ratio, groups, sample_weight, penalty_factor,
                     fit_intercept)  # fmt: skip
    n, T, Xt = g["n"], g["T"], g["Xt"]
    p = Xt.shape[1]
    L = float(np.linalg.eigvalsh(Xt.T @ Xt / n)[-1]) if p else 1.0
    step = 1.0 / max(L, np.finfo(float).tiny)
    target = tol * np.sum(g["Yt"] ** 2) / n
    z = np.zeros(p * T)
    G = g["c"].size
    coefs, intercepts, gaps = [], [], []
    for alpha in np.asarray(alphas, dtype=np.float64):
        for it in range(max_iter):
            if it % 20 == 0:
                gap = _group_gap(g, z, alpha)[0]
                if gap <= target:
                    break
            W = z.reshape(p, T)
            v = (W + step * (Xt.T @ (g["Yt"] - Xt @ W)) / n).reshape(-1)
            u = _soft_threshold(v, step * alpha * g["a"])
            nrm = _group_norms(u, g["ids"], G)
            with np.errstate(divide="ignore", invalid="ignore"):
                keep = np.where(
                    nrm > 0, np.maximum(1 - step * alpha * g["c"] / nrm, 0), 0
                )
            z = u * keep[g["ids"]] / (1 + step * alpha * g["b"][g["ids"]])
        gap = _group_gap(g, z, alpha)[0]
        W = z.reshape(p, T)
        b = g["y_mean"] - g["x_mean"] @ W
        coefs.append(W.T if g["multi"] else W[:, 0])
        intercepts.append(b if g["multi"] else float(b[0]))
        gaps.append(gap)
    return np.array(coefs), np.array(intercepts), np.array(gaps)
