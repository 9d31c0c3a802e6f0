"""The benchmark harness: its validation maths, its timing, and one smoke run.

The smoke run checks that the pipeline works and writes its files, not how fast
anything is.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is a folder of the checkout
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as bench_cli  # noqa: E402
from benchmarks import problems, report, run, timing, validate, worker  # noqa: E402
from jaxreg import reference  # noqa: E402

sklearn = pytest.importorskip("sklearn")

# Problems of the certificate sweep run here (the benchmark runs 1500).
SWEEP_SEEDS = 24


@pytest.fixture(scope="module")
def data():
    X, y, _ = reference.make_glmnet_design(80, 12, 0.5, 3.0, 4)
    return X + 2.0, y + 1.0  # non-zero means exercise the intercept


def _primal_minus_dual(X, y, w, b, alpha, l1_ratio):
    """P(w, b) - D(θ) written out with the explicit dual point θ = σ·ρ/n."""
    n = X.shape[0]
    Xc, yc = X - X.mean(0), y - y.mean()
    r = y - X @ w - b
    a, q = alpha * l1_ratio, alpha * (1 - l1_ratio)
    primal = r @ r / (2 * n) + a * np.abs(w).sum() + q / 2 * w @ w
    rho = r - r.mean()
    g = Xc.T @ rho / n
    sigma = min(1.0, a / np.abs(g).max()) if q == 0 else 1.0
    theta = sigma * rho / n
    v = Xc.T @ theta
    if q == 0:
        assert np.all(np.abs(v) <= a * (1 + 1e-12))  # dual feasible
        conj = 0.0
    else:
        conj = np.sum(np.maximum(np.abs(v) - a, 0.0) ** 2) / (2 * q)
    dual = theta @ yc - n / 2 * theta @ theta - conj
    return primal - dual


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_duality_gaps_equal_primal_minus_dual(data, l1_ratio):
    X, y = data
    rng = np.random.default_rng(0)
    alphas = np.array([2.0, 0.3, 0.05])
    W = 0.4 * rng.normal(size=(3, X.shape[1]))
    b = rng.normal(size=3)
    gaps = validate.duality_gaps(X, y, W, b, alphas, l1_ratio)
    brute = [
        _primal_minus_dual(X, y, W[i], b[i], alphas[i], l1_ratio) for i in range(3)
    ]
    np.testing.assert_allclose(gaps, brute, rtol=1e-10)
    assert np.all(gaps > 0)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_gap_and_objective_match_the_reference(data, l1_ratio):
    X, y = data
    rng = np.random.default_rng(1)
    alphas = np.array([1.0, 0.1])
    W = 0.3 * rng.normal(size=(2, X.shape[1]))
    b = np.array([0.5, -0.2])
    gaps = validate.duality_gaps(X, y, W, b, alphas, l1_ratio)
    objs = validate.objectives(X, y, W, b, alphas, l1_ratio)
    for i in range(2):
        assert gaps[i] == pytest.approx(
            reference.duality_gap(X, y, W[i], b[i], alphas[i], l1_ratio=l1_ratio),
            rel=1e-10,
        )
        assert objs[i] == pytest.approx(
            reference.objective(X, y, W[i], b[i], alphas[i], l1_ratio=l1_ratio),
            rel=1e-12,
        )


def test_gap_of_an_exact_solution_is_zero(data):
    X, y = data
    from sklearn.linear_model import Lasso

    alpha = 0.05
    m = Lasso(alpha=alpha, tol=1e-14, max_iter=100_000).fit(X, y)
    gap = validate.duality_gaps(X, y, m.coef_[None], [m.intercept_], [alpha], 1.0)
    assert gap[0] <= 1e-12 * validate.total_sum_of_squares(y)


def _case(task="lasso", tol=1e-8, n_alphas=8):
    pr = problems.Problem("toy", "glmnet", 80, 12)
    return problems.Case(pr, task, tol=tol, n_alphas=n_alphas, eps=1e-2)


def _reference_solution(case, X, y, grid):
    r = reference.enet_path(X, y, l1_ratio=case.l1_ratio, alphas=grid, tol=1e-12)
    return dict(alphas=r["alphas"], coefs=r["coefs"], intercepts=r["intercepts"])


def test_validate_accepts_a_solution_and_flags_wrong_ones(data):
    X, y = data
    case = _case()
    grid = problems.alpha_grid(case, X, y)
    ref = _reference_solution(case, X, y, grid)
    sol = _reference_solution(case, X, y, grid)
    good = validate.validate(case, X, y, sol, grid, ref)
    assert good.ok and good.why == ""
    assert good.checks == "grid+gap+objective"
    assert good.max_gap <= case.tol and good.rel_obj_diff <= case.tol

    # A "fast wrong" answer: the coefficients shrunk by 20 %.
    wrong = dict(sol, coefs=0.8 * sol["coefs"])
    bad = validate.validate(case, X, y, wrong, grid, ref)
    assert not bad.ok
    assert "duality gap" in bad.why and "objective differs" in bad.why

    # The right answer to another grid.
    moved = dict(sol, alphas=1.1 * sol["alphas"])
    assert "alphas of the case" in validate.validate(case, X, y, moved, grid).why

    nan = dict(sol, coefs=np.full_like(sol["coefs"], np.nan))
    assert validate.validate(case, X, y, nan, grid).why == "non-finite coefficients"

    # A reference that is itself wrong is caught by the objective comparison.
    off = dict(ref, coefs=0.5 * ref["coefs"])
    assert "objective differs" in validate.validate(case, X, y, sol, grid, off).why


def test_validate_cv_errors(data):
    X, y = data
    case = _case("cv", tol=1e-8)
    grid = problems.alpha_grid(case, X, y)
    ref = _reference_solution(case, X, y, grid)
    mse = np.linspace(2.0, 1.0, len(grid))
    ok = validate.validate(
        case, X, y, dict(ref, mse_mean=mse), grid, dict(ref, mse_mean=mse)
    )
    assert ok.ok and "cv-mse" in ok.checks and ok.cv_mse_diff == 0.0
    bad = validate.validate(
        case, X, y, dict(ref, mse_mean=1.1 * mse), grid, dict(ref, mse_mean=mse)
    )
    assert not bad.ok and "CV mse" in bad.why


def test_kfold_bounds_match_sklearn():
    from sklearn.model_selection import KFold

    for n, k in [(10, 3), (442, 5), (12, 4)]:
        ours = validate.kfold_bounds(n, k)
        theirs = [(int(t[0]), int(t[-1]) + 1) for _, t in KFold(k).split(np.zeros(n))]
        assert ours == theirs
    with pytest.raises(
        ValueError,
        match=r"n_folds must be in \[2, n_samples=3\], "
        r"got 5\.",
    ):
        validate.kfold_bounds(3, 5)


def test_alpha_grid_starts_at_alpha_max(data):
    X, y = data
    lasso = _case()
    grid = problems.alpha_grid(lasso, X, y)
    assert grid[0] == pytest.approx(reference.alpha_max(X, y), rel=1e-12)
    assert grid[-1] == pytest.approx(lasso.eps * grid[0], rel=1e-12)
    enet = problems.Case(lasso.problem, "enet")
    assert problems.alpha_grid(enet, X, y)[0] == pytest.approx(2 * grid[0])
    ridge = problems.Case(lasso.problem, "ridge")
    assert problems.alpha_grid(ridge, X, y)[0] == pytest.approx(1000 * grid[0])


def test_case_and_preset_arguments_are_checked():
    pr = problems.Problem("toy", "glmnet", 10, 3)
    with pytest.raises(ValueError, match=r"task must be one of .*, got 'logistic'\."):
        problems.Case(pr, "logistic")
    with pytest.raises(ValueError, match=r"dtype must be .*, got 'float16'\."):
        problems.Case(pr, "lasso", "float16")
    with pytest.raises(ValueError, match=r"preset must be one of .*, got 'huge'\."):
        problems.get_preset("huge")
    assert problems.Case(pr, "lasso", "float32").tol == 1e-4
    for name in problems.PRESETS:
        preset = problems.get_preset(name)
        assert len({c.name for c in preset.cases}) == len(preset.cases)
    small = problems.get_preset("small")
    head = [c for c in small.cases if c.headline]
    assert [
        (
            c.task,
            c.problem.n_samples,
            c.problem.n_features,
            c.problem.rho,
            c.n_alphas,
            c.tol,
            c.dtype,
        )
        for c in head
    ] == [("lasso", 5000, 500, 0.5, 100, 1e-6, "float64")]


def test_time_call_counts_and_budget():
    calls = []

    def fn():
        calls.append(1)
        return len(calls)

    res, t = timing.time_call(fn, repeats=3, budget_s=60.0, compiles=True)
    assert res == 4 and len(t.times_s) == 3 and t.compile_s >= 0.0
    calls.clear()
    _, t = timing.time_call(fn, repeats=2, budget_s=60.0, compiles=False)
    assert len(calls) == 3 and len(t.times_s) == 3 and t.compile_s is None
    calls.clear()
    _, t = timing.time_call(fn, repeats=5, budget_s=0.0, compiles=True)
    assert len(calls) == 2 and len(t.times_s) == 1  # budget spent: one sample
    with pytest.raises(ValueError, match=r"repeats must be >= 0, got -1\."):
        timing.time_call(fn, repeats=-1, budget_s=1.0, compiles=False)


def test_isolated_peer_run_and_time_cap(tmp_path, data):
    X, y = data
    case = _case(tol=1e-6)
    grid = problems.alpha_grid(case, X, y)
    worker.write_data(tmp_path / "data", X, y)
    res = worker.run_isolated(
        "sklearn",
        case,
        tmp_path / "data",
        grid,
        repeats=1,
        budget_s=1.0,
        timeout_s=120,
        work_dir=tmp_path / "w",
    )
    assert res.error is None and res.skipped is None
    assert res.host_peak_rss_bytes > 0
    val = validate.validate(case, X, y, res.solution, grid)
    assert val.ok, val.why
    capped = worker.run_isolated(
        "sklearn",
        case,
        tmp_path / "data",
        grid,
        repeats=1,
        budget_s=1.0,
        timeout_s=0.01,
        work_dir=tmp_path / "w",
    )
    assert capped.skipped == "stopped after the time cap of 0.01 s"
    assert list((tmp_path / "w").iterdir()) == []


def test_isolated_jaxreg_record(tmp_path, data):
    X, y = data
    case = _case(tol=1e-6)
    grid = problems.alpha_grid(case, X, y)
    worker.write_data(tmp_path / "data", X, y)
    res = worker.run_isolated(
        "jaxreg",
        case,
        tmp_path / "data",
        grid,
        repeats=1,
        budget_s=1.0,
        timeout_s=300,
        work_dir=tmp_path / "w",
    )
    assert res.error is None and res.skipped is None
    assert res.timing.compile_s >= 0 and res.h2d_s >= 0
    assert res.solution["info"]["solver_converged"] == f"{len(grid)}/{len(grid)}"
    ref = _reference_solution(case, X, y, grid)
    val = validate.validate(case, X, y, res.solution, grid, ref)
    assert val.ok, val.why


def test_gpu_probe_agrees_in_and_out_of_process():
    here = run._probe_gpu(in_child=False)
    child = run._probe_gpu(in_child=True)
    assert here == child
    kind, reason = here
    assert (kind is None) != (reason is None)


def test_speedups_only_between_the_same_dtype():
    base = dict(
        task="lasso",
        problem="toy",
        n=10,
        p=3,
        n_alphas=5,
        tol=1e-6,
        headline=True,
        skipped=None,
    )
    recs = [
        dict(
            base,
            case="lasso/toy/float32",
            implementation="jaxreg",
            label="jaxreg",
            strategy="auto",
            device="cpu",
            dtype="float32",
            median_s=1.0,
            ok=True,
        ),
        dict(
            base,
            case="lasso/toy/float32",
            implementation="reference",
            label="reference",
            strategy=None,
            device="cpu",
            dtype="float64",
            median_s=9.0,
            ok=True,
        ),
        dict(
            base,
            case="lasso/toy/float32",
            implementation="sklearn",
            label="sklearn",
            strategy=None,
            device="cpu",
            dtype="float32",
            median_s=3.0,
            ok=False,
        ),
    ]
    ups = report.speedups(recs)
    assert [(r["label"], q) for _, r, q in ups] == [("sklearn", 3.0)]
    line = report.headline_lines(recs)[0]
    assert "sklearn 3 s, ratio 3× (not ok)" in line and "reference" not in line


def test_run_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(
        ValueError,
        match=r"devices must be a comma-separated list "
        r"of 'cpu' and 'gpu', got 'tpu'\.",
    ):
        run.run("smoke", "cpu,tpu", tmp_path)
    with pytest.raises(ValueError, match=r"peers must be among .*, got 'glum'\."):
        run.run("smoke", "cpu", tmp_path, peers=("glum",))
    with pytest.raises(ValueError, match=r"only must match at least one case"):
        run.run("smoke", "cpu", tmp_path, only=("nothing-like-this",))
    with pytest.raises(
        ValueError,
        match=r"repeats must be a positive integer, "
        r"got 0\.",
    ):
        run.run("smoke", "cpu", tmp_path, repeats=0)
    assert (
        run.main(["--preset", "smoke", "--devices", "tpu", "--out", str(tmp_path)]) == 2
    )
    assert "devices must be" in capsys.readouterr().err
    assert bench_cli.main(["frobnicate"]) == 2
    assert "command must be 'run', 'report' or 'compare'" in capsys.readouterr().err
    assert bench_cli.main(["run", "--preset", "smoke", "--list"]) == 0
    assert "lasso/diabetes/float64" in capsys.readouterr().out


REQUIRED = (
    "problem",
    "implementation",
    "device",
    "dtype",
    "compile_s",
    "median_s",
    "n_iter",
    "max_gap",
    "ok",
    "device_kind",
    "jax_version",
    "jaxlib_version",
    "date",
    "n",
    "p",
    "rho",
    "n_alphas",
    "tol",
    "rel_obj_diff",
    "max_coef_diff",
    "peak_memory_bytes",
    "skipped",
)


def test_smoke_run_writes_validated_records(tmp_path):
    out = tmp_path / "smoke"
    payload = run.run(
        "smoke",
        "cpu,gpu",
        out,
        only=("lasso/glmnet",),
        repeats=1,
        peers=("sklearn", "celer"),
    )
    saved = json.loads((out / "results.json").read_text())
    assert saved["records"] == payload["records"]
    recs = saved["records"]
    for rec in recs:
        assert set(REQUIRED) <= set(rec)
    by = {(r["case"], r["label"], r["device"]): r for r in recs}
    for dtype in ("float64", "float32"):
        case = f"lasso/glmnet-n200-p40-rho0.5/{dtype}"
        jr = by[(case, "jaxreg", "cpu")]
        assert jr["ok"] is True and jr["median_s"] > 0 and jr["compile_s"] >= 0
        assert jr["max_gap"] <= validate.GAP_SLACK * jr["tol"]
        assert jr["rel_obj_diff"] <= validate.OBJ_SLACK * jr["tol"]
        sk = by[(case, "sklearn", "cpu")]
        assert sk["ok"] is True and sk["dtype"] == dtype
        gpu = by[(case, "jaxreg", "gpu")]
        if gpu["skipped"]:
            assert "GPU" in gpu["skipped"] and gpu["ok"] is None
        else:
            assert gpu["ok"] is True
        try:
            import celer  # noqa: F401
        except ImportError:
            assert "not importable" in by[(case, "celer", "cpu")]["skipped"]
    # The reference runs once, at the float64 case's tighter tol.
    assert [r["dtype"] for r in recs if r["implementation"] == "reference"] == [
        "float64"
    ]
    text = (out / "report.md").read_text()
    assert "### lasso/glmnet-n200-p40-rho0.5/float64" in text
    assert "jaxreg speed-up against each implementation" in text
    assert "## Skipped" in text and saved["meta"]["jax_version"] in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        assert (out / report.PLOT_NAME).stat().st_size > 0
    # The report can be rebuilt from results.json alone.
    (out / "report.md").unlink()
    assert report.main([str(out), "--no-plot"]) == 0
    assert "### lasso/glmnet-n200-p40-rho0.5/float32" in (out / "report.md").read_text()


def test_a_users_solver_is_timed_and_validated(tmp_path, monkeypatch):
    import os

    (tmp_path / "mylasso.py").write_text(
        "import numpy as np\n"
        "from jaxreg import reference\n"
        "def solve(X, y, alphas, tol):\n"
        "    r = reference.lasso_path(X, y, alphas=alphas, tol=tol)\n"
        "    return r['coefs'], r['intercepts']\n"
        "def wrong(X, y, alphas, tol):\n"
        "    return np.zeros((1, 1)), np.zeros(1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    payload = run.run(
        "smoke", "cpu", tmp_path / "out", only=("lasso/glmnet",), repeats=1,
        peers=("mylasso:solve", "mylasso:wrong"),
    )  # fmt: skip
    recs = {(r["label"], r["dtype"]): r for r in payload["records"]}
    assert recs[("mylasso:solve", "float64")]["ok"] is True
    assert not recs[("mylasso:wrong", "float64")]["ok"]
    with pytest.raises(ValueError, match="MODULE:FUNCTION"):
        run.run("smoke", "cpu", tmp_path / "x", peers=("mylasso:",))


def test_certificate_sweep_finds_no_false_certificate():
    """A seeded slice of ``benchmarks/certificate_sweep.py`` (random shapes,
    scales, sparsity, weights, penalty factors, signs, standardization,
    l1_ratio, tol and dtype): every level flagged converged has its gap,
    recomputed in float64 by the sweep's own textbook formula, within tol
    (beyond rounding)."""
    from benchmarks import certificate_sweep as sweep

    kinds, converged = set(), 0
    for seed in range(SWEEP_SEEDS):
        kind, levels = sweep.check(seed)
        kinds.add(kind)
        for conv, excess, lie, _ in levels:
            converged += conv
            assert not lie, f"seed {seed} ({kind}): {excess:.2e} of yy beyond tol"
    assert converged >= 100 and len(kinds) == 3  # float64, float64 sparse, float32


def test_certificate_sweep_flags_a_perturbed_solution():
    """The sweep's gap is not vacuous: a certified level whose coefficients
    are moved by 1% of their largest magnitude is flagged."""
    import types

    from benchmarks import certificate_sweep as sweep
    from jaxreg import enet_path

    X, y, _, opts = sweep.draw(0)
    opts = dict(opts, tol=1e-8, dtype=None)
    res = enet_path(X, y, **opts)
    k = len(res.alphas) - 1
    assert res.converged[k]
    coefs = np.array(res.coefs)
    coefs[k, 0] += 0.01 * np.abs(coefs[k]).max()
    moved = types.SimpleNamespace(
        alphas=res.alphas, coefs=coefs, intercepts=res.intercepts
    )
    gap, floor, yy = sweep.gaps(X, y, moved, opts)[k]
    assert gap > opts["tol"] * yy + floor
    gap, floor, yy = sweep.gaps(X, y, res, opts)[k]
    assert gap <= opts["tol"] * yy + floor


def test_glm_bench_on_a_sparse_design_validates_every_solver(tmp_path):
    from benchmarks import bench_glm

    args = "--rows 120 --features 300 --density 0.02 --alphas 5 --eps 0.2 --limit 60"
    args = args.split() + ["--solvers", "jaxreg,sklearn,glmnet", "--out", str(tmp_path)]
    bench_glm.main(args)
    saved = json.loads((tmp_path / "results.json").read_text())
    records = {r["solver"]: r for r in saved["records"]}
    assert saved["meta"]["nnz"] > 0
    assert records["jaxreg"]["certified"]
    assert "max_rel_gap" in records["sklearn"]  # validated, certified or not
    assert records["glmnet"]["error"] == "dense X only here"
    assert "CSR, density 0.02" in (tmp_path / "report.md").read_text()
