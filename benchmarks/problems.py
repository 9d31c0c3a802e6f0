"""Benchmark problems and presets, declared as data.

A :class:`Problem` is a data set (generator, shape, correlation, seed); a
:class:`Case` is one fitting task on it (lasso, elastic-net or ridge path, or
K-fold cross-validation of the lasso path) in one dtype at one tolerance; a
:class:`Preset` is a list of cases plus the time caps that keep a run bounded.

Every path objective is the one of jaxreg and scikit-learn::

    1/(2n)·||y - Xw - b||² + alpha·(l1_ratio·||w||₁ + (1 - l1_ratio)/2·||w||²)

Regularization is given as a fraction of ``alpha_max`` (the smallest alpha whose
lasso or elastic-net solution is zero), so a problem means the same thing at every
size: the grid is geometric from ``alpha_max`` down to ``eps·alpha_max``. Ridge
uses glmnet's convention, a grid starting at the ``alpha_max`` of
``l1_ratio = 0.001``.

Synthetic data follow the simulation design of Friedman, Hastie and Tibshirani
(2010, J. Stat. Softw. 33(1)): Gaussian features with equal pairwise correlation
``rho``, coefficients ``beta_j = (-1)^j·exp(-2(j-1)/20)`` and a signal-to-noise
ratio of 3 (:func:`jaxreg.reference.make_glmnet_design`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
    "PRESETS",
    "TASKS",
    "Case",
    "Preset",
    "Problem",
    "alpha_grid",
    "get_preset",
    "make_data",
]

TASKS = ("lasso", "enet", "ridge", "cv")
SOURCES = ("glmnet", "diabetes")
# Tolerances: float64 paths are certified at 1e-6 of ||y - ȳ||²/n. float32
# iterates stall near 1e-6..1e-5 of the objective, so float32 runs use 1e-4
# (scikit-learn's default). Ridge is closed form: its "tol" is only the threshold
# of the validation gap (rounding of a direct solve).
TOL = {
    ("path", "float64"): 1e-6,
    ("path", "float32"): 1e-4,
    ("ridge", "float64"): 1e-10,
    ("ridge", "float32"): 1e-5,
}
ENET_L1_RATIO = 0.5
# glmnet's ridge grid starts at the alpha_max of this l1_ratio (as jaxreg.ridge).
RIDGE_L1_RATIO = 1e-3
RIDGE_EPS = 1e-6


@dataclasses.dataclass(frozen=True)
class Problem:
    """A data set of the suite.

    Attributes
    ----------
    name : str
        Short unique name, e.g. ``"glmnet-n5000-p500-rho0.5"``.
    source : {"glmnet", "diabetes"}
        The generator: the glmnet-paper design, or the diabetes data (442 × 10).
    n_samples, n_features : int
    rho : float
        Equal correlation of every pair of features (glmnet design only).
    snr : float
        Signal-to-noise ratio of the glmnet design.
    seed : int
    family : str
        Grouping label in reports: "glmnet", "tall", "wide" or "real".
    """

    name: str
    source: str
    n_samples: int
    n_features: int
    rho: float = 0.5
    snr: float = 3.0
    seed: int = 0
    family: str = "glmnet"

    @property
    def size(self) -> int:
        """``n_samples·n_features``, the x-axis of the time-versus-size plot."""
        return self.n_samples * self.n_features


def glmnet_problem(n, p, rho=0.5, *, family="glmnet", seed=0) -> Problem:
    """The glmnet-paper design of shape (n, p) with correlation ``rho``."""
    return Problem(
        name=f"{family}-n{n}-p{p}-rho{rho:g}",
        source="glmnet",
        n_samples=n,
        n_features=p,
        rho=rho,
        seed=seed,
        family=family,
    )


DIABETES = Problem(
    name="diabetes",
    source="diabetes",
    n_samples=442,
    n_features=10,
    rho=float("nan"),
    snr=float("nan"),
    family="real",
)


def make_data(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Generate (or load) the data of a problem, in float64.

    Parameters
    ----------
    problem : Problem

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), C-ordered float64
    y : ndarray of shape (n_samples,), float64
    """
    if problem.source == "glmnet":
        from jaxreg.reference import make_glmnet_design

        X, y, _ = make_glmnet_design(
            problem.n_samples,
            problem.n_features,
            problem.rho,
            problem.snr,
            problem.seed,
        )
    elif problem.source == "diabetes":
        X, y = _load_diabetes()
    else:
        raise ValueError(
            f"problem.source must be one of {SOURCES}, got {problem.source!r}."
        )
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.shape != (problem.n_samples, problem.n_features):
        raise ValueError(
            f"problem {problem.name!r} declares shape "
            f"({problem.n_samples}, {problem.n_features}), the data have {X.shape}."
        )
    return X, y


