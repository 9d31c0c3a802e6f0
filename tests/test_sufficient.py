"""Sufficient statistics: one pass, any source, the in-memory answers."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import jaxreg
from jaxreg import sufficient

EPS = np.finfo(np.float64).eps
WORKER = os.path.join(os.path.dirname(__file__), "_stats_worker.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data(n=600, p=8, seed=0, offset=50.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, p) + offset * rng.normal(size=p)
    X[:, 2] = 7.0  # a constant column
    y = X[:, :4] @ [1.0, -2.0, 0.0, 0.5] + rng.normal(size=n) + 100.0
    w = rng.uniform(0.0, 2.0, n)
    w[::17] = 0.0
    return X, y, w


def two_pass(X, y, w):
    """Reference moments about the weighted mean, two-pass (float64)."""
    Z = np.column_stack([X, y])
    m = w @ Z / w.sum()
    D = Z - m
    return m, (D * w[:, None]).T @ D


def centred(st):
    """Every part's weighted covariance-type moment about the total mean."""
    tot = st.total()
    mean = tot.shift + tot.Sz[0] / tot.S0[0]
    return st.moments_about(mean)[1]


def solution_bound(res_a, res_b, X, w, l2=0.0):
    """||w_a − w_b|| allowed by the two certified gaps: both are within gap of
    the optimum of a μ-strongly convex objective, μ the least eigenvalue of the
    weighted, centred Gram (+ the l2 part of the penalty). A gap is itself known
    to the rounding of the objective's terms (about eps·||y − ȳ||²/n each)."""
    m = w @ X / w.sum()
    D = (X - m) * np.sqrt(w / w.mean())[:, None]
    G = D.T @ D / X.shape[0]
    keep = np.ptp(X, axis=0) > 0
    mu = np.linalg.eigvalsh(G[np.ix_(keep, keep)])[0] + l2
    yy = res_a.gap_tol / res_a.tol  # ||y − ȳ||²/n, weighted
    floor = 64 * EPS * yy
    gaps = np.maximum(np.asarray(res_a.gaps), 0) + np.maximum(np.asarray(res_b.gaps), 0)
    gaps = gaps + 2 * floor
    return np.sqrt(2.0 * gaps / mu)[:, None] + 1e3 * EPS * np.abs(res_a.coefs).max()


def sum_rtol(n):
    """Worst-case relative rounding of a sum of n terms (Higham), for moments
    accumulated in a different order or about a different shift."""
    return n * EPS


def gram_cond(X, w):
    m = w @ X / w.sum()
    G = ((X - m) * w[:, None]).T @ (X - m)
    keep = np.ptp(X, axis=0) > 0
    ev = np.linalg.eigvalsh(G[np.ix_(keep, keep)])
    return ev[-1] / ev[0]


