"""Markdown report and time-versus-size plot from a run's ``results.json``.

Speed-ups are computed only between records of the same case and the same dtype
(a float32 jaxreg run is never compared with a float64 peer), as the peer's median
time divided by jaxreg's. A ratio involving a result that failed validation is
marked "(not ok)": a fast wrong answer is not a win.

Usage: ``python -m benchmarks report DIR`` rebuilds ``DIR/report.md`` and the plot
from ``DIR/results.json``; ``python -m benchmarks report DIR --merge RUN1 RUN2``
first merges the results of runs split over several sessions of one machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = [
    "headline_lines",
    "main",
    "merge",
    "plot_times",
    "render",
    "speedups",
    "write_report",
]

PLOT_NAME = "time_vs_size.png"


def _fmt(x, spec=".3g", none="–"):
    return none if x is None else format(x, spec)


def _key(rec):
    return (rec["case"], rec["dtype"])


def _jaxreg_main(records):
    """jaxreg records with jaxreg's own strategy choice, that produced a time."""
    return [
        r
        for r in records
        if r["implementation"] == "jaxreg"
        and r["strategy"] in (None, "auto")
        and r["median_s"] is not None
    ]


def speedups(records):
    """``(jaxreg record, other record, other_s / jaxreg_s)`` for each comparable pair.

    Pairs share the case and the dtype; the other record is a peer or the
    reference with a measured time.
    """
    out = []
    for jr in _jaxreg_main(records):
        for r in records:
            if (
                r["implementation"] != "jaxreg"
                and r["median_s"] is not None
                and _key(r) == _key(jr)
            ):
                out.append((jr, r, r["median_s"] / jr["median_s"]))
    return out


def _ratio_text(jr, r, ratio):
    flag = "" if (jr["ok"] and r["ok"]) else " (not ok)"
    return f"{ratio:.3g}×{flag}"


def headline_lines(records):
    """Plain-text lines of the headline comparison(s) (the issue-2 comparison)."""
    lines = []
    heads = [r for r in _jaxreg_main(records) if r.get("headline")]
    for jr in heads:
        peers = [(r, q) for j, r, q in speedups(records) if j is jr]
        text = (
            f"{jr['task']} path {jr['problem']} ({jr['n_alphas']} α, "
            f"tol={jr['tol']:g}, {jr['dtype']}): jaxreg on {jr['device']} "
            f"{jr['median_s']:.3g} s{'' if jr['ok'] else ' (NOT OK)'}"
        )
        for r, q in peers:
            text += (
                f"; {r['label']} {r['median_s']:.3g} s, ratio {_ratio_text(jr, r, q)}"
            )
        lines.append(text)
    return lines


def _meta_lines(meta):
    kinds = meta.get("device_kind") or {}
    gpu = kinds.get("gpu") or meta.get("gpu_unavailable") or "not requested"
    runs = (
        [
            f"- merged from {len(meta['runs'])} runs on the same machine: "
            + "; ".join(
                f"{r.get('date')} ({len(r.get('cases') or [])} cases, "
                f"{_fmt(r.get('wall_s'), '.0f')} s)"
                for r in meta["runs"]
            )
        ]
        if meta.get("runs")
        else []
    )
    return runs + [
        f"- date: {meta.get('date')}; host: {meta.get('host')}; wall time "
        f"{_fmt(meta.get('wall_s'), '.0f')} s",
        f"- CPU: {meta.get('cpu_model')} ({meta.get('cpu_count')} cores visible)",
        f"- GPU: {gpu}",
        f"- versions: jaxreg {meta.get('jaxreg_version')}, jax "
        f"{meta.get('jax_version')}, jaxlib {meta.get('jaxlib_version')}, numpy "
        f"{meta.get('numpy_version')}, scikit-learn {meta.get('sklearn_version')}, "
        f"Python {meta.get('python_version')}",
        f"- devices for jaxreg: {', '.join(meta.get('devices', []))}; peers asked "
        f"for: {', '.join(meta.get('peers', [])) or 'none'}; repeats: "
        f"{meta.get('repeats')}; peer time cap {meta.get('peer_timeout_s')} s",
    ]


def _status(r):
    if r["skipped"]:
        return "skipped"
    return "yes" if r["ok"] else "NO"


