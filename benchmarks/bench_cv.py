"""Benchmark: 5-fold, 100-alpha cross-validated lasso against scikit-learn's LassoCV.

Both sides get the same float64 data, the same folds (contiguous 5-fold, i.e.
``KFold(5)``), the same alpha grid (computed on all the data) and the same ``tol``
(the duality-gap rule ``gap <= tol·||y - ȳ||²/n`` both libraries use). Timed:

* ``jaxreg.cv.cv_path``: every fold × every alpha, plus the path on all the data,
  in one batched computation;
* ``jaxreg.estimators.LassoCV``: the same behind scikit-learn's interface;
* ``sklearn.linear_model.LassoCV``: coordinate descent per fold, then a refit.

Before anything is reported the results are checked: every jaxreg fold and alpha
must be certified (duality gap within tol), the mean CV curves must agree, and the
selected alpha must be as good as scikit-learn's on scikit-learn's own curve (the
solvers stop at different points within tol, so a flat minimum may move by a grid
step). The first jaxreg call (compilation included) is timed separately; the
reported jaxreg time is the median of ``--repeats`` further calls, scikit-learn's
the median of ``--sklearn-repeats`` calls.

Run as ``python benchmarks/bench_cv.py`` (the issue's problem: n=10000, p=500) or
``python benchmarks/bench_cv.py --preset small`` for a quick check.
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
    # (n_samples, n_features)
    "issue": (10_000, 500),
    "small": (2_000, 100),
    # The one-engine issue: 5-fold LassoCV at 4000 x 200, tol 1e-6.
    "cv4000": (4_000, 200),
}


def _median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times), times


def run(n, p, *, n_alphas, n_folds, tol, repeats, sklearn_repeats, seed):
    import jax
    import sklearn
    from sklearn.linear_model import LassoCV as SkLassoCV
    from sklearn.model_selection import KFold

    from jaxreg import reference
    from jaxreg.cv import cv_path
    from jaxreg.estimators import LassoCV

    X, y, _ = reference.make_glmnet_design(n, p, rho=0.5, snr=3.0, seed=seed)
    folds = KFold(n_folds)
    row = dict(
        n_samples=n,
        n_features=p,
        n_alphas=n_alphas,
        n_folds=n_folds,
        tol=tol,
        jax=jax.__version__,
        sklearn=sklearn.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        cpu_count=os.cpu_count(),
        device=str(jax.devices()[0]),
    )

    def jaxreg_cv():
        return cv_path(X, y, cv=n_folds, alphas=n_alphas, tol=tol)

    t0 = time.perf_counter()
    res = jaxreg_cv()
    row["jaxreg_cv_path_first_s"] = time.perf_counter() - t0
    res, row["jaxreg_cv_path_s"], times = _median_time(jaxreg_cv, repeats)
    row["jaxreg_cv_path_times_s"] = times

    est = LassoCV(cv=folds, alphas=n_alphas, tol=tol)
    t0 = time.perf_counter()
    est.fit(X, y)
    row["jaxreg_LassoCV_first_s"] = time.perf_counter() - t0
    _, row["jaxreg_LassoCV_s"], times = _median_time(lambda: est.fit(X, y), repeats)
    row["jaxreg_LassoCV_times_s"] = times

    sk = SkLassoCV(cv=folds, alphas=n_alphas, tol=tol)
    _, row["sklearn_LassoCV_s"], times = _median_time(
        lambda: sk.fit(X, y), sklearn_repeats
    )
    row["sklearn_LassoCV_times_s"] = times

    # Checks: certificates, the grid, the curves, the selected alpha.
    ok_cert = bool(res.fold_converged.all() and res.path.converged.all())
    grid_err = float(np.max(np.abs(res.alphas - sk.alphas_) / sk.alphas_))
    sk_curve = sk.mse_path_.mean(axis=1)
    curve_err = float(np.max(np.abs(res.mse_mean - sk_curve) / sk_curve))
    i_ours = int(np.argmin(np.abs(sk.alphas_ - est.alpha_)))
    # Our choice evaluated on scikit-learn's curve, relative to its minimum.
    regret = float(sk_curve[i_ours] / sk_curve.min() - 1.0)
    coef_err = float(np.max(np.abs(est.coef_ - sk.coef_)) / np.max(np.abs(sk.coef_)))
    row.update(
        certified=ok_cert,
        grid_rel_err=grid_err,
        cv_curve_rel_err=curve_err,
        alpha_jaxreg=float(est.alpha_),
        alpha_sklearn=float(sk.alpha_),
        alpha_index_jaxreg=i_ours,
        alpha_index_sklearn=int(np.argmin(np.abs(sk.alphas_ - sk.alpha_))),
        selected_mse_regret=regret,
        coef_rel_err=coef_err,
    )
    row["ok"] = bool(
        ok_cert and grid_err < 1e-10 and curve_err < 1e-2 and regret < 1e-3
    )
    row["speedup_cv_path"] = row["sklearn_LassoCV_s"] / row["jaxreg_cv_path_s"]
    row["speedup_LassoCV"] = row["sklearn_LassoCV_s"] / row["jaxreg_LassoCV_s"]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="issue")
    parser.add_argument("--alphas", type=int, default=100)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sklearn-repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="append the result as one JSON line here")
    args = parser.parse_args(argv)
    n, p = PRESETS[args.preset]
    row = run(
        n,
        p,
        n_alphas=args.alphas,
        n_folds=args.folds,
        tol=args.tol,
        repeats=args.repeats,
        sklearn_repeats=args.sklearn_repeats,
        seed=args.seed,
    )
    row["preset"] = args.preset
    print(
        f"{args.folds}-fold x {args.alphas} alphas, n={n}, p={p}, tol={args.tol:g}, "
        f"{row['device']} ({row['cpu_count']} CPUs)"
    )
    print(
        f"  jaxreg cv_path   first {row['jaxreg_cv_path_first_s']:8.2f} s   "
        f"median {row['jaxreg_cv_path_s']:8.2f} s   "
        f"speedup x{row['speedup_cv_path']:.1f}"
    )
    print(
        f"  jaxreg LassoCV   first {row['jaxreg_LassoCV_first_s']:8.2f} s   "
        f"median {row['jaxreg_LassoCV_s']:8.2f} s   "
        f"speedup x{row['speedup_LassoCV']:.1f}"
    )
    print(
        f"  sklearn LassoCV                      median "
        f"{row['sklearn_LassoCV_s']:8.2f} s"
    )
    print(
        f"  checks: certified={row['certified']} curve_rel_err="
        f"{row['cv_curve_rel_err']:.1e} alpha jaxreg/sklearn="
        f"{row['alpha_jaxreg']:.4g}/{row['alpha_sklearn']:.4g} (regret "
        f"{row['selected_mse_regret']:.1e}) coef_rel_err={row['coef_rel_err']:.1e} "
        f"-> ok={row['ok']}"
    )
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")
    return 0 if row["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
