"""GLM families: the binomial and Poisson datafits, and the route that solves them.

Objective, for every alpha of the grid (glmnet's)::

    (1/n)·Σ_i s_i·(b(η_i) - y_i·η_i) + alpha·(l1_ratio·Σ_j p_j|w_j|
                                            + (1 - l1_ratio)/2·Σ_j p_j w_j²)

with ``η = Xw + b``, sample weights ``s`` rescaled to sum to n, and the
cumulant ``b`` of the family: ``log(1 + e^η)`` (binomial, logit link, y in
[0, 1]) or ``e^η`` (Poisson, log link, y >= 0). The intercept is unpenalized and
refit at every alpha (it is a coordinate of the solver, not recovered by
centring).

A sparse X is never densified: :class:`jaxreg._sparse_glm.SparseGLMProblem`
keeps it as an implicit operator over its non-zeros (:mod:`jaxreg._csr_design`),
solved by the same loop.

The datafits (in :mod:`jaxreg.datafits`) follow its protocol (``neg_grad``,
``value``, ``duality_gap``, and ``hessian`` for the binomial and the Poisson), so
the batched solvers solve them, every alpha of a chunk at once: proximal Newton
(:mod:`jaxreg.solvers.newton`) on narrow designs; on wider ones that are not
tall, level by level on working sets, each by proximal Newton steps
(:mod:`jaxreg._glm_working`); else (tall designs, the multinomial,
``screen='none'`` or a FISTA strategy) the FISTA loop of
:mod:`jaxreg.solvers.fista`, where the Poisson datafit, without a global
Lipschitz constant, asks for a backtracking step.

The certificate
---------------
The dual point is built from the generalized residual ``u_i = s_i(y_i - μ_i)/n``:

1. with an intercept, ``Σ u_i`` must be 0 (the intercept is unpenalized); the
   larger of the positive and the negative parts of u is scaled down to the
   other's size (each ``u_i`` multiplied by ``c_i`` in [0, 1]);
2. the penalty's dual scale ``t`` in [0, 1] makes ``Xᵀθ`` feasible, ``θ = t·c·u``.

Every ``θ_i`` is then ``s_i(y_i - m_i)/n`` with ``m_i = y_i + t c_i(μ_i - y_i)``
between ``y_i`` and ``μ_i``: inside the conjugate's domain. The gap is the sum of
two Fenchel–Young terms, both >= 0: the datafit's, ``(1/n)·Σ s_i·D(m_i, μ_i)``
with ``D`` the Bregman divergence of ``b`` (the Kullback–Leibler divergence of
Bernoulli or Poisson means), and the penalty's, as for the squared loss.

Convergence: ``gap <= tol · D_null/n``, where ``D_null = Σ s_i·d(y_i, μ_null)``
is the weighted null deviance (the intercept-only fit, or ``η = 0`` without an
intercept) and ``d`` the unit deviance. For the gaussian family this is exactly
the path's rule ``tol·||y - ȳ||²/n``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import (
    _glm_working,
    _memory,
    _plan,
    _shapes,
    datafits,
    engine,
    penalties,
    results,
)
from jaxreg._config import compute_context
from jaxreg._family_host import (  # noqa: F401  (re-exported)
    FAMILIES,
    LEAST_SQUARES,
    SCORINGS,
    _np_mean,
    check_family,
    check_scoring,
    check_y,
    intercepts_at,
    measure,
    null_fit,
    unit_deviance,
)
from jaxreg.datafits import (  # noqa: F401  (re-exported)
    DATAFITS,
    Binomial,
    Multinomial,
    Poisson,
)
from jaxreg.solvers import fista
from jaxreg.solvers import newton as _newton

__all__ = [
    "FAMILIES",
    "Binomial",
    "GLMProblem",
    "Multinomial",
    "Poisson",
    "check_family",
]


# On the CPU a design that outgrows the caches makes every FISTA step memory-bound:
# more levels per batch are then almost free, and one batch of every level beats
# warm-started chunks. Measured (2-core CPU, binomial lasso, 100 alphas, tol 1e-4):
# at 10000 x 1000 (80 MB) chunks of 8 took 130 s, of 32 96 s, one batch 71 s; at
# 569 x 30 (breast cancer, 0.1 MB) chunks of 8 0.09 s, one batch 0.20 s.
PARALLEL_BYTES = 16 * 2**20
# Proximal Newton (an n·m² Hessian per step, a few steps per alpha) against
# FISTA (2·n·m per step, thousands of steps at the ill-conditioned end); measured
# on the 2-core CPU, binomial lasso, 100 alphas, tol 1e-6 (warm calls):
# breast_cancer (m = 31) path 1.74 -> 0.135 s, 5-fold CV 10.9 -> 0.66 s; the
# equicorrelated design of benchmarks/bench_glm.py at m = 101 (1000 x 100) path
# 0.65 -> 0.39 s, CV 2.49 s both; m = 201 path 3.0 -> 3.5 s, CV 11.0 -> 14.7 s;
# m = 401 14.2 -> 15.7 s; m = 1001 87 -> 250 s.
NEWTON_MAX_COLUMNS = 128


# --------------------------------------------------------------------------- #
# The problem: members (the data and its CV folds) of one family
# --------------------------------------------------------------------------- #
class GLMProblem:
    """The data of one GLM family, its members (all data, plus one per fold) and
    their solutions: the methods of :class:`jaxreg.engine.Problem` that the path
    and CV shells use.

    X is dense (n, p) here (sparse in :mod:`jaxreg._sparse_glm`); its columns
    are centred (with an intercept) and scaled to unit weighted norm once, for
    all members: an exact reparametrization
    ``v_j = w_j·d_j``, the penalty's weights carry the scale (and, with
    ``standardize``, each member's own standard deviations).
    """

    def __init__(self, X, y, model, solver, family, *, folds=None, scoring=None,
                 alpha_units="mean"):  # fmt: skip
        self.family = family
        self.scoring = check_scoring(family, scoring)
        self.solver, self.model = solver, model
        self.dtype = np.dtype(solver.dtype)
        self.mode, self.sparse = "design", not isinstance(X, np.ndarray)
        self.p_out = X.shape[1]  # the caller's features (see _shapes.pad)
        train = folds[0] if folds is not None else np.zeros((0, X.shape[0]))
        test = folds[1] if folds is not None else np.zeros((0, X.shape[0]))
        Y = np.asarray(y, np.float64)  # (n,) or (n, K) one-hot
        Y = Y[:, None] if Y.ndim == 1 else Y
        X, Y, model, train, self.test = _shapes.pad(X, Y, model, train, test)
        self.model = model
        n, p = X.shape
        self.n, self.p = n, p
        self.bucketed = n * p <= _shapes.PAD_MAX_ENTRIES
        self.y = Y if family == "multinomial" else Y[:, 0]
        self.C = self.y.shape[1] if family == "multinomial" else 1
        self.K = train.shape[0]
        self.F = self.K + 1
        sw = model.sample_weight
        self.test_weight = (sw[None, :] * self.test).sum(axis=1)
        tw = np.concatenate([sw[None, :] * train, sw[None, :]])  # (F, n)
        self.s = tw * (n / tw.sum(axis=1, keepdims=True))
        # alpha_units="sum" (scikit-learn's C): member f solves at alpha divided
        # by its total raw training weight
        raw = tw.sum(axis=1) * (model.raw_weight_total / n)
        self.alpha_scale = 1.0 / raw if alpha_units == "sum" else np.ones(self.F)
        self.free_feat = model.penalty_factor == 0
        mean, scale = self._spread(X, sw)
        scale = np.where(scale > 0, scale, 1.0)
        self.x_mean, self.d = mean * np.ones(p), scale
        self.m = p + int(model.fit_intercept)
        self._hold(X)
        if model.standardize:
            sd = np.stack([self._spread(X, s)[1] for s in self.s])
            self.rho = np.where(sd > 0, sd, 1.0) / scale  # (F, p)
        else:
            self.rho = np.broadcast_to(1.0 / scale, (self.F, p))
        self._null()

    # -- the design: dense here, sparse in jaxreg._sparse_glm -----------------------
    def _spread(self, X, w):
        """The weighted means (0 without an intercept) and standard deviations
        about them of X's columns."""
        mean = np.average(X, axis=0, weights=w) if self.model.fit_intercept else 0.0
        return mean, np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))

    def _hold(self, X):
        """Keep the solver's design ``Z = [(X − 1·meanᵀ)/d, 1]``."""
        self.Xs = (X - self.x_mean) / self.d
        icpt = np.ones((self.n, self.m - self.p))
        self.Z = np.concatenate([self.Xs, icpt], axis=1)

    def _columns(self, idx):
        """Columns ``idx`` of Z, dense (n, len(idx))."""
        return self.Z[:, idx]

    def _xs_t(self, R):
        """``Xsᵀ·R`` (p, C) for R (n, C), Xs the features' columns of Z."""
        return self.Xs.T @ R

    def _xs_times(self, V):
        """``Xs·V`` (n, C) for V (p, C)."""
        return self.Xs @ V

    def _gram_top(self, w):
        """The largest eigenvalue of ``Zᵀdiag(w)Z/n``."""
        return datafits.host_lipschitz(self.Z * np.sqrt(w)[:, None], gram=False)

    def _device_design(self, dt):
        return jnp.asarray(self.Z, dt)

    def _raw_rows(self, rows, w):
        """``X[rows]·wᵀ`` in data units: (..., r) for w (..., p)."""
        X = self.Xs[rows] * self.d + self.x_mean
        return np.einsum("...p,np->...n", w, X)

    def _null(self):
        """Each member's null fit (free features and intercept), its deviance and
        the correlations of its residual."""
        free = np.flatnonzero(self.free_feat)
        C, m, p = self.C, self.m, self.p
        self.W0 = np.zeros((self.F, C, m))
        self.yy_total = np.zeros((self.F, 1))
        self.q0 = np.zeros((self.F, C, p))
        for f in range(self.F):
            self._check_member(f)
            icpt = self.model.fit_intercept
            beta, eta = null_fit(self.family, self._columns(free), self.y, self.s[f],
                                 icpt)  # fmt: skip
            beta = beta.reshape(C, -1)
            self.W0[f][:, free] = beta[:, : free.size]
            if self.model.fit_intercept:
                self.W0[f, :, -1] = beta[:, -1]
            mu = _np_mean(self.family, eta)
            dev = unit_deviance(self.family, self.y, mu)
            self.yy_total[f, 0] = np.sum(self.s[f] * dev) / self.n
            R = (self.y - mu).reshape(self.n, C)
            self.q0[f] = (self._xs_t(self.s[f][:, None] * R) / self.n).T
        self.W0 = self.W0.reshape(self.F, C * m)
        if not np.isfinite(self.yy_total).all():
            raise ValueError(
                f"the null model of family={self.family!r} does not exist for these "
                "data (a weighted mean of y at 0 or 1): every fit is degenerate."
            )

    def _check_member(self, f):
        """A member whose (weighted) y makes the intercept infinite has no
        solution: every class must be present (with an intercept), or some
        y > 0 (Poisson)."""
        s = self.s[f]
        where = f"cv fold {f}'s training samples" if f < self.K else "the data"
        if self.family == "poisson":
            if not np.sum(s * self.y) > 0:
                raise ValueError(
                    f"family='poisson': every y of {where} (with a positive weight) "
                    "is 0; the intercept would be -inf."
                )
            return
        if not self.model.fit_intercept:
            return
        Y = self.y if self.y.ndim == 2 else np.stack([1 - self.y, self.y], axis=1)
        mass = s @ Y
        if not (mass > 0).all():
            missing = int(np.argmin(mass > 0))
            raise ValueError(
                f"family={self.family!r}: class {missing} has no sample of positive "
                f"weight in {where}, so its intercept would be infinite. Use folds "
                "that hold every class (e.g. sklearn's StratifiedKFold, or shuffled "
                "fold ids)."
            )

    # -- the shell's interface ------------------------------------------------------
    def to_data_units(self, value, power=2):
        return np.asarray(value, np.float64)

    def column_scale(self):
        if not self.model.standardize:
            return None
        return (self.rho[-1] * self.d)[: self.p_out]

    def weights(self, l1_ratio):
        """The elastic net's weights per unit of alpha in the solver's coordinates
        (F, C·m): the intercepts' columns unpenalized and unbounded."""
        m = self.model
        pf = m.penalty_factor * self.alpha_scale[:, None]
        l1 = l1_ratio * pf * self.rho
        l2 = (1.0 - l1_ratio) * pf * self.rho**2
        lower = np.where(m.lower == 0, 0.0, m.lower * self.d)
        upper = np.where(m.upper == 0, 0.0, m.upper * self.d)
        F, extra = self.F, self.m - self.p

        def pad(a, fill):
            a = np.broadcast_to(a, (F, self.p))
            block = np.concatenate([a, np.full((F, extra), fill)], axis=1)
            return np.tile(block, (1, self.C))

        return pad(l1, 0.0), pad(l2, 0.0), pad(lower, -np.inf), pad(upper, np.inf)

    def _penalized(self):
        """(C·m,) True at the coefficients of features (not intercepts)."""
        one = np.r_[np.ones(self.p, bool), np.zeros(self.m - self.p, bool)]
        return np.tile(one, self.C)

    def alpha_max(self, l1_ratio) -> float:
        l1, _, lower, upper = self.weights(max(l1_ratio, engine.RIDGE_L1_RATIO))
        keep = self._penalized()
        pen = penalties.ElasticNet(
            None, l1[-1, keep], None, lower[-1, keep], upper[-1, keep]
        )
        return float(pen.alpha_max(self.q0[-1].reshape(-1)))

    def start_from(self, coef):
        """Every member's start (F, C·m) with the features' coefficients at
        ``coef`` ((p,) or (C, p), data units; scikit-learn's ``coef_init``) and the
        intercepts refit to them (without an intercept: the null fit's)."""
        C, m, p, q = self.C, self.m, self.p, self.p_out
        c = np.asarray(coef, np.float64)
        if c.size != C * q or not np.isfinite(c).all():
            want = f"({q},)" if C == 1 else f"({C}, {q})"
            raise ValueError(f"coef_init must be finite, of shape {want}; got "
                             f"{c.shape}.")  # fmt: skip
        c = c.reshape(C, q)
        W = self.W0.reshape(self.F, C, m).copy()
        before = W[:, :, :q] / self.d[:q]  # the null fit's (free features)
        W[:, :, :q] = c * self.d[:q]
        W[:, :, q:p] = 0.0
        if self.model.fit_intercept:
            W[:, :, -1] += (c - before) @ self.x_mean[:q]
            y = self.y.reshape(self.n, C)
            for f in range(self.F):  # the intercepts refit at these coefficients
                off = self._xs_times(W[f, :, :-1].T)
                W[f, :, -1] = intercepts_at(self.family, off, y, self.s[f], W[f, :, -1])
        return W.reshape(self.F, C * m)

    def _lipschitz(self):
        """Per member: ``λmax(ZᵀSZ)/n`` times the curvature bound of the family
        (1/4 binomial, 1/2 multinomial, Böhning's); the Poisson's start is the
        same at the null fit's means (backtracking corrects it)."""
        out = []
        for f in range(self.F):
            w = self.s[f]
            if self.family == "poisson":
                eta = self._xs_times(self.W0[f, : self.p, None])[:, 0]
                w = w * np.exp(eta + (self.W0[f, -1] if self.m > self.p else 0.0))
            L = self._gram_top(w)
            out.append(L * {"binomial": 0.25, "multinomial": 0.5}.get(self.family, 1))
        return np.asarray(out)

    @property
    def newton(self):
        """Proximal Newton steps (:mod:`jaxreg.solvers.newton`) for the binomial
        and the Poisson on narrow designs, where an ``n·m²`` Hessian per step is
        cheap, or where ``strategy='newton'`` asks; FISTA otherwise (and for the
        multinomial, which refuses ``strategy='newton'``)."""
        if self.family == "multinomial":
            _plan.refuse_newton(self.solver, "the multinomial family")
            return False
        narrow = self.m <= NEWTON_MAX_COLUMNS
        return narrow or self.solver.strategy == "newton"

    def _working_columns(self, df, dt):
        """None: a dense datafit restricts itself (see :mod:`jaxreg._sparse_glm`)."""
        return None

    def _newton_fits(self, batch, width=None):
        """A clear error where the Newton steps' Hessians (one m × m matrix per
        member and level of a batch of ``batch`` levels, four copies while a step
        runs; ``width`` × ``width`` on working sets) would not fit in memory."""
        m = self.m if width is None else width
        need = 4 * (self.K + 1) * batch * m**2 * np.dtype(self.dtype).itemsize
        ok, free = _memory.fits(need, self.solver.device)
        if not ok:
            raise _memory.InsufficientMemoryError(
                f"Newton's steps hold an m x m Hessian per level (m={m} "
                f"columns): about {need / 2**30:.1f} GiB, but only "
                f"{free / 2**30:.1f} GiB is free. Use strategy='hybrid' with "
                "screen='none' (FISTA needs no Hessian) or fewer features."
            )

    def datafit(self, dt):
        dev = jnp.asarray
        free = np.tile(np.r_[np.zeros(self.p), np.ones(self.m - self.p)], self.C)
        y = self.y.T if self.family == "multinomial" else self.y
        cls = DATAFITS[self.family]
        # unpenalized, unbounded features: their correlation with the dual point
        # is made 0 with the intercept's (see _orthogonal_factors)
        open_ = self.free_feat & np.isinf(self.model.lower)
        open_ &= np.isinf(self.model.upper)
        cols = np.r_[np.flatnonzero(open_), np.arange(self.p, self.m)]
        eq = self._columns(cols) if open_.any() else np.zeros((self.n, 0))
        return cls(self._device_design(dt), dev(y, dt), dev(self.s, dt),
                   dev(free, dt), dev(eq, dt))  # fmt: skip

    def _batching(self, k):
        """The batching of a path of k levels (:func:`jaxreg.engine.plan`)."""
        solver = self.solver
        if solver.strategy == "auto" and self.Z.nbytes > PARALLEL_BYTES:
            solver = dataclasses.replace(solver, strategy="parallel")
        if solver.strategy == "newton":  # asked for: no working sets here
            solver = dataclasses.replace(solver, strategy="auto")
        return engine.plan(solver, k, self.p, 1, False)

    def solve_enet(self, grids, l1_ratios, l1_batch=None):
        """Every member's path for each l1_ratio: a list of dicts of arrays
        (F, 1, k, ...), coefficients in the solver's coordinates. Working sets
        where there is an L1 part (:func:`jaxreg._glm_working.wanted`), else
        every column."""
        lips, tol = self._lipschitz(), self.solver.tol * self.yy_total[:, 0]
        return [
            _glm_working.solve(self, g, r, lips, tol)
            if _glm_working.wanted(self) and r > 0
            else self._solve_all(g, r, lips, tol, self.W0)
            for g, r in zip(grids, l1_ratios, strict=True)
        ]

    def _solve_all(self, g, r, lips, tol, start):
        """One l1_ratio's levels for every member on all the columns, from
        ``start`` (F, C·m)."""
        k = len(g)
        pl = self._batching(k)
        if self.newton:
            self._newton_fits(pl.chunk)
        padded = engine.padded_count(k, pl.chunk)
        # the members padded (copies of the last) as the engine's are
        grow = engine.member_padding(self.K, self.solver.device, self.bucketed)
        lips, tol = grow(lips), grow(tol)
        dt = self.dtype
        levels = np.concatenate([g, np.repeat(g[-1:], padded - k)])
        l1, l2, lower, upper = (grow(a) for a in self.weights(r))
        with compute_context(dt, self.solver.device):
            dev = jnp.asarray
            pen = penalties.ElasticNet(
                dev(levels, dt), dev(l1, dt), dev(l2, dt), dev(lower, dt),
                dev(upper, dt),
            )  # fmt: skip
            df = self.datafit(dt)
            res = _solve_members(
                df._replace(s=grow(df.s)), pen, dev(lips, dt), dev(tol, dt),
                jnp.int32(self.solver.max_iter), dev(grow(start), dt),
                check_every=self.solver.check_every, chunk=pl.chunk,
                unroll=pl.unroll, newton=self.newton,
            )  # fmt: skip
            res = jax.tree_util.tree_map(lambda a: np.asarray(a)[: self.F], res)
        return self._raw(res, k, "newton" if self.newton else pl.strategy)

    @staticmethod
    def _raw(res, k, strategy):
        """A solver's result (F, k', ...) as the shell takes it (F, 1, k, ...)."""
        return dict(
            coef=res.coef[:, None, :k],
            gap=res.gap[:, None, :k].astype(np.float64),
            n_iter=res.n_iter[:, None, :k].astype(np.int64),
            converged=res.converged[:, None, :k].astype(bool),
            rr=res.rr[:, None, :k].astype(np.float64),
            strategy=strategy,
        )

    def finish(self, coef, inplace=False):
        """Coefficients (F, 1, k, p) and intercepts (F, 1, k) in data units
        (multinomial: (F, 1, k, C, p) and (F, 1, k, C)), and each fold's held-out
        measure (K, 1, k) (``self.scoring``; None without folds). ``inplace``
        as :meth:`jaxreg.engine.Problem.finish` takes it; the coefficients are a
        new array here (``coef`` holds the intercept beside them)."""
        w, b = self._to_data(coef)
        scores = None
        if self.K:
            held = [self.held_out(w[f, 0], b[f, 0], f) for f in range(self.K)]
            scores = np.stack(held)[:, None]
        return w[..., : self.p_out], b, scores, None

    def _to_data(self, coef):
        coef = np.asarray(coef, np.float64)
        coef = coef.reshape(coef.shape[:-1] + (self.C, self.m))
        w = coef[..., : self.p] / self.d
        if self.model.fit_intercept:
            b = coef[..., -1] - w @ self.x_mean
        else:
            b = np.zeros(coef.shape[:-1])
        w = np.clip(w, self.model.lower, self.model.upper, out=w)  # w is ours
        if self.family != "multinomial":
            w, b = w[..., 0, :], b[..., 0]
        return w, b

    def held_out(self, w, b, f):
        """Fold f's held-out measure at every alpha (k,): coefficients (k, p) or
        (k, C, p), intercepts (k,) or (k, C)."""
        tw = self.model.sample_weight * self.test[f]
        rows = np.flatnonzero(tw > 0)
        tw = tw[rows]
        eta = self._raw_rows(rows, w) + b[..., None]  # (k, [C,] r)
        if self.family == "multinomial":
            mu = _np_mean("multinomial", np.swapaxes(eta, -1, -2))  # (k, r, C)
        else:
            mu = _np_mean(self.family, eta)  # (k, r)
        y = self.y[rows]
        return measure(self.family, self.scoring, y, mu, tw)


