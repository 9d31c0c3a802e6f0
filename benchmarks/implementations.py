"""The implementations the suite times: jaxreg, the NumPy reference and the peers.

Each implementation turns ``(case, X, y, grid)`` into a zero-argument callable that
solves the case and returns a *solution* dict (see :func:`benchmarks.validate.
validate`): ``alphas``, ``path_alphas``, ``coefs`` (m, p), ``intercepts`` (m,),
``n_iter`` (total iterations, or None), ``n_iter_max``, ``mse_mean`` for "cv", and
``info`` (a dict of short strings: mode, strategy, what the solver itself reported).
Setup that a user does once (casting X to the case's dtype) happens outside the
callable; the work the solver must do on every call (centring, the path, the
recovery of intercepts) happens inside it, so it is timed.

All of them get the same float grid and the same relative tolerance
(``gap ≤ tol·||y - ȳ||²/n``, scikit-learn's rule). Peers are optional: an
implementation whose import fails is reported as skipped, with the reason.

Peer conventions, converted here so every result is on jaxreg's objective:

* scikit-learn ``enet_path``/``lasso_path`` fit no intercept: X and y are centred
  first and the intercept is recovered as ``ȳ - x̄·w``. Its default
  ``max_iter=1000`` stops short of tol=1e-6 on correlated designs, so peers get
  ``PEER_MAX_ITER``.
* scikit-learn ``Ridge(alpha=a)`` minimises ``||y - Xw - b||² + a·||w||²``, which is
  the path objective at ``alpha = a/n``.
* celer and skglm estimators are fitted along the grid with ``warm_start=True``.
* glmnet: python-glmnet's ``ElasticNet(alpha=l1_ratio, lambda_path=grid)`` with
  ``standardize=False`` when it imports, else glmnet's Fortran from the glmnet_py
  wheel (:mod:`benchmarks.glmnet_fortran`). Its threshold bounds coefficient
  changes, not the gap, so it is calibrated before timing: tightened tenfold
  from ``tol`` until the reference's gaps certify the path.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

__all__ = ["IMPLEMENTATIONS", "PEERS", "Implementation", "get", "user"]

PEER_MAX_ITER = 100_000


class Implementation:
    """An implementation: its name, the tasks it supports and how to build a run.

    Attributes
    ----------
    name : str
    tasks : tuple of str
    module : str, callable or None
        Module whose import decides availability, or a function returning why
        the implementation is unavailable (None when it is available).
    compiles : bool
        JIT-compiled (the first call is timed apart).
    float64_only : bool
        Computes in float64 whatever the case's dtype (the NumPy reference).
    """

    def __init__(
        self, name, tasks, build, *, module=None, compiles=False, float64_only=False
    ):
        self.name = name
        self.tasks = tuple(tasks)
        self._build = build
        self.module = module
        self.compiles = compiles
        self.float64_only = float64_only

    def unavailable(self) -> str | None:
        """Why this implementation cannot run here, or None."""
        if self.module is None:
            return None
        if callable(self.module):
            return self.module()
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # a broken install is as good as a missing one
            return f"{self.module} is not importable ({type(exc).__name__}: {exc})"
        return None

    def version(self) -> str | None:
        mod = self.module if isinstance(self.module, str) else self.name
        mod = "jaxreg" if mod is None else mod
        try:
            return str(
                getattr(
                    importlib.import_module(mod.split(".")[0]), "__version__", "unknown"
                )
            )
        except Exception:
            return None

    def build(self, case, X, y, grid, *, device="cpu", strategy="auto"):
        """A zero-argument callable that solves ``case`` and returns a solution."""
        if case.task not in self.tasks:
            raise ValueError(
                f"task must be one of {self.tasks} for {self.name}, got {case.task!r}."
            )
        return self._build(case, X, y, grid, device=device, strategy=strategy)


def _solution(alphas, coefs, intercepts, *, n_iter=None, path_alphas=None, **extra):
    coefs = np.atleast_2d(np.asarray(coefs))
    it = None if n_iter is None else np.asarray(n_iter).ravel()
    sol = dict(
        alphas=np.asarray(alphas, dtype=np.float64),
        path_alphas=np.asarray(
            alphas if path_alphas is None else path_alphas, dtype=np.float64
        ),
        coefs=coefs,
        intercepts=np.atleast_1d(np.asarray(intercepts)),
        n_iter=None if it is None else int(it.sum()),
        n_iter_max=None if it is None or it.size == 0 else int(it.max()),
        info={},
    )
    sol.update(extra)
    return sol


# --------------------------------------------------------------------------- jaxreg
def _jaxreg(case, X, y, grid, *, device, strategy):
    kw = dict(alphas=grid, dtype=case.dtype, device=device)
    if case.task in ("lasso", "enet"):
        from jaxreg.path import enet_path

        def fit():
            return enet_path(
                X, y, l1_ratio=case.l1_ratio, tol=case.tol, strategy=strategy, **kw
            )
    elif case.task == "ridge":
        from jaxreg.ridge import ridge_path

        def fit():
            return ridge_path(X, y, **kw)
    else:
        from jaxreg.cv import cv_path

        def fit():
            return cv_path(
                X,
                y,
                l1_ratio=case.l1_ratio,
                cv=case.n_folds,
                tol=case.tol,
                strategy=strategy,
                **kw,
            )

    def run():
        with warnings.catch_warnings():
            # Non-convergence is measured by the validation, not announced here.
            warnings.simplefilter("ignore")
            res = fit()
        if case.task == "cv":
            path = res.path
            sol = _solution(
                res.alphas,
                path.coefs,
                path.intercepts,
                n_iter=path.n_iter,
                mse_mean=res.mse_mean,
            )
            folds_ok = int(np.asarray(res.fold_converged).sum())
            sol["info"]["solver_converged"] = (
                f"path {int(path.converged.sum())}/{len(path.converged)}, folds "
                f"{folds_ok}/{np.asarray(res.fold_converged).size}"
            )
        else:
            path = res
            sol = _solution(
                path.alphas, path.coefs, path.intercepts, n_iter=path.n_iter
            )
            sol["info"]["solver_converged"] = (
                f"{int(path.converged.sum())}/{len(path.converged)}"
            )
        sol["info"]["mode"] = str(getattr(path, "mode", ""))
        sol["info"]["strategy"] = str(getattr(path, "strategy", ""))
        return sol

    return run


# ------------------------------------------------------------------------ reference
def _reference(case, X, y, grid, *, device, strategy):
    from benchmarks.validate import kfold_bounds
    from jaxreg import reference

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)

    def path(Xs, ys):
        if case.task == "ridge":
            r = reference.ridge_path(Xs, ys, alphas=grid)
            return r["alphas"], r["coefs"], r["intercepts"], None
        r = reference.enet_path(
            Xs, ys, l1_ratio=case.l1_ratio, alphas=grid, tol=case.tol
        )
        return r["alphas"], r["coefs"], r["intercepts"], r["n_iter"]

    def run():
        alphas, coefs, intercepts, n_iter = path(X, y)
        sol = _solution(alphas, coefs, intercepts, n_iter=n_iter)
        if case.task == "cv":
            mse = []
            for start, stop in kfold_bounds(X.shape[0], case.n_folds):
                train = np.r_[0:start, stop : X.shape[0]]
                _, c, b, _ = path(X[train], y[train])
                pred = X[start:stop] @ c.T + b[None, :]
                mse.append(np.mean((y[start:stop, None] - pred) ** 2, axis=0))
            sol["mse_mean"] = np.mean(mse, axis=0)
        return sol

    return run


# -------------------------------------------------------------------------- sklearn
def _sklearn(case, X, y, grid, *, device, strategy):
    from sklearn import linear_model as lm
    from sklearn.model_selection import KFold

    n = X.shape[0]
    if case.task in ("lasso", "enet"):

        def run():
            x_mean, y_mean = X.mean(axis=0), y.mean()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                alphas, coefs, _, n_iter = lm.enet_path(
                    X - x_mean,
                    y - y_mean,
                    l1_ratio=case.l1_ratio,
                    alphas=grid,
                    tol=case.tol,
                    max_iter=PEER_MAX_ITER,
                    return_n_iter=True,
                )
            coefs = coefs.T
            return _solution(alphas, coefs, y_mean - coefs @ x_mean, n_iter=n_iter)

    elif case.task == "ridge":

        def run():
            coefs, intercepts = [], []
            for a in grid:
                m = lm.Ridge(alpha=a * n, fit_intercept=True).fit(X, y)
                coefs.append(m.coef_)
                intercepts.append(m.intercept_)
            return _solution(grid, np.array(coefs), np.array(intercepts))

    else:

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = lm.LassoCV(
                    alphas=grid,
                    cv=KFold(case.n_folds),
                    tol=case.tol,
                    max_iter=PEER_MAX_ITER,
                ).fit(X, y)
            return _solution(
                m.alphas_,
                m.coef_,
                m.intercept_,
                n_iter=m.n_iter_,
                path_alphas=[m.alpha_],
                mse_mean=m.mse_path_.mean(axis=1),
            )

    return run


# ------------------------------------------------------------------- celer / skglm
def _warm_loop(make):
    """A path by refitting one warm-started estimator along the grid."""

    def build(case, X, y, grid, *, device, strategy):
        def run():
            est = make(case)
            coefs, intercepts, n_iter = [], [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for a in grid:
                    est.set_params(alpha=float(a))
                    est.fit(X, y)
                    coefs.append(np.array(est.coef_, copy=True))
                    intercepts.append(float(est.intercept_))
                    n_iter.append(int(np.sum(getattr(est, "n_iter_", 0))))
            return _solution(grid, np.array(coefs), np.array(intercepts), n_iter=n_iter)

        return run

    return build


def _celer_estimator(case):
    import celer

    if case.task == "lasso":
        return celer.Lasso(alpha=1.0, tol=case.tol, fit_intercept=True, warm_start=True)
    return celer.ElasticNet(
        alpha=1.0,
        l1_ratio=case.l1_ratio,
        tol=case.tol,
        fit_intercept=True,
        warm_start=True,
    )


def _skglm_estimator(case):
    import skglm

    if case.task == "lasso":
        return skglm.Lasso(alpha=1.0, tol=case.tol, fit_intercept=True, warm_start=True)
    return skglm.ElasticNet(
        alpha=1.0,
        l1_ratio=case.l1_ratio,
        tol=case.tol,
        fit_intercept=True,
        warm_start=True,
    )


# -------------------------------------------------------------------- python-glmnet
def _glmnet_unavailable():
    """None when python-glmnet imports or glmnet's Fortran library loads through
    :mod:`benchmarks.glmnet_fortran`; else why not."""
    try:
        importlib.import_module("glmnet")
        return None
    except Exception as exc:
        first = f"python-glmnet is not importable ({type(exc).__name__}: {exc})"
    try:
        from benchmarks import glmnet_fortran

        glmnet_fortran._library()
        return None
    except Exception as exc:
        return f"{first}; glmnet's Fortran library: {exc}"


def _glmnet_fit(case, X, y, grid):
    """``fit(thresh) -> (coefs, intercepts, info)`` on the case's grid."""
    try:
        import glmnet
    except Exception:
        glmnet = None
    if glmnet is None:
        from benchmarks import glmnet_fortran

        def fit(thresh):
            c, b, _, info = glmnet_fortran.elnet_path(
                X, y, grid, l1_ratio=case.l1_ratio, thresh=thresh,
                max_iter=PEER_MAX_ITER,
            )  # fmt: skip
            return c, b, dict(info, binding="glmnet_py's Fortran")

        return fit

    def fit(thresh):
        m = glmnet.ElasticNet(
            alpha=case.l1_ratio, lambda_path=grid, standardize=False,
            fit_intercept=True, tol=thresh, n_splits=0,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, y)
        return m.coef_path_.T, m.intercept_path_, dict(binding="python-glmnet")

    return fit


