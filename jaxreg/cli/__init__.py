"""The ``jaxreg`` command line (also ``python -m jaxreg``).

Subcommands:

- ``jaxreg path DATA --target NAME``: lasso or elastic-net path (``--l1-ratio``);
- ``jaxreg cv DATA --target NAME --cv K``: cross-validated path, α_min and α_1se;
- ``jaxreg ridge DATA --target NAME``: closed-form ridge path and its exact
  leave-one-out curve;
- ``jaxreg bench ...``: the benchmark harness of a source checkout;
- ``jaxreg demo``: all of the above on the embedded diabetes data, with plots.

Every fit minimises, for each α of the grid::

    1/(2n)·Σ s_i (y_i - x_i·w - b)² + alpha·(l1_ratio·Σ |w_j| + (1 - l1_ratio)/2·Σ w_j²)

A user mistake prints one line on stderr and exits with status 2 (``--debug`` shows the
traceback instead). Output files are written atomically and never overwritten unless
``--force`` is given.

The modules: :mod:`~jaxreg.cli.main` (the parser and :func:`main`),
:mod:`~jaxreg.cli.io` (files in and out), :mod:`~jaxreg.cli.commands` (``path``,
``cv``, ``ridge``, ``bench``), :mod:`~jaxreg.cli.demo`, :mod:`~jaxreg.cli.report`
(text tables and plots) and :mod:`~jaxreg.cli.base` (what they share). Every model
quantity (paths, grids, CV and leave-one-out errors, effective degrees of freedom,
standardization scales) comes from the public API; the command line reads, formats
and writes.
"""

from jaxreg._console import console
from jaxreg.cli.base import CLIError
from jaxreg.cli.io import Table, atomic_write, check_writable, load_table
from jaxreg.cli.main import build_parser, main
from jaxreg.cli.report import entry_order, path_table

__all__ = [
    "CLIError",
    "Table",
    "atomic_write",
    "build_parser",
    "check_writable",
    "console",
    "entry_order",
    "load_table",
    "main",
    "path_table",
]
