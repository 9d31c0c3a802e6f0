"""Datafits: the quadratic loss in Gram form and in design form, and the GLM
families' (binomial, Poisson, multinomial; at the end of this module).

The data term of the reduced problem (see :mod:`jaxreg.stats`) is
``F(w) = 1/(2n)·||y - Xw||²``. A datafit is a small NamedTuple of arrays with
one protocol, all the solvers use:

``neg_grad(Z)`` -> (B, p)
    ``q = Xᵀ(y - Xz)/n`` for every row z of ``Z`` (one GEMM).
``residual(W)`` -> ``(q, rr)``
    ``q`` and ``rr = ||y - Xw||²/n``, (B, p) and (B,): what the gap needs.
``fenchel_young(rr, s)`` -> (B,)
    ``F(Xw) + F*(g) - <g, Xw>`` at the dual point ``g = -s·r/n``: the datafit's
    half of the duality gap, ``(1 - s)²·rr/2`` (0 when s = 1).
``lipschitz(exact)``
    An upper bound of the largest eigenvalue of ``XᵀX/n`` (exact when asked and
    cheap); ``lipschitz_bound(exact)`` one cheap enough for every working set.
``restrict(idx, mask)``
    The datafit on the columns ``idx`` (padded columns, ``mask`` False, are 0).
``diag()``
    ``||x_j||²/n`` (p,), for the gap-safe tests (:mod:`jaxreg.solvers.gap_safe`).
``block(rows, cols)``, ``correlation(S, w)``
    ``X_rowsᵀX_cols/n`` and ``X_Sᵀ(y - Xw)/n``, for index arrays on the host: the
    normal equations of a support (:mod:`jaxreg.solvers.polish`).
``value(W)``, ``hessian(W)``
    ``F`` at each row, and its gradient and Hessian (B, p, p), for the proximal
    Newton steps of :mod:`jaxreg.solvers.newton`.
``least_squares(scale)``
    The minimiser of least ``||w / scale||`` (the alpha = 0 solution; ``scale`` is
    the metric of the penalty, so this is the limit of ridge as alpha -> 0).

``QuadraticGram`` keeps ``G = XᵀX/n`` and ``c = Xᵀy/n`` (X is never needed
again: this is what streamed and sharded data provide); ``QuadraticDesign`` keeps
``X`` and ``y``. Their Python types are static, so jit compiles one program per
form.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import xlogy

from jaxreg._config import array_module as _xp
from jaxreg._csr_design import backward, forward
from jaxreg.solvers import closed_form

__all__ = [
    "DATAFITS",
    "LIPSCHITZ_SAFETY",
    "Binomial",
    "Multinomial",
    "Poisson",
    "QuadraticDesign",
    "QuadraticGram",
    "Tasks",
    "dot",
    "host_lipschitz",
]

_HIGHEST = jax.lax.Precision.HIGHEST
# Power iteration approaches the top eigenvalue from below; a step longer than 1/L
# can make FISTA diverge, so its estimate is inflated by this factor.
LIPSCHITZ_SAFETY = 1.05


def dot(a, b):
    """Matrix product at full precision (never TF32 on NVIDIA GPUs); NumPy's for
    two host arrays."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.matmul(a, b)
    return jnp.matmul(a, b, precision=_HIGHEST)


def _fenchel_young(rr, s):
    # The data term enters the gap only through (1 - s)², which vanishes at
    # convergence: the cancellation in a Gram-mode rr barely matters.
    return 0.5 * (1.0 - s) ** 2 * rr


def _power_iteration(matvec, p, dtype):
    # A fixed key makes the start vector, and so the whole solve, deterministic.
    v0 = jax.random.normal(jax.random.PRNGKey(0), (p,), dtype)
    eig, _ = optax.power_iteration(matvec, v0=v0, num_iters=500, error_tolerance=1e-7)
    return eig * LIPSCHITZ_SAFETY


