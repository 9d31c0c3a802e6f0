"""Where does a lasso path's time go? Phases and solver variants, measured.

Usage::

    python -m benchmarks.profile_path --n 100000 --p 1000 --rho 0.5 --device gpu \
        --out profile.json

On the glmnet-paper design, with X and y already on the device (the copy from the
host is timed apart as ``h2d_s``), this measures:

* ``public``: :func:`jaxreg.lasso_path` end to end (the default strategy), its
  first call (compilation) apart from the median of the following calls;
* ``phases``: the same work step by step, each followed by ``block_until_ready``:
  validation and the sufficient statistics (centring, Gram matrix), the alpha grid,
  the Lipschitz constant (power iteration), the batched FISTA solve, and the map back
  to the original scale with the copy to the host;
* ``per_iteration``: the cost of one FISTA iteration for the whole batch, from a
  solve forced to run a fixed number of iterations (tol = 0);
* ``variants``: the solve alone for several loop layouts: ``chunk`` (alphas per
  batch: all of them, or warm-started chunks), ``check_every`` (FISTA steps between
  two duality-gap evaluations) and ``unroll`` (steps per trip of the inner scan);
* ``extras``: the ridge path (public call; the Gram matrix, its eigendecomposition
  and a batched Cholesky solve for every alpha, timed alone) and 5-fold
  cross-validation of the lasso path (public call), to compare with the path.

Every timed solve is validated before it is written: the duality gap is recomputed
in float64 NumPy from the returned coefficients (``benchmarks.validate``) and must
be at most ``GAP_SLACK·tol``. Timings are medians of ``--repeats`` calls after a
first (compiling) call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import problems, validate

__all__ = ["main", "profile"]


def _median_time(fn, repeats):
    import jax

    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return out, first, statistics.median(times), times


def _check(case, X, y, grid, coefs, intercepts):
    sol = dict(
        alphas=grid,
        path_alphas=grid,
        coefs=np.asarray(coefs),
        intercepts=np.asarray(intercepts),
    )
    val = validate.validate(case, X, y, sol, grid, None)
    return dict(ok=bool(val.ok), max_gap=val.max_gap, why=val.why)


def profile(
    n,
    p,
    rho,
    *,
    device="gpu",
    dtype="float64",
    n_alphas=100,
    tol=1e-6,
    repeats=5,
    variants=None,
    fixed_iters=200,
    extras=True,
    stream=sys.stderr,
):
    """Measure the phases and variants; return a JSON-ready dict."""
    import jax

    import jaxreg
    from jaxreg import engine
    from jaxreg._config import compute_context, resolve_device

    def say(msg):
        print(f"profile: {msg}", file=stream, flush=True)

    pr = problems.glmnet_problem(n, p, rho)
    case = problems.Case(pr, "lasso", dtype, n_alphas=n_alphas, tol=tol)
    X, y = problems.make_data(pr)
    grid = problems.alpha_grid(case, X, y)
    dev = resolve_device(device)
    out = dict(
        n=n,
        p=p,
        rho=rho,
        dtype=dtype,
        n_alphas=n_alphas,
        tol=tol,
        device=dev.device_kind,
        platform=dev.platform,
        jax_version=jax.__version__,
        repeats=repeats,
    )
    with jax.enable_x64(dtype == "float64"):
        t0 = time.perf_counter()
        Xd = jax.block_until_ready(jax.device_put(X.astype(dtype), dev))
        yd = jax.block_until_ready(jax.device_put(y.astype(dtype), dev))
        out["h2d_s"] = time.perf_counter() - t0
    say(
        f"{n}x{p} rho={rho} {dtype} on {dev.device_kind}: copy to device "
        f"{out['h2d_s']:.3g} s"
    )

    # 1. The public call, end to end.
    def public():
        return jaxreg.lasso_path(Xd, yd, alphas=grid, tol=tol, dtype=dtype, device=dev)

    res, first, med, times = _median_time(public, repeats)
    out["public"] = dict(
        first_s=first,
        median_s=med,
        times_s=times,
        strategy=res.strategy,
        mode=res.mode,
        n_iter_max=int(res.n_iter.max()),
        n_iter_total=int(res.n_iter.sum()),
        **_check(case, X, y, grid, res.coefs, res.intercepts),
    )
    say(
        f"public lasso_path: first {first:.3g} s, median {med * 1e3:.3g} ms, "
        f"strategy {res.strategy}, max iterations {res.n_iter.max()}, "
        f"ok={out['public']['ok']}"
    )

    # 2. Phases, each synchronised, with the public call's loop layout.
    V = jaxreg._validation
    solver = V.check_solver(tol=tol, dtype=dtype, device=dev)
    pl = engine.plan(
        solver, n_alphas, p, 1, gram=engine.choose_mode("auto", n, p) == "gram"
    )
    chunk0, unroll0 = pl.chunk, pl.unroll
    out["layout"] = dict(chunk=chunk0, check_every=10, unroll=unroll0)
    with compute_context(np.dtype(dtype), dev):

        def phases():
            t = {}
            t0 = time.perf_counter()
            prep = engine.Problem(
                Xd, yd[:, None], V.check_model(n, p), solver, n_levels=n_alphas
            )
            jax.block_until_ready(prep.members)
            t["prepare_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            prep.alpha_max(1.0)
            t["alpha_max_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            L = jax.block_until_ready(_datafit(prep).lipschitz(pl.exact_lipschitz))
            t["lipschitz_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            r = _solve(prep, L, grid, tol, chunk=chunk0, check_every=10, unroll=unroll0)
            jax.block_until_ready(r)
            t["solve_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            prep.finish(np.asarray(r.coef)[None, None])
            t["to_original_s"] = time.perf_counter() - t0
            return t, prep, L

        (t, prep, L) = phases()  # compiles
        rows = [phases()[0] for _ in range(repeats)]
        out["phases"] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        say(
            "phases (median): "
            + ", ".join(f"{k[:-2]} {v * 1e3:.3g} ms" for k, v in out["phases"].items())
        )

        # 3. One iteration of the whole batch.
        def fixed():
            return _solve(
                prep,
                L,
                grid,
                0.0,
                chunk=n_alphas,
                check_every=10,
                unroll=unroll0,
                max_iter=fixed_iters,
            )

        _, first, med, _ = _median_time(fixed, repeats)
        out["per_iteration"] = dict(
            iterations=fixed_iters,
            batch=n_alphas,
            median_s=med,
            us_per_iteration=med / fixed_iters * 1e6,
        )
        say(
            f"{fixed_iters} iterations of the {n_alphas}-alpha batch: "
            f"{med * 1e3:.3g} ms ({med / fixed_iters * 1e6:.3g} µs per iteration)"
        )

        # 4. Loop layouts of the solve.
        out["variants"] = []
        for chunk, check_every, unroll in variants or DEFAULT_VARIANTS:
            chunk = min(chunk, n_alphas)

            def solve(chunk=chunk, check_every=check_every, unroll=unroll):
                return _solve(
                    prep,
                    L,
                    grid,
                    tol,
                    chunk=chunk,
                    check_every=check_every,
                    unroll=unroll,
                )

            try:
                r, first, med, times = _median_time(solve, repeats)
            except Exception as exc:  # recorded, never dropped
                out["variants"].append(
                    dict(
                        chunk=chunk,
                        check_every=check_every,
                        unroll=unroll,
                        error=str(exc)[:300],
                    )
                )
                continue
            coefs, intercepts, _, _ = prep.finish(np.asarray(r.coef)[None, None])
            coefs, intercepts = coefs[-1, 0], intercepts[-1, 0]
            it = np.asarray(r.n_iter)
            row = dict(
                chunk=chunk,
                check_every=check_every,
                unroll=unroll,
                compile_s=max(first - med, 0.0),
                median_s=med,
                times_s=times,
                n_iter_max=int(it.max()),
                n_iter_total=int(it.sum()),
                sequential_iterations=_sequential(it, chunk),
                **_check(case, X, y, grid, coefs, intercepts),
            )
            out["variants"].append(row)
            say(
                f"solve chunk={chunk} check_every={check_every} unroll={unroll}: "
                f"{med * 1e3:.3g} ms, {row['sequential_iterations']} iterations in "
                f"sequence, ok={row['ok']}"
            )

    if extras:
        out["extras"] = _extras(Xd, yd, X, y, grid, case, dev, dtype, tol, repeats, say)
    return out


def _extras(Xd, yd, X, y, grid, case, dev, dtype, tol, repeats, say):
    """Ridge (public call, and its factorization against batched Cholesky) and
    5-fold CV of the lasso path, against the path's time."""
    import jax
    import jax.numpy as jnp

    import jaxreg
    from jaxreg._config import compute_context

    ex = {}
    rgrid = problems.alpha_grid(problems.Case(case.problem, "ridge", dtype), X, y)

    def ridge():
        return jaxreg.ridge_path(Xd, yd, alphas=rgrid, dtype=dtype, device=dev)

    r, first, med, _ = _median_time(ridge, repeats)
    ex["ridge_public"] = dict(first_s=first, median_s=med, method=r.mode)
    say(f"ridge_path (100 alphas): first {first:.3g} s, median {med * 1e3:.3g} ms")

    with compute_context(np.dtype(dtype), dev):
        G = jax.block_until_ready(
            jax.jit(lambda A: jnp.matmul(A.T, A, precision="highest") / A.shape[0])(
                Xd - Xd.mean(0)
            )
        )
        p = G.shape[0]
        lam = jnp.asarray(rgrid, G.dtype)
        eigh = jax.jit(jnp.linalg.eigh)

        @jax.jit
        def chol(G, lam):
            M = G[None] + lam[:, None, None] * jnp.eye(p, dtype=G.dtype)
            Lc = jnp.linalg.cholesky(M)
            b = jnp.broadcast_to(G[0], (lam.shape[0], p))[..., None]
            return jax.scipy.linalg.cho_solve((Lc, True), b)

        gram = jax.jit(lambda A: jnp.matmul(A.T, A, precision="highest") / A.shape[0])
        for name, fn in (
            ("gram_s", lambda: gram(Xd)),
            ("eigh_s", lambda: eigh(G)),
            ("batched_cholesky_s", lambda: chol(G, lam)),
        ):
            _, _, med, _ = _median_time(fn, repeats)
            ex[name] = med
            say(f"{name[:-2]} (p={p}): {med * 1e3:.3g} ms")

    def cv():
        return jaxreg.cv_path(
            Xd, yd, alphas=grid, cv=5, tol=tol, dtype=dtype, device=dev
        )

    r, first, med, _ = _median_time(cv, repeats)
    ex["cv_public"] = dict(
        first_s=first,
        median_s=med,
        fold_converged=int(np.asarray(r.fold_converged).sum()),
        path_converged=int(r.path.converged.sum()),
    )
    say(f"cv_path (5 folds + full fit): first {first:.3g} s, median {med * 1e3:.3g} ms")
    return ex


