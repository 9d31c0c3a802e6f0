"""How much would gap-safe screening discard along a wide lasso path?

Gap-safe rules (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017) discard a
feature for good when a sphere that surely holds the dual optimum lies inside
its constraint: with ``u`` a feasible dual point, ``gap`` its duality gap and
the lasso's dual n-strongly concave in ``u``, ``|x_jᵀu*| ≤ |x_jᵀu| +
sqrt(2·gap·G_jj) < alpha`` proves ``w*_j = 0`` (``G_jj = ||x_j − x̄_j||²/n``).
Used sequentially along a path, the test at ``alpha_t`` takes the certified
solution of ``alpha_{t−1}``, its residual rescaled into the dual's feasible set.

This script measures what that test would discard at every level of a path
jaxreg certifies (the lasso with an intercept, tol 1e-6, 100 alphas to
1e-3·alpha_max), next to the support and the sequential strong rule's
candidates, and what the solver spends on the products that screening could
shrink: one full ``Xᵀr`` per level, which is also the level's certificate; on
dense designs also what those products cost over the kept columns only, with
the columns gathered per product or compacted beforehand for free.
Every path is certified first: its largest gap, recomputed here in NumPy from
X, must be at most tol·||y − ȳ||²/n.

Run as ``python benchmarks/bench_screening.py --out DIR`` (about 3 minutes on
a 2-core CPU); results go to ``DIR/results.json`` and ``DIR/report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

TOL = 1e-6


def designs(which):
    """The wide designs: the glmnet-paper ones of the `wide` preset and a
    text-like sparse one (:func:`benchmarks.bench_sparse.text_like`)."""
    from benchmarks.bench_sparse import text_like
    from benchmarks.problems import glmnet_problem, make_data

    for name in which:
        if name.startswith("glmnet"):
            n, p = (int(v) for v in name.split("-")[1].split("x"))
            X, y = make_data(glmnet_problem(n, p, 0.5, family="wide"))
            yield name, X, y
        else:
            n, p = (int(v) for v in name.split("-")[1].split("x"))
            X, y = text_like(n, p, 1e-3, seed=0)
            yield name, X, y


def centred_products(X):
    """``Xᵀr`` of the centred design for a centred ``r`` (the centring drops out:
    ``1ᵀr = 0``), and the column variances ``G_jj``."""
    n = X.shape[0]
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = (
        np.asarray(X.multiply(X).mean(axis=0)).ravel()
        if hasattr(X, "multiply")
        else (np.einsum("ij,ij->j", X, X) / n)
    )

    def rmatvec(r):
        return np.asarray(X.T @ r).ravel() / n

    def matvec(w):
        return np.asarray(X @ w).ravel() - mean @ w

    return rmatvec, matvec, np.maximum(sq - mean * mean, 0.0)


def reach(X, y, res):
    """Per level: the support, the strong rule's candidates and what the
    sequential gap-safe test keeps; and every level's certified gap."""
    n, p = X.shape
    rmatvec, matvec, Gjj = centred_products(X)
    yc = y - y.mean()
    coefs, alphas = np.asarray(res.coefs), np.asarray(res.alphas)
    rows, gaps = [], []
    prev_q, prev_w, prev_a = None, None, None
    for t, a in enumerate(alphas):
        w = coefs[t]
        r = yc - matvec(w)
        q = rmatvec(r)
        s = min(1.0, a / max(np.abs(q).max(), np.finfo(float).tiny))
        rr = r @ r / n
        primal = rr / 2 + a * np.abs(w).sum()
        dual = s * (r @ yc) / n - s * s * rr / 2
        gaps.append(primal - dual)
        if prev_q is None:
            kept = strong = p
        else:
            # the previous level's solution, its dual point rescaled for alpha_t
            r0 = yc - matvec(prev_w)
            rr0 = r0 @ r0 / n
            s0 = min(1.0, a / max(np.abs(prev_q).max(), np.finfo(float).tiny))
            g0 = max(rr0 / 2 + a * np.abs(prev_w).sum()
                     - (s0 * (r0 @ yc) / n - s0 * s0 * rr0 / 2), 0.0)  # fmt: skip
            kept = int((s0 * np.abs(prev_q) + np.sqrt(2 * g0 * Gjj) >= a).sum())
            strong = int((np.abs(prev_q) >= 2 * a - prev_a).sum())
        rows.append(dict(level=t, alpha=float(a), support=int((w != 0).sum()),
                         strong=int(strong), gap_safe_kept=int(kept)))  # fmt: skip
        prev_q, prev_w, prev_a = q, w, a
    return rows, np.array(gaps)


SHARES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)


def restricted_costs(X, repeats=5):
    """Seconds of ``X_Kᵀr`` for kept shares ``SHARES`` of a dense X's columns
    (K drawn at random): the product on the columns gathered for it (a copy
    per product, as ``X[:, K].T @ r`` makes), and on a copy made beforehand
    (a free compaction: the least screening could cost); None for sparse X."""
    if hasattr(X, "multiply"):
        return None
    rng = np.random.default_rng(1)
    r = rng.standard_normal(X.shape[0])

    def median(f):
        f()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts))

    out = []
    for share in SHARES:
        K = np.sort(rng.choice(X.shape[1], int(share * X.shape[1]), replace=False))
        C = np.ascontiguousarray(X[:, K])
        out.append(dict(share=share, gathered=median(lambda K=K: X[:, K].T @ r),
                        compacted=median(lambda C=C: C.T @ r)))  # fmt: skip
        del C
    return out


