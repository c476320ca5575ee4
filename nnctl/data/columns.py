"""The column pipeline: from a table's named columns to the model's feature matrix.

    fit_columns(table, settings)   learns it from the TRAINING rows
    pipeline.transform(table)      applies it to any table by column name -> X float64

Steps, in order, per column the model uses (every column but the target and `data.drop`):
  missing      error: refuse missing cells, naming the columns, counts and first lines;
               impute: numeric columns take the training median, text columns the most
               frequent training value; drop_rows: rows with a missing cell are left out
               (`incomplete_rows`), in training and eval; predict writes an empty prediction.
  categorical  a text column (or one listed in data.categorical) becomes one 0/1 column per
               category seen in training, sorted; a category never seen in training is all
               zeros, with one warning that counts such cells per column. More than
               MAX_CATEGORIES categories, or a distinct value on most rows (an id), is refused.
Feature scaling (nnctl.data.scaling) comes after, on the resulting matrix.

Everything learned is plain JSON (`to_dict` / `from_dict`) for the checkpoint's meta, and new
tables are bound by column NAME: order does not matter, extra columns are ignored, a missing
one is an error naming it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from nnctl.data.table import ColumnTable, is_number, number_text
from nnctl.errors import UsageError, closest, shown

MISSING_MODES = ("error", "drop_rows", "impute")
MAX_CATEGORIES = 100
ID_LIKE_MIN_ROWS = 20  # below this, "unique on most rows" says nothing
ID_LIKE_SHARE = 0.9  # distinct values on at least this share of rows: an identifier
MOSTLY_NUMERIC_SHARE = 0.5  # a text column with at least this share of numbers: stray spellings
SHOW_LINES = 3


@dataclass
class ColumnSpec:
    """One input column: numeric (fill = median) or categorical (categories, fill = mode)."""

    name: str
    kind: str  # "numeric" | "categorical"
    fill: float | str | None = None
    categories: list[str] | None = None

    def output_names(self) -> list[str]:
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}={c}" for c in self.categories]


def check_settings(data: dict) -> None:
    """Validate the column keys of a resolved `data` section in place (config time)."""
    for key in ("drop", "na_values"):
        value = data[key]
        if not isinstance(value, list) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            raise UsageError(
                f"data.{key}: expected a list of column names / cell texts, found {value!r}"
            )
        data[key] = [v if isinstance(v, str) else number_text(v) for v in value]
    categorical = data["categorical"]
    if isinstance(categorical, list):
        if not all(isinstance(v, str) for v in categorical):
            raise UsageError(
                f"data.categorical: expected auto, none or a list of column names, "
                f"found {categorical!r}"
            )
    elif categorical not in ("auto", "none"):
        raise UsageError(
            f"data.categorical: expected auto, none or a list of column names, "
            f"found {categorical!r}"
        )


def _lines_text(table: ColumnTable, rows: np.ndarray) -> str:
    listed = ", ".join(str(int(table.lines[r])) for r in rows[:SHOW_LINES])
    more = ", ..." if len(rows) > SHOW_LINES else ""
    return f"line{'s' if len(rows) > 1 else ''} {listed}{more}"


def missing_report(table: ColumnTable, names: list[str]) -> list[str]:
    """ "column 'age': 3 (lines 4, 9, 12)" for every column of `names` with missing cells."""
    out = []
    for name in names:
        rows = np.flatnonzero(table.missing(name))
        if len(rows):
            out.append(f"column {name!r}: {len(rows)} ({_lines_text(table, rows)})")
    return out


def refuse_missing(table: ColumnTable, names: list[str], in_training: bool = True) -> None:
    report = missing_report(table, names)
    if report:
        fix = (
            "set data.missing: impute (training medians / most frequent values) or "
            "drop_rows, or list the spelling in data.na_values"
            if in_training
            else "the model was trained with data.missing: error; fill these cells"
        )
        raise UsageError(f"{table.source}: missing cells: {'; '.join(report)}; {fix}")


def incomplete_rows(table: ColumnTable, names: list[str]) -> np.ndarray:
    """Boolean mask of rows with a missing cell in any of `names`."""
    mask = np.zeros(table.n_rows, dtype=bool)
    for name in names:
        mask |= table.missing(name)
    return mask


def used_columns(table: ColumnTable, drop: list[str]) -> list[str]:
    """The table's columns minus `drop` (each dropped name must exist)."""
    present, dropped = set(table.names), set(drop)
    for name in drop:
        if name not in present:
            named = '""' if name == "" else repr(name)
            raise UsageError(
                f"{table.source}: data.drop names column {named}, which is not in "
                f"the file{closest(name, table.names)}; columns: "
                f"{', '.join(table.names[:30])}"
            )
    # An unnamed column without a single value is what a trailing delimiter on every line
    # makes (a spreadsheet export): nothing to use, nothing to ask about.
    used = [n for n in table.names if n not in dropped and not (n == "" and table.missing(n).all())]
    for j, name in enumerate(table.names):
        if name == "" and name in used:  # at most one: names are unique
            raise UsageError(
                f"{table.source}: column {j + 1} has no name (R row names or a "
                'pandas index?); leave it out with data.drop: [""]'
            )
    if not used:
        raise UsageError(f"{table.source}: no feature columns left after data.drop")
    return used


