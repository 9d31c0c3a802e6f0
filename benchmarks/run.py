"""Entry point of the benchmark suite: run a preset, validate, write the report.

Usage::

    python -m benchmarks run --preset {smoke,small,large} --devices cpu,gpu --out DIR

writes ``DIR/results.json`` (rewritten after every record, so an interrupted run
keeps what it measured), ``DIR/report.md`` and, when matplotlib is installed,
``DIR/time_vs_size.png``. One line per record goes to stderr as the run
progresses. See ``benchmarks/README.md`` for the presets and the validation rule.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import implementations, problems, report, validate, worker

__all__ = ["main", "run"]

DEVICES = ("cpu", "gpu")
SYNC_NOTE = (
    "public jaxreg functions return NumPy arrays copied from the device, so every "
    "timed call is synchronised; timing.block() also waits on any JAX array"
)


# ---------------------------------------------------------------------- environment
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module):
    try:
        mod = __import__(module)
    except Exception:
        return None
    return str(getattr(mod, "__version__", "unknown"))


def _probe_gpu(in_child: bool):
    """``(device_kind, None)`` when JAX sees a GPU, else ``(None, reason)``.

    With ``in_child`` the probe runs in a child process, so that this process never
    initialises the GPU (JAX would reserve most of its memory here, away from the
    isolated runs).
    """
    if in_child:
        code = (
            "import json, jax\ntry:\n    d = jax.devices('gpu')\n"
            "except RuntimeError:\n    d = []\n"
            "print(json.dumps([d[0].device_kind if d else '', ','.join(sorted("
            "{x.platform for x in jax.devices()}))]))"
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                timeout=300,
            )
            kind, backends = json.loads(proc.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            return None, "probing for a GPU timed out"
        except (IndexError, ValueError):
            return None, "probing for a GPU failed: " + (
                proc.stderr.strip().splitlines() or ["no output"]
            )[-1]
    else:
        import jax

        try:
            kind = jax.devices("gpu")[0].device_kind
        except RuntimeError:
            kind = ""
        backends = ",".join(sorted({d.platform for d in jax.devices()}))
    if kind:
        return kind, None
    return None, f"no GPU visible to JAX (available backends: {backends})"


def environment(devices, *, isolate: bool) -> dict:
    """Versions, date, host and device kinds shared by every record of a run."""
    import jax
    import jaxlib

    env = dict(
        date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        host=platform.node(),
        python_version=platform.python_version(),
        jax_version=jax.__version__,
        jaxlib_version=jaxlib.__version__,
        jaxreg_version=_version("jaxreg"),
        numpy_version=np.__version__,
        sklearn_version=_version("sklearn"),
        cpu_count=os.cpu_count(),
        cpu_model=_cpu_model(),
        device_kind={"cpu": _cpu_model()},
        gpu_unavailable=None,
    )
    if "gpu" in devices:
        kind, reason = _probe_gpu(isolate)
        env["device_kind"]["gpu"] = kind
        env["gpu_unavailable"] = reason
    return env


# ----------------------------------------------------------------------------- plan
def _plan(preset, devices, peers):
    """Every record of the run, in order: (case, impl, device, strategy, note)."""
    steps = []
    reference_for = {}
    for case in preset.cases:
        key = (case.problem.name, case.task, case.n_alphas, case.eps, case.n_folds)
        prior = reference_for.get(key)
        if prior is None or prior > case.tol:
            steps.append((case, "reference", "cpu", None))
            reference_for[key] = case.tol
        for device in devices:
            if case.devices is not None and device not in case.devices:
                continue
            strategies = case.strategies if device == "cpu" else case.gpu_strategies
            if case.task == "ridge":
                strategies = (None,)
            for strategy in strategies:
                steps.append((case, "jaxreg", device, strategy))
        wanted = case.peers if case.peers is not None else implementations.PEERS
        wanted = tuple(wanted) + tuple(n for n in peers if ":" in n)
        for name in wanted:
            impl = implementations.get(name)
            if name in peers and case.task in impl.tasks:
                steps.append((case, name, "cpu", None))
    return steps


def _label(impl, strategy):
    if impl == "jaxreg" and strategy not in (None, "auto"):
        return f"jaxreg[{strategy}]"
    return impl


def _clean(x):
    """JSON-safe scalars: NaN and infinities become None, NumPy scalars Python."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _record(env, case, impl_name, device, strategy, res, val, *, isolated):
    impl = implementations.get(impl_name)
    pr = case.problem
    t = res.timing
    sol = res.solution or {}
    skipped = res.skipped
    ok = None if skipped else (False if res.error else bool(val and val.ok))
    rec = dict(
        problem=pr.name,
        family=pr.family,
        task=case.task,
        case=case.name,
        implementation=impl_name,
        strategy=strategy,
        label=_label(impl_name, strategy),
        device=device,
        device_kind=env["device_kind"].get(device),
        dtype="float64" if impl.float64_only else case.dtype,
        n=pr.n_samples,
        p=pr.n_features,
        rho=pr.rho,
        n_alphas=case.n_alphas,
        eps=case.eps,
        l1_ratio=case.l1_ratio,
        tol=case.tol,
        n_folds=case.n_folds if case.task == "cv" else None,
        compile_s=t.compile_s if t else None,
        first_s=t.first_s if t else None,
        median_s=t.median_s if t else None,
        min_s=t.min_s if t else None,
        n_repeats=len(t.times_s) if t else 0,
        times_s=list(t.times_s) if t else [],
        n_iter=sol.get("n_iter"),
        n_iter_max=sol.get("n_iter_max"),
        max_gap=val.max_gap if val else None,
        rel_obj_diff=val.rel_obj_diff if val else None,
        max_coef_diff=val.max_coef_diff if val else None,
        cv_mse_diff=val.cv_mse_diff if val else None,
        ok=ok,
        checks=val.checks if val else None,
        why=(res.error if res.error else (val.why if val else None)) or None,
        skipped=skipped,
        headline=case.headline,
        solver_info=sol.get("info") or {},
        implementation_version=impl.version(),
        peak_memory_bytes=res.peak_memory_bytes,
        peak_memory_scope=(
            None
            if res.peak_memory_bytes is None
            else "record"
            if isolated
            else "process, cumulative"
        ),
        h2d_s=res.h2d_s,
        host_peak_rss_bytes=res.host_peak_rss_bytes,
        isolated=isolated,
        sync=SYNC_NOTE if impl_name == "jaxreg" else None,
    )
    for key in (
        "date",
        "host",
        "python_version",
        "jax_version",
        "jaxlib_version",
        "jaxreg_version",
        "numpy_version",
        "sklearn_version",
        "cpu_count",
    ):
        rec[key] = env[key]
    return _clean(rec)