def path_costs(res):
    """Over the path: the full products (one a level) against the kept
    columns' products, gathered per level or compacted for free
    (interpolated in the share each level keeps)."""
    costs = res["restricted"]
    if costs is None:
        return None
    share = np.array([r["gap_safe_kept"] for r in res["levels"]]) / res["p"]
    at = np.array([c["share"] for c in costs])

    def total(key):
        t = np.array([c[key] for c in costs])
        return float(np.interp(share, np.r_[0.0, at, 1.0],
                               np.r_[0.0, t, res["rmatvec_s"]]).sum())  # fmt: skip

    return dict(full=100 * res["rmatvec_s"], gathered=total("gathered"),
                compacted=total("compacted"))  # fmt: skip


def one(name, X, y):
    import jaxreg

    jaxreg.lasso_path(X[:50], y[:50], alphas=5)  # compile apart
    t0 = time.perf_counter()
    res = jaxreg.lasso_path(X, y, alphas=100, tol=TOL)
    seconds = time.perf_counter() - t0
    rows, gaps = reach(X, y, res)
    yy = float(np.mean((y - y.mean()) ** 2))
    rmatvec = centred_products(X)[0]
    r = np.random.default_rng(0).standard_normal(X.shape[0])
    times = []
    for _ in range(5):
        t = time.perf_counter()
        rmatvec(r)
        times.append(time.perf_counter() - t)
    return dict(
        name=name, n=X.shape[0], p=X.shape[1], seconds=seconds,
        strategy=res.strategy, converged=int(res.converged.sum()),
        max_rel_gap=float(gaps.max() / yy), certified=bool(gaps.max() <= TOL * yy),
        rmatvec_s=float(np.median(times)), levels=rows,
        restricted=restricted_costs(X),
    )  # fmt: skip


def report(results):
    lines = [
        "# Gap-safe screening's reach along wide lasso paths",
        "",
        f"100 alphas to 1e-3·alpha_max, tol {TOL:g}, float64; "
        f"{platform.platform()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Features the sequential gap-safe test keeps (of p), by level, next to "
        "the support and the sequential strong rule's candidates.",
        "",
    ]
    for res in results:
        lines += [
            f"## {res['name']} (n={res['n']}, p={res['p']})",
            "",
            f"jaxreg {res['seconds']:.2f} s ({res['strategy']}, "
            f"{res['converged']}/100 converged, largest recomputed gap "
            f"{res['max_rel_gap']:.1e} of ||y − ȳ||²/n, certified: "
            f"{res['certified']}). One full Xᵀr: {1e3 * res['rmatvec_s']:.1f} ms; "
            f"100 of them (one a level): {100 * res['rmatvec_s']:.2f} s.",
            "",
            "| level | alpha | support | strong-rule candidates | gap-safe keeps "
            "| share kept |",
            "|---|---|---|---|---|---|",
        ]
        for row in res["levels"]:
            if row["level"] % 10 == 0 or row["level"] == len(res["levels"]) - 1:
                lines.append(
                    f"| {row['level']} | {row['alpha']:.3g} | {row['support']} | "
                    f"{row['strong']} | {row['gap_safe_kept']} | "
                    f"{row['gap_safe_kept'] / res['p']:.0%} |"
                )
        kept = np.array([r["gap_safe_kept"] for r in res["levels"]])
        lines += [
            "",
            f"Mean share kept over the path: {kept.mean() / res['p']:.0%}; "
            f"over the last half: {kept[len(kept) // 2 :].mean() / res['p']:.0%}.",
            "",
        ]
        costs = path_costs(res)
        if costs is not None:
            lines += [
                "Xᵀr over the kept columns only (one product a level, kept shares "
                "as above):",
                "",
                "| share kept | gathered per product ms | on a compacted copy ms |",
                "|---|---|---|",
            ]
            lines += [
                f"| {c['share']:.0%} | {1e3 * c['gathered']:.1f} | "
                f"{1e3 * c['compacted']:.1f} |"
                for c in res["restricted"]
            ]
            lines += [
                f"| 100% (the full product) | {1e3 * res['rmatvec_s']:.1f} | |",
                "",
                f"Over the path: full products {costs['full']:.2f} s; the kept "
                f"columns gathered per level {costs['gathered']:.2f} s; compacted "
                f"for free {costs['compacted']:.2f} s (the most screening could "
                f"save: {costs['full'] - costs['compacted']:.2f} s of the path's "
                f"{res['seconds']:.2f} s).",
                "",
            ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--designs",
        default="glmnet-500x20000,glmnet-500x50000,text-5000x50000",
        help="comma-separated: glmnet-NxP (rho 0.5) or text-NxP (density 1e-3)",
    )
    ap.add_argument("--out", default=os.path.join(HERE, "out", "screening"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name, X, y in designs(args.designs.split(",")):
        results.append(one(name, X, y))
        print(name, f"{results[-1]['seconds']:.2f} s", flush=True)
    save(args.out, results, report(results))


def save(out, results, text):
    """``out/results.json`` and ``out/report.md``; the report is printed."""
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
