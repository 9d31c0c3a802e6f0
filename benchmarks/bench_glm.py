"""Benchmark: a binomial (logistic) lasso / elastic-net path, jaxreg against peers.

The data: ``make_glmnet_design(rows, features, rho)`` (equicorrelated Gaussian
columns), 20 true coefficients, y ~ Bernoulli(sigmoid(Xβ/2)). Every solver fits
glmnet's objective ``(1/n)·Σ log(1 + e^η) - y·η + alpha·penalty`` with an
intercept on the same grid (100 alphas from alpha_max down to eps·alpha_max):

- jaxreg: ``enet_path(family="binomial")`` (compile timed apart: a first call,
  then the timed one); ``jaxreg-fista``: the same with ``screen="none"`` (FISTA
  on every column, no working sets, on designs wider than 127 features);
- scikit-learn: ``LogisticRegression(solver="saga", warm_start=True)`` along the
  grid (``C = 1/(n·alpha)``), tol 1e-8;
- skglm: ``SparseLogisticRegression`` (warm-started along the grid), tol 1e-8.

``--density D`` swaps in a text-like CSR instead (each entry present with
probability D, positive values, scipy.sparse), given as it is to every solver
that takes sparse X (jaxreg, scikit-learn, skglm; glmnet is skipped).

python-glmnet's ``LogitNet`` is tried when it imports. Each result is then
validated here: every alpha's duality gap is recomputed by jaxreg's NumPy
reference (:func:`jaxreg.reference.glm_duality_gap`, its own dual point) and a
path counts as certified only when every gap is <= tol·D_null/n.

Run as ``python benchmarks/bench_glm.py --rows 10000 --features 1000 --out DIR``.
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


def problem(n, p, rho, seed=0):
    from jaxreg import reference as ref

    X, _, _ = ref.make_glmnet_design(n, p, rho=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    beta = np.zeros(p)
    beta[:20] = rng.normal(size=20)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-0.5 * (X @ beta)))).astype(float)
    return X, y


def sparse_problem(n, p, density, seed=0):
    """A CSR with about ``n·p·density`` positive entries at uniform positions,
    20 true coefficients on its features, centred linear predictor."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    nnz = int(round(n * p * density))
    rows, cols = rng.integers(0, n, nnz), rng.integers(0, p, nnz)
    X = scipy.sparse.csr_matrix((rng.exponential(1.0, nnz), (rows, cols)), (n, p))
    X.sum_duplicates()
    beta = np.zeros(p)
    beta[rng.choice(p, 20, replace=False)] = 3.0 * rng.normal(size=20)
    eta = X @ beta
    eta -= eta.mean()
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


def run_jaxreg(X, y, alphas, l1_ratio, tol, **options):
    import jaxreg

    kw = dict(family="binomial", l1_ratio=l1_ratio, alphas=alphas, tol=tol, **options)
    t0 = time.perf_counter()
    jaxreg.enet_path(X, y, **kw)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = jaxreg.enet_path(X, y, **kw)
    seconds = time.perf_counter() - t0
    extra = dict(first_call_s=first, n_iter_total=int(res.n_iter.sum()))
    return res.coefs, res.intercepts, seconds, extra


