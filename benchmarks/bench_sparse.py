"""Benchmark: a lasso path of text-like sparse X (CSR), jaxreg against scikit-learn.

The data: ``rows × features`` CSR with Zipf column frequencies (a few frequent
"words", a long tail of rare ones, many of them duplicates of each other),
tf-idf-like positive values, 100 true coefficients and noise (SNR 2). Both
solvers fit the same problem: the lasso with an intercept, X centred
implicitly (jaxreg's design form; scikit-learn's ``enet_path`` with the column
means as ``X_offset``, as its ``Lasso(fit_intercept=True)`` does for sparse
X), the same 100 alphas, tol 1e-6 on the duality gap, float64.

Each solver runs in a fresh process (its peak RSS is its own, and the CSR's
own size is measured in a process that only builds it). Every alpha's
duality gap is then recomputed here from the sparse X, in NumPy, independent
of both solvers, and a result counts only when every gap is ≤ tol·‖y − ȳ‖²/n.

Run as ``python benchmarks/bench_sparse.py --rows 2000 --features 20000 --out DIR``.
Results go to ``DIR/results.json`` and ``DIR/report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def text_like(n, p, density, seed=0, k_true=100):
    """Zipf column frequencies, tf-idf-like positive values, a sparse truth."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    freq = 1.0 / (np.arange(p) + 50.0) ** 1.1
    freq = np.minimum(freq * density * p / freq.sum(), 0.5)
    nnz_col = rng.binomial(n, freq)
    indptr = np.concatenate([[0], np.cumsum(nnz_col)])
    rows = [rng.choice(n, size=c, replace=False) for c in nnz_col]
    indices = np.concatenate(rows).astype(np.int32)
    idf = np.log(n / np.maximum(nnz_col, 1)).repeat(nnz_col)
    data = np.log1p(rng.poisson(2.0, size=indices.size) + 1.0) * idf
    X = sp.csc_matrix((data, indices, indptr), shape=(n, p)).tocsr()
    beta = np.zeros(p)
    beta[rng.choice(np.arange(20, min(p, 5000)), size=k_true, replace=False)] = (
        rng.normal(size=k_true)
    )
    signal = X @ beta
    y = signal + rng.normal(size=n) * signal.std() / 2.0
    return X, y


def gaps(X, y, coefs, intercepts, alphas):
    """Every alpha's duality gap of the lasso with an intercept, from the sparse
    X: the intercept profiled out (X and y centred implicitly), the dual point
    the residual scaled into the dual's feasible set."""
    n = X.shape[0]
    m = np.asarray(X.mean(axis=0)).ravel()
    yc = y - y.mean()
    out = []
    for w, b, a in zip(coefs, intercepts, alphas, strict=True):
        r = y - X @ w - b
        rc = r - r.mean()  # the best intercept for this w
        g = (X.T @ rc - m * rc.sum()) / n
        s = min(1.0, a / max(np.abs(g).max(), np.finfo(float).tiny))
        theta = s * rc / n
        primal = rc @ rc / (2 * n) + a * np.abs(w).sum()
        dual = theta @ yc - n / 2 * theta @ theta
        out.append(primal - dual)
    return np.array(out)