def _load_diabetes():
    try:
        from jaxreg.datasets import load_diabetes
    except ImportError:
        from sklearn.datasets import load_diabetes as sk_load

        X, y = sk_load(return_X_y=True, scaled=False)
        return X, y
    X, y, _ = load_diabetes()
    return X, y


@dataclasses.dataclass(frozen=True)
class Case:
    """One fitting task on one problem, in one dtype.

    Attributes
    ----------
    problem : Problem
    task : {"lasso", "enet", "ridge", "cv"}
        Lasso path, elastic-net path (``l1_ratio = 0.5``), ridge path (closed
        form), or K-fold cross-validation of the lasso path.
    dtype : {"float64", "float32"}
    tol : float
        Duality-gap tolerance relative to ``||y - ȳ||²/n``, given to every solver;
        for ridge only the validation threshold.
    n_alphas : int
    eps : float
        ``alpha_min / alpha_max`` of the grid.
    n_folds : int
        Folds of the "cv" task (contiguous K-fold, no shuffling).
    strategies : tuple of str
        jaxreg strategies timed on CPU ("auto" is jaxreg's own choice).
    gpu_strategies : tuple of str
        jaxreg strategies timed on GPU.
    peers : tuple of str or None
        Peer implementations to run (None: every peer that supports the task).
    devices : tuple of str or None
        Devices jaxreg runs on for this case, among those requested (None: all).
    headline : bool
        Marks the comparison printed at the end of a run.
    """

    problem: Problem
    task: str
    dtype: str = "float64"
    tol: float | None = None
    n_alphas: int = 100
    eps: float = 1e-3
    n_folds: int = 5
    strategies: tuple = ("auto",)
    gpu_strategies: tuple = ("auto",)
    peers: tuple | None = None
    devices: tuple | None = None
    headline: bool = False

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}.")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(
                f"dtype must be 'float64' or 'float32', got {self.dtype!r}."
            )
        if self.tol is None:
            kind = "ridge" if self.task == "ridge" else "path"
            object.__setattr__(self, "tol", TOL[(kind, self.dtype)])

    @property
    def l1_ratio(self) -> float:
        return {"lasso": 1.0, "cv": 1.0, "enet": ENET_L1_RATIO, "ridge": 0.0}[self.task]

    @property
    def name(self) -> str:
        return f"{self.task}/{self.problem.name}/{self.dtype}"

    def describe(self) -> str:
        """One line: task, shape, correlation, grid, tol, dtype."""
        pr = self.problem
        rho = "" if pr.source != "glmnet" else f", ρ={pr.rho:g}"
        what = {
            "lasso": "lasso path",
            "enet": f"elastic-net path (l1_ratio={self.l1_ratio:g})",
            "ridge": "ridge path",
            "cv": f"{self.n_folds}-fold CV of the lasso path",
        }[self.task]
        return (
            f"{what} on {pr.name} (n={pr.n_samples}, p={pr.n_features}{rho}), "
            f"{self.n_alphas} α, tol={self.tol:g}, {self.dtype}"
        )


