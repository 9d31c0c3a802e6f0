"""``python -m benchmarks {run,report} ...``: the benchmark suite's command line."""

from __future__ import annotations

import sys

USAGE = """usage: python -m benchmarks {run,report,compare} [options]

  run     run a preset and write results.json, report.md and the plot
          (python -m benchmarks run --preset {smoke,small,large} --devices cpu,gpu
           --out DIR; see python -m benchmarks run --help)
  report  rebuild report.md and the plot from DIR/results.json
  compare time this checkout's jaxreg against another checkout's, interleaved
          (python -m benchmarks compare --base DIR --preset small --out OUT)
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        from benchmarks import run

        return run.main(rest)
    if command == "report":
        from benchmarks import report

        return report.main(rest)
    if command == "compare":
        from benchmarks import compare

        return compare.main(rest)
    print(
        f"benchmarks: error: command must be 'run', 'report' or 'compare', got "
        f"{command!r}.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
