"""Run and time one implementation on one case, here or in a child process.

A child process gives a hard time cap (a peer still running after its cap is
killed and recorded as skipped) and, on a GPU, a peak-memory figure that belongs
to one record only. The parent writes X and y once per problem as ``.npy`` files;
the child reads them, casts X to the case's dtype, runs :func:`run_task` and
writes the solution arrays (``.npz``) and the scalars (``.json``) back.

Child usage: ``python -m benchmarks.worker TASK.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import implementations, timing
from benchmarks.problems import Case, Problem

__all__ = ["TaskResult", "run_isolated", "run_task"]

REPO_ROOT = Path(__file__).resolve().parent.parent
_ARRAYS = ("alphas", "path_alphas", "coefs", "intercepts", "mse_mean")


@dataclasses.dataclass
class TaskResult:
    """What one timed run produced.

    Attributes
    ----------
    solution : dict or None
        The last call's solution (see :mod:`benchmarks.implementations`).
    timing : timing.Timing or None
    peak_memory_bytes : int or None
        ``peak_bytes_in_use`` of the GPU (process-wide) after the run.
    h2d_s : float or None
        Seconds to copy X to the device (jaxreg only; not part of the timings,
        which call the public API on NumPy input and so include that copy).
    host_peak_rss_bytes : int or None
        Peak resident memory of the child process (isolated runs only).
    skipped : str or None
        Why the run did not happen (time cap, missing library).
    error : str or None
        The run raised: the exception's last line.
    """

    solution: dict | None = None
    timing: timing.Timing | None = None
    peak_memory_bytes: int | None = None
    h2d_s: float | None = None
    host_peak_rss_bytes: int | None = None
    skipped: str | None = None
    error: str | None = None


def cast(X, y, impl, case):
    """The inputs an implementation receives: the case's dtype (f64 for f64-only)."""
    dt = np.float64 if impl.float64_only else np.dtype(case.dtype)
    return np.ascontiguousarray(X, dtype=dt), np.ascontiguousarray(y, dtype=dt)


def _gpu_peak(device):
    if device != "gpu":
        return None
    import jax

    try:
        stats = jax.devices("gpu")[0].memory_stats() or {}
    except Exception:
        return None
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else int(peak)


def to_device(X, y, case, device):
    """Copy X and y to ``device``; return the arrays and the seconds it took.

    jaxreg is timed on data already on its device, as a user who fits several
    models on the same data would hold it (and as GPU solvers are compared); the
    copy is reported apart as ``h2d_s``.
    """
    import jax

    dev = jax.devices(device)[0]
    with jax.enable_x64(case.dtype == "float64"):
        t0 = time.perf_counter()
        Xd = jax.block_until_ready(jax.device_put(X, dev))
        yd = jax.block_until_ready(jax.device_put(y, dev))
        dt = time.perf_counter() - t0
    return Xd, yd, dt


def run_task(
    impl_name,
    case,
    X,
    y,
    grid,
    *,
    device="cpu",
    strategy="auto",
    repeats=3,
    budget_s=60.0,
) -> TaskResult:
    """Time ``impl_name`` on ``case`` in this process.

    Parameters
    ----------
    impl_name : str
    case : Case
    X, y : ndarray
        float64 data; cast here to the case's dtype (outside the timing).
    grid : ndarray
        The alphas of the case.
    device : {"cpu", "gpu"}
        Only jaxreg uses it; the others run on the CPU.
    strategy : str
        jaxreg's ``strategy``.
    repeats, budget_s
        See :func:`benchmarks.timing.time_call`.

    Returns
    -------
    TaskResult
    """
    impl = implementations.get(impl_name)
    reason = impl.unavailable()
    if reason is not None:
        return TaskResult(skipped=reason)
    Xc, yc = cast(X, y, impl, case)
    out = TaskResult()
    try:
        if impl_name == "jaxreg":
            Xc, yc, out.h2d_s = to_device(Xc, yc, case, device)
        fn = impl.build(case, Xc, yc, grid, device=device, strategy=strategy)
        out.solution, out.timing = timing.time_call(
            fn, repeats=repeats, budget_s=budget_s, compiles=impl.compiles
        )
    except ImportError as exc:
        out.skipped = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # recorded as a failed run, never silently dropped
        out.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if impl_name == "jaxreg":
        out.peak_memory_bytes = _gpu_peak(device)
    return out


