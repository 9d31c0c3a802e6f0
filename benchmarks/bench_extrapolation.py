"""Does extrapolation certify FISTA's iterates sooner?

Two extrapolations from the last K + 1 iterates of FISTA (NumPy, float64, cold
start, step 1/L), evaluated every ``--every`` iterations at one alpha:

- celer's dual point (Massias, Gramfort & Salmon 2018): ``r_ext = Σ c_i r_i``,
  ``c = (UUᵀ)⁻¹1 / 1ᵀ(UUᵀ)⁻¹1``, ``U`` the K differences of K + 1 residuals,
  rescaled into the dual's feasible set like the plain residual; the gap is the
  smaller of the plain one and the one from ``r_ext`` (both valid);
- Anderson extrapolation of the iterates (Bertrand & Massias 2021, skglm's): the
  same combination of the last iterates, taken (and the momentum restarted)
  where its objective is lower; certified by its own plain gap.

Each runs on FISTA without restart and with the gradient-scheme adaptive
restart that jaxreg's loop always uses (O'Donoghue & Candès 2015), and the
script reports the iteration at which each first certifies the iterate
(``gap ≤ tol·||y − ȳ||²/n``). Designs: the glmnet-paper design, wide (200 ×
2000) and tall (1000 × 100 at ρ 0.95, 5000 × 500 at ρ 0.5).

Run as ``python benchmarks/bench_extrapolation.py --out DIR`` (a few minutes
on a 2-core CPU).
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


def dual_gap(X, y, w, r, theta, lam):
    """The lasso's gap at ``w`` (residual ``r``) from the dual point ``theta``
    (a residual-like vector) rescaled into the feasible set; and the primal."""
    n = X.shape[0]
    s = min(1.0, lam / max(np.abs(X.T @ theta).max() / n, np.finfo(float).tiny))
    primal = r @ r / (2 * n) + lam * np.abs(w).sum()
    dual = s * (theta @ y) / n - s * s * (theta @ theta) / (2 * n)
    return primal - dual, primal


def weights(hist, K):
    """Extrapolation weights from K + 1 vectors, or None where singular."""
    U = np.diff(np.array(hist), axis=0)
    try:
        c = np.linalg.solve(U @ U.T, np.ones(K))
    except np.linalg.LinAlgError:
        return None
    c /= c.sum()
    return c if np.isfinite(c).all() else None


def run(X, y, lam, tol, every, K, max_iter, *, restart, variant, w0=None, L=None):
    """FISTA until the iterate is certified, from ``w0`` (zeros by default):
    the iteration (None if never), how many checks the extrapolation won, and
    the last iterate."""
    n, p = X.shape
    L = np.linalg.norm(X, 2) ** 2 / n if L is None else L
    yy = y @ y / n
    w = np.zeros(p) if w0 is None else np.array(w0)
    z, t = w.copy(), 1.0
    hist, won = [], 0
    for it in range(1, max_iter + 1):
        v = z - X.T @ (X @ z - y) / (n * L)
        w_new = np.sign(v) * np.maximum(np.abs(v) - lam / L, 0.0)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        again = restart and (z - w_new) @ (w_new - w) > 0
        z = w_new + (0.0 if again else (t - 1) / t_new) * (w_new - w)
        w, t = w_new, 1.0 if again else t_new
        if it % every:
            continue
        r = y - X @ w
        gap, primal = dual_gap(X, y, w, r, r, lam)
        if variant == "dual":
            hist = (hist + [r])[-(K + 1) :]
            c = weights(hist, K) if len(hist) == K + 1 else None
            if c is not None:
                ext = dual_gap(X, y, w, r, c @ np.array(hist[1:]), lam)[0]
                won += int(ext < gap)
                gap = min(gap, ext)
        elif variant == "anderson":
            hist = (hist + [w])[-(K + 1) :]
            c = weights(hist, K) if len(hist) == K + 1 else None
            if c is not None:
                wa = c @ np.array(hist[1:])
                gap_a, primal_a = dual_gap(X, y, wa, y - X @ wa, y - X @ wa, lam)
                if primal_a < primal:
                    w, z, t, gap, hist = wa, wa.copy(), 1.0, gap_a, []
                    won += 1
        if gap <= tol * yy:
            return it, won, w
    return None, won, w


def run_path(X, y, levels, tol, every, K, max_iter, *, variant):
    """A warm-started path with restart, as jaxreg's sequential strategy runs
    it: each level from the previous level's certified iterate. The total
    iterations (None if a level was never certified) and checks won."""
    L = np.linalg.norm(X, 2) ** 2 / X.shape[0]
    w, total, won_all = None, 0, 0
    for lam in levels:
        it, won, w = run(X, y, lam, tol, every, K, max_iter, restart=True,
                         variant=variant, w0=w, L=L)  # fmt: skip
        if it is None:
            return None, won_all + won
        total, won_all = total + it, won_all + won
    return total, won_all


DESIGNS = ((200, 2000, 0.5), (1000, 100, 0.95), (5000, 500, 0.5))
VARIANTS = ("plain", "dual", "anderson")


def main():
    from jaxreg.reference import make_glmnet_design

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fractions", default="0.1,0.01,0.001")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--K", type=int, default=5)
    ap.add_argument("--max-iter", type=int, default=200_000)
    ap.add_argument("--path", type=int, default=0,
                    help="instead: warm-started paths of this many levels down to "
                    "1e-3·alpha_max, with restart (total iterations)")  # fmt: skip
    ap.add_argument("--out", default=os.path.join(HERE, "out", "extrapolation"))
    args = ap.parse_args()
    if args.path:
        return main_path(args)
    rows = []
    for n, p, rho in DESIGNS:
        X, y, _ = make_glmnet_design(n, p, rho, 3.0, 0)
        X, y = X - X.mean(0), y - y.mean()  # the intercept profiled out
        amax = np.abs(X.T @ y).max() / n
        for frac in (float(f) for f in args.fractions.split(",")):
            for restart in (False, True):
                row = dict(design=f"{n} x {p}, rho {rho}", fraction=frac,
                           restart=restart)  # fmt: skip
                rows.append(_timed_variants(
                    row, run, X, y, frac * amax, args.tol, args.every, args.K,
                    args.max_iter, restart=restart,
                ))  # fmt: skip
    _save(args, rows, "results.json")
    lines = [
        "# Extrapolation against the plain dual point, FISTA on the lasso",
        "",
        f"glmnet-paper designs, one alpha at a time, cold start, tol {args.tol:g}, "
        f"gap every {args.every} iterations, K = {args.K}; iterations until the "
        f"iterate is certified (change against plain FISTA with the same restart "
        f"rule); {platform.platform()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| design | alpha / alpha_max | restart | plain | dual extrapolation "
        "| Anderson |",
        "|---|---|---|---|---|---|",
    ]

    def cell(r, v):
        if r[v] is None:
            return "not certified"
        if v == "plain" or r["plain"] is None:
            return str(r[v])
        return f"{r[v]} ({r[v] / r['plain'] - 1:+.0%})"

    for r in rows:
        lines.append(
            f"| {r['design']} | {r['fraction']:g} | {'yes' if r['restart'] else 'no'} "
            + "| "
            + " | ".join(cell(r, v) for v in VARIANTS)
            + " |"
        )
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def _timed_variants(row, solve, *args, **kwargs):
    """``row`` with, for each variant, the iterations and checks won of
    ``solve(*args, variant=..., **kwargs)`` (:func:`run` or :func:`run_path`)
    and its wall time; printed as it is done."""
    for variant in VARIANTS:
        t0 = time.perf_counter()
        out = solve(*args, variant=variant, **kwargs)
        row[variant], row[f"{variant}_won"] = out[0], out[1]
        row[f"{variant}_s"] = time.perf_counter() - t0
    print(row, flush=True)
    return row


def _save(args, rows, name):
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, name), "w") as f:
        json.dump(dict(args=vars(args), rows=rows), f, indent=1)


def main_path(args):
    from jaxreg.reference import make_glmnet_design

    rows = []
    for n, p, rho in DESIGNS:
        X, y, _ = make_glmnet_design(n, p, rho, 3.0, 0)
        X, y = X - X.mean(0), y - y.mean()
        amax = np.abs(X.T @ y).max() / n
        levels = amax * np.geomspace(1.0, 1e-3, args.path)
        row = dict(design=f"{n} x {p}, rho {rho}", levels=args.path)
        rows.append(_timed_variants(
            row, run_path, X, y, levels, args.tol, args.every, args.K, args.max_iter
        ))  # fmt: skip
    _save(args, rows, "results-path.json")
    lines = [
        "# Extrapolation on warm-started paths, FISTA with restart",
        "",
        f"glmnet-paper designs, {args.path} levels from alpha_max down to "
        f"1e-3·alpha_max, each started from the previous level's certified "
        f"iterate, tol {args.tol:g}, gap every {args.every} iterations, K = "
        f"{args.K}, gradient-scheme restart; total iterations over the path "
        f"(checks at which the extrapolation gave the smaller gap, or the lower "
        f"objective); {platform.platform()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| design | plain | dual extrapolation | Anderson |",
        "|---|---|---|---|",
    ]
    for r in rows:
        cells = []
        for v in VARIANTS:
            if r[v] is None:
                cells.append("not certified")
            elif v == "plain" or r["plain"] is None:
                cells.append(str(r[v]))
            else:
                cells.append(
                    f"{r[v]} ({r[v] / r['plain'] - 1:+.1%}; won {r[v + '_won']})"
                )
        lines.append(f"| {r['design']} | " + " | ".join(cells) + " |")
    with open(os.path.join(args.out, "report-path.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
