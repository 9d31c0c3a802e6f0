"""The result of :func:`jaxreg.ridge_cv` (re-exported by :mod:`jaxreg.results`,
where every result class is found by name when a saved result is loaded)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxreg.results import PathResult

__all__ = ["RidgeCVResult"]


@dataclasses.dataclass(frozen=True, repr=False)
class RidgeCVResult:
    """Cross-validated ridge from one decomposition.

    Attributes
    ----------
    alphas : ndarray (k,)
        Decreasing.
    cv_values : ndarray (k,)
        Leave-one-out MSE (or GCV) per alpha, averaged over targets.
    criterion : str
        ``"loo"`` or ``"gcv"``.
    index_best : int
        The minimiser of ``cv_values`` (the largest alpha among ties).
    alpha_best : float
    coef : ndarray (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_best``.
    intercept : float or ndarray (n_targets,)
    path : PathResult
        The whole path on ``alphas``.
    effective_df : ndarray (k,)
        The trace of the hat matrix without the intercept: the effective number
        of parameters at each alpha.
    """

    alphas: np.ndarray
    cv_values: np.ndarray
    criterion: str
    index_best: int
    alpha_best: float
    coef: np.ndarray
    intercept: float | np.ndarray
    path: PathResult
    effective_df: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"RidgeCVResult({self.criterion}: alpha_best={self.alpha_best:.4g} "
            f"(index {self.index_best} of {len(self.alphas)}), "
            f"cv={self.cv_values[self.index_best]:.4g})"
        )
