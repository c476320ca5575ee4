"""CSV data files: a header row of column names, then one sample per line.

The target is the column named by `target`; by default the column named "target" when there is
one, else the last column. All other columns are features and must hold numbers. Target cells
may be numbers or class names ("setosa"). Parsing uses the csv module row by row (to check row
lengths and keep line numbers) and converts cells to floats with NumPy a chunk of rows at a
time. Blank lines are skipped; a UTF-8 byte order mark is ignored; gzipped files are read as is;
`.tsv` files are tab-separated.

Messages name the file, the line (1-based, as an editor shows it), the column by name and the
offending value.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nnctl.data.dataset import parse_target
from nnctl.data.files import RawTable, open_binary
from nnctl.errors import UsageError, closest
from nnctl.interrupts import noticing_interrupts

CHUNK_ROWS = 4096  # rows converted per NumPy call: bounds the temporary string array
DEFAULT_TARGET = "target"


def read_csv(path: Path, *, target: str | None, require_target: bool, max_bytes: int) -> RawTable:
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
    with open_binary(path, max_bytes) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter, skipinitialspace=True)
        try:
            return _read_rows(path, reader, target, require_target)
        except UnicodeDecodeError:
            pass  # reported below, once the file is closed, with the line of the first bad byte
        except csv.Error as exc:
            raise UsageError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    raise UsageError(f"{path}: line {_first_undecodable_line(path, max_bytes)}: not UTF-8 text "
                     "(is this a CSV file? set data.format if not)")


def _first_undecodable_line(path: Path, max_bytes: int) -> int:
    with open_binary(path, max_bytes) as binary:
        data = binary.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1
    return 1


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_rows(path: Path, reader, target: str | None, require_target: bool) -> RawTable:
    header = next((row for row in reader if not _is_blank(row)), None)
    if header is None:
        raise UsageError(f"{path}: empty file; expected a header row of column names, then data rows")
    names = _check_header(path, [name.strip() for name in header], reader.line_num)
    target_index = _target_column(path, names, target, require_target)
    feature_index = [j for j in range(len(names)) if j != target_index]
    if not feature_index:
        raise UsageError(f"{path}: no feature columns: the only column is the target {names[target_index]!r}")
    feature_names = [names[j] for j in feature_index]

    lines: list[int] = []
    feature_chunks: list[np.ndarray] = []
    target_chunks: list[np.ndarray] = []
    chunk: list[list[str]] = []

    def flush():
        cells = np.array(chunk, dtype=str)
        first = len(lines) - len(chunk)
        feature_chunks.append(_to_floats(path, cells[:, feature_index], feature_names, lines[first:]))
        if target_index is not None:
            target_chunks.append(cells[:, target_index])
        chunk.clear()

    with noticing_interrupts() as check_interrupt:  # NumPy's conversion can swallow Ctrl-C
        for row in reader:
            if _is_blank(row):
                continue
            if len(row) != len(names):
                raise UsageError(f"{path}: line {reader.line_num} has {len(row)} fields, expected "
                                 f"{len(names)} (as in the header)")
            chunk.append(row)
            lines.append(reader.line_num)
            if len(chunk) == CHUNK_ROWS:
                flush()
                check_interrupt()
        if chunk:
            flush()
        check_interrupt()
    if not lines:
        raise UsageError(f"{path}: no data rows after the header")

    X = np.concatenate(feature_chunks)
    target_name = None if target_index is None else names[target_index]
    y = None
    if target_index is not None:
        cells = np.char.strip(np.concatenate(target_chunks))
        empty = np.char.str_len(cells) == 0
        if np.any(empty):
            row = int(np.flatnonzero(empty)[0])
            raise UsageError(f"{path}: line {lines[row]}, column {target_name!r}: empty target cell "
                             "(missing values are not supported)")
        y = parse_target(cells)
    return RawTable(X, y, feature_names, target_name, lambda i: f"line {lines[i]}",
                    f"{path}: column {target_name!r}",
                    lambda i: f"{path}: line {lines[i]}, column {target_name!r}")


def _check_header(path: Path, names: list[str], line: int) -> list[str]:
    if all(_is_number(name) for name in names):
        raise UsageError(f"{path}: line {line} holds numbers, not column names; a header row naming "
                         "the columns is required (e.g. x1,x2,target)")
    for j, name in enumerate(names):
        if not name:
            raise UsageError(f"{path}: line {line}: column {j + 1} has no name (an index column? "
                             "write the file without it, e.g. pandas to_csv(index=False))")
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise UsageError(f"{path}: line {line}: column name {name!r} appears twice (columns "
                             f"{seen[name] + 1} and {j + 1}); column names must be unique")
        seen[name] = j
    return names


def _target_column(path: Path, names: list[str], target: str | None, require_target: bool) -> int | None:
    if target is not None:
        if target in names:
            return names.index(target)
        if not require_target:
            return None
        listing = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise UsageError(f"{path}: no target column {target!r}{closest(target, names)}; "
                         f"the columns are: {listing}")
    if DEFAULT_TARGET in names:
        return names.index(DEFAULT_TARGET)
    return len(names) - 1 if require_target else None


def _to_floats(path: Path, cells: np.ndarray, names: list[str], lines: list[int]) -> np.ndarray:
    try:
        return cells.astype(np.float64)
    except ValueError:
        pass
    # Slow path, only to find and report the first bad cell.
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            if not _is_number(value):
                hint = " (an empty cell; missing values are not supported)" if not value.strip() else ""
                raise UsageError(f"{path}: line {lines[i]}, column {names[j]!r}: expected a number, "
                                 f"found {str(value)!r}{hint}")
    # NumPy refused a spelling Python's float accepts: convert those cells the slow way.
    return np.array([[float(value) for value in row] for row in cells], dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
