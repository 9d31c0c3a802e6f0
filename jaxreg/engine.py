"""The one route from validated data to solutions: reduce once, solve every member.

A :class:`Problem` is the data reduced to its *members* (:mod:`jaxreg.stats`):
the fit on all the data, plus one per cross-validation fold when there are folds.
Its ``solve_*`` methods run the solvers on every member, every target and every
level at once, and :meth:`Problem.finish` maps the solutions back to the data's
units and scores the held-out folds. :func:`jaxreg.enet_path`, :func:`jaxreg.cv_path`,
:func:`jaxreg.ridge_path`, :func:`jaxreg.constrained_path` and the estimators are
thin shells around it.

:func:`jaxreg._plan.plan` is the one policy (mode, chunks, working sets), for paths
and CV alike; the vmaps over l1_ratios × members × targets are in :mod:`jaxreg.batch`.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import (
    _config,
    _memory,
    _shapes,
    _sparse_design,
    batch,
    datafits,
    groups,
    penalties,
    sparse,
    stats,
    sufficient,
)
from jaxreg import _validation as V
from jaxreg._config import backend_of, compute_context, serial_blas
from jaxreg._plan import (  # noqa: F401  (the policy, re-exported)
    HYBRID_CHUNK,
    SCREEN_MIN_FEATURES,
    Plan,
    choose_mode,
    padded_count,
    padded_members,
    plan,
    refuse_newton,
)
from jaxreg.solvers import active_set, gap_safe, polish, working_set

__all__ = ["Plan", "Problem", "choose_mode", "plan"]

# Host reductions below this many flops (2·n·p², the Gram) run OpenBLAS on one
# thread: its idle threads spin for about 0.1 s after a product, taking the
# cores from the XLA loop that follows (measured at 5000 x 500 in float32: a
# path 0.135 s with two BLAS threads, 0.120 s with one).
SERIAL_REDUCE_FLOPS = 1e10
# glmnet's ridge path starts at the lasso alpha_max computed with this l1_ratio.
RIDGE_L1_RATIO = 1e-3


# --------------------------------------------------------------------------- #
# The problem: reduced members, their penalties and their solutions
# --------------------------------------------------------------------------- #
class Problem:
    """The data reduced to its members, ready for every solver.

    Parameters
    ----------
    X, Y : validated arrays (n, p) and (n, T)
    model : jaxreg._validation.Model
    solver : jaxreg._validation.Solver
    folds : (train, test) counts (K, n), or None (the all-data member only)
    n_levels : the grid size (for the memory estimate)
    alpha_units : "mean" (the path objective) or "sum" (scikit-learn's ``Ridge``:
        member f solves at ``alpha / Σ_train raw weights``)
    separable : False for the balls of the constraint view (no per-column
        scaling, no preconditioning)
    mode : the solver's mode overridden ("design": ridge's leave-one-out needs rows)
    """

    grouping = None  # a jaxreg.groups.Grouping: the group penalties
    start = None  # (F, T, pP) reduced starting coefficients (coef_init)
    bucketed = False  # padded to bucketed shapes (jaxreg._shapes.pad)

    def __init__(
        self,
        X,
        Y,
        model,
        solver,
        *,
        folds=None,
        n_levels=1,
        alpha_units="mean",
        separable=True,
        mode=None,
    ):
        self.sparse = False
        if isinstance(X, sufficient.SufficientStats):
            args = (folds, n_levels, alpha_units, separable, mode)
            sufficient.init_problem(self, X, model, solver, *args)
            return
        if sparse.is_sparse(X):  # too wide for its Gram matrix (see path.prepare)
            _sparse_design.init_problem(
                self, X, Y, model, solver, folds, n_levels, alpha_units
            )
            return
        self.held = None
        X = _config.auto_axes(X)
        self.p = X.shape[1]  # the caller's number of features
        self.mode = choose_mode(
            mode or solver.mode, *X.shape, on_features=_config.by_features(X)
        )
        train, test = folds if folds is not None else (np.zeros((0, X.shape[0])),) * 2
        self.solver, self.dtype = solver, np.dtype(solver.dtype)
        self.gram = self.mode == "gram"
        self.K, self.F, self.T = train.shape[0], train.shape[0] + 1, Y.shape[1]
        self._check_memory(*X.shape, n_levels)
        V.check_finite(X, Y)  # in blocks, after the estimate: never an n x p mask
        self.test_weight = (model.sample_weight[None, :] * test).sum(axis=1)
        self.test_rows = (test > 0).sum(axis=1)
        self.rows = X.shape[0]  # the caller's rows (the padded ones are absent)
        X, Y, model, train, test = _shapes.pad(X, Y, model, train, test)
        self.bucketed = X.shape[0] * X.shape[1] <= _shapes.PAD_MAX_ENTRIES
        n = self.n = X.shape[0]
        self.model = model
        self.idx_U = np.flatnonzero(model.free)
        self.idx_P = np.flatnonzero(~model.free)
        sw = model.sample_weight
        train_w = sw[None, :] * train
        if alpha_units == "sum":
            raw_train = np.append(train_w.sum(axis=1), n) * (model.raw_weight_total / n)
            self.alpha_scale = 1.0 / raw_train
        else:
            self.alpha_scale = np.ones(self.F)
        self._reduce(X, Y, train, test, separable)

    def _check_memory(self, n, p, k):
        dt = self.dtype
        extra = 0 if dt == np.float64 else 2 * n * p  # the float64 reduction
        extra += 2 * self.T * k * p * self.F + (self.F - 1) * (
            n * p if not self.gram else p * p
        )
        batch = min(k, HYBRID_CHUNK)  # gapsafe's rings, iterates and correlations
        rings = self.solver.screen == "gapsafe" and dt == np.float64
        extra += rings * 4 * (gap_safe.K + 1) * batch * p * self.F * self.T
        _memory.check_memory(
            n, p, k, dt, self.mode, self.solver.device, batch=batch,
            n_problems=self.F, extra=extra,
        )  # fmt: skip

    def _reduce(self, X, Y, train, test, separable):
        n, model = self.n, self.model
        sw = model.sample_weight
        excluded = sw[None, :] * (1.0 - train)
        test_w = sw[None, :] * test
        need = (test_w != 0) | ((excluded != 0) if self.gram else False)
        # Bucketed, so that folds of slightly different sizes share compiled code.
        m = _shapes.bucket(int(need.sum(axis=1).max(initial=0)), 8)
        gidx, gex, gtw = (np.zeros((self.K, m), t) for t in (np.int32, float, float))
        for i in range(self.K):
            rows = np.flatnonzero(need[i])
            gidx[i, : rows.size] = rows
            gex[i, : rows.size] = excluded[i, rows]
            gtw[i, : rows.size] = test_w[i, rows]
        train_w = np.concatenate([sw[None, :] * train, sw[None]])
        s = train_w * (n / train_w.sum(axis=1, keepdims=True))
        partition = self.K > 0 and bool(
            np.allclose(excluded.sum(axis=0), sw, rtol=1e-12, atol=0.0)
        )
        # On the CPU the data is reduced by the host's BLAS (measured at 5000 x 500:
        # 35 ms against 125 ms for the same in XLA, and nothing to compile; a JAX
        # array on the CPU is read in place); on an accelerator, on the device.
        # In float64, unless float32 data is asked for in float32 (it holds no
        # more digits; float64 data is always centred and scaled in float64).
        # A sharded jax.Array is reduced and solved where it lives, never gathered.
        host = self.host = backend_of(
            self.solver.device
        ) == "cpu" and not _config.spread(X)
        single = self.dtype == np.float32 and np.dtype(X.dtype) == np.float32
        dt = np.dtype(np.float32 if single else np.float64)
        small = 2.0 * X.shape[0] * X.shape[1] ** 2 < SERIAL_REDUCE_FLOPS
        blas = serial_blas() if host and small else contextlib.nullcontext()
        with compute_context(dt, self.solver.device), blas:
            out = stats.reduce(
                *(np.asarray(a, dt) if host else jnp.asarray(a, dt) for a in (X, Y)),
                sw,
                s if not self.gram else s[:0],
                train_w > 0,
                gidx,
                gex,
                self.idx_P,
                self.idx_U,
                host=host,
                fit_intercept=model.fit_intercept,
                standardize=model.standardize,
                gram=self.gram,
                partition=partition,
                precondition=separable,
                column_exponents=separable,
            )
        members, frame, self.Xg, self.Yg = out
        self.gtw = gtw
        self.n_positive = float((model.sample_weight > 0).sum())
        self._adopt(members, frame)

    def _adopt(self, members, frame):
        self.members, self.frame = members, frame
        mem = members
        self.y_exp = int(self.frame.y_exp)
        self.x_exp = np.asarray(self.frame.x_exp)
        self.yy_total = np.asarray(mem.yy_total, np.float64)  # (F, T) scaled units
        self.q0 = np.asarray(mem.q0, np.float64)  # (F, pP, T)
        self.g = np.asarray(mem.g, np.float64)  # (F, pP)
        self.x_scale = np.asarray(mem.x_scale, np.float64)  # (F, p)
        self._check_range()

    def _check_range(self):
        """Refuse data whose objective is beyond float64 (it is solved in scaled
        units, but gaps and tolerances are reported in the data's)."""
        yy = self.to_data_units(self.yy_total[-1])
        if not np.isfinite(yy).all():
            raise ValueError(
                "y is too large for float64: its weighted variance ||y - ȳ||²/n "
                f"overflows (|y| reaches about 2^{self.y_exp}), so every objective, "
                "gap and tolerance would be infinite. Divide y by a power of ten "
                "(the coefficients scale with it)."
            )

    # -- units ------------------------------------------------------------------
    def column_scale(self):
        """The all-data member's standardization scale in data units (None
        without ``standardize``)."""
        if not self.model.standardize:
            return None
        return np.ldexp(self.x_scale[-1], self.x_exp)[: self.p]

    def to_data_units(self, value, power=2):
        """Objective-unit values (gaps, rr) from the scaled units: ×4^y_exp."""
        with np.errstate(over="ignore"):
            return np.ldexp(np.asarray(value, np.float64), power * self.y_exp)

    def _ratio(self):
        """(F, pP): the penalized quantity per unit of v, over 2^y_exp."""
        if self.model.standardize:
            rho = np.ones(len(self.idx_P))
        else:
            rho = np.ldexp(1.0, -self.x_exp[self.idx_P])
        return rho[None, :] / self.g

    def ls_scale(self):
        """(F, pP): the least-squares (alpha = 0) solution has the least norm of
        the penalized coefficients, ``v·ratio`` (standardized ones with
        ``standardize``): the limit of ridge, in any internal coordinates (only
        the ratios between coordinates matter: normalized to at most 1)."""
        r = self._ratio()
        return np.max(r, axis=1, keepdims=True) / r

    def enet_weights(self, l1_ratio, unit=1.0):
        """The elastic net's weights per ``unit`` of alpha in the reduced
        coordinates: dict of float64 arrays (F, pP) ``l1``, ``l2``, ``lower``,
        ``upper``. The products are ordered so that none leaves float64's range
        when the weights themselves do not (the ratio can be 2^±1000 when X is)."""
        m = self.model
        pf = m.penalty_factor[self.idx_P]
        r = self._ratio()
        ru = r * (self.alpha_scale[:, None] * unit)
        l1 = l1_ratio * pf * np.ldexp(ru, -self.y_exp)
        l2 = (1.0 - l1_ratio) * pf * ru * r
        # w_orig = kappa·v; the box holds on the original scale. kappa beyond
        # float64 (coefficients that are, too) gives a box of [0, 0] or of all
        # reals, and the result is reported as non-finite downstream.
        with np.errstate(over="ignore", invalid="ignore"):
            kappa = self._kappa()
            lower = np.where(m.lower[self.idx_P] == 0, 0.0, m.lower[self.idx_P] / kappa)
            upper = np.where(m.upper[self.idx_P] == 0, 0.0, m.upper[self.idx_P] / kappa)
        return dict(l1=l1, l2=l2, lower=lower, upper=upper)

    def _kappa(self):
        """(F, pP): the original coefficient of each penalized feature per unit
        of its reduced coordinate, ``w = kappa·v``."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.ldexp(
                1.0 / (self.x_scale[:, self.idx_P] * self.g),
                self.y_exp - self.x_exp[self.idx_P],
            )

    def start_from(self, coef):
        """Reduced starting coefficients (F, T, pP) from coefficients in data units
        ((p,) or (T, p)): every member starts there (scikit-learn's ``coef_init``
        and ``warm_start``). Non-finite entries, or beyond float64 in the reduced
        units, start at 0."""
        coef = np.asarray(coef, np.float64)
        coef = np.broadcast_to(coef.reshape(-1, self.p), (self.T, self.p))
        full = np.zeros((self.T, self.model.penalty_factor.size))
        full[:, : self.p] = coef
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            v = full[None, :, self.idx_P] / self._kappa()[:, None, :]
        return np.where(np.isfinite(v), v, 0.0)

    def alpha_max(self, l1_ratio) -> float:
        """alpha_max of the all-data member (the max over targets), in data units."""
        if self.grouping is not None:
            return groups.alpha_max(self, l1_ratio, self.grouping)
        w = self.enet_weights(max(l1_ratio, RIDGE_L1_RATIO))
        pen = penalties.ElasticNet(
            None,
            w["l1"][-1] / self.alpha_scale[-1],
            None,
            w["lower"][-1],
            w["upper"][-1],
        )
        amax = max(float(pen.alpha_max(self.q0[-1, :, t])) for t in range(self.T))
        if not np.isfinite(amax):
            x_exp = int(self.x_exp.min())
            raise ValueError(
                "alpha_max overflows float64 for these data: y is very large next "
                f"to X (2^{self.y_exp} against 2^{x_exp}). Rescale X or y."
            )
        return amax

    # -- solvers ------------------------------------------------------------------
    def solve_enet(self, grids, l1_ratios, l1_batch=None):
        """Elastic-net paths for every l1_ratio (grids (L, k), decreasing): a list of
        dicts of NumPy arrays (F, T, k, ...) with gaps in data units."""
        L, k = grids.shape
        if self.grouping is not None:
            if self.grouping.joint and not self.model.boxed and not any(l1_ratios):
                return [groups.joint_raw(self._solve_ridge(g)) for g in grids]
            joint = self.grouping.joint  # working sets: groups of one target only
            T = 2 if joint else self.T
            refuse_newton(self.solver, "mgaussian paths" if joint else "feature groups")
            pl = plan(self.solver, k, len(self.idx_P), T, self.gram)
            return groups.solve(self, grids, l1_ratios, self.grouping, pl)
        out = [None] * L
        closed = [r == 0.0 and not self.model.boxed for r in l1_ratios]
        for i in np.flatnonzero(closed):
            out[i] = self._solve_ridge(grids[i])
        iterative = [i for i in range(L) if not closed[i]]
        if not iterative:
            return out
        pl = plan(
            self.solver, k, len(self.idx_P), self.T, self.gram, len(iterative), l1_batch
        )
        active = active_set.wanted(
            self, grids[iterative], [l1_ratios[i] for i in iterative]
        )
        batches = [iterative] if pl.l1_batch or active else [[i] for i in iterative]
        for grp in batches:
            sub = (grids[grp], [l1_ratios[i] for i in grp])
            routes = [self._solve_active, lambda g, r: self._solve_fista(g, r, pl)]
            first, second = routes if active else routes[::-1]
            raw = first(*sub)
            short = np.flatnonzero(~raw["converged"].all(axis=(0, 1, 2)))
            if short.size and (
                self.solver.strategy == "auto" and not self.sparse
                if active
                else active_set.rescues(self, sub[0][:, short], sub[1])
            ):
                # the levels one route left short (the support search at its
                # step cap; FISTA at max_iter: on an accelerator, a wide
                # design's small-alpha end) by the other, its answer kept
                # where its certificate is better
                again = second(sub[0][:, short], sub[1])
                raw = active_set.better(raw, again, short)
            for j, i in enumerate(grp):
                out[i] = {key: val[j] for key, val in raw.items()}
                out[i]["strategy"] = "active_set" if active else pl.strategy
        return out

    def levels(self, grids, l1_ratios):
        """Internal levels alpha/alpha_ref (O(1), safe in float32) and the weights
        scaled by alpha_ref."""
        refs = [self.alpha_max(r) for r in l1_ratios]
        refs = [a if np.isfinite(a) and a > 0 else 1.0 for a in refs]
        ws = [self.enet_weights(r, a) for r, a in zip(l1_ratios, refs, strict=True)]
        levels = np.stack([g / a for g, a in zip(grids, refs, strict=True)])
        stacked = {key: np.stack([w[key] for w in ws]) for key in ("l1", "l2")}
        return levels, stacked, ws[0]["lower"], ws[0]["upper"]

    def _tol_abs(self):
        return self.solver.tol * self.yy_total  # (F, T), scaled units

    def _solve_active(self, grids, l1_ratios):
        """The active-set solver on the host, every member, target and level."""
        levels, w, lower, upper = self.levels(grids, l1_ratios)
        r = active_set.solve_members(
            self.members, levels, w, lower, upper, self._tol_abs(),
            self.solver.max_iter, self.gram, self.start,
        )  # fmt: skip
        return dict(r, gap=self.to_data_units(r["gap"]))

    def _solve_fista(self, grids, l1_ratios, pl):
        dt = self.dtype
        levels, w, lower, upper = self.levels(grids, l1_ratios)
        L, k = levels.shape
        padded = padded_count(k, pl.chunk)
        levels = np.concatenate([levels, np.repeat(levels[:, -1:], padded - k, 1)], 1)
        fixed = (levels == 0) & (not self.model.boxed)
        mem = self.members
        tol = self._tol_abs()
        with compute_context(dt, self.solver.device):
            A = None if self.host and pl.screen else jnp.asarray(mem.A, dt)
            lips = self.lipschitz(A, pl)
            if pl.screen:
                r = self._screened(levels, w, lower, upper, lips, tol, fixed, pl)
            else:
                # the members padded (by copies of the last) to a bucketed count
                grow = member_padding(self.K, self.solver.device, self.bucketed)
                c, yy = (jnp.asarray(grow(a), dt) for a in (mem.c, mem.yy))
                pen = penalties.ElasticNet(
                    jnp.asarray(levels, dt),
                    jnp.asarray(grow(w["l1"], 1), dt),
                    jnp.asarray(grow(w["l2"], 1), dt),
                    jnp.asarray(grow(lower), dt),
                    jnp.asarray(grow(upper), dt),
                )
                r = batch.solve_paths(
                    grow(A),
                    c,
                    yy,
                    pen,
                    grow(lips),
                    jnp.asarray(grow(tol), dt),
                    jnp.int32(self.solver.max_iter),
                    jnp.asarray(fixed),
                    jnp.asarray(grow(self.ls_scale()), dt),
                    jnp.asarray(grow(self._start()), dt),
                    gram=self.gram,
                    check_every=self.solver.check_every,
                    chunk=pl.chunk,
                    unroll=pl.unroll,
                    least_squares=bool(fixed.any()),
                    screen=pl.gap_safe,
                )
                r = jax.tree_util.tree_map(lambda a: np.asarray(a)[:, : self.F], r)
        # the padding levels go (coef (L, F, T, padded, p), the others (..., padded))
        r = r._replace(coef=r.coef[:, :, :, :k], **{
            f: getattr(r, f)[..., :k] for f in ("gap", "n_iter", "converged", "rr")
        })  # fmt: skip
        if self.host:  # refined in float64; float32 iterates' gaps recomputed
            with serial_blas():
                r = self._refine(r, levels[:, :k], w, lower, upper, fixed[:, :k], tol)
        return dict(
            coef=r.coef,
            gap=self.to_data_units(r.gap),
            n_iter=r.n_iter.astype(np.int64),
            converged=np.asarray(r.converged, bool),
            rr=r.rr,
        )

    def _start(self):
        if self.start is None:
            return np.zeros((self.F, self.T, len(self.idx_P)))
        return self.start

    def lipschitz(self, A, pl):
        """Every member's step constant: on the host (nothing to compile) or on
        the device from ``A``."""
        if self.host:
            host_L = [datafits.host_lipschitz(a, self.gram) for a in self.members.A]
            return jax.device_put(np.asarray(host_L, self.dtype))
        return batch.lipschitz(A, gram=self.gram, exact=pl.exact_lipschitz)

    def _refine(self, r, levels, w, lower, upper, fixed, tol):
        """Each path's iterates refined on their supports
        (:func:`jaxreg.solvers.polish.refine_result`); float32 iterates are
        not refined, their gaps recomputed in float64 instead."""
        mem = self.members
        A, c, yy = (np.asarray(a, np.float64) for a in (mem.A, mem.c, mem.yy))
        pP = A.shape[-1]
        # an iteration's flops per level, plus its fixed cost in the loop (a few
        # microseconds, about 1e4 flops), which dominates on small problems
        per_iter = (2 * pP * pP if self.gram else 4 * self.n * pP) + 1e4
        datafit = batch.datafit(self.gram)(A, c, yy)
        pen = penalties.ElasticNet(levels, w["l1"], w["l2"], lower, upper)
        if self.dtype == np.float32:
            return polish.recertify(r, datafit, pen, fixed, tol)
        return polish.refine_result(r, datafit, pen, fixed, tol, per_iter)

    def _screened(self, levels, w, lower, upper, lips, tol, fixed, pl):
        """One l1_ratio, one target, through the working-set driver. Its inputs
        are sliced on the host and copied once (slicing device arrays would
        compile a program for each)."""
        dt = self.dtype

        def dev(a):
            return jax.device_put(np.asarray(a, dt))

        mem = self.members
        c, yy = np.asarray(mem.c), np.asarray(mem.yy)
        dfs = batch.datafit(self.gram)(dev(mem.A), dev(c[..., 0]), dev(yy[:, 0]))
        fixed_coef = np.zeros((self.F, len(self.idx_P)))
        if fixed.any():
            scale = dev(self.ls_scale())
            fixed_coef = np.asarray(
                jax.vmap(lambda d, s: d.least_squares(s))(dfs, scale)
            )
        one = penalties.ElasticNet(
            dev(levels[0]), dev(w["l1"][0]), dev(w["l2"][0]), dev(lower), dev(upper)
        )
        r = working_set.solve_path(
            dfs,
            one,
            levels[0],
            dev(np.asarray(self.q0)[..., 0]),
            fixed_coef,
            fixed[0],
            lipschitz=lips,
            tol_abs=dev(tol[:, 0]),
            max_iter=jax.device_put(np.int32(self.solver.max_iter)),
            chunk=pl.chunk,
            check_every=self.solver.check_every,
            exact=pl.exact_lipschitz,
            newton=pl.strategy == "newton",
        )
        # add the l1_ratio and target axes: (1, F, 1, k, ...)
        return jax.tree_util.tree_map(lambda a: np.asarray(a)[None, :, None], r)

    def ridge_weights(self):
        """The ridge penalty's L2 weights (F, pP) in units where the smallest of the
        all-data member is about 1, and the exponent E of that unit (levels are
        ``alpha·2^E``): the eigenvalues of the isotropic problem are then at most
        about p, whatever the units of X. Exact powers of two: a level beyond
        float64's range is 0 (least squares) or inf (zero coefficients), as it
        should be."""
        r = self._ratio()
        pf = self.model.penalty_factor[self.idx_P] * self.alpha_scale[:, None]
        if not r.size:
            return r, 0
        # log2 of the smallest weight pf·r², without forming r² (it may overflow)
        E = int(np.floor(np.min(np.log2(pf[-1]) + 2 * np.log2(r[-1]))))
        half = -(E // 2)
        rs = np.ldexp(r, half)
        return pf * rs * np.ldexp(rs, -E - 2 * half), E

    def _solve_ridge(self, grid):
        """Closed-form ridge of every member at ``grid``."""
        dt = self.dtype
        l2, E = self.ridge_weights()
        mem = self.members
        levels = np.ldexp(np.asarray(grid, np.float64), E)
        if self.sparse:  # the n × n kernel of every member
            return batch.closed_form_raw(*_sparse_design.ridge_members(mem, l2, levels))
        method = "eigh" if self.gram or self.n >= len(self.idx_P) else "dual"
        with compute_context(dt, self.solver.device):
            coef, rr = batch.ridge_members(
                *(jnp.asarray(a, dt) for a in (mem.A, mem.c, mem.yy, l2, levels)),
                gram=self.gram,
                method=method,
                terms=self.n,
            )
        return batch.closed_form_raw(coef, rr)

    # -- back to the data -----------------------------------------------------------
    def finish(self, coef, inplace=False):
        """Coefficients (F, T, k, p), intercepts (F, T, k) in data units, and the
        held-out MSE and R² (K, T, k) of every fold. ``inplace``: the solver's
        ``coef`` is given up, mapped to data units in place where it can be (the
        path is then held once)."""
        w, b, b_total = stats.unreduce(
            coef, self.members, self.frame, self.idx_P, self.idx_U, inplace=inplace
        )
        mse = r2 = None
        if self.K:
            if callable(self.held):  # sparse rows
                mse, r2 = self.held(w, b)
            elif self.held is not None:
                mse, r2 = sufficient.score_parts(w, b, self.held, w.shape[-1])
            else:
                mse, r2 = stats.score(w, b, self.Xg, self.Yg, self.gtw)
            mse = self.to_data_units(mse)
            # R² of fewer than two samples is undefined (scikit-learn's r2_score:
            # NaN), not the ratio of two rounding errors.
            r2 = np.where(self.test_rows[:, None, None] < 2, np.nan, r2)
        # w is unreduce's own: scaled and clipped in place (a path at a time)
        coefs, intercepts = stats.to_original(w, b_total, self.frame, inplace=True)
        # The box holds in the reduced units; mapped back, a bound can be off by
        # rounding (an ulp): the coefficients are feasible exactly.
        coefs = np.clip(coefs, self.model.lower, self.model.upper, out=coefs)
        return coefs[..., : self.p], intercepts, mse, r2


def member_padding(K, device, small):
    """A function growing an array's member axis (``axis``, of length F = K + 1)
    to :func:`padded_members`'s count by repeating its last member; the identity
    when nothing is padded (and for None)."""
    F = K + 1
    padded = padded_members(F, K, backend_of(device), small)

    def grow(a, axis=0):
        if a is None or padded == F:
            return a
        xp = jnp if isinstance(a, jax.Array) else np
        last = xp.take(a, xp.asarray([F - 1]), axis=axis)
        reps = [1] * a.ndim
        reps[axis] = padded - F
        return xp.concatenate([a, xp.tile(last, reps)], axis=axis)

    return grow
