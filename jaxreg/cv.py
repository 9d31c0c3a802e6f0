"""Cross-validated elastic-net paths: every fold and every alpha in one batch.

Each fold is fitted on the path objective restricted to its training samples::

    1/(2n)·Σ_i s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ_j p_j|w_j|
                                           + (1 - l1_ratio)/2·Σ_j p_j w_j²)

where ``s`` is the sample weight times the number of times sample i is in the
training set, rescaled to sum to n (so a fold is a weight vector: every fold has
the same shapes, and the folds are ``jax.vmap``-ed). The fit on all the data is one
more member of the same batch, so the final model at the selected alpha is read off
the path: there is no separate refit.

Gram mode reads X once. The uncentred weighted statistics ``Σ s_i x_i x_iᵀ``,
``Σ s_i x_i y_i``, ... of all samples are computed in one pass; a fold's training
statistics are the total minus those of its held-out rows (gathered once, about n
rows over all folds), and are then centred with the fold's own weighted means, in
float64. Design mode (p > 2n) builds each fold's weighted, centred design instead.
On the CPU, wide problems are solved on working sets shared by all folds (see
``screen`` in :func:`cv_path`).
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

from jaxreg import _memory, fista, stats
from jaxreg import _validation as V
from jaxreg import path as _path
from jaxreg._config import backend_of, compute_context, resolve_device
from jaxreg.path import ConvergenceWarning, PathResult

__all__ = ["CVResult", "MultiTargetPath", "cv_path", "cv_paths", "multi_target_path"]

# glmnet's ridge path starts at the lasso alpha_max computed with this l1_ratio.
RIDGE_L1_RATIO = 1e-3
DEFAULT_FOLDS = 5
# screen="auto" uses working sets on the CPU from this many features. Lower than
# for a single path: the flops saved are multiplied by the number of folds, the
# extra compiled widths are not. (5 folds, n=10000, p=500, 100 alphas, 2-core CPU:
# 1.25 s instead of 1.95 s per call.)
SCREEN_MIN_FEATURES = 256


def _choose_screen(screen, strategy, backend, n_features, n_targets):
    if screen not in _path.SCREENS:
        raise ValueError(f"screen must be one of {_path.SCREENS}, got {screen!r}.")
    if screen == "auto":
        # On a GPU a narrower batch saves almost nothing; a set shared by several
        # targets is wide.
        return "strong" if (backend == "cpu" and strategy != "parallel"
                            and n_features >= SCREEN_MIN_FEATURES
                            and n_targets == 1) else "none"
    if screen == "strong" and n_targets > 1:
        raise ValueError("screen='strong' needs a single target (1-D y), got "
                         f"{n_targets} targets.")
    return screen


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True, repr=False)
class CVResult:
    """K-fold cross-validation of a path. Arrays have the alpha axis first.

    Attributes
    ----------
    alphas : ndarray (k,)
        Decreasing; computed once on all the data and shared by every fold.
    mse_mean : ndarray (k,)
        Mean over folds of the held-out mean squared error (each fold's MSE is
        weighted by ``sample_weight`` when given; the folds count equally, as in
        scikit-learn).
    mse_se : ndarray (k,)
        Standard error over folds: ``std(mse_path, ddof=1)/sqrt(n_folds)`` (glmnet's
        ``cvsd`` for equal folds); NaN with a single fold.
    alpha_min, index_min
        The alpha (and its index) of the smallest ``mse_mean`` (the largest alpha
        among ties).
    alpha_1se, index_1se
        glmnet's one-standard-error rule: the largest alpha with
        ``mse_mean <= mse_mean[index_min] + mse_se[index_min]``.
    path : PathResult
        The path on all the data at ``alphas`` (solved in the same batch as the
        folds).
    mse_path : ndarray (k, n_folds)
        Held-out MSE of every fold.
    r2_path : ndarray (k, n_folds)
        Held-out coefficient of determination of every fold (weighted like the
        MSE; 1 - SSE/SST with the fold's own mean).
    fold_converged : ndarray (k, n_folds) of bool
    fold_gaps : ndarray (k, n_folds)
        Duality gap of every fold's solution (0 for the closed-form ridge).
    test_weight : ndarray (n_folds,)
        Total sample weight of each held-out fold (its size without weights).
    l1_ratio : float
    """

    alphas: np.ndarray
    mse_mean: np.ndarray
    mse_se: np.ndarray
    alpha_min: float
    alpha_1se: float
    index_min: int
    index_1se: int
    path: PathResult
    mse_path: np.ndarray
    r2_path: np.ndarray
    fold_converged: np.ndarray
    fold_gaps: np.ndarray
    test_weight: np.ndarray
    l1_ratio: float = 1.0

    @property
    def n_folds(self) -> int:
        return int(self.mse_path.shape[1])

    @property
    def coef_min(self) -> np.ndarray:
        """Coefficients on all the data at ``alpha_min``."""
        return self.path.coefs[self.index_min]

    @property
    def coef_1se(self) -> np.ndarray:
        """Coefficients on all the data at ``alpha_1se``."""
        return self.path.coefs[self.index_1se]

    def summary(self, max_rows: int = 20) -> str:
        """A cv.glmnet-style table: alpha, df, mean MSE, its standard error."""
        k = len(self.alphas)
        rows = np.unique(np.linspace(0, k - 1, min(k, max_rows)).round().astype(int))
        rows = np.union1d(rows, [self.index_min, self.index_1se])
        lines = [f"{'':>4} {'alpha':>11} {'df':>5} {'mse':>11} {'se':>10}"]
        for i in rows:
            tag = " min" if i == self.index_min else ""
            tag += " 1se" if i == self.index_1se else ""
            lines.append(
                f"{i:>4} {self.alphas[i]:>11.4g} {int(self.path.df[i]):>5} "
                f"{self.mse_mean[i]:>11.5g} {self.mse_se[i]:>10.3g}{tag}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"CVResult({self.n_folds} folds x {len(self.alphas)} alphas, "
            f"l1_ratio={self.l1_ratio:g}: alpha_min={self.alpha_min:.4g} "
            f"(mse {self.mse_mean[self.index_min]:.4g}), alpha_1se="
            f"{self.alpha_1se:.4g} (mse {self.mse_mean[self.index_1se]:.4g}))"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class MultiTargetPath(PathResult):
    """A :class:`PathResult` for several targets sharing one alpha grid.

    ``coefs`` (k, n_targets, p) and ``intercepts`` (k, n_targets). The aggregated
    fields follow :func:`jaxreg.ridge.ridge_path`: ``gaps`` and ``n_iter`` are the
    maxima over targets, ``converged`` holds when every target converged, ``df``
    counts features non-zero for any target, ``dev_ratio`` is the mean over targets.
    The per-target values are in ``target_gaps``, ``target_n_iter``,
    ``target_converged`` and ``target_gap_tol`` (shapes (k, n_targets) and
    (n_targets,)).
    """

    target_gaps: np.ndarray | None = None
    target_n_iter: np.ndarray | None = None
    target_converged: np.ndarray | None = None
    target_gap_tol: np.ndarray | None = None


def select_1se(mse_mean, mse_se) -> tuple[int, int]:
    """Indices of the minimum and of glmnet's one-standard-error alpha.

    With alphas sorted decreasing, the 1se alpha is the first (largest) alpha with
    ``mse_mean <= mse_mean[i_min] + mse_se[i_min]``. NaN means are never selected;
    a NaN standard error (a single fold) gives the minimum.
    """
    mse_mean = np.asarray(mse_mean, np.float64)
    clean = np.where(np.isnan(mse_mean), np.inf, mse_mean)
    i_min = int(np.argmin(clean))
    bound = clean[i_min] + np.asarray(mse_se, np.float64)[i_min]
    if not np.isfinite(bound):
        return i_min, i_min
    return i_min, int(np.argmax(clean <= bound))


# --------------------------------------------------------------------------- #
# Folds
# --------------------------------------------------------------------------- #
def bucket(x: int, minimum: int) -> int:
    """The smallest of ``minimum·{1, 1.5, 2, 3, 4, 6, ...}`` that is >= x
    (``minimum`` a power of two): padded sizes with at most 50% waste."""
    b = minimum
    while b < x:
        b = b * 3 // 2 if (b & (b - 1)) == 0 else b * 4 // 3
    return b


def _kfold_counts(k: int, n: int):
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1  # scikit-learn's KFold: the first n % k folds get one more
    fold_of = np.repeat(np.arange(k), sizes)
    test = (fold_of[None, :] == np.arange(k)[:, None]).astype(np.float64)
    return 1.0 - test, test


def _index_counts(name: str, idx, n: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool and arr.shape == (n,):
        arr = np.flatnonzero(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a 1-D array of integer sample indices, got "
            f"{arr.dtype} array of shape {arr.shape}."
        )
    if arr.size and (arr.min() < -n or arr.max() >= n):
        bad = arr[(arr < -n) | (arr >= n)][0]
        raise ValueError(f"{name} must index 0..{n - 1}, got index {int(bad)}.")
    # Counts, not a mask: a sample drawn twice (a bootstrap split) weighs twice.
    return np.bincount(np.mod(arr, n), minlength=n).astype(np.float64)


def _split_counts(splits, n: int):
    train, test = [], []
    for i, split in enumerate(splits):
        try:
            tr, te = split
        except (TypeError, ValueError):
            raise TypeError(
                f"cv must yield (train, test) index pairs, got {type(split).__name__} "
                f"for split {i}."
            ) from None
        train.append(_index_counts(f"cv split {i} train", tr, n))
        test.append(_index_counts(f"cv split {i} test", te, n))
    if not train:
        raise ValueError("cv must give at least one (train, test) split, got none.")
    return np.array(train), np.array(test)


def fold_counts(cv, X, y, n: int, groups=None):
    """Training and held-out counts ``(n_folds, n)`` of every sample in every fold.

    ``cv``: an int (contiguous K-fold, no shuffle, as scikit-learn's ``KFold``),
    an object with a ``split(X, y[, groups])`` method (any scikit-learn splitter),
    an iterable of ``(train, test)`` index arrays, or an array of fold ids of
    length n (glmnet's ``foldid``: fold j holds out the samples with the j-th
    smallest id).
    """
    if isinstance(cv, (bool, np.bool_)):
        raise TypeError(f"cv must be an int, a splitter or fold ids, got {cv!r}.")
    if isinstance(cv, numbers.Integral):
        k = int(cv)
        if k < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv!r}.")
        if k > n:
            raise ValueError(f"cv={k} folds need at least {k} samples, got {n}.")
        return _kfold_counts(k, n)
    if isinstance(cv, (str, bytes)) or not (hasattr(cv, "split")
                                            or hasattr(cv, "__iter__")):
        raise TypeError(
            "cv must be an int, a splitter with a split method, (train, test) "
            f"pairs or an array of fold ids, got {cv!r}."
        )
    if hasattr(cv, "split") and callable(cv.split):
        splits = cv.split(X, y) if groups is None else cv.split(X, y, groups)
        return _split_counts(list(splits), n)
    try:
        arr = np.asarray(cv)
    except ValueError:  # ragged (train, test) pairs
        arr = None
    if arr is not None and arr.ndim == 1 and arr.size and arr.dtype.kind in "iuf":
        return _foldid_counts(arr, n)
    return _split_counts(list(cv), n)


def _foldid_counts(foldid: np.ndarray, n: int):
    if foldid.shape != (n,):
        raise ValueError(
            f"cv fold ids must have one id per sample, shape ({n},), got shape "
            f"{foldid.shape}."
        )
    if foldid.dtype.kind == "f" and not np.all(np.isfinite(foldid) &
                                               (foldid == np.round(foldid))):
        raise ValueError("cv fold ids must be integers, got non-integer values.")
    labels = np.unique(foldid)
    if labels.size < 2:
        raise ValueError(
            f"cv fold ids must name at least 2 folds, got {labels.size}."
        )
    test = (foldid[None, :] == labels[:, None]).astype(np.float64)
    return 1.0 - test, test


# --------------------------------------------------------------------------- #
# Core, stage 1: the reduced problem of every member (folds, then all the data)
# --------------------------------------------------------------------------- #
class _Members(NamedTuple):
    """Reduced problems, one per member; the last member is all the data."""

    A: jax.Array  # (F, pP, pP) Gram, or (F, n, pP) design
    c: jax.Array  # (F, pP, T) Gram, or (F, n, T) design
    yy: jax.Array  # (F, T) of the reduced problem
    yy_total: jax.Array  # (F, T) weighted centred ||y - ȳ||²/n: the scale of tol
    q0: jax.Array  # (F, pP, T) negative gradient at w = 0
    x_mean: jax.Array  # (F, p) relative to the shift
    x_scale: jax.Array  # (F, p)
    y_mean: jax.Array  # (F, T) relative to the shift
    M: jax.Array  # (F, pU, pU)
    G_UP: jax.Array  # (F, pU, pP)
    c_U: jax.Array  # (F, pU, T)


def _constant_columns(Xc, pos):
    """Columns constant over the rows flagged in ``pos`` (one row per member)."""

    def one(mask):
        hi = jnp.max(jnp.where(mask[:, None], Xc, -jnp.inf), axis=0)
        lo = jnp.min(jnp.where(mask[:, None], Xc, jnp.inf), axis=0)
        return hi == lo

    # lax.map: one fused pass per member, never an (F, n, p) temporary.
    return jax.lax.map(one, pos)


def _partial_out_gram(G, c, yy, idx_P, idx_U):
    """Frisch–Waugh–Lovell on Gram statistics (as jaxreg.stats.prepare)."""
    GP = G[idx_P][:, idx_P]
    cP = c[idx_P]
    if idx_U.shape[0] == 0:
        p_P, t = cP.shape
        z = jnp.zeros((0, p_P), G.dtype)
        return GP, cP, yy, jnp.zeros((0, 0), G.dtype), z, jnp.zeros((0, t), G.dtype)
    G_UP = G[idx_U][:, idx_P]
    c_U = c[idx_U]
    M = stats.pinv_psd(G[idx_U][:, idx_U])
    GP = GP - stats.dot(G_UP.T, stats.dot(M, G_UP))
    cP = cP - stats.dot(G_UP.T, stats.dot(M, c_U))
    yy = yy - jnp.sum(c_U * stats.dot(M, c_U), axis=0)
    return GP, cP, yy, M, G_UP, c_U


def _from_moments(S0, Sx, Sy, Sxx, Sxy, Syy, const, idx_P, idx_U, fit_intercept,
                  standardize):
    """One member's reduced Gram problem from its weighted moments."""
    if fit_intercept:
        mx, my = Sx / S0, Sy / S0
    else:
        mx, my = jnp.zeros_like(Sx), jnp.zeros_like(Sy)
    G = Sxx / S0 - jnp.outer(mx, mx)
    G = 0.5 * (G + G.T)
    c = Sxy / S0 - jnp.outer(mx, my)
    yy = jnp.maximum(Syy / S0 - my * my, 0.0)
    G = jnp.where(const[:, None] | const[None, :], 0.0, G)
    c = jnp.where(const[:, None], 0.0, c)
    if standardize:
        scale = jnp.sqrt(jnp.maximum(jnp.diag(G), 0.0))
        scale = jnp.where(scale > 0, scale, 1.0)
        G = G / jnp.outer(scale, scale)
        c = c / scale[:, None]
    else:
        scale = jnp.ones_like(mx)
    GP, cP, yy_red, M, G_UP, c_U = _partial_out_gram(G, c, yy, idx_P, idx_U)
    return _Members(GP, cP, jnp.maximum(yy_red, 0.0), yy, cP, mx, scale, my, M, G_UP,
                    c_U)


@functools.partial(jax.jit,
                   static_argnames=("fit_intercept", "standardize", "partition"))
def _gram_members(X, Y, sw, gidx, gex, pos, idx_P, idx_U, *, fit_intercept,
                  standardize, partition):
    """Members' reduced Gram problems from one pass over the rows of X.

    ``sw`` (n,) sums to n; ``gidx``/``gex`` (K, m): the rows to gather per fold and
    their excluded weight ``sw·(1 - train count)``; ``pos`` (F, n): rows with a
    positive training weight. ``partition``: the excluded weights of the folds add
    up to ``sw`` (K-fold, fold ids), so the total moments are the sum of the
    folds' parts and the rows are multiplied once in all; otherwise the total
    takes one more pass. Returns the members, the shift and the gathered, shifted
    rows.

    Notes
    -----
    jit-compiled; static: fit_intercept, standardize, partition.
    """
    n = X.shape[0]
    if fit_intercept:
        # Shift by the overall weighted mean first: the fold means are then small
        # and the centring below (moment minus mean²) loses nothing.
        shift_x, shift_y = stats.dot(sw, X) / n, stats.dot(sw, Y) / n
    else:
        shift_x = jnp.zeros(X.shape[1], X.dtype)
        shift_y = jnp.zeros(Y.shape[1], X.dtype)
    Xc, Yc = X - shift_x, Y - shift_y
    Xw, Yw = Xc * sw[:, None], Yc * sw[:, None]
    Xg, Yg = Xc[gidx], Yc[gidx]  # (K, m, p), (K, m, T)
    Xgw, Ygw = Xg * gex[..., None], Yg * gex[..., None]

    def stack(total, part):
        if partition:
            total = jnp.sum(part, axis=0)
        return jnp.concatenate([total[None] - part, total[None]])

    ein = functools.partial(jnp.einsum, precision=jax.lax.Precision.HIGHEST)
    S0 = stack(jnp.sum(sw), jnp.sum(gex, axis=1))
    Sx = stack(jnp.sum(Xw, axis=0), jnp.sum(Xgw, axis=1))
    Sy = stack(jnp.sum(Yw, axis=0), jnp.sum(Ygw, axis=1))
    # With a partition the totals below are dead code (the folds' parts add up
    # to them) and XLA drops them.
    Sxx = stack(stats.dot(Xw.T, Xc), ein("kmp,kmq->kpq", Xgw, Xg))
    Sxy = stack(stats.dot(Xw.T, Yc), ein("kmp,kmt->kpt", Xgw, Yg))
    Syy = stack(jnp.sum(Yw * Yc, axis=0), jnp.sum(Ygw * Yg, axis=1))
    if fit_intercept:
        const = _constant_columns(Xc, pos)
    else:
        const = jnp.zeros((pos.shape[0], X.shape[1]), bool)
    one = functools.partial(_from_moments, idx_P=idx_P, idx_U=idx_U,
                            fit_intercept=fit_intercept, standardize=standardize)
    members = jax.vmap(one)(S0, Sx, Sy, Sxx, Sxy, Syy, const)
    return members, shift_x, shift_y, Xg, Yg


def _design_member(Xc, Yc, s, pos, idx_P, idx_U, fit_intercept, standardize):
    """One member's reduced design problem (as jaxreg.stats.prepare, design mode)."""
    n = Xc.shape[0]
    if fit_intercept:
        mx, my = stats.dot(s, Xc) / n, stats.dot(s, Yc) / n
        hi = jnp.max(jnp.where(pos[:, None], Xc, -jnp.inf), axis=0)
        lo = jnp.min(jnp.where(pos[:, None], Xc, jnp.inf), axis=0)
        Xm = jnp.where(hi == lo, 0.0, Xc - mx)
        Ym = Yc - my
    else:
        mx = jnp.zeros(Xc.shape[1], Xc.dtype)
        my = jnp.zeros(Yc.shape[1], Xc.dtype)
        Xm, Ym = Xc, Yc
    if standardize:
        scale = jnp.sqrt(stats.dot(s, Xm * Xm) / n)
        scale = jnp.where(scale > 0, scale, 1.0)
        Xm = Xm / scale
    else:
        scale = jnp.ones_like(mx)
    root = jnp.sqrt(s)[:, None]
    Xs, Ys = Xm * root, Ym * root
    yy_total = jnp.sum(Ys * Ys, axis=0) / n
    XP = Xs[:, idx_P]
    if idx_U.shape[0]:
        XU = Xs[:, idx_U]
        G_UP = stats.dot(XU.T, XP) / n
        c_U = stats.dot(XU.T, Ys) / n
        M = stats.pinv_psd(stats.dot(XU.T, XU) / n)
        XP = XP - stats.dot(XU, stats.dot(M, G_UP))
        Ys = Ys - stats.dot(XU, stats.dot(M, c_U))
    else:
        M = jnp.zeros((0, 0), Xc.dtype)
        G_UP = jnp.zeros((0, XP.shape[1]), Xc.dtype)
        c_U = jnp.zeros((0, Ys.shape[1]), Xc.dtype)
    yy = jnp.sum(Ys * Ys, axis=0) / n
    q0 = stats.dot(XP.T, Ys) / n
    return _Members(XP, Ys, yy, yy_total, q0, mx, scale, my, M, G_UP, c_U)


@functools.partial(jax.jit, static_argnames=("fit_intercept", "standardize"))
def _design_members(X, Y, sw, s, pos, gidx, idx_P, idx_U, *, fit_intercept,
                    standardize):
    """Members' reduced design problems; ``s`` (F, n): weights summing to n.

    Notes
    -----
    jit-compiled; static: fit_intercept, standardize.
    """
    n = X.shape[0]
    if fit_intercept:
        shift_x, shift_y = stats.dot(sw, X) / n, stats.dot(sw, Y) / n
    else:
        shift_x = jnp.zeros(X.shape[1], X.dtype)
        shift_y = jnp.zeros(Y.shape[1], X.dtype)
    Xc, Yc = X - shift_x, Y - shift_y
    one = functools.partial(_design_member, idx_P=idx_P, idx_U=idx_U,
                            fit_intercept=fit_intercept, standardize=standardize)
    members = jax.vmap(one, in_axes=(None, None, 0, 0))(Xc, Yc, s, pos)
    return members, shift_x, shift_y, Xc[gidx], Yc[gidx]


# --------------------------------------------------------------------------- #
# Core, stage 2: solve every member, every target and every alpha
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames=("gram", "check_every", "chunk", "unroll",
                                            "exact_lipschitz"))
def _solve_members(A, c, yy, alphas, l1_ratio, pf, lower, upper, tol_abs, max_iter,
                   alpha_scale, *, gram, check_every, chunk, unroll=1,
                   exact_lipschitz=True):
    """Batched FISTA over members (A, box and tol per member) and targets.

    ``alphas`` (L, k) and ``l1_ratio`` (L,) add a leading batch axis (several
    l1_ratios at once); member f solves at ``alphas·alpha_scale[f]``. Fields of
    the result have shape (L, F, T, k, ...).

    Notes
    -----
    jit-compiled; static: gram, check_every, chunk, unroll, exact_lipschitz. A new
    shape recompiles.
    """
    if gram and exact_lipschitz:
        # Exact top eigenvalue (LAPACK): on the CPU cheaper to compile than power
        # iteration, and no safety factor is needed. On a GPU the eigensolver costs
        # milliseconds per member where power iteration takes a fraction of one.
        lips = jnp.maximum(jnp.linalg.eigvalsh(A)[:, -1], jnp.finfo(A.dtype).tiny)
    else:
        lips = jax.vmap(functools.partial(fista.lipschitz, gram=gram))(A)

    def one(A, c_t, yy_t, lam, l1, lo, up, lip, tol_t, scale):
        return fista.solve_path(A, c_t, yy_t, lam * scale, l1, pf, lo, up, lip, tol_t,
                                max_iter, gram=gram, check_every=check_every,
                                chunk=chunk, unroll=unroll)

    # targets share A, the box and L; members have their own; l1_ratios share all.
    per_target = jax.vmap(one, in_axes=(None, -1, 0) + (None,) * 5 + (0, None))
    per_member = jax.vmap(per_target, in_axes=(0, 0, 0, None, None, 0, 0, 0, 0, 0))
    per_l1 = jax.vmap(per_member, in_axes=(None,) * 3 + (0, 0) + (None,) * 5)
    return per_l1(A, c, yy, alphas, l1_ratio, lower, upper, lips, tol_abs,
                  alpha_scale)


def _ridge_one(A, c, yy, alphas, pf, gram):
    """Closed-form ridge of one member for every alpha: (T, k, pP) and rr (T, k)."""
    dt = A.dtype
    d = 1.0 / jnp.sqrt(pf)
    if gram:
        e, Vm = jnp.linalg.eigh(A * jnp.outer(d, d))
        keep = e > jnp.maximum(e[-1] * A.shape[0] * jnp.finfo(dt).eps,
                               jnp.finfo(dt).tiny)
        u = stats.dot(Vm.T, d[:, None] * c)  # (r, T)
    else:
        n = A.shape[0]
        U, sv, Vt = jnp.linalg.svd(A * d, full_matrices=False)
        keep = sv > jnp.maximum(sv[0] * max(A.shape) * jnp.finfo(dt).eps,
                                jnp.finfo(dt).tiny)
        e = sv * sv / n
        Vm = Vt.T
        u = sv[:, None] * stats.dot(U.T, c) / n
    e = jnp.where(keep, e, 0.0)
    den = e[None, :] + alphas[:, None]  # (k, r)
    inv = jnp.where(keep[None, :], 1.0 / jnp.where(keep[None, :], den, 1.0), 0.0)
    w = jnp.einsum("pr,kr,rt->tkp", Vm, inv, u, precision=jax.lax.Precision.HIGHEST)
    w = w * d
    # ||r||²/n = yy - Σ_r u_r²·(e_r + 2α)/(e_r + α)² over the kept components.
    gain = (e[None, :] + 2.0 * alphas[:, None]) * inv * inv  # (k, r)
    rr = jnp.maximum(yy[:, None] - stats.dot(u.T * u.T, gain.T), 0.0)  # (T, k)
    return w, rr


@functools.partial(jax.jit, static_argnames=("gram",))
def _ridge_members(A, c, yy, alphas, alpha_scale, pf, *, gram):
    """Closed-form ridge for every member (at ``alphas·alpha_scale[f]``):
    coef (F, T, k, pP), rr (F, T, k).

    Notes
    -----
    jit-compiled; static: gram.
    """

    def one(A, c, yy, scale):
        return _ridge_one(A, c, yy, alphas * scale, pf, gram)

    return jax.vmap(one)(A, c, yy, alpha_scale)


@functools.partial(jax.jit, static_argnames=("gram",))
def _least_squares_members(A, c, yy, *, gram):
    """Minimum-norm least squares (alpha = 0) for every member and target."""

    def one(A, c, yy):
        w = fista.least_squares(A, c, gram=gram)  # (pP, T)
        if gram:
            rr = yy - jnp.sum(w * c, axis=0)
        else:
            r = c - stats.dot(A, w)
            rr = jnp.sum(r * r, axis=0) / A.shape[0]
        return w.T, jnp.maximum(rr, 0.0)

    return jax.vmap(one)(A, c, yy)


@functools.partial(jax.jit, static_argnames=("gram", "check_every"))
def _subset_members(A, c, yy, idx, mask, a, b, lower, upper, coef0, lips, tol_abs,
                    max_iter, *, gram, check_every):
    """FISTA for every member on the columns ``idx`` (padded entries masked out).

    ``a``, ``b``, ``coef0``: (F, C, p); results have shape (F, C, len(idx)).
    """
    m = mask.astype(A.dtype)

    def one(A, c, yy, a, b, lo, up, w0, lip, tol):
        if gram:
            A_S = A[idx][:, idx] * m[:, None] * m[None, :]
            c_S = c[idx] * m
        else:
            A_S = A[:, idx] * m[None, :]
            c_S = c
        # The working set's own step (see jaxreg.screening._solve_subset).
        lip = jnp.minimum(lip, fista.lipschitz(A_S, gram=gram))
        # Padded coordinates have no data, a zero start and a [0, 0] box.
        return fista.fista_batch(A_S, c_S, yy, a[:, idx], b[:, idx],
                                 jnp.where(mask, lo[idx], 0.0),
                                 jnp.where(mask, up[idx], 0.0), w0[:, idx] * m, lip,
                                 tol, max_iter, gram=gram, check_every=check_every)

    return jax.vmap(one)(A, c, yy, a, b, lower, upper, coef0, lips, tol_abs)


@functools.partial(jax.jit, static_argnames=("gram",))
def _full_gap_members(A, c, yy, W, a, b, lower, upper, *, gram):
    """Gap, ``||r||²/n`` and ``q = Xᵀr/n`` of every member's full problem at W."""

    def one(A, c, yy, W, a, b, lo, up):
        gap, rr = fista._gap_and_rr(A, c, yy, W, a, b, lo, up, gram)
        return gap, rr, fista._neg_grad(A, c, W, gram)

    return jax.vmap(one)(A, c, yy, W, a, b, lower, upper)


@functools.partial(jax.jit, static_argnames=("gram",))
def _lipschitz_members(A, *, gram):
    if gram:
        return jnp.maximum(jnp.linalg.eigvalsh(A)[:, -1], jnp.finfo(A.dtype).tiny)
    return jax.vmap(functools.partial(fista.lipschitz, gram=False))(A)


def _solve_screened(A, c, yy, q0, lam, l1_ratio, pf, lower, upper, scale, tol_abs,
                    max_iter, *, gram, check_every, chunk):
    """Warm-started chunks of alphas on a working set shared by all members.

    The members' version of :func:`jaxreg.screening.solve_path_screened`: each
    chunk is solved on the features active in any member plus those the sequential
    strong rule keeps (Tibshirani et al. 2012), then every member's full problem is
    checked and violators join the set before the chunk is solved again. Gaps are
    those of the full problems. Arrays: A (F, ...), c (F, pP or n), yy (F,), q0
    (F, pP), lam (k,) with k a multiple of chunk; returns NumPy arrays (F, k, ...).
    """
    dt = A.dtype
    F, p = lower.shape
    k = len(lam)
    must = pf == 0  # unpenalized (bounded) features are never discarded
    lips = _lipschitz_members(A, gram=gram)
    w_prev = np.zeros((F, p))
    q_prev = np.asarray(q0, np.float64)
    alpha_prev = float(lam[0])
    out = dict(coef=np.zeros((F, k, p)), n_iter=np.zeros((F, k), np.int64),
               gap=np.zeros((F, k)), rr=np.zeros((F, k)))
    weight = l1_ratio * pf  # (p,)
    for start in range(0, k, chunk):
        lam_c = lam[start:start + chunk]
        a = (scale[:, None, None] * lam_c[None, :, None]) * weight  # (F, C, p)
        b = (scale[:, None, None] * lam_c[None, :, None]) * ((1 - l1_ratio) * pf)
        in_set = (w_prev != 0).any(axis=0) | must
        score = (np.abs(q_prev) / np.maximum(weight * scale[:, None], 1e-300)).max(0)
        strong = score >= 2 * lam_c[-1] - alpha_prev
        extra = min(int(strong.sum()), max(32, int(in_set.sum())))
        order = np.argsort(-np.where(in_set, -np.inf, score), kind="stable")
        in_set[order[:extra]] = True
        coef0 = np.repeat(w_prev[:, None, :], chunk, axis=1)
        iters = np.zeros((F, chunk), np.int64)
        while True:
            S = np.flatnonzero(in_set)
            width = min(bucket(max(S.size, 1), 32), p)
            idx = np.zeros(width, np.int64)
            idx[:S.size] = S
            mask = np.arange(width) < S.size
            res = _subset_members(A, c, yy, idx, mask, a.astype(dt), b.astype(dt),
                                  lower, upper, coef0.astype(dt), lips, tol_abs,
                                  max_iter, gram=gram, check_every=check_every)
            iters += np.asarray(res.n_iter)
            full = np.zeros((F, chunk, p))
            full[:, :, S] = np.asarray(res.coef, np.float64)[:, :, :S.size]
            gap, rr, q = (np.asarray(x, np.float64) for x in _full_gap_members(
                A, c, yy, full.astype(dt), a.astype(dt), b.astype(dt), lower, upper,
                gram=gram))
            # A discarded feature (w_j = 0) is optimal iff -a_j <= q_j <= a_j on
            # the sides its box leaves open.
            pushed = ((q > a * (1 + 1e-9)) & (upper > 0)[:, None, :]) | (
                (q < -a * (1 + 1e-9)) & (lower < 0)[:, None, :])
            violators = ~in_set & pushed.any(axis=(0, 1))
            if not violators.any():
                break
            in_set |= violators
            coef0 = full
        sl = slice(start, start + chunk)
        out["coef"][:, sl], out["n_iter"][:, sl] = full, iters
        out["gap"][:, sl], out["rr"][:, sl] = gap, rr
        w_prev, q_prev, alpha_prev = full[:, -1], q[:, -1], float(lam_c[-1])
    return out


# --------------------------------------------------------------------------- #
# Core, stage 3: original scale, held-out predictions and errors
# --------------------------------------------------------------------------- #
@jax.jit
def _finish(coef_P, members, shift_x, shift_y, Xg, Yg, gtw, idx_P, idx_U):
    """Coefficients (F, T, k, p) and intercepts (F, T, k) on the original scale,
    and the held-out MSE and R² (weighted by ``gtw``) of every fold (K, T, k).

    Notes
    -----
    jit-compiled; a new shape recompiles.
    """
    ein = functools.partial(jnp.einsum, precision=jax.lax.Precision.HIGHEST)
    F, T, k, _ = coef_P.shape
    p = members.x_mean.shape[1]
    full = jnp.zeros((F, T, k, p), coef_P.dtype).at[..., idx_P].set(coef_P)
    if idx_U.shape[0]:
        # w_U = M (c_U - G_UP w_P), the least-squares fit of the free features.
        rhs = jnp.swapaxes(members.c_U, 1, 2)[:, :, None, :] - ein(
            "fuq,ftkq->ftku", members.G_UP, coef_P)
        full = full.at[..., idx_U].set(ein("fvu,ftku->ftkv", members.M, rhs))
    coefs = full / members.x_scale[:, None, None, :]
    b_shifted = members.y_mean[:, :, None] - ein("fp,ftkp->ftk", members.x_mean,
                                                 coefs)
    intercepts = shift_y[None, :, None] + b_shifted - ein("p,ftkp->ftk", shift_x,
                                                          coefs)
    K = Xg.shape[0]
    pred = ein("kmp,ktap->kmta", Xg, coefs[:K]) + b_shifted[:K][:, None]
    res = Yg[..., None] - pred  # (K, m, T, k)
    sq = res * res
    mse = ein("km,kmta->kta", gtw, sq) / jnp.sum(gtw, axis=1)[:, None, None]
    sse = ein("km,kmta->kta", gtw, sq)
    ybar = ein("km,kmt->kt", gtw, Yg) / jnp.sum(gtw, axis=1)[:, None]
    dev = Yg - ybar[:, None, :]
    sst = ein("km,kmt->kt", gtw, dev * dev)[..., None]
    # r2_score's convention for a constant held-out target: 1 if fitted exactly.
    r2 = jnp.where(sst > 0, 1.0 - sse / jnp.where(sst > 0, sst, 1.0),
                   jnp.where(sse > 0, 0.0, 1.0))
    return coefs, intercepts, mse, r2


# --------------------------------------------------------------------------- #
# Shell
# --------------------------------------------------------------------------- #
class _Fit:
    """Validated inputs, the members' reduced problems, and their solutions."""

    def __init__(self, X, Y, *, train, test, fit_intercept, standardize,
                 sample_weight, penalty_factor, positive, lower_limits,
                 upper_limits, mode, dtype, device, alpha_units="mean"):
        n, p = X.shape
        self.n, self.p = n, p
        self.dtype = dtype
        self.device = device
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got "
                            f"{fit_intercept!r}.")
        if not isinstance(standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {standardize!r}.")
        self.fit_intercept = bool(fit_intercept)
        self.pf = V.check_penalty_factor(penalty_factor, p)
        self.lower, self.upper = V.check_limits(lower_limits, upper_limits, positive, p)
        self.boxed = bool(np.isfinite(self.lower).any()
                          or np.isfinite(self.upper).any())
        sw = V.check_sample_weight(sample_weight, n)
        if sw is None:
            sw, raw_total = np.ones(n), float(n)
        else:
            raw_total = float(np.sum(np.broadcast_to(
                np.asarray(sample_weight, np.float64), (n,))))
        self.mode = _path._choose_mode(mode, n, p)
        free = (self.pf == 0) & np.isinf(self.lower) & np.isinf(self.upper)
        self.idx_U = np.flatnonzero(free)
        self.idx_P = np.flatnonzero(~free)
        if self.idx_P.size == 0:
            raise ValueError(
                "penalty_factor must leave at least one penalized or bounded feature; "
                "with every feature free the model is ordinary least squares."
            )
        self.pf_P = self.pf[self.idx_P]
        K = train.shape[0]
        self.n_folds = K
        train_w = sw[None, :] * train
        test_w = sw[None, :] * test
        for i in range(K):
            if not train_w[i].sum() > 0:
                raise ValueError(
                    f"cv fold {i} has no training sample with a positive weight."
                )
            if K and not test_w[i].sum() > 0:
                raise ValueError(
                    f"cv fold {i} has no held-out sample with a positive weight."
                )
        self.test_weight = test_w.sum(axis=1)
        if alpha_units == "sum":
            # scikit-learn's Ridge: Σ_train s_i r_i² + a·||w||² with raw weights is
            # the path objective at a / Σ_train s_i, which differs between folds.
            raw_train = np.append(train_w.sum(axis=1), n) * (raw_total / n)
            self.alpha_scale = 1.0 / raw_train
        else:
            self.alpha_scale = np.ones(K + 1)
        pos = np.concatenate([train_w > 0, (sw > 0)[None]])
        gram = self.mode == "gram"
        excluded = sw[None, :] * (1.0 - train)
        need = (test_w != 0) | ((excluded != 0) if gram else False)
        # Bucketed, so that folds of slightly different sizes share compiled code.
        m = bucket(int(need.sum(axis=1).max(initial=0)), 8)
        gidx = np.zeros((K, m), np.int32)
        gex = np.zeros((K, m))
        gtw = np.zeros((K, m))
        for i in range(K):
            rows = np.flatnonzero(need[i])
            gidx[i, : rows.size] = rows
            gex[i, : rows.size] = excluded[i, rows]
            gtw[i, : rows.size] = test_w[i, rows]
        with compute_context(np.float64, device):
            Xd = jnp.asarray(X, jnp.float64)
            Yd = jnp.asarray(Y, jnp.float64)
            idx_P, idx_U = jnp.asarray(self.idx_P), jnp.asarray(self.idx_U)
            common = dict(fit_intercept=self.fit_intercept,
                          standardize=bool(standardize))
            if gram:
                partition = K > 0 and bool(np.allclose(
                    excluded.sum(axis=0), sw, rtol=1e-12, atol=0.0))
                out = _gram_members(Xd, Yd, jnp.asarray(sw), jnp.asarray(gidx),
                                    jnp.asarray(gex), jnp.asarray(pos), idx_P, idx_U,
                                    partition=partition, **common)
            else:
                s = np.concatenate([train_w, sw[None]])
                s = s * (n / s.sum(axis=1, keepdims=True))
                out = _design_members(Xd, Yd, jnp.asarray(sw), jnp.asarray(s),
                                      jnp.asarray(pos), jnp.asarray(gidx), idx_P,
                                      idx_U, **common)
            self.members, self.shift_x, self.shift_y, self.Xg, self.Yg = out
            self.gtw = jnp.asarray(gtw)
            self.yy_total = np.asarray(self.members.yy_total, np.float64)  # (F, T)
            q0 = np.asarray(self.members.q0[-1], np.float64)  # (pP, T)
            scale_P = np.asarray(self.members.x_scale, np.float64)[:, self.idx_P]
        # Box limits hold on the original scale; w_std = w_orig·scale per member.
        self.lower_P = self.lower[self.idx_P] * scale_P
        self.upper_P = self.upper[self.idx_P] * scale_P
        self.q0 = q0

    def alpha_max(self, l1_ratio: float) -> float:
        """alpha_max of all the data (the max over targets)."""
        l1 = max(l1_ratio, RIDGE_L1_RATIO)
        return max(
            _path._alpha_max_from_gradient(self.q0[:, t], l1, self.pf_P,
                                           self.lower_P[-1], self.upper_P[-1])
            for t in range(self.q0.shape[1])
        )

    def solve(self, grids, l1_ratios, *, tol, max_iter, strategy, chunk,
              check_every, l1_batch, screen="auto"):
        """Solve for every l1_ratio; returns one dict of NumPy arrays per l1_ratio."""
        dt = np.dtype(self.dtype)
        gram = self.mode == "gram"
        k = grids.shape[1]
        backend = backend_of(self.device)
        strategy, chunk = _path._choose_chunk(strategy, chunk, k, backend)
        screen = _choose_screen(screen, strategy, backend, len(self.idx_P),
                                self.members.yy.shape[1])
        padded = -(-k // chunk) * chunk
        lam = np.concatenate([grids, np.repeat(grids[:, -1:], padded - k, axis=1)], 1)
        tol_abs = tol * self.yy_total
        mem = self.members
        closed = [l1 == 0.0 and not self.boxed for l1 in l1_ratios]
        iterative = [i for i, cl in enumerate(closed) if not cl]
        batched = l1_batch and iterative and screen == "none"
        groups = [iterative] if batched else [[i] for i in iterative]
        # Host arrays go straight into the jitted functions (no per-shape helper
        # programs); results come back once as NumPy and are sliced there.
        pf, lo, up, scale = (np.asarray(a, dt) for a in (
            self.pf_P, self.lower_P, self.upper_P, self.alpha_scale))
        solved = {}
        with compute_context(dt, self.device):
            A, c, yy = (mem.A, mem.c, mem.yy) if dt == np.float64 else (
                mem.A.astype(dt), mem.c.astype(dt), mem.yy.astype(dt))
            for grp in groups:
                if screen == "strong":
                    i = grp[0]
                    r = _solve_screened(
                        A, c[..., 0], yy[:, 0], mem.q0[..., 0], lam[i], l1_ratios[i],
                        np.asarray(self.pf_P), lo, up, np.asarray(self.alpha_scale),
                        tol_abs[:, 0].astype(dt), np.int32(max_iter), gram=gram,
                        check_every=check_every, chunk=chunk)
                    solved[i] = {key: val[:, None, :k] for key, val in r.items()}
                    solved[i]["converged"] = solved[i]["gap"] <= tol_abs[:, :, None]
                    continue
                r = _solve_members(
                    A, c, yy, lam[grp].astype(dt),
                    np.asarray(l1_ratios, dt)[grp], pf, lo, up, tol_abs.astype(dt),
                    np.int32(max_iter), scale, gram=gram, check_every=check_every,
                    chunk=chunk, unroll=fista.unroll_for(backend, check_every),
                    exact_lipschitz=backend == "cpu",
                )
                r = jax.tree_util.tree_map(np.asarray, r)
                for j, i in enumerate(grp):
                    solved[i] = dict(coef=r.coef[j, :, :, :k], gap=r.gap[j, :, :, :k],
                                     n_iter=r.n_iter[j, :, :, :k],
                                     converged=r.converged[j, :, :, :k],
                                     rr=r.rr[j, :, :, :k])
            for i in np.flatnonzero(closed):
                w, rr = _ridge_members(A, c, yy, grids[i].astype(dt), scale, pf,
                                       gram=gram)
                shape = rr.shape
                solved[i] = dict(coef=np.asarray(w), gap=np.zeros(shape),
                                 n_iter=np.zeros(shape, np.int64),
                                 converged=np.ones(shape, bool), rr=np.asarray(rr))
            if any((g == 0).any() for g in grids) and not self.boxed:
                w_ls, rr_ls = (np.asarray(a) for a in
                               _least_squares_members(A, c, yy, gram=gram))
        results = []
        for i in range(len(l1_ratios)):
            res = solved[i]
            zero = grids[i] == 0
            if zero.any() and not closed[i] and not self.boxed:
                # alpha = 0 is least squares, whose dual gives no certificate.
                res["coef"] = np.where(zero[:, None], w_ls[:, :, None, :],
                                       res["coef"])
                res["rr"] = np.where(zero, rr_ls[..., None], res["rr"])
                res["gap"] = np.where(zero, 0.0, res["gap"])
                res["n_iter"] = np.where(zero, 0, res["n_iter"])
                res["converged"] = np.where(zero, True, res["converged"])
            with compute_context(np.float64, self.device):
                out = _finish(np.asarray(res.pop("coef"), np.float64), mem,
                              self.shift_x, self.shift_y, self.Xg, self.Yg, self.gtw,
                              self.idx_P, self.idx_U)
            coefs, intercepts, mse, r2 = (np.asarray(a) for a in out)
            res.update(coefs=coefs, intercepts=intercepts, mse=mse, r2=r2,
                       strategy=strategy, gap_tol=tol_abs)
            results.append(res)
        return results

    def path_result(self, grid, res, l1_ratio, tol, amax, *, multi):
        """The all-data member as a PathResult (or MultiTargetPath)."""
        out_dt = np.dtype(self.dtype)
        coefs = res["coefs"][-1]  # (T, k, p)
        intercepts = res["intercepts"][-1]  # (T, k)
        gaps, n_iter = res["gap"][-1], res["n_iter"][-1]  # (T, k)
        conv, rr = res["converged"][-1], res["rr"][-1]
        yy = self.yy_total[-1][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(yy > 0, 1.0 - rr / np.where(yy > 0, yy, 1.0), 0.0)
        dev = np.clip(dev, 0.0, 1.0)
        gap_tol = res["gap_tol"][-1]  # (T,)
        common = dict(
            alphas=np.asarray(grid, out_dt), l1_ratio=l1_ratio, alpha_max=amax,
            tol=tol, mode=self.mode, strategy=res["strategy"], dtype=str(out_dt),
        )
        if not multi:
            return PathResult(
                coefs=coefs[0].astype(out_dt), intercepts=intercepts[0].astype(out_dt),
                gaps=gaps[0].astype(out_dt), n_iter=n_iter[0].astype(np.int64),
                converged=conv[0].astype(bool),
                df=(coefs[0] != 0).sum(axis=1).astype(np.int64),
                dev_ratio=dev[0].astype(out_dt), gap_tol=float(gap_tol[0]), **common,
            )
        return MultiTargetPath(
            coefs=np.swapaxes(coefs, 0, 1).astype(out_dt),
            intercepts=intercepts.T.astype(out_dt), gaps=gaps.max(0).astype(out_dt),
            n_iter=n_iter.max(0).astype(np.int64), converged=conv.all(0),
            df=(coefs != 0).any(axis=0).sum(axis=1).astype(np.int64),
            dev_ratio=dev.mean(0).astype(out_dt), gap_tol=float(gap_tol.max()),
            target_gaps=gaps.T.astype(out_dt), target_n_iter=n_iter.T.astype(np.int64),
            target_converged=conv.T.astype(bool), target_gap_tol=gap_tol, **common,
        )


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_cv_inputs(X, *, tol, max_iter, dtype, check_every, device):
    tol = V.check_tol(tol)
    max_iter = V.check_max_iter(max_iter)
    dt = V.check_dtype(dtype, tol)
    check_every = _check_int("check_every", check_every)
    dev = resolve_device(device)
    if not (isinstance(X, np.ndarray) or isinstance(X, jax.Array)):
        X = np.asarray(X)
    return X, tol, max_iter, dt, check_every, dev


def _grid_for(fit, alphas, eps, l1_ratio):
    amax = fit.alpha_max(l1_ratio)
    return _path._grid(alphas, amax, eps), amax


def _cv_results(fit, grid, res, l1_ratio, tol, amax, max_iter):
    mse_path = res["mse"][:, 0, :].T  # (k, K)
    r2_path = res["r2"][:, 0, :].T
    K = mse_path.shape[1]
    mse_mean = mse_path.mean(axis=1)
    if K > 1:
        mse_se = mse_path.std(axis=1, ddof=1) / np.sqrt(K)
    else:
        mse_se = np.full(len(grid), np.nan)
    i_min, i_1se = select_1se(mse_mean, mse_se)
    path = fit.path_result(grid, res, l1_ratio, tol, amax, multi=False)
    fold_conv = res["converged"][:-1, 0, :].T
    fold_gaps = res["gap"][:-1, 0, :].T
    out = CVResult(
        alphas=path.alphas, mse_mean=mse_mean, mse_se=mse_se,
        alpha_min=float(grid[i_min]), alpha_1se=float(grid[i_1se]), index_min=i_min,
        index_1se=i_1se, path=path, mse_path=mse_path, r2_path=r2_path,
        fold_converged=fold_conv, fold_gaps=fold_gaps, test_weight=fit.test_weight,
        l1_ratio=l1_ratio,
    )
    _warn_cv(out, res["gap_tol"][:-1, 0], max_iter)
    return out


def _warn_path(res: PathResult, gaps, gap_tol, n_iter, converged, max_iter,
               stacklevel):
    """ConvergenceWarning naming the worst alpha (per target when 2-D)."""
    bad = ~np.asarray(converged)
    if not bad.any():
        return
    ratio = np.where(bad, gaps / gap_tol, -np.inf)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    where = "" if len(worst) == 1 else f" of target {worst[1]}"
    warnings.warn(
        f"{int(bad.sum())} of {bad.size} alphas did not converge: the worst is "
        f"alpha={res.alphas[worst[0]]:.4g}{where} with duality gap "
        f"{gaps[worst]:.3e} > {np.broadcast_to(gap_tol, gaps.shape)[worst]:.3e} "
        f"(tol={res.tol:g} times ||y - ȳ||²/n) after {int(n_iter[worst])} "
        f"iterations (max_iter={max_iter}). Increase max_iter, loosen tol, "
        "standardize X, or drop the smallest alphas (larger eps).",
        ConvergenceWarning,
        stacklevel=stacklevel + 1,
    )


def _warn_cv(res: CVResult, fold_gap_tol, max_iter):
    p = res.path
    _warn_path(p, p.gaps, p.gap_tol, p.n_iter, p.converged, max_iter, 5)
    bad = ~res.fold_converged
    if not bad.any():
        return
    ratio = np.where(bad, res.fold_gaps / fold_gap_tol[None, :], -np.inf)
    i, f = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    warnings.warn(
        f"{int(bad.any(axis=0).sum())} of {res.n_folds} cross-validation folds have "
        f"alphas that did not converge ({int(bad.sum())} fold-alphas): the worst is "
        f"fold {f} at alpha={res.alphas[i]:.4g}, duality gap "
        f"{res.fold_gaps[i, f]:.3e} > {fold_gap_tol[f]:.3e} (tol={res.path.tol:g} "
        f"times the fold's ||y - ȳ||²/n) after max_iter={max_iter}. Their "
        "held-out errors are less reliable. Increase max_iter, loosen tol, "
        "standardize X, or drop the smallest alphas (larger eps).",
        ConvergenceWarning,
        stacklevel=5,
    )


def cv_path(X, y, *, l1_ratio=1.0, cv=DEFAULT_FOLDS, alphas=100, eps=1e-3,
            fit_intercept=True, standardize=False, sample_weight=None,
            penalty_factor=None, positive=False, lower_limits=None,
            upper_limits=None, tol=1e-4, max_iter=_path.DEFAULT_MAX_ITER,
            dtype=None, groups=None, mode="auto", strategy="auto", chunk=None,
            check_every=10, screen="auto", device=None) -> CVResult:
    """K-fold cross-validation of the elastic-net path, all folds × alphas at once.

    Every fold minimises, on its training samples and for every alpha::

        1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ p_j|w_j|
                                                + (1 - l1_ratio)/2·Σ p_j w_j²)

    and is scored by its held-out mean squared error (weighted by
    ``sample_weight`` when given: ``Σ s_i r_i² / Σ s_i`` over the held-out
    samples). The alpha grid is computed once on all the data (as glmnet and
    scikit-learn's ``LassoCV`` do) and shared by every fold; the fit on all the
    data is solved in the same batch as the folds and returned as ``path``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    l1_ratio : float in [0, 1]
        1 is the lasso; 0 is ridge (solved in closed form per fold unless there
        are box constraints; its default grid starts at the lasso ``alpha_max``
        for ``l1_ratio=0.001``, as glmnet does).
    cv : int, splitter, iterable of (train, test), or array of fold ids
        An int K: contiguous K-fold without shuffling (scikit-learn's ``KFold``:
        the first ``n % K`` folds have one more sample). An object with a
        ``split(X, y[, groups])`` method (any scikit-learn splitter; scikit-learn
        is not needed otherwise). An iterable of ``(train, test)`` index arrays
        (a sample listed twice in a training set counts twice). Or an array of
        length n of fold ids (glmnet's ``foldid``).
    alphas : int or array-like
        Grid size (geometric from ``alpha_max`` of all the data down to
        ``eps·alpha_max``) or the alphas themselves (sorted decreasing).
    eps, fit_intercept, standardize, sample_weight, penalty_factor, positive,
    lower_limits, upper_limits, tol, max_iter, dtype, mode, strategy, chunk,
    check_every, device
        As in :func:`jaxreg.enet_path`. The tol threshold of each fold uses that
        fold's weighted training ``||y - ȳ||²/n``.
    screen : {"auto", "none", "strong"}
        ``"strong"``: each chunk of alphas is solved on one working set for all
        folds (the features active in any fold plus those the sequential strong
        rule keeps), then every fold's full problem is checked and violators are
        added, so the gaps are those of the full problems. ``"auto"``: on the CPU
        from 256 features (not with ``strategy="parallel"``).
    groups : array-like of shape (n_samples,), optional
        Passed to ``cv.split`` (e.g. for ``GroupKFold``).

    Returns
    -------
    CVResult
        ``mse_mean``/``mse_se``/``mse_path``, ``alpha_min``, ``alpha_1se`` and the
        all-data ``path``.

    Raises
    ------
    ValueError, TypeError
        For invalid input; the message names the argument and the rule.

    Notes
    -----
    Folds are weight vectors, so all folds (and the all-data fit) have the same
    shapes and are solved by one vmapped, jit-compiled batched FISTA. In Gram mode
    X is read once: each fold's training Gram matrix is the total minus the part
    of its held-out rows, centred with the fold's weighted means in float64. New
    data of the same shape, new alphas or tol do not recompile.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.cv import cv_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 8))
    >>> y = X @ [2.0, -1.0, 0, 0, 0, 0, 0, 0.5] + rng.normal(size=60)
    >>> res = cv_path(X, y, cv=5, alphas=30)
    >>> res.mse_path.shape, res.alpha_1se >= res.alpha_min
    ((30, 5), True)
    """
    X, y = V.check_X_y(X, y)
    l1_ratio = V.check_l1_ratio(l1_ratio, allow_zero=True)
    return _cv_many(X, y, [l1_ratio], cv=cv, alphas=alphas, eps=eps,
                    fit_intercept=fit_intercept, standardize=standardize,
                    sample_weight=sample_weight, penalty_factor=penalty_factor,
                    positive=positive, lower_limits=lower_limits,
                    upper_limits=upper_limits, tol=tol, max_iter=max_iter,
                    dtype=dtype, groups=groups, mode=mode, strategy=strategy,
                    chunk=chunk, check_every=check_every, screen=screen,
                    device=device, l1_batch=None)[0]


def cv_paths(X, y, *, l1_ratio=(0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0),
             cv=DEFAULT_FOLDS, alphas=100, eps=1e-3, fit_intercept=True,
             standardize=False, sample_weight=None, penalty_factor=None,
             positive=False, lower_limits=None, upper_limits=None, tol=1e-4,
             max_iter=_path.DEFAULT_MAX_ITER, dtype=None, groups=None, mode="auto",
             strategy="auto", chunk=None, check_every=10, screen="auto",
             device=None, l1_batch=None) -> list[CVResult]:
    """:func:`cv_path` for several l1_ratios on the same folds (one CVResult each).

    The fold statistics are computed once for all l1_ratios. Each l1_ratio gets
    its own grid (``alpha_max`` scales as ``1/l1_ratio``).

    Parameters
    ----------
    l1_ratio : sequence of float in [0, 1]
    l1_batch : bool, optional
        Solve all l1_ratios in one batch (default on GPU, where a wider batch is
        almost free) or one after the other, reusing the compiled solver (CPU,
        where a batch costs as much as its slowest member).
    Others
        As in :func:`cv_path`.

    Returns
    -------
    list of CVResult, in the order of ``l1_ratio``.
    """
    X, y = V.check_X_y(X, y)
    ratios = np.atleast_1d(np.asarray(l1_ratio, dtype=object))
    if ratios.ndim != 1 or ratios.size == 0:
        raise ValueError(
            f"l1_ratio must be a non-empty 1-D sequence, got {l1_ratio!r}."
        )
    ratios = [V.check_l1_ratio(r, allow_zero=True) for r in ratios]
    return _cv_many(X, y, ratios, cv=cv, alphas=alphas, eps=eps,
                    fit_intercept=fit_intercept, standardize=standardize,
                    sample_weight=sample_weight, penalty_factor=penalty_factor,
                    positive=positive, lower_limits=lower_limits,
                    upper_limits=upper_limits, tol=tol, max_iter=max_iter,
                    dtype=dtype, groups=groups, mode=mode, strategy=strategy,
                    chunk=chunk, check_every=check_every, screen=screen,
                    device=device, l1_batch=l1_batch)


def _cv_many(X, y, l1_ratios, **kwargs):
    """Validated X, 1-D y and l1_ratios -> one CVResult per l1_ratio."""
    fit, grids, amaxes, results, tol, max_iter = _cv_raw(X, np.asarray(y)[:, None],
                                                         l1_ratios, **kwargs)
    out = []
    for g, r, l1, a in zip(grids, results, l1_ratios, amaxes,  # no comprehension:
                           strict=True):
        out.append(_cv_results(fit, g, r, l1, tol, a, max_iter))  # warning stacklevel
    return out


def _cv_raw(X, Y, l1_ratios, *, cv, alphas, eps, fit_intercept, standardize,
            sample_weight, penalty_factor, positive, lower_limits, upper_limits,
            tol, max_iter, dtype, groups, mode, strategy, chunk, check_every,
            device, l1_batch, screen="auto", alpha_units="mean"):
    """Folds, members and solutions for 2-D ``Y`` (the estimators' entry point).

    ``alpha_units="sum"``: fold f solves at ``alpha / Σ_train raw weights``
    (scikit-learn's ``Ridge`` convention).
    """
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
    X, tol, max_iter, dt, check_every, dev = _check_cv_inputs(
        X, tol=tol, max_iter=max_iter, dtype=dtype, check_every=check_every,
        device=device)
    n = X.shape[0]
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(
                f"groups must have shape ({n},), got shape {groups.shape}."
            )
    y_split = Y[:, 0] if Y.shape[1] == 1 else Y
    train, test = fold_counts(cv, np.asarray(X) if not isinstance(X, np.ndarray)
                              else X, y_split, n, groups)
    k = alphas if isinstance(alphas, int) else len(alphas)
    _memory.check_memory(n, X.shape[1], k, dt, _path._choose_mode(mode, *X.shape),
                         dev, batch=min(k, _path.HYBRID_CHUNK),
                         n_problems=len(train) + 1)
    fit = _Fit(X, Y, train=train, test=test,
               fit_intercept=fit_intercept, standardize=standardize,
               sample_weight=sample_weight, penalty_factor=penalty_factor,
               positive=positive, lower_limits=lower_limits,
               upper_limits=upper_limits, mode=mode, dtype=dt, device=dev,
               alpha_units=alpha_units)
    grids, amaxes = zip(*(_grid_for(fit, alphas, eps, l1) for l1 in l1_ratios),
                        strict=True)
    if l1_batch is None:
        l1_batch = backend_of(dev) != "cpu"
    results = fit.solve(np.array(grids), l1_ratios, tol=tol, max_iter=max_iter,
                        strategy=strategy, chunk=chunk, check_every=check_every,
                        l1_batch=bool(l1_batch), screen=screen)
    return fit, grids, amaxes, results, tol, max_iter


def multi_target_path(X, Y, *, l1_ratio=1.0, alphas=100, eps=1e-3,
                      fit_intercept=True, standardize=False, sample_weight=None,
                      penalty_factor=None, positive=False, lower_limits=None,
                      upper_limits=None, tol=1e-4, max_iter=_path.DEFAULT_MAX_ITER,
                      dtype=None, mode="auto", strategy="auto", chunk=None,
                      check_every=10, screen="auto",
                      device=None) -> MultiTargetPath:
    """Elastic-net paths of several targets at once, fitted independently.

    Minimises, for every target t and every alpha::

        1/(2n)·Σ s_i (Y_it - x_i·w - b)² + alpha·(l1_ratio·Σ p_j|w_j|
                                                 + (1 - l1_ratio)/2·Σ p_j w_j²)

    The targets share X (one Gram matrix or design) and one alpha grid, and are
    solved in one batch (a vmap over targets of the path solver).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    Y : array-like of shape (n_samples,) or (n_samples, n_targets)
    l1_ratio : float in [0, 1]
        0 is ridge (closed form unless there are box constraints).
    alphas : int or array-like
        Grid size (from the largest ``alpha_max`` over the targets) or the alphas.
    Others
        As in :func:`jaxreg.enet_path` (``screen`` as in :func:`cv_path`, for a
        single target only); each target's tol threshold uses its own
        ``||y - ȳ||²/n``.

    Returns
    -------
    MultiTargetPath
        ``coefs`` (k, n_targets, p), ``intercepts`` (k, n_targets), and
        per-target gaps, iterations and convergence flags.

    Examples
    --------
    >>> import numpy as np
    >>> from jaxreg.cv import multi_target_path
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> res = multi_target_path(X, X @ np.eye(3)[:, :2], alphas=[0.1, 0.01])
    >>> res.coefs.shape
    (2, 2, 3)
    """
    X, Y = V.check_X_y(X, Y, y_ndim=(1, 2))
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    l1_ratio = V.check_l1_ratio(l1_ratio, allow_zero=True)
    alphas = V.check_alphas(alphas)
    eps = V.check_eps(eps)
    X, tol, max_iter, dt, check_every, dev = _check_cv_inputs(
        X, tol=tol, max_iter=max_iter, dtype=dtype, check_every=check_every,
        device=device)
    n = X.shape[0]
    fit = _Fit(X, Y, train=np.zeros((0, n)), test=np.zeros((0, n)),
               fit_intercept=fit_intercept, standardize=standardize,
               sample_weight=sample_weight, penalty_factor=penalty_factor,
               positive=positive, lower_limits=lower_limits,
               upper_limits=upper_limits, mode=mode, dtype=dt, device=dev)
    grid, amax = _grid_for(fit, alphas, eps, l1_ratio)
    res = fit.solve(np.asarray(grid)[None], [l1_ratio], tol=tol, max_iter=max_iter,
                    strategy=strategy, chunk=chunk, check_every=check_every,
                    l1_batch=False, screen=screen)[0]
    out = fit.path_result(grid, res, l1_ratio, tol, amax, multi=True)
    _warn_path(out, out.target_gaps, out.target_gap_tol[None, :], out.target_n_iter,
               out.target_converged, max_iter, 2)
    return out
