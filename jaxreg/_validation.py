"""Every user-input check of jaxreg, and its error message.

Checks run in the shell (the public wrappers), before anything is traced, so a user
never sees a JAX traceback for a bad argument. Messages follow one pattern: they name
the argument, state the rule and show what was received.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np

from jaxreg._config import resolve_device

__all__ = [
    "FLOAT32_TOL_FLOOR",
    "Model",
    "Solver",
    "check_X_y",
    "check_alphas",
    "check_choice",
    "check_dtype",
    "check_eps",
    "check_finite",
    "check_flag",
    "check_int",
    "check_l1_ratio",
    "check_limits",
    "check_max_iter",
    "check_model",
    "check_penalty_factor",
    "check_real",
    "check_sample_weight",
    "check_solver",
    "check_tol",
]

# The keywords of the model and of the solver, shared by the public functions.
MODEL_KEYS = tuple(
    "fit_intercept standardize sample_weight penalty_factor positive lower_limits "
    "upper_limits".split()
)
SOLVER_KEYS = tuple(
    "tol max_iter dtype mode strategy chunk check_every screen device".split()
)
MODES = ("auto", "gram", "design")
STRATEGIES = ("auto", "parallel", "hybrid", "sequential", "active_set", "newton")
SCREENS = ("auto", "none", "strong", "gapsafe")
DEFAULT_MAX_ITER = 20_000


def check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_int(name: str, value, minimum: int = 1) -> int:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {value!r}.")
    return int(value)


def check_real(name: str, value, *, low: float = 0.0, low_open: bool = False) -> float:
    """A finite real number ``>= low`` (``> low`` with ``low_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    ok = value > low if low_open else value >= low
    if not (ok and np.isfinite(value)):
        rule = f"> {low:g}" if low_open else f">= {low:g}"
        raise ValueError(f"{name} must be finite and {rule}, got {value!r}.")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value


# float32 iterates stall between 1e-6 and 1e-3 of the objective (growing with the
# correlation of X); below this relative tol a float32 run cannot be trusted to
# certify its gap.
FLOAT32_TOL_FLOOR = 1e-5


def _is_jax_array(a) -> bool:
    mod = type(a).__module__
    return mod.startswith("jax") or mod.startswith("jaxlib")


def _dtype_of(a):
    return np.asarray(a).dtype if not hasattr(a, "dtype") else np.dtype(a.dtype)


def _check_numeric_dtype(name: str, a) -> None:
    dtype = _dtype_of(a)
    if dtype.kind in "biuf":
        return
    kinds = {
        "c": "complex",
        "O": "object",
        "U": "string",
        "S": "bytes",
        "M": "datetime",
    }
    what = kinds.get(dtype.kind, str(dtype))
    raise TypeError(
        f"{name} must hold real numbers (bool, int or float), got dtype {dtype} "
        f"({what}). Convert or drop non-numeric columns first."
    )


def _sparse(a) -> bool:
    return type(a).__module__.startswith(("scipy.sparse", "jax.experimental.sparse"))


def _from_pandas(a):
    """A DataFrame or Series as float64 (nullable extension columns too, their
    missing values as NaN); None when it holds non-numeric columns."""
    try:
        return a.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return None


def _as_array(name: str, a):
    """Convert to an array without losing a device placement (jax arrays stay)."""
    if _is_jax_array(a):
        _check_numeric_dtype(name, a)
        return a
    if isinstance(a, (str, bytes)):
        raise TypeError(
            f"{name} must be array-like of numbers, got a {type(a).__name__}."
        )
    if _sparse(a):
        raise TypeError(
            f"{name} is a sparse matrix ({type(a).__name__}, shape "
            f"{getattr(a, 'shape', '?')}); this function needs it dense (the paths, "
            "cv_path, ridge_path and the estimators but RidgeCV take sparse X). "
            f"Convert it with {name}.toarray() if it fits in memory."
        )
    if type(a).__module__.startswith("pandas") and hasattr(a, "to_numpy"):
        numeric = _from_pandas(a)
        if numeric is not None:
            return numeric
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    _check_numeric_dtype(name, arr)
    return arr


# Finiteness is checked in blocks of about this many entries: never an n x p mask.
_FINITE_BLOCK = 1 << 20


def _all_finite(a) -> bool:
    if _is_jax_array(a):
        import jax.numpy as jnp

        return bool(jnp.all(jnp.isfinite(a)))
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        return True
    rows = max(1, _FINITE_BLOCK // max(1, int(np.prod(a.shape[1:]))))
    return all(np.isfinite(a[i : i + rows]).all() for i in range(0, len(a), rows))


def check_finite(X, y) -> None:
    """X and y hold no NaN or infinity (checked in blocks of rows)."""
    if not _all_finite(X):
        raise ValueError(
            "X contains NaN or infinity; jaxreg does not impute missing values. "
            "Drop or impute them first."
        )
    if not _all_finite(y):
        raise ValueError("y contains NaN or infinity; drop or impute those samples.")


def check_X_y(X, y, *, y_ndim=(1,), min_samples: int = 2, finite: bool = True):
    """Validate the design matrix and the target.

    Returns ``(X, y)`` as arrays (NumPy, or JAX arrays left on their device), with
    ``y`` 1-D or 2-D as allowed by ``y_ndim``.
    """
    X = _as_array("X", X)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D with shape (n_samples, n_features), got shape {X.shape}."
        )
    n, p = X.shape
    if p == 0:
        raise ValueError(
            f"X must have at least one feature (column), got shape {X.shape}."
        )
    if n < min_samples:
        raise ValueError(f"X must have at least {min_samples} samples (rows), got {n}.")
    y = _as_array("y", y)
    if y.ndim == 2 and y.shape[1] == 1 and 2 not in y_ndim:
        y = y[:, 0]
    if y.ndim not in y_ndim:
        allowed = " or ".join(f"{d}-D" for d in y_ndim)
        raise ValueError(f"y must be {allowed}, got shape {y.shape}.")
    if y.shape[0] != n:
        raise ValueError(
            "X and y have inconsistent numbers of samples: "
            f"X has {n} rows, y has {y.shape[0]}."
        )
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(
            f"y must have at least one target column, got shape {y.shape}."
        )
    if finite:  # else the caller checks, after its memory estimate
        check_finite(X, y)
    return X, y


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """Return float64 weights rescaled to sum to ``n_samples`` (or None)."""
    if sample_weight is None:
        return None
    w = _as_array("sample_weight", sample_weight)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got shape {w.shape}."
        )
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (w < 0).any():
        j = int(np.argmax(w < 0))
        raise ValueError(
            "sample_weight must be non-negative, got "
            f"sample_weight[{j}] = {float(w[j])!r}."
        )
    total = w.sum()
    if not total > 0:
        raise ValueError(
            "sample_weight must not be all zero: it must have a positive sum, got "
            f"sum {float(total)!r}."
        )
    # Rescale to sum to n (as scikit-learn does): then the 1/(2n) data term, alpha_max
    # and the tol threshold mean the same with or without weights, and weights that
    # are all equal change nothing.
    return w * (n_samples / total)


