"""Do the converged flags hold? A seeded sweep of random paths, every gap recomputed.

Each problem draws its shape (up to 80 × 120, tall or wide), scale (X times
1e-3, 1 or 1e3, columns of unequal scale), sparsity (a quarter are CSR with 60%
zeros), ``fit_intercept``, ``positive``, ``standardize``, ``sample_weight``,
``penalty_factor``, ``l1_ratio`` (1, 0.5 or 0.05), ``tol`` (1e-4, 1e-6, 1e-8),
grid (5 or 30 alphas, down to 1e-1 or 1e-3 of alpha_max) and, for one in seven,
``dtype="float32"`` (tol 1e-4 then). :func:`jaxreg.enet_path` solves it, and at
every level it flags converged the duality gap is recomputed here in float64
NumPy from the returned coefficients and intercept, by the textbook formula
``P(w, b) − D(θ)`` (primal with the intercept as returned; dual point the
rescaled weighted residual with the intercept profiled out), not by jaxreg's
code. A level *lies* when that gap exceeds ``tol·‖y − ȳ‖²/n`` by more than
rounding: 64·eps·(|P| + |D|) in float64; in float32 also 64·eps32·‖y − ȳ‖²/n,
the float32 gap's own rounding (jaxreg computes it in float32).

With ``--glm N`` it also draws N binomial and Poisson problems (dense,
float64; shapes, weights, penalty factors, l1_ratio, tol and grids as above),
their gaps recomputed by :func:`jaxreg.reference.glm_duality_gap`, its own dual
point, against the bound the path reports (``gap_tol``).

Run as ``python benchmarks/certificate_sweep.py --seeds 0:10000 --glm 200 --out
DIR`` (about 7 minutes for the 10,000 least-squares problems on a 2-core CPU,
and a few seconds per GLM problem, mostly compilation).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)
# Problems between two clearings of JAX's compiled programs.
CLEAR_EVERY = 1000


def draw(seed):
    """One random problem and the keywords of its path."""
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(3, 80)), int(rng.integers(1, 120))
    X = rng.standard_normal((n, p)) * rng.uniform(0.1, 10, p)
    X *= rng.choice([1e-3, 1.0, 1e3])
    m = min(3, p)
    y = X[:, :m] @ rng.standard_normal(m)
    y += rng.standard_normal(n) * rng.choice([0.01, 1.0]) + rng.choice([0.0, 7.0])
    sparse = bool(rng.random() < 0.25)
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
    opts = dict(
        fit_intercept=bool(rng.random() < 0.8),
        positive=bool(rng.random() < 0.2),
        standardize=bool(rng.random() < 0.3) and not sparse,
        sample_weight=rng.uniform(0.1, 3, n) if rng.random() < 0.3 else None,
        penalty_factor=rng.uniform(0.2, 3, p) if rng.random() < 0.3 else None,
        l1_ratio=float(rng.choice([1.0, 0.5, 0.05])),
        tol=float(rng.choice([1e-4, 1e-6, 1e-8])),
        alphas=int(rng.choice([5, 30])),
        eps=float(rng.choice([1e-1, 1e-3])),
        dtype="float32" if rng.random() < 1 / 7 and not sparse else None,
    )
    if opts["dtype"]:
        opts["tol"] = max(opts["tol"], 1e-4)
    return X, y, sparse, opts


def gaps(X, y, res, opts):
    """The float64 gap, its rounding floor and ‖y − ȳ‖²/n at every level."""
    n, p = X.shape
    sw = opts["sample_weight"]
    s = np.ones(n) if sw is None else sw * n / sw.sum()
    fi, pos, l1r = opts["fit_intercept"], opts["positive"], opts["l1_ratio"]
    xm = np.average(X, 0, s) if fi else np.zeros(p)
    ym = float(np.average(y, weights=s)) if fi else 0.0
    Xc, yc = X - xm, y - ym
    yy = float(np.sum(s * yc * yc)) / n
    pf = np.ones(p) if opts["penalty_factor"] is None else opts["penalty_factor"]
    sd = np.sqrt(np.sum(s[:, None] * Xc * Xc, 0) / n) if opts["standardize"] else 1.0
    out = []
    for k, alpha in enumerate(np.asarray(res.alphas, np.float64)):
        w = np.asarray(res.coefs[k], np.float64)
        b = float(res.intercepts[k])
        a = alpha * l1r * pf * sd  # the L1 weights on the original scale
        c = alpha * (1 - l1r) * pf * sd * sd  # the L2 weights
        r_full = y - X @ w - b
        primal = 0.5 * np.sum(s * r_full**2) / n + np.sum(
            a * np.abs(w) + 0.5 * c * w * w
        )
        r = yc - Xc @ w
        q = Xc.T @ (s * r) / n
        flat = c <= 0  # lasso coordinates bound the dual scale
        reach = np.maximum(q, 0.0) if pos else np.abs(q)
        bind = flat & (reach > a)
        scale = min(
            1.0, float(np.min(np.where(bind, a / np.where(bind, reach, 1), 1.0)))
        )
        z = scale * q
        zz = np.maximum(z, 0.0) if pos else np.abs(z)
        conj = np.where(
            c > 0, np.maximum(zz - a, 0) ** 2 / (2 * np.where(c > 0, c, 1)), 0.0
        )
        dual = scale * np.sum(s * r * yc) / n - scale**2 * np.sum(s * r * r) / (2 * n)
        dual -= conj.sum()
        floor = 64 * EPS64 * (abs(primal) + abs(dual))
        if opts["dtype"] == "float32":
            floor += 64 * EPS32 * yy
        out.append((primal - dual, floor, yy))
    return out


def _levels(res, rows):
    """Per level ``(converged, excess, lie, claimed)`` from ``rows`` of
    ``(gap, bound, floor, unit)``: the recomputed gap against the bound tol
    means, its excess in ``unit``, a lie where a converged level's gap exceeds
    the bound beyond the rounding floor, and the gap the path claimed."""
    out = []
    for k, (gap, bound, floor, unit) in enumerate(rows):
        conv = bool(res.converged[k])
        out.append((conv, (gap - bound) / unit, conv and not gap <= bound + floor,
                    float(res.gaps[k])))  # fmt: skip
    return out


def draw_glm(seed):
    """One random binomial or Poisson problem (dense, float64) and its keywords:
    the options :func:`jaxreg.reference.glm_duality_gap` takes."""
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(10, 80)), int(rng.integers(1, 60))
    X = rng.standard_normal((n, p)) * rng.choice([0.1, 1.0, 3.0])
    eta = X[:, : min(3, p)] @ rng.standard_normal(min(3, p)) * 0.5
    family = str(rng.choice(["binomial", "poisson"]))
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        y[:2] = [0.0, 1.0]  # both classes
    else:
        y = rng.poisson(np.exp(np.clip(eta, -5, 3))).astype(float)
        y[0] = max(y[0], 1.0)  # not all zero
    opts = dict(
        family=family,
        fit_intercept=bool(rng.random() < 0.8),
        sample_weight=rng.uniform(0.1, 3, n) if rng.random() < 0.3 else None,
        penalty_factor=rng.uniform(0.2, 3, p) if rng.random() < 0.3 else None,
        l1_ratio=float(rng.choice([1.0, 0.5, 0.05])),
        tol=float(rng.choice([1e-4, 1e-6, 1e-8])),
        alphas=int(rng.choice([5, 20])),
        eps=float(rng.choice([1e-1, 1e-2])),
    )
    return X, y, opts


def check_glm(seed):
    """Like :func:`check` for a drawn GLM problem, the gap recomputed by
    :func:`jaxreg.reference.glm_duality_gap` (its own dual point, NumPy) and
    compared with the bound the path reports (``gap_tol``)."""
    import jaxreg
    from jaxreg import reference

    X, y, opts = draw_glm(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = jaxreg.enet_path(X, y, **opts)
    keys = ("family", "l1_ratio", "fit_intercept", "sample_weight", "penalty_factor")
    unit = res.gap_tol / opts["tol"]  # the scale tol is relative to
    rows = []
    for k, alpha in enumerate(np.asarray(res.alphas, np.float64)):
        w, b = np.asarray(res.coefs[k], np.float64), float(res.intercepts[k])
        gap = reference.glm_duality_gap(
            X, y, w, b, alpha, **{key: opts[key] for key in keys}
        )
        primal = reference.glm_objective(
            X, y, w, b, alpha, family=opts["family"], l1_ratio=opts["l1_ratio"],
            sample_weight=opts["sample_weight"], penalty_factor=opts["penalty_factor"],
        )  # fmt: skip
        rows.append((gap, res.gap_tol, 64 * EPS64 * 2 * abs(primal), unit))
    levels = _levels(res, rows)
    return opts["family"], levels


def check(seed):
    """Solve one drawn problem: ``(kind, levels)``, each level ``(converged,
    excess, lie, claimed)`` (excess: the recomputed gap beyond tol, in units of
    ‖y − ȳ‖²/n); raises what jaxreg raises."""
    import scipy.sparse as sp

    import jaxreg

    X, y, sparse, opts = draw(seed)
    kind = ("float32" if opts["dtype"] else "float64") + (" sparse" if sparse else "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = jaxreg.enet_path(sp.csr_matrix(X) if sparse else X, y, **opts)
    rows = [
        (gap, opts["tol"] * yy, floor, yy) for gap, floor, yy in gaps(X, y, res, opts)
    ]
    levels = _levels(res, rows)
    return kind, levels


def main():
    import jax

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0:1500", help="first:last (exclusive)")
    ap.add_argument(
        "--glm", type=int, default=0,
        help="also this many binomial/Poisson problems (seeds from first)",
    )  # fmt: skip
    ap.add_argument("--out", default=os.path.join(HERE, "out", "certificates"))
    args = ap.parse_args()
    first, last = (int(v) for v in args.seeds.split(":"))
    t0 = time.perf_counter()
    counts = collections.Counter()
    lies, errors, worst = [], [], {}
    todo = [(check, seed) for seed in range(first, last)]
    todo += [(check_glm, seed) for seed in range(first, first + args.glm)]
    for i, (fn, seed) in enumerate(todo):
        if i and i % CLEAR_EVERY == 0:
            # thousands of distinct shapes and options compile as many
            # programs, each mapping its code: a process holding them all
            # runs out of memory maps (vm.max_map_count) near 10,000 problems
            jax.clear_caches()
        try:
            kind, levels = fn(seed)
        except Exception as e:  # recorded: a refusal is not a certificate
            errors.append(dict(seed=seed, error=f"{type(e).__name__}: {e}"))
            continue
        counts[kind + " problems"] += 1
        for k, (conv, excess, lie, claimed) in enumerate(levels):
            if not conv:
                counts[kind + " levels not converged"] += 1
                continue
            counts[kind + " levels converged"] += 1
            worst[kind] = max(worst.get(kind, -np.inf), excess)
            if lie:
                lies.append(dict(seed=seed, level=k, excess=excess,
                                 claimed=claimed, kind=kind))  # fmt: skip
    wall = time.perf_counter() - t0
    os.makedirs(args.out, exist_ok=True)
    record = dict(
        args=vars(args),
        counts=dict(counts),
        lies=lies,
        errors=errors,
        worst_excess=worst,
        wall_s=wall,
        python=platform.python_version(),
        platform=platform.platform(),
    )
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(record, f, indent=1)
    lines = [
        "# Certificate sweep: every converged level's gap recomputed in float64",
        "",
        f"Seeds {first}–{last - 1}, {platform.platform()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {wall:.0f} s.",
        "",
        "| | count |",
        "|---|---|",
    ]
    lines += [f"| {key} | {val} |" for key, val in sorted(counts.items())]
    lines += [
        "",
        "Largest recomputed gap beyond `tol·‖y − ȳ‖²/n`, in units of `‖y − ȳ‖²/n` "
        "(for the binomial and Poisson families: beyond the path's `gap_tol`, in "
        "units of `gap_tol/tol`; negative: within tol), over the converged levels:",
        "",
    ]
    lines += [f"- {key}: {val:.2e}" for key, val in sorted(worst.items())]
    lines += [
        "",
        "Levels flagged converged whose gap exceeds tol beyond rounding: "
        f"**{len(lies)}**.",
    ]
    lines += [
        f"- seed {d['seed']} level {d['level']} ({d['kind']}): "
        f"gap {d['excess']:.2e} of ‖y − ȳ‖²/n beyond tol"
        for d in lies
    ]
    lines += ["", f"Problems refused with an error: {len(errors)}."]
    for msg, c in collections.Counter(d["error"] for d in errors).most_common():
        lines.append(f"- {c} × {msg}")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
