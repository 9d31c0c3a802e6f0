"""The GLM families on a sparse X (scipy.sparse or JAX BCOO), never densified.

:class:`SparseGLMProblem` is :class:`jaxreg.families.GLMProblem` with the design
kept as X's non-zeros: the solver's centred, scaled columns are the implicit
operator of :class:`jaxreg._csr_design.CSRDesign`, and every host product
(the null fits' correlations, the step's eigenvalue, the held-out predictions)
is a sparse product with the centring applied to the result. Only the columns
that must be dense are made so: the unpenalized features (for the null fit and
the dual point), a handful, and the working sets' columns for Newton's steps
(within ``DENSE_BYTES``).

The moments of the columns are taken about the origin (``E[x²] − x̄²``), as for
sparse least squares (:mod:`jaxreg.sparse`); a column whose variance is within
the rounding of that difference is constant. On all the columns the steps are
FISTA's (proximal Newton would form an ``m × m`` Hessian); on working sets,
Newton's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxreg import _plan, datafits, engine, families, sparse
from jaxreg._config import backend_of
from jaxreg._csr_design import CSRDesign

__all__ = ["SparseGLMProblem"]

# The temporaries of one sparse product (members × levels × non-zeros) are kept
# under this many bytes by batching fewer levels. Measured (2-core CPU, binomial
# lasso, 20 alphas, tol 1e-6, 20,000 × 200,000 CSR with 4e6 non-zeros, warm
# calls): every level in one batch 23.8 s and 1.06 GB peak resident memory,
# warm-started chunks of 8 levels 21.9 s and 0.86 GB.
BATCH_BYTES = 256 * 2**20
# A working set (jaxreg.solvers.working_set) is solved by Newton's steps on its
# columns made dense while they take at most this many bytes; the rest of the
# path beyond, by FISTA on all the columns.
DENSE_BYTES = 256 * 2**20


class SparseGLMProblem(families.GLMProblem):
    """A GLM family's members over one sparse X (CSR, float64)."""

    def __init__(self, X, *args, **kwargs):
        super().__init__(sparse.to_scipy(X), *args, **kwargs)

    def _spread(self, X, w):
        total = np.sum(w)
        if self.model.fit_intercept:
            mean = (X.T @ w) / total
        else:
            mean = np.zeros(X.shape[1])
        second = (X.multiply(X).T @ w) / total
        var = second - mean * mean
        # E[x²] − x̄² of a constant column is rounding, up to about n·eps of
        # E[x²]: 0 there (a spread of 1e-8 would scale the column up 1e8-fold)
        constant = var <= 4.0 * X.shape[0] * np.finfo(np.float64).eps * second
        return mean, np.sqrt(np.where(constant, 0.0, var))

    def _hold(self, X):
        self.X = X.tocsr()

    def _columns(self, idx):
        idx = np.asarray(idx, np.int64)
        out = np.ones((self.n, idx.size))
        feat = idx < self.p
        j = idx[feat]
        if j.size:
            dense = self.X[:, j].toarray()  # unpenalized features: a few
            out[:, feat] = (dense - self.x_mean[j]) / self.d[j]
        return out

    def _xs_t(self, R):
        R = np.asarray(R, np.float64)
        return (self.X.T @ R - np.outer(self.x_mean, R.sum(axis=0))) / self.d[:, None]

    def _xs_times(self, V):
        U = np.asarray(V, np.float64) / self.d[:, None]
        return self.X @ U - self.x_mean @ U

    def _gram_top(self, w):
        from scipy.sparse.linalg import LinearOperator

        root = np.sqrt(w)
        icpt = self.m > self.p

        def mv(v):
            v = np.asarray(v, np.float64).reshape(-1)
            z = self._xs_times(v[: self.p, None])[:, 0]
            z = root * (z + (v[-1] if icpt else 0.0))
            out = self._xs_t((root * z)[:, None])[:, 0]
            if icpt:
                out = np.r_[out, np.sum(root * z)]
            return out / self.n

        gram = LinearOperator((self.m, self.m), matvec=mv, dtype=np.float64)
        if self.m <= 64:  # small: the dense Gram from m products
            gram = gram @ np.eye(self.m)
        return datafits.host_lipschitz(gram, gram=True)

    def _device_design(self, dt):
        """The device's design, built once (every l1_ratio solves on it)."""
        built = getattr(self, "_built", None)
        if built is None or built.dtype != np.dtype(dt):
            built = CSRDesign.build(self.X, self.x_mean, self.d, self.m > self.p, dt)
            self._built = built
        return built

    def _raw_rows(self, rows, w):
        w = np.asarray(w, np.float64)
        flat = w.reshape(-1, self.p)
        out = (self.X[rows] @ flat.T).T
        return out.reshape(w.shape[:-1] + (rows.size,))

    def _batching(self, k):
        """The plan's own batching (warm-started chunks on the CPU), in batches
        whose products' temporaries (members × levels × non-zeros) stay within
        ``BATCH_BYTES``."""
        _plan.refuse_newton(self.solver, "a GLM family on a sparse X")
        pl = engine.plan(self.solver, k, self.p, 1, False)
        backend = backend_of(self.solver.device)
        members = _plan.padded_members(self.F, self.K, backend, self.bucketed)
        per_level = members * max(self.X.nnz, 1) * np.dtype(self.dtype).itemsize
        cap = max(1, BATCH_BYTES // per_level)
        if pl.chunk <= cap:
            return pl
        solver = dataclasses.replace(self.solver, strategy="hybrid", chunk=int(cap))
        return engine.plan(solver, k, self.p, 1, False)

    @property
    def newton(self):
        return False

    def _working_columns(self, df, dt):
        """The datafit ``df`` on a working set's columns S of Z, padded to W and
        made dense for Newton's steps (:func:`jaxreg.solvers.working_set.solve_path`'s
        ``columns``); None past ``DENSE_BYTES``."""
        import jax

        def columns(S, W):
            if self.n * W * np.dtype(dt).itemsize > DENSE_BYTES:
                return None
            Z = np.zeros((self.n, W))
            Z[:, : S.size] = self._columns(S)
            free = np.zeros(W)
            free[: S.size] = S >= self.p
            return df._replace(
                X=jax.device_put(Z.astype(dt)), free=jax.device_put(free.astype(dt))
            )

        return columns