def check_penalty_factor(penalty_factor, n_features: int) -> np.ndarray:
    rule = "(one factor per feature)"
    pf = _per_feature("penalty_factor", penalty_factor, n_features, 1.0, rule)
    bad = ~(np.isfinite(pf) & (pf >= 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            "penalty_factor must be finite and non-negative (inf, excluding a "
            "feature, is taken by the lasso and elastic-net paths and cv_path), got "
            f"penalty_factor[{j}] = {float(pf[j])!r}."
        )
    if not (pf > 0).any():
        raise ValueError(
            "penalty_factor must have at least one positive entry; with every "
            "feature unpenalized the model is ordinary least squares."
        )
    return pf


def _per_feature(name, value, n_features, default, rule, scalar=""):
    """float64 array (n_features,) from a scalar or an array (``default`` for None)."""
    if value is None:
        return np.full(n_features, default)
    v = np.asarray(_as_array(name, value), dtype=np.float64)
    if v.ndim == 0:
        v = np.full(n_features, float(v))
    if v.shape != (n_features,):
        rule = f" {rule}" if rule else ""
        raise ValueError(
            f"{name} must {scalar}have shape ({n_features},){rule}, got shape "
            f"{v.shape}."
        )
    return v


def check_limits(lower_limits, upper_limits, positive: bool, n_features: int):
    """Return float64 ``(lower, upper)`` arrays of shape (n_features,)."""
    if not isinstance(positive, (bool, np.bool_)):
        raise TypeError(f"positive must be True or False, got {positive!r}.")

    def one(name, value, default):
        v = _per_feature(name, value, n_features, default, "", "be a scalar or ")
        if np.isnan(v).any():
            raise ValueError(f"{name} contains NaN.")
        return v

    lower = one("lower_limits", lower_limits, -np.inf)
    upper = one("upper_limits", upper_limits, np.inf)
    if positive:
        lower = np.maximum(lower, 0.0)
    if (lower > 0).any():
        j = int(np.argmax(lower > 0))
        raise ValueError(
            f"lower_limits must be <= 0 (as in glmnet), got lower_limits[{j}] = "
            f"{float(lower[j])!r}."
        )
    if (upper < 0).any():
        j = int(np.argmax(upper < 0))
        raise ValueError(
            f"upper_limits must be >= 0 (as in glmnet), got upper_limits[{j}] = "
            f"{float(upper[j])!r}."
        )
    return lower, upper


def check_l1_ratio(l1_ratio, *, allow_zero: bool = False) -> float:
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"l1_ratio must be a real number, got {l1_ratio!r}.")
    value = float(l1_ratio)
    if allow_zero:
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}.")
    elif not 0.0 < value <= 1.0:
        raise ValueError(
            f"l1_ratio must be in (0, 1], got {l1_ratio!r}. "
            "For l1_ratio=0 (pure L2) use jaxreg.ridge_path."
        )
    return value


