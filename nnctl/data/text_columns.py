"""`table_from_text`: named columns of text cells to the RawTable a table format's reader
returns, under the CSV rules (nnctl.data.table): missing-value spellings, numeric or text
columns, the default target column, rows without a target left out. A new format of named
columns (JSON lines, a spreadsheet export) parses its file into rows of text and ends here, so
it reads exactly as the same table written as CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.data.csv_reader import target_column, with_target
from nnctl.data.files import RawTable
from nnctl.data.format_types import ReadRequest
from nnctl.data.table import ColumnTable, convert_cells
from nnctl.errors import UsageError


def table_from_text(
    path: Path,
    names: list[str],
    rows: list[list[str]],
    request: ReadRequest,
    lines: list[int] | None = None,
    unit: str = "line",
) -> RawTable:
    """The RawTable of `rows` (each a list of one text cell per name; "" for an empty cell).
    lines[i]: how messages number row i (default 1, 2, ...), counted in `unit`s."""
    if not rows:
        raise UsageError(f"{path}: no data rows")
    for i, row in enumerate(rows):
        if len(row) != len(names):
            where = f"{unit} {lines[i] if lines else i + 1}"
            raise UsageError(f"{path}: {where}: {len(row)} fields, expected {len(names)}")
    na_values = frozenset(request.settings.get("na_values", ()))
    cells = np.array(rows, dtype=str).reshape(len(rows), len(names))
    target = target_column(path, names, request.target, request.require_target)
    features = [j for j in range(len(names)) if j != target]
    if not features:
        raise UsageError(f"{path}: no feature columns: the only column is the target")
    numbers = np.asarray(lines if lines else range(1, len(rows) + 1), dtype=np.int64)
    table = ColumnTable(
        [names[j] for j in features],
        [convert_cells(cells[:, j], na_values) for j in features],
        numbers,
        str(path),
        {names[j]: cells[:, j] for j in range(len(names)) if names[j] in request.keep},
        unit=unit,
    )
    target_cells = None if target is None else cells[:, target]
    target_name = None if target is None else names[target]
    return with_target(path, table, target_cells, target_name, request.require_target, na_values)