def st_folds(cv, n):
    if isinstance(cv, int):
        return np.repeat(np.arange(cv), [n // cv + (i < n % cv) for i in range(cv)])
    return np.searchsorted(np.unique(cv), cv)


def mse_bound(X, w, fold_of, res_a, res_b):
    """(k, K): how far two held-out MSE curves may be apart when each fold's
    solutions are certified: ``|Δw| ≤ B`` (as in :func:`solution_bound`, μ of the
    fold's training rows), a prediction moves by at most ``R·B`` (R the largest
    distance of a held-out row from the training mean), and the MSE by at most
    ``R·B·(2·sqrt(mse) + R·B)``."""
    out = np.zeros_like(res_a.mse_path)
    yy = res_a.fold_gaps * 0 + res_a.path.gap_tol / res_a.path.tol
    for k in range(res_a.mse_path.shape[1]):
        tr, te = fold_of != k, fold_of == k
        wt = w[tr]
        m = wt @ X[tr] / wt.sum()
        D = (X[tr] - m) * np.sqrt(wt / wt.mean())[:, None]
        keep = np.ptp(X, axis=0) > 0
        G = D.T @ D / tr.sum()
        mu = np.linalg.eigvalsh(G[np.ix_(keep, keep)])[0]
        gaps = np.maximum(res_a.fold_gaps[:, k], 0) + np.maximum(
            res_b.fold_gaps[:, k], 0
        )
        B = np.sqrt(2 * (gaps + 128 * EPS * yy[:, k]) / mu)
        R = np.linalg.norm((X[te] - m)[:, keep], axis=1).max()
        out[:, k] = R * B * (2 * np.sqrt(res_a.mse_path[:, k]) + R * B)
    return out + 1e3 * EPS * res_a.mse_path


# --------------------------------------------------------------------------- #
# The statistics
# --------------------------------------------------------------------------- #
def test_chunks_equal_one_pass_and_merge_order_does_not_matter():
    X, y, w = data()
    whole = jaxreg.sufficient_stats(X, y, sample_weight=w, chunk_rows=10**6)
    chunked = jaxreg.sufficient_stats(X, y, sample_weight=w, chunk_rows=37)
    m, ref = two_pass(X, y, w)
    scale = np.abs(ref).max()
    for st in (whole, chunked):
        assert st.S0[0] == pytest.approx(w.sum(), rel=1e-14)
        assert np.abs(centred(st)[0] - ref).max() <= 1e-12 * scale
        assert st.n_samples == X.shape[0] and st.npos[0] == (w > 0).sum()
    pieces = [
        jaxreg.sufficient_stats(X[a:b], y[a:b], sample_weight=w[a:b])
        for a, b in ((0, 100), (100, 350), (350, 600))
    ]
    ab = (pieces[0] + pieces[1]) + pieces[2]
    ba = pieces[2] + (pieces[1] + pieces[0])
    assert np.abs(centred(ab)[0] - centred(ba)[0]).max() <= 1e-12 * scale
    assert np.abs(centred(sum(pieces))[0] - ref).max() <= 1e-12 * scale
    np.testing.assert_array_equal(ab.zmin, whole.zmin)
    assert ab.count[0] == 600


def test_exact_when_means_are_1e8_times_the_spread():
    rng = np.random.default_rng(3)
    n = 5000
    X = 1e8 + rng.normal(size=(n, 3))
    y = X @ [1.0, 0.0, -1.0] + rng.normal(size=n)
    st = jaxreg.sufficient_stats(X, y, chunk_rows=512)
    m, ref = two_pass(X, y, np.ones(n))
    # exact to the rounding of the data themselves (|x| ~ 1e8: ulp 1.5e-8)
    assert np.abs(centred(st)[0] - ref).max() <= 1e-12 * np.abs(ref).max()
    naive = X.T @ X - n * np.outer(X.mean(0), X.mean(0))
    assert np.abs(naive - ref[:3, :3]).max() > 1e-3 * np.abs(ref).max()  # the pitfall
    a = jaxreg.lasso_path(X, y, alphas=10, tol=1e-10)
    b = jaxreg.lasso_path(st, alphas=10, tol=1e-10)
    assert (np.abs(a.coefs - b.coefs) <= solution_bound(a, b, X, np.ones(n))).all()


def test_complement_is_the_training_set_and_save_load(tmp_path):
    X, y, w = data()
    fid = np.arange(600) % 3
    st = jaxreg.sufficient_stats(X, y, sample_weight=w, folds=fid)
    train = jaxreg.sufficient_stats(X[fid != 1], y[fid != 1], sample_weight=w[fid != 1])
    diff = st.total() - st.fold(1)
    scale = np.abs(train.Szz).max()
    assert np.abs(diff.moments_about(train.shift)[1] - train.Szz).max() <= 1e-11 * scale
    assert np.isnan(diff.zmin).all() and diff.count[0] == train.count[0]
    path = st.save(tmp_path / "stats")
    back = jaxreg.load_stats(path)
    for name in ("shift", "S0", "Sz", "Szz", "zmin", "zmax", "count", "npos"):
        np.testing.assert_array_equal(getattr(back, name), getattr(st, name))
    assert back.folds == (0, 1, 2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        st.save(path)
    with np.load(path, allow_pickle=False) as f:  # no pickle inside
        assert "meta" in f.files


# --------------------------------------------------------------------------- #
# Paths from statistics: the in-memory answers
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(standardize=True, penalty_factor=np.r_[0.0, np.ones(7)]),
        dict(fit_intercept=False),
    ],
)
def test_paths_match_memory(options):
    X, y, w = data()
    st = jaxreg.sufficient_stats(X, y, sample_weight=w, chunk_rows=100)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    top = np.argmax(np.abs(Xc.T @ yc))  # the feature that sets alpha_max
    size = np.linalg.norm(Xc[:, top]) * np.linalg.norm(yc) / abs(Xc[:, top] @ yc)
    for fn, l1 in (
        (jaxreg.lasso_path, {}),
        (jaxreg.enet_path, {"l1_ratio": 0.5}),
    ):
        a = fn(X, y, sample_weight=w, alphas=15, tol=1e-10, **l1, **options)
        b = fn(st, alphas=15, tol=1e-10, **l1, **options)
        # alpha_max is max |x̃ᵀỹ|/n: a sum's rounding, over |x̃ᵀỹ|'s size
        np.testing.assert_allclose(b.alphas, a.alphas, rtol=sum_rtol(600) * size)
        assert b.converged.all()
        assert (np.abs(a.coefs - b.coefs) <= solution_bound(a, b, X, w)).all()
        assert (np.abs(b.coefs[:, 2]) == 0).all()  # the constant column
    a = jaxreg.ridge_path(X, y, sample_weight=w, alphas=12, **options)
    b = jaxreg.ridge_path(st, alphas=12, **options)
    # closed forms: the Gram's rounding (a sum's) times its condition number
    rtol = sum_rtol(600) * gram_cond(X, w)
    np.testing.assert_allclose(b.coefs, a.coefs, atol=rtol * np.abs(a.coefs).max())
    assert jaxreg.alpha_max(st, **options) == pytest.approx(
        jaxreg.alpha_max(X, y, sample_weight=w, **options), rel=sum_rtol(600) * size
    )


def test_constant_y_gives_zero_alpha_max():
    X, _, _ = data()
    st = jaxreg.sufficient_stats(X, np.full(600, 3.25))
    assert jaxreg.alpha_max(st) == 0.0
    res = jaxreg.lasso_path(st, alphas=3)
    assert (res.coefs == 0).all() and np.allclose(res.intercepts, 3.25)


@pytest.mark.parametrize("folds", ["ids", 4])
def test_cv_from_statistics_equals_cv_in_memory(folds):
    X, y, w = data(n=500)
    cv = np.random.default_rng(5).integers(0, 5, 500) if folds == "ids" else folds
    st = jaxreg.sufficient_stats(X, y, sample_weight=w, folds=cv, chunk_rows=64)
    a = jaxreg.cv_path(X, y, sample_weight=w, cv=cv, alphas=20, tol=1e-10)
    b = jaxreg.cv_path(st, alphas=20, tol=1e-10)
    assert a.index_min == b.index_min and a.index_1se == b.index_1se
    # the held-out errors (quadratic forms of the fold's moments against sums
    # over its rows) within what the two certified fold solutions allow
    fold_of = st_folds(cv, 500)
    assert (np.abs(b.mse_path - a.mse_path) <= mse_bound(X, w, fold_of, a, b)).all()
    np.testing.assert_allclose(b.test_weight, a.test_weight, rtol=sum_rtol(500))
    ridge_a = jaxreg.cv_path(X, y, sample_weight=w, cv=cv, l1_ratio=0.0, alphas=10)
    ridge_b = jaxreg.cv_path(st, l1_ratio=0.0, alphas=10)
    assert ridge_a.index_min == ridge_b.index_min


def test_ridge_gcv_from_statistics_and_loo_refused():
    X, y, w = data()
    st = jaxreg.sufficient_stats(X, y, sample_weight=w)
    alphas = [10.0, 1.0, 0.1]
    np.testing.assert_allclose(
        jaxreg.ridge_loo(st, alphas=alphas, criterion="gcv"),
        jaxreg.ridge_loo(X, y, sample_weight=w, alphas=alphas, criterion="gcv"),
        rtol=sum_rtol(600) * gram_cond(X, w),
    )
    with pytest.raises(ValueError, match="criterion='gcv'"):
        jaxreg.ridge_loo(st, alphas=alphas)
    with pytest.raises(ValueError, match="method='eigh'"):
        jaxreg.ridge_path(st, method="dual")


def test_clear_errors():
    X, y, w = data()
    st = jaxreg.sufficient_stats(X, y)
    with pytest.raises(ValueError, match="design mode"):
        jaxreg.lasso_path(st, mode="design")
    with pytest.raises(ValueError, match="inside the sufficient statistics"):
        jaxreg.lasso_path(st, y)
    with pytest.raises(ValueError, match="sample_weight="):
        jaxreg.lasso_path(st, sample_weight=w)
    with pytest.raises(ValueError, match="folds="):
        jaxreg.cv_path(st)
    st_f = jaxreg.sufficient_stats(X, y, folds=3)
    with pytest.raises(ValueError, match="fixed when they are built"):
        jaxreg.cv_path(st_f, cv=3)
    with pytest.raises(TypeError, match="y is required"):
        jaxreg.lasso_path(X)
    bad = X.copy()
    bad[450, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf between rows 400 and 500"):
        jaxreg.sufficient_stats(bad, y, chunk_rows=100)
    with pytest.raises(ValueError, match="target="):
        jaxreg.sufficient_stats(X)
    with pytest.raises(ValueError, match="chunk_rows"):
        jaxreg.sufficient_stats(X, y, chunk_rows=0)
    with pytest.raises(ValueError, match="cannot add statistics with folds"):
        st + st_f


def test_too_many_features_names_the_alternative(monkeypatch):
    from jaxreg import sources

    monkeypatch.setattr(sources, "MAX_FEATURES", 5)
    X, y, _ = data()
    with pytest.raises(ValueError, match="mode='design'"):
        jaxreg.sufficient_stats(X, y)


# --------------------------------------------------------------------------- #
# Sources
# --------------------------------------------------------------------------- #
def test_npy_files(tmp_path):
    X, y, w = data()
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w)
    np.save(tmp_path / "z.npy", np.column_stack([y, X]))  # the target first
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "w.npy", w)
    a = jaxreg.sufficient_stats(
        str(tmp_path / "z.npy"), target=0, sample_weight=w, chunk_rows=77
    )
    b = jaxreg.sufficient_stats(
        tmp_path / "x.npy",
        str(tmp_path / "y.npy"),
        sample_weight=str(tmp_path / "w.npy"),
        chunk_rows=128,
    )
    scale = np.abs(ref.Szz).max()
    for st in (a, b):
        assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
        np.testing.assert_array_equal(st.zmax, ref.zmax)


