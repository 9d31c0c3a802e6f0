"""Sufficient statistics on JAX devices: sharded arrays and device accumulation.

A ``jax.Array`` sharded over rows (a ``NamedSharding`` whose first axis is
split over mesh axes) is reduced where it lives: every device forms the moments
of its rows about a common shift, and ``psum``/``pmin``/``pmax`` over the row
axes (``shard_map``) combine them. After ``jax.distributed.initialize`` the
mesh spans processes and hosts, and every process receives the same
statistics. Host chunks can be accumulated on a device too (an accelerator's
GEMM), padded to one row count with zero-weight rows so that nothing
recompiles.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

from jaxreg._config import compute_context
from jaxreg._progress import Progress
from jaxreg.folds import kfold_bounds
from jaxreg.sources import _check_p, first_shift
from jaxreg.sufficient import from_parts

__all__ = ["from_chunks", "sufficient_stats"]

_HIGHEST = jax.lax.Precision.HIGHEST


def _moments(Z, w, codes, shift, K, reduce=None):
    """Per-fold moments of the rows: codes in 0..K-1 (-1: padding, no row)."""
    D = Z.astype(jnp.float64) - shift
    Zf = Z.astype(jnp.float64)
    outs = []
    for k in range(K):
        mine = codes == k
        wk = jnp.where(mine, w, 0.0)
        pos = wk > 0
        outs.append(
            (
                wk.sum(),
                jnp.matmul(wk, D, precision=_HIGHEST),
                jnp.matmul((D * wk[:, None]).T, D, precision=_HIGHEST),
                jnp.min(jnp.where(pos[:, None], Zf, jnp.inf), axis=0),
                jnp.max(jnp.where(pos[:, None], Zf, -jnp.inf), axis=0),
                mine.sum(dtype=jnp.int32).astype(jnp.float64),
                pos.sum(dtype=jnp.int32).astype(jnp.float64),
            )
        )
    out = [jnp.stack(a) for a in zip(*outs, strict=True)]
    if reduce is not None:
        axes = reduce
        out = [
            jax.lax.pmin(a, axes) if i == 3 else jax.lax.pmax(a, axes) if i == 4
            else jax.lax.psum(a, axes)
            for i, a in enumerate(out)
        ]  # fmt: skip
    return out


def _first_moment(Z, w, reduce=None):
    """Σ w·z, Σ w, and the number of weights that are negative or not finite."""
    s, t = jnp.matmul(w, Z.astype(jnp.float64), precision=_HIGHEST), w.sum()
    bad = jnp.sum(~(jnp.isfinite(w) & (w >= 0)), dtype=jnp.int32)
    if reduce is not None:
        s, t, bad = (jax.lax.psum(a, reduce) for a in (s, t, bad))
    return s, t, bad


def _row_axes(sharding, ndim):
    spec = tuple(sharding.spec) + (None,) * (ndim - len(sharding.spec))
    if ndim == 2 and spec[1] is not None:
        raise ValueError(
            "X is sharded over its columns (features): sufficient statistics need a "
            "sharding over rows only, e.g. NamedSharding(mesh, P('rows', None))."
        )
    return spec[0]


def _per_row(name, a, n, sharding, dtype):
    """A per-row input as a device array with X's row sharding."""
    if isinstance(a, jax.Array):
        if a.shape[0] != n:
            raise ValueError(f"{name} must have {n} rows, got shape {a.shape}.")
        if jax.process_count() == 1:  # onto X's devices, split like its rows
            return jax.device_put(a.astype(dtype), sharding)
        return a.astype(dtype)  # a global array: the program reshards it
    if jax.process_count() > 1:
        raise ValueError(
            f"with several processes give {name} as a jax.Array sharded like X "
            "(each process holds its own rows)."
        )
    a = np.asarray(a)
    if a.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows, got shape {a.shape}.")
    return jax.device_put(a.astype(dtype), sharding)


