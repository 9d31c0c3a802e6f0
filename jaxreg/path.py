"""Lasso and elastic-net paths: every alpha at once, each one certified.

Objective, for every alpha of the grid (glmnet's and scikit-learn's enet_path form)::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ_j p_j|w_j|
                                           + (1 - l1_ratio)/2·Σ_j p_j w_j²)

with sample weights ``s`` rescaled to sum to n, penalty factors ``p`` and an
unpenalized intercept ``b``.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _memory, fista, screening, stats
from jaxreg import _validation as V
from jaxreg._config import backend_of, compute_context, resolve_device

__all__ = [
    "ConvergenceWarning",
    "PathResult",
    "alpha_max",
    "enet_path",
    "lasso_path",
]

DEFAULT_MAX_ITER = 20_000
MODES = ("auto", "gram", "design")
STRATEGIES = ("auto", "parallel", "hybrid", "sequential")
SCREENS = ("auto", "none", "strong")
# screen="auto" turns the working set on for CPU chunked paths from this many
# features. Each working-set width is one more compiled shape (about 1 s each on a
# 2-core CPU); measured on the glmnet design (rho=0.5, 100 alphas, tol=1e-6):
# p=500 ran 0.94 s -> 0.46 s but compiled 5 s longer; p=2000 ran 36 s -> 24 s.
SCREEN_MIN_FEATURES = 1000
# Alphas per warm-started chunk for strategy="hybrid" (the CPU default).
HYBRID_CHUNK = 8


class ConvergenceWarning(UserWarning):
    """Some alphas did not reach the requested duality gap."""


@dataclasses.dataclass(frozen=True, repr=False)
class PathResult:
    """A regularization path. Arrays have the alpha axis first.

    Attributes
    ----------
    alphas : ndarray (k,)
        Decreasing regularization strengths.
    coefs : ndarray (k, n_features) or (k, n_targets, n_features)
        Coefficients on the original scale of X.
    intercepts : ndarray (k,) or (k, n_targets)
    gaps : ndarray (k,)
        Duality gap of each solution, in objective units (0 for closed forms).
    n_iter : ndarray (k,)
        Iterations used by each alpha.
    converged : ndarray (k,) of bool
        ``gap <= tol·||y - ȳ||²/n``.
    df : ndarray (k,)
        Number of non-zero coefficients.
    dev_ratio : ndarray (k,)
        Fraction of the (weighted, centred) deviance explained.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    gaps: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    df: np.ndarray
    dev_ratio: np.ndarray
    l1_ratio: float = 1.0
    alpha_max: float = float("nan")
    tol: float = float("nan")
    gap_tol: float = float("nan")
    mode: str = ""
    strategy: str = ""
    dtype: str = "float64"

    def predict(self, X) -> np.ndarray:
        """Predictions for every alpha: ``(n_samples, k)``, or ``(n, k, n_targets)``."""
        X = np.asarray(X, dtype=self.coefs.dtype)
        p = self.coefs.shape[-1]
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(f"X must be 2-D with {p} features, got shape {X.shape}.")
        if self.coefs.ndim == 2:
            return X @ self.coefs.T + self.intercepts[None, :]
        return np.einsum("np,ktp->nkt", X, self.coefs) + self.intercepts[None]

    def summary(self, max_rows: int = 20) -> str:
        """A glmnet-style table: alpha, df, % deviance explained, gap."""
        k = len(self.alphas)
        rows = np.unique(np.linspace(0, k - 1, min(k, max_rows)).round().astype(int))
        lines = [f"{'':>4} {'alpha':>11} {'df':>5} {'%dev':>7} {'gap':>10} conv"]
        for i in rows:
            lines.append(
                f"{i:>4} {self.alphas[i]:>11.4g} {int(self.df[i]):>5} "
                f"{100 * self.dev_ratio[i]:>7.2f} {self.gaps[i]:>10.2e} "
                f"{'yes' if self.converged[i] else 'NO'}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        k = len(self.alphas)
        shape = "x".join(map(str, self.coefs.shape))
        return (
            f"PathResult({k} alphas from {self.alphas[0]:.4g} "
            f"to {self.alphas[-1]:.4g}, "
            f"coefs {shape}, {int(self.converged.sum())}/{k} converged, "
            f"l1_ratio={self.l1_ratio:g}, {self.dtype}, mode={self.mode!r})"
        )


def _alpha_max_from_gradient(q0, l1_ratio, pf, lower, upper) -> float:
    """Smallest alpha at which w = 0 satisfies the optimality conditions."""
    q0 = np.asarray(q0, dtype=np.float64)
    push = np.maximum(np.where(upper > 0, q0, 0.0), np.where(lower < 0, -q0, 0.0))
    penalized = pf > 0
    return float(np.max(push[penalized] / (l1_ratio * pf[penalized]), initial=0.0))


def _grid(alphas, amax: float, eps: float) -> np.ndarray:
    if isinstance(alphas, int):
        if not amax > 0:
            # Nothing to explain (e.g. constant y): every alpha gives w = 0.
            return np.full(alphas, np.finfo(np.float64).resolution)
        if alphas == 1:
            return np.array([amax])
        return np.geomspace(amax, eps * amax, alphas)
    return alphas


def _choose_mode(mode, n, p):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    if mode == "auto":
        # A Gram iteration costs 2p²k flops against 4npk in design mode, and the
        # p×p matrix must fit: Gram when p <= 2n and p is moderate.
        return "gram" if (p <= 2 * n and p <= 20_000) else "design"
    return mode


def _choose_chunk(strategy, chunk, k, backend):
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
    if strategy == "auto":
        # GPU: a wider batch is almost free, so solve all alphas at once. CPU: the
        # GEMM cost grows with the batch, and warm starts save iterations.
        strategy = "parallel" if backend != "cpu" else "hybrid"
    if strategy == "parallel":
        return strategy, k
    if strategy == "sequential":
        return strategy, 1
    if chunk is None:
        chunk = HYBRID_CHUNK
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}.")
    return strategy, min(chunk, k)


