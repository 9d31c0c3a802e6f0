"""Benchmark: a 100-alpha ridge path in closed form against scikit-learn.

Compares, on the same float64 data and the same alphas:

* ``jaxreg.ridge.ridge_path`` (one decomposition for every alpha) against
  scikit-learn's ``Ridge`` fitted once per alpha (``Ridge(alpha=n·a)``);
* ``jaxreg.ridge.ridge_cv`` (the path plus the exact leave-one-out error of
  every alpha, one decomposition) against ``RidgeCV(alphas=n·grid)`` (cv=None).

Every jaxreg result is checked before it is reported: coefficients against
scikit-learn's at the looped alphas (and against ``jaxreg.reference`` on three
alphas when p is small enough for its direct solves), and the selected alpha and
best score against ``RidgeCV``. The first jaxreg call (compilation) is timed
separately; the reported time is the median of ``--repeats`` further calls.

Run as ``python -m benchmarks.bench_ridge`` or ``python benchmarks/bench_ridge.py``
(``--preset small`` for a quick check, ``--loop-alphas K`` to loop scikit-learn's
Ridge over K of the 100 alphas only, reported per alpha and scaled to 100).
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

PRESETS = {
    # (name, n_samples, n_features)
    "large": [("tall", 20_000, 1_000), ("wide", 500, 20_000)],
    "small": [("tall", 2_000, 100), ("wide", 100, 2_000)],
}
REFERENCE_MAX_FEATURES = 5_000  # reference.ridge_path solves p × p systems


def _timed(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def _rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def run_problem(name, n, p, *, n_alphas, repeats, loop_alphas, seed, rtol):
    from sklearn.linear_model import Ridge, RidgeCV

    from jaxreg import reference
    from jaxreg.ridge import ridge_cv, ridge_path

    X, y, _ = reference.make_glmnet_design(n, p, rho=0.5, snr=3.0, seed=seed)
    row = dict(problem=name, n_samples=n, n_features=p, n_alphas=n_alphas)

    # jaxreg path: compile + first run, then the median of repeats.
    t0 = time.perf_counter()
    path = ridge_path(X, y, alphas=n_alphas)
    row["jaxreg_path_first_s"] = time.perf_counter() - t0
    path, times = _timed(lambda: ridge_path(X, y, alphas=n_alphas), repeats)
    row["jaxreg_path_s"] = statistics.median(times)
    row["jaxreg_method"] = path.mode
    grid = path.alphas

    # scikit-learn Ridge looped over the alphas (all of them, or an even subset).
    idx = np.unique(
        np.linspace(0, n_alphas - 1, min(loop_alphas, n_alphas)).round().astype(int)
    )
    t0 = time.perf_counter()
    sk_coefs = [Ridge(alpha=grid[i] * n).fit(X, y).coef_ for i in idx]
    loop_s = time.perf_counter() - t0
    row["sklearn_loop_alphas"] = int(len(idx))
    row["sklearn_loop_s"] = loop_s
    row["sklearn_loop_per_100_s"] = loop_s / len(idx) * 100
    row["speedup_vs_loop"] = (
        row["sklearn_loop_per_100_s"] / row["jaxreg_path_s"] * (n_alphas / 100)
    )
    row["coef_rel_err_vs_sklearn"] = max(
        _rel_err(path.coefs[i], c) for i, c in zip(idx, sk_coefs, strict=True)
    )
    if p <= REFERENCE_MAX_FEATURES:
        pick = [0, n_alphas // 2, n_alphas - 1]
        ref = reference.ridge_path(X, y, alphas=grid[pick])
        row["coef_rel_err_vs_reference"] = _rel_err(path.coefs[pick], ref["coefs"])

    # Path + exact LOO (one decomposition) against RidgeCV.
    t0 = time.perf_counter()
    cv = ridge_cv(X, y, alphas=grid)
    row["jaxreg_cv_first_s"] = time.perf_counter() - t0
    cv, times = _timed(lambda: ridge_cv(X, y, alphas=grid), repeats)
    row["jaxreg_cv_s"] = statistics.median(times)
    t0 = time.perf_counter()
    est = RidgeCV(alphas=grid * n).fit(X, y)
    row["sklearn_ridgecv_s"] = time.perf_counter() - t0
    row["speedup_vs_ridgecv"] = row["sklearn_ridgecv_s"] / row["jaxreg_cv_s"]
    row["alpha_agrees"] = bool(np.isclose(cv.alpha_best * n, est.alpha_, rtol=1e-10))
    row["best_score_rel_err"] = _rel_err(-cv.cv_values[cv.index_best], est.best_score_)
    row["cv_coef_rel_err"] = _rel_err(cv.coef, est.coef_)

    errs = [
        row["coef_rel_err_vs_sklearn"],
        row["best_score_rel_err"],
        row["cv_coef_rel_err"],
        row.get("coef_rel_err_vs_reference", 0.0),
    ]
    row["ok"] = bool(row["alpha_agrees"] and max(errs) <= rtol)
    return row


def _environment():
    import jax
    import sklearn

    return dict(
        jax=jax.__version__,
        sklearn=sklearn.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        backend=jax.default_backend(),
        cpu_count=os.cpu_count(),
        dtype="float64",
    )


def _report(rows, env):
    lines = [
        f"jax {env['jax']} ({env['backend']}), scikit-learn {env['sklearn']}, "
        f"numpy {env['numpy']}, {env['cpu_count']} CPUs, float64",
        "",
        "| problem | method | jaxreg path (s) | sklearn Ridge loop, per 100 alphas (s) "
        "| speedup | jaxreg path+LOO (s) | RidgeCV (s) | speedup | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        loop = f"{r['sklearn_loop_per_100_s']:.2f}"
        if r["sklearn_loop_alphas"] < 100:
            loop += f" (from {r['sklearn_loop_alphas']} fits)"
        lines.append(
            f"| {r['problem']} {r['n_samples']}x{r['n_features']} | "
            f"{r['jaxreg_method']} | {r['jaxreg_path_s']:.3f} | {loop} | "
            f"{r['speedup_vs_loop']:.0f}x | {r['jaxreg_cv_s']:.3f} | "
            f"{r['sklearn_ridgecv_s']:.2f} | {r['speedup_vs_ridgecv']:.1f}x | "
            f"{'yes' if r['ok'] else 'NO'} |"
        )
    lines.append("")
    lines.append(
        "First calls (compilation included): "
        + ", ".join(
            f"{r['problem']} path {r['jaxreg_path_first_s']:.2f} s / path+LOO "
            f"{r['jaxreg_cv_first_s']:.2f} s"
            for r in rows
        )
    )
    lines.append(
        "Max relative errors: "
        + ", ".join(
            f"{r['problem']} coef vs sklearn {r['coef_rel_err_vs_sklearn']:.1e}, "
            f"best score {r['best_score_rel_err']:.1e}"
            for r in rows
        )
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="large")
    ap.add_argument(
        "--problems",
        default=None,
        help="comma-separated subset of the preset: tall,wide",
    )
    ap.add_argument("--n-alphas", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--loop-alphas",
        type=int,
        default=100,
        help="how many of the alphas scikit-learn's Ridge is looped over",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--rtol", type=float, default=1e-6, help="largest relative error accepted as ok"
    )
    ap.add_argument("--json", default=None, help="write the rows to this file")
    args = ap.parse_args(argv)
    for name in ("n_alphas", "repeats", "loop_alphas"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be a positive integer.")
    problems = PRESETS[args.preset]
    if args.problems:
        wanted = args.problems.split(",")
        unknown = set(wanted) - {name for name, _, _ in problems}
        if unknown:
            ap.error(f"--problems must name problems of the preset, got {unknown}.")
        problems = [pr for pr in problems if pr[0] in wanted]
    env = _environment()
    rows = []
    for name, n, p in problems:
        print(f"running {name} n={n} p={p} ...", file=sys.stderr, flush=True)
        rows.append(
            run_problem(
                name,
                n,
                p,
                n_alphas=args.n_alphas,
                repeats=args.repeats,
                loop_alphas=args.loop_alphas,
                seed=args.seed,
                rtol=args.rtol,
            )
        )
    print(_report(rows, env))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(environment=env, rows=rows), fh, indent=2)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