def run_sklearn(X, y, alphas, l1_ratio, limit):
    from sklearn.linear_model import LogisticRegression

    n = X.shape[0]
    est = LogisticRegression(
        l1_ratio=l1_ratio, solver="saga", tol=1e-8, max_iter=100_000, warm_start=True
    )
    coefs, icpts = [], []
    t0 = time.perf_counter()
    for a in alphas:
        est.set_params(C=1.0 / (n * a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        coefs.append(est.coef_[0].copy())
        icpts.append(est.intercept_[0])
        if time.perf_counter() - t0 > limit:
            return None, None, time.perf_counter() - t0, dict(stopped=len(coefs))
    return np.array(coefs), np.array(icpts), time.perf_counter() - t0, {}


def run_skglm(X, y, alphas, l1_ratio, limit):
    from skglm import SparseLogisticRegression

    est = SparseLogisticRegression(
        l1_ratio=l1_ratio, tol=1e-8, max_iter=200, max_epochs=100_000, warm_start=True
    )
    coefs, icpts = [], []
    yy = 2.0 * y - 1.0  # skglm's labels are ±1
    t0 = time.perf_counter()
    for a in alphas:
        est.set_params(alpha=a)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, yy)
        coefs.append(np.ravel(est.coef_).copy())
        icpts.append(float(np.ravel(est.intercept_)[0]))
        if time.perf_counter() - t0 > limit:
            return None, None, time.perf_counter() - t0, dict(stopped=len(coefs))
    return np.array(coefs), np.array(icpts), time.perf_counter() - t0, {}


def run_glmnet(X, y, alphas, l1_ratio, limit, tol):
    """glmnet's Fortran (python-glmnet's LogitNet if it imports, else the library
    shipped in the glmnet_py wheel, see glmnet_fortran.py). glmnet's threshold
    is not a gap, so it is tightened tenfold from 1e-7 until the path is
    certified (or the time limit passes); the first certified run is the
    record, the others are listed in ``tries``."""
    try:
        from glmnet import LogitNet  # python-glmnet
    except ImportError:
        LogitNet = None
    if LogitNet is None:
        from benchmarks import glmnet_fortran

        glmnet_fortran._library()  # raises Unavailable (an ImportError)

        def fit(thresh):
            c, b, sec, info = glmnet_fortran.lognet_path(
                X, y, alphas, l1_ratio=l1_ratio, thresh=thresh
            )
            return c, b, sec, info
    else:

        def fit(thresh):
            est = LogitNet(alpha=l1_ratio, lambda_path=alphas, tol=thresh,
                           standardize=False, n_splits=0, max_iter=100_000)  # fmt: skip
            t0 = time.perf_counter()
            est.fit(X, y)
            sec = time.perf_counter() - t0
            return est.coef_path_[0].T, est.intercept_path_[0], sec, {}

    tries, spent = [], 0.0
    for e in range(7, 17):
        thresh = 10.0**-e
        c, b, sec, info = fit(thresh)
        spent += sec
        v = validate(X, y, alphas, l1_ratio, c, b, tol)
        tries.append(dict(thresh=thresh, seconds=sec, **info, **v))
        print(tries[-1], flush=True)
        if v["certified"]:
            return c, b, sec, dict(thresh=thresh, tries=tries)
        if spent > limit:
            break
    last = tries[-1]["thresh"]
    why = f"no threshold down to {last:g} certified ({spent:.0f} s in all)"
    return None, None, spent, dict(tries=tries, why=why)


def validate(X, y, alphas, l1_ratio, coefs, icpts, tol):
    from jaxreg import reference as ref

    ybar = y.mean()
    null = -2.0 * np.mean(y * np.log(ybar) + (1 - y) * np.log(1 - ybar))
    gaps = np.array([
        ref.glm_duality_gap(X, y, w, b, a, family="binomial", l1_ratio=l1_ratio)
        for w, b, a in zip(coefs, icpts, alphas, strict=True)
    ])  # fmt: skip
    rel = gaps / null
    return dict(
        certified=bool(np.all(rel <= tol)),
        max_rel_gap=float(np.max(rel)),
        worst_alpha_index=int(np.argmax(rel)),
        max_df=int((coefs != 0).sum(axis=1).max()),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=1_000)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--density", type=float, default=None,
                    help="a sparse CSR of this density instead")  # fmt: skip
    ap.add_argument("--l1-ratio", type=float, default=1.0)
    ap.add_argument("--alphas", type=int, default=100)
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--limit", type=float, default=600.0)
    ap.add_argument("--solvers", default="jaxreg,sklearn,skglm,glmnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", action="store_true",
                    help="only rewrite report.md from OUT/results.json")  # fmt: skip
    args = ap.parse_args(argv)
    if args.report:
        with open(os.path.join(args.out, "results.json")) as f:
            saved = json.load(f)
        return write_report(args.out, saved["meta"], saved["records"])
    os.makedirs(args.out, exist_ok=True)
    import jaxreg

    if args.density is None:
        X, y = problem(args.rows, args.features, args.rho)
    else:
        X, y = sparse_problem(args.rows, args.features, args.density)
    amax = jaxreg.enet_path(
        X, y, family="binomial", l1_ratio=args.l1_ratio, alphas=1
    ).alpha_max
    alphas = np.geomspace(amax, args.eps * amax, args.alphas)
    records = []
    runners = dict(sklearn=run_sklearn, skglm=run_skglm, glmnet=run_glmnet)
    for name in args.solvers.split(","):
        print(f"{name} ...", flush=True)
        if name == "glmnet" and args.density is not None:
            records.append(dict(solver=name, error="dense X only here"))
            continue
        try:
            if name in ("jaxreg", "jaxreg-fista"):
                opts = dict(screen="none") if name == "jaxreg-fista" else {}
                out = run_jaxreg(X, y, alphas, args.l1_ratio, args.tol, **opts)
            elif name == "glmnet":
                out = run_glmnet(X, y, alphas, args.l1_ratio, args.limit, args.tol)
            else:
                out = runners[name](X, y, alphas, args.l1_ratio, args.limit)
        except ImportError as exc:
            records.append(dict(solver=name, error=f"not installed: {exc}"))
            continue
        coefs, icpts, seconds, extra = out
        rec = dict(solver=name, seconds=seconds, **extra)
        if coefs is None:
            rec["error"] = extra.get("why", f"stopped at the {args.limit:g} s limit")
        else:
            rec.update(validate(X, y, alphas, args.l1_ratio, coefs, icpts, args.tol))
        print(rec, flush=True)
        records.append(rec)
    meta = dict(
        rows=args.rows, features=args.features, rho=args.rho, l1_ratio=args.l1_ratio,
        density=args.density, nnz=int(X.nnz) if args.density is not None else None,
        alphas=args.alphas, eps=args.eps, tol=args.tol,
        machine=f"{platform.platform()}, {os.cpu_count()} CPUs",
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )  # fmt: skip
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(meta=meta, records=records), f, indent=1)
    write_report(args.out, meta, records)