# An exact eigenvalue (LAPACK, cheap to compile) is taken when the matrix to
# factor has at most this many rows: O(size³) at every call. A working set's
# step is computed at every solve: at 256 columns the eigenvalue cost half the
# warm time of a 10000 x 1000 path (0.56 s against 0.42-0.47 s with the
# one-pass Gershgorin bound, for 10960 against 10990 iterations; 2-core CPU).
EXACT_SIZE = 128


def _lipschitz(K, matvec, p, exact):
    """Largest eigenvalue of ``K`` (exact, when asked and ``K`` is small) or of the
    operator ``matvec`` (power iteration, inflated); never 0, since a zero matrix
    (every feature constant) still needs a step."""
    dtype = K.dtype
    if exact and K.shape[0] <= EXACT_SIZE:
        L = jnp.linalg.eigvalsh(K)[-1]
    else:
        L = _power_iteration(matvec, p, dtype)
    return jnp.maximum(L, jnp.finfo(dtype).tiny)


def host_lipschitz(A, gram: bool) -> float:
    """The largest eigenvalue of ``XᵀX/n`` on the host (NumPy/SciPy, nothing to
    compile): LAPACK for small matrices, else Lanczos (ARPACK) to 1e-10, inflated
    by 1e-8 relative; of the smaller of ``XᵀX/n`` and ``XXᵀ/n`` in design form.
    A Gram may be a SciPy ``LinearOperator``."""
    if not hasattr(A, "matvec"):  # else a scipy LinearOperator, of a Gram
        A = np.asarray(A, np.float64)
    if not gram:
        n, p = A.shape
        small = A.T if p <= n else A
        A = small @ small.T / n
    if A.shape[0] <= 64:
        top = float(np.linalg.eigvalsh(A)[-1]) if A.size else 0.0
    else:
        from scipy.sparse.linalg import eigsh

        # A fixed start: ARPACK's default is random, and so would be the solve.
        v0 = np.random.default_rng(0).standard_normal(A.shape[0])
        top = eigsh(A, k=1, which="LA", tol=1e-10, v0=v0, return_eigenvectors=False)
        top = float(top[0])
        top *= 1.0 + 1e-8
    return max(top, float(np.finfo(np.float64).tiny))


class QuadraticGram(NamedTuple):
    """``1/(2n)||y - Xw||²`` through ``G = XᵀX/n`` (p, p), ``c = Xᵀy/n`` (p,) and
    ``yy = ||y||²/n``."""

    G: jax.Array
    c: jax.Array
    yy: jax.Array

    def neg_grad(self, Z):
        return self.c - dot(Z, self.G)  # G is symmetric

    def residual(self, W):
        q = self.neg_grad(W)
        # ||r||²/n = yy - 2wᵀc + wᵀGw = yy - wᵀ(c + q); it cancels in float32, which
        # only the (1 - s)² term and dev_ratio see.
        xp = _xp(q)
        rr = xp.maximum(self.yy - xp.sum(W * (self.c + q), axis=-1), 0.0)
        return q, rr

    fenchel_young = staticmethod(_fenchel_young)

    def diag(self):
        """``G_jj = ||x_j||²/n`` (p,)."""
        return jnp.diagonal(self.G)

    def lipschitz(self, exact: bool):
        return _lipschitz(self.G, lambda v: dot(self.G, v), self.G.shape[0], exact)

    def lipschitz_bound(self, exact: bool):
        """A cheap upper bound for a working set's step: exact for small sets, the
        largest absolute row sum of G (Gershgorin, one pass, tight for
        equicorrelated columns) for wide ones."""
        if exact and self.G.shape[0] <= EXACT_SIZE:
            return self.lipschitz(exact)
        return jnp.max(jnp.sum(jnp.abs(self.G), axis=1))

    def value(self, W):
        return 0.5 * self.residual(W)[1]

    def hessian(self, W):
        """The gradient (B, p) and the Hessian, ``G`` for every row of W (B, p,
        p), for :mod:`jaxreg.solvers.newton` (on a working set: p is its width)."""
        return -self.neg_grad(W), jnp.broadcast_to(self.G, W.shape[:1] + self.G.shape)

    def restrict(self, idx, mask):
        m = mask.astype(self.G.dtype)
        return QuadraticGram(
            self.G[idx][:, idx] * m[:, None] * m, self.c[idx] * m, self.yy
        )

    def block(self, rows, cols):
        return self.G[np.ix_(rows, cols)]

    def correlation(self, S, w):
        B = np.flatnonzero(w)
        return self.c[S] - self.G[np.ix_(S, B)] @ w[B]

    def least_squares(self, scale):
        G = self.G * scale[:, None] * scale[None, :]
        return scale * dot(closed_form.pinv_psd(G, terms=1), scale * self.c)


