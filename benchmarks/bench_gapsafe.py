"""What ``screen="gapsafe"`` changes on the batched FISTA route.

``screen="gapsafe"`` (:mod:`jaxreg.solvers.gap_safe`) adds, at every gap check
of the FISTA loop, gap-safe sphere tests (features proven 0 are held there for
the rest of their level) and celer's extrapolated dual point (the smaller of
its gap and the plain one certifies the level; one more product per check).
This script times the same path with ``screen="none"`` and ``"gapsafe"``,
``strategy="hybrid"`` (the CPU's FISTA route; ``"auto"`` would take the
active-set solver on the wide design), the lasso with an intercept, 100
alphas, tol 1e-6, float64. Each solver is run once to compile, then
``--repeats`` times; the median is reported, with the total FISTA iterations.
Every timed path is validated first: every level's duality gap is recomputed
in NumPy from X (:func:`benchmarks.bench_screening.reach`) and must be at most
tol·||y − ȳ||²/n.

Run as ``python benchmarks/bench_gapsafe.py --out DIR`` (about 4 minutes on a
2-core CPU); results go to ``DIR/results.json`` and ``DIR/report.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

TOL = 1e-6
SCREENS = ("none", "gapsafe")
# name: (n, p, rho, eps): the glmnet-paper designs of bench_extrapolation, a
# wide one to 1e-2·alpha_max (FISTA's hard end there) and two tall ones
DESIGNS = {
    "wide-200x2000": (200, 2000, 0.5, 1e-2),
    "tall-1000x100": (1000, 100, 0.95, 1e-3),
    "tall-5000x500": (5000, 500, 0.5, 1e-3),
}


def one(name, repeats):
    import jaxreg
    from benchmarks.bench_screening import reach
    from benchmarks.problems import glmnet_problem, make_data

    n, p, rho, eps = DESIGNS[name]
    family = "wide" if p > n else "glmnet"
    X, y = make_data(glmnet_problem(n, p, rho, family=family))
    yy = float(np.mean((y - y.mean()) ** 2))
    out = dict(name=name, n=n, p=p, rho=rho, eps=eps, solvers={})
    for screen in SCREENS:
        kw = dict(alphas=100, eps=eps, tol=TOL, strategy="hybrid", screen=screen)
        t0 = time.perf_counter()
        res = jaxreg.lasso_path(X, y, **kw)  # compiles
        first = time.perf_counter() - t0
        _, gaps = reach(X, y, res)
        rel = float(gaps.max() / yy)
        if not (res.converged.all() and rel <= TOL):
            raise RuntimeError(f"{name} {screen}: not certified (gap {rel:.2e})")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            again = jaxreg.lasso_path(X, y, **kw)
            times.append(time.perf_counter() - t0)
            assert np.array_equal(again.coefs, res.coefs)  # the same, validated path
        out["solvers"][screen] = dict(
            first_s=first, median_s=float(np.median(times)), times=times,
            n_iter=int(np.sum(res.n_iter)), max_rel_gap=rel,
            support_last=int(np.count_nonzero(res.coefs[-1])),
        )  # fmt: skip
        print(name, screen, f"{np.median(times):.2f} s", int(np.sum(res.n_iter)),
              flush=True)  # fmt: skip
    return out


def report(results):
    lines = [
        '# screen="gapsafe" against screen="none" on the FISTA route',
        "",
        f"Lasso with intercept, 100 alphas, tol {TOL:g}, float64, "
        f'strategy="hybrid"; {platform.platform()}, {os.cpu_count()} CPUs, '
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Median of the "
        "repeats after a first (compiling) call; every path's gaps recomputed in "
        "NumPy (largest shown, relative to ||y − ȳ||²/n).",
        "",
        "| design | eps | screen | first call s | median s | FISTA iterations "
        "| largest gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for screen, r in res["solvers"].items():
            lines.append(
                f"| {res['name']} (ρ {res['rho']:g}) | {res['eps']:g} | {screen} | "
                f"{r['first_s']:.2f} | {r['median_s']:.2f} | {r['n_iter']} | "
                f"{r['max_rel_gap']:.1e} |"
            )
    lines.append("")
    for res in results:
        a, b = res["solvers"]["none"], res["solvers"]["gapsafe"]
        lines.append(
            f"- {res['name']}: gapsafe {b['median_s'] / a['median_s']:.2f}× the "
            f"time of none, {b['n_iter'] / a['n_iter']:.3f}× its iterations."
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--designs", default=",".join(DESIGNS), help="of " + ", ".join(DESIGNS)
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "gapsafe"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = [one(name, args.repeats) for name in args.designs.split(",")]
    from benchmarks.bench_screening import save

    save(args.out, results, report(results))


if __name__ == "__main__":
    main()