class _Prepared:
    """Validated inputs and the device-side reduced problem (shared by CV)."""

    def __init__(
        self,
        X,
        y,
        *,
        l1_ratio,
        fit_intercept,
        standardize,
        sample_weight,
        penalty_factor,
        positive,
        lower_limits,
        upper_limits,
        mode,
        dtype,
    ):
        n, p = X.shape
        self.n, self.p = n, p
        self.dtype = dtype
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.pf = V.check_penalty_factor(penalty_factor, p)
        self.lower, self.upper = V.check_limits(lower_limits, upper_limits, positive, p)
        sw = V.check_sample_weight(sample_weight, n)
        self.sw = np.ones(n) if sw is None else sw
        self.mode = _choose_mode(mode, n, p)
        # Unpenalized, unbounded features are partialled out (see jaxreg.stats).
        free = (self.pf == 0) & np.isinf(self.lower) & np.isinf(self.upper)
        self.idx_U = np.flatnonzero(free)
        self.idx_P = np.flatnonzero(~free)
        if self.idx_P.size == 0:
            raise ValueError(
                "penalty_factor must leave at least one penalized or bounded feature; "
                "with every feature free the model is ordinary least squares."
            )
        self.problem = stats.prepare(
            jnp.asarray(X, dtype),
            jnp.asarray(y, dtype),
            jnp.asarray(self.sw, dtype),
            jnp.asarray(self.idx_P),
            jnp.asarray(self.idx_U),
            fit_intercept=bool(fit_intercept),
            standardize=bool(standardize),
            gram=self.mode == "gram",
            weighted=sw is not None,
        )
        self.x_scale = np.asarray(self.problem.x_scale, np.float64)
        scale_P = self.x_scale[self.idx_P]
        # Box limits hold on the original scale; w_std = w_orig·scale.
        self.lower_P = self.lower[self.idx_P] * scale_P
        self.upper_P = self.upper[self.idx_P] * scale_P
        self.pf_P = self.pf[self.idx_P]
        self.yy_total = float(self.problem.yy_total)

    def alpha_max(self, l1_ratio):
        return _alpha_max_from_gradient(
            self.problem.q0, l1_ratio, self.pf_P, self.lower_P, self.upper_P
        )

    def to_original(self, coef_P):
        """Map reduced, standardized coefficients (k, p_P) to the original scale."""
        pr = self.problem
        coefs, intercepts = _to_original(
            jnp.asarray(coef_P), pr.c_U, pr.G_UP, pr.M, pr.x_scale, pr.x_mean,
            pr.y_mean, jnp.asarray(self.idx_P), jnp.asarray(self.idx_U),
            fit_intercept=bool(self.fit_intercept),
        )
        return np.asarray(coefs), np.asarray(intercepts)


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def _to_original(coef_P, c_U, G_UP, M, x_scale, x_mean, y_mean, idx_P, idx_U, *,
                 fit_intercept):
    """Coefficients (k, p) and intercepts (k,) on the original scale, in one program
    (op by op, these few small steps cost milliseconds of dispatch on a GPU)."""
    k = coef_P.shape[0]
    p = x_scale.shape[0]
    full = jnp.zeros((k, p), coef_P.dtype).at[:, idx_P].set(coef_P)
    if idx_U.shape[0]:
        w_U = stats.dot(c_U[None, :] - stats.dot(coef_P, G_UP.T), M.T)
        full = full.at[:, idx_U].set(w_U)
    coefs = full / x_scale
    if not fit_intercept:
        return coefs, jnp.zeros(k, coefs.dtype)
    return coefs, y_mean - stats.dot(coefs, x_mean)