class QuadraticDesign(NamedTuple):
    """``1/(2n)||y - Xw||²`` through the design ``X`` (n, p), ``y`` (n,) and
    ``yy = ||y||²/n``."""

    X: jax.Array
    y: jax.Array
    yy: jax.Array

    def neg_grad(self, Z):
        R = self.y - dot(Z, self.X.T)
        return dot(R, self.X) / self.X.shape[0]

    def residual(self, W):
        R = self.y - dot(W, self.X.T)
        n = self.X.shape[0]
        return dot(R, self.X) / n, _xp(R).sum(R * R, axis=-1) / n

    fenchel_young = staticmethod(_fenchel_young)

    def diag(self):
        return jnp.sum(self.X * self.X, axis=0) / self.X.shape[0]

    def lipschitz(self, exact: bool):
        n, p = self.X.shape
        small = self.X.T if p <= n else self.X  # the smaller of XᵀX and XXᵀ
        exact = exact and small.shape[0] <= EXACT_SIZE
        K = dot(small, small.T) / n if exact else self.X[:0, :0]
        return _lipschitz(K, lambda v: dot(self.X.T, dot(self.X, v)) / n, p, exact)

    lipschitz_bound = lipschitz

    def value(self, W):
        R = self.y - dot(W, self.X.T)
        return 0.5 * _xp(R).sum(R * R, axis=-1) / self.X.shape[0]

    def hessian(self, W):
        return self.gram().hessian(W)

    def gram(self):
        """The same datafit in Gram form (``XᵀX/n``: for a working set's columns)."""
        n = self.X.shape[0]
        G = dot(self.X.T, self.X) / n
        return QuadraticGram(G, dot(self.y, self.X) / n, self.yy)

    def restrict(self, idx, mask):
        return QuadraticDesign(
            self.X[:, idx] * mask.astype(self.X.dtype), self.y, self.yy
        )

    def block(self, rows, cols):
        return self.X[:, rows].T @ self.X[:, cols] / self.X.shape[0]

    def correlation(self, S, w):
        B = np.flatnonzero(w)
        r = self.y - self.X[:, B] @ w[B]
        return self.X[:, S].T @ r / self.X.shape[0]

    def least_squares(self, scale):
        return scale * jnp.linalg.lstsq(self.X * scale, self.y)[0]


class Tasks(NamedTuple):
    """Several targets fitted jointly (the multi-task and group penalties): the
    coefficients flattened to (B, p·T), coordinate ``j·T + t`` being feature j's
    for target t; ``inner`` is a :class:`QuadraticGram` (``c`` (p, T)) or
    :class:`QuadraticDesign` (``y`` (n, T)), with ``yy`` summed over the targets."""

    inner: QuadraticGram | QuadraticDesign

    def _split(self, W):
        T = self.inner[1].shape[-1]
        return W.reshape(W.shape[0], -1, T)

    def _parts(self, W):
        """``q`` (B, p·T) and the residual R (design: (B, n, T); Gram: None)."""
        W3 = self._split(W)
        if isinstance(self.inner, QuadraticGram):
            q = self.inner.c - dot(self.inner.G, W3)
            return q.reshape(W.shape), None
        X = self.inner.X
        R = self.inner.y - dot(X, W3)
        return (dot(X.T, R) / X.shape[0]).reshape(W.shape), R

    def neg_grad(self, Z):
        return self._parts(Z)[0]

    def residual(self, W):
        q, R = self._parts(W)
        xp = _xp(q)
        if R is None:
            c = self.inner.c.reshape(-1)
            rr = xp.maximum(self.inner.yy - xp.sum(W * (c + q), axis=-1), 0.0)
        else:
            rr = xp.sum(R * R, axis=(-2, -1)) / self.inner.X.shape[0]
        return q, rr

    fenchel_young = staticmethod(_fenchel_young)

    def lipschitz(self, exact: bool):
        return self.inner.lipschitz(exact)


