"""Parquet data files (or a folder of them): the same named-column table a CSV file gives.

Column types come from the Parquet schema, not from the cell text: integer and floating
columns are numeric (float64, NaN where null), string, dictionary and boolean columns are text
(categorical; None where null). A boolean is the text "True" / "False", as pandas writes it to
a CSV file, where such a column is categorical: the same table trains to the same model from
either file (categories False, True; a boolean target gives the classes "False", "True"). Within that, the CSV rules hold, so a table reads the same from
either file: a text cell or a number listed in `na_values` is missing, text cells are stripped
and numbers written as text take their one canonical spelling (nnctl.data.table.number_text),
and the target column is chosen and parsed by the CSV reader's own functions. Rows are named
"row N" (1-based data rows; in a folder, counted across its files in name order).

A folder holds `*.parquet` files sharing one schema: a column missing from a file, or whose
kind (number or text) changes between files, is refused naming the file and the column. The
file is read one row group batch at a time, so the conversion never holds two copies.

pyarrow is the optional extra `nnctl[parquet]`; without it, the config is refused at
validation (`require_pyarrow`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnctl.data.csv_reader import target_column, with_target
from nnctl.data.files import RawTable, check_file
from nnctl.data.format_builtin import PARQUET_SUFFIXES
from nnctl.data.format_types import ReadRequest
from nnctl.data.table import DEFAULT_NA_VALUES, ColumnTable, is_number, number_text
from nnctl.errors import UsageError

SUFFIXES = PARQUET_SUFFIXES  # declared with the format (format_builtin), listed once
BATCH_ROWS = 65536  # rows converted at a time: bounds the temporary Python objects
INSTALL_HINT = 'pip install "nnctl[parquet]"'


def require_pyarrow(where: str):
    """The pyarrow.parquet module, or a UsageError naming `where` and the install hint."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise UsageError(
            f"{where}: Parquet files need pyarrow, the optional extra: {INSTALL_HINT}"
        ) from None
    return parquet


def is_parquet_name(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet files of a folder, in name order (empty when it has none)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_parquet_name(p))


def read_parquet(
    path: Path,
    *,
    target: str | None,
    require_target: bool,
    max_bytes: int,
    na_values=DEFAULT_NA_VALUES,
    keep_text=(),
) -> RawTable:
    """A RawTable with X None and `table` holding the feature columns (as read_csv gives)."""
    na_text = frozenset(na_values)
    chunks = parquet_chunks(
        path,
        target=target,
        require_target=require_target,
        max_bytes=max_bytes,
        na_values=na_text,
        keep_text=keep_text,
    )
    features, target_name = next(chunks)
    tables, targets = [], []
    for table, target_cells in chunks:
        tables.append(table)
        targets.append(target_cells)
    n_rows = sum(t.n_rows for t in tables)
    if n_rows == 0:
        raise UsageError(f"{path}: no data rows")
    table = ColumnTable(
        features,
        [_join([t.values[k] for t in tables]) for k in range(len(features))],
        np.arange(1, n_rows + 1, dtype=np.int64),
        str(path),
        {name: np.concatenate([t.raw_text[name] for t in tables]) for name in tables[0].raw_text},
        unit="row",
    )
    target_cells = None if target_name is None else np.concatenate(targets)
    return with_target(path, table, target_cells, target_name, require_target, na_text)


def read_parquet_file(path: Path, request: ReadRequest) -> RawTable:
    """The registered reader of the parquet format (nnctl.data.format_builtin)."""
    return read_parquet(
        path,
        target=request.target,
        require_target=request.require_target,
        max_bytes=request.max_bytes,
        na_values=request.settings["na_values"],
        keep_text=request.keep,
    )


