"""Gap-safe screening with extrapolated dual points, for the batched FISTA loop
(``screen="gapsafe"``, the quadratic datafit and the elastic net).

At every gap check of :func:`jaxreg.solvers.fista.fista_batch`, each member:

1. builds a second dual point from the last ``K + 1`` checks (celer's dual
   extrapolation): with ``d_i = w_i - w_{i-1}`` and ``Xᵀ(r_{i-1} - r_i)/n =
   q_{i-1} - q_i``, the Gram of the residual differences is ``U_ijᵀ/n = d_iᵀ(q_{j-1} -
   q_j)``, read off the stored iterates without touching X; ``z = (UᵀU)⁻¹1``,
   ``c = z/Σz`` and ``w_e = Σ c_i w_i``. Its residual ``r_e = y - X w_e`` is then
   computed exactly (one product), so the point ``θ_e = s·r_e/n`` is feasible
   and its gap valid whatever ``c`` is (a singular system only gives a poor
   point). The member's certificate is the smaller of the two gaps.
2. applies the gap-safe sphere test (Fercoq, Gramfort & Salmon 2015; Ndiaye et
   al. 2017) with that certificate: the dual of ``1/(2n)||y - Xw||² + h(w)`` is
   n-strongly concave, so ``||θ - θ*|| <= sqrt(2·gap/n)`` and ``|x_jᵀθ* -
   x_jᵀθ| <= sqrt(2·gap·G_jj)`` (``G_jj = ||x_j||²/n``). A coordinate whose
   ``x_jᵀθ`` stays, with that radius, inside the interior of ``∂h_j(0)`` is 0 at
   the optimum (:meth:`jaxreg.penalties.ElasticNet.safe_zero`): it is fixed at
   0 for the rest of the member's solve.

The radius carries a rounding margin (``64·eps·max(yy, rr)`` on the gap) and
the interval a relative one (``sqrt(eps)``), against the usual rounding of the
gap and of ``q`` (not a derived bound). A coordinate screened wrongly could not
make a certificate lie: the gap is always the full problem's, over every
coordinate; the level would stall at a larger gap and be flagged. The tests
take no flops from the dense products (the coordinates are masked, not
removed); see
``benchmarks/results/cpu-gapsafe`` for what they change.

A level certified by the extrapolated point reports that point's gap, as celer
does: a true bound on its suboptimality, which the plain residual's gap
(:func:`jaxreg.reference.duality_gap`) may exceed many times over. In float32
only the plain point is used: on the CPU float32 iterates are certified again
in float64 from the plain residual (:func:`jaxreg.solvers.polish.recertify`),
which a float32 extrapolated gap did not survive.

References
----------
Fercoq, Gramfort & Salmon (2015), Mind the duality gap: safer rules for the
lasso. ICML.
Ndiaye, Fercoq, Gramfort & Salmon (2017), Gap safe screening rules for sparsity
enforcing penalties. JMLR 18.
Massias, Gramfort & Salmon (2018), Celer: a fast solver for the lasso with dual
extrapolation. ICML.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["K", "Rings", "check", "init"]

# Checks combined by the extrapolation (celer's default).
K = 5


class Rings(NamedTuple):
    """The iterates of the last K + 1 checks and their correlations Xᵀr/n,
    (B, K + 1, p) each: check t is in slot t mod (K + 1), written in place."""

    W: jax.Array
    Q: jax.Array
    checks: jax.Array  # () int32 checks so far


def init(coef0) -> Rings | None:
    """Empty rings; None in float32, where only the plain point is used."""
    if coef0.dtype != jnp.float64:
        return None
    B, p = coef0.shape
    buf = jnp.zeros((B, K + 1, p), coef0.dtype)
    return Rings(buf, buf, jnp.zeros((), jnp.int32))


def _extrapolated(datafit, penalty, Wb, Qb, newest, rr):
    """The gap at the newest iterate (slot ``newest`` of the rings) of the
    extrapolated dual point, that point's ``Xᵀθ_e`` (B, p) and ``w_e`` (its
    residual is ``y - X w_e``)."""
    # d_j = w_j - w_(j-1) and q_(j-1) - q_j = G d_j, slot by slot; the oldest
    # slot's difference wraps around and is left out (its weight is 0)
    D = Wb - jnp.roll(Wb, 1, axis=1)
    dQ = jnp.roll(Qb, 1, axis=1) - Qb
    valid = jnp.arange(K + 1) != (newest + 1) % (K + 1)
    M = jnp.einsum("bip,bjp->bij", D, dQ)
    M = 0.5 * (M + jnp.swapaxes(M, 1, 2))
    both = valid[:, None] & valid[None, :]
    M = jnp.where(both, M, jnp.eye(K + 1, dtype=M.dtype))
    rhs = jnp.broadcast_to(valid.astype(M.dtype), M.shape[:2])
    z = jnp.linalg.solve(M, rhs[..., None])[..., 0]
    c = z / jnp.sum(z, axis=-1, keepdims=True)
    ok = jnp.all(jnp.isfinite(c), axis=-1)
    last = jnp.arange(K + 1) == newest
    c = jnp.where(ok[:, None], c, last.astype(c.dtype))
    w_e = jnp.einsum("bi,bip->bp", c, Wb)
    q_e, _ = datafit.residual(w_e)
    w, q = Wb[:, newest], Qb[:, newest]
    delta = w - w_e  # r_e = r + X·delta
    s = penalty.dual_scale(q_e)
    # ||r - s·r_e||²/n = (1-s)²·rr - 2s(1-s)·qᵀdelta + s²·deltaᵀG·delta
    quad = jnp.maximum(jnp.sum(delta * (q_e - q), axis=-1), 0.0)
    data = 0.5 * ((1 - s) ** 2 * rr - 2 * s * (1 - s) * jnp.sum(q * delta, -1))
    data = jnp.maximum(data + 0.5 * s * s * quad, 0.0)
    V = s[:, None] * q_e
    gap = data + penalty.fenchel_young(w, V)
    return jnp.where(ok & jnp.isfinite(gap), gap, jnp.inf), V, w_e


def check(datafit, penalty, mask, rings: Rings, W, gap, rr, q, diag):
    """One check at the iterates ``W`` (their plain gap, ``rr`` and ``q``): the
    certificate (the smaller of the plain gap and the extrapolated one, (B,)),
    the coordinates proven 0 (``mask`` (B, p) grown) and the rings (``diag``:
    ``G_jj``, (p,)). Without rings (float32) the plain gap alone (see the
    module's notes)."""
    V = _plain(penalty, q)
    if rings is None:
        return gap, _tested(datafit, penalty, mask, gap, rr, V, diag), rings
    slot = rings.checks % (K + 1)
    Wb = jax.lax.dynamic_update_index_in_dim(rings.W, W, slot, 1)
    Qb = jax.lax.dynamic_update_index_in_dim(rings.Q, q, slot, 1)

    # computed at the first K checks too, unused there: skipping it by a
    # lax.cond cost more on the CPU than it saved (1000 x 100 path: 0.114 s
    # against 0.099 s)
    gap_e, V_e, _ = _extrapolated(datafit, penalty, Wb, Qb, slot, rr)
    use = (rings.checks >= K) & (gap_e < gap)
    best = jnp.where(use, gap_e, gap)
    V = jnp.where(use[:, None], V_e, V)
    mask = _tested(datafit, penalty, mask, best, rr, V, diag)
    return best, mask, Rings(Wb, Qb, rings.checks + 1)


def _plain(penalty, q):
    """``Xᵀθ`` of the plain dual point ``θ = s·r/n``."""
    return penalty.dual_scale(q)[:, None] * q


def _tested(datafit, penalty, mask, gap, rr, V, diag):
    """``mask`` grown by the sphere test of the dual point ``V = Xᵀθ`` whose gap
    is ``gap``."""
    eps = jnp.finfo(V.dtype).eps
    margin = 64 * eps * jnp.maximum(datafit.yy, rr)
    bound = jnp.where(jnp.isfinite(gap), jnp.maximum(gap, 0.0) + margin, jnp.inf)
    radius = jnp.sqrt(2.0 * bound[:, None] * diag)
    return mask | penalty.safe_zero(V, radius)
