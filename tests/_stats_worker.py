"""Run by tests/test_sufficient.py in fresh processes (device count and
jax.distributed are fixed at JAX's start): prints the statistics as JSON."""

import json
import os
import sys

import numpy as np


def data():
    rng = np.random.default_rng(7)
    n, p = 403, 6  # not a multiple of the devices: uneven shards are padded
    X = rng.normal(size=(n, p)) * [1, 2, 3, 1, 1, 1] + [1e4, 0, -5, 0, 3, 0]
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    w = rng.uniform(0.0, 2.0, n)
    return X, y, w


def emit(st, **extra):
    out = extra | {
        k: np.asarray(getattr(st, k)).tolist()
        for k in ("shift", "S0", "Sz", "Szz", "zmin", "zmax", "count", "npos")
    }
    out["folds"] = st.folds
    print("STATS" + json.dumps(out), flush=True)


def main(kind):
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxreg

    X, y, w = data()
    if kind in ("auto", "explicit"):
        # 8 forced host devices; 400 rows of the 403 so the shards are even
        X, y, w = X[:400], y[:400], w[:400]
        axis_type = (
            jax.sharding.AxisType.Auto
            if kind == "auto"
            else jax.sharding.AxisType.Explicit
        )
        mesh = jax.make_mesh((8,), ("rows",), axis_types=(axis_type,))
        Xs = jax.device_put(X, NamedSharding(mesh, P("rows", None)))
        ys = jax.device_put(y, NamedSharding(mesh, P("rows")))
        emit(jaxreg.sufficient_stats(Xs, ys, sample_weight=w, folds=4))
        return
    # two processes: each holds its own half of the rows
    pid = int(os.environ["JAXREG_PID"])
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{os.environ['JAXREG_PORT']}",
        num_processes=2,
        process_id=pid,
    )
    X, y, w = X[:400], y[:400], w[:400]
    mesh = jax.make_mesh(
        (jax.device_count(),), ("rows",), axis_types=(jax.sharding.AxisType.Auto,)
    )
    half = slice(0, 200) if pid == 0 else slice(200, 400)
    rows2, rows1 = NamedSharding(mesh, P("rows", None)), NamedSharding(mesh, P("rows"))
    Xs = jax.make_array_from_process_local_data(rows2, X[half])
    ys = jax.make_array_from_process_local_data(rows1, y[half])
    ws = jax.make_array_from_process_local_data(rows1, w[half])
    try:  # a path of an array across processes: a clear error, not a crash
        jaxreg.lasso_path(Xs, np.asarray(y), alphas=3)
        refused = ""
    except ValueError as exc:
        refused = str(exc)
    emit(jaxreg.sufficient_stats(Xs, ys, sample_weight=ws, folds=4), refused=refused)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
