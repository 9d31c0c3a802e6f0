"""Hyperparameters tuned by gradient: :func:`tune`.

The K-fold cross-validation error of the elastic net::

    CV(θ) = (1/K)·Σ_k Σ_{i∈test_k} s_i·(y_i − x_i·w_k − b_k)² / Σ_{i∈test_k} s_i

(``w_k``, ``b_k`` fold k's solution on its training samples, :func:`jaxreg.cv_path`'s
``mse_mean``) is a piecewise-smooth function of the regularization. Its gradient
comes from the implicit differentiation of :mod:`jaxreg.functional` (the
optimality conditions on every fold's support; in reverse mode one linear solve
per fold), and :func:`tune` descends it in log space with an optax optimizer
(Adam by default): the hypergradient descent of sparse-ho (Bertrand et al.
2020, 2022), every fold solved in one batch and warm-started from its previous
solution. ``params="alpha"`` tunes the one alpha; ``params="penalty_factor"``
one factor per feature (a learned adaptive lasso), where a grid is hopeless.

Folds are solved in Gram form (each fold's ``XᵀX/n`` from one pass over X, the
held-out rows' products subtracted) when n >= p, in design form otherwise.

References
----------
Bertrand, Klopfenstein, Blondel, Vaiter, Gramfort & Salmon (2020), Implicit
differentiation of Lasso-type models for hyperparameter optimization. ICML.
Bertrand, Klopfenstein, Massias, Blondel, Vaiter, Gramfort & Salmon (2022),
Implicit differentiation for fast hyperparameter selection in non-smooth convex
learning. JMLR 23.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _config, datafits, functional
from jaxreg import _validation as V
from jaxreg.results import ConvergenceWarning

__all__ = ["TuneResult", "tune"]

PARAMS = ("alpha", "penalty_factor")
DEFAULT_STEPS = 50
DEFAULT_LEARNING_RATE = 0.1
# Without an alpha, the descent starts at this fraction of alpha_max (the middle,
# in log scale, of a default grid ending at 1e-3·alpha_max).
START_FRACTION = 10.0**-1.5


@dataclasses.dataclass(frozen=True, eq=False)
class TuneResult:
    """What :func:`tune` found, the way it went, and the model at the end.

    Attributes
    ----------
    params : str
        What was tuned: "alpha" or "penalty_factor".
    alpha : float
        The alpha of the best step (fixed when ``params="penalty_factor"``).
    penalty_factor : ndarray (n_features,)
        The penalty factors of the best step.
    l1_ratio : float
    coef : ndarray (n_features,), intercept : float
        The fit on all the data at the best step's values.
    cv_mse : float
        The cross-validated mean squared error at the best step.
    best_step : int
        The step with the smallest certified ``cv_mse`` (0 is the start).
    loss_path : ndarray (n_steps + 1,)
        The CV error at every step (the trajectory).
    alpha_path : ndarray (n_steps + 1,)
    penalty_factor_path : ndarray (n_steps + 1, n_features)
    grad_path : ndarray (n_steps + 1,) or (n_steps + 1, n_features)
        The gradient of the CV error in log alpha (or in the log factors).
    fold_certified : ndarray of bool (n_steps + 1,)
        Every fold's solution certified (``gap <= tol·||y_k − ȳ_k||²/n_k``) at
        that step: only those steps can be the best.
    gap : float
        The duality gap of the fit on all the data.
    converged : bool
        That gap within tol, and the best step's folds certified.
    seconds : float
        Wall time of the descent and the final fit.
    """

    params: str
    alpha: float
    penalty_factor: np.ndarray
    l1_ratio: float
    coef: np.ndarray
    intercept: float
    cv_mse: float
    best_step: int
    loss_path: np.ndarray
    alpha_path: np.ndarray
    penalty_factor_path: np.ndarray
    grad_path: np.ndarray
    fold_certified: np.ndarray
    gap: float
    converged: bool
    seconds: float

    @property
    def n_steps(self) -> int:
        return self.loss_path.shape[0] - 1

    def predict(self, X) -> np.ndarray:
        """``X @ coef + intercept``."""
        return np.asarray(X) @ self.coef + self.intercept

    def summary(self) -> str:
        """A few lines: what was tuned, from where to where, and the support."""
        nnz = int(np.count_nonzero(self.coef))
        pf = self.penalty_factor
        lines = [
            f"tune({self.params!r}): {self.n_steps} steps, best at step "
            f"{self.best_step}, {self.seconds:.2f} s",
            f"  CV MSE {self.loss_path[0]:.6g} (start) -> {self.cv_mse:.6g}",
            f"  alpha {self.alpha_path[0]:.6g} (start) -> {self.alpha:.6g}",
        ]
        if self.params == "penalty_factor":
            q = np.quantile(pf, [0.0, 0.5, 1.0])
            lines.append(
                f"  penalty factors: min {q[0]:.3g}, median {q[1]:.3g}, max {q[2]:.3g}"
            )
        lines.append(
            f"  {nnz} of {pf.shape[0]} features selected; gap {self.gap:.3g}"
            + ("" if self.converged else " (NOT converged)")
        )
        return "\n".join(lines)


class _GramFolds(NamedTuple):
    """Every fold in Gram form: the training datafits stacked (K, p, p) and the
    held-out rows' statistics centred at the fold's training means."""

    train: datafits.QuadraticGram
    lip: jax.Array  # (K,)
    A: jax.Array  # (K,) Σ s(y − ȳ_k)² over the held-out rows
    b: jax.Array  # (K, p) Σ s(x − x̄_k)(y − ȳ_k)
    C: jax.Array  # (K, p, p) Σ s(x − x̄_k)(x − x̄_k)ᵀ
    S: jax.Array  # (K,) Σ s
    scale: jax.Array  # (K, p) the training columns' sd with standardize, else 1

    def mse(self, W):
        W = W / self.scale  # the solvers' coordinates to the data's
        quad = jnp.einsum("kp,kpq,kq->k", W, self.C, W)
        return (self.A - 2.0 * jnp.sum(self.b * W, -1) + quad) / self.S


class _RowFolds(NamedTuple):
    """Every fold in design form (p > n): the training rows weighted and centred,
    stacked (K, n, p), and the held-out weights on the (centred) data."""

    train: datafits.QuadraticDesign
    lip: jax.Array
    X: jax.Array  # (n, p)
    y: jax.Array  # (n,)
    xm: jax.Array  # (K, p) training means
    ym: jax.Array  # (K,)
    held: jax.Array  # (K, n) held-out weights
    scale: jax.Array  # (K, p)

    def mse(self, W):
        W = W / self.scale
        R = (
            self.y
            - datafits.dot(W, self.X.T)
            - (self.ym - jnp.sum(self.xm * W, -1))[:, None]
        )
        return jnp.sum(self.held * R * R, -1) / jnp.sum(self.held, -1)


def _sd(var, standardize):
    """The columns' scale: their sd (1 for a constant one) with standardize."""
    if not standardize:
        return np.ones_like(var)
    sd = np.sqrt(np.maximum(var, 0.0))
    return np.where(sd > 0, sd, 1.0)


