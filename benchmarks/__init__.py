"""Benchmark suite of jaxreg: timed, validated comparisons against peers.

Run it with ``python -m benchmarks run --preset {smoke,small,large} --devices cpu,gpu
--out DIR``; see ``benchmarks/README.md``. The suite lives outside the package and is
never collected by pytest.
"""
