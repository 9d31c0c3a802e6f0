"""Benchmark: import plus the first ``lasso_path`` call in a new process, and the
warm call, for jaxreg and scikit-learn, with the defaults on both sides.

A user's first call pays jaxreg's imports and XLA compilation; scikit-learn has
nothing to compile. Each round starts one new Python process per library
(alternately, so both see the same machine load); a process loads the data from
an ``.npy`` file (not timed), then times ``import`` plus the first call, then
``--warm`` further calls (their median is the warm time). Both get the same
centred float64 data (scikit-learn's ``lasso_path`` fits no intercept, so the
problems are the same) and their default grid (100 alphas down to 1e-3·alpha_max)
and ``tol`` (1e-4).

Before anything is recorded every result is checked: the duality gap of each
alpha is recomputed by ``jaxreg.reference`` (NumPy, float64) and must be within
``tol·||y||²/n`` (times 1.01 for the rounding of the recomputation); the
number of alphas that are not is recorded next to the library's time.

Run as ``python benchmarks/bench_first_call.py [--n 10000 --p 1000] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time, json
import numpy as np
X = np.load(sys.argv[1]); y = np.load(sys.argv[2]); warm = int(sys.argv[4])
t0 = time.perf_counter()
if sys.argv[3] == "jaxreg":
    import jaxreg
    import jaxreg.path
    def call():
        r = jaxreg.lasso_path(X, y)
        return r.alphas, r.coefs, r.intercepts
else:
    import warnings
    from sklearn.linear_model import lasso_path
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, c, _ = lasso_path(X, y)
        return a, c.T, np.zeros(len(a))
t1 = time.perf_counter()
alphas, coefs, intercepts = call()
first = time.perf_counter() - t0
call_s = time.perf_counter() - t1
times = []
for _ in range(warm):
    t = time.perf_counter(); call(); times.append(time.perf_counter() - t)
np.savez(sys.argv[5], alphas=alphas, coefs=coefs, intercepts=intercepts)
print(json.dumps(dict(first_s=first, import_s=first - call_s, call_s=call_s,
                      warm_s=times)))
"""


def _child(lib, xf, yf, warm, out, repo=REPO):
    env = dict(os.environ, PYTHONPATH=str(repo))
    name = "jaxreg" if lib.startswith("jaxreg") else lib
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(xf), str(yf), name, str(warm), str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(repo),  # `python -c` puts the working directory first on sys.path
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _revision(repo):
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "unknown"


def _validate(X, y, sol, tol):
    """(alphas whose gap exceeds tol, the worst gap in units of ||y||²/n)."""
    from jaxreg import reference

    scale = float(y @ y) / len(y)
    gaps = np.array([
        # The data are centred: with or without an intercept the optimum is the
        # same, and the gap with one also bounds a returned intercept's effect.
        reference.duality_gap(X, y, c, b, a, fit_intercept=True)
        for a, c, b in zip(sol["alphas"], sol["coefs"], sol["intercepts"], strict=True)
    ])  # fmt: skip
    return int(np.sum(~(gaps <= 1.01 * tol * scale))), float(gaps.max() / scale)


def run(n, p, rounds, warm, seed=0, base=None):
    from jaxreg import reference

    X, y, _ = reference.make_glmnet_design(n, p, rho=0.5, snr=3.0, seed=seed)
    X = X - X.mean(axis=0)
    y = y - y.mean()
    repos = {"jaxreg": REPO, "sklearn": REPO}
    if base is not None:
        repos["jaxreg-base"] = Path(base).resolve()
    rows = {lib: [] for lib in repos}
    primed = {}
    with tempfile.TemporaryDirectory(prefix="jaxreg-first-") as tmp:
        xf, yf = Path(tmp) / "X.npy", Path(tmp) / "y.npy"
        np.save(xf, X)
        np.save(yf, y)
        # One unrecorded run per jaxreg checkout first: every recorded round is
        # then a shape seen before (its programs in the compilation cache).
        for lib, repo in repos.items():
            if lib != "sklearn":
                primed[lib] = _child(lib, xf, yf, 0, Path(tmp) / "prime.npz", repo)
        for r in range(rounds):
            for lib, repo in repos.items():
                out = Path(tmp) / f"{lib}-{r}.npz"
                res = _child(lib, xf, yf, warm, out, repo)
                above, gap = _validate(X, y, dict(np.load(out)), 1e-4)
                res.update(alphas_above_tol=above, max_rel_gap=gap)
                rows[lib].append(res)
                print(f"round {r} {lib}: {res}", flush=True)
    summary = {}
    for lib, rs in rows.items():
        summary[lib] = dict(
            first_s=statistics.median([x["first_s"] for x in rs]),
            import_s=statistics.median([x["import_s"] for x in rs]),
            call_s=statistics.median([x["call_s"] for x in rs]),
            warm_s=statistics.median([t for x in rs for t in x["warm_s"]]),
            alphas_above_tol=max(x["alphas_above_tol"] for x in rs),
            max_rel_gap=max(x["max_rel_gap"] for x in rs),
        )
    import jax
    import sklearn

    return dict(
        n_samples=n,
        n_features=p,
        rounds=rounds,
        warm_calls=warm,
        date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        python=platform.python_version(),
        jax=jax.__version__,
        sklearn=sklearn.__version__,
        numpy=np.__version__,
        cpu_count=os.cpu_count(),
        runs=rows,
        primed=primed,
        summary=summary,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--p", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--out", help="write first_call.json and first_call.md here")
    ap.add_argument(
        "--base", help="another checkout of jaxreg, timed as jaxreg-base in each round"
    )
    args = ap.parse_args(argv)
    res = run(args.n, args.p, args.rounds, args.warm, base=args.base)
    if args.base:
        res["base"] = dict(path=args.base, revision=_revision(args.base))
    res["revision"] = _revision(REPO)
    s = res["summary"]
    lines = [
        f"# First call: import + `lasso_path` in a new process, n={args.n}, p={args.p}",
        "",
        f"Defaults on both sides (100 alphas, eps 1e-3, tol 1e-4), centred float64 "
        f"data; {args.rounds} rounds alternating the libraries, each in a new "
        f"process; medians. {res['cpu_count']} CPUs, Python {res['python']}, jax "
        f"{res['jax']}, scikit-learn {res['sklearn']}. jaxreg at {res['revision']}"
        + (f", jaxreg-base at {res['base']['revision']}." if args.base else "."),
        "",
        "| library | import s | first call s | import + first call s | warm call s |"
        " alphas with gap > tol | worst gap / (‖y‖²/n) |",
        "|---|---|---|---|---|---|---|",
    ]
    for lib in s:
        x = s[lib]
        lines.append(
            f"| {lib} | {x['import_s']:.2f} | {x['call_s']:.3f} | {x['first_s']:.2f} "
            f"| {x['warm_s']:.3f} | {x['alphas_above_tol']} of 100 "
            f"| {x['max_rel_gap']:.1e} |"
        )
    for lib, x in res["primed"].items():
        lines.append(
            f"\nBefore the rounds, one unrecorded {lib} process filled the "
            f"compilation cache for this version and shape: first call "
            f"{x['call_s']:.2f} s (import {x['import_s']:.2f} s)."
        )
    lines += [
        "",
        "Gaps recomputed by `jaxreg.reference` (NumPy, float64) from the returned "
        "coefficients. An alpha above tol stopped at `max_iter` (scikit-learn's "
        "default 1000 sweeps); its time is still the library's time with the "
        "defaults.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "first_call.json").write_text(json.dumps(res, indent=1) + "\n")
        (out / "first_call.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