def _fold_stats(Xg, yg, s, train, test, fit_intercept, standardize, moments):
    """The folds' datafits (in the standardized coordinates with standardize) and
    held-out statistics (NumPy float64), from the data centred at its weighted
    means (``Xg``, ``yg``; raw without an intercept) and, in Gram form, its
    weighted moments ``(Σ s·xxᵀ, Σ s·xy, Σ s·y²)`` (None: design form)."""
    n, p = Xg.shape
    gram = moments is not None
    if gram:
        M, m, myy = moments
    parts = []
    for k in range(train.shape[0]):
        wtr, wv = s * train[k], s * test[k]
        W = wtr.sum()
        xm = wtr @ Xg / W if fit_intercept else np.zeros(p)
        ym = float(wtr @ yg / W) if fit_intercept else 0.0
        if not gram:
            root = np.sqrt(wtr * (n / W))
            Xt, yt = root[:, None] * (Xg - xm), root * (yg - ym)
            sd = _sd(np.sum(Xt * Xt, axis=0) / n, standardize)
            Xt = Xt / sd
            lip = datafits.host_lipschitz(Xt, gram=False)
            parts.append((Xt, yt, float(yt @ yt) / n, lip, xm, ym, wv, sd))
            continue
        rows = test[k] > 0
        Xv, yv, sv = Xg[rows] - xm, yg[rows] - ym, wv[rows]
        C, b, A = (Xv * sv[:, None]).T @ Xv, Xv.T @ (sv * yv), float(sv @ (yv * yv))
        if np.array_equal(train[k] + test[k], np.ones(n)):
            # a partition: training = all − held out (Σ s·Xg = 0, or xm = 0)
            T = M + n * np.outer(xm, xm) - C
            t = m + n * xm * ym - b
            tyy = myy + n * ym * ym - A
        else:  # a sample in both, or in neither
            rt = train[k] > 0
            Xt, yt, st = Xg[rt] - xm, yg[rt] - ym, wtr[rt]
            T, t, tyy = (Xt * st[:, None]).T @ Xt, Xt.T @ (st * yt), st @ (yt * yt)
        G, t = T / W, t / W
        sd = _sd(np.diag(G), standardize)
        G, t = G / np.outer(sd, sd), t / sd
        lip = datafits.host_lipschitz(G, True)
        parts.append((G, t, tyy / W, lip, A, b, C, wv.sum(), sd))
    return [np.stack(col) for col in zip(*parts, strict=True)]


