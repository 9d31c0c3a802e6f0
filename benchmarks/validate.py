"""Validation of every benchmark result, in float64 NumPy, before it is recorded.

No timing is reported without a correctness check: a fast wrong answer must never
look like a win. Every result (jaxreg's and every peer's) is checked on the
original float64 data, whatever dtype the solver computed in:

1. **Shape and grid**: finite coefficients of the right shape, at the alphas of
   the case (relative difference ≤ 1e-6).
2. **Duality gap**: recomputed here from the returned coefficients and
   intercepts, for the objective::

       P(w, b) = 1/(2n)·||y - Xw - b||² + alpha·(l1_ratio·||w||₁
                                                 + (1 - l1_ratio)/2·||w||²)

   ``max_gap`` is the largest gap over the path divided by ``||y - ȳ||²/n``
   (the scale of ``tol``), and must be ≤ ``GAP_SLACK·tol``.
3. **Objective against the reference** (where ``jaxreg.reference`` ran):
   ``rel_obj_diff = max_k |P(w_k, b_k) - P(w_ref_k, b_ref_k)| / (||y - ȳ||²/n)``
   must be ≤ ``OBJ_SLACK·tol``. Both solutions are within ``tol`` of the optimum,
   so their objectives differ by at most ``2·tol`` in these units.
4. **Cross-validation error** (task "cv", where the reference ran): the mean
   held-out MSE of every alpha must agree with the reference's within the bound
   implied by the gaps (see :func:`cv_mse_bound`).

``max_coef_diff`` (largest absolute coefficient difference to the reference) is
reported but not tested: lasso coefficients are ill-conditioned on correlated
designs, objectives and gaps are not.

The gap is the one of :func:`jaxreg.reference.duality_gap` for this objective
(no weights, penalty factors or bounds), evaluated for the whole path with a few
matrix products instead of one call per alpha: with ``r = y - Xw - b``, ``r̄`` its
mean, ``ρ = r - r̄``, ``g = Xᵀρ/n``, ``a = alpha·l1_ratio`` and
``q = alpha·(1 - l1_ratio)``::

    gap = r̄²/2 + (1 - σ)²·||ρ||²/(2n)
          + Σ_j [a|w_j| + q w_j²/2 + h*(σ g_j) - σ g_j w_j]

where ``h*(v) = S(v, a)²/(2q)`` (``S`` the soft threshold) and ``σ = 1`` when
``q > 0``; for the lasso ``h*`` is the indicator of ``|v| ≤ a`` and
``σ = min(1, a/||g||∞)``. Each term in the sum is ≥ 0 in exact arithmetic and is
clipped at 0 against rounding, as the reference does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
    "GAP_SLACK",
    "OBJ_SLACK",
    "Validation",
    "cv_mse_bound",
    "duality_gaps",
    "kfold_bounds",
    "objectives",
    "total_sum_of_squares",
    "validate",
]

GAP_SLACK = 10.0
OBJ_SLACK = 10.0
# Work on chunks of alphas so that the (n, chunk) residual matrix stays small.
_CHUNK_ELEMENTS = 2**24
_GRID_RTOL = 1e-6


def total_sum_of_squares(y) -> float:
    """``||y - ȳ||²/n``, the scale of every relative tolerance."""
    y = np.asarray(y, dtype=np.float64)
    yc = y - y.mean()
    return float(yc @ yc / y.shape[0])


def _as_path(X, y, coefs, intercepts, alphas):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    coefs = np.atleast_2d(np.asarray(coefs, dtype=np.float64))
    intercepts = np.atleast_1d(np.asarray(intercepts, dtype=np.float64))
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    k, p = coefs.shape
    if p != X.shape[1] or intercepts.shape != (k,) or alphas.shape != (k,):
        raise ValueError(
            f"coefs must have shape (k, {X.shape[1]}) with intercepts and alphas of "
            f"shape (k,), got {coefs.shape}, {intercepts.shape} and {alphas.shape}."
        )
    return X, y, coefs, intercepts, alphas


def _chunks(n, k):
    step = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, k, step):
        yield slice(start, min(start + step, k))


def objectives(X, y, coefs, intercepts, alphas, l1_ratio) -> np.ndarray:
    """Path objective ``P(w_k, b_k)`` at every alpha, in float64.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    coefs : array-like of shape (k, n_features)
    intercepts, alphas : array-like of shape (k,)
    l1_ratio : float in [0, 1]

    Returns
    -------
    ndarray of shape (k,)
    """
    X, y, coefs, intercepts, alphas = _as_path(X, y, coefs, intercepts, alphas)
    n = X.shape[0]
    out = np.empty(len(alphas))
    for sl in _chunks(n, len(alphas)):
        R = y[:, None] - X @ coefs[sl].T - intercepts[sl][None, :]
        loss = np.einsum("ij,ij->j", R, R) / (2 * n)
        W = coefs[sl]
        pen = l1_ratio * np.abs(W).sum(1) + 0.5 * (1 - l1_ratio) * (W * W).sum(1)
        out[sl] = loss + alphas[sl] * pen
    return out


def duality_gaps(X, y, coefs, intercepts, alphas, l1_ratio) -> np.ndarray:
    """Duality gap of every ``(w_k, b_k)`` of a path, in objective units (float64).

    The formula is in the module docstring; it equals
    :func:`jaxreg.reference.duality_gap` for this objective.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    coefs : array-like of shape (k, n_features)
    intercepts, alphas : array-like of shape (k,)
    l1_ratio : float in [0, 1]

    Returns
    -------
    ndarray of shape (k,)
    """
    X, y, coefs, intercepts, alphas = _as_path(X, y, coefs, intercepts, alphas)
    n = X.shape[0]
    out = np.empty(len(alphas))
    for sl in _chunks(n, len(alphas)):
        W = coefs[sl]
        R = y[:, None] - X @ W.T - intercepts[sl][None, :]
        rbar = R.mean(axis=0)
        R -= rbar
        G = (X.T @ R).T / n  # (m, p)
        rr = np.einsum("ij,ij->j", R, R)
        a = (alphas[sl] * l1_ratio)[:, None]
        q = (alphas[sl] * (1 - l1_ratio))[:, None]
        if l1_ratio == 1.0:
            gmax = np.abs(G).max(axis=1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                sigma = np.where(gmax > a, a / gmax, 1.0)
            V = np.clip(sigma * G, -a, a)
            terms = a * np.abs(W) - V * W
        else:
            sigma = np.ones((W.shape[0], 1))
            V = G
            st = np.maximum(np.abs(V) - a, 0.0)
            terms = a * np.abs(W) + 0.5 * q * W * W + st * st / (2 * q) - V * W
        out[sl] = (
            0.5 * rbar * rbar
            + (1 - sigma[:, 0]) ** 2 * rr / (2 * n)
            + np.maximum(terms, 0.0).sum(axis=1)
        )
    return out


def kfold_bounds(n_samples: int, n_folds: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each contiguous fold, as scikit-learn's ``KFold``.

    The first ``n_samples % n_folds`` folds have one more sample.
    """
    if not 2 <= n_folds <= n_samples:
        raise ValueError(
            f"n_folds must be in [2, n_samples={n_samples}], got {n_folds!r}."
        )
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    stops = np.cumsum(sizes)
    return [(int(s - m), int(s)) for s, m in zip(stops, sizes, strict=True)]