def _glmnet(case, X, y, grid, *, device, strategy):
    """glmnet's threshold bounds coefficient changes, not the gap: before
    timing (untimed), it is tightened tenfold from ``case.tol`` until every
    alpha's gap, recomputed by the NumPy reference, is within the case's rule;
    the timed run uses that threshold (the same accuracy as every solver), or,
    when none certifies, the one whose gaps were smallest (the validation then
    reports it)."""
    from jaxreg import reference as ref

    fit = _glmnet_fit(case, X, y, grid)
    Xf, yf = np.asarray(X, np.float64), np.asarray(y, np.float64)
    scale = float(np.mean((yf - yf.mean()) ** 2))
    thresh, best = case.tol, (np.inf, case.tol)
    while thresh >= 1e-16:
        c, b, info = fit(thresh)
        worst = max(
            ref.duality_gap(Xf, yf, w, i, a, l1_ratio=case.l1_ratio)
            for w, i, a in zip(c, b, grid, strict=True)
        ) / scale  # fmt: skip
        if not worst < best[0]:  # no better (glmnet's maxit, or rounding)
            break
        best = (worst, thresh)
        if worst <= case.tol:
            break
        thresh /= 10.0
    thresh = best[1]  # certified, or the closest glmnet came

    def run():
        c, b, info = fit(thresh)
        sol = _solution(grid, c, b)
        sol["info"] = {k: str(v) for k, v in info.items()}
        sol["info"]["thresh"] = f"{thresh:g}"
        return sol

    return run


