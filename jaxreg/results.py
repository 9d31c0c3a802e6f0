"""Every result of jaxreg, and its one non-convergence warning.

Arrays have the level axis (alphas, radii) first; all are NumPy arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxreg import _result_io
from jaxreg._convergence import (  # the warning lives beside its message
    ConvergenceWarning,
    not_converged_message,
    warn_not_converged,
)
from jaxreg._ridge_result import RidgeCVResult

__all__ = [
    "CVResult",
    "ConstrainedResult",
    "ConvergenceWarning",
    "MultiTargetPath",
    "PathResult",
    "RidgeCVResult",
    "not_converged_message",
    "path_result",
    "select_1se",
    "warn_not_converged",
]


def _table_rows(k, max_rows, keep=()):
    rows = np.unique(np.linspace(0, k - 1, min(k, max_rows)).round().astype(int))
    return np.union1d(rows, list(keep)).astype(int)


def _entered(path, rows, width=40):
    """Per table row, the named features that became non-zero since the previous
    row ("+name"; "-name" for those that left), or None without feature names."""
    names = path.feature_names
    if names is None:
        return None
    nz = np.asarray(path.coefs) != 0
    nz = nz.reshape(nz.shape[0], -1, nz.shape[-1]).any(axis=1)  # any target/class
    out, before = [], np.zeros(nz.shape[1], bool)
    for i in rows:
        moves = [f"+{names[j]}" for j in np.flatnonzero(nz[i] & ~before)]
        moves += [f"-{names[j]}" for j in np.flatnonzero(before & ~nz[i])]
        text = " ".join(moves)
        out.append(text if len(text) <= width else text[: width - 1] + "…")
        before = nz[i]
    return out


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class _Solved:
    """How a result was solved: the tolerance asked for, the gap it means in
    objective units, the solver's mode and strategy and the dtype."""

    tol: float = float("nan")
    gap_tol: float = float("nan")
    mode: str = ""
    strategy: str = ""
    dtype: str = "float64"


