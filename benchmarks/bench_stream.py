"""Benchmark: a lasso path and its CV from a ``.npy`` file larger than memory.

The file holds ``rows × (features + 1)`` float64 values (the target last), made
of copies of one block of ``--block`` rows, so that the exact answer is known:
the path of the file is the path of the block (the objective is a mean over
rows). Steps, each in a fresh process so that its peak memory is its own:

1. ``make``: write the file (skipped when it exists with the right shape);
2. ``raw``: read the whole file in 64 MB chunks and discard it: the raw read
   speed of the same file, measured in the same run;
3. ``stats``: :func:`jaxreg.sufficient_stats` of the file with 5 folds (one
   pass), its peak RSS and throughput; then the 100-alpha lasso path and its
   5-fold CV from the statistics at tol 1e-6 (first call with compilation, and
   the median of 3 warm calls);
4. ``dask``: the same statistics through dask, with a ``LocalCluster`` of
   worker processes, each block read by the worker that reduces it;
5. ``validate``: every alpha's duality gap recomputed by the NumPy reference
   (:func:`jaxreg.reference.duality_gap`) on the block's rows must be within
   tol, and the statistics must equal the block's own times the copies.

Run as ``python benchmarks/bench_stream.py --file /big/disk/x.npy --out DIR``
(defaults: 30M × 200, 48 GB). Results go to ``DIR/results.json`` and
``DIR/report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
READ_BYTES = 64 << 20


def block(rows, p, seed=0):
    """The repeated block: correlated features with large, varied means (the
    shift matters), a sparse truth and noise; y last."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, p))
    X[:, 1:] += 0.5 * X[:, :-1]  # neighbouring features correlated
    X *= rng.uniform(0.5, 2.0, p)
    X += rng.uniform(-1e3, 1e3, p)
    beta = np.zeros(p)
    beta[:: max(1, p // 10)] = rng.normal(size=len(beta[:: max(1, p // 10)]))
    y = (X - X.mean(axis=0)) @ beta + rng.standard_normal(rows) + 42.0
    return np.column_stack([X, y])


def make(args):
    shape = (args.rows, args.features + 1)
    if os.path.exists(args.file):
        arr = np.load(args.file, mmap_mode="r")
        if arr.shape == shape and arr.dtype == np.float64:
            return {"made": False}
    if args.rows % args.block:
        raise SystemExit("--rows must be a multiple of --block")
    B = np.ascontiguousarray(block(args.block, args.features)).tobytes()
    t = time.perf_counter()
    with open(args.file + ".part", "wb") as fh:
        np.lib.format.write_array_header_2_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        for _ in range(args.rows // args.block):
            fh.write(B)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(args.file + ".part", args.file)
    return {"made": True, "write_s": time.perf_counter() - t}


def raw(args):
    size = os.path.getsize(args.file)
    buf = bytearray(READ_BYTES)
    t = time.perf_counter()
    with open(args.file, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass
    s = time.perf_counter() - t
    return {"bytes": size, "raw_read_s": s, "raw_GBps": size / s / 1e9}


def _peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


def stats(args):
    import jaxreg
    from jaxreg.sources import sufficient_stats  # imported before the clock starts

    t = time.perf_counter()
    st = sufficient_stats(args.file, target=-1, folds=5)
    pass_s = time.perf_counter() - t
    rss_pass = _peak_rss_gib()
    st.save(os.path.join(args.out, "stats.npz"), overwrite=True)
    out = {
        "stats_s": pass_s,
        "stats_GBps": os.path.getsize(args.file) / pass_s / 1e9,
        "rows_per_s": st.n_samples / pass_s,
        "peak_rss_after_pass_GiB": rss_pass,
    }
    for name, fn in (
        ("path", lambda: jaxreg.lasso_path(st, alphas=100, tol=args.tol)),
        ("cv", lambda: jaxreg.cv_path(st, alphas=100, tol=args.tol)),
    ):
        t = time.perf_counter()
        res = fn()
        out[f"{name}_first_s"] = time.perf_counter() - t
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            res = fn()
            warm.append(time.perf_counter() - t)
        out[f"{name}_warm_s"] = statistics.median(warm)
        path = res if name == "path" else res.path
        out[f"{name}_converged"] = int(path.converged.sum())
        if name == "path":
            np.savez(
                os.path.join(args.out, "path.npz"),
                alphas=path.alphas,
                coefs=path.coefs,
                intercepts=path.intercepts,
                gaps=path.gaps,
            )
        else:
            out["cv_alpha_min"] = res.alpha_min
    out["peak_rss_GiB"] = _peak_rss_gib()
    return out


def dask_pass(args):
    import dask
    import dask.array as da
    import distributed

    import jaxreg

    n, q = args.rows, args.features + 1
    m = max(1, (64 << 20) // (8 * q))

    def load(a, b):
        return np.array(np.load(args.file, mmap_mode="r")[a:b])

    blocks = [
        da.from_delayed(
            dask.delayed(load)(a, min(a + m, n)), (min(a + m, n) - a, q), np.float64
        )  # fmt: skip
        for a in range(0, n, m)
    ]
    Z = da.concatenate(blocks)
    cluster = distributed.LocalCluster(
        n_workers=args.dask_workers, threads_per_worker=1, dashboard_address=None
    )
    from jaxreg.sources import sufficient_stats  # imported before the clock starts

    with cluster, distributed.Client(cluster):
        t = time.perf_counter()
        st = sufficient_stats(Z, target=-1, folds=5)
        s = time.perf_counter() - t
    ref = jaxreg.load_stats(os.path.join(args.out, "stats.npz"))
    Szz = st.moments_about(ref.shift)[1]
    err = float(np.abs(Szz - ref.Szz).max() / np.abs(ref.Szz).max())
    return {
        "dask_workers": args.dask_workers,
        "dask_s": s,
        "dask_GBps": os.path.getsize(args.file) / s / 1e9,
        "dask_vs_stream_max_rel_diff": err,
        "dask_client_peak_rss_GiB": _peak_rss_gib(),
    }


def validate(args):
    import jaxreg
    from jaxreg import reference

    B = block(args.block, args.features)
    X, y = B[:, :-1], B[:, -1]
    st = jaxreg.load_stats(os.path.join(args.out, "stats.npz"))
    copies = args.rows // args.block
    mine = jaxreg.sufficient_stats(X, y)
    Szz = st.total().moments_about(mine.shift)[1][0] / copies
    stats_err = float(np.abs(Szz - mine.Szz[0]).max() / np.abs(mine.Szz).max())
    res = np.load(os.path.join(args.out, "path.npz"))
    yy = float(np.mean((y - y.mean()) ** 2))
    gaps = np.array(
        [
            reference.duality_gap(X, y, c, b, a)
            for c, b, a in zip(
                res["coefs"], res["intercepts"], res["alphas"], strict=True
            )
        ]
    )
    ok = bool((gaps <= args.tol * yy).all() and stats_err < 1e-10)
    return {
        "stats_vs_block_max_rel_diff": stats_err,
        "reference_max_gap_over_tol": float((gaps / (args.tol * yy)).max()),
        "ok": ok,
    }


STEPS = {
    "make": make,
    "raw": raw,
    "stats": stats,
    "dask": dask_pass,
    "validate": validate,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default="/tmp/jaxreg-stream.npy")
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--block", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=200)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--dask-workers", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "stream"))
    ap.add_argument("--step", choices=list(STEPS))
    ap.add_argument("--skip", nargs="*", default=[])
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.step:  # one step, in this process
        print("RESULT" + json.dumps(STEPS[args.step](args)))
        return
    out_json = os.path.join(args.out, "results.json")
    previous = {}
    if os.path.exists(out_json):  # steps not rerun keep their earlier records
        with open(out_json) as fh:
            previous = json.load(fh)
    record = {
        "rows": args.rows,
        "features": args.features,
        "block": args.block,
        "tol": args.tol,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "memory_GiB": os.sysconf("SC_PAGE_SIZE")
            * os.sysconf("SC_PHYS_PAGES")
            / 2**30,
        },  # fmt: skip
        "date": time.strftime("%Y-%m-%d"),
    }
    for step in STEPS:
        if step in args.skip:
            continue
        cmd = [sys.executable, __file__, "--step", step] + [
            a for a in sys.argv[1:] if a != "--skip" and a not in args.skip
        ]
        env = dict(os.environ, PYTHONPATH=ROOT)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode:
            raise SystemExit(f"step {step} failed:\n{proc.stderr[-3000:]}")
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
        record[step] = json.loads(line[6:])
        record[step]["date"] = time.strftime("%Y-%m-%d %H:%M")
        record[step]["commit"] = _commit()
        print(step, record[step], flush=True)
    for step in STEPS:
        if step not in record and step in previous:
            record[step] = previous[step]
    with open(out_json, "w") as fh:
        json.dump(record, fh, indent=1)
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(report(record))


def _commit():
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip
    return proc.stdout.strip() or None


def report(r):
    gb = r.get("raw", {}).get("bytes", 0) / 1e9
    mem = r["machine"]["memory_GiB"]
    lines = [
        f"# Streaming {r['rows']:,} x {r['features']} from a {gb:.1f} GB .npy",
        "",
        f"Machine: {r['machine']['cpus']} CPUs, {mem:.1f} GiB memory. {r['date']}.",
        f"tol {r['tol']:g}.",
        "",
        "| step | seconds | GB/s | peak RSS (GiB) |",
        "|---|---|---|---|",
    ]
    raw, s = r.get("raw"), r.get("stats")
    if raw:
        lines.append(
            f"| raw read | {raw['raw_read_s']:.1f} | {raw['raw_GBps']:.2f} | |"
        )
    if s:
        rss = s["peak_rss_after_pass_GiB"]
        lines.append(
            f"| sufficient_stats, 5 folds | {s['stats_s']:.1f} | "
            f"{s['stats_GBps']:.2f} | {rss:.2f} |"
        )
        share = (
            f", {s['stats_GBps'] / raw['raw_GBps']:.0%} of the raw read" if raw else ""
        )
        lines += [
            "",
            f"Throughput: {s['rows_per_s'] / 1e6:.2f} M rows/s{share}.",
            "",
            f"Lasso path, 100 alphas: first call {s['path_first_s']:.2f} s, warm "
            f"{s['path_warm_s']:.3f} s, {s['path_converged']}/100 certified.",
            f"5-fold CV: first call {s['cv_first_s']:.2f} s, warm "
            f"{s['cv_warm_s']:.3f} s; peak RSS of the whole process "
            f"{s['peak_rss_GiB']:.2f} GiB.",
        ]
    if "dask" in r:
        d = r["dask"]
        lines += [
            "",
            f"dask LocalCluster ({d['dask_workers']} worker processes, 1 thread "
            f"each): {d['dask_s']:.1f} s ({d['dask_GBps']:.2f} GB/s); statistics "
            f"equal the streamed ones to {d['dask_vs_stream_max_rel_diff']:.1e}.",
        ]
    if "validate" in r:
        v = r["validate"]
        lines += [
            "",
            f"Validation: ok={v['ok']}; largest reference gap / tol = "
            f"{v['reference_max_gap_over_tol']:.3f}; statistics / copies equal "
            f"the block's to {v['stats_vs_block_max_rel_diff']:.1e}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
