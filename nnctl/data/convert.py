"""`nnctl data convert big.csv --target y --out big/`: a CSV (or .csv.gz) of any size to a folder
of .npy shards, in bounded memory.

Two passes over the file, a chunk of CHUNK_ROWS rows at a time (a third for data.missing: impute,
which copies the numeric columns into a column-major memory map on disk for their medians):
  1. learn the column pipeline (nnctl.data.columns) under the same rules as training on the CSV:
     used columns (drop), numeric or categorical (a text cell anywhere makes a column text;
     stray spellings in a numeric column are refused), categories sorted, missing cells
     refused / rows dropped / imputed (median, most frequent value); rows without a target are
     left out with a warning; the target is numeric if every cell is a number.
  2. apply it chunk by chunk and write X-00000.npy, y-00000.npy, ... (about SHARD_BYTES each),
     and dataset.json: the column pipeline, feature names and target name, which training
     stores in the checkpoint, so predict on a CSV applies the same encoding.
The pipeline is learned from every row of the file (the converter has no validation split);
training on the CSV learns it from the training rows, so the two give the same numbers when
the split leaves medians and categories unchanged (e.g. val_fraction: 0, or no imputation and
every category present in training).

The output folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np

from nnctl.data.columns import (
    MAX_CATEGORIES,
    MOSTLY_NUMERIC_SHARE,
    ColumnPipeline,
    ColumnSpec,
    check_settings,
    used_columns,
)
from nnctl.data.csv_reader import csv_chunks
from nnctl.data.delimiter import parse_delimiter
from nnctl.data.files import check_file
from nnctl.data.ondisk import pass_progress
from nnctl.data.ondisk_prepare import DESCRIPTION_FILE
from nnctl.data.table import (
    DEFAULT_NA_VALUES,
    ColumnTable,
    decimal_comma_numbers,
    number_text,
)
from nnctl.errors import UsageError
from nnctl.util import ownership

SHARD_BYTES = 256 << 20  # feature bytes per shard
UNBOUNDED = 1 << 62  # converting is for files of any size: no size limit on the source
SETTINGS_DEFAULTS = {
    "drop": [],
    "missing": "error",
    "na_values": list(DEFAULT_NA_VALUES),
    "categorical": "auto",
    "delimiter": "auto",
}


SHARD_FILE = re.compile(r"^[Xy]-\d{5,}\.npy$")


def _is_shard_folder(folder: Path) -> bool:
    """A shard folder nnctl wrote before it stamped them: dataset.json and the first shard."""
    return ownership.is_real_file(folder / DESCRIPTION_FILE) and ownership.is_real_file(
        folder / "X-00000.npy"
    )


def _not_shard_files(folder: Path) -> list[str]:
    return [
        name
        for name in ownership.entries(folder)
        if not ownership.is_real_file(folder / name)
        or not (name == DESCRIPTION_FILE or SHARD_FILE.match(name))
    ]


SHARD_LAYOUT = ownership.Layout("shards", _is_shard_folder, _not_shard_files)


def _chunks(path: Path, target: str | None, settings: dict):
    """(feature names, target name) then, per chunk: (ColumnTable of the feature columns,
    stripped target cells, which of them are missing), from any format that streams (CSV,
    Parquet: their FileFormat.chunks)."""
    return _streamed_format(path).chunk_reader()(path, target, settings)


def _streamed_format(path: Path):
    """The registered format `path` is converted from: the one it is detected as, when that
    format streams; CSV when nothing is known (the CSV reader explains what it found)."""
    from nnctl.data.format_registry import all_formats, format_listing, get_format
    from nnctl.data.formats import detect_format

    if not path.exists():
        return get_format("csv")  # refused as a missing CSV file, by check_file
    try:
        fmt = get_format(detect_format(path))
    except UsageError:
        return get_format("csv")  # not a format we know by its bytes: the CSV reader explains
    if not fmt.streams:
        readable = format_listing([f for f in all_formats() if f.streams])
        raise UsageError(
            f"{path}: {fmt.shown} data is not converted (it is read whole, or memory-mapped "
            f"as .npy); nnctl data convert reads {readable}"
        )
    return fmt


def _parquet_chunks(path: Path, target: str | None, settings: dict):
    from nnctl.data.parquet_reader import parquet_chunks

    na_values = frozenset(settings["na_values"])
    chunks = parquet_chunks(
        path, target=target, require_target=True, max_bytes=UNBOUNDED, na_values=na_values
    )
    yield next(chunks)
    for table, cells in chunks:
        cells = np.char.strip(cells)
        yield table, cells, np.isin(cells, list(na_values)) | (np.char.str_len(cells) == 0)


def _csv_chunks(path: Path, target: str | None, settings: dict):
    """As _chunks, for a CSV file, read by the CSV reader's chunks (nnctl.data.csv_reader)."""
    na_values = frozenset(settings["na_values"])
    chunks = csv_chunks(
        path,
        target=target,
        require_target=True,
        max_bytes=UNBOUNDED,
        na_values=na_values,
        delimiter=parse_delimiter(settings["delimiter"]),
    )
    header = next(chunks)
    yield header.feature_names, header.target_name
    for chunk in chunks:
        yield chunk.table, *_target_cells(chunk.target_cells, na_values, header.delimiter)


