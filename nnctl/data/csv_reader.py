"""CSV data files: a header row of column names, then one sample per line.

The target is the column named by `target`; by default the column named "target" when there is
one, else the last column. The other columns come back as a ColumnTable (nnctl.data.table):
numeric or text, with missing cells (any spelling in `na_values`) marked, for the column
pipeline (nnctl.data.columns) to turn into features. Target cells may be numbers or class
names ("setosa"); rows whose target is missing are left out (with a warning) when a target is
required, since they cannot be trained or scored on.

The delimiter is `,` `;` tab or `|`, detected from the first lines unless given (see
nnctl.data.delimiter). Parsing uses the csv module row by row (quoted fields may hold
delimiters and line breaks; lines may end in CRLF) to check row lengths and keep line numbers,
and converts cells with NumPy a chunk of rows at a time. Blank lines are skipped; a UTF-8 byte
order mark is ignored; gzipped files are read as is.

Messages name the file, the line (1-based, as an editor shows it), the column by name and the
offending value.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import warnings
from pathlib import Path

import numpy as np

from nnctl.data.dataset import parse_target
from nnctl.data.delimiter import NAMES, SNIFF_LINES, sniff_delimiter
from nnctl.data.files import RawTable, open_binary
from nnctl.data.table import (
    DEFAULT_NA_VALUES,
    ColumnTable,
    convert_cells,
    decimal_comma_numbers,
    join_chunks,
)
from nnctl.errors import UsageError, closest
from nnctl.util.interrupts import noticing_interrupts

CHUNK_ROWS = 4096  # rows converted per NumPy call: bounds the temporary string array
DEFAULT_TARGET = "target"
csv.field_size_limit(1 << 24)  # a long text cell is data, not a reason to fail


def read_csv(
    path: Path,
    *,
    target: str | None,
    require_target: bool,
    max_bytes: int,
    na_values=DEFAULT_NA_VALUES,
    delimiter: str | None = None,
    keep_text=(),
) -> RawTable:
    """A RawTable with X None and `table` holding the feature columns. keep_text: columns whose
    original cell text is kept (table.raw_text), e.g. an id copied into predictions."""
    with open_binary(path, max_bytes) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = None
        try:
            head = list(itertools.islice(text, SNIFF_LINES))
            chosen = delimiter or sniff_delimiter(head, path.name)
            reader = csv.reader(
                itertools.chain(head, text), delimiter=chosen, skipinitialspace=True
            )
            return _read_rows(
                path, reader, target, require_target, frozenset(na_values), chosen, tuple(keep_text)
            )
        except UnicodeDecodeError:
            pass  # reported below, once the file is closed, with the line of the first bad byte
        except csv.Error as exc:
            line = reader.line_num if reader is not None else 1
            raise UsageError(f"{path}: line {line}: malformed CSV ({exc})") from None
    raise UsageError(
        not_utf8_message(path, max_bytes, "is this a CSV file? set data.format if not")
    )


UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def not_utf8_message(path: Path, max_bytes: int, hint: str = "") -> str:
    """'data.csv: line 3: not UTF-8 text (byte 0xe9 at offset 41); looks like Latin-1 ...:
    re-save it as UTF-8'. The file is read in blocks up to its first undecodable byte."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, first = 0, 1, b""
    with open_binary(path, max_bytes) as binary:
        while block := binary.read(1 << 20):
            first = first or block[:4]
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                lines += block[: exc.start].count(b"\n")
                bad = block[exc.start : exc.start + 4]
                break
            offset += len(block)
            lines += block.count(b"\n")
        else:
            at, bad = offset, b""  # a multi-byte character cut off by the end of the file
    if first.startswith(UTF16_MARKS):
        guess = "looks like UTF-16"
    elif bad and any(0x80 <= byte <= 0x9F for byte in bad[:1]):
        guess = "looks like Windows-1252"
    else:
        guess = "looks like Latin-1 (ISO-8859-1) or Windows-1252"
    byte = f"byte 0x{bad[:1].hex()} at offset {at}" if bad else f"cut off at offset {at}"
    extra = f" ({hint})" if hint else ""
    return f"{path}: line {lines}: not UTF-8 text ({byte}); {guess}: re-save it as UTF-8{extra}"


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_rows(
    path: Path, reader, target, require_target, na_values, delimiter, keep_text
) -> RawTable:
    header = next((row for row in reader if not _is_blank(row)), None)
    if header is None:
        raise UsageError(
            f"{path}: empty file; expected a header row of column names, then data rows"
        )
    names = _check_header(path, [name.strip() for name in header], reader.line_num, delimiter)
    target_index = target_column(path, names, target, require_target)
    feature_index = [j for j in range(len(names)) if j != target_index]
    if not feature_index:
        raise UsageError(
            f"{path}: no feature columns: the only column is the target {names[target_index]!r}"
        )
    feature_names = [names[j] for j in feature_index]
    keep_index = {name: names.index(name) for name in keep_text if name in names}

    lines: list[int] = []
    column_chunks: list[list[np.ndarray]] = [[] for _ in feature_index]
    target_chunks: list[np.ndarray] = []
    kept_chunks: dict[str, list[np.ndarray]] = {name: [] for name in keep_index}
    chunk: list[list[str]] = []
    # A number listed as a missing value (e.g. -999) must not pass the all-numbers shortcut.
    # NaN spellings ("NaN", "nan", in the defaults) may: they parse to the NaN they stand for.
    shortcut = not any(_is_number(v) and not math.isnan(float(v)) for v in na_values)

    def flush():
        cells = np.array(chunk, dtype=str)
        features = cells[:, feature_index]
        try:  # the common case, all numbers: one NumPy call for the whole chunk
            if not shortcut:
                raise ValueError
            numbers = features.astype(np.float64)
            for j in range(len(feature_index)):
                column_chunks[j].append(numbers[:, j])
        except ValueError:
            for j in range(len(feature_index)):
                column_chunks[j].append(
                    convert_cells(features[:, j], na_values, decimal_comma=delimiter != ",")
                )
        if target_index is not None:
            target_chunks.append(cells[:, target_index])
        for name, j in keep_index.items():
            kept_chunks[name].append(np.char.strip(cells[:, j]))
        chunk.clear()

    with noticing_interrupts() as check_interrupt:  # NumPy's conversion can swallow Ctrl-C
        for row in reader:
            if _is_blank(row):
                continue
            if len(row) != len(names):
                raise UsageError(
                    f"{path}: line {reader.line_num} has {len(row)} fields, expected "
                    f"{len(names)} (as in the header, separated by "
                    f"{NAMES.get(delimiter, repr(delimiter))})"
                )
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

    table = ColumnTable(
        feature_names,
        [join_chunks(c) for c in column_chunks],
        np.asarray(lines, dtype=np.int64),
        str(path),
        {name: np.concatenate(c) for name, c in kept_chunks.items()},
    )
    target_name = None if target_index is None else names[target_index]
    target_cells = None if target_index is None else np.concatenate(target_chunks)
    return with_target(
        path, table, target_cells, target_name, require_target, na_values, delimiter != ","
    )