def _folds(X, y, s, train, test, fit_intercept, standardize, dt):
    """The folds, the data term on all the data, its columns' scale, and the
    centring."""
    n, p = X.shape
    if fit_intercept:
        xbar, ybar = s @ X / n, float(s @ y / n)
    else:
        xbar, ybar = np.zeros(p), 0.0
    Xg, yg = X - xbar, y - ybar
    m = Xg.T @ (s * yg)  # n·Xᵀy's correlations, and Gram form's moment
    moments = None
    if n >= p:  # Gram form: the data's moments, from one pass
        moments = ((Xg * s[:, None]).T @ Xg, m, float(s @ (yg * yg)))
    stats = _fold_stats(Xg, yg, s, train, test, fit_intercept, standardize, moments)
    cols = [jnp.asarray(c, dt) for c in stats]
    sd = _sd(s @ (Xg * Xg) / n, standardize)
    if moments is not None:
        G, c, yy, lip, A, b, C, S, scale = cols
        folds = _GramFolds(datafits.QuadraticGram(G, c, yy), lip, A, b, C, S, scale)
        M = moments[0] / n / np.outer(sd, sd)
        full = datafits.QuadraticGram(
            jnp.asarray(M, dt), jnp.asarray(m / n / sd, dt),
            jnp.asarray(moments[2] / n, dt),
        )  # fmt: skip
        full_lip = datafits.host_lipschitz(M, True)
        spectrum = M
    else:
        Xt, yt, yy, lip, xm, ym, held, scale = cols
        folds = _RowFolds(
            datafits.QuadraticDesign(Xt, yt, yy), lip, jnp.asarray(Xg, dt),
            jnp.asarray(yg, dt), xm, ym, held, scale,
        )  # fmt: skip
        root = np.sqrt(s)
        Xs, ys = root[:, None] * Xg / sd, root * yg
        full = datafits.QuadraticDesign(
            jnp.asarray(Xs, dt), jnp.asarray(ys, dt), jnp.asarray(ys @ ys / n, dt)
        )
        full_lip = datafits.host_lipschitz(Xs, gram=False)
        spectrum = Xs
    # the correlations of alpha_max on all the data
    corr = np.abs(m) / n / sd
    return folds, full, jnp.asarray(full_lip, dt), sd, (xbar, ybar), corr, spectrum