# ------------------------------------------------------------------ child process
def _case_to_dict(case):
    return dataclasses.asdict(case)


def _case_from_dict(d):
    d = dict(d)
    problem = Problem(**d.pop("problem"))
    for key in ("strategies", "gpu_strategies", "peers", "devices"):
        if d.get(key) is not None:
            d[key] = tuple(d[key])
    return Case(problem=problem, **d)


def write_data(folder: Path, X, y) -> None:
    """Store the float64 data of a problem for child processes."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)


def run_isolated(
    impl_name,
    case,
    data_dir: Path,
    grid,
    *,
    device="cpu",
    strategy="auto",
    repeats=3,
    budget_s=60.0,
    timeout_s=None,
    work_dir: Path,
    repo: Path = REPO_ROOT,
) -> TaskResult:
    """:func:`run_task` in a child process, killed after ``timeout_s`` seconds.

    ``data_dir`` holds ``X.npy`` and ``y.npy`` (see :func:`write_data`); ``repo``
    is the checkout whose jaxreg and benchmarks run (this one by default).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    stem = work_dir / f"task-{os.getpid()}-{time.monotonic_ns()}"
    np.save(f"{stem}-grid.npy", grid)
    task = dict(
        impl=impl_name,
        case=_case_to_dict(case),
        data_dir=str(data_dir),
        grid=f"{stem}-grid.npy",
        device=device,
        strategy=strategy,
        repeats=repeats,
        budget_s=budget_s,
        out=str(stem),
    )
    Path(f"{stem}.task.json").write_text(json.dumps(task))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(repo)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    if device == "cpu":
        # A CPU record must not grab (or wait for) a GPU.
        env["JAX_PLATFORMS"] = "cpu"
    cmd = [sys.executable, "-m", "benchmarks.worker", f"{stem}.task.json"]
    try:
        proc = subprocess.run(
            cmd,
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        _cleanup(stem)
        return TaskResult(skipped=f"stopped after the time cap of {timeout_s:g} s")
    try:
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            return TaskResult(
                error=f"child process failed ({proc.returncode}): {last[:500]}"
            )
        return _read_result(stem)
    finally:
        _cleanup(stem)


def _cleanup(stem):
    for suffix in ("-grid.npy", ".task.json", ".json", ".npz"):
        Path(f"{stem}{suffix}").unlink(missing_ok=True)


def _read_result(stem) -> TaskResult:
    meta = json.loads(Path(f"{stem}.json").read_text())
    res = TaskResult(
        **{
            k: meta[k]
            for k in (
                "peak_memory_bytes",
                "h2d_s",
                "host_peak_rss_bytes",
                "skipped",
                "error",
            )
        }
    )
    if meta["timing"] is not None:
        t = dict(meta["timing"])
        t["times_s"] = tuple(t["times_s"])
        res.timing = timing.Timing(**t)
    if meta["solution"] is not None:
        sol = dict(meta["solution"])
        with np.load(f"{stem}.npz") as z:
            for key in z.files:
                sol[key] = z[key]
        res.solution = sol
    return res


def _write_result(stem, res: TaskResult) -> None:
    meta = dataclasses.asdict(res)
    meta["timing"] = None if res.timing is None else dataclasses.asdict(res.timing)
    meta["solution"] = None
    if res.solution is not None:
        arrays = {
            k: np.asarray(v)
            for k, v in res.solution.items()
            if k in _ARRAYS and v is not None
        }
        np.savez(f"{stem}.npz", **arrays)
        meta["solution"] = {k: v for k, v in res.solution.items() if k not in arrays}
    Path(f"{stem}.json").write_text(json.dumps(meta))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    task = json.loads(Path(argv[0]).read_text())
    case = _case_from_dict(task["case"])
    data = Path(task["data_dir"])
    X = np.load(data / "X.npy")
    y = np.load(data / "y.npy")
    grid = np.load(task["grid"])
    res = run_task(
        task["impl"],
        case,
        X,
        y,
        grid,
        device=task["device"],
        strategy=task["strategy"],
        repeats=task["repeats"],
        budget_s=task["budget_s"],
    )
    # ru_maxrss is in KiB on Linux.
    res.host_peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    _write_result(task["out"], res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