def write_report(out, meta, records):
    """report.md from the records (also ``--report DIR``: from its results.json)."""
    design = f"rho {meta['rho']}"
    if meta.get("density") is not None:
        design = f"CSR, density {meta['density']:g} ({meta['nnz']:,} non-zeros)"
    lines = [
        f"# Binomial path: {meta['rows']}×{meta['features']}, {design}, "
        f"l1_ratio {meta['l1_ratio']}",
        "",
        f"{meta['alphas']} alphas (eps {meta['eps']}), tol {meta['tol']} of D_null/n, "
        f"float64; {meta['machine']}, {meta['date']}. Gaps recomputed by "
        "jaxreg.reference.",
        "",
        "| solver | seconds | certified | max gap / (D_null/n) | max df | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        note = r.get("error", "")
        if "first_call_s" in r:
            note = f"first call {r['first_call_s']:.1f} s (compile and solve)"
        sec = f"{r['seconds']:.2f}" if "seconds" in r else ""
        gap = r.get("max_rel_gap", float("nan"))
        tries = r.get("tries", [])
        if tries:
            note = (
                (note + "; " if note else "")
                + "thresholds tried: "
                + ", ".join(
                    f"{t['thresh']:g} ({t['seconds']:.0f} s, "
                    f"gap {t['max_rel_gap']:.1e})"
                    for t in tries
                )
            )
            if not r.get("certified"):
                r = dict(r, certified=False)
                last = tries[-1]
                sec = f"> {last['seconds']:.0f}"
                gap = last["max_rel_gap"]
        lines.append(
            f"| {r['solver']} | {sec} | {r.get('certified', '')} | "
            f"{gap:.2e} | {r.get('max_df', '')} | {note} |"
        )
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