def _target_cells(cells: np.ndarray, na_values, delimiter: str):
    """(stripped target cells, which are missing); decimal-comma numbers (a ; or tab file)
    written the canonical way, as read_csv reads them."""
    target = np.char.strip(cells)
    absent = np.isin(target, list(na_values)) | (np.char.str_len(target) == 0)
    if delimiter != ",":
        numbers = decimal_comma_numbers(target[~absent])
        if numbers is not None:
            target = target.astype(object)
            target[np.flatnonzero(~absent)] = [repr(float(v)) for v in numbers]
            target = target.astype(str)
    return target, absent


def _text_form(values: np.ndarray) -> list[str | None]:
    """A column chunk as text (None for missing), numbers written the canonical way, as a
    text column of the whole file holds them (nnctl.data.table.join_chunks)."""
    if values.dtype == object:
        return list(values)
    return [None if np.isnan(v) else number_text(v) for v in values.tolist()]


class _ColumnStats:
    """What pass 1 learns about one column from the rows kept."""

    def __init__(self):
        self.text = False  # some cell is not a number
        self.present = 0
        self.numbers = 0  # present cells that are numbers
        self.first_word = None  # (line, value): first non-number cell
        self.missing_lines: list[int] = []
        self.n_missing = 0
        self.counts: dict[str, int] = {}  # distinct text values (up to MAX_CATEGORIES + 1)
        self.infinite = None  # (line, value) of a first infinite number

    def add(self, values: np.ndarray, lines: np.ndarray) -> None:
        missing = (
            np.array([v is None for v in values], bool)
            if values.dtype == object
            else np.isnan(values)
        )
        self.n_missing += int(missing.sum())
        if len(self.missing_lines) < 4:
            self.missing_lines += [int(x) for x in lines[missing][:4]]
        self.present += int((~missing).sum())
        if values.dtype == object:
            self.text = True
            for i, v in enumerate(values):
                if v is None:
                    continue
                try:
                    float(v)
                    self.numbers += 1
                except ValueError:
                    if self.first_word is None:
                        self.first_word = (int(lines[i]), v)
        else:
            self.numbers += int((~missing).sum())
            bad = np.isinf(values)
            if bad.any() and self.infinite is None:
                i = int(np.flatnonzero(bad)[0])
                self.infinite = (int(lines[i]), float(values[i]))
        if len(self.counts) <= MAX_CATEGORIES:
            for v in _text_form(values):
                if v is not None:
                    self.counts[v] = self.counts.get(v, 0) + 1
                    if len(self.counts) > MAX_CATEGORIES:
                        break  # too many to be categories: more would only hold memory


def _fit(path: Path, target: str | None, settings: dict, scratch: Path):
    """Pass 1 (and the median pass): (pipeline, target name, target numeric?, rows kept)."""
    chunks = _chunks(path, target, settings)
    names, target_name = next(chunks)
    probe = ColumnTable(names, [np.zeros(0)] * len(names), np.zeros(0, np.int64), str(path))
    used_columns(probe, settings["drop"])  # each dropped name must exist
    dropped, present = set(settings["drop"]), set(names)
    used = [n for n in names if n not in dropped]
    if isinstance(settings["categorical"], list):
        for name in settings["categorical"]:
            if name not in present:
                raise UsageError(
                    f"{path}: data.categorical names column {name!r}, which is not in the file"
                )
    stats = {name: _ColumnStats() for name in used}
    kept = no_target = 0
    numeric_target = True
    with pass_progress("reading columns", None, path.stat().st_size) as advance:
        for table, target_cells, absent in chunks:
            rows = _kept_rows(table, used, absent, settings["missing"])
            no_target += int(absent.sum())
            kept += len(rows)
            part = table.take(rows)
            for name in used:
                stats[name].add(part.column(name), part.lines)
            if numeric_target and len(rows):
                try:
                    target_cells[rows].astype(np.float64)
                except ValueError:
                    numeric_target = False
            advance(len(absent))
    if no_target:
        warnings.warn(
            f"{path}: {no_target} rows have no value in the target column "
            f"{target_name!r}; left out",
            stacklevel=2,
        )
    if kept == 0:
        raise UsageError(
            f"{path}: no data rows to convert (after leaving out rows with missing cells)"
        )
    if "" in used:  # as used_columns: an empty unnamed column goes, one with values is asked about
        if stats[""].present:
            raise UsageError(
                f"{path}: column {names.index('') + 1} has no name (R row names or "
                'a pandas index?); leave it out with --drop ""'
            )
        used.remove("")
    if not used:
        raise UsageError(f"{path}: no feature columns left after --drop")
    specs = [_spec(path, name, stats[name], settings) for name in used]
    pipeline = ColumnPipeline(specs, settings["missing"])
    if settings["missing"] == "impute":
        _impute_medians(path, target, settings, pipeline, kept, scratch)
    return pipeline, target_name, numeric_target, kept