def problem(X, *args, **kwargs) -> GLMProblem:
    """The :class:`GLMProblem` of X, dense or sparse (never densified: see
    :mod:`jaxreg._sparse_glm`)."""
    if not isinstance(X, np.ndarray):
        from jaxreg._sparse_glm import SparseGLMProblem

        return SparseGLMProblem(X, *args, **kwargs)
    return GLMProblem(X, *args, **kwargs)


@functools.partial(
    jax.jit, static_argnames=("check_every", "chunk", "unroll", "newton")
)
def _solve_members(
    df, pen, lips, tol, max_iter, W0, *, check_every, chunk, unroll, newton
):
    """fista.solve_path for every member (vmapped over the weights ``s``, the
    penalty's weights, the step and the tolerance), warm-started at each
    member's null fit; ``newton``: proximal Newton steps instead of FISTA's."""
    batch = _newton.newton_batch if newton else None

    def one(s, l1, l2, lower, upper, L, t, w0):
        d = df._replace(s=s)
        p = penalties.ElasticNet(pen.alpha, l1, l2, lower, upper)
        fixed = jnp.zeros(pen.alpha.shape, bool)
        return fista.solve_path(
            d, p, L, t, max_iter, w0, fixed,
            check_every=check_every, chunk=chunk, unroll=unroll, start=w0,
            batch=batch,
        )  # fmt: skip

    return jax.vmap(one)(df.s, pen.l1, pen.l2, pen.lower, pen.upper, lips, tol, W0)