def alpha_grid(case: Case, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The decreasing alpha grid of a case, computed once in float64.

    Every implementation receives this same array, so all of them solve the same
    problems. Lasso and elastic net: ``geomspace(alpha_max, eps·alpha_max)`` with
    ``alpha_max = max_j |x_jᵀ(y - ȳ)| / (n·l1_ratio)`` (centring X does not change
    ``x_jᵀ(y - ȳ)``). Ridge: the same formula at ``l1_ratio = 0.001`` down to
    ``1e-6`` of it (glmnet's and jaxreg.ridge's default grid).

    Returns
    -------
    ndarray of shape (case.n_alphas,)
    """
    n = X.shape[0]
    xty = np.abs(X.T @ (y - y.mean())) / n
    if case.task == "ridge":
        amax, eps = float(xty.max()) / RIDGE_L1_RATIO, RIDGE_EPS
    else:
        amax, eps = float(xty.max()) / case.l1_ratio, case.eps
    if not amax > 0:
        raise ValueError(f"alpha_max must be positive, got {amax!r} (constant y?).")
    return np.geomspace(amax, eps * amax, case.n_alphas)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A list of cases and the limits of one run.

    Attributes
    ----------
    name : str
    description : str
    cases : tuple of Case
    repeats : int
        Timed calls after the first (median reported).
    repeat_budget_s : float
        Stop repeating once the repeats of one record have taken this long (at
        least one timed call is always made).
    peer_timeout_s : float
        A peer (or the NumPy reference) still running after this many seconds is
        stopped and recorded as skipped.
    reference_max_size : int
        The pure-NumPy reference runs only where ``n·p`` is at most this.
    isolate_peers : bool
        Run every peer (and the reference) in its own process, stopped after
        ``peer_timeout_s``; otherwise in this process, without a cap (tiny
        problems only: it saves a process start per record).
    isolate_jaxreg : bool
        Run every jaxreg record in its own process (per-record peak memory, and
        ``jaxreg_timeout_s`` applies); otherwise in this process.
    jaxreg_timeout_s : float or None
        Time cap of an isolated jaxreg record.
    """

    name: str
    description: str
    cases: tuple
    repeats: int = 3
    repeat_budget_s: float = 60.0
    peer_timeout_s: float = 120.0
    reference_max_size: int = 5_000_000
    isolate_peers: bool = True
    isolate_jaxreg: bool = False
    jaxreg_timeout_s: float | None = None


def _smoke() -> Preset:
    pr = glmnet_problem(200, 40, 0.5)
    cases = (
        Case(pr, "lasso", n_alphas=20),
        Case(pr, "lasso", "float32", n_alphas=20),
        Case(pr, "enet", n_alphas=20),
        Case(pr, "ridge", n_alphas=20),
        Case(pr, "cv", n_alphas=20),
        Case(DIABETES, "lasso", n_alphas=20),
    )
    return Preset(
        "smoke",
        "tiny problems, every task and code path; under a minute on a CPU",
        cases,
        repeats=2,
        repeat_budget_s=5.0,
        peer_timeout_s=60.0,
        isolate_peers=False,
    )


STRATEGIES = ("auto", "parallel", "hybrid", "sequential")


def _small() -> Preset:
    head = glmnet_problem(5000, 500, 0.5)
    cases = [
        # Issue 2: jaxreg vs the NumPy reference vs scikit-learn, float64 both sides.
        Case(head, "lasso", strategies=STRATEGIES, headline=True),
        Case(head, "lasso", "float32", strategies=STRATEGIES),
        Case(head, "enet"),
        Case(head, "ridge"),
        Case(head, "ridge", "float32"),
    ]
    for rho in (0.0, 0.95):
        cases.append(Case(glmnet_problem(1000, 100, rho), "lasso"))
    cases += [
        Case(glmnet_problem(2000, 200, 0.5), "cv"),
        Case(glmnet_problem(200, 1000, 0.5, family="wide"), "lasso"),
        Case(DIABETES, "lasso"),
        Case(DIABETES, "cv"),
    ]
    return Preset(
        "small",
        "the CPU suite (about 10 minutes on a loaded 2-core CPU): the "
        "issue-2 comparison, the CPU strategies, every task",
        tuple(cases),
        repeats=3,
        repeat_budget_s=30.0,
        peer_timeout_s=120.0,
        reference_max_size=5_000_000,
    )


def _large() -> Preset:
    # Sized for a GPU machine lent for minutes: jaxreg runs on the GPU everywhere,
    # and on the host CPU (with the peers) where that finishes in seconds to a
    # minute; scikit-learn where it finishes within the cap.
    head = glmnet_problem(100_000, 1000, 0.5)
    tall = glmnet_problem(1_000_000, 1000, 0.5, family="tall")
    gpu_only, sk, none = ("gpu",), ("sklearn",), ()
    cases = [
        Case(
            head,
            "lasso",
            gpu_strategies=("auto", "parallel", "hybrid"),
            peers=sk,
            headline=True,
        ),
        Case(head, "lasso", "float32", peers=sk, devices=gpu_only),
        Case(head, "enet", peers=none, devices=gpu_only),
        Case(head, "ridge", peers=none),
        Case(head, "ridge", "float32", peers=none, devices=gpu_only),
        Case(head, "cv", peers=none, devices=gpu_only),
        Case(tall, "lasso", peers=none, devices=gpu_only),
        Case(tall, "lasso", "float32", peers=none, devices=gpu_only),
    ]
    for p in (20_000, 50_000, 100_000):
        # scikit-learn's coordinate descent needs far longer than the cap here.
        cases.append(
            Case(
                glmnet_problem(500, p, 0.5, family="wide"),
                "lasso",
                peers=none,
                devices=gpu_only,
            )
        )
    cases.append(Case(DIABETES, "lasso", peers=sk))
    return Preset(
        "large",
        "the GPU suite: n=100k p=1k paths, ridge and CV, tall 1M×1k, "
        "wide 500×20k..100k, diabetes; jaxreg on the GPU (and on the host CPU for "
        "the headline, ridge and diabetes), scikit-learn on the CPU within a cap",
        tuple(cases),
        repeats=5,
        repeat_budget_s=20.0,
        peer_timeout_s=150.0,
        reference_max_size=5_000_000,
        isolate_jaxreg=True,
        jaxreg_timeout_s=240.0,
    )


def _wide() -> Preset:
    # p >> n on the CPU: jaxreg's active-set solver against the reference's
    # coordinate descent and the peers, where they finish within the cap.
    cases = [
        Case(glmnet_problem(100, 1000, 0.5, family="wide"), "lasso", headline=True),
        Case(glmnet_problem(100, 5000, 0.5, family="wide"), "lasso"),
        Case(glmnet_problem(100, 5000, 0.5, family="wide"), "enet"),
        # the batched Newton working sets and FISTA's beside the host search
        Case(
            glmnet_problem(200, 1000, 0.5, family="wide"),
            "lasso",
            strategies=("auto", "newton", "hybrid"),
        ),
        Case(glmnet_problem(200, 1000, 0.5, family="wide"), "cv"),
        Case(
            glmnet_problem(500, 20_000, 0.5, family="wide"),
            "lasso",
            peers=("celer", "skglm", "glmnet"),
        ),
        Case(
            glmnet_problem(500, 50_000, 0.5, family="wide"), "lasso", peers=("glmnet",)
        ),
    ]
    return Preset(
        "wide",
        "p >> n on the CPU (about 15 minutes on a 2-core CPU): lasso at 100 x 1000 "
        "and 5000, 200 x 1000 (and its CV), 500 x 20k and 50k, elastic net at "
        "100 x 5000; peers within a 120 s cap",
        tuple(cases),
        repeats=3,
        repeat_budget_s=30.0,
        peer_timeout_s=120.0,
        reference_max_size=5_000_000,
    )


PRESETS = {"smoke": _smoke, "small": _small, "large": _large, "wide": _wide}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` ("smoke", "small", "large" or "wide")."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {name!r}.")
    return PRESETS[name]()
