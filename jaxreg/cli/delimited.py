"""Delimited text (CSV, TSV) with a header line, read into columns.

Well-formed files go through pyarrow's parser (when installed) or NumPy's; any
other file through a careful reader whose messages name the line and the cell
that are wrong (a ragged line, an unnamed or duplicate column, a cell that is
not a number). Cells in ``MISSING`` are missing values (NaN, refused later with
the column's name).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from jaxreg.cli.base import CLIError

__all__ = ["MISSING", "read_delimited"]

MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "."}


def read_delimited(text: str, delimiter: str | None, source: str, path=None):
    """Columns of a delimited text file with a header line (blank lines skipped):
    pyarrow's parser or NumPy's (vectorized) for well-formed files, and a
    cell-by-cell reading, whose messages name the line and the cell, for the
    others."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CLIError(f"{source} is empty.")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    fast = _fast_columns(text, delimiter, path)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, lines = [], []
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append(row)
            lines.append(reader.line_num)
    if not rows:
        raise CLIError(f"{source} has no header line: every field is empty.")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header):
        j = next(i for i, h in enumerate(header) if not h)
        raise CLIError(
            f"{source}: the header must name every column, column {j + 1} has no name."
        )
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise CLIError(f"{source}: duplicate column names {', '.join(map(repr, dup))}.")
    body, lines = rows[1:], lines[1:]
    if not body:
        raise CLIError(f"{source} has a header but no data rows.")
    p = len(header)
    for row, line in zip(body, lines, strict=True):
        if len(row) != p:
            raise CLIError(
                f"{source}: line {line} has {len(row)} fields, the header has {p}."
            )
    columns: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    for j, name in enumerate(header):
        cells = [row[j].strip() for row in body]
        try:  # the common case: every cell a number (NumPy parses "nan", "inf")
            columns[name] = np.array(cells, dtype=np.float64)
            continue
        except ValueError:
            pass
        columns[name], why = _parse_cells(cells, lambda i: lines[i])
        if why:
            bad[name] = why
    return columns, header, bad


def _parse_cells(cells, line_of):
    """Numbers from text cells (missing markers are NaN), and where the first
    cell that is not a number stands (None if there is none)."""
    values = np.empty(len(cells))
    for i, cell in enumerate(cells):
        if cell.lower() in MISSING:
            values[i] = np.nan
            continue
        try:
            values[i] = float(cell)
        except ValueError:
            return values, f"line {line_of(i)}: {cell[:20]!r}"
    return values, None


def _fast_columns(text, delimiter, path):
    """The columns of a well-formed file (unique, non-empty header names, no
    blank line, every line with a field per column), or None: the careful
    reader then says what is wrong, and where."""
    body = text.rstrip()
    if not body.split("\n", 1)[0].strip() or re.search(r"\n[ \t\r]*\n", body):
        return None  # blank lines: line numbers are the careful reader's
    head = text.split("\n", 1)
    header = [h.strip() for h in next(csv.reader([head[0]], delimiter=delimiter))]
    if any(not h for h in header) or len(set(header)) != len(header) or len(head) < 2:
        return None
    try:
        import pyarrow.csv as pcsv
    except ImportError:
        pcsv = None
    if pcsv is not None and path is not None:
        return _arrow_columns(pcsv, path, header, delimiter)
    try:
        data = np.loadtxt(io.StringIO(head[1]), delimiter=delimiter, comments=None,
                          ndmin=2, quotechar='"', dtype=np.float64)  # fmt: skip
    except ValueError:
        return None
    if data.shape[0] == 0 or data.shape[1] != len(header):
        return None
    return dict(zip(header, data.T, strict=True)), header, {}


def _arrow_columns(pcsv, path, header, delimiter):
    import pyarrow as pa
    import pyarrow.types as pat

    try:
        table = pcsv.read_csv(
            path, parse_options=pcsv.ParseOptions(delimiter=delimiter)
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if [c.strip() for c in table.column_names] != header or table.num_rows == 0:
        return None
    columns: dict[str, np.ndarray] = {}
    bad: dict[str, str] = {}
    for name, col in zip(header, table.columns, strict=True):
        t = col.type
        if pat.is_integer(t) or pat.is_floating(t):
            columns[name] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
            continue
        cells = ["" if c is None else str(c).strip() for c in col.to_pylist()]
        columns[name], why = _parse_cells(cells, lambda i: i + 2)  # no blank lines
        if why:
            bad[name] = why
    return columns, header, bad