def path_result(problem, grid, raw, coefs, intercepts, l1_ratio, amax):
    """The all-data member as a PathResult (gaps in objective units); for the
    multinomial, coefs (k, C, p) and intercepts (k, C)."""
    yy = problem.yy_total[-1]
    w, b = coefs[-1], intercepts[-1]  # (1, k, p), (1, k) or (1, k, C, p), (1, k, C)
    multinomial = problem.family == "multinomial"
    res = results.path_result(
        grid,
        w[..., 0, :0] if multinomial else w,
        b[..., 0] if multinomial else b,
        raw["gap"][-1],
        raw["n_iter"][-1],
        raw["converged"][-1],
        raw["rr"][-1],
        yy,
        problem.solver.tol * yy,
        multi=False,
        l1_ratio=l1_ratio,
        alpha_max=amax,
        tol=problem.solver.tol,
        mode="design",
        strategy=raw["strategy"],
        dtype=str(problem.dtype),
        x_scale=problem.column_scale(),
        family=problem.family,
    )
    if not multinomial:
        return res
    finite = np.isfinite(w[0]).all(axis=(1, 2)) & np.isfinite(b[0]).all(axis=1)
    return dataclasses.replace(
        res,
        coefs=w[0].astype(res.coefs.dtype),
        intercepts=b[0].astype(res.coefs.dtype),
        df=(w[0] != 0).any(axis=1).sum(axis=1).astype(np.int64),
        converged=res.converged & finite,
    )