def _ridge_start(spectrum, pf, gram):
    """Ridge's start: the alpha at which its effective degrees of freedom
    ``Σ λ_i/(λ_i + alpha)`` (``λ`` the eigenvalues of the penalized columns'
    ``XᵀX/n``, each column scaled by ``1/√p_j``) are half their rank.
    ``spectrum``: ``XᵀX/n`` (``gram``) or the weighted design (n × p)."""
    pos = pf > 0
    root = np.sqrt(pf[pos])
    if gram:
        lam = np.linalg.eigvalsh(spectrum[np.ix_(pos, pos)] / np.outer(root, root))
    else:
        Xs = spectrum[:, pos] / root
        lam = np.linalg.eigvalsh(Xs @ Xs.T / Xs.shape[0])
    lam = lam[lam > 1e-12 * lam.max()]
    lo, hi = np.log(lam.min()) - 5.0, np.log(lam.max()) + 5.0
    for _ in range(100):  # df falls as alpha grows: bisection in log alpha
        mid = 0.5 * (lo + hi)
        if np.sum(lam / (lam + np.exp(mid))) > 0.5 * lam.size:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def _unpack(kind, theta, base_alpha, base_pf, tuned, xp=jnp):
    """alpha and the penalty factors at ``theta`` (log alpha, or log factors)."""
    if kind == "alpha":
        return xp.exp(theta), base_pf
    return base_alpha, xp.where(tuned, xp.exp(theta), base_pf)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _value_and_grad(r, tol, max_iter, kind, folds, theta, base_alpha, base_pf, tuned,
                    starts):  # fmt: skip
    """The CV error at ``theta``, its gradient, and every fold's solution and gap."""

    def objective(theta):
        a, pf = _unpack(kind, theta, base_alpha, base_pf, tuned)

        def one(df, start, lip):
            W, gap = functional._solve(
                r, tol, max_iter, df, a[None], pf, start[None], lip
            )
            return W[0], gap[0]

        W, gap = jax.vmap(one)(folds.train, starts, folds.lip)
        return jnp.mean(folds.mse(W)), (W, gap)

    return jax.value_and_grad(objective, has_aux=True)(theta)


def _check_optimizer(optimizer, learning_rate):
    import optax

    if optimizer is None:
        lr = V.check_real("learning_rate", learning_rate, low_open=True)
        return optax.adam(lr)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(
            "optimizer must be an optax GradientTransformation (with init and "
            f"update), e.g. optax.adam(0.1); got {optimizer!r}."
        )
    return optimizer


def _stalled(record, stop):
    """The best error fell by less than ``rtol`` over the last ``patience``
    steps (``stop = (patience, rtol)``)."""
    if stop is None or len(record) <= stop[0]:
        return False
    before, now = record[-1 - stop[0]], record[-1]
    return bool(np.isfinite(before) and before - now <= stop[1] * abs(before))


def _descend(opt, theta, starts, steps, stop, evaluate, verbose):
    """Up to ``steps`` optimizer steps from ``theta``, every fold warm-started
    from its last solution, stopping early when the best certified error fell by
    less than ``rtol`` (relative) over the last ``patience`` steps (``stop``,
    None to never stop). Returns the trajectory (errors, points, gradients,
    certified) and the best certified step (the smallest error if none is), its
    point and its fold solutions."""
    state = opt.init(theta)
    losses, points, grads, certified = trail = ([], [], [], [])
    best, record = None, []  # record: the best certified error after each step
    for step in range(steps + 1):
        loss, grad, W, ok = evaluate(theta, starts)
        losses.append(loss)
        points.append(np.asarray(theta))
        grads.append(np.asarray(grad))
        certified.append(ok)
        if ok and (best is None or loss < losses[best[0]]):
            best = (step, theta, W)
        record.append(losses[best[0]] if best is not None else np.inf)
        done = step == steps or _stalled(record, stop)
        if verbose and (step % 10 == 0 or done):
            flag = "" if ok else "  (folds not certified)"
            print(f"tune: step {step:4d}  CV MSE {loss:.6g}{flag}")
        if done:
            break
        updates, state = opt.update(grad, state, theta)
        theta, starts = theta + updates, W
    if best is None:  # no certified step: the smallest error (a warm start)
        step = int(np.nanargmin(losses))
        best = (step, points[step], W)
    return (trail, *best)