def _notes(r):
    if r["skipped"]:
        return r["skipped"]
    parts = []
    if r.get("why"):
        parts.append(r["why"])
    info = r.get("solver_info") or {}
    for k in ("mode", "strategy", "solver_converged"):
        if info.get(k):
            parts.append(f"{k}={info[k]}")
    if r.get("h2d_s") is not None:
        parts.append(f"h2d {r['h2d_s']:.3g} s")
    if r.get("peak_memory_bytes"):
        parts.append(
            f"GPU peak {r['peak_memory_bytes'] / 2**20:.0f} MiB "
            f"({r['peak_memory_scope']})"
        )
    return "; ".join(parts).replace("|", "/")


def _case_table(recs, all_records):
    jaxreg = {
        (r["device"]): r for r in _jaxreg_main(all_records) if _key(r) == _key(recs[0])
    }
    devs = sorted(jaxreg)
    head = [
        "implementation",
        "device",
        "dtype",
        "median s",
        "compile s",
        "calls",
        "n_iter",
        "max gap",
        "rel obj diff",
        "ok",
    ]
    head += [f"jaxreg-{d} speed-up" for d in devs] + ["notes"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in recs:
        if r["skipped"]:
            continue  # listed under "Skipped"
        ups = []
        for d in devs:
            jr = jaxreg[d]
            same = r["dtype"] == jr["dtype"] and r["implementation"] != "jaxreg"
            if same and r["median_s"] is not None:
                ups.append(_ratio_text(jr, r, r["median_s"] / jr["median_s"]))
            else:
                ups.append("")
        cells = (
            [
                r["label"],
                r["device"],
                r["dtype"],
                _fmt(r["median_s"], ".4g"),
                _fmt(r["compile_s"], ".3g"),
                str(r["n_repeats"]),
                _fmt(r["n_iter"], "d"),
                _fmt(r["max_gap"], ".1e"),
                _fmt(r["rel_obj_diff"], ".1e"),
                _status(r),
            ]
            + ups
            + [_notes(r)]
        )
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _describe(r):
    rho = "" if r.get("rho") is None else f", ρ={r['rho']:g}"
    what = {
        "lasso": "lasso path",
        "enet": f"elastic-net path (l1_ratio={r['l1_ratio']:g})",
        "ridge": "ridge path (closed form)",
        "cv": f"{r.get('n_folds')}-fold CV, lasso path",
    }[r["task"]]
    return (
        f"{what}: {r['problem']} (n={r['n']}, p={r['p']}{rho}), "
        f"{r['n_alphas']} α, tol={r['tol']:g}"
    )


def _strategy_table(records):
    rows = []
    by_case = {}
    for r in records:
        if r["implementation"] == "jaxreg" and r["strategy"] not in (None,):
            by_case.setdefault((r["case"], r["device"]), []).append(r)
    for (case, device), recs in by_case.items():
        if len(recs) < 2:
            continue
        # "auto" is an alias of one of the others: the winner is a named strategy.
        timed = [
            r
            for r in recs
            if r["median_s"] is not None and r["ok"] and r["strategy"] != "auto"
        ]
        best = min(timed, key=lambda r: r["median_s"]) if timed else None
        rows.append(
            f"\n**{case}** on {device}"
            + (
                f": fastest validated strategy **{best['strategy']}**"
                f" (auto chose {_auto_choice(recs)})"
                if best
                else ""
            )
        )
        rows.append("")
        rows.append(
            "| strategy | median s | compile s | n_iter (sum) | n_iter (max) "
            "| max gap | ok |"
        )
        rows.append("|---|---|---|---|---|---|---|")
        for r in recs:
            rows.append(
                f"| {r['strategy']} | {_fmt(r['median_s'], '.4g')} | "
                f"{_fmt(r['compile_s'], '.3g')} | {_fmt(r['n_iter'], 'd')} | "
                f"{_fmt(r['n_iter_max'], 'd')} | {_fmt(r['max_gap'], '.1e')} | "
                f"{_status(r)} |"
            )
    return rows


def _auto_choice(recs):
    for r in recs:
        if r["strategy"] == "auto":
            return (r.get("solver_info") or {}).get("strategy") or "?"
    return "?"


def render(payload, plot_note: str) -> str:
    """The Markdown text of a report."""
    meta, records = payload["meta"], payload["records"]
    lines = [f"# jaxreg benchmarks: preset `{meta.get('preset')}`", ""]
    lines += [meta.get("description", ""), ""]
    lines += _meta_lines(meta)
    lines += [
        "",
        "Every result is validated before it is reported: the duality gap is "
        "recomputed in float64 from the returned coefficients and must be ≤ "
        f"{meta.get('gap_slack')}·tol (in units of ‖y − ȳ‖²/n); where the NumPy "
        "reference ran, the objective must match it within "
        f"{meta.get('obj_slack')}·tol (and CV errors within their bound). "
        "`ok` says whether it did. Speed-ups are another implementation's median "
        "time divided by jaxreg's, only between the same case and dtype. "
        "Times are medians of the calls after the first for jaxreg (of every call "
        "for the others); `compile s` is jaxreg's first call minus that median "
        "(JIT compilation, for the first use of a shape and configuration in the "
        "process: a configuration compiled earlier in the run, such as `auto` "
        "before the strategy it picks, shows almost none). jaxreg gets X and y "
        "already on its device (the copy from the host is timed apart, `h2d` in "
        "the notes) and returns NumPy arrays, so each timed call includes the "
        "device synchronisation and the copy of the results to the host.",
        "",
    ]
    head = headline_lines(records)
    if head:
        lines += ["## Headline", ""] + [f"- {h}" for h in head] + [""]
    ups = speedups(records)
    if ups:
        lines += [
            "## jaxreg speed-up against each implementation (same dtype)",
            "",
            "| case | jaxreg device | jaxreg s | other | other s | speed-up |",
            "|---|---|---|---|---|---|",
        ]
        for jr, r, q in ups:
            lines.append(
                f"| {jr['case']} | {jr['device']} | "
                f"{jr['median_s']:.4g} | {r['label']} | {r['median_s']:.4g}"
                f" | {_ratio_text(jr, r, q)} |"
            )
        lines.append("")
    lines += ["## Results by case", ""]
    seen = []
    for r in records:
        if r["case"] not in seen:
            seen.append(r["case"])
    for case in seen:
        recs = [r for r in records if r["case"] == case]
        lines += [f"### {case}", "", _describe(recs[0]) + ".", ""]
        lines += _case_table(recs, records) + [""]
    strat = _strategy_table(records)
    if strat:
        lines += ["## jaxreg strategies", ""] + strat + [""]
    skipped = {}
    for r in records:
        if r["skipped"]:
            key = (r["label"], r["device"], r["skipped"])
            skipped.setdefault(key, []).append(r["case"])
    if skipped:
        lines += ["## Skipped", ""]
        for (label, device, why), cases in skipped.items():
            lines.append(f"- {label} ({device}) on {', '.join(cases)}: {why}")
        lines.append("")
    lines += ["## Time against problem size", "", plot_note, ""]
    return "\n".join(lines)


def plot_times(records, path: Path) -> str:
    """Draw median time against n·p (log-log), one panel per task and dtype.

    Returns the Markdown note for the report (the image, or why there is none).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot was drawn."
    timed = [r for r in records if r["median_s"] is not None]
    panels = sorted({(r["task"], r["dtype"]) for r in timed})
    if not panels:
        return "No timed record: no plot was drawn."
    names = sorted({f"{r['label']} ({r['device']})" for r in timed})
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    color = {name: cmap(i % cmap.N) for i, name in enumerate(names)}
    ncol = min(3, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 4 * nrow), squeeze=False)
    for ax, (task, dtype) in zip(axes.flat, panels, strict=False):
        series = {}
        for r in timed:
            if (r["task"], r["dtype"]) == (task, dtype):
                series.setdefault(f"{r['label']} ({r['device']})", []).append(r)
        for name, recs in sorted(series.items()):
            c = color[name]
            # Lines join only a size sweep (same family and correlation); other
            # points stand alone, as different designs are not one curve.
            sweeps = {}
            for r in recs:
                sweeps.setdefault((r.get("family"), r.get("rho")), []).append(r)
            for sweep in sweeps.values():
                if len(sweep) > 1:
                    sweep.sort(key=lambda r: r["n"] * r["p"])
                    ax.plot(
                        [r["n"] * r["p"] for r in sweep],
                        [r["median_s"] for r in sweep],
                        "-",
                        color=c,
                        alpha=0.7,
                    )
            for ok, marker in ((True, "o"), (False, "x")):
                pts = [
                    (r["n"] * r["p"], r["median_s"])
                    for r in recs
                    if bool(r["ok"]) is ok
                ]
                if pts:
                    ax.plot(
                        *zip(*pts, strict=True),
                        marker,
                        color=c,
                        ms=7 if ok else 9,
                        label=name if ok or len(pts) == len(recs) else None,
                        linestyle="none",
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n·p")
        ax.set_ylabel("median time (s)")
        ax.set_title(f"{task}, {dtype}")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        "time against problem size (x: failed validation; lines join "
        "size sweeps of one design)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"![time against n·p]({path.name})"


def write_report(payload, out: Path, *, plot: bool = True) -> Path:
    """Write ``report.md`` (and the plot) into ``out``; return the report's path."""
    out = Path(out)
    note = "The plot was not requested (--no-plot)."
    if plot:
        note = plot_times(payload["records"], out / PLOT_NAME)
    path = out / "report.md"
    path.write_text(render(payload, note) + "\n")
    return path


_SAME_MACHINE = (
    "host",
    "cpu_model",
    "jax_version",
    "jaxlib_version",
    "jaxreg_version",
    "preset",
)


def merge(payloads):
    """One payload from several runs of a preset on one machine (e.g. split runs).

    Records keep their order; a record of the same case, implementation, strategy
    and device in a later run replaces the earlier one. Runs from different
    machines, versions or presets are refused: their times are not comparable.
    """
    if not payloads:
        raise ValueError("merge needs at least one results.json.")
    first = payloads[0]["meta"]
    for other in payloads[1:]:
        for key in _SAME_MACHINE:
            if other["meta"].get(key) != first.get(key):
                raise ValueError(
                    f"runs must share {key} to be merged, got "
                    f"{first.get(key)!r} and {other['meta'].get(key)!r}."
                )
        a, b = first.get("device_kind") or {}, other["meta"].get("device_kind") or {}
        for dev in set(a) & set(b):
            if a[dev] and b[dev] and a[dev] != b[dev]:
                raise ValueError(
                    f"runs must share the {dev} device to be merged, got "
                    f"{a[dev]!r} and {b[dev]!r}."
                )
    meta = dict(first)
    kinds = {}
    for p in payloads:
        for dev, kind in (p["meta"].get("device_kind") or {}).items():
            kinds[dev] = kinds.get(dev) or kind
    meta["device_kind"] = kinds
    meta["runs"] = [
        dict(
            date=p["meta"].get("date"),
            wall_s=p["meta"].get("wall_s"),
            cases=sorted({r["case"] for r in p["records"]}),
        )
        for p in payloads
    ]
    meta["wall_s"] = sum(p["meta"].get("wall_s") or 0 for p in payloads)
    meta["devices"] = sorted({d for p in payloads for d in p["meta"].get("devices")})
    meta["peers"] = sorted({d for p in payloads for d in p["meta"].get("peers")})
    records = {}
    for p in payloads:
        for r in p["records"]:
            key = (r["case"], r["implementation"], r["strategy"], r["device"])
            records.pop(key, None)
            records[key] = r
    return {"meta": meta, "records": list(records.values())}


def _read(folder):
    src = Path(folder) / "results.json"
    try:
        return json.loads(src.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {src}: {exc}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks report",
        description="Rebuild report.md and the plot of a run from its results.json.",
    )
    p.add_argument("dir", help="folder holding results.json (written with --merge)")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="RUN_DIR",
        help="merge the results.json of these runs (same machine and "
        "preset) into DIR/results.json first",
    )
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.dir)
    try:
        if args.merge:
            payload = merge([_read(d) for d in args.merge])
            out.mkdir(parents=True, exist_ok=True)
            (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
        else:
            payload = _read(out)
    except ValueError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 2
    print(write_report(payload, out, plot=not args.no_plot))
    return 0