# ---------------------------------------------------------------- GLM families
# The binomial, Poisson and multinomial datafits (glmnet's objective; their
# certificates are described in :mod:`jaxreg.families`, which solves them).


def _orthogonal_factors(u, E):
    """Row factors ``c`` (B, n), the nearest to 1, with ``Eᵀ(c∘u) = 0`` for every
    member: ``c = 1 − u∘(Eλ)``, ``(Eᵀdiag(u²)E)λ = Eᵀu``. Unlike the intercept's
    balancing they may leave [0, 1]; the gap checks the dual means' domain."""
    M = jnp.einsum("bn,nk,nl->bkl", u * u, E, E)
    rhs = dot(u, E)  # (B, k)
    # a column that is 0 on the member's rows holds already: the pseudo-inverse
    lam = jnp.einsum("bkl,bl->bk", jnp.linalg.pinv(M), rhs)
    return 1.0 - u * dot(lam, E.T)


class _GLM(NamedTuple):
    """``(1/n)·Σ s_i(b(η_i) - y_i η_i)`` with ``η = Xw``; the intercept is a column
    of X (``free`` 1 there: its correlation with the dual point is 0 by
    construction)."""

    X: jax.Array  # (n, m), or a CSRDesign (jaxreg._csr_design) of sparse X
    y: jax.Array  # (n,)
    s: jax.Array  # (n,) weights (0 for rows outside the member)
    free: jax.Array  # (m,) 1.0 at the intercept's column
    # (n, k) the columns whose correlation with the dual point must vanish
    # when some feature is unpenalized and unbounded (the intercept's column
    # included); k = 0 otherwise (the intercept alone is balanced directly)
    eq: jax.Array

    def _eta(self, W):
        return forward(self.X, W)

    def neg_grad(self, Z):
        n = self.X.shape[0]
        return backward(self.X, self.s * (self.y - self.mean(self._eta(Z))) / n)

    def value(self, W):
        eta = self._eta(W)
        n = self.X.shape[0]
        return jnp.sum(self.s * (self.cumulant(eta) - self.y * eta), -1) / n

    def value_and_neg_grad(self, Z):
        eta = self._eta(Z)
        n = self.X.shape[0]
        f = jnp.sum(self.s * (self.cumulant(eta) - self.y * eta), -1) / n
        return f, backward(self.X, self.s * (self.y - self.mean(eta)) / n)

    def hessian(self, W):
        """The gradient (B, m) and the Hessian (B, m, m) of the datafit at each
        row of W (Gram form, for :mod:`jaxreg.solvers.newton`)."""
        n = self.X.shape[0]
        eta = self._eta(W)
        g = -backward(self.X, self.s * (self.y - self.mean(eta)) / n)
        v = self.s * self.variance(eta) / n
        H = jnp.einsum("bn,nj,nk->bjk", v, self.X, self.X)
        return g, H

    def member_axes(self):
        """``jax.vmap`` in_axes for members, which share the design and differ
        in their weights ``s`` (:mod:`jaxreg.solvers.working_set`)."""
        return type(self)(None, None, 0, None, None)

    def restrict(self, idx, mask):
        """The datafit on the columns ``idx`` of a dense design (padded columns,
        ``mask`` False, are 0). ``eq`` keeps its columns: the working set holds
        every column it names (they are unpenalized)."""
        m = mask.astype(self.X.dtype)
        return self._replace(X=self.X[:, idx] * m, free=self.free[idx] * m)

    def duality_gap(self, penalty, W):
        """(gap, deviance/n, q) of each row of W: see the module's docstring."""
        n = self.X.shape[0]
        eta = self._eta(W)
        mu = self.mean(eta)
        u = self.s * (self.y - mu) / n
        if self.eq.shape[1]:
            c = _orthogonal_factors(u, self.eq)
        else:
            pos = jnp.sum(jnp.maximum(u, 0.0), -1, keepdims=True)
            neg = jnp.sum(jnp.maximum(-u, 0.0), -1, keepdims=True)
            icpt = jnp.any(self.free > 0)
            c_pos = jnp.where(icpt & (pos > neg), neg / jnp.where(pos > 0, pos, 1), 1)
            c_neg = jnp.where(icpt & (neg > pos), pos / jnp.where(neg > 0, neg, 1), 1)
            c = jnp.where(u > 0, c_pos, c_neg)
        q = backward(self.X, u * c) * (1.0 - self.free)
        t = penalty.dual_scale(q)
        m = self.y + (c * t[:, None]) * (mu - self.y)
        fy_data = jnp.sum(self.s * self.divergence(m, eta), -1) / n
        gap = fy_data + penalty.fenchel_young(W, t[:, None] * q)
        # a dual mean outside the conjugate's domain leaves no certificate
        inside = jnp.all((self.s <= 0) | self.in_domain(m), -1)
        gap = jnp.where(inside, gap, jnp.inf)
        dev = 2.0 * jnp.sum(self.s * self.divergence(self.y, eta), -1) / n
        return gap, dev, q