def _kept_rows(table: ColumnTable, used, absent, missing: str) -> np.ndarray:
    """Rows with a target (and, for drop_rows, with every used cell present)."""
    keep = ~absent
    if missing == "drop_rows":
        for name in used:
            keep &= ~table.missing(name)
    return np.flatnonzero(keep)


def _spec(path: Path, name: str, s: _ColumnStats, settings: dict) -> ColumnSpec:
    """A column's spec from its statistics, refusing what fit_columns refuses."""
    missing, categorical = settings["missing"], settings["categorical"]
    if missing == "error" and s.n_missing:
        shown = ", ".join(str(x) for x in s.missing_lines[:3])
        raise UsageError(
            f"{path}: missing cells: column {name!r}: {s.n_missing} (lines {shown}"
            f"{', ...' if s.n_missing > 3 else ''}); set data.missing: impute or "
            "drop_rows (--missing), or list the spelling in --na-values"
        )
    is_categorical = (name in categorical) if isinstance(categorical, list) else s.text
    if s.text and not isinstance(categorical, list):
        if s.present > s.numbers >= MOSTLY_NUMERIC_SHARE * s.present:
            line, value = s.first_word
            raise UsageError(
                f"{path}: line {line}, column {name!r}: expected a number, found "
                f"{value!r} (the column is otherwise numeric): add {value!r} to "
                "--na-values, list the column in --categorical, or --drop it"
            )
        if categorical == "none":
            line, value = s.first_word
            raise UsageError(
                f"{path}: line {line}, column {name!r}: expected a number, found "
                f"{value!r}; --categorical is none"
            )
    if missing == "impute" and s.present == 0:
        raise UsageError(f"{path}: column {name!r} has no value to impute from; --drop it")
    if not is_categorical:
        if s.text:
            line, value = s.first_word
            raise UsageError(
                f"{path}: line {line}, column {name!r}: expected a number, found "
                f"{value!r}; list the column in --categorical or --drop it"
            )
        if s.infinite is not None:
            raise UsageError(
                f"{path}: line {s.infinite[0]}, column {name!r}: expected a finite "
                f"number, found {s.infinite[1]!r}"
            )
        return ColumnSpec(name, "numeric")
    if len(s.counts) > MAX_CATEGORIES:
        raise UsageError(
            f"{path}: column {name!r} has more than {MAX_CATEGORIES} distinct "
            f"values, too many categories; leave it out with --drop {name}"
        )
    if s.present >= 20 and len(s.counts) >= 0.9 * s.present:
        raise UsageError(
            f"{path}: column {name!r} has a distinct value on {len(s.counts)} of "
            f"{s.present} rows (an identifier?), not categories; --drop it"
        )
    categories = sorted(s.counts)
    fill = None
    if missing == "impute" and categories:
        fill = max(categories, key=s.counts.__getitem__)  # ties: the first in sorted order
    return ColumnSpec(name, "categorical", fill, categories)


def _impute_medians(path, target, settings, pipeline, n_rows: int, scratch: Path) -> None:
    """data.missing: impute fills a numeric column with its median (as fit_columns does for
    every numeric column, so predict can fill new data): one more pass copies the numeric
    columns into a column-major memory map on disk, then each median reads one column."""
    numeric = [s for s in pipeline.specs if s.kind == "numeric"]
    if not numeric:
        return
    path_npy = scratch / "numeric-columns.npy"
    columns = np.lib.format.open_memmap(
        path_npy, mode="w+", dtype=np.float64, shape=(n_rows, len(numeric)), fortran_order=True
    )
    chunks = _chunks(path, target, settings)
    next(chunks)
    at = 0
    for table, _, absent in chunks:
        part = table.take(np.flatnonzero(~absent))
        for j, spec in enumerate(numeric):
            columns[at : at + part.n_rows, j] = part.column(spec.name)
        at += part.n_rows
    for j, spec in enumerate(numeric):
        column = np.asarray(columns[:, j])
        spec.fill = float(np.median(column[~np.isnan(column)]))
    del columns
    path_npy.unlink()