def parquet_chunks(
    path: Path,
    *,
    target: str | None,
    require_target: bool,
    max_bytes: int,
    na_values: frozenset,
    keep_text=(),
):
    """First (feature names, target name or None), then per batch of rows (at most BATCH_ROWS,
    within one row group): (ColumnTable of the feature columns, the target's text cells or
    None). Row numbers run on across batches and files. The whole file is never held."""
    parquet = require_pyarrow(str(path))
    files = parquet_files(path) if path.is_dir() else [path]
    if not files:
        raise UsageError(f"{path}: expected Parquet files (*.parquet) in the folder, found none")
    opened = []
    for file in files:
        check_file(file, max_bytes)
        opened.append((file, _open(parquet, file)))
    first, first_schema = opened[0][0], opened[0][1].schema_arrow
    names = list(first_schema.names)
    kinds = {name: _kind(first, name, first_schema.field(name).type) for name in names}
    _check_unique(first, names)
    for file, handle in opened[1:]:
        _check_same_schema(first, file, names, kinds, handle.schema_arrow)
    target_index = target_column(path, names, target, require_target)
    features = [name for j, name in enumerate(names) if j != target_index]
    if not features:
        raise UsageError(
            f"{path}: no feature columns: the only column is the target {names[target_index]!r}"
        )
    na_numbers = [float(v) for v in na_values if is_number(v) and not math.isnan(float(v))]
    kept = [name for name in keep_text if name in names]
    target_name = None if target_index is None else names[target_index]
    yield features, target_name
    done = 0
    for file, handle in opened:
        try:
            for batch in handle.iter_batches(batch_size=BATCH_ROWS):
                values = []
                for name in features:
                    data = batch.column(name)
                    if kinds[name] == "number":
                        values.append(_numbers(data, na_numbers))
                    else:
                        values.append(_categories(data, na_values))
                raw_text = {name: _text_cells(batch.column(name)) for name in kept}
                cells = None if target_name is None else _text_cells(batch.column(target_name))
                rows = np.arange(done, done + batch.num_rows, dtype=np.int64)
                done += batch.num_rows
                yield ColumnTable(features, values, rows + 1, str(path), raw_text, "row"), cells
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise UsageError(f"{file}: corrupt Parquet data ({exc})") from None


def _open(parquet, file: Path):
    try:
        # Mapped, and read column chunk by column chunk: pyarrow's default (pre_buffer) reads
        # ahead into its own memory, which held most of a 2 GB file while streaming it.
        return parquet.ParquetFile(file, memory_map=True, pre_buffer=False)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise UsageError(f"{file}: not a readable Parquet file ({exc})") from None


def _kind(file: Path, name: str, arrow_type) -> str:
    """'number' or 'text' for a column's Arrow type; other types are refused."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return "text"  # a dictionary column is categorical whatever its values are
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_boolean(arrow_type):
        return "text"  # "True" / "False": categorical, as in a CSV file
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    raise UsageError(
        f"{file}: column {name!r} has the Parquet type {arrow_type}; expected numbers, "
        "booleans or strings (data.drop it, or convert it before training)"
    )


def _check_unique(file: Path, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{file}: column name {name!r} appears twice; names must be unique")
        seen.add(name)


def _check_same_schema(first: Path, file: Path, names, kinds, schema) -> None:
    for name in names:
        if name not in schema.names:
            raise UsageError(
                f"{file}: no column {name!r}, which {first.name} has; the files of a folder "
                "must share one schema"
            )
        kind = _kind(file, name, schema.field(name).type)
        if kind != kinds[name]:
            raise UsageError(
                f"{file}: column {name!r} is {schema.field(name).type} ({kind}), but "
                f"{kinds[name]} in {first.name}; a column's type must not change between "
                "the files of a folder"
            )
    for name in schema.names:
        if name not in kinds:
            raise UsageError(
                f"{file}: column {name!r} is not in {first.name}; the files of a folder "
                "must share one schema"
            )


def _decoded(data):
    """A column chunk with dictionaries decoded to their values."""
    import pyarrow as pa

    if pa.types.is_dictionary(data.type):
        return data.dictionary_decode()
    return data


def _numbers(data, na_numbers: list[float]) -> np.ndarray:
    """A numeric column chunk as float64, NaN where null or a number listed in na_values."""
    import pyarrow as pa

    values = data.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
    values = np.array(values, dtype=np.float64)  # writable, owned
    if na_numbers:
        values[np.isin(values, na_numbers)] = math.nan
    return values


def _categories(data, na_text: frozenset) -> np.ndarray:
    """A text column chunk as stripped strings (numbers in their canonical spelling), None
    where null or a na_values spelling: what read_csv makes of a text column."""
    out = np.empty(len(data), dtype=object)
    for i, value in enumerate(_decoded(data).to_pylist()):
        if value is None:
            out[i] = None
            continue
        text = str(value).strip()
        if text in na_text:
            out[i] = None
        else:
            out[i] = number_text(float(text)) if is_number(text) else text
    return out


def _text_cells(data) -> np.ndarray:
    """A column chunk as the text a CSV file would hold (for the target and kept columns):
    integers as digits, floats in their shortest exact form, booleans as True / False, null
    and NaN as empty."""
    cells = []
    for value in _decoded(data).to_pylist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            cells.append("")
        elif isinstance(value, bool):
            cells.append(str(value))  # "True" / "False", as pandas writes it to CSV
        elif isinstance(value, float):
            cells.append(repr(value))
        else:
            cells.append(str(value))
    return np.array(cells, dtype=str)


def _join(chunks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(chunks) if chunks else np.empty(0)
