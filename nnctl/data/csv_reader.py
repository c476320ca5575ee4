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
from dataclasses import dataclass
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


@dataclass
class CsvHeader:
    """The columns of a CSV file, as its header row names them."""

    feature_names: list[str]
    target_name: str | None  # None: no target column (allowed when none is required)
    delimiter: str


@dataclass
class CsvChunk:
    """Up to CHUNK_ROWS consecutive data rows of a CSV file."""

    table: ColumnTable  # the feature columns, converted (numbers or text), with line numbers
    target_cells: np.ndarray | None  # the target column's cells as written (str)
    kept_text: dict[str, np.ndarray]  # the stripped cell text of each keep_text column


def csv_chunks(
    path: Path,
    *,
    target: str | None,
    require_target: bool,
    max_bytes: int,
    na_values=DEFAULT_NA_VALUES,
    delimiter: str | None = None,
    keep_text=(),
    not_utf8_hint: str = "",
):
    """The one reader of CSV rows: yields the CsvHeader, then the data rows as CsvChunks, so
    a caller holds one chunk at a time (read_csv joins them; `data convert` streams them).

    delimiter None: detected from the first lines. Rows are checked for their field count;
    messages name the file and line. A file that is not UTF-8 is reported (with
    not_utf8_hint) once it is closed, with the line of its first bad byte."""
    try:
        yield from _chunks_of(
            path, target, require_target, max_bytes, frozenset(na_values), delimiter, keep_text
        )
        return
    except UnicodeDecodeError:
        pass  # reported below, once the file is closed
    raise UsageError(not_utf8_message(path, max_bytes, not_utf8_hint))


def _chunks_of(path, target, require_target, max_bytes, na_values, delimiter, keep_text):
    with open_binary(path, max_bytes) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = None
        try:
            head = list(itertools.islice(text, SNIFF_LINES))
            chosen = delimiter or sniff_delimiter(head, path.name)
            reader = csv.reader(
                itertools.chain(head, text), delimiter=chosen, skipinitialspace=True
            )
            yield from _read_chunks(
                path, reader, target, require_target, na_values, chosen, keep_text
            )
        except csv.Error as exc:
            line = reader.line_num if reader is not None else 1
            raise UsageError(f"{path}: line {line}: malformed CSV ({exc})") from None


def _read_chunks(path, reader, target, require_target, na_values, delimiter, keep_text):
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
    target_name = None if target_index is None else names[target_index]
    yield CsvHeader([names[j] for j in feature_index], target_name, delimiter)
    keep_index = {name: names.index(name) for name in keep_text if name in names}
    rows, lines = [], []
    for row in reader:
        if _is_blank(row):
            continue
        if len(row) != len(names):
            raise UsageError(
                f"{path}: line {reader.line_num} has {len(row)} fields, expected "
                f"{len(names)} (as in the header, separated by "
                f"{NAMES.get(delimiter, repr(delimiter))})"
            )
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == CHUNK_ROWS:
            yield _chunk(
                path,
                rows,
                lines,
                names,
                feature_index,
                target_index,
                keep_index,
                na_values,
                delimiter,
            )
            rows, lines = [], []
    if rows:
        yield _chunk(
            path, rows, lines, names, feature_index, target_index, keep_index, na_values, delimiter
        )


def _chunk(path, rows, lines, names, feature_index, target_index, keep_index, na_values, delimiter):
    cells = np.array(rows, dtype=str)
    numbers = _all_numbers(cells[:, feature_index], na_values)
    if numbers is not None:  # the common case, all numbers: one NumPy call for the whole chunk
        columns = [numbers[:, k] for k in range(len(feature_index))]
    else:
        columns = [
            convert_cells(cells[:, j], na_values, decimal_comma=delimiter != ",")
            for j in feature_index
        ]
    table = ColumnTable(
        [names[j] for j in feature_index], columns, np.asarray(lines, np.int64), str(path)
    )
    return CsvChunk(
        table,
        None if target_index is None else cells[:, target_index],
        {name: np.char.strip(cells[:, j]) for name, j in keep_index.items()},
    )


def _all_numbers(block: np.ndarray, na_values) -> np.ndarray | None:
    """The chunk's feature cells as float64 in one NumPy call (a column-major copy: one view
    per column), or None when some cell is not a number or a number stands for missing (e.g.
    -999 in na_values): then each column is converted on its own. NaN spellings may pass:
    they parse to the NaN they stand for. One call, not one per column: wide tables."""
    if any(_is_number(v) and not math.isnan(float(v)) for v in na_values):
        return None
    try:
        return np.asfortranarray(block.astype(np.float64))
    except ValueError:
        return None


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
    chunks = csv_chunks(
        path,
        target=target,
        require_target=require_target,
        max_bytes=max_bytes,
        na_values=na_values,
        delimiter=delimiter,
        keep_text=keep_text,
        not_utf8_hint="is this a CSV file? set data.format if not",
    )
    header = next(chunks)
    parts: list[CsvChunk] = []
    with noticing_interrupts() as check_interrupt:  # NumPy's conversion can swallow Ctrl-C
        for chunk in chunks:
            parts.append(chunk)
            check_interrupt()
        check_interrupt()
    if not parts:
        raise UsageError(f"{path}: no data rows after the header")
    names = header.feature_names
    table = ColumnTable(
        names,
        [join_chunks([part.table.values[j] for part in parts]) for j in range(len(names))],
        np.concatenate([part.table.lines for part in parts]),
        str(path),
        {
            name: np.concatenate([part.kept_text[name] for part in parts])
            for name in parts[0].kept_text
        },
    )
    target_cells = (
        None
        if header.target_name is None
        else np.concatenate([part.target_cells for part in parts])
    )
    return with_target(
        path,
        table,
        target_cells,
        header.target_name,
        require_target,
        frozenset(na_values),
        header.delimiter != ",",
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
