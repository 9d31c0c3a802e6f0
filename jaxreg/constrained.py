"""The constraint view: least squares inside an L1 or L2 ball, every radius at once.

For every radius ``t`` of a grid this module solves::

    minimize   1/(2n)·Σ_i s_i (y_i - x_i·w - b)²
    subject to ||w||₁ <= t        (norm="l1", Tibshirani's original lasso)
           or  ||w||₂ <= t        (norm="l2", ridge as a constraint)

with sample weights ``s`` rescaled to sum to n and an unconstrained intercept ``b``.
By Lagrangian duality each radius corresponds to a penalty: the solution at ``t``
is the lasso solution at ``alpha = ||Xᵀr/n||∞`` (L1), or the ridge solution of
``1/(2n)·||r||² + (alpha/2)·||w||²`` at ``alpha = ||Xᵀr/n||₂ / ||w||₂`` (L2), where
``r`` is the residual at the solution. Both multipliers are 0 when the ball
contains a least-squares solution.

The solver is accelerated projected gradient (FISTA with the prox replaced by the
Euclidean projection onto the ball), batched over the radii in the same loop
structure as :mod:`jaxreg.fista`: the loop owns the batch axis, the convergence
flags live in the carry, the certificate is evaluated every ``check_every`` steps
and gradient-scheme adaptive restart is always on. The projections are optax's
``projection_l1_ball`` / ``projection_l2_ball``, vmapped over the radii.

Certificate. With ``q = Xᵀr/n`` (minus the gradient) the Frank–Wolfe gap::

    gap(w) = max_{||v|| <= t} ⟨q, v - w⟩ = t·||q||_* - ⟨q, w⟩

(``||·||_*`` the dual norm: ∞ for L1, 2 for L2) bounds ``P(w) - P*`` from above for
every feasible ``w`` by convexity, and it is exactly the Lagrangian duality gap of
the dual point ``r/n``. A radius has converged when its gap ``<= tol·||y - ȳ||²/n``,
the rule used everywhere in jaxreg. The same ``w`` is then also certified for the
penalized problem at the reported ``alpha``: that problem's duality gap at ``w``
is ``||q||_*·||w|| - ⟨q, w⟩``, which is at most the constrained gap.

References
----------
Tibshirani (1996), Regression shrinkage and selection via the lasso. J. R. Statist.
Soc. B 58(1).
Beck & Teboulle (2009), A fast iterative shrinkage-thresholding algorithm for linear
inverse problems. SIAM J. Imaging Sci. 2(1).
O'Donoghue & Candès (2015), Adaptive restart for accelerated gradient schemes.
Found. Comput. Math. 15.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxreg import _memory, fista, stats
from jaxreg import _validation as V
from jaxreg import path as _path
from jaxreg._config import backend_of, compute_context, resolve_device

__all__ = ["ConstrainedResult", "constrained_path", "NORMS"]

NORMS = ("l1", "l2")
DEFAULT_MAX_ITER = _path.DEFAULT_MAX_ITER


# --------------------------------------------------------------------------- #
# Core: pure functions of arrays, jit-compiled once per shape
# --------------------------------------------------------------------------- #
class ConstrainedSolve(NamedTuple):
    coef: jax.Array  # (k, p) on the reduced (standardized) scale
    n_iter: jax.Array  # (k,) int32
    gap: jax.Array  # (k,) Frank–Wolfe gap at exit
    rr: jax.Array  # (k,) ||r||²/n at exit
    alpha: jax.Array  # (k,) the equivalent penalty (Lagrange multiplier)
    converged: jax.Array  # (k,) bool


def _project(V_, radii, norm):
    """Project each row of ``V_`` onto the ``norm`` ball of its own radius."""
    proj = (
        optax.projections.projection_l1_ball
        if norm == "l1"
        else optax.projections.projection_l2_ball
    )
    # optax divides by the radius (the L1 projection goes through the simplex of
    # sum t); the ball of radius 0 is the origin, so it is handled here.
    positive = radii > 0
    W = jax.vmap(proj)(V_, jnp.where(positive, radii, 1.0))  # rows x radii
    return jnp.where(positive[:, None], W, 0.0)


def _dual_norm(q, norm):
    if norm == "l1":
        return jnp.max(jnp.abs(q), axis=-1)
    return jnp.sqrt(jnp.sum(q * q, axis=-1))


def _q_and_rr(A, c, yy, W, gram):
    """``q = Xᵀ(y - Xw)/n`` and ``||y - Xw||²/n`` for every row w of W."""
    if gram:
        q = c - stats.dot(W, A)
        # ||r||²/n = yy - wᵀ(c + q): it cancels in float32, but it only feeds
        # dev_ratio, never the certificate.
        rr = jnp.maximum(yy - jnp.sum(W * (c + q), axis=-1), 0.0)
    else:
        R = c - stats.dot(W, A.T)
        q = stats.dot(R, A) / A.shape[0]
        rr = jnp.sum(R * R, axis=-1) / A.shape[0]
    return q, rr


def _fw_gap(W, q, radii, norm):
    """``t·||q||_* - ⟨q, w⟩`` (>= 0 for feasible w; rounding residue is clipped)."""
    return jnp.maximum(radii * _dual_norm(q, norm) - jnp.sum(q * W, axis=-1), 0.0)


def _multiplier(W, q, norm):
    """The penalty whose solution is w: ``||q||∞`` (L1), ``||q||₂/||w||₂`` (L2)."""
    nq = _dual_norm(q, norm)
    if norm == "l1":
        return nq
    nw = jnp.sqrt(jnp.sum(W * W, axis=-1))
    # w = 0 with q != 0 is the ridge solution only in the limit alpha -> inf.
    ratio = nq / jnp.where(nw > 0, nw, 1.0)
    return jnp.where(nq > 0, jnp.where(nw > 0, ratio, jnp.inf), 0.0)


def apg_batch(
    A,
    c,
    yy,
    radii,
    coef0,
    active0,
    lipschitz,
    tol_abs,
    max_iter,
    *,
    gram: bool,
    norm: str,
    check_every: int,
):
    """Accelerated projected gradient for B balls sharing the data.

    ``radii``: (B,); ``coef0``: (B, p) start (projected first); ``active0``: (B,)
    members to iterate (the others are returned as given). Returns
    ``(coef, n_iter, gap, rr, q, converged)``, each with a leading B axis.
    """
    step = 1.0 / lipschitz

    def one_step(carry, _):
        w, z, t = carry
        w_new = _project(z + step * fista._neg_grad(A, c, z, gram), radii, norm)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        restart = jnp.sum((z - w_new) * (w_new - w), axis=-1) > 0
        momentum = jnp.where(restart, 0.0, (t - 1.0) / t_new)
        z_new = w_new + momentum[:, None] * (w_new - w)
        return (w_new, z_new, jnp.where(restart, 1.0, t_new)), None

    def body(state):
        w, z, t, it, gap, rr, q, active = state
        (w2, z2, t2), _ = jax.lax.scan(one_step, (w, z, t), None, length=check_every)
        q2, rr2 = _q_and_rr(A, c, yy, w2, gram)
        gap2 = _fw_gap(w2, q2, radii, norm)
        keep = active[:, None]
        it = it + check_every * active.astype(it.dtype)
        new_active = active & (gap2 > tol_abs) & (it < max_iter)
        return (
            jnp.where(keep, w2, w),
            jnp.where(keep, z2, z),
            jnp.where(active, t2, t),
            it,
            jnp.where(active, gap2, gap),
            jnp.where(active, rr2, rr),
            jnp.where(keep, q2, q),
            new_active,
        )

    def cond(state):
        return jnp.any(state[-1])

    coef0 = jnp.where(active0[:, None], _project(coef0, radii, norm), coef0)
    q0, rr0 = _q_and_rr(A, c, yy, coef0, gram)
    gap0 = _fw_gap(coef0, q0, radii, norm)
    B = coef0.shape[0]
    state = (
        coef0,
        coef0,
        jnp.ones(B, coef0.dtype),
        jnp.zeros(B, jnp.int32),
        gap0,
        rr0,
        q0,
        active0 & (gap0 > tol_abs),
    )
    w, _, _, it, gap, rr, q, _ = jax.lax.while_loop(cond, body, state)
    return w, it, gap, rr, q, gap <= tol_abs


@functools.partial(jax.jit, static_argnames=("gram", "norm", "check_every", "chunk"))
def solve_constrained(
    A,
    c,
    yy,
    radii,
    coef_ls,
    fixed,
    lipschitz,
    tol_abs,
    max_iter,
    *,
    gram: bool,
    norm: str,
    check_every: int = 10,
    chunk: int,
) -> ConstrainedSolve:
    """Solve every ball of ``radii`` (increasing), in warm-started chunks.

    ``coef_ls``: (p,) a least-squares solution; ``fixed``: (k,) radii whose ball
    contains it, returned as ``coef_ls`` (certificate 0, multiplier 0) without
    iterating. Each chunk starts from the last solution of the previous chunk,
    which lies inside every later (larger) ball. ``len(radii)`` must be a
    multiple of ``chunk``.

    Notes
    -----
    jit-compiled; static: gram, norm, check_every, chunk. New radii, tol or
    max_iter reuse the compiled code; a new shape recompiles.
    """
    p = A.shape[1]

    def run_chunk(coef_prev, xs):
        t, fix = xs
        coef0 = jnp.where(
            fix[:, None], coef_ls[None, :], jnp.broadcast_to(coef_prev, (chunk, p))
        )
        w, it, gap, rr, q, conv = apg_batch(
            A,
            c,
            yy,
            t,
            coef0,
            ~fix,
            lipschitz,
            tol_abs,
            max_iter,
            gram=gram,
            norm=norm,
            check_every=check_every,
        )
        alpha = jnp.where(fix, 0.0, _multiplier(w, q, norm))
        out = ConstrainedSolve(w, it, jnp.where(fix, 0.0, gap), rr, alpha, conv | fix)
        return w[-1], out

    xs = (radii.reshape(-1, chunk), fixed.reshape(-1, chunk))
    _, res = jax.lax.scan(run_chunk, jnp.zeros(p, A.dtype), xs)
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), res)


@functools.partial(jax.jit, static_argnames=("gram", "norm"))
def _ls_solution(A, c, yy, *, gram: bool, norm: str):
    """Minimum-norm least squares, its ``norm`` and its ``||r||²/n``."""
    w = fista.least_squares(A, c, gram=gram)
    _, rr = _q_and_rr(A, c, yy, w[None, :], gram)
    size = jnp.sum(jnp.abs(w)) if norm == "l1" else jnp.sqrt(jnp.sum(w * w))
    return w, size, rr[0]


# --------------------------------------------------------------------------- #
# Shell: validation, result object, warnings
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True, repr=False)
class ConstrainedResult:
    """Constrained least squares along a grid of radii. Arrays have the radius
    axis first.

    Attributes
    ----------
    radii : ndarray (k,)
        Increasing radii ``t`` of the constraint ``||w|| <= t``.
    coefs : ndarray (k, n_features)
        Coefficients on the original scale of X.
    intercepts : ndarray (k,)
    gaps : ndarray (k,)
        Certificate per radius: the Frank–Wolfe (Lagrangian duality) gap
        ``t·||q||_* - ⟨q, w⟩ >= P(w) - P*``, in objective units (0 where the
        ball contains the least-squares solution, which is then returned).
    n_iter : ndarray (k,)
        Projected-gradient iterations used by each radius.
    converged : ndarray (k,) of bool
        ``gap <= tol·||y - ȳ||²/n``.
    alphas : ndarray (k,)
        The equivalent penalty (Lagrange multiplier) of each radius: the lasso
        alpha for ``norm="l1"``, the ridge alpha of
        ``1/(2n)·||r||² + (alpha/2)·||w||²`` for ``norm="l2"`` (``inf`` at radius
        0 for L2; exactly 0 for radii >= ``ls_norm``, and 0 up to the solver's
        accuracy wherever else the ball holds a least-squares solution).
        Mathematically non-increasing in t.
    df : ndarray (k,)
        Number of non-zero coefficients.
    dev_ratio : ndarray (k,)
        Fraction of the (weighted, centred) deviance explained.
    norm : {"l1", "l2"}
    ls_norm : float
        The norm of the minimum-norm least-squares solution: radii at or beyond
        it return least squares.
    """

    radii: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    gaps: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    alphas: np.ndarray
    df: np.ndarray
    dev_ratio: np.ndarray
    norm: str = "l1"
    ls_norm: float = float("nan")
    tol: float = float("nan")
    gap_tol: float = float("nan")
    mode: str = ""
    strategy: str = ""
    dtype: str = "float64"

    def predict(self, X) -> np.ndarray:
        """Predictions for every radius: ``(n_samples, k)``."""
        X = np.asarray(X, dtype=self.coefs.dtype)
        p = self.coefs.shape[-1]
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(f"X must be 2-D with {p} features, got shape {X.shape}.")
        return X @ self.coefs.T + self.intercepts[None, :]

    def __repr__(self) -> str:
        k = len(self.radii)
        return (
            f"ConstrainedResult({k} {self.norm} radii from {self.radii[0]:.4g} to "
            f"{self.radii[-1]:.4g}, coefs {self.coefs.shape[0]}x{self.coefs.shape[1]}, "
            f"{int(self.converged.sum())}/{k} converged, {self.dtype}, "
            f"mode={self.mode!r})"
        )


def _check_norm(norm) -> str:
    if not isinstance(norm, str) or norm.lower() not in NORMS:
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}.")
    return norm.lower()


def _check_radii(radii):
    """An int grid size (>= 2) or a float64 array sorted increasing."""
    if isinstance(radii, bool):
        raise TypeError(f"radii must be an int (grid size) or an array, got {radii!r}.")
    if isinstance(radii, numbers.Integral):
        if radii < 2:
            raise ValueError(
                f"radii must be a grid size >= 2 (from 0 to the least-squares norm) "
                f"or an array of radii, got {radii!r}."
            )
        return int(radii)
    if isinstance(radii, numbers.Real):
        radii = [radii]
    arr = np.asarray(V._as_array("radii", radii), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"radii must be an int or a non-empty 1-D array, got shape {arr.shape}."
        )
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            f"radii must be a 1-D array of non-negative finite floats, got "
            f"radii[{j}] = {float(arr[j])!r}."
        )
    return np.sort(arr)


def _warn_not_converged(res: ConstrainedResult, max_iter: int):
    bad = ~res.converged
    if not bad.any():
        return
    worst = int(np.argmax(np.where(bad, res.gaps, -np.inf)))
    warnings.warn(
        f"{int(bad.sum())} of {len(bad)} radii did not converge: the worst is "
        f"radius={res.radii[worst]:.4g} with certificate {res.gaps[worst]:.3e} > "
        f"{res.gap_tol:.3e} (tol={res.tol:g} times ||y - ȳ||²/n) after "
        f"{int(res.n_iter[worst])} iterations (max_iter={max_iter}). Increase "
        "max_iter, loosen tol or standardize X.",
        _path.ConvergenceWarning,
        stacklevel=3,
    )


def constrained_path(
    X,
    y,
    *,
    radii,
    norm="l1",
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    tol=1e-4,
    max_iter=DEFAULT_MAX_ITER,
    dtype=None,
    mode="auto",
    strategy="auto",
    chunk=None,
    check_every=10,
    device=None,
) -> ConstrainedResult:
    """Least squares inside an L1 or L2 ball, for every radius at once.

    Minimises, for every radius ``t``::

        1/(2n)·Σ s_i (y_i - x_i·w - b)²   subject to   ||w||₁ <= t  (or ||w||₂ <= t)

    the constrained form of the lasso (Tibshirani 1996) and of ridge regression.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    radii : int or array-like of shape (k,)
        The radii ``t >= 0`` (used sorted increasing), or a grid size ``k >= 2``:
        ``k`` equally spaced radii from 0 to the norm of the minimum-norm
        least-squares solution (``ls_norm`` of the result).
    norm : {"l1", "l2"}
        The ball: ``||w||₁ <= t`` (lasso) or ``||w||₂ <= t`` (ridge).
    fit_intercept : bool
        Centre X and y (weighted means); the intercept is never constrained.
    standardize : bool
        Solve on columns scaled to unit (weighted, 1/n) variance; the constraint
        then bounds the standardized coefficients (as the penalty of
        ``lasso_path(standardize=True)`` does). Coefficients are reported on the
        original scale.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative; rescaled to sum to n.
    tol : float
        A radius has converged when its certificate <= ``tol·||y - ȳ||²/n``.
    max_iter : int
        Most projected-gradient iterations per radius.
    dtype : {None, "float64", "float32"}
        float64 unless float32 is asked for (the global JAX config is untouched).
    mode : {"auto", "gram", "design"}
        Gram mode precomputes XᵀX/n (n >= p); design mode multiplies by X.
    strategy : {"auto", "parallel", "hybrid", "sequential"}
        All radii in one batch (GPU default), warm-started chunks of ``chunk``
        radii (CPU default), or one radius at a time.
    chunk : int, optional
        Chunk size for ``strategy="hybrid"`` (default 8).
    check_every : int
        Projected-gradient steps between two certificate evaluations.
    device : {None, "cpu", "gpu"} or jax.Device

    Returns
    -------
    ConstrainedResult
        ``radii``, ``coefs``, ``intercepts``, ``gaps`` (the certificate),
        ``n_iter``, ``converged``, ``alphas`` (the equivalent penalty per radius),
        ``df``, ``dev_ratio`` and ``predict(X)``.

    Raises
    ------
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.

    Notes
    -----
    Accelerated projected gradient with adaptive restart, step ``1/L`` with
    ``L`` the largest eigenvalue of XᵀX/n, projections by
    ``optax.projections.projection_l1_ball`` / ``projection_l2_ball``. The solver
    is jit-compiled; static: mode, norm, strategy, chunk, check_every. New radii,
    tol or max_iter reuse the compiled code; a new shape of X or a new number of
    radii recompiles. Radii at or beyond ``ls_norm`` return the minimum-norm
    least-squares solution in closed form, with certificate 0.

    The equivalent ``alphas`` come from the optimality conditions at the
    solution, ``q = Xᵀr/n``: for L1, ``q ∈ alpha·∂||w||₁`` gives
    ``alpha = ||q||∞``; for L2, ``q = alpha·w`` gives ``alpha = ||q||₂/||w||₂``.
    ``lasso_path(X, y, alphas=result.alphas)`` (or the ridge path at those alphas)
    returns the same coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.constrained import constrained_path
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> y = X @ [2.0, -1.0, 0.0, 0.5]
    >>> res = constrained_path(X, y, radii=[0.0, 1.0, 10.0], norm="l1")
    >>> np.round(np.abs(res.coefs).sum(axis=1), 6).tolist()
    [0.0, 1.0, 3.5]
    """
    X, y = V.check_X_y(X, y)
    norm = _check_norm(norm)
    radii = _check_radii(radii)
    tol = V.check_tol(tol)
    max_iter = V.check_max_iter(max_iter)
    dt = V.check_dtype(dtype, tol)
    if (
        isinstance(check_every, bool)
        or not isinstance(check_every, int)
        or check_every < 1
    ):
        raise ValueError(
            f"check_every must be a positive integer, got {check_every!r}."
        )
    dev = resolve_device(device)
    backend = backend_of(dev)
    if not isinstance(X, (np.ndarray, jax.Array)):
        X = np.asarray(X)
    _memory.check_memory(X.shape[0], X.shape[1], 1, dt,
                         _path._choose_mode(mode, *X.shape), dev, batch=1)
    with compute_context(dt, dev):
        prep = _path._Prepared(
            X,
            y,
            l1_ratio=1.0,
            fit_intercept=fit_intercept,
            standardize=standardize,
            sample_weight=sample_weight,
            penalty_factor=None,
            positive=False,
            lower_limits=None,
            upper_limits=None,
            mode=mode,
            dtype=dt,
        )
        pr = prep.problem
        gram = prep.mode == "gram"
        w_ls, ls_norm, _ = _ls_solution(pr.A, pr.c, pr.yy, gram=gram, norm=norm)
        ls_norm = float(ls_norm)
        if isinstance(radii, int):
            radii = np.linspace(0.0, ls_norm, radii)
        k = len(radii)
        strategy, chunk = _path._choose_chunk(strategy, chunk, k, backend)
        padded = -(-k // chunk) * chunk
        t = np.concatenate([radii, np.full(padded - k, radii[-1])])
        gap_tol = tol * prep.yy_total
        L = fista.lipschitz(pr.A, gram=gram)
        r = solve_constrained(
            pr.A,
            pr.c,
            pr.yy,
            jnp.asarray(t, dt),
            w_ls,
            jnp.asarray(t >= ls_norm),
            L,
            jnp.asarray(gap_tol, dt),
            jnp.asarray(max_iter, jnp.int32),
            gram=gram,
            norm=norm,
            check_every=check_every,
            chunk=chunk,
        )
        coefs, intercepts = prep.to_original(r.coef[:k])
    out_dt = np.dtype(dt)
    yy = prep.yy_total
    rr = np.asarray(r.rr[:k], np.float64)
    dev_ratio = 1.0 - rr / yy if yy > 0 else np.zeros(k)
    out = ConstrainedResult(
        radii=radii.astype(out_dt),
        coefs=coefs.astype(out_dt),
        intercepts=intercepts.astype(out_dt),
        gaps=np.asarray(r.gap[:k]).astype(out_dt),
        n_iter=np.asarray(r.n_iter[:k]).astype(np.int64),
        converged=np.asarray(r.converged[:k]).astype(bool),
        alphas=np.asarray(r.alpha[:k]).astype(out_dt),
        df=(coefs != 0).sum(axis=1).astype(np.int64),
        dev_ratio=np.clip(dev_ratio, 0.0, 1.0).astype(out_dt),
        norm=norm,
        ls_norm=ls_norm,
        tol=tol,
        gap_tol=gap_tol,
        mode=prep.mode,
        strategy=strategy,
        dtype=str(dt),
    )
    _warn_not_converged(out, max_iter)
    return out
