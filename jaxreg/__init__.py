"""jaxreg: lasso, elastic-net and ridge regularization paths, every alpha at once.

JAX-compiled, batched over the alpha grid, float64 by default, and every solution
certified by its duality gap.
"""

from jaxreg import datasets, plot
from jaxreg._memory import InsufficientMemoryError
from jaxreg.constrained import constrained_path
from jaxreg.cv import cv_path, cv_paths
from jaxreg.path import alpha_max, enet_path, lasso_path, multi_target_path
from jaxreg.results import (
    ConstrainedResult,
    ConvergenceWarning,
    CVResult,
    MultiTargetPath,
    PathResult,
    RidgeCVResult,
)
from jaxreg.ridge import (
    alpha_from_sklearn,
    alpha_to_sklearn,
    ridge_cv,
    ridge_loo,
    ridge_path,
)

__version__ = "0.1.0"

__all__ = [
    "ConstrainedResult",
    "CVResult",
    "ConvergenceWarning",
    "ElasticNet",
    "ElasticNetCV",
    "InsufficientMemoryError",
    "Lasso",
    "LassoCV",
    "MultiTargetPath",
    "PathResult",
    "Ridge",
    "RidgeCV",
    "RidgeCVResult",
    "__version__",
    "alpha_from_sklearn",
    "alpha_max",
    "alpha_to_sklearn",
    "constrained_path",
    "cv_path",
    "cv_paths",
    "datasets",
    "enet_path",
    "lasso_path",
    "multi_target_path",
    "plot",
    "ridge_cv",
    "ridge_loo",
    "ridge_path",
]

# The scikit-learn estimators load on first use, so `import jaxreg` never needs
# scikit-learn (an optional dependency: pip install "jaxreg[sklearn]").
_ESTIMATORS = ("Lasso", "ElasticNet", "Ridge", "LassoCV", "ElasticNetCV", "RidgeCV")


def __getattr__(name):
    if name in _ESTIMATORS:
        from jaxreg import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'jaxreg' has no attribute {name!r}")