class Binomial(_GLM):
    """Logistic loss: ``b(η) = log(1 + e^η)``, ``μ = 1/(1 + e^-η)``.

    Its fixed step ``4/λmax(XᵀSX/n)`` beat a backtracking one (measured on a
    4000 × 400 lasso path, tol 1e-6, 2-core CPU: 14.7 s fixed; backtracking from
    that step 41.9 s for the same 35110 iterations, its extra loss evaluation
    per step; letting accepted steps grow by 1.1, 183 s and 149270 iterations).
    """

    line_search = False

    @staticmethod
    def cumulant(eta):
        return jax.nn.softplus(eta)

    @staticmethod
    def mean(eta):
        return jax.nn.sigmoid(eta)

    @staticmethod
    def variance(eta):
        mu = jax.nn.sigmoid(eta)
        return mu * (1.0 - mu)

    @staticmethod
    def in_domain(m):
        return (m >= 0.0) & (m <= 1.0)

    @staticmethod
    def divergence(m, eta):
        """``KL(Bernoulli(m) || Bernoulli(μ(η)))``, with ``log μ = -softplus(-η)``."""
        return (
            xlogy(m, m)
            + xlogy(1.0 - m, 1.0 - m)
            + m * jax.nn.softplus(-eta)
            + (1.0 - m) * jax.nn.softplus(eta)
        )


class Poisson(_GLM):
    """Poisson loss: ``b(η) = e^η = μ``; no global Lipschitz constant."""

    line_search = True

    @staticmethod
    def cumulant(eta):
        return jnp.exp(eta)

    mean = cumulant
    variance = cumulant

    @staticmethod
    def in_domain(m):
        return m >= 0.0

    @staticmethod
    def divergence(m, eta):
        """``m·log(m/μ) - m + μ`` (the Poisson deviance's half)."""
        return xlogy(m, m) - m * eta - m + jnp.exp(eta)