# (chunk, check_every, unroll)
DEFAULT_VARIANTS = (
    (100, 10, 1),
    (100, 10, 10),
    (100, 20, 20),
    (100, 20, 5),
    (100, 5, 5),
    (50, 10, 10),
    (25, 10, 10),
)


def _sequential(n_iter, chunk):
    """Iterations run one after another: the sum over chunks of each chunk's max."""
    return int(sum(n_iter[i : i + chunk].max() for i in range(0, len(n_iter), chunk)))


def _datafit(prep):
    """The all-data member's datafit, in the compute dtype."""
    import jax.numpy as jnp

    from jaxreg import batch

    dt, mem = prep.dtype, prep.members
    return batch.datafit(prep.gram)(
        jnp.asarray(mem.A[-1], dt),
        jnp.asarray(mem.c[-1, ..., 0], dt),
        jnp.asarray(mem.yy[-1, 0], dt),
    )


def _solve(prep, L, grid, tol, *, chunk, check_every, unroll, max_iter=100_000):
    """The one path solver on the reduced problem, with a given loop layout."""
    import jax
    import jax.numpy as jnp

    from jaxreg import penalties
    from jaxreg.solvers import fista

    dt = prep.dtype
    k = len(grid)
    levels, w, lower, upper = prep.levels(np.asarray(grid)[None], [1.0])
    lam = np.concatenate(
        [levels[0], np.full(-(-k // chunk) * chunk - k, levels[0, -1])]
    )
    pen = penalties.ElasticNet(
        *(
            jnp.asarray(a, dt)
            for a in (lam, w["l1"][0, -1], w["l2"][0, -1], lower[-1], upper[-1])
        )
    )
    p = pen.l1.shape[0]
    r = fista.solve_path(
        _datafit(prep),
        pen,
        L,
        jnp.asarray(tol * prep.yy_total[-1, 0], dt),
        jnp.asarray(max_iter, jnp.int32),
        jnp.zeros(p, dt),
        jnp.zeros(len(lam), bool),
        check_every=check_every,
        chunk=chunk,
        unroll=unroll,
    )
    return jax.tree_util.tree_map(lambda x: x[:k], r)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_path", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--p", type=int, default=1000)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--alphas", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--device", default="gpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the ridge and cross-validation timings",
    )
    ap.add_argument("--out", required=True, help="JSON file to write")
    args = ap.parse_args(argv)
    res = profile(
        args.n,
        args.p,
        args.rho,
        device=args.device,
        dtype=args.dtype,
        n_alphas=args.alphas,
        tol=args.tol,
        repeats=args.repeats,
        extras=not args.no_extras,
    )
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