def with_target(
    path: Path,
    table: ColumnTable,
    target_cells: np.ndarray | None,
    target_name: str | None,
    require_target: bool,
    na_values,
    decimal_comma: bool = False,
) -> RawTable:
    """The RawTable of a table's feature columns and its target column's text cells (None: no
    target). Rows whose target is missing (empty or a na_values spelling) are left out with a
    warning when a target is required; every reader of named columns (CSV, Parquet) ends here,
    so their targets are parsed the same way."""
    y = None
    if target_cells is not None:
        cells = np.char.strip(target_cells)
        absent = np.isin(cells, list(na_values)) | (np.char.str_len(cells) == 0)
        if np.any(absent):
            if require_target:
                # No label, nothing to learn or score: such rows are never used, in any mode.
                warnings.warn(
                    f"{path}: {int(absent.sum())} of {len(cells)} rows have no value in "
                    f"the target column {target_name!r}; left out",
                    stacklevel=3,
                )
                keep = np.flatnonzero(~absent)
                if len(keep) == 0:
                    raise UsageError(
                        f"{path}: column {target_name!r}: every target cell is missing"
                    )
                table, cells = table.take(keep), cells[keep]
            else:
                cells = None  # predict input: the target is not needed
        if cells is not None and decimal_comma:
            numbers = decimal_comma_numbers(cells)
            cells = cells if numbers is None else numbers
        y = None if cells is None else parse_target(cells)
    return RawTable(
        None,
        y,
        table.names,
        target_name,
        table.locate,
        f"{path}: column {target_name!r}",
        lambda i: f"{path}: {table.locate(i)}, column {target_name!r}",
        table,
    )


def _check_header(path: Path, names: list[str], line: int, delimiter: str) -> list[str]:
    if all(_is_number(name) for name in names):
        raise UsageError(
            f"{path}: line {line} holds numbers, not column names; a header row naming "
            "the columns is required (e.g. x1,x2,target): the model is bound to its "
            "columns by name"
        )
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            what = "no name" if name == "" else f"column name {name!r} appears twice"
            raise UsageError(
                f"{path}: line {line}: {what} (columns {seen[name] + 1} and {j + 1}); "
                "column names must be unique"
            )
        seen[name] = j
    if len(names) == 1 and any(c in names[0] for c in ",;\t|" if c != delimiter):
        raise UsageError(
            f"{path}: line {line}: one column {names[0][:60]!r}; set data.delimiter "
            "if the fields are separated by something other than , ; tab or |"
        )
    return names


def target_column(
    path: Path, names: list[str], target: str | None, require_target: bool
) -> int | None:
    if target is not None:
        if target in names:
            return names.index(target)
        if not require_target:
            return None
        listing = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise UsageError(
            f"{path}: no target column {target!r}{closest(target, names)}; "
            f"the columns are: {listing}"
        )
    if DEFAULT_TARGET in names:
        return names.index(DEFAULT_TARGET)
    return len(names) - 1 if require_target else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