def tune(X, y, *, params="alpha", cv=5, l1_ratio=1.0, alpha=None, penalty_factor=None,
         fit_intercept=True, standardize=False, sample_weight=None, groups=None,
         shuffle=False, seed=None, steps=DEFAULT_STEPS,
         learning_rate=DEFAULT_LEARNING_RATE, optimizer=None, patience=10,
         rtol=1e-4, tol=1e-4, max_iter=functional.DEFAULT_MAX_ITER, dtype=None,
         device=None, verbose=False) -> TuneResult:  # fmt: skip
    """Tune alpha, or one penalty factor per feature, by gradient descent on the
    cross-validated error.

    Minimises, in log space, :func:`jaxreg.cv_path`'s ``mse_mean`` (the mean over
    the folds of the held-out mean squared error) of the elastic net
    ``1/(2n)·Σ s_i(y_i − x_i·w − b)² + alpha·(l1_ratio·Σ p_j|w_j| +
    (1 − l1_ratio)/2·Σ p_j w_j²)`` fitted on every fold's training samples. The
    gradient is exact on every fold's support (implicit differentiation, see
    :mod:`jaxreg.functional`); at a support change the descent takes the
    one-sided derivative of the support it has. The error is not convex in the
    hyperparameters: the descent finds a local minimum near its start.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense.
    y : array-like of shape (n_samples,)
    params : {"alpha", "penalty_factor"}
        "alpha": the one alpha (``penalty_factor`` fixed). "penalty_factor": one
        factor per feature with a positive ``penalty_factor`` (``alpha`` fixed;
        the features' penalties are ``alpha·p_j``), the unpenalized ones left so.
    cv : int, splitter, iterable of (train, test), or array of fold ids
        As in :func:`jaxreg.cv_path` (with ``groups``, ``shuffle``, ``seed``); a
        single ``(train, test)`` pair tunes the held-out error of one split.
    l1_ratio : float in [0, 1]
        1 is the lasso, 0 ridge (closed form on every fold).
    alpha : float, optional
        The start (and with ``params="penalty_factor"`` the fixed alpha); by
        default ``10^-1.5·alpha_max``, the middle of a default grid in log scale
        (ridge: the alpha at which its effective degrees of freedom are half the
        penalized columns' rank).
        Passing ``cv_path(...).alpha_min`` starts a penalty-factor descent at
        the grid's choice.
    penalty_factor : array-like of shape (n_features,), optional
        The start (default ones); 0 keeps a feature unpenalized.
    fit_intercept : bool
    standardize : bool
        As in :func:`jaxreg.cv_path`: every fold penalizes the coefficients of its
        training columns scaled to unit variance (the penalty factors apply to
        those); ``coef`` is on the original scale.
    sample_weight : array-like of shape (n_samples,), optional
        As in :func:`jaxreg.cv_path` (held-out errors weighted too).
    steps : int, default 50
        Most gradient steps (the trajectory has up to ``steps + 1`` points).
    learning_rate : float, default 0.1
        Adam's step in log space (0.1 moves a hyperparameter by about 10%).
    optimizer : optax.GradientTransformation, optional
        Any optax optimizer in place of ``optax.adam(learning_rate)``.
    patience : int or None, default 10
        Stop before ``steps`` when the best CV error fell by less than ``rtol``
        (relative) over the last ``patience`` steps; None never stops early.
    rtol : float, default 1e-4
    tol : float
        Every fold's solve stops at ``gap <= tol·||y_k − ȳ_k||²/n_k``, then its
        support's exact solution is taken; a step whose folds are not all
        certified cannot be the best.
    max_iter : int
        Most FISTA iterations per fold and step.
    dtype : {"float64", "float32"}, optional
        float64 by default.
    device : None, "cpu", "gpu" or a jax.Device
    verbose : bool
        Print the CV error every 10 steps.

    Returns
    -------
    TuneResult
        The best step's values, the trajectory and the fit on all the data.

    Raises
    ------
    ValueError
        On an unknown ``params``, a non-positive ``alpha``, ``steps`` < 0, or
        what :func:`jaxreg.cv_path` rejects.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> y = X[:, :3] @ [3.0, -2.0, 1.0] + rng.normal(size=200)
    >>> res = jaxreg.tune(X, y, steps=30)
    >>> res.cv_mse <= res.loss_path[0]
    True
    """
    from jaxreg import cv as _cv

    kind = V.check_choice("params", params, PARAMS)
    if V._sparse(X):
        raise TypeError("tune takes a dense X (sparse X: see cv_path).")
    X, y = V.check_X_y(X, y)
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    n, p = X.shape
    r = V.check_l1_ratio(l1_ratio, allow_zero=True)
    model = V.check_model(
        n, p, fit_intercept=fit_intercept, standardize=standardize,
        sample_weight=sample_weight, penalty_factor=penalty_factor,
    )  # fmt: skip
    steps = V.check_int("steps", steps, minimum=0)
    stop = None
    if patience is not None:
        stop = (V.check_int("patience", patience), V.check_real("rtol", rtol))
    opt = _check_optimizer(optimizer, learning_rate)
    tol, max_iter = V.check_tol(tol), V.check_max_iter(max_iter)
    dt = V.check_dtype(dtype, tol)
    dev = _config.resolve_device(device)
    verbose = V.check_flag("verbose", verbose)
    s = model.sample_weight
    kw = {"cv": cv, "groups": groups, "shuffle": shuffle, "seed": seed}
    train, test = _cv._fold_counts(kw, X, y, n, s)
    pf0 = model.penalty_factor
    tuned = pf0 > 0 if kind == "penalty_factor" else np.zeros(p, bool)
    if alpha is not None:
        alpha = V.check_real("alpha", alpha, low_open=True)
    t0 = time.perf_counter()
    with _config.compute_context(dt, dev):
        folds, full, full_lip, sd, (xbar, ybar), corr, spectrum = _folds(
            X, y, s, train, test, model.fit_intercept, model.standardize, dt
        )
        if alpha is None:
            pos = pf0 > 0
            amax = float(np.max(corr[pos] / (max(r, 1e-3) * pf0[pos])))
            if not amax > 0:
                raise ValueError("y is constant (after centring): nothing to tune.")
            alpha = (
                START_FRACTION * amax
                if r > 0
                else _ridge_start(
                    spectrum, pf0, isinstance(full, datafits.QuadraticGram)
                )
            )
        base_pf, tuned_j = jnp.asarray(pf0, dt), jnp.asarray(tuned)
        base_alpha = jnp.asarray(alpha, dt)
        if kind == "alpha":
            theta = jnp.asarray(np.log(alpha), dt)
        else:
            theta = jnp.asarray(
                np.where(tuned, np.log(np.where(tuned, pf0, 1.0)), 0.0), dt
            )
        thresholds = tol * np.asarray(folds.train.yy)

        def evaluate(theta, starts):
            (loss, (W, gaps)), grad = _value_and_grad(
                r, tol, max_iter, kind, folds, theta, base_alpha, base_pf, tuned_j,
                starts,
            )  # fmt: skip
            loss = float(loss)
            ok = bool(np.all(np.asarray(gaps) <= thresholds)) and np.isfinite(loss)
            return loss, grad, W, ok

        starts = jnp.zeros((train.shape[0], p), dt)
        trail, step_best, theta_best, W_best = _descend(
            opt, theta, starts, steps, stop, evaluate, verbose
        )
        losses, thetas, grads, certified = trail
        loss_best = losses[step_best]
        a_best, pf_best = _unpack(
            kind, jnp.asarray(theta_best, dt), base_alpha, base_pf, tuned_j
        )
        start = jnp.mean(jnp.asarray(W_best), axis=0)[None]
        coef, gap = functional._forward(
            r, tol, max_iter, full, a_best[None], pf_best, start, full_lip
        )
        coef, gap = np.asarray(coef[0], np.float64) / sd, float(gap[0])
    converged = bool(
        np.isfinite(gap) and gap <= tol * float(full.yy) and certified[step_best]
    )
    if not converged:
        warnings.warn(
            "tune: the final fit or the best step's folds are not certified within "
            f"tol={tol:g}; raise max_iter.",
            ConvergenceWarning,
            stacklevel=2,
        )
    alphas, pfs = [], []
    for th in thetas:
        a_, pf_ = _unpack(kind, np.asarray(th, np.float64), alpha, pf0, tuned, np)
        alphas.append(float(a_))
        pfs.append(np.asarray(pf_, np.float64))
    return TuneResult(
        params=kind,
        alpha=float(a_best),
        penalty_factor=np.asarray(pf_best, np.float64),
        l1_ratio=r,
        coef=coef,
        intercept=float(ybar - xbar @ coef),
        cv_mse=float(loss_best),
        best_step=int(step_best),
        loss_path=np.asarray(losses),
        alpha_path=np.asarray(alphas),
        penalty_factor_path=np.stack(pfs),
        grad_path=np.stack(grads).astype(np.float64),
        fold_certified=np.asarray(certified),
        gap=gap,
        converged=converged,
        seconds=time.perf_counter() - t0,
    )
