"""scikit-learn estimators backed by jaxreg: ``Lasso``, ``ElasticNet``, ``Ridge`` and
their cross-validated versions, as drop-in replacements.

Each class takes scikit-learn's constructor parameters with their meanings, sets the
same fitted attributes (NumPy arrays) and gives the same answers, up to the solver
tolerance. Each ``fit`` validates its input, calls jaxreg's public functions
(:func:`jaxreg.path.multi_target_path`, :func:`jaxreg.cv_paths`,
:func:`jaxreg.ridge_path`, :func:`jaxreg.ridge_loo`), stores NumPy attributes, and
raises scikit-learn's ``ConvergenceWarning`` (with the duality gap, the tolerance
and a remedy) when an alpha it reports did not converge. ``Lasso(alpha=a).fit``
and ``lasso_path(alphas=[a])`` take one route and give the same numbers.

Differences that do not change answers:

- The solver is FISTA, not coordinate descent. ``max_iter`` keeps scikit-learn's
  default; since a FISTA step does less than a coordinate-descent epoch, up to
  ``FISTA_STEPS_PER_ITER·max_iter`` FISTA steps are allowed, and ``n_iter_`` counts
  FISTA steps (at least 1: the initial duality-gap check).
- ``precompute``: jaxreg picks Gram or design mode itself; ``True`` (or a matrix)
  forces Gram mode, which is recomputed from X. ``selection``, ``random_state``,
  ``copy_X``, ``n_jobs`` and ``verbose`` are accepted and validated but have no
  effect (FISTA is deterministic and never modifies X). ``warm_start`` starts
  from the previous ``coef_`` (the iterations change, not the solution).
- The cross-validated estimators read the selected model off the path solved on all
  the data together with the folds: there is no separate refit.
- Computations run in float64; with float32 input the fitted arrays are float32.
- Sparse input is not supported (a ``TypeError`` says so).
"""

from jaxreg.estimators._base import FISTA_STEPS_PER_ITER
from jaxreg.estimators.enet import ElasticNet, ElasticNetCV, Lasso, LassoCV
from jaxreg.estimators.glm import (
    LogisticRegression,
    LogisticRegressionCV,
    PoissonRegressor,
)
from jaxreg.estimators.multitask import (
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
)
from jaxreg.estimators.ridge import Ridge, RidgeCV

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "FISTA_STEPS_PER_ITER",
    "Lasso",
    "LassoCV",
    "LogisticRegression",
    "LogisticRegressionCV",
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
    "PoissonRegressor",
    "Ridge",
    "RidgeCV",
]