def _categorical_names(table: ColumnTable, used: list[str], categorical) -> list[str]:
    if isinstance(categorical, list):
        present, listed = set(table.names), set(categorical)
        for name in categorical:
            if name not in present:
                raise UsageError(
                    f"{table.source}: data.categorical names column {name!r}, which "
                    f"is not in the file{closest(name, table.names)}"
                )
        return [n for n in used if n in listed]
    text = [n for n in used if table.is_text(n)]
    for name in text:
        _refuse_stray_text(table, name)
    if categorical == "none" and text:
        values = table.column(text[0])
        row = next(i for i, v in enumerate(values) if v is not None and not is_number(v))
        raise UsageError(
            f"{table.source}: {table.locate(row)}, column {text[0]!r}: expected a "
            f"number, found {shown(values[row])}; data.categorical is none: set it to "
            "auto to one-hot encode text columns, or data.drop the column"
        )
    return text


def _refuse_stray_text(table: ColumnTable, name: str) -> None:
    """A numeric column with a few odd spellings ("-", "unknown") is not a category column."""
    values = table.column(name)
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    numeric = sum(is_number(v) for _, v in present)
    if present and len(present) > numeric >= MOSTLY_NUMERIC_SHARE * len(present):
        row, value = next((i, v) for i, v in present if not is_number(v))
        raise UsageError(
            f"{table.source}: {table.locate(row)}, column {name!r}: expected a "
            f"number, found {value!r} (the column is otherwise numeric): add "
            f"{value!r} to data.na_values, list the column in data.categorical, "
            "or data.drop it"
        )


def _as_numbers(table: ColumnTable, name: str, values: np.ndarray, hint: str = "") -> np.ndarray:
    """A column as float64 (NaN for missing); UsageError naming the first non-number."""
    if values.dtype != object:
        return values
    for i, v in enumerate(values):
        if v is not None and not is_number(v):
            raise UsageError(
                f"{table.source}: {table.locate(i)}, column {name!r}: expected a "
                f"number, found {v!r}{hint}"
            )
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def fit_columns(
    table: ColumnTable, settings: dict, schema: ColumnTable | None = None
) -> ColumnPipeline:
    """The pipeline learned from `table` (the training rows). settings: the resolved data
    section (drop, missing, categorical). schema: the whole table, when `table` is part of it:
    which columns are categorical is read from every row, not from the split's luck."""
    used = used_columns(table, settings["drop"])
    missing = settings["missing"]
    if missing == "error":
        refuse_missing(table, used)
    categorical = set(_categorical_names(schema or table, used, settings["categorical"]))
    specs = []
    for name in used:
        present = ~table.missing(name)
        if name in categorical:
            spec = _fit_categorical(table, name, present)
            if missing != "impute":
                spec.fill = None  # drop_rows: a missing category leaves its row out
        else:
            values = _as_numbers(
                table,
                name,
                table.column(name),
                "; list the column in data.categorical or data.drop it",
            )
            if not np.all(np.isfinite(values[present])):
                row = int(np.flatnonzero(present & ~np.isfinite(values))[0])
                raise UsageError(
                    f"{table.source}: {table.locate(row)}, column {name!r}: expected "
                    f"a finite number, found {shown(values[row])}"
                )
            spec = ColumnSpec(name, "numeric")
            if missing == "impute":
                if not present.any():
                    raise UsageError(
                        f"{table.source}: column {name!r} has no value in the "
                        "training rows to impute from; data.drop it"
                    )
                spec.fill = float(np.median(values[present]))
        if missing == "impute" and spec.kind == "categorical" and not present.any():
            raise UsageError(
                f"{table.source}: column {name!r} has no value in the training rows "
                "to impute from; data.drop it"
            )
        specs.append(spec)
    return ColumnPipeline(specs, missing)