def test_parquet_folder(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, y, w = data(n=500)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(8)])
    df["label"], df["weight"], df["fold"] = y, w, np.arange(500) % 4
    (tmp_path / "pq").mkdir()
    for i, (a, b) in enumerate(((0, 120), (120, 380), (380, 500))):
        df.iloc[a:b].to_parquet(tmp_path / "pq" / f"part{i}.parquet")
    st = jaxreg.sufficient_stats(
        tmp_path / "pq",
        target="label",
        sample_weight="weight",
        folds="fold",
        chunk_rows=50,
    )
    assert st.feature_names == tuple(f"x{j}" for j in range(8)) and st.folds == (
        0,
        1,
        2,
        3,
    )
    fold_of = np.arange(500) % 4
    a = jaxreg.cv_path(X, y, sample_weight=w, cv=fold_of, alphas=10, tol=1e-10)
    b = jaxreg.cv_path(st, alphas=10, tol=1e-10)
    assert (np.abs(b.mse_path - a.mse_path) <= mse_bound(X, w, fold_of, a, b)).all()
    sub = jaxreg.sufficient_stats(
        tmp_path / "pq", target="label", features=["x1", "x0"]
    )
    assert sub.feature_names == ("x1", "x0") and sub.n_features == 2


def test_iterable_of_chunks():
    X, y, w = data()
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w)
    st = jaxreg.sufficient_stats(
        (X[a : a + 90], y[a : a + 90], w[a : a + 90]) for a in range(0, 600, 90)
    )
    assert (
        np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max()
        <= 1e-12 * np.abs(ref.Szz).max()
    )
    with pytest.raises(ValueError, match="number of rows is not known"):
        jaxreg.sufficient_stats(iter([(X, y)]), folds=5)


