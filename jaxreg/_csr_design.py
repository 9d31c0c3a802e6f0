"""A sparse design on the device, never densified: the GLM datafits' ``X``.

The GLM families solve in coordinates where each feature is centred (with an
intercept) and scaled to unit weighted norm, with the intercept a column of
ones (:class:`jaxreg.families.GLMProblem`). For a sparse X that design is

    Z = [(X − 1·meanᵀ)·diag(1/d), 1]

held as X's non-zeros (already divided by ``d``), the shift ``mean/d`` and
whether the column of ones is there: the centring is implicit, ``Z·w =
X·(w/d) − (meanᵀ(w/d))·1 + b``, and the products cost the non-zeros.

The datafits take ``Z`` through :func:`forward` (``W·Zᵀ``) and :func:`backward`
(``U·Z``), which dispatch on the design: a dense array or :class:`CSRDesign`.
The non-zeros are kept twice, sorted by row and by column, so both products
are sorted segment sums. Each product holds a temporary of the batch's size
times the non-zeros.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["CSRDesign", "backward", "forward"]

_HIGHEST = jax.lax.Precision.HIGHEST


@jax.tree_util.register_pytree_node_class
class CSRDesign:
    """``Z`` (n, p + intercept) from X's non-zeros (see the module's docstring)."""

    def __init__(self, by_row, by_col, shift, n, p, intercept):
        self.by_row = by_row  # (rows, cols, values) sorted by row
        self.by_col = by_col  # the same sorted by column
        self.shift = shift  # (p,) mean / d (0 without centring)
        self.n, self.p, self.intercept = n, p, intercept

    @classmethod
    def build(cls, X, mean, d, intercept, dtype):
        """From a scipy.sparse X (n, p), its column means and scales (host)."""
        coo = X.tocoo()
        vals = coo.data / d[coo.col]
        dt, it = np.dtype(dtype), np.int32

        def sorted_by(first, second):
            order = np.lexsort((second, first))
            return (
                jnp.asarray(coo.row[order], it),
                jnp.asarray(coo.col[order], it),
                jnp.asarray(vals[order], dt),
            )

        shift = jnp.asarray(np.broadcast_to(mean / d, (X.shape[1],)), dt)
        return cls(
            sorted_by(coo.row, coo.col),
            sorted_by(coo.col, coo.row),
            shift,
            X.shape[0],
            X.shape[1],
            bool(intercept),
        )

    @property
    def shape(self):
        return (self.n, self.p + int(self.intercept))

    @property
    def dtype(self):
        return self.shift.dtype

    def tree_flatten(self):
        return (self.by_row, self.by_col, self.shift), (self.n, self.p, self.intercept)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(*leaves, *aux)

    def forward(self, W):
        """``W·Zᵀ``: (..., p + intercept) to (..., n)."""
        rows, cols, vals = self.by_row
        w = W[..., : self.p]
        terms = jnp.moveaxis(w[..., cols] * vals, -1, 0)
        out = jax.ops.segment_sum(terms, rows, self.n, indices_are_sorted=True)
        out = jnp.moveaxis(out, 0, -1)
        offset = -jnp.matmul(w, self.shift, precision=_HIGHEST)
        if self.intercept:
            offset = offset + W[..., self.p]
        return out + offset[..., None]

    def backward(self, U):
        """``U·Z``: (..., n) to (..., p + intercept)."""
        rows, cols, vals = self.by_col
        terms = jnp.moveaxis(U[..., rows] * vals, -1, 0)
        out = jax.ops.segment_sum(terms, cols, self.p, indices_are_sorted=True)
        total = jnp.sum(U, axis=-1, keepdims=True)
        out = jnp.moveaxis(out, 0, -1) - total * self.shift
        if self.intercept:
            out = jnp.concatenate([out, total], axis=-1)
        return out


def forward(X, W):
    """``W·Xᵀ`` for a dense design or a :class:`CSRDesign`, at full precision."""
    if isinstance(X, CSRDesign):
        return X.forward(W)
    return jnp.matmul(W, X.T, precision=_HIGHEST)


def backward(X, U):
    """``U·X`` for a dense design or a :class:`CSRDesign`, at full precision."""
    if isinstance(X, CSRDesign):
        return X.backward(U)
    return jnp.matmul(U, X, precision=_HIGHEST)
