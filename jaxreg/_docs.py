"""Docstring pieces that many public functions share, written once.

A line holding only ``[name]`` in a docstring decorated with :func:`shared` is
replaced by the block ``name``, indented like the marker.
"""

from __future__ import annotations

import re

__all__ = ["shared"]

BLOCKS = {
    "model": """\
fit_intercept : bool
    Centre X and y (weighted means); the intercept is never penalized.
standardize : bool
    Penalize the coefficients of columns scaled to unit (weighted, 1/n) variance,
    as glmnet does; coefficients are reported on the original scale.
sample_weight : array-like of shape (n_samples,), optional
    Non-negative; rescaled to sum to n.
penalty_factor : array-like of shape (n_features,), optional
    Per-feature multiplier of the penalty (0 = never penalized).""",
    "box": """\
positive : bool
    Constrain the coefficients to be non-negative.
lower_limits, upper_limits : float or array-like of shape (n_features,)
    Box constraints (``lower <= 0 <= upper``) on the original scale.""",
    "solver": """\
tol : float
    A level has converged when its duality gap <= ``tol·||y - ȳ||²/n``.
max_iter : int
    Most FISTA iterations per level (support steps for the active-set solver,
    Newton steps per working-set solve for ``strategy="newton"``).
mode : {"auto", "gram", "design"}
    Gram mode precomputes XᵀX/n (n >= p); design mode multiplies by X.
strategy : {"auto", "parallel", "hybrid", "sequential", "active_set", "newton"}
    All levels in one batch (GPU default), warm-started chunks of ``chunk`` levels
    (CPU default), one level at a time, the active-set support search on the
    host (``"auto"``'s choice for wide designs on the CPU in float64), or
    batched proximal Newton steps: for least squares on working sets (one
    target; any dtype and box limits; far slower than the host search on the
    CPU, never chosen by ``"auto"``), for the binomial and the Poisson
    (``"auto"``'s choice for them: on all the columns of narrow designs, on
    working sets of wider ones with at most 3 rows per feature). With
    ``"auto"`` in
    float64, levels FISTA leaves at ``max_iter`` are solved again by the
    support search, its answer kept where its gap is smaller.
chunk : int, optional
    Chunk size for ``strategy="hybrid"`` (default 8).
check_every : int
    FISTA steps between two duality-gap evaluations.""",
    "screen": """\
screen : {"auto", "none", "strong", "gapsafe"}
    ``"strong"`` solves each chunk on a working set chosen by the sequential
    strong rule, then checks every feature on the full problem (the gaps are
    always those of the full problem). ``"auto"`` uses it for warm-started chunks
    on the CPU from 1000 penalized features (below, compiling the working
    sets costs more than they save), and for the binomial and the Poisson
    from 128 features and at most 3 rows per feature; ``"none"`` never.
    ``"gapsafe"`` runs FISTA on every feature with gap-safe tests at each gap
    check: features proven 0 are held at 0 for the rest of their level, and
    each level is certified by the smaller of two gaps, the plain dual
    point's and celer's extrapolated one (float64; one more product per
    check; the squared loss and the elastic net only; never chosen by
    ``"auto"``; with ``strategy="auto"`` the levels FISTA leaves at
    ``max_iter`` still go to the support search). A gap of the extrapolated
    point bounds the suboptimality as any duality gap does, but recomputing
    the gap from the coefficients (the plain residual's) may give more.""",
    "dtype": """\
dtype : {None, "float64", "float32"}
    float64 unless float32 is asked for (the global JAX config is untouched). The
    data are centred and scaled in float64 either way.""",
    "device": """\
device : {None, "cpu", "gpu"} or jax.Device""",
    "raises": """\
Raises
------
ValueError, TypeError
    For invalid input; the message names the argument and the rule.
InsufficientMemoryError
    When the problem would not fit in the device's memory (before allocating).""",
    "fit_data": """\
X : array-like of shape (n_samples, n_features)
y : array-like of shape (n_samples,) or (n_samples, n_targets)""",
    "multitask_fit": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
y : array-like of shape (n_samples, n_targets)
sample_weight : float or array-like of shape (n_samples,), optional
    Rescaled to sum to n_samples (a scalar means no weights).

Returns
-------
self""",
    "ridge_fit": """\
X : array-like of shape (n_samples, n_features)
y : array-like of shape (n_samples,) or (n_samples, n_targets)
sample_weight : float or array-like of shape (n_samples,), optional
    Raw weights (not rescaled: scaling them rescales alpha, as in
    scikit-learn).""",
}

_MARKER = re.compile(r"^( *)\[(\w+)\]$", re.MULTILINE)


def _expand(match):
    indent, name = match.groups()
    return "\n".join(
        indent + line if line else line for line in BLOCKS[name].splitlines()
    )


def shared(func):
    """Expand the ``[name]`` markers of ``func.__doc__``."""
    if func.__doc__:
        func.__doc__ = _MARKER.sub(_expand, func.__doc__)
    return func
