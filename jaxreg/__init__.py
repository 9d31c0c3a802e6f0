"""jaxreg: lasso, elastic-net and ridge regularization paths, every alpha at once.

JAX-compiled, batched over the alpha grid, float64 by default, and every solution
certified by its duality gap.
"""

from jaxreg import datasets, plot
from jaxreg._memory import InsufficientMemoryError
from jaxreg.constrained import ConstrainedResult, constrained_path
from jaxreg.path import (
    ConvergenceWarning,
    PathResult,
    alpha_max,
    enet_path,
    lasso_path,
)
from jaxreg.ridge import (
    RidgeCVResult,
    alpha_from_sklearn,
    alpha_to_sklearn,
    ridge_cv,
    ridge_loo,
    ridge_path,
)

__version__ = "0.1.0"

__all__ = [
    "ConstrainedResult",
    "ConvergenceWarning",
    "InsufficientMemoryError",
    "PathResult",
    "RidgeCVResult",
    "__version__",
    "alpha_from_sklearn",
    "alpha_max",
    "alpha_to_sklearn",
    "constrained_path",
    "datasets",
    "enet_path",
    "lasso_path",
    "plot",
    "ridge_cv",
    "ridge_loo",
    "ridge_path",
]