PATHS = ("lasso", "enet")
IMPLEMENTATIONS = {
    "jaxreg": Implementation(
        "jaxreg", ("lasso", "enet", "ridge", "cv"), _jaxreg, compiles=True
    ),
    "reference": Implementation(
        "reference",
        ("lasso", "enet", "ridge", "cv"),
        _reference,
        module="jaxreg.reference",
        float64_only=True,
    ),
    "sklearn": Implementation(
        "sklearn", ("lasso", "enet", "ridge", "cv"), _sklearn, module="sklearn"
    ),
    "celer": Implementation(
        "celer", PATHS, _warm_loop(_celer_estimator), module="celer"
    ),
    "skglm": Implementation(
        "skglm", PATHS, _warm_loop(_skglm_estimator), module="skglm"
    ),
    "glmnet": Implementation("glmnet", PATHS, _glmnet, module=_glmnet_unavailable),
}
PEERS = ("sklearn", "celer", "skglm", "glmnet")


def user(spec: str) -> Implementation:
    """A user's solver ``MODULE:FUNCTION`` (``--impl``), timed on the lasso cases:
    ``FUNCTION(X, y, alphas, tol)`` returns ``coefs`` (k, p) and ``intercepts``
    (k,) for the decreasing ``alphas``, on jaxreg's objective (tol relative to
    ``||y - ȳ||²/n``); its results are validated like every other."""
    module, sep, func = spec.partition(":")
    if not (sep and module and func.isidentifier()):
        raise ValueError(
            f"impl must be MODULE:FUNCTION (e.g. mypkg.solvers:lasso), got {spec!r}."
        )

    def build(case, X, y, grid, *, device, strategy):
        f = getattr(importlib.import_module(module), func)

        def fit():
            coefs, intercepts = f(X, y, np.asarray(grid), case.tol)
            coefs = np.asarray(coefs, dtype=np.float64)
            intercepts = np.asarray(intercepts, dtype=np.float64)
            if coefs.shape != (len(grid), X.shape[1]) or intercepts.shape != (
                len(grid),
            ):
                raise ValueError(
                    f"{spec} must return coefs of shape {(len(grid), X.shape[1])} "
                    f"and intercepts of shape {(len(grid),)}, got {coefs.shape} and "
                    f"{intercepts.shape}."
                )
            return _solution(grid, coefs, intercepts)

        return fit

    return Implementation(spec, ("lasso",), build, module=module)


def get(name: str) -> Implementation:
    """The implementation called ``name`` (``MODULE:FUNCTION``: a user's)."""
    if ":" in name:
        return user(name)
    if name not in IMPLEMENTATIONS:
        raise ValueError(
            f"implementation must be one of {tuple(IMPLEMENTATIONS)}, got {name!r}."
        )
    return IMPLEMENTATIONS[name]