def _progress(i, total, rec, stream):
    head = f"[{i}/{total}] {rec['case']} {rec['label']} ({rec['device']})"
    if rec["skipped"]:
        line = f"{head}: skipped: {rec['skipped']}"
    elif rec["median_s"] is None:
        line = f"{head}: FAILED: {rec['why']}"
    else:
        comp = (
            f", first call {rec['first_s']:.3g} s"
            if rec["compile_s"] is not None
            else ""
        )
        gap = "" if rec["max_gap"] is None else f", gap {rec['max_gap']:.1e}"
        verdict = "ok" if rec["ok"] else f"NOT OK: {rec['why']}"
        line = f"{head}: {rec['median_s']:.4g} s{comp}{gap}, {verdict}"
    print(line, file=stream, flush=True)


def _write_json(path: Path, payload) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ run
def run(
    preset,
    devices,
    out: Path,
    *,
    peers=implementations.PEERS,
    repeats=None,
    isolate=None,
    only=(),
    plot=True,
    peer_timeout=None,
    stream=sys.stderr,
) -> dict:
    """Run a preset and write ``results.json``, ``report.md`` and the plot.

    Parameters
    ----------
    preset : problems.Preset or str
    devices : sequence of {"cpu", "gpu"}
        Devices for jaxreg (peers and the reference always run on the CPU).
    out : path
        Output folder (created).
    peers : sequence of str
        Peers to run when installed (a subset of ``implementations.PEERS``).
    repeats : int, optional
        Overrides the preset's repeats.
    isolate : bool, optional
        Overrides the preset's ``isolate_jaxreg``.
    only : sequence of str
        Keep only the cases whose name contains one of these strings.
    plot : bool
        Draw ``time_vs_size.png`` (needs matplotlib).
    peer_timeout : float, optional
        Overrides the preset's ``peer_timeout_s``.
    stream : file
        Progress lines.

    Returns
    -------
    dict
        The content of ``results.json``: ``meta`` and ``records``.
    """
    if isinstance(preset, str):
        preset = problems.get_preset(preset)
    devices = _check_devices(devices)
    peers = tuple(peers)
    users = tuple(name for name in peers if ":" in name)
    for name in users:
        implementations.user(name)  # checks the form
    for name in peers:
        if name not in implementations.PEERS and name not in users:
            raise ValueError(
                f"peers must be among {implementations.PEERS}, got {name!r}."
            )
    if repeats is not None:
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")
        preset = _replace(preset, repeats=repeats)
    if isolate is not None:
        preset = _replace(preset, isolate_jaxreg=bool(isolate))
    if peer_timeout is not None:
        if not peer_timeout > 0:
            raise ValueError(
                f"peer_timeout must be a positive number of seconds, got "
                f"{peer_timeout!r}."
            )
        preset = _replace(preset, peer_timeout_s=float(peer_timeout))
    if only:
        cases = tuple(c for c in preset.cases if any(s in c.name for s in only))
        if not cases:
            raise ValueError(
                f"only must match at least one case of preset {preset.name!r}, got "
                f"{list(only)!r}; the cases are: "
                f"{', '.join(c.name for c in preset.cases)}."
            )
        preset = _replace(preset, cases=cases)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment(devices, isolate=preset.isolate_jaxreg)
    meta = dict(
        preset=preset.name,
        description=preset.description,
        devices=list(devices),
        peers=list(peers),
        repeats=preset.repeats,
        peer_timeout_s=preset.peer_timeout_s,
        reference_max_size=preset.reference_max_size,
        isolate_peers=preset.isolate_peers,
        isolate_jaxreg=preset.isolate_jaxreg,
        gap_slack=validate.GAP_SLACK,
        obj_slack=validate.OBJ_SLACK,
        **env,
    )
    payload = {"meta": _clean(meta), "records": []}
    steps = _plan(preset, devices, peers)
    print(
        f"benchmarks: preset {preset.name}, {len(steps)} records, devices "
        f"{','.join(devices)}, writing {out}",
        file=stream,
        flush=True,
    )
    scratch = Path(tempfile.mkdtemp(prefix="jaxreg-bench-"))
    t_start = time.perf_counter()
    try:
        _execute(preset, steps, env, payload, out, scratch, stream)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload["meta"]["wall_s"] = round(time.perf_counter() - t_start, 1)
    _write_json(out / "results.json", payload)
    report.write_report(payload, out, plot=plot)
    for line in report.headline_lines(payload["records"]):
        print(line, flush=True)
    return payload


