"""Group penalties on the one engine: the sparse-group lasso and the multi-task
elastic net.

Both are :class:`jaxreg.penalties.GroupElasticNet` behind the same batched FISTA
loop, on the members of a :class:`jaxreg.engine.Problem` (the all-data fit and
the cross-validation folds):

``groups=ids`` (:func:`jaxreg.enet_path`)
    The sparse-group lasso, ``alpha·(l1_ratio·Σ_j p_j|w_j| + (1 − l1_ratio)·Σ_g
    √|g|·||w_g||₂)`` (Simon et al. 2013; ``l1_ratio = 0`` is the group lasso of
    Yuan & Lin 2006, with their √(group size) weights). Features with
    ``penalty_factor = 0`` are unpenalized, outside every group.
``family="mgaussian"``
    Several targets fitted jointly (glmnet's mgaussian, scikit-learn's
    MultiTaskElasticNet): ``1/(2n)·||Y − XW − 1bᵀ||²_F + alpha·(l1_ratio·Σ_j
    p_j·||W_j||₂ + (1 − l1_ratio)/2·Σ_j p_j·||W_j||²₂)``, one group per feature
    holding its coefficients for every target.

Convergence is certified by the duality gap of the joint problem: ``gap <=
tol·||Y − Ȳ||²_F/n`` (scikit-learn's rule for its multi-task models). The
sparse-group problem is solved without the per-column preconditioning of the
separable penalties (a group norm is not separable), in coordinates scaled by one
power of two.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import batch, datafits, penalties
from jaxreg._config import compute_context, vmap
from jaxreg.solvers import fista

__all__ = ["Grouping", "check_groups"]


class Grouping(NamedTuple):
    """``kind`` "tasks" (the multi-task penalty; ``ids`` None) or "groups"
    (``ids`` (p,): each feature's group, numbered from 0)."""

    kind: str
    ids: np.ndarray | None = None

    @property
    def joint(self) -> bool:
        return self.kind == "tasks"


TASKS = Grouping("tasks")


def check_groups(groups, n_features: int) -> Grouping:
    """``groups``: one label per feature (integers or strings); any labels, each
    naming one group."""
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.shape[0] != n_features:
        raise ValueError(
            f"groups must give one group label per feature: shape ({n_features},), "
            f"got {arr.shape}."
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(
                "groups must hold integer (or string) labels; got non-integer numbers."
            )
    elif arr.dtype.kind not in "iuUSO":
        raise TypeError(f"groups must hold integer or string labels, got {arr.dtype}.")
    _, ids = np.unique(arr, return_inverse=True)
    return Grouping("groups", ids.reshape(-1).astype(np.int32))


def _check_problem(problem, grouping):
    if problem.model.boxed:
        raise ValueError(
            "box limits (positive, lower_limits, upper_limits) are not available "
            "with groups or family='mgaussian'."
        )
    if problem.sparse:
        raise ValueError(
            "groups and family='mgaussian' take a dense X (or sufficient statistics)."
        )
    if not grouping.joint and problem.T != 1:
        raise ValueError("groups= takes one target (1-D y).")


def weights(problem, l1_ratio, grouping, unit=1.0):
    """The penalty's weights per ``unit`` of alpha, every member: ``l1`` (F, pP·T),
    ``gw``, ``l2`` (F, G) and the coordinates' group ``ids`` (pP·T,)."""
    F, pP, T = problem.F, len(problem.idx_P), problem.T
    if grouping.joint:
        w = problem.enet_weights(l1_ratio, unit)
        ids = np.repeat(np.arange(pP, dtype=np.int32), T)
        return dict(l1=np.zeros((F, pP * T)), gw=w["l1"], l2=w["l2"], ids=ids)
    # one unit of the L1 weight without the penalty factor; with separable=False
    # it is the same for every column (one power of two), so √|g|·u is the group
    # weight in the reduced coordinates
    pf = problem.model.penalty_factor[problem.idx_P]
    u = problem.enet_weights(1.0, unit)["l1"] / pf
    ids_all = np.concatenate(
        [grouping.ids, grouping.ids.max(initial=-1) + 1 + np.arange(
            problem.model.penalty_factor.size - grouping.ids.size)]
    )  # fmt: skip
    _, ids = np.unique(ids_all[problem.idx_P], return_inverse=True)
    ids = ids.reshape(-1).astype(np.int32)
    size = np.bincount(ids).astype(np.float64)
    first = np.zeros(size.size, np.int64)
    first[ids[::-1]] = np.arange(ids.size)[::-1]
    gw = (1.0 - l1_ratio) * np.sqrt(size)[None, :] * u[:, first]
    return dict(l1=l1_ratio * pf * u, gw=gw, l2=np.zeros_like(gw), ids=ids)


def _penalty(w, levels, member=-1):
    sl = slice(None) if member is None else member
    return penalties.GroupElasticNet(
        levels, w["l1"][sl], w["gw"][sl], w["l2"][sl], w["ids"]
    )


def alpha_max(problem, l1_ratio, grouping) -> float:
    """The all-data member's smallest alpha giving zero coefficients, data units."""
    from jaxreg.engine import RIDGE_L1_RATIO

    _check_problem(problem, grouping)
    r = max(l1_ratio, RIDGE_L1_RATIO) if grouping.joint else l1_ratio
    w = weights(problem, r, grouping, 1.0 / problem.alpha_scale[-1])
    q0 = np.asarray(problem.q0[-1], np.float64).reshape(-1)  # (pP·T,), j·T + t
    return _penalty(w, np.ones(1)).alpha_max(q0)


@functools.partial(jax.jit, static_argnames=("gram", "check_every", "chunk", "unroll"))
def _solve_members(A, c, yy, pen, lips, tol_abs, max_iter, fixed, start, *, gram,
                   check_every, chunk, unroll):  # fmt: skip
    """Every member's path (F, k, ...) of the joint problem, from ``start``
    (F, pP·T)."""
    Datafit = batch.datafit(gram)

    def one(A, c, yy, pen, lip, tol, w0):
        df = datafits.Tasks(Datafit(A, c, yy))
        zero = jnp.zeros(pen.l1.shape[-1], c.dtype)
        return fista.solve_path(
            df, pen, lip, tol, max_iter, zero, fixed, check_every=check_every,
            chunk=chunk, unroll=unroll, start=w0,
        )  # fmt: skip

    axes = (0, 0, 0, pen.member_axes(), 0, 0, 0)
    return vmap(one, axes, A.shape[0])(A, c, yy, pen, lips, tol_abs, start)


def solve(problem, grids, l1_ratios, grouping, pl):
    """The engine's raw solutions (a list, one dict per l1_ratio): ``coef``
    (F, T, k, pP); ``gap``, ``n_iter``, ``converged``, ``rr`` (F, 1, k) for the joint
    multi-task problem, (F, T, k) otherwise (T = 1)."""
    _check_problem(problem, grouping)
    out = []
    for grid, r in zip(grids, l1_ratios, strict=True):
        amax = alpha_max(problem, r, grouping)
        ref = amax if np.isfinite(amax) and amax > 0 else 1.0
        w = weights(problem, r, grouping, ref)
        levels = np.asarray(grid, np.float64) / ref
        out.append(_solve_one(problem, w, levels, pl))
    return out


def _solve_one(problem, w, levels, pl):
    from jaxreg import engine

    dt, k = problem.dtype, levels.size
    padded = engine.padded_count(k, pl.chunk)
    levels = np.concatenate([levels, np.repeat(levels[-1:], padded - k)])
    tol = problem.solver.tol * problem.yy_total.sum(axis=1)  # (F,)
    with compute_context(dt, problem.solver.device):
        pen = penalties.GroupElasticNet(
            jnp.asarray(levels, dt),
            *(jnp.asarray(w[key], dt) for key in ("l1", "gw", "l2")),
            jnp.asarray(w["ids"]),
        )
        if pl.screen and problem.T == 1:
            r = _screened(problem, pen, levels, tol, pl)
        else:
            r = _all_features(problem, pen, tol, pl, padded)
        r = jax.tree_util.tree_map(np.asarray, r)
    F, T, pP = problem.F, problem.T, len(problem.idx_P)
    coef = r.coef[:, :k].reshape(F, k, pP, T).transpose(0, 3, 1, 2)
    return dict(
        coef=coef,
        gap=problem.to_data_units(r.gap[:, None, :k]),
        n_iter=r.n_iter[:, None, :k].astype(np.int64),
        converged=np.asarray(r.converged[:, None, :k], bool),
        rr=r.rr[:, None, :k],
        strategy=pl.strategy,
    )


def _screened(problem, pen, levels, tol, pl):
    """Feature groups of one target through the working-set driver: groups enter
    by the group strong rule, and every chunk is checked on all the features."""
    from jaxreg.solvers import working_set

    dt, mem = problem.dtype, problem.members

    def dev(a):
        return jax.device_put(np.asarray(a, dt))

    c, yy = np.asarray(mem.c), np.asarray(mem.yy)
    dfs = batch.datafit(problem.gram)(dev(mem.A), dev(c[..., 0]), dev(yy[:, 0]))
    F, pP = problem.F, len(problem.idx_P)
    return working_set.solve_path(
        dfs,
        pen,
        levels,
        dev(np.asarray(problem.q0)[..., 0]),
        np.zeros((F, pP)),
        np.zeros(levels.size, bool),
        lipschitz=problem.lipschitz(None, pl),
        tol_abs=dev(tol),
        max_iter=jax.device_put(np.int32(problem.solver.max_iter)),
        chunk=pl.chunk,
        check_every=problem.solver.check_every,
        exact=pl.exact_lipschitz,
    )


def _all_features(problem, pen, tol, pl, padded):
    """Every member's path with every feature in every step (the joint
    multi-task problem, or feature groups without working sets)."""
    dt, mem = problem.dtype, problem.members
    A = jnp.asarray(mem.A, dt)
    start = np.swapaxes(problem._start(), 1, 2).reshape(problem.F, -1)  # j·T + t
    return _solve_members(
        A,
        jnp.asarray(mem.c, dt),
        jnp.asarray(np.asarray(mem.yy).sum(axis=1), dt),
        pen,
        problem.lipschitz(A, pl),
        jnp.asarray(tol, dt),
        jnp.int32(problem.solver.max_iter),
        jnp.zeros(padded, bool),
        jnp.asarray(start, dt),
        gram=problem.gram,
        check_every=problem.solver.check_every,
        chunk=pl.chunk,
        unroll=pl.unroll,
    )


def joint_raw(raw):
    """A closed-form ridge of every task (l1_ratio = 0: the group norm is gone and
    the tasks separate) as the joint problem's raw arrays: one certificate, the
    sum of the tasks' (exact: gap 0)."""
    joint = dict(gap=np.sum, rr=np.sum, n_iter=np.max, converged=np.all)
    out = {key: f(raw[key], axis=1, keepdims=True) for key, f in joint.items()}
    return dict(raw, **out)


def joint_result(problem, grid, raw, coefs, intercepts, l1_ratio, amax):
    """The all-data member of a multi-task problem: a MultiTargetPath whose
    ``gaps``, ``n_iter`` and ``converged`` are the joint problem's (no per-target
    values: the targets share one certificate)."""
    import dataclasses

    from jaxreg import results

    yy = problem.yy_total[-1]  # (T,), scaled units
    T, tol = yy.size, problem.solver.tol
    tiled = {
        key: np.repeat(raw[key][-1], T, axis=0)
        for key in ("gap", "n_iter", "converged")
    }
    res = results.path_result(
        grid, coefs[-1], intercepts[-1], tiled["gap"], tiled["n_iter"],
        tiled["converged"], np.zeros((T, len(grid))), yy,
        problem.to_data_units(tol * yy), multi=True, l1_ratio=l1_ratio,
        alpha_max=amax, tol=tol, mode=problem.mode, strategy=raw["strategy"],
        dtype=str(problem.dtype), x_scale=problem.column_scale(),
    )  # fmt: skip
    total = float(yy.sum())
    dev = 1.0 - raw["rr"][-1, 0] / total if total > 0 else np.zeros(len(grid))
    return dataclasses.replace(
        res,
        dev_ratio=np.clip(np.nan_to_num(dev), 0.0, 1.0).astype(res.gaps.dtype),
        gap_tol=float(problem.to_data_units(tol * total)),
        family="mgaussian",
        target_gaps=None,
        target_n_iter=None,
        target_converged=None,
        target_gap_tol=None,
    )