@dataclasses.dataclass(frozen=True, repr=False)
class PathResult(_Solved):
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
        ``gap <= tol·||y - ȳ||²/n``, verified: never for a non-finite result.
    df : ndarray (k,)
        Number of non-zero coefficients.
    dev_ratio : ndarray (k,)
        Fraction of the (weighted, centred) deviance explained.
    x_scale : ndarray (n_features,) or None
        With ``standardize=True``: the (weighted, 1/n) standard deviation of each
        column, the scale on which the penalty applied (``coefs·x_scale`` are the
        standardized coefficients). None otherwise.
    family : str
        The GLM family ("gaussian" for least squares).
    feature_names : ndarray (n_features,) of str, or None
        The column names of a DataFrame X (pandas, polars); None otherwise.
    gamma : float or None
        A relaxed path's blend (``relax=True``): ``coefs`` are ``gamma·penalized
        + (1 − gamma)·refit on the support``; ``gaps`` and ``converged`` certify
        the penalized solutions that define the supports. None otherwise.
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
    x_scale: np.ndarray | None = None
    family: str = "gaussian"
    feature_names: np.ndarray | None = None
    gamma: float | None = None

    def _weights_at(self, alpha):
        """Interpolation weights (m, k) of the grid for alphas ``alpha`` (m,):
        linear in log α between the two nearest grid points (α = 0 as the
        smallest positive float), the grid's end values beyond it."""
        grid = np.asarray(self.alphas, np.float64)
        a = np.atleast_1d(np.asarray(alpha, np.float64))
        if a.ndim != 1 or not np.all(np.isfinite(a) & (a >= 0)):
            raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}.")
        tiny = np.finfo(np.float64).tiny
        lg, la = np.log(np.maximum(grid, tiny)), np.log(np.maximum(a, tiny))
        # the grid is decreasing: interpolate on its reversed (increasing) axis
        x = lg[::-1]
        k = len(grid)
        Wt = np.zeros((a.size, k))
        for i, v in enumerate(la):
            j = np.searchsorted(x, v)
            if j <= 0 or k == 1:
                Wt[i, k - 1] = 1.0
            elif j >= k:
                Wt[i, 0] = 1.0
            else:
                lo, hi = x[j - 1], x[j]
                t = (v - lo) / (hi - lo) if hi > lo else 1.0
                Wt[i, k - j] = 1.0 - t  # grid index of x[j-1]
                Wt[i, k - 1 - j] = t  # grid index of x[j]
        return Wt

    def coef_at(self, alpha, *, exact=False, X=None, y=None, **options):
        """Coefficients at any ``alpha`` (a float, or an array of them): linear in
        log α between the two nearest grid points, the end solutions beyond the
        grid (glmnet's ``coef(fit, s=)`` with ``exact=FALSE``, on log α). The
        shape of one row of ``coefs``, with a leading axis for an array.

        ``exact=True`` solves at ``alpha`` instead (glmnet's ``exact=TRUE``): give
        the data ``X``, ``y`` again and, as ``options``, the keywords of the
        original call that the result does not record (``sample_weight``,
        ``penalty_factor``, ``fit_intercept``, ``groups``, limits, …); the
        l1_ratio, tol, family and standardization are the path's."""
        return self._at("coefs", alpha, exact, X, y, options)

    def intercept_at(self, alpha, *, exact=False, X=None, y=None, **options):
        """The intercept at ``alpha``, interpolated (or solved) as :meth:`coef_at`."""
        return self._at("intercepts", alpha, exact, X, y, options)

    def _at(self, field, alpha, exact, X, y, options):
        if exact:
            out = getattr(self._exact(alpha, X, y, options), field)
        else:
            W = self._weights_at(alpha)
            out = np.tensordot(W, np.asarray(getattr(self, field)), axes=(1, 0))
        return out[0] if np.ndim(alpha) == 0 else out

    def _exact(self, alpha, X, y, options):
        """The path solved at ``alpha`` (in the given order) on ``X``, ``y``."""
        from jaxreg import path as _path

        if X is None or y is None:
            raise TypeError("exact=True solves again: give the data, X= and y=.")
        if self.gamma is not None:
            raise ValueError("exact=True is not available for a relaxed path.")
        a = np.atleast_1d(np.asarray(alpha, np.float64))
        self._weights_at(a)  # validates
        order = np.argsort(-a, kind="stable")
        kw = dict(
            alphas=a[order], tol=self.tol, standardize=self.x_scale is not None,
            **options,
        )  # fmt: skip
        if self.l1_ratio == 0 and self.family == "gaussian":  # closed form
            from jaxreg.ridge import ridge_path

            kw.pop("tol")
            res = ridge_path(X, y, **kw)
        elif isinstance(self, MultiTargetPath) and self.family == "gaussian":
            res = _path.multi_target_path(X, y, l1_ratio=self.l1_ratio, **kw)
        else:
            res = _path.enet_path(
                X, y, l1_ratio=self.l1_ratio, family=self.family, **kw
            )
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return dataclasses.replace(
            res, coefs=res.coefs[back], intercepts=res.intercepts[back]
        )

    def predict(self, X, alpha=None) -> np.ndarray:
        """Linear predictions ``X·w + b``: for every alpha of the grid ``(n_samples,
        k)`` (``(n, k, n_targets)`` or ``(n, k, n_classes)``), or at ``alpha`` (a
        float: ``(n_samples,)``; an array of m: ``(n_samples, m)``), interpolated
        as :meth:`coef_at`. For a GLM family these are the linear predictors η."""
        X = np.asarray(X, dtype=self.coefs.dtype)
        p = self.coefs.shape[-1]
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(f"X must be 2-D with {p} features, got shape {X.shape}.")
        if alpha is not None:
            a = np.atleast_1d(alpha)
            out = np.einsum("np,m...p->nm...", X, self.coef_at(a))
            out = out + self.intercept_at(a)[None]
            return out[:, 0] if np.ndim(alpha) == 0 else out
        if self.coefs.ndim == 2:
            return X @ self.coefs.T + self.intercepts[None, :]
        return np.einsum("np,ktp->nkt", X, self.coefs) + self.intercepts[None]

    def save(self, path, *, overwrite: bool = False) -> str:
        """Write to ``path`` (``.npz`` added when missing): NumPy arrays and a JSON
        header, never pickle; :func:`jaxreg.load` reads it back. An existing file
        is kept unless ``overwrite=True``. Returns the path written."""
        return _result_io.save(self, path, overwrite)

    def to_frame(self):
        """A pandas DataFrame, one row per alpha: alpha, df, dev_ratio, gap,
        converged and the coefficients (named by ``feature_names``)."""
        cols = dict(alpha=self.alphas, df=self.df, dev_ratio=self.dev_ratio,
                    gap=self.gaps, converged=self.converged)  # fmt: skip
        if self.coefs.ndim == 2:
            p = self.coefs.shape[1]
            names = (
                list(self.feature_names) if self.feature_names is not None
                else [f"x{j}" for j in range(p)]
            )  # fmt: skip
            cols.update(intercept=self.intercepts)
            cols.update({n: self.coefs[:, j] for j, n in enumerate(names)})
        return _result_io.frame(cols)

    def summary(self, max_rows: int = 20) -> str:
        """A glmnet-style table: alpha, df, % deviance explained, gap; with
        feature names, the features that entered (+) or left (-) since the row
        above."""
        rows = _table_rows(len(self.alphas), max_rows)
        moves = _entered(self, rows)
        head = f"{'':>4} {'alpha':>11} {'df':>5} {'%dev':>7} {'gap':>10} conv"
        lines = [head + (" features" if moves else "")]
        for n, i in enumerate(rows):
            line = (
                f"{i:>4} {self.alphas[i]:>11.4g} {int(self.df[i]):>5} "
                f"{100 * self.dev_ratio[i]:>7.2f} {self.gaps[i]:>10.2e} "
                f"{'yes' if self.converged[i] else 'NO '}"
            )
            lines.append((line + " " + moves[n]).rstrip() if moves else line.rstrip())
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