def _execute(preset, steps, env, payload, out, scratch, stream):
    data_key, X, y, grid_of, refs = None, None, None, {}, {}
    data_dir = None
    for i, (case, impl_name, device, strategy) in enumerate(steps, start=1):
        if case.problem.name != data_key:
            X, y = problems.make_data(case.problem)
            data_key, grid_of, data_dir = case.problem.name, {}, None
        if case.name not in grid_of:
            grid_of[case.name] = problems.alpha_grid(case, X, y)
        grid = grid_of[case.name]
        ref_key = (case.problem.name, case.task, case.n_alphas, case.eps, case.n_folds)
        isolated = (
            preset.isolate_jaxreg if impl_name == "jaxreg" else preset.isolate_peers
        )
        res = None
        if impl_name == "reference" and case.problem.size > preset.reference_max_size:
            res = worker.TaskResult(
                skipped=f"n·p = {case.problem.size:.3g} exceeds the reference's "
                f"limit of {preset.reference_max_size:.3g} in this preset"
            )
        elif impl_name == "jaxreg" and device == "gpu" and env["gpu_unavailable"]:
            res = worker.TaskResult(skipped=env["gpu_unavailable"])
        elif isolated:
            if data_dir is None:
                data_dir = scratch / "data"
                worker.write_data(data_dir, X, y)
            timeout = (
                preset.peer_timeout_s
                if impl_name != "jaxreg"
                else preset.jaxreg_timeout_s
            )
            res = worker.run_isolated(
                impl_name,
                case,
                data_dir,
                grid,
                device=device,
                strategy=strategy or "auto",
                repeats=preset.repeats,
                budget_s=preset.repeat_budget_s,
                timeout_s=timeout,
                work_dir=scratch / "tasks",
            )
        else:
            res = worker.run_task(
                impl_name,
                case,
                X,
                y,
                grid,
                device=device,
                strategy=strategy or "auto",
                repeats=preset.repeats,
                budget_s=preset.repeat_budget_s,
            )
        val = None
        if res.solution is not None:
            ref = None if impl_name == "reference" else refs.get(ref_key)
            try:
                val = validate.validate(case, X, y, res.solution, grid, ref)
            except Exception as exc:  # a malformed result fails, loudly
                val = validate.Validation(
                    ok=False, checks="shape", why=f"{type(exc).__name__}: {exc}"
                )
            if impl_name == "reference" and val.ok:
                refs[ref_key] = res.solution
        rec = _record(
            env, case, impl_name, device, strategy, res, val, isolated=isolated
        )
        payload["records"].append(rec)
        _write_json(out / "results.json", payload)
        _progress(i, len(steps), rec, stream)