def check_eps(eps, n_samples=None, n_features=None) -> float:
    """``eps`` in (0, 1], or ``"glmnet"``: glmnet's default ``lambda.min.ratio``,
    1e-4 when n_samples >= n_features, else 1e-2. ``eps=1`` makes every alpha
    ``alpha_max`` (scikit-learn's ``LassoCV(alphas=1, eps=1)``)."""
    if isinstance(eps, str) and eps == "glmnet" and n_samples is not None:
        return 1e-4 if n_samples >= n_features else 1e-2
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(
            f"eps must be a real number in (0, 1] or 'glmnet', got {eps!r}."
        )
    if not 0.0 < float(eps) <= 1.0:
        raise ValueError(f"eps must be in (0, 1], got {eps!r}.")
    return float(eps)


def check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be a positive real number, got {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive and finite, got {tol!r}.")
    return float(tol)


def check_max_iter(max_iter) -> int:
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"max_iter must be a positive integer, got {max_iter!r}.")
    if max_iter <= 0:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}.")
    if max_iter > 2**30:
        raise ValueError(f"max_iter must be at most 2**30, got {max_iter!r}.")
    return int(max_iter)


def check_alphas(alphas, *, name: str = "alphas", sort: bool = True):
    """Return an int grid size, or a float64 array sorted decreasing (in the order
    given with ``sort=False``)."""
    if isinstance(alphas, bool):
        raise TypeError(
            f"{name} must be an int (grid size) or an array, got {alphas!r}."
        )
    if isinstance(alphas, numbers.Integral):
        if alphas < 1:
            raise ValueError(f"{name} must be a positive grid size, got {alphas!r}.")
        return int(alphas)
    if isinstance(alphas, numbers.Real):
        alphas = [alphas]
    arr = np.asarray(_as_array(name, alphas), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be an int or a non-empty 1-D array, got shape {arr.shape}."
        )
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            f"{name} must be a 1-D array of non-negative finite floats, got "
            f"{name}[{j}] = {float(arr[j])!r}."
        )
    return np.sort(arr)[::-1].copy() if sort else arr