def cv_mse_bound(mse_ref, tol, yy) -> np.ndarray:
    """Largest expected difference of a held-out MSE between two tol-solutions.

    If both fits of a fold have duality gaps ≤ ``tol·yy``, strong convexity of the
    loss in the predictions gives ``||X_train(w₁ - w₂)||²/n_train ≤ 4·tol·yy``.
    Held-out rows of the same design are assumed to behave alike up to a factor 4
    in that squared norm, i.e. prediction differences of root-mean-square
    ``δ = 4·sqrt(tol·yy)``. Then ``|mse₁ - mse₂| ≤ 2·sqrt(mse)·δ + δ²``.
    """
    delta = 4.0 * np.sqrt(tol * yy)
    return 2.0 * np.sqrt(np.asarray(mse_ref)) * delta + delta * delta


@dataclasses.dataclass
class Validation:
    """Outcome of the checks of one result.

    Attributes
    ----------
    ok : bool
        Every applicable check passed.
    max_gap : float or None
        Largest recomputed duality gap over the path, divided by ``||y - ȳ||²/n``.
    rel_obj_diff : float or None
        Largest ``|P - P_ref|/(||y - ȳ||²/n)``; None without a reference.
    max_coef_diff : float or None
        Largest absolute coefficient difference to the reference (not tested).
    cv_mse_diff : float or None
        Largest ``|mse - mse_ref|`` divided by its bound (task "cv"); ≤ 1 passes.
    checks : str
        Which checks were made, e.g. ``"grid+gap+objective"``.
    why : str
        Why a check failed (empty when ``ok``).
    """

    ok: bool
    max_gap: float | None = None
    rel_obj_diff: float | None = None
    max_coef_diff: float | None = None
    cv_mse_diff: float | None = None
    checks: str = ""
    why: str = ""


