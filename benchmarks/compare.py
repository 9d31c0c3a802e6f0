"""Time jaxreg of two checkouts side by side on a preset's cases, interleaved.

Usage::

    python -m benchmarks compare --base DIR --preset small --out OUT [--rounds 3]

``DIR`` is another checkout of jaxreg (for example ``git worktree add DIR REV``).
Every jaxreg case of the preset (CPU) runs in its own process, alternately with the
base checkout's code and with this one's, ``--rounds`` times, so both see the same
machine load; each run is validated like a suite record. ``OUT/compare.json``
keeps every run, ``OUT/compare.md`` the medians and the ratio (this checkout's time
over the base's: below 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import problems, validate, worker

__all__ = ["main"]


def _revision(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _one(case, X, y, grid, data_dir, repo, scratch, strategy, repeats):
    res = worker.run_isolated(
        "jaxreg",
        case,
        data_dir,
        grid,
        strategy=strategy,
        repeats=repeats,
        budget_s=60.0,
        timeout_s=900.0,
        work_dir=scratch / "tasks",
        repo=repo,
    )
    row = dict(error=res.error, skipped=res.skipped)
    if res.timing is not None:
        row.update(first_s=res.timing.first_s, median_s=res.timing.median_s)
    if res.solution is not None:
        val = validate.validate(case, X, y, res.solution, grid, None)
        row.update(ok=bool(val.ok), max_gap=val.max_gap, why=val.why)
    return row


def _cases(preset):
    for case in preset.cases:
        if case.devices is not None and "cpu" not in case.devices:
            continue
        for strategy in ("auto",) if case.task == "ridge" else case.strategies[:1]:
            yield case, strategy


def compare(base: Path, preset_name: str, out: Path, rounds: int, repeats: int,
            only=(), stream=sys.stderr) -> dict:  # fmt: skip
    """Run every case of the preset with both checkouts; return the JSON payload."""
    preset = problems.get_preset(preset_name)
    head = worker.REPO_ROOT
    payload = dict(
        preset=preset_name,
        base=dict(path=str(base), revision=_revision(base)),
        head=dict(path=str(head), revision=_revision(head)),
        rounds=rounds,
        repeats=repeats,
        cases=[],
    )
    with tempfile.TemporaryDirectory(prefix="jaxreg-compare-") as tmp:
        scratch = Path(tmp)
        for case, strategy in _cases(preset):
            if only and not any(s in case.name for s in only):
                continue
            X, y = problems.make_data(case.problem)
            grid = problems.alpha_grid(case, X, y)
            data_dir = scratch / "data" / case.problem.name
            worker.write_data(data_dir, X, y)
            runs = {"base": [], "head": []}
            for _ in range(rounds):
                for side, repo in (("base", base), ("head", head)):
                    args = (case, X, y, grid, data_dir, repo, scratch)
                    row = _one(*args, strategy, repeats)
                    runs[side].append(row)
                    print(f"compare: {case.name} [{side}] {row}", file=stream)
            payload["cases"].append(dict(case=case.name, strategy=strategy, **runs))
            (out / "compare.json").write_text(json.dumps(payload, indent=1) + "\n")
    return payload


def _median(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def render(payload) -> str:
    """The markdown report of a comparison."""
    lines = [
        f"# jaxreg {payload['head']['revision']} against {payload['base']['revision']}"
        f" (preset `{payload['preset']}`, CPU)",
        "",
        f"Each case ran {payload['rounds']} times with each checkout, alternately, "
        "each run in its own process; a run's time is the median of its calls after "
        "the first, and the first call (compilation included) is shown apart. "
        "Ratio: this checkout's median time over the base's (below 1 is faster).",
        "",
        "| case | base s | head s | ratio | base first s | head first s | ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in payload["cases"]:
        b, h = _median(c["base"], "median_s"), _median(c["head"], "median_s")
        fb, fh = _median(c["base"], "first_s"), _median(c["head"], "first_s")
        ok = all(r.get("ok") for r in c["base"] + c["head"])
        lines.append(
            f"| {c['case']} | {b:.4g} | {h:.4g} | {h / b:.3f} | {fb:.3g} | {fh:.3g} "
            f"| {'yes' if ok else 'NO'} |"
        )
    ratios = [
        _median(c["head"], "median_s") / _median(c["base"], "median_s")
        for c in payload["cases"]
    ]
    if ratios:
        geo = statistics.geometric_mean([r for r in ratios if r > 0])
        lines += ["", f"Geometric mean of the ratios: {geo:.3f}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks compare")
    ap.add_argument("--base", required=True, help="the other checkout")
    ap.add_argument("--preset", default="small", choices=tuple(problems.PRESETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", action="append", default=[])
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(args.base).resolve()
    payload = compare(base, args.preset, out, args.rounds, args.repeats, args.only)
    (out / "compare.md").write_text(render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
