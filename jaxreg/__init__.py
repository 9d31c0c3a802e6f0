"""jaxreg: lasso, elastic-net and ridge regularization paths, every alpha at once.

JAX-compiled, batched over the alpha grid, float64 by default, and every solution
certified by its duality gap.

Names load on first use, so ``import jaxreg`` (and the command line's start) does
not wait for JAX, and never needs scikit-learn (an optional dependency of the
estimators: ``pip install "jaxreg[sklearn]"``).
"""

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_NAMES = {
    "ConstrainedResult": "results",
    "CVResult": "results",
    "ConvergenceWarning": "results",
    "InsufficientMemoryError": "_memory",
    "MultiTargetPath": "results",
    "PathResult": "results",
    "RidgeCVResult": "results",
    "SufficientStats": "sufficient",
    "alpha_from_sklearn": "ridge",
    "alpha_max": "path",
    "alpha_to_sklearn": "ridge",
    "constrained_path": "constrained",
    "cv_path": "cv",
    "cv_paths": "cv",
    "enet_path": "path",
    "from_glmnet": "conventions",
    "lasso_path": "path",
    "load": "_result_io",
    "load_stats": "sufficient",
    "multi_target_path": "path",
    "ridge_cv": "ridge",
    "ridge_loo": "ridge",
    "ridge_path": "ridge",
    "sufficient_stats": "sources",
    "TuneResult": "tuning",
    "tune": "tuning",
    "ElasticNet": "estimators",
    "ElasticNetCV": "estimators",
    "Lasso": "estimators",
    "LassoCV": "estimators",
    "LogisticRegression": "estimators",
    "LogisticRegressionCV": "estimators",
    "MultiTaskElasticNet": "estimators",
    "MultiTaskElasticNetCV": "estimators",
    "MultiTaskLasso": "estimators",
    "MultiTaskLassoCV": "estimators",
    "PoissonRegressor": "estimators",
    "Ridge": "estimators",
    "RidgeCV": "estimators",
}
_MODULES = ("datasets", "functional", "plot", "reference")

__all__ = sorted([*_NAMES, *_MODULES, "__version__"])


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(f"jaxreg.{_NAMES[name]}"), name)
    elif name in _MODULES:
        value = importlib.import_module(f"jaxreg.{name}")
    else:
        raise AttributeError(f"module 'jaxreg' has no attribute {name!r}")
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__():
    return __all__