def _warn_not_converged(res: PathResult, max_iter: int):
    bad = ~res.converged
    if not bad.any():
        return
    gaps = np.where(bad, res.gaps, -np.inf)
    worst = int(np.nanargmax(np.where(np.isnan(gaps), np.inf, gaps)))
    hint = (
        " float32 cannot certify gaps much below 1e-5 of the objective: use "
        "dtype='float64'."
        if res.dtype == "float32"
        else ""
    )
    warnings.warn(
        f"{int(bad.sum())} of {len(bad)} alphas did not converge: the worst is "
        f"alpha={res.alphas[worst]:.4g} with duality gap {res.gaps[worst]:.3e} > "
        f"{res.gap_tol:.3e} (tol={res.tol:g} times ||y - ȳ||²/n) after "
        f"{int(res.n_iter[worst])} iterations (max_iter={max_iter}). Increase "
        f"max_iter, loosen tol, standardize X, or drop the smallest alphas "
        f"(larger eps).{hint}",
        ConvergenceWarning,
        stacklevel=3,
    )


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
    tol=1e-4,
    max_iter=DEFAULT_MAX_ITER,
    dtype=None,
    mode="auto",
    strategy="auto",
    chunk=None,
    check_every=10,
    screen="auto",
    device=None,
) -> PathResult:
    """Elastic-net path over a grid of alphas, solved all at once by batched FISTA.

    Minimises, for every alpha::

        1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ p_j|w_j|
                                                + (1 - l1_ratio)/2·Σ p_j w_j²)

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    l1_ratio : float in (0, 1]
        1 is the lasso. For l1_ratio = 0 (ridge) use :func:`jaxreg.ridge_path`.
    alphas : int or array-like
        Grid size (geometric from ``alpha_max`` down to ``eps·alpha_max``) or the
        alphas themselves (sorted decreasing; 0 gives least squares).
    eps : float in (0, 1)
    fit_intercept : bool
        Centre X and y (weighted means); the intercept is never penalized.
    standardize : bool
        Solve on columns scaled to unit (weighted, 1/n) variance, as glmnet does;
        coefficients are reported on the original scale.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative; rescaled to sum to n.
    penalty_factor : array-like of shape (n_features,), optional
        Per-feature multiplier of the penalty (0 = never penalized).
    positive : bool
        Constrain the coefficients to be non-negative.
    lower_limits, upper_limits : float or array-like of shape (n_features,)
        Box constraints (``lower <= 0 <= upper``) on the original scale.
    tol : float
        An alpha has converged when its duality gap <= ``tol·||y - ȳ||²/n``.
    max_iter : int
        Most FISTA iterations per alpha.
    dtype : {None, "float64", "float32"}
        float64 unless float32 is asked for (the global JAX config is untouched).
    mode : {"auto", "gram", "design"}
        Gram mode precomputes XᵀX/n (n >= p); design mode multiplies by X.
    strategy : {"auto", "parallel", "hybrid", "sequential"}
        All alphas in one batch (GPU default), warm-started chunks of ``chunk``
        alphas (CPU default), or one alpha at a time.
    chunk : int, optional
        Chunk size for ``strategy="hybrid"`` (default 8).
    check_every : int
        FISTA steps between two duality-gap evaluations.
    screen : {"auto", "none", "strong"}
        ``"strong"`` solves each chunk on a working set chosen by the sequential
        strong rule, then checks every feature on the full problem (the gaps are
        always those of the full problem). ``"auto"`` uses it for warm-started
        chunks on the CPU.
    device : {None, "cpu", "gpu"} or jax.Device

    Returns
    -------
    PathResult

    Raises
    ------
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.

    Notes
    -----
    The solver is jit-compiled. Calling again with new alpha values, tol, max_iter
    or l1_ratio does not recompile; a new shape of X or a new number of alphas does.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X, y = np.random.default_rng(0).normal(size=(50, 5)), np.arange(50.0)
    >>> path = jaxreg.enet_path(X, y, l1_ratio=0.5, alphas=10)
    >>> path.coefs.shape
    (10, 5)
    """
    X, y = V.check_X_y(X, y)
    l1_ratio = V.check_l1_ratio(l1_ratio)
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
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
    if not (isinstance(X, np.ndarray) or isinstance(X, jax.Array)):
        X = np.asarray(X)
    n_alphas = alphas if isinstance(alphas, int) else len(alphas)
    _memory.check_memory(
        X.shape[0], X.shape[1], n_alphas, dt, _choose_mode(mode, *X.shape), dev, batch=1
    )
    with compute_context(dt, dev):
        prep = _Prepared(
            X,
            y,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            standardize=standardize,
            sample_weight=sample_weight,
            penalty_factor=penalty_factor,
            positive=positive,
            lower_limits=lower_limits,
            upper_limits=upper_limits,
            mode=mode,
            dtype=dt,
        )
        amax = prep.alpha_max(l1_ratio)
        grid = _grid(alphas, amax, eps)
        k = len(grid)
        strategy, chunk = _choose_chunk(strategy, chunk, k, backend)
        screen = _choose_screen(screen, strategy, backend, len(prep.idx_P))
        _memory.check_memory(prep.n, prep.p, k, dt, prep.mode, dev, batch=chunk)
        res = _solve(prep, grid, l1_ratio, tol, max_iter, chunk, check_every, screen,
                     unroll=fista.unroll_for(backend, check_every))
    out = PathResult(
        **res,
        l1_ratio=l1_ratio,
        alpha_max=amax,
        tol=tol,
        mode=prep.mode,
        strategy=strategy,
        dtype=str(dt),
    )
    _warn_not_converged(out, max_iter)
    return out


