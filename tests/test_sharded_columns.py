"""A jax.Array sharded over its features: design mode on its mesh (8 forced host
devices, in a fresh process), certified and equal to the same data as NumPy."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxreg import reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "_columns_worker.py")
EPS = np.finfo(np.float64).eps


def _run():
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    proc = subprocess.run(
        [sys.executable, WORKER], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0]
    return json.loads(line[6:])


def _gaps(X, y, res, **kw):
    return np.array([
        reference.duality_gap(X, y, np.asarray(c), b, a, **kw)
        for c, b, a in zip(res["coefs"], res["intercepts"], res["alphas"], strict=True)
    ])  # fmt: skip


def _fit_distance(X, y, a, b, sw=None):
    """‖D(w_a − w_b)‖/√n on the weighted, centred design, and the bound the two
    certificates give: the objective is 1-strongly convex in the fit ``Dw/√n``,
    so each certified w is within √(2·gap) of the optimal fit (each gap known to
    the rounding of the objective's terms)."""
    n = len(y)
    s = np.ones(n) if sw is None else sw * n / sw.sum()
    D = (X - s @ X / n) * np.sqrt(s)[:, None]
    diff = np.asarray(a["coefs"]) - np.asarray(b["coefs"])
    dist = np.linalg.norm(diff @ D.T, axis=1) / np.sqrt(n)
    floor = 128 * EPS * a["gap_tol"] / 1e-9
    bound = sum(np.sqrt(2 * (np.maximum(r["gaps"], 0) + floor)) for r in (a, b))
    return dist, bound


@pytest.mark.slow
def test_feature_sharded_design_on_its_mesh():
    sys.path.insert(0, os.path.dirname(WORKER))
    try:
        import _columns_worker
    finally:
        sys.path.pop(0)
    out = _run()
    X, y, w = _columns_worker.data()
    # Auto axes, and jax.make_mesh's default Explicit axes: one answer
    auto, explicit = out["AxisType.Auto"], out["AxisType.Explicit"]
    assert auto["specs"] and all("features" in s for s in auto["specs"])
    np.testing.assert_array_equal(auto["coefs"], explicit["coefs"])
    assert auto["coefs"] == out["lasso"]["coefs"]
    for name, kw in (
        ("lasso", dict(l1_ratio=1.0, sample_weight=w)),
        ("enet", dict(l1_ratio=0.5, standardize=True)),
    ):
        got, ref = out[name], out[name + "_numpy"]
        assert got["mode"] == "design" and all(got["converged"])
        # solved where X lives: the design stays sharded over its features
        assert got["specs"] and all("features" in s for s in got["specs"])
        gaps = _gaps(X, y, got, **kw)
        assert (gaps <= got["gap_tol"] * (1 + 1e-6)).all(), gaps.max()
        dist, bound = _fit_distance(X, y, got, ref, kw.get("sample_weight"))
        assert (dist <= bound).all(), (dist / bound).max()
    # screen="gapsafe" on the mesh: each reported gap (the plain or the
    # extrapolated dual point's) bounds the suboptimality against the
    # reference solved to 1e-15, up to the rounding of two objectives
    got = out["gapsafe"]
    assert all(got["converged"]) and all("features" in s for s in got["specs"])
    exact = reference.enet_path(
        X, y, alphas=got["alphas"], l1_ratio=1.0, sample_weight=w, tol=1e-15
    )
    for i, alpha in enumerate(got["alphas"]):
        obj, best = (
            reference.objective(X, y, np.asarray(c), b, alpha, sample_weight=w)
            for c, b in ((got["coefs"][i], got["intercepts"][i]),
                         (exact["coefs"][i], exact["intercepts"][i]))
        )  # fmt: skip
        assert obj - best <= got["gaps"][i] + len(y) * EPS * max(best, 1.0)
    # some level was certified by the extrapolated point: its plain residual's
    # gap is above the tolerance (no refinement on supports off the host)
    assert (_gaps(X, y, got, sample_weight=w) > got["gap_tol"]).any()
    got, ref = out["cv"], out["cv_numpy"]
    assert all(got["converged"]) and all("features" in s for s in got["specs"])
    assert (_gaps(X, y, got) <= got["gap_tol"] * (1 + 1e-6)).all()
    dist, bound = _fit_distance(X, y, got, ref)
    assert (dist <= bound).all()
