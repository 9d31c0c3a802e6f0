"""The one policy of the engine (:mod:`jaxreg.engine`): the mode, the chunking of
the path, the working sets and the padded grid size, for paths and CV alike."""

from __future__ import annotations

import dataclasses

from jaxreg import _shapes
from jaxreg._config import backend_of
from jaxreg.solvers import fista

__all__ = ["HYBRID_CHUNK", "SCREEN_MIN_FEATURES", "Plan", "choose_mode",
           "padded_count", "padded_members", "plan", "refuse_newton"]  # fmt: skip

# Alphas per warm-started chunk for strategy="hybrid" (the CPU default).
HYBRID_CHUNK = 8
# screen="auto" uses working sets on the CPU from this many penalized features,
# for paths and CV members alike. Each working-set width is one more compiled
# solver (about 0.7 s on a 2-core CPU), which the saving must repay. Measured
# (2-core CPU, 100 alphas, tol 1e-6, first call / warm call): a path at
# 5000 x 500, 3.6 / 0.62 s without, 4.5 / 0.45 s with; at 10000 x 1000, 5.1 / 2.1 s
# without, 6.3 / 1.3 s with; 5-fold CV at 2000 x 200, 3.7 / 0.61 s without,
# 4.7 / 0.80 s with.
SCREEN_MIN_FEATURES = 1000


# --------------------------------------------------------------------------- #
# Policy
# --------------------------------------------------------------------------- #
def choose_mode(mode: str, n: int, p: int, *, on_features: bool = False) -> str:
    """Gram when ``p <= 2n`` and p is moderate: an iteration costs 2p²k flops
    against 4npk in design mode, and the p × p matrix must fit. Design for X
    sharded over its features (``on_features``): it is solved on its mesh."""
    if mode == "auto":
        small = p <= 2 * n and p <= 20_000 and not on_features
        return "gram" if small else "design"
    return mode


def padded_members(F: int, K: int, backend: str, small: bool) -> int:
    """The number of members a CV batch (K folds and the all-data fit, F = K + 1)
    is solved with: a bucketed count (2·{1, 1.5, 2, 3, 4, 6, ...}: 4 and 5 folds
    share a program, 10 folds are solved as 12 members) where an extra member
    is almost free, on an accelerator or for a small problem (one padded to
    bucketed shapes, whose time is its compilation); else F. The extra members
    repeat the last fold and are dropped from the results."""
    if K == 0 or (backend == "cpu" and not small):
        return F
    return _shapes.bucket(F, 2)


def padded_count(k: int, chunk: int) -> int:
    """The number of levels a path of k is solved with: a multiple of ``chunk``,
    and beyond ``HYBRID_CHUNK`` levels one of a few bucketed sizes (8·{1.5, 2,
    3, 4, 6, ...}), so that a new grid size seldom compiles a new program. The
    extra levels repeat the last one: warm-started, they converge at their first
    gap check, and they are dropped from the results. A single batch
    (``chunk >= k``) is ``chunk`` levels: a CPU's parallel batch of every level
    is not padded (each level costs its flops), an accelerator's is bucketed by
    its plan."""
    if chunk >= k:
        return chunk
    if k > HYBRID_CHUNK:
        k = _shapes.bucket(k, HYBRID_CHUNK)
    return -(-k // chunk) * chunk


@dataclasses.dataclass(frozen=True)
class Plan:
    strategy: str  # "parallel", "hybrid", "sequential" or "newton"
    chunk: int  # levels per warm-started batch
    screen: bool  # working sets
    gap_safe: bool  # gap-safe tests in the FISTA loop
    exact_lipschitz: bool  # LAPACK eigenvalue (CPU) or power iteration
    unroll: int  # steps per trip of the inner scan
    l1_batch: bool  # several l1_ratios in one batch


def refuse_newton(solver, what: str) -> None:
    """A clear error where ``strategy='newton'`` or ``screen='gapsafe'`` has no
    solver (``what``)."""
    if solver.strategy == "newton":
        raise ValueError(
            f"strategy='newton' is not available for {what}: it solves the "
            "elastic-net path of one target (and the binomial and Poisson "
            "families); use strategy='auto'."
        )
    if solver.screen == "gapsafe":
        raise ValueError(
            f"screen='gapsafe' is not available for {what}: its tests are those "
            "of the elastic net (feature by feature) with the squared loss; use "
            "screen='auto'."
        )


def plan(
    solver,
    n_levels: int,
    n_features: int,
    n_targets: int,
    gram: bool,
    n_l1: int = 1,
    l1_batch: bool | None = None,
) -> Plan:
    """The one policy. GPU: every level in one batch (a wider batch is almost
    free, the GEMM is launch-bound). CPU: warm-started chunks (the GEMM cost grows
    with the batch, warm starts save iterations), and working sets from
    ``SCREEN_MIN_FEATURES`` penalized features (flops are time)."""
    backend = backend_of(solver.device)
    strategy = solver.strategy
    if strategy == "auto":
        strategy = "parallel" if backend != "cpu" else "hybrid"
    # a parallel batch is bucketed on an accelerator, where more members are
    # almost free; on the CPU each costs its flops
    par = padded_count(n_levels, 1) if backend != "cpu" else n_levels
    chunk = {"parallel": par, "sequential": 1}.get(
        strategy, min(solver.chunk or HYBRID_CHUNK, n_levels)
    )
    if solver.screen == "strong" and n_targets > 1:
        raise ValueError(
            f"screen='strong' needs a single target (1-D y), got {n_targets} targets."
        )
    if strategy == "newton" and (n_targets > 1 or solver.screen in ("none", "gapsafe")):
        raise ValueError(
            "strategy='newton' solves on working sets: it needs a single target "
            f"(1-D y; got {n_targets}) and screen='auto' or 'strong' (got "
            f"{solver.screen!r})."
        )
    if solver.screen == "gapsafe" and strategy == "active_set":
        raise ValueError(
            "screen='gapsafe' tests coordinates in the FISTA loop; "
            "strategy='active_set' has none: use strategy='auto', 'parallel', "
            "'hybrid' or 'sequential'."
        )
    screen = (
        solver.screen == "strong"
        or strategy == "newton"
        or (
            solver.screen == "auto"
            and backend == "cpu"
            and strategy != "parallel"
            and n_features >= SCREEN_MIN_FEATURES
            and n_targets == 1
        )
    )
    if l1_batch is None:
        l1_batch = backend != "cpu"
    return Plan(
        strategy,
        chunk,
        screen,
        solver.screen == "gapsafe",
        exact_lipschitz=backend == "cpu",
        unroll=fista.unroll_for(backend, solver.check_every),
        l1_batch=l1_batch and not screen and n_l1 > 1,
    )