def _choose_screen(screen, strategy, backend, n_features):
    if screen not in SCREENS:
        raise ValueError(f"screen must be one of {SCREENS}, got {screen!r}.")
    if screen == "auto":
        # On a GPU a narrower batch saves almost nothing (the GEMM is launch-bound);
        # on the CPU flops are time.
        return (
            "strong"
            if (
                backend == "cpu"
                and strategy != "parallel"
                and n_features >= SCREEN_MIN_FEATURES
            )
            else "none"
        )
    return screen


def _solve(
    prep: _Prepared,
    grid,
    l1_ratio,
    tol,
    max_iter,
    chunk,
    check_every,
    screen="none",
    *,
    unroll=1,
):
    """Run the jitted path solver on a prepared problem; return PathResult fields."""
    dt = prep.dtype
    pr = prep.problem
    gram = prep.mode == "gram"
    k = len(grid)
    padded = -(-k // chunk) * chunk
    lam = np.concatenate([grid, np.full(padded - k, grid[-1])])
    gap_tol = tol * prep.yy_total
    L = fista.lipschitz(pr.A, gram=gram)
    args = (
        pr.A,
        pr.c,
        pr.yy,
        jnp.asarray(lam, dt),
        jnp.asarray(l1_ratio, dt),
        jnp.asarray(prep.pf_P, dt),
        jnp.asarray(prep.lower_P, dt),
        jnp.asarray(prep.upper_P, dt),
        L,
        jnp.asarray(gap_tol, dt),
        jnp.asarray(max_iter, jnp.int32),
    )
    if screen == "strong":
        r = screening.solve_path_screened(
            *args, gram=gram, check_every=check_every, chunk=chunk, q_start=pr.q0
        )
    else:
        r = fista.solve_path(
            *args, gram=gram, check_every=check_every, chunk=chunk, unroll=unroll
        )
    coef_P = r.coef[:k]
    gaps = np.asarray(r.gap[:k], np.float64)
    n_iter = np.asarray(r.n_iter[:k])
    rr = np.asarray(r.rr[:k], np.float64)
    converged = np.asarray(r.converged[:k])
    zero = grid == 0
    if zero.any() and np.isinf(prep.lower_P).all() and np.isinf(prep.upper_P).all():
        # alpha = 0 is least squares; its dual is degenerate (no certificate from
        # a scaled residual), so it is solved in closed form instead.
        w_ls = fista.least_squares(pr.A, pr.c, gram=gram)
        coef_P = jnp.where(jnp.asarray(zero)[:, None], w_ls[None, :], coef_P)
        if gram:
            rr_ls = float(pr.yy - jnp.dot(w_ls, pr.c))
        else:
            res_ls = pr.c - stats.dot(pr.A, w_ls)
            rr_ls = float(jnp.dot(res_ls, res_ls) / pr.A.shape[0])
        rr = np.where(zero, max(rr_ls, 0.0), rr)
        gaps = np.where(zero, 0.0, gaps)
        n_iter = np.where(zero, 0, n_iter)
        converged = np.where(zero, True, converged)
    coefs, intercepts = prep.to_original(coef_P)
    yy = prep.yy_total
    dev_ratio = 1.0 - rr / yy if yy > 0 else np.zeros(k)
    out_dt = np.dtype(dt)
    return dict(
        alphas=grid.astype(out_dt),
        coefs=coefs.astype(out_dt),
        intercepts=intercepts.astype(out_dt),
        gaps=gaps.astype(out_dt),
        n_iter=n_iter.astype(np.int64),
        converged=converged.astype(bool),
        df=(coefs != 0).sum(axis=1).astype(np.int64),
        dev_ratio=np.clip(dev_ratio, 0.0, 1.0).astype(out_dt),
        gap_tol=gap_tol,
    )


def lasso_path(X, y, **kwargs) -> PathResult:
    """Lasso path: :func:`enet_path` with ``l1_ratio=1``.

    Minimises ``1/(2n)·||y - Xw - b||² + alpha·Σ p_j|w_j|`` for every alpha; see
    :func:`enet_path` for every keyword.

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> path = jaxreg.lasso_path(X, X @ [1.0, 0.0, -2.0], alphas=5)
    >>> path.df[0], path.df[-1]
    (0, 2)
    """
    if "l1_ratio" in kwargs:
        raise TypeError("lasso_path has l1_ratio=1 fixed; use enet_path for others.")
    return enet_path(X, y, l1_ratio=1.0, **kwargs)


def alpha_max(
    X,
    y,
    *,
    l1_ratio=1.0,
    fit_intercept=True,
    standardize=False,
    sample_weight=None,
    penalty_factor=None,
    positive=False,
    lower_limits=None,
    upper_limits=None,
    dtype=None,
) -> float:
    """Smallest alpha whose solution is all zeros (for the penalized features)."""
    X, y = V.check_X_y(X, y)
    l1_ratio = V.check_l1_ratio(l1_ratio)
    dt = V.check_dtype(dtype)
    with compute_context(dt):
        prep = _Prepared(
            X,
            y,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            standardize=standardize,
            sample_weight=sample_weight,
            penalty_factor=penalty_factor,
            positive=positive,
            lower_limits=lower_limits,
            upper_limits=upper_limits,
            mode="design",
            dtype=dt,
        )
        return prep.alpha_max(l1_ratio)
