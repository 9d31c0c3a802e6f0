"""Penalties: the elastic net with box limits, and the L1 and L2 balls.

Every penalty is a small NamedTuple of arrays, batched over a leading axis of B
*levels* (the penalty strength alpha, or the radius of a ball): one row per member
of a batch, so one call serves a whole chunk of the path. Each implements the same
protocol, which is all the solvers use:

``levels`` / ``with_levels(levels)``
    The batched parameter, and the same penalty at other levels.
``prox(V, step)`` -> (B, p)
    The proximal operator of ``step·h`` at each row of ``V``.
``fenchel_young(W, V)`` -> (B,)
    ``h(w) + h*(v) - <v, w>`` (>= 0, and 0 exactly when ``v`` is a subgradient of
    ``h`` at ``w``): the penalty's half of the duality gap, see
    :func:`jaxreg.solvers.fista.duality_gap`.
``dual_scale(Q)`` -> (B,)
    The largest ``s`` in [0, 1] with ``h*(s·q)`` finite: how far the dual point
    ``s·r/n`` may go.
``restrict(idx, mask)``
    The penalty on the coordinates ``idx`` (padded entries, ``mask`` False, are
    fixed at 0), for working sets.

The elastic net also gives ``alpha_max``, the KKT violations of discarded
coordinates and the strong-rule score, which drive the working sets, and the
gap-safe test (``safe_zero``).

Adding a penalty is one NamedTuple with these methods and its tests (prox against
a brute-force minimisation, ``fenchel_young >= 0`` with equality at a subgradient).
Pure functions of arrays: no host syncs, safe under jit and vmap.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxreg._config import array_module as _xp

__all__ = ["ElasticNet", "GroupElasticNet", "L1Ball", "L2Ball", "soft_threshold"]


def _rounding_level(dtype):
    return float(jnp.finfo(dtype).eps) ** 0.5


def soft_threshold(v: jax.Array, tau: jax.Array) -> jax.Array:
    """``sign(v)·max(|v| - tau, 0)``."""
    xp = _xp(v)
    return xp.sign(v) * xp.maximum(xp.abs(v) - tau, 0.0)


class ElasticNet(NamedTuple):
    """``h(w) = Σ_j alpha·(l1_j·|w_j| + l2_j/2·w_j²)`` with ``lower <= w <= upper``.

    ``alpha`` (B,) are the levels; ``l1``, ``l2`` (p,) the per-coordinate weights
    of one unit of alpha (``l1_ratio``, ``1 - l1_ratio``, the penalty factors and
    the coordinate scaling folded in); ``lower <= 0 <= upper`` (p,).
    """

    alpha: jax.Array
    l1: jax.Array
    l2: jax.Array
    lower: jax.Array
    upper: jax.Array

    @property
    def levels(self):
        return self.alpha

    def with_levels(self, levels):
        return self._replace(alpha=levels)

    def _ab(self):
        lam = self.alpha[:, None]
        return lam * self.l1, lam * self.l2

    def prox(self, V, step):
        # In one dimension the minimiser of a convex function over an interval is
        # the clip of its unconstrained minimiser.
        a, b = self._ab()
        W = soft_threshold(V, step * a) / (1.0 + step * b)
        return _xp(W).clip(W, self.lower, self.upper)

    def value(self, W):
        a, b = self._ab()
        xp = _xp(W)
        return xp.sum(a * xp.abs(W) + 0.5 * b * W * W, axis=-1)

    def _conjugate(self, V, a, b):
        """Elementwise ``h*(v)``; where ``b = 0`` it is ``(v - a)₊·u + (-v - a)₊·(-l)``,
        infinite beyond ``|v| > a`` on an unbounded side, which the dual scale
        rules out (rounding residue there counts as 0)."""
        xp = _xp(V)
        b_safe = xp.where(b > 0, b, 1.0)
        w_star = xp.clip(soft_threshold(V, a) / b_safe, self.lower, self.upper)
        smooth = V * w_star - a * xp.abs(w_star) - 0.5 * b * w_star * w_star
        up = xp.where(xp.isfinite(self.upper), self.upper, 0.0)
        lo = xp.where(xp.isfinite(self.lower), self.lower, 0.0)
        flat = xp.maximum(V - a, 0.0) * up + xp.maximum(-V - a, 0.0) * (-lo)
        return xp.where(b > 0, smooth, flat)

    def fenchel_young(self, W, V):
        a, b = self._ab()
        xp = _xp(W)
        terms = a * xp.abs(W) + 0.5 * b * W * W + self._conjugate(V, a, b) - V * W
        return xp.sum(terms, axis=-1)

    def dual_scale(self, Q):
        """Only coordinates without an L2 part on an unbounded side constrain s:
        there ``s·q_j <= a_j`` (``u_j = +inf``) and ``s·q_j >= -a_j``."""
        a, b = self._ab()
        xp = _xp(Q)
        flat = b <= 0
        # An unpenalized coordinate with one finite limit needs s·q_j of one sign;
        # at its optimum q_j is 0 up to rounding, and rounding of the wrong sign
        # would force s = 0 (no certificate). Residue below sqrt(eps) of the
        # largest |q| is treated as 0, as the conjugate does.
        slack = xp.where(
            a > 0,
            0.0,
            _rounding_level(Q.dtype) * xp.max(xp.abs(Q), axis=-1, keepdims=True),
        )
        up = flat & xp.isinf(self.upper) & (Q > a + slack)
        lo = flat & xp.isinf(self.lower) & (-Q > a + slack)
        bind = up | lo
        ratio = xp.where(bind, a / xp.where(bind, xp.abs(Q), 1.0), 1.0)
        return xp.minimum(1.0, xp.min(ratio, axis=-1, initial=1.0))

    def member_axes(self):
        """``jax.vmap`` in_axes for members (leading axis) that share the levels."""
        return ElasticNet(None, 0, 0, 0, 0)

    def penalized(self):
        """The coordinates with an L1 part (the others never leave a working set)."""
        return self.l1 > 0

    def restrict(self, idx, mask):
        m = mask.astype(self.l1.dtype)
        return ElasticNet(
            self.alpha,
            self.l1[idx] * m,
            self.l2[idx] * m,
            jnp.where(mask, self.lower[idx], 0.0),
            jnp.where(mask, self.upper[idx], 0.0),
        )

    # -- working sets and the grid ------------------------------------------------
    def push(self, q):
        """How hard ``-grad`` pushes each coordinate out of 0, on the sides its box
        leaves open: ``max(q_j·[u_j > 0], -q_j·[l_j < 0])``."""
        xp = _xp(q)
        up, down = xp.where(self.upper > 0, q, 0.0), xp.where(self.lower < 0, -q, 0.0)
        return xp.maximum(up, down)

    def alpha_max(self, q0):
        """Smallest level at which ``w = 0`` is optimal, given ``q0 = Xᵀy/n``
        (``(p,)``; over the coordinates with an L1 weight). NumPy in, NumPy out."""
        xp = _xp(q0)
        penalized = self.l1 > 0
        ratio = self.push(q0) / xp.where(penalized, self.l1, 1.0)
        return xp.max(xp.where(penalized, ratio, 0.0), initial=0.0)

    def strong_score(self, Q):
        """The level above which the sequential strong rule keeps each coordinate:
        it keeps j at ``alpha`` after ``alpha_prev`` when score >= 2·alpha - alpha_prev.
        Unpenalized coordinates score +inf (never discarded)."""
        return jnp.where(
            self.l1 > 0, jnp.abs(Q) / jnp.where(self.l1 > 0, self.l1, 1.0), jnp.inf
        )

    def kkt_violation(self, Q):
        """Coordinates at 0 that are not optimal there: ``q_j`` outside
        ``[-a_j, a_j]`` on a side the box leaves open (with a relative margin for
        rounding). (B, p) bool."""
        a, _ = self._ab()
        margin = 1.0 + 1e-9
        return ((Q > a * margin) & (self.upper > 0)) | (
            (Q < -a * margin) & (self.lower < 0)
        )

    def safe_zero(self, V, radius):
        """Coordinates proven 0 at the optimum (gap-safe screening,
        :mod:`jaxreg.solvers.gap_safe`): ``[v_j - radius_j, v_j + radius_j]``, which
        holds ``x_jᵀθ*``, lies inside the interior of ``∂h_j(0)``: ``(-a_j, a_j)``,
        unbounded on a side the box closes (a relative ``sqrt(eps)`` margin for
        rounding). Never a coordinate without an L1 part. (B, p) bool."""
        a, _ = self._ab()
        inner = a * (1.0 - _rounding_level(V.dtype))
        hi = jnp.where(self.upper > 0, inner, jnp.inf)
        lo = jnp.where(self.lower < 0, -inner, -jnp.inf)
        return (a > 0) & (V + radius < hi) & (V - radius > lo)


def _segment_sum(V, ids, n):
    """Sums over the last axis of ``V`` by segment ``ids`` (p,) into ``n``."""
    if isinstance(V, np.ndarray):
        out = np.zeros((n,) + V.shape[:-1])
        np.add.at(out, ids, np.moveaxis(V, -1, 0))
        return np.moveaxis(out, 0, -1)
    return jnp.moveaxis(jax.ops.segment_sum(jnp.moveaxis(V, -1, 0), ids, n), 0, -1)


# Bisection halvings of the group dual norm's bracket: the feasible end is within
# 2^-64 of the exact value, relative, in any dtype.
BISECTION_STEPS = 64


class GroupElasticNet(NamedTuple):
    """``h(w) = alpha·Σ_g [c_g·||w_g||₂ + Σ_{j∈g} (a_j·|w_j| + b_g/2·w_j²)]``.

    The sparse-group lasso (``a`` and ``c``; Simon, Friedman, Hastie & Tibshirani
    2013) and the multi-task elastic net (``c`` and ``b``, one group per feature
    holding its coefficients for every target; scikit-learn's MultiTaskElasticNet)
    are both this penalty. ``alpha`` (B,) the levels; ``l1`` (p,) the ``a_j`` of one
    unit of alpha; ``gw`` (G,) the ``c_g``; ``l2`` (G,) the ``b_g``; ``ids`` (p,) each
    coordinate's group in ``[0, G)``. The conjugate is exact because ``b`` is one
    number per group: ``h_g*(v) = (||S(v, a)||₂ - c_g)₊² / (2·b_g)`` (the indicator
    of ``||S(v, a)||₂ <= c_g`` when ``b_g = 0``), with ``S`` the soft threshold.
    """

    alpha: jax.Array
    l1: jax.Array
    gw: jax.Array
    l2: jax.Array
    ids: jax.Array

    @property
    def levels(self):
        return self.alpha

    def with_levels(self, levels):
        return self._replace(alpha=levels)

    def member_axes(self):
        return GroupElasticNet(None, 0, 0, 0, None)

    def _norms(self, U):
        return _xp(U).sqrt(_segment_sum(U * U, self.ids, self.gw.shape[-1]))

    def prox(self, V, step):
        # prox of a|.| + c||.|| + b/2||.||² is the group shrinkage of the soft
        # threshold, divided by 1 + step·b
        xp = _xp(V)
        lam = self.alpha[:, None] * step
        U = soft_threshold(V, lam * self.l1)
        nrm = self._norms(U)
        keep = xp.maximum(1.0 - lam * self.gw / xp.where(nrm > 0, nrm, 1.0), 0.0)
        return U * keep[:, self.ids] / (1.0 + lam * self.l2[self.ids])

    def value(self, W):
        xp = _xp(W)
        lam = self.alpha
        l1 = xp.sum(self.l1 * xp.abs(W), axis=-1)
        grp = xp.sum(self.gw * self._norms(W), axis=-1)
        l2 = 0.5 * xp.sum(self.l2[self.ids] * W * W, axis=-1)
        return lam * (l1 + grp + l2)

    def fenchel_young(self, W, V):
        """``h(w) + h*(v) - <v, w>``; ``v`` within the dual ball where ``b_g = 0``
        (see :meth:`dual_scale`; rounding residue beyond it counts as 0)."""
        xp = _xp(W)
        lam = self.alpha[:, None]
        excess = xp.maximum(
            self._norms(soft_threshold(V, lam * self.l1)) - lam * self.gw, 0.0
        )
        b = lam * self.l2
        conj = xp.where(b > 0, excess * excess / (2.0 * xp.where(b > 0, b, 1.0)), 0.0)
        return self.value(W) + xp.sum(conj, axis=-1) - xp.sum(V * W, axis=-1)

    def group_dual_norm(self, Q):
        """Per group, the least ``t >= 0`` with ``||S(q_g, t·a)||₂ <= t·c_g``: ``q`` is
        in the dual ball of ``alpha`` units where ``t <= alpha`` (B, G). Closed form
        ``||q_g||/c_g`` without an L1 part; else bisection, returning the bracket's
        feasible end."""
        xp = _xp(Q)
        G = self.gw.shape[-1]
        big = xp.asarray(xp.inf, Q.dtype)
        by_group = xp.where(
            self.gw > 0, self._norms(Q) / xp.where(self.gw > 0, self.gw, 1.0), big
        )
        ratio = xp.where(
            self.l1 > 0,
            xp.abs(Q) / xp.where(self.l1 > 0, self.l1, 1.0),
            xp.where(Q != 0, big, 0.0),
        )
        by_l1 = xp.full(Q.shape[:-1] + (G,), -big)
        if xp is np:
            np.maximum.at(
                np.moveaxis(by_l1, -1, 0), self.ids, np.moveaxis(ratio, -1, 0)
            )
        else:
            by_l1 = jnp.moveaxis(
                jax.ops.segment_max(jnp.moveaxis(ratio, -1, 0), self.ids, G), 0, -1
            )
        hi = xp.minimum(by_group, xp.maximum(by_l1, 0.0))
        lo = xp.zeros_like(hi)

        def halve(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            ok = (
                self._norms(soft_threshold(Q, mid[..., self.ids] * self.l1))
                <= mid * self.gw
            )
            return xp.where(ok, lo, mid), xp.where(ok, mid, hi)

        if xp is np:
            for _ in range(BISECTION_STEPS if (self.l1 > 0).any() else 0):
                lo, hi = halve(0, (lo, hi))
            return hi
        steps = jnp.where(jnp.any(self.l1 > 0), BISECTION_STEPS, 0)
        return jax.lax.fori_loop(0, steps, halve, (lo, hi))[1]

    def dual_scale(self, Q):
        """Only groups without an L2 part bound s: ``s <= alpha / t_g``."""
        xp = _xp(Q)
        t = self.group_dual_norm(Q)
        t = xp.where(self.l2 > 0, 0.0, t)
        lam = self.alpha
        tmax = xp.max(t, axis=-1, initial=0.0)
        return xp.where(tmax > lam, lam / xp.where(tmax > 0, tmax, 1.0), 1.0)

    def alpha_max(self, q0):
        """Smallest level at which ``w = 0`` is optimal, given ``q0`` (p,)."""
        return float(np.max(self.group_dual_norm(q0[None])[0], initial=0.0))

    # -- working sets ---------------------------------------------------------------
    def penalized(self):
        """The coordinates with a penalty (the others never leave a working set)."""
        return (self.l1 > 0) | (self.gw[..., self.ids] > 0)

    def restrict(self, idx, mask):
        """The penalty on the coordinates ``idx`` (padded ones, ``mask`` False, have
        no data and stay at 0); the groups keep their weights, the coordinates
        left out are fixed at 0."""
        return self._replace(l1=self.l1[idx] * mask.astype(self.l1.dtype),
                             ids=self.ids[idx])  # fmt: skip

    def strong_score(self, Q):
        """Each coordinate's group dual norm ``t_g`` (the group strong rule of
        Tibshirani et al. 2012: keep g at alpha after alpha_prev when
        ``t_g >= 2·alpha - alpha_prev``)."""
        return self.group_dual_norm(Q)[..., self.ids]

    def kkt_violation(self, Q):
        """Coordinates of groups whose dual norm exceeds the level: a zero group
        that should enter, or a zero coordinate of an active group that should
        (then ``||S(q_g, alpha·a)|| > alpha·c_g``); with a margin for rounding."""
        return self.strong_score(Q) > self.alpha[:, None] * (1.0 + 1e-9)


def _dual_norm(Q, norm):
    if norm == "l1":
        return jnp.max(jnp.abs(Q), axis=-1)
    return jnp.sqrt(jnp.sum(Q * Q, axis=-1))


class _Ball(NamedTuple):
    radius: jax.Array  # (B,)

    @property
    def levels(self):
        return self.radius

    def with_levels(self, levels):
        return self._replace(radius=levels)

    def prox(self, V, step):
        """Euclidean projection of each row onto the ball of its own radius (optax;
        the ball of radius 0 is the origin, handled here since optax divides by it)."""
        proj = (
            optax.projections.projection_l1_ball
            if self.norm == "l1"
            else optax.projections.projection_l2_ball
        )
        positive = self.radius > 0
        W = jax.vmap(proj)(V, jnp.where(positive, self.radius, 1.0))
        return jnp.where(positive[:, None], W, 0.0)

    def fenchel_young(self, W, V):
        """``t·||v||_* - <v, w>`` for a feasible w: the Frank–Wolfe gap (rounding
        residue below 0 is clipped)."""
        fy = self.radius * _dual_norm(V, self.norm) - jnp.sum(V * W, axis=-1)
        return jnp.maximum(fy, 0.0)

    def dual_scale(self, Q):
        return jnp.ones(Q.shape[:-1], Q.dtype)

    def multiplier(self, W, Q):
        """The penalty whose solution is w: ``||q||∞`` (L1, the lasso alpha), or
        ``||q||₂/||w||₂`` (L2, the ridge alpha of ``1/(2n)||r||² + alpha/2·||w||²``)."""
        nq = _dual_norm(Q, self.norm)
        if self.norm == "l1":
            return nq
        nw = jnp.sqrt(jnp.sum(W * W, axis=-1))
        # w = 0 with q != 0 is the ridge solution only in the limit alpha -> inf.
        ratio = nq / jnp.where(nw > 0, nw, 1.0)
        return jnp.where(nq > 0, jnp.where(nw > 0, ratio, jnp.inf), 0.0)

    def size(self, w):
        """The ball's norm of a coefficient vector."""
        if self.norm == "l1":
            return jnp.sum(jnp.abs(w), axis=-1)
        return jnp.sqrt(jnp.sum(w * w, axis=-1))


class L1Ball(_Ball):
    """The indicator of ``||w||₁ <= radius`` (Tibshirani's constrained lasso)."""

    norm = "l1"


class L2Ball(_Ball):
    """The indicator of ``||w||₂ <= radius`` (ridge as a constraint)."""

    norm = "l2"