def test_device_accumulation_matches_host():
    X, y, w = data()
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w, folds=3)
    st = jaxreg.sufficient_stats(
        X, y, sample_weight=w, folds=3, device="device", chunk_rows=128
    )
    scale = np.abs(ref.Szz).max()
    assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    np.testing.assert_array_equal(st.count, ref.count)
    np.testing.assert_array_equal(st.zmin, ref.zmin)


def test_memory_estimate_counts_p_squared_not_rows(monkeypatch):
    from jaxreg import _memory

    seen = []
    real = _memory.estimate_bytes

    def spy(n, p, k, *args, **kw):
        seen.append((n, p, kw.get("n_problems")))
        return real(n, p, k, *args, **kw)

    monkeypatch.setattr(_memory, "estimate_bytes", spy)
    X, y, _ = data()
    st = jaxreg.sufficient_stats(X, y, folds=3)
    jaxreg.cv_path(st, alphas=5)
    assert seen[-1] == (0, 8, 4)  # no rows; the Gram of 3 folds and the total
    monkeypatch.setattr(_memory, "available_bytes", lambda device=None: 1000)
    with pytest.raises(jaxreg.InsufficientMemoryError):
        jaxreg.lasso_path(st, alphas=5)


def test_jax_array_on_one_device():
    jax = pytest.importorskip("jax")
    X, y, w = data()
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w, folds=3)
    with jax.enable_x64(True):
        Xj, yj = jax.numpy.asarray(X), jax.numpy.asarray(y)
        st = jaxreg.sufficient_stats(Xj, yj, sample_weight=w, folds=3)
        bad = w.copy()
        bad[3] = -1.0
        with pytest.raises(ValueError, match="non-negative"):
            jaxreg.sufficient_stats(Xj, yj, sample_weight=bad)
    scale = np.abs(ref.Szz).max()
    assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    np.testing.assert_array_equal(st.count, ref.count)