def sufficient_stats(X, y, *, sample_weight=None, folds=None):
    """Statistics of a ``jax.Array`` X (and y), reduced on its devices."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    if y is None:
        raise ValueError("give y (a jax.Array sharded like X, or an array).")
    n, p = X.shape
    _check_p(p)
    sh = X.sharding
    if isinstance(sh, SingleDeviceSharding):
        device = next(iter(sh.device_set))
        mesh = jax.sharding.Mesh(np.array([device]), ("rows",))
        sh = NamedSharding(mesh, P("rows", None))
        X = jax.device_put(X, sh)
    elif not isinstance(sh, NamedSharding):
        raise ValueError(
            f"X has a {type(sh).__name__}; give it a NamedSharding over rows."
        )
    axes = _row_axes(sh, 2)
    row_sh = NamedSharding(sh.mesh, P(axes))
    with compute_context(np.float64):
        Y = _per_row(
            "y",
            y,
            n,
            NamedSharding(sh.mesh, P(axes, None)) if np.ndim(y) == 2 else row_sh,
            jnp.float64,
        )
        Y = Y.reshape(n, -1) if Y.ndim == 1 else Y
        w = (
            _ones(n, row_sh)
            if sample_weight is None
            else _per_row("sample_weight", sample_weight, n, row_sh, jnp.float64)
        )
        codes, labels = _codes(folds, n, row_sh)
        K = max(len(labels), 1) if labels is not None else 1
        out, shift = _reduce_sharded(X, Y, w, codes, sh.mesh, axes, K)
    return from_parts(shift, out, n_features=p, folds=labels)


def _ones(n, sharding):
    return jax.jit(lambda: jnp.ones(n, jnp.float64), out_shardings=sharding)()


def _codes(folds, n, sharding):
    """Fold codes 0..K-1 per row as a device array sharded like the rows, and
    the labels (None without folds)."""
    if folds is None:
        return jax.jit(lambda: jnp.zeros(n, jnp.int32), out_shardings=sharding)(), None
    if isinstance(folds, (int, np.integer)) and not isinstance(folds, bool):
        K = int(folds)
        if not 2 <= K <= n:
            raise ValueError(f"folds must be an int in [2, n_samples={n}], got {K}.")
        bounds = jnp.asarray(kfold_bounds(K, n), jnp.int32)
        fn = jax.jit(
            lambda b: jnp.searchsorted(b, jnp.arange(n, dtype=jnp.int32), side="right"),
            out_shardings=sharding,
        )
        return fn(bounds).astype(jnp.int32), list(range(K))
    if isinstance(folds, jax.Array):
        from jax.experimental import multihost_utils

        labels = np.unique(np.asarray(multihost_utils.process_allgather(folds)))
    else:
        folds = np.asarray(folds)
        labels = np.unique(folds)
    if labels.size < 2:
        raise ValueError("folds must hold at least 2 distinct fold ids.")
    lab = jnp.asarray(labels)
    if isinstance(folds, jax.Array):
        codes = jax.jit(
            lambda f: jnp.searchsorted(lab, f).astype(jnp.int32), out_shardings=sharding
        )(folds)
    else:
        codes = jax.device_put(
            np.searchsorted(labels, folds).astype(np.int32), sharding
        )
    return codes, [v.item() for v in labels]


def _reduce_sharded(X, Y, w, codes, mesh, axes, K):
    row2, row1 = P(axes, None), P(axes)
    reduce = axes if axes is not None else None

    def first(Xl, Yl, wl):
        Z = jnp.concatenate([Xl.astype(jnp.float64), Yl], axis=1)
        return _first_moment(Z, wl, reduce)

    def second(Xl, Yl, wl, cl, shift):
        Z = jnp.concatenate([Xl.astype(jnp.float64), Yl], axis=1)
        return _moments(Z, wl, cl, shift, K, reduce)

    if reduce is None:  # replicated rows: every device holds them all
        s, t, bad = jax.jit(lambda a, b, c: first(a, b, c))(X, Y, w)
    else:
        s, t, bad = jax.jit(
            jax.shard_map(first, mesh=mesh, in_specs=(row2, row2, row1), out_specs=P())
        )(X, Y, w)
    if int(_local(bad)):
        raise ValueError("sample_weight must be finite and non-negative.")
    s, t = _local(s), _local(t)
    shift = np.where(t > 0, s / np.where(t > 0, t, 1.0), 0.0)
    shift_d = jnp.asarray(shift)
    if reduce is None:
        out = jax.jit(second)(X, Y, w, codes, shift_d)
    else:
        out = jax.jit(
            jax.shard_map(
                second,
                mesh=mesh,
                in_specs=(row2, row2, row1, row1, P()),
                out_specs=P(),
            )
        )(X, Y, w, codes, shift_d)
    return [_local(a) for a in out], shift


def _local(a):
    """A replicated array's value on this process (its first local copy)."""
    return np.asarray(a.addressable_data(0))


@functools.partial(jax.jit, static_argnames=("K",), donate_argnums=(0,))
def _step(acc, Z, w, codes, shift, *, K):
    new = _moments(Z, w, codes, shift, K)
    return [
        jnp.minimum(a, b) if i == 3 else jnp.maximum(a, b) if i == 4 else a + b
        for i, (a, b) in enumerate(zip(acc, new, strict=True))
    ]  # fmt: skip


def from_chunks(chunks, q, p, labels, total, m, *, perm=None, show=None,
                feature_names=None, target_names=None, device=None):  # fmt: skip
    """Host chunks ``(Z, w, folds)`` accumulated on a device (its GEMM), each
    padded to ``m`` rows with zero-weight rows (one compiled step)."""
    dev = None
    if device in ("gpu",):
        dev = jax.devices("gpu")[0]
    K = len(labels) if labels is not None else 1
    lab = None if labels is None else np.asarray(labels)
    acc = shift = None
    with (
        compute_context(np.float64, dev),
        Progress(total, "sufficient statistics", enabled=show, unit="rows") as bar,
    ):
        for Z, w, f in chunks:
            rows = Z.shape[0]
            wz = np.ones(rows) if w is None else np.asarray(w, np.float64)
            codes = (
                np.zeros(rows, np.int32)
                if lab is None
                else np.searchsorted(lab, f).astype(np.int32)
            )
            if shift is None:
                shift = first_shift(Z, wz)
                shift_d = jnp.asarray(shift)
                acc = [jnp.zeros(K), jnp.zeros((K, q)), jnp.zeros((K, q, q)),
                       jnp.full((K, q), jnp.inf), jnp.full((K, q), -jnp.inf),
                       jnp.zeros(K), jnp.zeros(K)]  # fmt: skip
            pad = m - rows
            if pad:
                Z = np.concatenate([np.asarray(Z, np.float64), np.zeros((pad, q))])
                wz = np.concatenate([wz, np.zeros(pad)])
                codes = np.concatenate([codes, np.full(pad, -1, np.int32)])
            acc = _step(
                acc,
                # a copy: the reader reuses its buffers, the step is async
                jax.device_put(np.array(Z, np.float64)),
                jnp.asarray(wz),
                jnp.asarray(codes),
                shift_d,
                K=K,
            )
            bar.update(rows)
    if acc is None:
        raise ValueError("the data have no rows.")
    return from_parts(
        shift,
        [np.asarray(a) for a in acc],
        n_features=p,
        folds=labels,
        perm=perm,
        feature_names=feature_names,
        target_names=target_names,
    )