@dataclasses.dataclass(frozen=True, repr=False)
class MultiTargetPath(PathResult):
    """A :class:`PathResult` for several targets sharing one alpha grid.

    ``coefs`` (k, n_targets, p) and ``intercepts`` (k, n_targets). The aggregated
    fields follow :func:`jaxreg.ridge_path`: ``gaps`` and ``n_iter`` are the
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


def _alone(a, dtype):
    """``a`` as ``dtype``, copied only if part of a larger array (CV folds')."""
    out = np.asarray(a).astype(dtype, copy=False)
    whole = out.base is None or np.asarray(out.base).nbytes <= out.nbytes
    return out if whole else out.copy()


def path_result(
    alphas,
    coefs,
    intercepts,
    gaps,
    n_iter,
    converged,
    rr,
    yy,
    gap_tol,
    *,
    multi,
    **meta,
) -> PathResult:
    """A PathResult from arrays with the targets first: coefs (T, k, p),
    intercepts, gaps, n_iter, converged, rr (T, k); yy, gap_tol (T,).

    A solution with a non-finite coefficient, intercept or gap is never reported
    as converged. ``multi``: a MultiTargetPath (else T must be 1).
    """
    dt = np.dtype(meta.get("dtype", "float64"))
    finite = (
        np.isfinite(coefs).all(axis=-1) & np.isfinite(intercepts) & np.isfinite(gaps)
    )
    converged = np.asarray(converged, bool) & finite
    yy = np.asarray(yy, np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(yy > 0, 1.0 - rr / np.where(yy > 0, yy, 1.0), 0.0)
    dev = np.clip(np.nan_to_num(dev), 0.0, 1.0)
    common = dict(alphas=np.asarray(alphas, dt), **meta)
    if not multi:
        return PathResult(
            coefs=_alone(coefs[0], dt),
            intercepts=intercepts[0].astype(dt),
            gaps=gaps[0].astype(dt),
            n_iter=n_iter[0].astype(np.int64),
            converged=converged[0],
            df=(coefs[0] != 0).sum(axis=1).astype(np.int64),
            dev_ratio=dev[0].astype(dt),
            gap_tol=float(gap_tol[0]),
            **common,
        )
    return MultiTargetPath(
        coefs=_alone(np.swapaxes(coefs, 0, 1), dt),
        intercepts=intercepts.T.astype(dt),
        gaps=gaps.max(0).astype(dt),
        n_iter=n_iter.max(0).astype(np.int64),
        converged=converged.all(0),
        df=(coefs != 0).any(axis=0).sum(axis=1).astype(np.int64),
        dev_ratio=dev.mean(0).astype(dt),
        gap_tol=float(np.max(gap_tol)),
        target_gaps=gaps.T.astype(dt),
        target_n_iter=n_iter.T.astype(np.int64),
        target_converged=converged.T,
        target_gap_tol=np.asarray(gap_tol),
        **common,
    )


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
    fold_n_iter : ndarray (k, n_folds)
        Iterations used by every fold's solution (0 for the closed-form ridge).
    measure : str
        What ``mse_path``, ``mse_mean`` and ``mse_se`` hold: "mse" (the gaussian
        family), or the ``scoring`` of a GLM family's :func:`jaxreg.cv_path`
        ("deviance", "mse", "misclassification" or "auc"; the AUC's best is its
        maximum).
    gammas, gamma_min, gamma_1se, relaxed_mse_mean, relaxed_mse_se, refit_path
        With ``relax=True`` (see :func:`jaxreg.cv_path`): the gammas tried, the
        chosen ones, the errors (gammas, alphas) and the all-data refits on the
        supports; None otherwise.
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
    fold_n_iter: np.ndarray | None = None
    measure: str = "mse"
    gammas: np.ndarray | None = None
    gamma_min: float | None = None
    gamma_1se: float | None = None
    relaxed_mse_mean: np.ndarray | None = None
    relaxed_mse_se: np.ndarray | None = None
    refit_path: PathResult | None = None

    @property
    def n_folds(self) -> int:
        return int(self.mse_path.shape[1])

    def _alpha(self, alpha):
        if isinstance(alpha, str):
            if alpha not in ("min", "1se"):
                raise ValueError(
                    f"alpha must be 'min', '1se' or a number, got {alpha!r}."
                )
            return self.alpha_min if alpha == "min" else self.alpha_1se
        return alpha

    def _gamma(self, alpha, gamma):
        if self.refit_path is None:
            return None
        if gamma is not None:
            return float(gamma)
        return self.gamma_1se if alpha == "1se" else self.gamma_min

    def coef_at(self, alpha="min", gamma=None) -> np.ndarray:
        """Coefficients of the all-data path at ``alpha``: "min", "1se" or any
        value(s), interpolated as :meth:`PathResult.coef_at`; relaxed, blended
        by ``gamma`` (default: the one chosen with that alpha)."""
        g, a = self._gamma(alpha, gamma), self._alpha(alpha)
        if g is None:
            return self.path.coef_at(a)
        return g * self.path.coef_at(a) + (1.0 - g) * self.refit_path.coef_at(a)

    def intercept_at(self, alpha="min", gamma=None):
        """The intercept at ``alpha`` ("min", "1se" or any value(s))."""
        g, a = self._gamma(alpha, gamma), self._alpha(alpha)
        if g is None:
            return self.path.intercept_at(a)
        return g * self.path.intercept_at(a) + (1 - g) * self.refit_path.intercept_at(a)

    def predict(self, X, alpha="min", gamma=None) -> np.ndarray:
        """Linear predictions of the all-data path at ``alpha`` ("min" by default,
        "1se" or any value(s)); see :meth:`PathResult.predict`."""
        g, a = self._gamma(alpha, gamma), self._alpha(alpha)
        if g is None:
            return self.path.predict(X, alpha=a)
        pen, ref = self.path.predict(X, alpha=a), self.refit_path.predict(X, alpha=a)
        return g * pen + (1.0 - g) * ref

    @property
    def coef_min(self) -> np.ndarray:
        """Coefficients on all the data at ``alpha_min`` (and ``gamma_min``)."""
        if self.refit_path is not None:
            return self.coef_at("min")
        return self.path.coefs[self.index_min]

    @property
    def coef_1se(self) -> np.ndarray:
        """Coefficients on all the data at ``alpha_1se`` (and ``gamma_1se``)."""
        if self.refit_path is not None:
            return self.coef_at("1se")
        return self.path.coefs[self.index_1se]

    def save(self, path, *, overwrite: bool = False) -> str:
        """Write to ``path`` (``.npz``): arrays and a JSON header, never pickle;
        :func:`jaxreg.load` reads it back. Returns the path written."""
        return _result_io.save(self, path, overwrite)

    def to_frame(self):
        """A pandas DataFrame, one row per alpha: alpha, df, the CV measure's mean
        and standard error."""
        return _result_io.frame({"alpha": self.alphas, "df": self.path.df,
                       self.measure: self.mse_mean, "se": self.mse_se})  # fmt: skip

    def summary(self, max_rows: int = 20) -> str:
        """A cv.glmnet-style table: alpha, df, mean MSE, its standard error."""
        keep = [self.index_min, self.index_1se]
        name = self.measure[:11]
        rows = _table_rows(len(self.alphas), max_rows, keep)
        moves = _entered(self.path, rows)
        head = f"{'':>4} {'alpha':>11} {'df':>5} {name:>11} {'se':>10}"
        lines = [head + ("         features" if moves else "")]
        for n, i in enumerate(rows):
            tag = " min" if i == self.index_min else ""
            tag += " 1se" if i == self.index_1se else ""
            line = (
                f"{i:>4} {self.alphas[i]:>11.4g} {int(self.path.df[i]):>5} "
                f"{self.mse_mean[i]:>11.5g} {self.mse_se[i]:>10.3g}{tag:<8}"
            )
            lines.append((line + " " + moves[n]).rstrip() if moves else line.rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"CVResult({self.n_folds} folds x {len(self.alphas)} alphas, "
            f"l1_ratio={self.l1_ratio:g}: alpha_min={self.alpha_min:.4g} "
            f"({self.measure} {self.mse_mean[self.index_min]:.4g}), alpha_1se="
            f"{self.alpha_1se:.4g} ({self.measure} "
            f"{self.mse_mean[self.index_1se]:.4g}))"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class ConstrainedResult(_Solved):
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

    def predict(self, X) -> np.ndarray:
        """Predictions for every radius: ``(n_samples, k)``."""
        return PathResult.predict(self, X)

    def __repr__(self) -> str:
        k = len(self.radii)
        return (
            f"ConstrainedResult({k} {self.norm} radii from {self.radii[0]:.4g} to "
            f"{self.radii[-1]:.4g}, coefs {self.coefs.shape[0]}x{self.coefs.shape[1]}, "
            f"{int(self.converged.sum())}/{k} converged, {self.dtype}, "
            f"mode={self.mode!r})"
        )