def run_one(args):
    """One solver in this process: time it, save its path, report peak RSS."""
    X, y = text_like(args.rows, args.features, args.density, seed=args.seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"solver": args.solver}
    traced = 0
    if args.solver == "csr":
        out["seconds"] = 0.0
    elif args.solver == "jaxreg":
        import jaxreg
        from jaxreg.solvers import active_set

        small = jaxreg.lasso_path(X[:200], y[:200], alphas=5)  # compile apart
        del small
        solve, inner = active_set.solve_members, {}

        def measured(*a, **k):
            """The solver's own working memory: its traced peak above what it
            started from, less the arrays it returns (the path)."""
            inner["before"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            inner["held"] = start  # what the set-up holds through the solve
            got = solve(*a, **k)
            used = tracemalloc.get_traced_memory()[1] - start
            inner["working"] = used - sum(v.nbytes for v in got.values())
            return got

        active_set.solve_members = measured
        tracemalloc.start()
        t = time.perf_counter()
        alphas = np.load(args.path)
        res = jaxreg.lasso_path(X, y, alphas=alphas, tol=args.tol)
        out["seconds"] = time.perf_counter() - t
        traced = max(tracemalloc.get_traced_memory()[1], inner.get("before", 0))
        tracemalloc.stop()
        out["working"] = inner.get("working")
        out["setup_held"] = inner.get("held")
        coefs, b, alphas = res.coefs, res.intercepts, res.alphas
        out["converged_flags"] = int(res.converged.sum())
        out["mode"], out["strategy"] = res.mode, res.strategy
    else:
        from sklearn.linear_model import enet_path

        alphas = np.load(args.path)
        m = np.asarray(X.mean(axis=0)).ravel()
        tracemalloc.start()  # its CSC copy traced too, as jaxreg's is
        t = time.perf_counter()
        Xc = X.tocsc()
        _, coefs, _ = enet_path(
            Xc, y - y.mean(), l1_ratio=1.0, alphas=alphas, tol=args.tol,
            max_iter=20000, X_offset=m, X_scale=np.ones(X.shape[1]),
        )  # fmt: skip
        out["seconds"] = time.perf_counter() - t
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out["working"] = traced - coefs.nbytes  # one array out, allocated once
        coefs = coefs.T
        b = y.mean() - coefs @ m
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["peak_rss"], out["rss_before"] = peak, base
    out["traced_peak"] = traced  # NumPy/Python allocations during the solve
    out["output_bytes"] = 8 * args.alphas * (X.shape[1] + 1)  # the dense path
    out["csr_bytes"] = int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    if args.solver != "csr":
        g = gaps(X, y, coefs, b, alphas)
        yy = np.mean((y - y.mean()) ** 2)
        out["max_rel_gap"] = float(np.max(g) / yy)
        out["certified"] = bool(np.all(g <= args.tol * yy))
        out["df_max"] = int((coefs != 0).sum(axis=1).max())
    print(json.dumps(out))


def grid(args):
    """The lasso's default grid: geometric from ``alpha_max = max|Xᵀ(y − ȳ)|/n``
    (the smallest alpha with all coefficients 0, intercept fitted) down to
    ``eps·alpha_max``."""
    X, y = text_like(args.rows, args.features, args.density, seed=args.seed)
    amax = np.abs(X.T @ (y - y.mean())).max() / X.shape[0]
    return np.geomspace(amax, args.eps * amax, args.alphas)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--features", type=int, default=200000)
    ap.add_argument("--density", type=float, default=1e-3)
    ap.add_argument("--alphas", type=int, default=100)
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--solvers", default="csr,jaxreg,sklearn")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "sparse"))
    ap.add_argument("--solver", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.solver:
        return run_one(args)
    os.makedirs(args.out, exist_ok=True)
    alphas_file = os.path.join(args.out, "alphas.npy")
    np.save(alphas_file, grid(args))  # one grid for every solver
    records = []
    for solver in args.solvers.split(","):
        cmd = [sys.executable, __file__, "--solver", solver, "--path", alphas_file]
        for key in ("rows", "features", "density", "alphas", "eps", "tol", "seed"):
            cmd += [f"--{key}", str(getattr(args, key))]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=args.timeout, cwd=ROOT)  # fmt: skip
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            rec = json.loads(lines[-1]) if lines else {
                "solver": solver, "error": proc.stderr[-2000:]}  # fmt: skip
        except subprocess.TimeoutExpired:
            rec = {"solver": solver, "error": f"timed out after {args.timeout} s"}
        print(json.dumps(rec), flush=True)
        records.append(rec)
    meta = {k: getattr(args, k) for k in ("rows", "features", "density", "alphas",
                                          "eps", "tol", "seed")}  # fmt: skip
    meta.update(machine=platform.platform(), cpus=os.cpu_count(),
                python=platform.python_version(),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))  # fmt: skip
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"meta": meta, "records": records}, fh, indent=1)
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(report(meta, records))
    print(report(meta, records))


def _beyond(r):
    """The traced peak less the dense path (NaN where nothing was traced)."""
    if not r.get("traced_peak"):
        return float("nan")
    return r["traced_peak"] - r["output_bytes"]


def report(meta, records):
    csr = next((r for r in records if r["solver"] == "csr" and "error" not in r), None)
    lines = [
        f"# Sparse lasso path: {meta['rows']}×{meta['features']} text-like CSR, "
        f"density {meta['density']:g}",
        "",
        f"{meta['alphas']} alphas (eps {meta['eps']:g}), tol {meta['tol']:g}, "
        f"float64; {meta['machine']}, {meta['cpus']} CPUs, {meta['date']}.",
        "Gaps recomputed independently from the sparse X; peak RSS per process "
        "(the `csr` row: a process that only builds the data).",
        "",
        "| solver | seconds | certified | max gap / (‖y−ȳ‖²/n) | max df "
        "| peak RSS (MB) | over the csr process (MB) | traced peak (MB) "
        "| working memory (MB) | set-up held (MB) | beyond the path (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['solver']} | {r['error'][:80]} | | | | | | | | | |")
            continue
        extra = (r["peak_rss"] - csr["peak_rss"]) / 1e6 if csr else float("nan")
        lines.append(
            f"| {r['solver']} | {r['seconds']:.2f} | {r.get('certified', '')} | "
            f"{r.get('max_rel_gap', float('nan')):.2e} | {r.get('df_max', '')} | "
            f"{r['peak_rss'] / 1e6:.0f} | {extra:.0f} | "
            f"{r.get('traced_peak', 0) / 1e6:.0f} | "
            f"{(r.get('working') or float('nan')) / 1e6:.0f} | "
            f"{(r.get('setup_held') or float('nan')) / 1e6:.0f} | "
            f"{_beyond(r) / 1e6:.0f} |"
        )
    if csr:
        lines += [
            "",
            f"CSR size: {csr['csr_bytes'] / 1e6:.1f} MB; the dense path itself "
            f"(alphas × features float64): {csr['output_bytes'] / 1e6:.1f} MB. "
            "Traced peak: NumPy and Python allocations during the solve "
            "(tracemalloc), the path included. Working memory: the solver's "
            "own traced peak less the path it returns (jaxreg: during its "
            "path solver, `active_set.solve_members`; scikit-learn: the traced "
            "peak less its one coefficient array); set-up held: what jaxreg's "
            "set-up (the CSC copy of X, per-feature vectors) holds through its "
            "path solver; beyond the path: the traced peak less the path "
            "(everything the call allocated but its answer); "
            f"3× the CSR is {3 * csr['csr_bytes'] / 1e6:.0f} MB.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