def _fit_categorical(table: ColumnTable, name: str, present: np.ndarray) -> ColumnSpec:
    values = _as_text(table.column(name))[present]
    distinct, counts = np.unique(values.astype(str), return_counts=True)
    hint = f"leave it out with data.drop: [{name}]"
    if len(distinct) > MAX_CATEGORIES:
        raise UsageError(
            f"{table.source}: column {name!r} has {len(distinct)} distinct values in "
            f"the training rows, more than {MAX_CATEGORIES} categories; {hint}"
        )
    if len(values) >= ID_LIKE_MIN_ROWS and len(distinct) >= ID_LIKE_SHARE * len(values):
        raise UsageError(
            f"{table.source}: column {name!r} has a distinct value on "
            f"{len(distinct)} of {len(values)} rows (an identifier?), not categories; "
            f"{hint}"
        )
    fill = str(distinct[int(np.argmax(counts))]) if len(distinct) else None
    return ColumnSpec(name, "categorical", fill, [str(c) for c in distinct])


def _as_text(values: np.ndarray) -> np.ndarray:
    """A column as text (None kept for missing): numeric columns listed as categorical."""
    if values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if np.isnan(v) else number_text(v)
    return out


class ColumnPipeline:
    """Fitted column steps (see the module docstring)."""

    def __init__(self, specs: list[ColumnSpec], missing: str):
        self.specs = specs
        self.missing = missing

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def output_names(self) -> list[str]:
        return [n for s in self.specs for n in s.output_names()]

    def check_columns(self, table: ColumnTable, where: str) -> None:
        present, used = set(table.names), self.input_names
        absent = [n for n in used if n not in present]
        if absent:
            absent_names = ", ".join(repr(n) for n in absent[:10])
            wanted = set(used)
            spare = [n for n in table.names if n not in wanted]  # could be a typo
            raise UsageError(
                f"{table.source}: no column {absent_names}{closest(absent[0], spare)}; "
                f"{where} uses the columns {', '.join(self.input_names[:30])} "
                "(matched by header name, in any order)"
            )

    def incomplete(self, table: ColumnTable) -> np.ndarray:
        """Rows that drop_rows leaves out (all False in the other modes)."""
        if self.missing != "drop_rows":
            return np.zeros(table.n_rows, dtype=bool)
        return incomplete_rows(table, self.input_names)

    def transform(self, table: ColumnTable, where: str = "the model") -> np.ndarray:
        """X float64 [n, len(output_names)]. Rows `incomplete` marks hold NaN (drop_rows)."""
        self.check_columns(table, where)
        if self.missing == "error":
            refuse_missing(table, self.input_names, in_training=False)
        blocks, unseen = [], []
        for spec in self.specs:
            values = table.column(spec.name)
            missing = table.missing(spec.name)
            if spec.kind == "numeric":
                blocks.append(self._numeric(table, spec, values, missing)[:, None])
            else:
                block, n_unseen = self._one_hot(spec, values, missing)
                blocks.append(block)
                if n_unseen:
                    unseen.append(f"{spec.name!r}: {n_unseen}")
        if unseen:
            warnings.warn(
                f"{table.source}: categories not seen in training (encoded as all "
                f"zeros), cells per column: {', '.join(unseen)}",
                stacklevel=2,
            )
        return np.concatenate(blocks, axis=1) if blocks else np.empty((table.n_rows, 0))

    def _numeric(self, table, spec, values, missing) -> np.ndarray:
        values = _as_numbers(table, spec.name, values).astype(np.float64, copy=True)
        infinite = np.isinf(values)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise UsageError(
                f"{table.source}: {table.locate(row)}, column {spec.name!r}: "
                f"expected a finite number, found {shown(values[row])}"
            )
        if spec.fill is not None:
            values[missing] = spec.fill
        return values

    def _one_hot(self, spec, values, missing) -> tuple[np.ndarray, int]:
        text = _as_text(values).copy()
        if spec.fill is not None:
            text[missing] = spec.fill
        index = {c: k for k, c in enumerate(spec.categories)}
        codes = np.array([-1 if v is None else index.get(v, -2) for v in text], dtype=np.int64)
        block = np.zeros((len(text), len(spec.categories)))
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        block[codes == -1] = np.nan  # missing, left for drop_rows
        return block, int(np.sum(codes == -2))

    def to_dict(self) -> dict:
        return {
            "missing": self.missing,
            "columns": [
                {"name": s.name, "kind": s.kind, "fill": s.fill, "categories": s.categories}
                for s in self.specs
            ],
        }

    @classmethod
    def from_dict(cls, state, where: str = "columns") -> ColumnPipeline:
        """The pipeline `to_dict` wrote, every field checked: UsageError naming `where`, the
        key and what was found (a checkpoint's meta or a dataset.json edited by hand)."""

        def refuse(key: str, expected: str, value):
            found = "null" if value is None else f"{type(value).__name__} {value!r:.60}"
            raise UsageError(f"{where}{key}: expected {expected}, found {found}")

        def is_number(value) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        if not isinstance(state, dict):
            refuse("", "a mapping with missing and columns", state)
        if state.get("missing") not in MISSING_MODES:
            refuse(".missing", f"one of {', '.join(MISSING_MODES)}", state.get("missing"))
        if not isinstance(state.get("columns"), list):
            refuse(".columns", "a list of columns", state.get("columns"))
        specs = []
        for i, c in enumerate(state["columns"]):
            at = f".columns[{i}]"
            if not isinstance(c, dict):
                refuse(at, "a mapping (name, kind, fill, categories)", c)
            name, kind, fill, categories = (
                c.get(k) for k in ("name", "kind", "fill", "categories")
            )
            if not isinstance(name, str):
                refuse(f"{at}.name", "a column name (a string)", name)
            if kind == "numeric":
                if fill is not None and not is_number(fill):
                    refuse(f"{at}.fill", "a number or null", fill)
                if categories is not None:
                    refuse(f"{at}.categories", "null for a numeric column", categories)
            elif kind == "categorical":
                if not isinstance(categories, list) or not all(
                    isinstance(v, str) for v in categories
                ):
                    refuse(f"{at}.categories", "a list of category names (strings)", categories)
                if fill is not None and fill not in categories:
                    refuse(f"{at}.fill", "one of the column's categories or null", fill)
            else:
                refuse(f"{at}.kind", "numeric or categorical", kind)
            specs.append(ColumnSpec(name, kind, fill, categories))
        return cls(specs, state["missing"])

    @classmethod
    def numeric(cls, names: list[str]) -> ColumnPipeline:
        """The pipeline of a model trained before pipelines were stored: numbers, by name."""
        return cls([ColumnSpec(n, "numeric") for n in names], "error")


def fit_on_rows(
    table: ColumnTable, settings: dict, train_rows: np.ndarray, val_rows: np.ndarray
) -> tuple[ColumnPipeline, np.ndarray, np.ndarray]:
    """The pipeline fitted on the training rows of `table`, and (X_train, X_val) from it."""
    if settings["missing"] == "error":
        refuse_missing(table, used_columns(table, settings["drop"]))  # every row, one message
    train = table.take(train_rows)
    pipeline = fit_columns(train, settings, schema=table)
    return pipeline, pipeline.transform(train), pipeline.transform(table.take(val_rows))