def check_dtype(dtype, tol: float | None = None, stacklevel: int = 3):
    """Resolve the dtype argument: float64 unless float32 is asked for."""
    if dtype is None:
        return np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype must be 'float32' or 'float64', got {dtype!r}."
        ) from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    if dt == np.float32 and tol is not None and tol < FLOAT32_TOL_FLOOR:
        warnings.warn(
            f"tol={tol:g} is below what float32 can certify (about "
            f"{FLOAT32_TOL_FLOOR:g} of the objective, worse on correlated X): some "
            "alphas will likely be reported as not converged. Use dtype='float64' "
            "(the default) for tight tolerances.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return dt


@dataclasses.dataclass(frozen=True, eq=False)
class Model:
    """The validated model options shared by every path, CV and ridge function."""

    fit_intercept: bool
    standardize: bool
    sample_weight: np.ndarray  # (n,) summing to n (ones without weights)
    raw_weight_total: float  # the sum of the weights as given (n without)
    penalty_factor: np.ndarray  # (p,)
    lower: np.ndarray  # (p,) on the original scale
    upper: np.ndarray  # (p,)

    @property
    def boxed(self) -> bool:
        return bool(np.isfinite(self.lower).any() or np.isfinite(self.upper).any())

    @property
    def free(self) -> np.ndarray:
        """Unpenalized, unbounded features: partialled out (see jaxreg.stats)."""
        return (self.penalty_factor == 0) & np.isinf(self.lower) & np.isinf(self.upper)


def check_model(n, p, *, fit_intercept=True, standardize=False, sample_weight=None,
                penalty_factor=None, positive=False, lower_limits=None,
                upper_limits=None, need_penalized=True) -> Model:  # fmt: skip
    """Validate the model keywords once for data with n samples and p features."""
    fit_intercept = check_flag("fit_intercept", fit_intercept)
    standardize = check_flag("standardize", standardize)
    pf = check_penalty_factor(penalty_factor, p)
    lower, upper = check_limits(lower_limits, upper_limits, positive, p)
    sw = check_sample_weight(sample_weight, n)
    if sw is None:
        sw, total = np.ones(n), float(n)
    else:
        total = float(
            np.sum(np.broadcast_to(np.asarray(sample_weight, np.float64), (n,)))
        )
    model = Model(fit_intercept, standardize, sw, total, pf, lower, upper)
    if need_penalized and model.free.all():
        raise ValueError(
            "penalty_factor must leave at least one penalized or bounded feature; "
            "with every feature free the model is ordinary least squares."
        )
    return model


@dataclasses.dataclass(frozen=True)
class Solver:
    """The validated solver options."""

    tol: float
    max_iter: int
    dtype: np.dtype
    device: object
    mode: str = "auto"
    strategy: str = "auto"
    chunk: int | None = None
    check_every: int = 10
    screen: str = "auto"


def check_solver(*, tol=1e-4, max_iter=DEFAULT_MAX_ITER, dtype=None, device=None,
                 mode="auto", strategy="auto", chunk=None, check_every=10,
                 screen="auto") -> Solver:  # fmt: skip
    """Validate the solver keywords once."""
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    dt = check_dtype(dtype, tol, stacklevel=4)
    check_choice("mode", mode, MODES)
    check_choice("strategy", strategy, STRATEGIES)
    check_choice("screen", screen, SCREENS)
    if chunk is not None:
        chunk = check_int("chunk", chunk)
    check_every = check_int("check_every", check_every)
    return Solver(
        tol,
        max_iter,
        dt,
        resolve_device(device),
        mode,
        strategy,
        chunk,
        check_every,
        screen,
    )


def split_keywords(kwargs):
    """The model and the solver keywords of a public call (``locals()``), as two
    dicts for :func:`check_model` and :func:`check_solver`."""
    model = {key: kwargs[key] for key in MODEL_KEYS if key in kwargs}
    solver = {key: kwargs[key] for key in SOLVER_KEYS if key in kwargs}
    return model, solver