def convert_csv(
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    target: str | None = None,
    settings: dict | None = None,
    dtype=np.float64,
    force: bool = False,
) -> dict:
    """Convert CSV `path` (or a Parquet file or folder) to shards in folder `out`; returns the
    dataset.json content."""
    path = Path(path)
    settings = {**SETTINGS_DEFAULTS, **(settings or {})}
    check_settings(settings)
    source = _streamed_format(path)
    if source.folder is None:  # a format that reads folders checks its files as they open
        check_file(path, UNBOUNDED, f"{source.shown} file")
    out = ownership.check_out_path(out, inputs=[path])
    occupied = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if occupied and not force:
        raise UsageError(
            f"{out}: already exists and is not empty; choose another --out or "
            "pass --force to replace it"
        )
    if occupied:
        ownership.check_replaceable(out, SHARD_LAYOUT)
    partial = out.with_name(f".{out.name}.partial")  # renamed to `out` once complete
    if os.path.lexists(partial):
        if ownership.stamped_kind(partial) != SHARD_LAYOUT.kind or partial.is_symlink():
            raise UsageError(
                f"{partial}: exists and is not a conversion nnctl left unfinished; move it "
                "away (nnctl writes the shards there before renaming them to --out)"
            )
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    ownership.stamp(partial, SHARD_LAYOUT.kind)
    try:
        pipeline, target_name, numeric_target, kept = _fit(path, target, settings, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    n_features = len(pipeline.output_names)
    shard_rows = max(1, SHARD_BYTES // (np.dtype(dtype).itemsize * n_features))
    shards = _write_shards(
        path, target, settings, pipeline, numeric_target, partial, shard_rows, np.dtype(dtype), kept
    )
    description = {
        "source": str(path.resolve()),
        "rows": kept,
        "shards": shards,
        "dtype": np.dtype(dtype).name,
        "target": target_name,
        "target_kind": "numeric" if numeric_target else "labels",
        "feature_names": pipeline.output_names,
        "columns": pipeline.to_dict(),
    }
    (partial / DESCRIPTION_FILE).write_text(_description_json(description))
    if out.exists():
        ownership.check_replaceable(out, SHARD_LAYOUT)  # still so, after the long passes
        shutil.rmtree(out)
    os.replace(partial, out)
    return description


def _description_json(description: dict) -> str:
    """dataset.json: one top-level key per line, each value compact. (json's indent= runs its
    pure-Python encoder: minutes for 100,000 columns; this is the C one, key by key.)"""
    items = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in description.items()]
    return "{\n" + ",\n".join(items) + "\n}\n"


def _write_shards(
    path,
    target,
    settings,
    pipeline,
    numeric_target,
    folder: Path,
    shard_rows: int,
    dtype,
    total: int,
) -> int:
    """Pass 2: apply the pipeline chunk by chunk into the shards. Features go straight into
    each shard's memory map (the page cache holds them, not the process); the targets of one
    shard are gathered in memory (one value a row). `total`: the rows pass 1 kept."""
    y_parts, filled, shard, X_map = [], 0, 0, None
    chunks = _chunks(path, target, settings)
    used = pipeline.input_names
    n_features = len(pipeline.output_names)

    def open_shard():
        rows = min(shard_rows, total - shard * shard_rows)
        if rows <= 0:
            raise UsageError(f"{path}: has more rows than when it was first read; has it changed?")
        name = folder / f"X-{shard:05d}.npy"
        return np.lib.format.open_memmap(name, mode="w+", dtype=dtype, shape=(rows, n_features))

    def flush():
        nonlocal y_parts, filled, shard, X_map
        X_map.flush()
        y = np.concatenate(y_parts)
        np.save(folder / f"y-{shard:05d}.npy", y.astype(np.float64) if numeric_target else y)
        y_parts, filled, shard, X_map = [], 0, shard + 1, None

    next(chunks)
    with (
        warnings.catch_warnings(),
        pass_progress("writing shards", total, total * 8 * n_features) as advance,
    ):
        warnings.simplefilter("ignore")  # pass 1 has warned about anything worth it
        for table, target_cells, absent in chunks:
            rows = _kept_rows(table, used, absent, settings["missing"])
            X = pipeline.transform(table.take(rows))
            y = target_cells[rows]
            start = 0
            while start < len(rows):
                if X_map is None:
                    X_map = open_shard()
                take = min(len(X_map) - filled, len(rows) - start)
                X_map[filled : filled + take] = X[start : start + take]
                y_parts.append(y[start : start + take])
                filled += take
                start += take
                if filled == len(X_map):
                    flush()
            advance(len(rows))
    if X_map is not None:
        raise UsageError(f"{path}: has fewer rows than when it was first read; has it changed?")
    return shard
