"""A first look at a user's table: what each column is and whether a model should use it.

`profile_table` reads a CSV as training would and returns, per column, its kind, missing and
distinct counts, and a reason to leave it out (or None): no header name (R row names, a pandas
index), row numbers, an identifier (distinct integers or texts on most rows, or a name like
id, ID, patient_id, index or row), too many categories, a constant, or no value at all. A numeric column with a few stray spellings ("-", "unknown")
reports them, so they can be listed as missing values. `nnctl config init` writes its config
from this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnctl.data.columns import (
    ID_LIKE_MIN_ROWS,
    ID_LIKE_SHARE,
    MAX_CATEGORIES,
    MOSTLY_NUMERIC_SHARE,
)
from nnctl.data.dataset import infer_task
from nnctl.data.files import MAX_FILE_BYTES
from nnctl.data.table import DEFAULT_NA_VALUES, is_number
from nnctl.errors import UsageError

ID_NAME = re.compile(r"^(id|index|row|rownum|row_?id|.*[_ ]id)$", re.IGNORECASE)
MAX_STRAY_SPELLINGS = 5
MAX_CODES = 10  # a numeric column of this few distinct integers may be category codes


@dataclass
class ColumnFacts:
    name: str
    kind: str  # "numeric" | "categorical"
    n_missing: int
    n_distinct: int
    drop_reason: str | None = None
    stray: list[str] = field(default_factory=list)  # odd spellings in a numeric column
    note: str | None = None


@dataclass
class TableFacts:
    path: str
    delimiter: str
    n_rows: int
    target: str
    task: str
    n_classes: int | None
    target_missing: int
    columns: list[ColumnFacts]
    layout: str | None = None  # how a table that is not CSV is laid out ("Parquet")

    @property
    def used(self) -> list[ColumnFacts]:
        return [c for c in self.columns if c.drop_reason is None]

    @property
    def na_values(self) -> list[str]:
        extra = sorted({s for c in self.used for s in c.stray})
        return list(DEFAULT_NA_VALUES) + [s for s in extra if s not in DEFAULT_NA_VALUES]


def _stray_spellings(values: np.ndarray) -> list[str]:
    present = [v for v in values if v is not None]
    odd = sorted({v for v in present if not is_number(v)})
    numeric = len(present) - sum(1 for v in present if not is_number(v))
    mostly_numbers = present and numeric >= MOSTLY_NUMERIC_SHARE * len(present)
    if mostly_numbers and len(odd) <= MAX_STRAY_SPELLINGS:
        return odd
    return []


def _facts(name: str, values: np.ndarray, missing: np.ndarray) -> ColumnFacts:
    n_rows = len(values)
    if values.dtype == object:
        stray = _stray_spellings(values)
        if stray:
            kept = [v for v in values if v is not None and v not in stray]
            return _numeric_facts(
                name, np.array(kept, dtype=np.float64), n_rows - len(kept), n_rows, stray
            )
        present = values[~missing].astype(str)
        n_distinct = len(np.unique(present))
        facts = ColumnFacts(name, "categorical", int(missing.sum()), n_distinct)
        if name == "":
            facts.drop_reason = (
                "no header name (R row names or a pandas index)"
                if len(present)
                else "no header name and no value (a trailing delimiter)"
            )
        elif len(present) >= ID_LIKE_MIN_ROWS and n_distinct >= ID_LIKE_SHARE * len(present):
            facts.drop_reason = (
                f"a distinct value on {n_distinct} of {len(present)} rows: an identifier"
            )
        elif ID_NAME.match(name) and n_distinct > MAX_CODES:
            facts.drop_reason = (
                f"named like an identifier, {n_distinct} distinct values in "
                f"{len(present)} rows: an identifier"
            )
        elif n_distinct > MAX_CATEGORIES:
            facts.drop_reason = (
                f"{n_distinct} distinct values, more than {MAX_CATEGORIES} categories"
            )
        elif n_distinct <= 1:
            facts.drop_reason = "the same value on every row" if n_distinct else "no value at all"
        return facts
    return _numeric_facts(name, values[~missing], int(missing.sum()), n_rows, [])


def _numeric_facts(name, present, n_missing, n_rows, stray) -> ColumnFacts:
    n_distinct = len(np.unique(present))
    facts = ColumnFacts(name, "numeric", n_missing, n_distinct, stray=stray)
    integers = len(present) and bool(np.all(present == np.round(present)))
    if name == "":
        facts.drop_reason = (
            "no header name (R row names or a pandas index)"
            if len(present)
            else "no header name and no value (a trailing delimiter)"
        )
    elif integers and n_distinct == n_rows >= ID_LIKE_MIN_ROWS and np.all(np.diff(present) == 1):
        facts.drop_reason = "row numbers (1, 2, 3, ...)"
    elif ID_NAME.match(name) and integers and n_distinct > MAX_CODES:
        facts.drop_reason = (
            f"named like an identifier, {n_distinct} distinct integers in {len(present)} rows: "
            "a record number, not a measurement"
        )
    elif (
        integers and len(present) >= ID_LIKE_MIN_ROWS and n_distinct >= ID_LIKE_SHARE * len(present)
    ):
        facts.drop_reason = (
            f"{n_distinct} distinct integers in {len(present)} rows: looks like a record "
            "number, not a measurement"
        )
    elif n_distinct <= 1:
        facts.drop_reason = "the same value on every row" if n_distinct else "no value at all"
    elif integers and 3 <= n_distinct <= MAX_CODES and n_rows >= ID_LIKE_MIN_ROWS:
        facts.note = (
            f"{n_distinct} distinct integers: if they are codes, not amounts, list "
            "it in data.categorical"
        )
    return facts


def profile_table(path: str | Path, target: str | None) -> TableFacts:
    import warnings

    from nnctl.data.delimiter import NAMES, sniff_delimiter
    from nnctl.data.files import open_binary
    from nnctl.data.format_registry import ReadRequest, all_formats, format_listing, get_format
    from nnctl.data.formats import COLUMN_DEFAULTS, detect_format

    path = Path(path)
    # A path that does not exist is refused by the CSV reader, naming it.
    fmt = get_format(detect_format(path) if path.exists() else "csv")
    if not fmt.columns:
        tables = format_listing([f for f in all_formats() if f.columns])
        raise UsageError(
            f"{path}: config init profiles a table of named columns ({tables}); "
            f"this is {fmt.shown} data, which has none"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        request = ReadRequest(target=target, max_bytes=MAX_FILE_BYTES, settings=COLUMN_DEFAULTS)
        raw = fmt.read(path, request)
    table = raw.table
    target_missing = 0
    for w in caught:
        match = re.search(r"(\d+) of \d+ rows have no value in the target", str(w.message))
        if match:
            target_missing = int(match.group(1))
    task = infer_task(raw.y, raw.target_where)
    n_classes = None if task == "regression" else len(np.unique(raw.y))
    columns = [_facts(n, table.column(n), table.missing(n)) for n in table.names]
    if fmt.name != "csv":  # the layout line names the format; a delimiter is CSV's alone
        return TableFacts(
            str(path), fmt.shown, table.n_rows + target_missing, raw.target_name, task,
            n_classes, target_missing, columns, layout=fmt.shown,
        )  # fmt: skip
    with open_binary(path, MAX_FILE_BYTES) as handle:
        head = handle.read(1 << 16)

    lines = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines(keepends=True)
    delimiter = sniff_delimiter(lines, path.name)
    return TableFacts(
        str(path),
        NAMES.get(delimiter, delimiter),
        table.n_rows + target_missing,
        raw.target_name,
        task,
        n_classes,
        target_missing,
        columns,
    )
