"""Accuracy: jaxreg's binomial objective against scikit-learn's LogisticRegression.

On the 10,000 × 1,000 design of ``bench_glm.py`` (and on breast_cancer,
standardized), at three fractions of the lasso's alpha_max, for the lasso (l1_ratio=1,
scikit-learn's saga) and for ridge (l1_ratio=0, lbfgs), both at tight tolerances.
scikit-learn's ``C`` is ``1/(n·alpha)``; its intercept is unpenalized (saga,
lbfgs), so both minimise glmnet's objective.

For each point the record gives both objectives (:func:`jaxreg.reference.
glm_objective`), their difference relative to ``D_null/n``, and both duality gaps
recomputed by :func:`jaxreg.reference.glm_duality_gap`. The check: jaxreg's
objective is within ``tol·D_null/n`` of scikit-learn's or below it (the optimum
lies between an objective and that objective minus its gap, so
``obj_jaxreg - obj_sklearn <= gap_jaxreg``).

Run as ``python benchmarks/bench_glm_accuracy.py --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def datasets(rows, features):
    from sklearn.datasets import load_breast_cancer

    from benchmarks.bench_glm import problem

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    yield "breast_cancer", X, y.astype(float)
    X, y = problem(rows, features, 0.5)
    yield f"synthetic {rows}x{features}", X, y


def sklearn_fit(X, y, alpha, l1_ratio, tol):
    from sklearn.linear_model import LogisticRegression

    n = X.shape[0]
    solver = "saga" if l1_ratio > 0 else "lbfgs"
    est = LogisticRegression(
        C=1.0 / (n * alpha), l1_ratio=l1_ratio, solver=solver, tol=tol,
        max_iter=1_000_000,
    )  # fmt: skip
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est.coef_[0], float(est.intercept_[0]), time.perf_counter() - t0, solver


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=1_000)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--sklearn-tol", type=float, default=1e-10)
    ap.add_argument("--fractions", default="0.3,0.1,0.03")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    import jaxreg
    from jaxreg import reference as ref

    fracs = [float(f) for f in args.fractions.split(",")]
    records = []
    for name, X, y in datasets(args.rows, args.features):
        ybar = y.mean()
        null = -2.0 * np.mean(y * np.log(ybar) + (1 - y) * np.log(1 - ybar))
        # the lasso's alpha_max scales both grids (the ridge's is infinite)
        amax = jaxreg.enet_path(
            X, y, family="binomial", l1_ratio=1.0, alphas=1
        ).alpha_max
        alphas = amax * np.asarray(fracs)
        for l1_ratio in (1.0, 0.0):
            res = jaxreg.enet_path(
                X, y, family="binomial", l1_ratio=l1_ratio, alphas=alphas, tol=args.tol
            )
            for i, a in enumerate(alphas):
                cw, cb, sec, solver = sklearn_fit(X, y, a, l1_ratio, args.sklearn_tol)
                kw = dict(family="binomial", l1_ratio=l1_ratio)
                jw, jb = res.coefs[i], res.intercepts[i]
                oj = ref.glm_objective(X, y, jw, jb, a, **kw)
                os_ = ref.glm_objective(X, y, cw, cb, a, **kw)
                gj = ref.glm_duality_gap(X, y, jw, jb, a, **kw) / null
                gs = ref.glm_duality_gap(X, y, cw, cb, a, **kw) / null
                diff = (oj - os_) / null
                rec = dict(
                    data=name, l1_ratio=l1_ratio, alpha_fraction=fracs[i],
                    alpha=float(a), sklearn_solver=solver, sklearn_seconds=sec,
                    obj_jaxreg=oj, obj_sklearn=os_, diff_rel=diff,
                    gap_jaxreg_rel=gj, gap_sklearn_rel=gs,
                    df_jaxreg=int((jw != 0).sum()),
                    ok=bool(gj <= args.tol and diff <= args.tol),
                )  # fmt: skip
                print(rec, flush=True)
                records.append(rec)
    meta = dict(
        rows=args.rows, features=args.features, tol=args.tol,
        sklearn_tol=args.sklearn_tol,
        machine=f"{platform.platform()}, {os.cpu_count()} CPUs",
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )  # fmt: skip
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(meta=meta, records=records), f, indent=1)
    lines = [
        "# Binomial objectives: jaxreg against scikit-learn's LogisticRegression",
        "",
        f"jaxreg at tol {args.tol} (of D_null/n); scikit-learn at tol "
        f"{args.sklearn_tol} (saga for l1_ratio=1, lbfgs for l1_ratio=0); "
        f"{meta['machine']}, {meta['date']}. Objectives and gaps by jaxreg.reference; "
        "differences and gaps relative to D_null/n.",
        "",
        "| data | l1_ratio | alpha / alpha_max | df | jaxreg − sklearn | "
        "jaxreg gap | sklearn gap | sklearn s | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['data']} | {r['l1_ratio']:g} | {r['alpha_fraction']:g} | "
            f"{r['df_jaxreg']} | {r['diff_rel']:+.2e} | {r['gap_jaxreg_rel']:.2e} | "
            f"{r['gap_sklearn_rel']:.2e} | {r['sklearn_seconds']:.1f} | {r['ok']} |"
        )
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
