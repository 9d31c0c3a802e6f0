"""Run by tests/test_sharded_columns.py in a fresh process with 8 forced host
devices (the device count is fixed at JAX's start): a jax.Array sharded over its
features, solved on its mesh and as a NumPy array; prints the results as JSON."""

import json

import numpy as np


def data(n=48, p=256, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.5 * rng.normal(size=(n, 1))  # correlated
    X[:, 3] *= 100.0  # one column on another scale
    beta = np.zeros(p)
    beta[[0, 3, 17, 100, 200]] = [2.0, 0.01, -1.5, 1.0, 0.5]
    y = X @ beta + 0.3 * rng.normal(size=n) + 4.0
    return X, y, rng.uniform(0.5, 2.0, n)


def _record(res):
    return {
        k: np.asarray(getattr(res, k)).tolist()
        for k in ("alphas", "coefs", "intercepts", "gaps", "converged")
    } | {"mode": res.mode, "strategy": res.strategy, "gap_tol": float(res.gap_tol)}


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxreg
    from jaxreg import batch

    seen = []
    solve = batch.solve_paths

    def spy(A, *args, **kw):  # where the solver's design lives
        seen.append(str(A.sharding.spec) if hasattr(A.sharding, "spec") else "one")
        return solve(A, *args, **kw)

    batch.solve_paths = spy
    X, y, w = data()
    out = {}
    # jax.make_mesh's default (Explicit axes) and Auto axes: the same answers
    for axis in (AxisType.Auto, AxisType.Explicit):
        mesh = jax.make_mesh((8,), ("features",), axis_types=(axis,))
        Xs = jax.device_put(X, NamedSharding(mesh, P(None, "features")))
        kw = dict(l1_ratio=1.0, sample_weight=w, alphas=10, eps=1e-2, tol=1e-9)
        out[str(axis)] = _record(jaxreg.enet_path(Xs, y, **kw)) | {"specs": seen[:]}
        seen.clear()
    for name, kw in (
        ("lasso", dict(l1_ratio=1.0, sample_weight=w)),
        ("enet", dict(l1_ratio=0.5, standardize=True)),
    ):
        kw.update(alphas=10, eps=1e-2, tol=1e-9)
        out[name] = _record(jaxreg.enet_path(Xs, y, **kw)) | {"specs": seen[:]}
        seen.clear()
        out[name + "_numpy"] = _record(jaxreg.enet_path(X, y, mode="design", **kw))
        seen.clear()
    kw = dict(l1_ratio=1.0, sample_weight=w, alphas=10, eps=1e-2, tol=1e-9)
    out["gapsafe"] = _record(jaxreg.enet_path(Xs, y, screen="gapsafe", **kw)) | {
        "specs": seen[:]
    }
    seen.clear()
    folds = np.arange(len(y)) % 3
    cv = jaxreg.cv_path(Xs, y, cv=folds, alphas=8, eps=1e-2, tol=1e-9)
    out["cv"] = _record(cv.path) | {"mse": cv.mse_path.tolist(), "specs": seen[:]}
    cv = jaxreg.cv_path(X, y, cv=folds, alphas=8, eps=1e-2, tol=1e-9, mode="design")
    out["cv_numpy"] = _record(cv.path) | {"mse": cv.mse_path.tolist()}
    print("RESULT" + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
