"""Other packages' conventions, mapped onto jaxreg's objective.

glmnet's gaussian family standardizes y internally and reports λ on y's scale,
so its ``(lambda, alpha)`` is jaxreg's ``(alpha, l1_ratio)`` only for the lasso.
Solving glmnet's problem on ``ỹ = y/σ`` (σ the weighted population standard
deviation of y) at ``λ/σ`` and scaling the coefficients back by σ minimises::

    1/(2n)·RSS + λ·r·||w||₁ + (λ/σ)·(1 - r)/2·||w||²

which is jaxreg's path objective at ``alpha = λ·(r + (1 - r)/σ)`` and
``l1_ratio = r / (r + (1 - r)/σ)``. The other families do not standardize y:
there the parameters are the same.
"""

from __future__ import annotations

import numpy as np

from jaxreg import _validation as V

__all__ = ["from_glmnet"]


def from_glmnet(lambda_, alpha=1.0, *, y=None, sample_weight=None,
                family="gaussian"):  # fmt: skip
    """jaxreg's ``(alphas, l1_ratio)`` for glmnet's ``lambda`` and ``alpha``.

    Parameters
    ----------
    lambda_ : float or array-like
        glmnet's λ (one or a sequence).
    alpha : float in [0, 1]
        glmnet's mixing parameter (1 the lasso, 0 ridge).
    y : array-like of shape (n_samples,)
        The response (gaussian family: its weighted population standard deviation
        is glmnet's internal scale).
    sample_weight : array-like of shape (n_samples,), optional
    family : str
        glmnet's family; only "gaussian" standardizes y.

    Returns
    -------
    alphas : float or ndarray
        For :func:`jaxreg.enet_path`'s ``alphas`` (with ``standardize=True``, as
        glmnet standardizes X by default).
    l1_ratio : float

    Examples
    --------
    >>> import numpy as np, jaxreg
    >>> y = np.array([1.0, 3.0, 5.0, 7.0])  # population sd sqrt(5)
    >>> a, r = jaxreg.from_glmnet(0.1, alpha=0.5, y=y)
    >>> round(float(a), 6), round(r, 6)
    (0.072361, 0.690983)
    """
    lam = np.asarray(lambda_, dtype=np.float64)
    if not np.all(np.isfinite(lam) & (lam >= 0)):
        raise ValueError(f"lambda_ must be finite and >= 0, got {lambda_!r}.")
    r = V.check_real("alpha", alpha)
    if r > 1:
        raise ValueError(
            f"alpha (glmnet's mixing parameter) must be in [0, 1], got {alpha!r}."
        )
    if family != "gaussian" or r == 1.0:
        return (float(lam) if lam.ndim == 0 else lam), r
    if y is None:
        raise ValueError(
            "y is required for the gaussian family: glmnet scales its λ by the "
            "standard deviation of y."
        )
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
    if w.shape != y.shape or not (np.all(w >= 0) and w.sum() > 0):
        raise ValueError(
            "sample_weight must be non-negative, one per y, with a positive sum."
        )
    mean = np.average(y, weights=w)
    sd = float(np.sqrt(np.average((y - mean) ** 2, weights=w)))
    if not sd > 0:
        raise ValueError("y is constant: glmnet's scale (its standard deviation) is 0.")
    unit = r + (1.0 - r) / sd
    alphas = lam * unit
    return (float(alphas) if lam.ndim == 0 else alphas), r / unit