class Multinomial(NamedTuple):
    """Multinomial (softmax) loss over K classes: ``η_i = W x_i`` (K,), loss
    ``logsumexp(η_i) - y_iᵀη_i`` with one-hot ``y_i``. The coefficients of a
    member are flattened class by class: (B, K·m), the intercepts the last of
    each block (``free``). Penalized elementwise (glmnet's "ungrouped" type,
    scikit-learn's multinomial penalty).

    Its dual point scales each row of the generalized residual by one factor
    per class, ``γ_k`` in [0, 1]: ``Σ_i θ_ik = 0`` for every class is then the
    balance ``γ_k·Σ_{l≠k} B_kl = Σ_{l≠k} γ_l·B_lk`` with ``B_lk = Σ_{i in l}
    s_i μ_ik``, solved by the stationary distribution of the rates B (1 at the
    optimum); each row stays between y_i and μ_i, inside the simplex.
    """

    X: jax.Array  # (n, m), or a CSRDesign (jaxreg._csr_design) of sparse X
    y: jax.Array  # (K, n) one-hot
    s: jax.Array  # (n,)
    free: jax.Array  # (K·m,)
    eq: jax.Array  # (n, k): as the binomial's (_GLM.eq)

    line_search = False

    def _eta(self, W):
        K, m = self.y.shape[0], self.X.shape[1]
        return forward(self.X, W.reshape(W.shape[:-1] + (K, m)))  # (B, K, n)

    def _flat(self, G):
        return G.reshape(G.shape[:-2] + (-1,))

    def neg_grad(self, Z):
        n = self.X.shape[0]
        mu = jax.nn.softmax(self._eta(Z), axis=-2)
        return self._flat(backward(self.X, self.s * (self.y - mu) / n))

    def value(self, W):
        eta = self._eta(W)
        n = self.X.shape[0]
        loss = jax.nn.logsumexp(eta, axis=-2) - jnp.sum(self.y * eta, axis=-2)
        return jnp.sum(self.s * loss, -1) / n

    def _divergence(self, M, eta):
        """``KL(M_i || softmax(η_i))`` per row (B, n)."""
        lse = jax.nn.logsumexp(eta, axis=-2)
        return jnp.sum(xlogy(M, M) - M * eta, axis=-2) + lse

    def duality_gap(self, penalty, W):
        n = self.X.shape[0]
        eta = self._eta(W)
        mu = jax.nn.softmax(eta, axis=-2)  # (B, K, n)
        sY = self.s * self.y  # (K, n)
        # B[b, l, k] = Σ_{i in class l} s_i μ_ik: the rates of the balance
        rates = jnp.einsum("ln,bkn->blk", sY, mu, precision=jax.lax.Precision.HIGHEST)
        K = self.y.shape[0]
        eye = jnp.eye(K, dtype=mu.dtype)
        off = rates * (1.0 - eye)
        Q = jnp.swapaxes(off, -1, -2) - eye * jnp.sum(off, axis=-1)[:, None, :]
        gamma = jnp.linalg.solve(Q + 1.0, jnp.ones(Q.shape[:-1], Q.dtype)[..., None])
        gamma = jnp.maximum(gamma[..., 0], 0.0)
        gamma = gamma / jnp.max(gamma, axis=-1, keepdims=True)
        has_icpt = jnp.any(self.free > 0)
        gamma = jnp.where(has_icpt, gamma, 1.0)
        c = jnp.einsum("bk,kn->bn", gamma, self.y)[:, None, :]  # (B, 1, n)
        u = self.s * (self.y - mu) / n
        if self.eq.shape[1]:
            # unpenalized features: one factor per row, nearest to 1, zeroing
            # every class's correlation with them and the intercept (each row
            # scaled whole, so it still sums to 0)
            A = u[:, :, None, :] * self.eq.T[None, None]  # (B, K, k, n)
            A = A.reshape(A.shape[0], -1, n)
            Mx = jnp.einsum("brn,bqn->brq", A, A)
            lam = jnp.einsum("brq,bq->br", jnp.linalg.pinv(Mx), jnp.sum(A, -1))
            c = (1.0 - jnp.einsum("br,brn->bn", lam, A))[:, None, :]
        q = self._flat(backward(self.X, u * c)) * (1.0 - self.free)
        t = penalty.dual_scale(q)
        M = self.y + (c * t[:, None, None]) * (mu - self.y)
        fy_data = jnp.sum(self.s * self._divergence(M, eta), -1) / n
        gap = fy_data + penalty.fenchel_young(W, t[:, None] * q)
        # a dual mean outside the simplex leaves no certificate
        inside = jnp.all((self.s <= 0) | jnp.all(M >= 0.0, axis=-2), -1)
        gap = jnp.where(inside, gap, jnp.inf)
        dev = 2.0 * jnp.sum(self.s * self._divergence(self.y, eta), -1) / n
        return gap, dev, q


DATAFITS = {"binomial": Binomial, "poisson": Poisson, "multinomial": Multinomial}