def _match_rows(alphas, ref_alphas):
    """Index of the reference row with the same alpha, for each alpha (or -1)."""
    idx = np.full(len(alphas), -1)
    for i, a in enumerate(alphas):
        close = np.flatnonzero(np.abs(ref_alphas - a) <= _GRID_RTOL * abs(a))
        if close.size:
            idx[i] = close[0]
    return idx


def validate(case, X, y, solution: dict, grid, reference: dict | None = None):
    """Check one result; see the module docstring for the rules.

    Parameters
    ----------
    case : benchmarks.problems.Case
        Gives ``tol``, ``l1_ratio``, ``task`` and ``n_folds``.
    X, y : ndarray
        The float64 data of the case.
    solution : dict
        ``alphas`` (the grid the solver reports), ``path_alphas`` (the alphas of
        the rows of ``coefs``; defaults to ``alphas``), ``coefs`` (m, p),
        ``intercepts`` (m,) and, for "cv", ``mse_mean`` (k,).
    grid : ndarray
        The alphas the case asked for.
    reference : dict, optional
        The reference's solution in the same format.

    Returns
    -------
    Validation
    """
    tol = float(case.tol)
    yy = total_sum_of_squares(y)
    checks, why = ["grid"], []
    alphas = np.asarray(solution["alphas"], dtype=np.float64)
    if alphas.shape != grid.shape or not np.allclose(
        alphas, grid, rtol=_GRID_RTOL, atol=0.0
    ):
        why.append("the solver did not use the alphas of the case")
    path_alphas = np.asarray(solution.get("path_alphas", alphas), dtype=np.float64)
    coefs = np.atleast_2d(np.asarray(solution["coefs"], dtype=np.float64))
    intercepts = np.atleast_1d(np.asarray(solution["intercepts"], dtype=np.float64))
    if not (np.isfinite(coefs).all() and np.isfinite(intercepts).all()):
        return Validation(False, checks="grid", why="non-finite coefficients")
    out = Validation(ok=False)

    checks.append("gap")
    gaps = duality_gaps(X, y, coefs, intercepts, path_alphas, case.l1_ratio)
    out.max_gap = float(np.max(gaps) / yy)
    if not out.max_gap <= GAP_SLACK * tol:
        worst = int(np.argmax(gaps))
        why.append(
            f"duality gap {out.max_gap:.2e} (relative) > {GAP_SLACK:g}·tol at "
            f"alpha={path_alphas[worst]:.4g}"
        )

    if reference is not None:
        ref_alphas = np.asarray(
            reference["path_alphas"]
            if "path_alphas" in reference
            else reference["alphas"],
            dtype=np.float64,
        )
        rows = _match_rows(path_alphas, ref_alphas)
        have = rows >= 0
        if have.any():
            checks.append("objective")
            ref_coefs = np.atleast_2d(np.asarray(reference["coefs"], np.float64))
            ref_int = np.atleast_1d(np.asarray(reference["intercepts"], np.float64))
            p_sol = objectives(
                X, y, coefs[have], intercepts[have], path_alphas[have], case.l1_ratio
            )
            p_ref = objectives(
                X,
                y,
                ref_coefs[rows[have]],
                ref_int[rows[have]],
                path_alphas[have],
                case.l1_ratio,
            )
            out.rel_obj_diff = float(np.max(np.abs(p_sol - p_ref)) / yy)
            out.max_coef_diff = float(
                np.max(np.abs(coefs[have] - ref_coefs[rows[have]]))
            )
            if not out.rel_obj_diff <= OBJ_SLACK * tol:
                why.append(
                    f"objective differs from the reference by {out.rel_obj_diff:.2e}"
                    f" (relative) > {OBJ_SLACK:g}·tol"
                )
        if case.task == "cv" and "mse_mean" in solution and "mse_mean" in reference:
            checks.append("cv-mse")
            mse = np.asarray(solution["mse_mean"], np.float64)
            mse_ref = np.asarray(reference["mse_mean"], np.float64)
            if mse.shape != mse_ref.shape:
                why.append(f"mse_mean has shape {mse.shape}, expected {mse_ref.shape}")
            else:
                bound = cv_mse_bound(mse_ref, tol, yy)
                ratio = np.abs(mse - mse_ref) / bound
                out.cv_mse_diff = float(np.max(ratio))
                if not out.cv_mse_diff <= 1.0:
                    worst = int(np.argmax(ratio))
                    why.append(
                        f"CV mse {mse[worst]:.6g} differs from the reference's "
                        f"{mse_ref[worst]:.6g} by more than its bound at "
                        f"alpha={alphas[worst]:.4g}"
                    )
    out.checks = "+".join(checks)
    out.why = "; ".join(why)
    out.ok = not why
    return out
