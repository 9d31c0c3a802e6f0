"""The one non-convergence warning of jaxreg and its message: which levels,
the worst one's certificate against its tolerance, and what to do."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "REMEDY",
    "ConvergenceWarning",
    "not_converged_message",
    "warn_not_converged",
]


class ConvergenceWarning(UserWarning):
    """Some alphas did not reach the requested duality gap."""


REMEDY = (
    "Increase max_iter, loosen tol, standardize X, or drop the smallest alphas "
    "(larger eps)."
)


def not_converged_message(
    levels,
    gaps,
    gap_tol,
    n_iter,
    converged,
    *,
    tol,
    max_iter,
    subject=None,
    level="alpha",
    certificate="duality gap",
    scale="||y - ȳ||²/n",
    steps="iterations",
    allows="",
    where=None,
    scope="",
    note="",
    remedy=REMEDY,
    nonfinite=None,
):
    """The message for the levels that did not converge (None when all did).

    ``gaps``, ``gap_tol``, ``n_iter`` and ``converged`` broadcast to one shape
    whose first axis is the levels'; ``where(index)`` names the other axes of the
    worst entry (a target, a fold); ``nonfinite`` flags results that are not
    finite numbers, which no iteration count fixes.
    """
    bad = ~np.asarray(converged, bool)
    if not bad.any():
        return None
    if nonfinite is not None and np.any(nonfinite):
        return _nonfinite_message(levels, np.asarray(nonfinite), level)
    gaps = np.broadcast_to(np.asarray(gaps, np.float64), bad.shape)
    gap_tol = np.broadcast_to(np.asarray(gap_tol, np.float64), bad.shape)
    n_iter = np.broadcast_to(np.asarray(n_iter), bad.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bad, gaps / np.maximum(gap_tol, np.finfo(float).tiny), -np.inf)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    worst = np.unravel_index(int(np.argmax(ratio)), bad.shape)
    value = float(np.asarray(levels)[worst[0]])
    place = where(worst) if where else ""
    if bad.size == 1 and subject:
        head = (
            f"{subject} did not converge for {level}={value:.4g}{place}: {certificate}"
        )
    else:
        prefix = f"{subject}: " if subject else ""
        head = (
            f"{prefix}{int(bad.sum())} of {bad.size} {level}s{scope} did not "
            f"converge: the worst is {level}={value:.4g}{place} with {certificate}"
        )
        if level == "radius":
            head = head.replace("radiuss", "radii")
    return (
        f"{head} {gaps[worst]:.3e} > tol {tol:g}·{scale} = {gap_tol[worst]:.3e} "
        f"after {int(n_iter[worst])} {steps} (max_iter={max_iter}{allows}).{note} "
        f"{remedy}"
    )


def _nonfinite_message(levels, nonfinite, level):
    first = np.unravel_index(int(np.argmax(nonfinite)), nonfinite.shape)
    value = float(np.asarray(levels)[first[0]])
    return (
        f"{int(nonfinite.sum())} of {nonfinite.size} {level}s gave non-finite "
        f"coefficients, intercepts or gaps (the first at {level}={value:.4g}): the "
        "solution is beyond the range of float64 for these data, and they are not "
        "converged. More iterations will not help: rescale X or y (other units, or "
        "standardize=True)."
    )


def warn_not_converged(*args, category=ConvergenceWarning, stacklevel=2, **kwargs):
    """Warn with :func:`not_converged_message` when some level did not converge."""
    message = not_converged_message(*args, **kwargs)
    if message is not None:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