def _replace(preset, **kw):
    return dataclasses.replace(preset, **kw)


def _check_devices(devices):
    if isinstance(devices, str):
        devices = [d for d in devices.split(",") if d]
    devices = tuple(d.strip().lower() for d in devices)
    if not devices:
        raise ValueError("devices must name at least one of 'cpu', 'gpu', got ''.")
    for d in devices:
        if d not in DEVICES:
            raise ValueError(
                f"devices must be a comma-separated list of 'cpu' and 'gpu', got {d!r}."
            )
    return tuple(dict.fromkeys(devices))


# ------------------------------------------------------------------------------ CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks run",
        description="Run a benchmark preset: jaxreg on each device, the NumPy "
        "reference and the installed peers, every result validated.",
    )
    p.add_argument("--preset", choices=tuple(problems.PRESETS), default="smoke")
    p.add_argument(
        "--devices",
        default="cpu",
        help="comma-separated devices for jaxreg: cpu, gpu (default cpu)",
    )
    p.add_argument("--out", help="output folder (required unless --list)")
    p.add_argument(
        "--peers",
        default=",".join(implementations.PEERS),
        help="comma-separated peers to run when installed, or 'none' "
        f"(default {','.join(implementations.PEERS)})",
    )
    p.add_argument(
        "--impl",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="also time your solver on the lasso cases: FUNCTION(X, y, alphas, tol) "
        "-> (coefs (k, p), intercepts (k,)), validated like the others (repeatable)",
    )
    p.add_argument(
        "--peer-timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop a peer (or the reference) after S seconds (default: the preset's)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed calls after the first (default: the preset's)",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="keep the cases whose name contains TEXT (repeatable), "
        "e.g. --only lasso/glmnet",
    )
    iso = p.add_mutually_exclusive_group()
    iso.add_argument(
        "--isolate",
        dest="isolate",
        action="store_true",
        default=None,
        help="run every jaxreg record in its own process",
    )
    iso.add_argument(
        "--no-isolate",
        dest="isolate",
        action="store_false",
        help="run jaxreg in this process",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    p.add_argument(
        "--list", action="store_true", help="print the cases of the preset and exit"
    )
    return p


def main(argv=None) -> int:
    """Command line of ``python -m benchmarks run`` (also ``jaxreg bench``)."""
    args = build_parser().parse_args(argv)
    preset = problems.get_preset(args.preset)
    if args.list:
        for case in preset.cases:
            print(f"{case.name}: {case.describe()}")
        return 0
    if not args.out:
        print(
            "benchmarks: error: --out is required (the output folder).", file=sys.stderr
        )
        return 2
    peers = (
        ()
        if args.peers.strip().lower() == "none"
        else tuple(s.strip() for s in args.peers.split(",") if s.strip())
    )
    try:
        run(
            preset,
            args.devices,
            Path(args.out),
            peers=peers + tuple(args.impl),
            repeats=args.repeats,
            isolate=args.isolate,
            only=tuple(args.only),
            plot=not args.no_plot,
            peer_timeout=args.peer_timeout,
        )
    except ValueError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