@pytest.mark.slow
def test_dask_threads_and_local_cluster():
    da = pytest.importorskip("dask.array")
    X, y, w = data()
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w, folds=4)
    Xd = da.from_array(X, chunks=(70, 4))
    scale = np.abs(ref.Szz).max()
    st = jaxreg.sufficient_stats(
        Xd, da.from_array(y, chunks=70), sample_weight=w, folds=4
    )
    assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    # the target as a column of the blocks (kept whole, features first after)
    Zd = da.from_array(np.column_stack([y, X]), chunks=(70, 9))
    st_t = jaxreg.sufficient_stats(Zd, target=0, sample_weight=w, folds=4)
    assert np.abs(st_t.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster):
        st2 = jaxreg.sufficient_stats(Xd, y, sample_weight=w, folds=4)
        st3 = jaxreg.sufficient_stats(Zd, target=0, sample_weight=w, folds=4)
    assert np.abs(st3.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    assert np.abs(st2.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    a = jaxreg.cv_path(ref, alphas=10, tol=1e-10)
    b = jaxreg.cv_path(st2, alphas=10, tol=1e-10)
    fold_of = np.arange(600) * 4 // 600  # contiguous, 150 rows each
    assert (np.abs(b.mse_path - a.mse_path) <= mse_bound(X, w, fold_of, a, b)).all()


def _worker(kind, env_extra, n_proc=1):
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu", **env_extra)
    env.pop("JAX_DISABLE_MOST_OPTIMIZATIONS", None)
    procs = []
    for i in range(n_proc):
        procs.append(
            subprocess.Popen(
                [sys.executable, WORKER, kind],
                env=dict(env, JAXREG_PID=str(i)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        line = [ln for ln in out.splitlines() if ln.startswith("STATS")][0]
        outs.append(json.loads(line[5:]))
    return outs


def _expected():
    sys.path.insert(0, os.path.dirname(WORKER))
    try:
        import _stats_worker
    finally:
        sys.path.pop(0)
    X, y, w = _stats_worker.data()
    return jaxreg.sufficient_stats(X[:400], y[:400], sample_weight=w[:400], folds=4)


def _same(got, ref):
    st = sufficient.SufficientStats(
        *(
            got[k]
            for k in ("shift", "S0", "Sz", "Szz", "zmin", "zmax", "count", "npos")
        ),
        n_features=ref.n_features,
        folds=got["folds"],
    )
    scale = np.abs(ref.Szz).max()
    assert st.folds == ref.folds
    np.testing.assert_array_equal(st.count, ref.count)
    np.testing.assert_allclose(st.S0, ref.S0, rtol=1e-13)
    assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    np.testing.assert_array_equal(st.zmin, ref.zmin)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["auto", "explicit"])
def test_row_sharded_over_eight_devices(kind):
    (got,) = _worker(kind, {"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})
    _same(got, _expected())


@pytest.mark.slow
def test_two_processes_with_jax_distributed():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outs = _worker("dist", {"JAXREG_PORT": str(port)}, n_proc=2)
    ref = _expected()
    for got in outs:  # every process gets the same statistics
        _same(got, ref)
        assert "sufficient_stats" in got["refused"]


# --------------------------------------------------------------------------- #
# CSV, and the command line
# --------------------------------------------------------------------------- #
def _csv(tmp_path, n=900):
    pd = pytest.importorskip("pandas")
    X, y, w = data(n=n)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    df["target"], df["w"] = y, w
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return path, X, y, w


@pytest.mark.parametrize("parser", ["arrow", "numpy"])
def test_csv_streams_with_either_parser(tmp_path, monkeypatch, parser):
    path, X, y, w = _csv(tmp_path)
    if parser == "numpy":
        monkeypatch.setitem(sys.modules, "pyarrow.csv", None)  # import fails
    elif sys.modules.get("pyarrow.csv", 0) is None or not _has("pyarrow"):
        pytest.skip("needs pyarrow")
    ref = jaxreg.sufficient_stats(X, y, sample_weight=w)
    st = jaxreg.sufficient_stats(
        path, target="target", sample_weight="w", chunk_rows=100
    )
    assert st.n_samples == 900 and st.feature_names[0] == "x0"
    scale = np.abs(ref.Szz).max()
    # the text holds 17 significant digits: the data round-trip exactly
    assert np.abs(st.moments_about(ref.shift)[1] - ref.Szz).max() <= 1e-12 * scale
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,t\n1,2,3\n4,oops,6\n")
    with pytest.raises(ValueError, match="oops"):
        jaxreg.sufficient_stats(bad, target="t")


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _cli(*argv):
    import contextlib
    import io

    from jaxreg.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(list(map(str, argv)))
    assert rc == 0
    return json.loads(out.getvalue())


def test_cli_streams_npy_parquet_and_csv(tmp_path, monkeypatch):
    path, X, y, w = _csv(tmp_path)
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    base = ["--alphas", 15, "--json"]
    a = _cli("path", tmp_path / "d.npy", "--target", -1, *base)
    b = _cli("path", tmp_path / "d.npy", "--target", -1, "--chunk-rows", 128, *base)
    # the library's own path from the same chunks: the command line adds nothing
    st = jaxreg.sufficient_stats(tmp_path / "d.npy", target=-1, chunk_rows=128)
    np.testing.assert_array_equal(b["coefs"], jaxreg.lasso_path(st, alphas=15).coefs)
    assert b["n_samples"] == 900 and len(a["coefs"]) == 15
    # automatic above the size threshold; CV with shuffled folds from the same pass
    from jaxreg.cli import stream

    cv = ["cv", path, "--target", "target", "--sample-weight", "w", "--seed", 1, *base]
    c = _cli(*cv)
    r = _cli("ridge", path, "--target", "target", "--alphas", 5, "--json")
    assert r["criterion"] == "loo" and "loo_mse" in r
    monkeypatch.setattr(stream, "STREAM_BYTES", 1000)
    d = _cli(*cv)
    fold_ids = np.random.default_rng(1).permutation(np.arange(900) % 5)  # --seed 1
    st = jaxreg.sufficient_stats(
        path, target="target", sample_weight="w", folds=fold_ids
    )
    np.testing.assert_array_equal(
        d["cv"]["mse_mean"], jaxreg.cv_path(st, alphas=15).mse_mean
    )
    assert c["cv"]["index_min"] == d["cv"]["index_min"]
    r = _cli("ridge", path, "--target", "target", "--alphas", 5, "--json")
    assert r["criterion"] == "gcv" and "gcv" in r and "loo_mse" not in r


def test_several_targets():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 5))
    Y = X @ rng.normal(size=(5, 3)) + rng.normal(size=(400, 3))
    st = jaxreg.sufficient_stats(X, Y, chunk_rows=64)
    assert st.n_targets == 3
    a, b = jaxreg.ridge_path(X, Y, alphas=6), jaxreg.ridge_path(st, alphas=6)
    rtol = sum_rtol(400) * gram_cond(X, np.ones(400))
    np.testing.assert_allclose(b.coefs, a.coefs, atol=rtol * np.abs(a.coefs).max())
    a = jaxreg.multi_target_path(X, Y, alphas=6, tol=1e-10)
    b = jaxreg.multi_target_path(st, alphas=6, tol=1e-10)
    assert b.coefs.shape == (6, 3, 5) and b.converged.all()
    # per target, the distance the two certified gaps allow (see solution_bound)
    D = X - X.mean(axis=0)
    mu = np.linalg.eigvalsh(D.T @ D / 400)[0]
    floor = 64 * EPS * a.target_gap_tol / a.tol
    gaps = np.maximum(a.target_gaps, 0) + np.maximum(b.target_gaps, 0) + 2 * floor
    bound = np.sqrt(2 * gaps / mu)[..., None] + 1e3 * EPS * np.abs(a.coefs).max()
    assert (np.abs(b.coefs - a.coefs) <= bound).all()
    with pytest.raises(ValueError, match="3 targets"):
        jaxreg.lasso_path(st)
