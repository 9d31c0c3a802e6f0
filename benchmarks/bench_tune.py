"""Benchmark: one penalty factor per feature tuned by gradient (``jaxreg.tune``)
against grid cross-validation (``jaxreg.cv_path``) on the same data and folds.

The data: ``rows`` training rows and ``test_rows`` fresh rows from the same model,
X standard Gaussian, y = Xβ + σε with β_j ~ N(0, 1) on the first ``informative``
features and 0 on the others (half of them by default: noise features), σ =
``noise``. Every method uses 5 contiguous folds and tol 1e-4 (the gap rule
``gap <= tol·||y − ȳ||²/n`` on every fold), float64:

- grid: ``cv_path`` over its default 100 alphas; the model at ``alpha_min``;
- tune alpha: ``tune(params="alpha")`` from its default start;
- tune penalty factors: ``tune(params="penalty_factor")`` (``rows`` × ``features``
  factors) from its default start.

Timed: a first call (compilation included), then the median of ``--repeats``
calls. Validated before anything is recorded: every grid fold and the all-data
path certified; every tune's folds at the best step and its final fit
certified (``converged``); the CV error tune reports recomputed independently by
``cv_path`` at the tuned alpha and penalty factors (tol 1e-10) and agreeing to
1e-6 relative; the final fit's duality gap recomputed by the NumPy reference
(:func:`jaxreg.reference.duality_gap`) within tol. Reported: times and their
ratio to the grid, the CV error, the error on the fresh rows, and the support
(true and noise features selected). The trajectory is drawn in
``tune-trajectory.png``.

Run as ``python benchmarks/bench_tune.py --out DIR`` (the issue's 10,000 × 1,000).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def problem(n, n_test, p, informative, noise, seed):
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:informative] = rng.normal(size=informative)
    X, Xt = rng.normal(size=(n, p)), rng.normal(size=(n_test, p))
    y = X @ beta + noise * rng.normal(size=n)
    yt = Xt @ beta + noise * rng.normal(size=n_test)
    return X, y, Xt, yt, beta


def timed(fn, repeats):
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, first, statistics.median(times), times


def support(coef, informative):
    nz = coef != 0
    return dict(selected=int(nz.sum()), true=int(nz[:informative].sum()),
                noise=int(nz[informative:].sum()))  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=1_000)
    ap.add_argument("--informative", type=int, default=None)
    ap.add_argument("--test-rows", type=int, default=20_000)
    ap.add_argument("--noise", type=float, default=5.0)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    import jax

    import jaxreg
    from jaxreg import reference

    k = args.informative or args.features // 2
    X, y, Xt, yt, _ = problem(args.rows, args.test_rows, args.features, k,
                              args.noise, args.seed)  # fmt: skip
    yy = float(np.var(y))
    records, failures = [], []

    def record(name, seconds, first, times, coef, intercept, cv_mse, extra):
        test = float(np.mean((yt - Xt @ coef - intercept) ** 2))
        rec = dict(method=name, seconds=seconds, first_call_s=first, times=times,
                   cv_mse=cv_mse, test_mse=test, **support(coef, k),
                   **extra)  # fmt: skip
        records.append(rec)
        print(json.dumps(rec), flush=True)

    # grid CV
    cv_kw = dict(cv=args.folds, tol=args.tol)
    grid, first, sec, times = timed(lambda: jaxreg.cv_path(X, y, **cv_kw), args.repeats)
    if not (grid.fold_converged.all() and grid.path.converged.all()):
        failures.append("grid: some fold or path alpha not certified")
    i = grid.index_min
    record("grid cv_path (100 alphas)", sec, first, times, grid.path.coefs[i],
           float(grid.path.intercepts[i]), float(grid.mse_mean[i]),
           dict(alpha=float(grid.alpha_min)))  # fmt: skip

    tuned = {}
    for params in ("alpha", "penalty_factor"):
        kw = dict(cv=args.folds, tol=args.tol, params=params)
        res, first, sec, times = timed(
            lambda kw=kw: jaxreg.tune(X, y, **kw), args.repeats
        )
        tuned[params] = res
        check = jaxreg.cv_path(
            X, y, cv=args.folds, alphas=[res.alpha], tol=1e-10,
            penalty_factor=res.penalty_factor,
        )  # fmt: skip
        rel = abs(float(check.mse_mean[0]) - res.cv_mse) / res.cv_mse
        gap = float(reference.duality_gap(
            X, y, res.coef, res.intercept, res.alpha,
            penalty_factor=res.penalty_factor,
        ))  # fmt: skip
        if not res.converged:
            failures.append(f"tune({params}): not converged")
        if not rel <= 1e-6:
            failures.append(f"tune({params}): CV error differs from cv_path's by {rel}")
        if not gap <= args.tol * yy:
            failures.append(f"tune({params}): reference gap {gap} above tol")
        pf = res.penalty_factor
        extra = dict(alpha=res.alpha, steps=res.n_steps, best_step=res.best_step,
                     cv_mse_check_rel=rel, reference_gap=gap, gap_tol=args.tol * yy,
                     pf_median_true=float(np.median(pf[:k])),
                     pf_median_noise=float(np.median(pf[k:])))  # fmt: skip
        name = f"tune {params}" + (f" ({pf.size} factors)" if params != "alpha" else "")
        record(name, sec, first, times, res.coef, res.intercept, res.cv_mse, extra)

    base = records[0]["seconds"]
    for rec in records:
        rec["ratio_to_grid"] = rec["seconds"] / base
    meta = dict(
        rows=args.rows, features=args.features, informative=k, noise=args.noise,
        test_rows=args.test_rows, folds=args.folds, tol=args.tol,
        repeats=args.repeats, seed=args.seed, jax=jax.__version__,
        backend=jax.default_backend(),
        machine=f"{platform.platform()}, {os.cpu_count()} CPUs",
        validated=not failures, failures=failures,
    )  # fmt: skip
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(meta=meta, records=records), f, indent=1)
    lines = [
        f"# Tuning by gradient against grid CV: {args.rows} x {args.features}, "
        f"{k} informative, noise {args.noise}, {args.folds} folds, tol {args.tol}",
        "",
        f"{meta['machine']}; jax {jax.__version__} ({meta['backend']}); "
        f"validated: {'yes' if not failures else 'NO: ' + '; '.join(failures)}",
        "",
        "| method | time (s, median) | first call (s) | × grid | CV MSE | "
        "test MSE | selected | true | noise |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['method']} | {r['seconds']:.2f} | {r['first_call_s']:.2f} | "
            f"{r['ratio_to_grid']:.2f} | {r['cv_mse']:.4f} | {r['test_mse']:.4f} | "
            f"{r['selected']} | {r['true']} | {r['noise']} |"
        )
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from jaxreg import plot

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
        plot.tune_trajectory(tuned["alpha"], ax=axes[0], grid=grid,
                             title="tune(params='alpha')")  # fmt: skip
        title = f"tune(params='penalty_factor'), {args.features} factors"
        plot.tune_trajectory(tuned["penalty_factor"], ax=axes[1], grid=grid,
                             title=title)  # fmt: skip
        fig.savefig(os.path.join(args.out, "tune-trajectory.png"), dpi=110)
    except ImportError:
        print("matplotlib not installed: no trajectory plot")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
