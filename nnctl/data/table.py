"""A table of named feature columns as read from a text file, before the column pipeline.

Each column is either numeric (float64, NaN where the cell was missing) or text (an object
array of stripped strings, None where missing). A column is text as soon as one of its cells
is neither a number nor a missing-value spelling; numbers in a text column are written the one
canonical way (`number_text`), so "2", "2.0" and "2.00" are one category.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "?")


def number_text(value: float) -> str:
    """The canonical text of a number in a text column: '2' for 2.0, repr otherwise."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


def is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class ColumnTable:
    """Feature columns by name, in file order. lines[i]: the file line of row i (messages).
    raw_text: the original cell text of columns asked for by name (predict --keep).
    unit: what `lines` counts, "line" in a text file, "row" (1-based data rows) in Parquet.
    rows: each row's 0-based position among the file's data rows (default: in order), kept
    through `take`, so a run can record its split as rows of the source table."""

    names: list[str]
    values: list[np.ndarray]
    lines: np.ndarray
    source: str
    raw_text: dict[str, np.ndarray] = field(default_factory=dict)
    unit: str = "line"
    rows: np.ndarray | None = None
    # name -> position: a column by name in constant time (a table may have 100,000 columns)
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.rows is None:
            self.rows = np.arange(len(self.lines), dtype=np.int64)
        self._position = {name: j for j, name in enumerate(self.names)}

    @property
    def n_rows(self) -> int:
        return int(len(self.lines))

    def column(self, name: str) -> np.ndarray:
        return self.values[self._position[name]]

    def is_text(self, name: str) -> bool:
        return self.column(name).dtype == object

    def missing(self, name: str) -> np.ndarray:
        values = self.column(name)
        if values.dtype == object:
            return np.array([v is None for v in values], dtype=bool)
        return np.isnan(values)

    def take(self, rows: np.ndarray) -> ColumnTable:
        return ColumnTable(
            self.names,
            [v[rows] for v in self.values],
            self.lines[rows],
            self.source,
            {k: v[rows] for k, v in self.raw_text.items()},
            self.unit,
            self.rows[rows],
        )

    def locate(self, row: int) -> str:
        return f"{self.unit} {int(self.lines[row])}"


def decimal_comma_numbers(cells: np.ndarray) -> np.ndarray | None:
    """Cells such as "3,25" (a decimal comma, as European spreadsheets write them in ;- or
    tab-separated files) as float64, or None when some cell is not such a number."""
    if not np.all(np.char.count(cells, ".") == 0):
        return None  # "1.234,5" (a thousands point) or a mix of styles: leave it as text
    try:
        return np.char.replace(cells, ",", ".").astype(np.float64)
    except ValueError:
        return None


def convert_cells(
    cells: np.ndarray, na_values: frozenset, decimal_comma: bool = False
) -> np.ndarray:
    """One column's text cells (a chunk of rows) as float64 with NaN for missing cells, or, when
    some cell is not a number, as text with None for missing cells. decimal_comma: "3,25"
    reads as 3.25 (files not separated by commas)."""
    stripped = np.char.strip(cells)
    missing = np.isin(stripped, list(na_values)) if na_values else np.zeros(len(cells), bool)
    try:
        numbers = np.where(missing, "nan", stripped).astype(np.float64)
    except ValueError:
        numbers = (
            decimal_comma_numbers(np.where(missing, "nan", stripped)) if decimal_comma else None
        )
        if numbers is not None:
            return numbers
        out = np.empty(len(cells), dtype=object)
        for i, text in enumerate(stripped.tolist()):
            out[i] = None if missing[i] else (number_text(float(text)) if is_number(text) else text)
        return out
    return numbers


def join_chunks(chunks: list[np.ndarray]) -> np.ndarray:
    """A column from its converted chunks: numeric when every chunk is, else text."""
    if all(c.dtype != object for c in chunks):
        return np.concatenate(chunks) if chunks else np.empty(0)
    parts = []
    for chunk in chunks:
        if chunk.dtype != object:
            text = np.empty(len(chunk), dtype=object)
            for i, v in enumerate(chunk.tolist()):
                text[i] = None if np.isnan(v) else number_text(v)
            chunk = text
        parts.append(chunk)
    return np.concatenate(parts)
