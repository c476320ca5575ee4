"""`load_file`: any data file of a registered format (nnctl.data.format_registry) to a Dataset.

nnctl's own formats (declared in format_builtin; `format="auto"` picks one from the name, then
from the content):
  csv  `.csv`, `.tsv`, `.txt` (gzipped too: `.csv.gz`); header row required; see csv_reader.
  npz  `.npz` with arrays `X` and `y` (`target` names another array for y).
  npy  `.npy`: `path` holds X, `labels_path` holds y; or a folder of .npy shards.
  idx  a name containing "idx" or "-ubyte", or IDX magic bytes (MNIST); `labels_path` = labels.
  parquet  `.parquet` (`.parq`, `.pq`) or the PAR1 magic bytes, or a folder of Parquet files;
       the same columns rules as csv (see parquet_reader); needs the `nnctl[parquet]` extra.
Formats of named columns (csv, parquet) go through the same column rules and pipeline here,
whatever their reader; array formats give X and y directly.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from nnctl.data.columns import fit_columns as fit_columns_on
from nnctl.data.columns import incomplete_rows, used_columns
from nnctl.data.dataset import TASKS, Dataset, make_dataset
from nnctl.data.files import (
    MAX_FILE_BYTES,
    STDIN_NAME,
    check_file,
    head_bytes,
    is_stream,
    spooled,
)
from nnctl.data.format_builtin import CSV_SUFFIXES
from nnctl.data.format_registry import (
    AUTO,
    FORMATS,
    FileFormat,
    ReadRequest,
    all_formats,
    format_choices,
    format_from_content,
    format_from_name,
    format_listing,
    get_format,
)
from nnctl.data.table import DEFAULT_NA_VALUES
from nnctl.errors import UsageError

__all__ = ["CSV_SUFFIXES", "FORMATS", "COLUMN_DEFAULTS", "detect_format", "load_file"]


def detect_format(path: Path) -> str:
    """The format of `path` from its name, else from its first bytes (see FORMATS). A folder
    no format claims is taken for .npy shards (whose reader explains what it expected)."""
    fmt = format_from_name(path)
    if fmt is not None:
        return fmt.name
    if path.is_dir():
        return "npy"
    fmt = format_from_content(head_bytes(path))
    if fmt is not None:
        return fmt.name
    raise UsageError(
        f"{path}: cannot tell the file format from its name or content; set data.format "
        f"to one of {', '.join(FORMATS.names())}"
    )


def load_file(
    path: str | os.PathLike,
    *,
    target: str | None = None,
    labels_path: str | os.PathLike | None = None,
    format: str = "auto",
    task: str = "auto",
    classes: list | None = None,
    require_target: bool = True,
    max_bytes: int = MAX_FILE_BYTES,
    columns: dict | None = None,
    pipeline=None,
    fit_columns: bool = True,
    keep=(),
    source_name: str | None = None,
) -> Dataset:
    """Load a data file as a Dataset (see the module docstring for the formats).

    target: the CSV target column (default "target" if present, else the last column) or the
      NPZ target array (default "y"); an error for npy/idx, where the targets are in labels_path
      (ignored there when require_target is False, so a checkpoint's target name can be passed).
    labels_path: the targets file for npy and idx data.
    task: "auto" (inferred, see nnctl.data.dataset) or "regression" | "binary" | "multiclass".
    classes: a trained model's class labels: map this file's labels onto them (eval/predict).
    require_target: when False a missing target gives y=None (prediction input); a target that
      is present is still read and kept out of X.
    max_bytes: refuse larger files (and gzip content that decompresses to more).
    columns: the CSV column settings of the data section (drop, missing, na_values,
      categorical, delimiter; nnctl.data.columns), default ones when None.
    pipeline: a trained model's ColumnPipeline: the CSV's columns are bound to it by name.
      Otherwise one is fitted on every row, or with fit_columns=False none is: X is None and
      `dataset.table` holds the columns for the caller to fit on its training rows.
    keep: CSV columns whose original text is kept in dataset.table.raw_text.
    `path` "-" (or a pipe such as /dev/stdin) is read from standard input.
    """
    path = Path(path)
    if is_stream(path):
        with spooled(path, max_bytes) as spool:
            try:
                dataset = load_file(
                    spool,
                    target=target,
                    labels_path=labels_path,
                    format=format,
                    task=task,
                    classes=classes,
                    require_target=require_target,
                    max_bytes=max_bytes,
                    columns=columns,
                    pipeline=pipeline,
                    fit_columns=fit_columns,
                    keep=keep,
                    source_name=STDIN_NAME,
                )
            except UsageError as exc:
                raise UsageError(str(exc).replace(str(spool), STDIN_NAME)) from None
        dataset.source = STDIN_NAME
        if dataset.table is not None:
            dataset.table.source = STDIN_NAME
        return dataset
    # Both validated with the config (or read from a checked checkpoint).
    assert format in format_choices() and task in ("auto",) + TASKS, (format, task)
    if path.is_dir():
        kind = detect_format(path) if format == AUTO else format
        if kind == "npy":
            return _load_shards(path, labels_path, task, classes, require_target)
        if get_format(kind).folder is None:
            check_file(path, max_bytes)  # refuses the folder: this format is one file
    else:
        check_file(path, max_bytes)
        kind = detect_format(path) if format == AUTO else format
    fmt = get_format(kind)
    labels = Path(labels_path) if labels_path is not None else None
    if labels is not None:
        check_file(labels, max_bytes, "labels file")
    with_labels = [f for f in all_formats() if f.labels_file]
    if labels is not None and not fmt.labels_file:
        raise UsageError(
            f"{labels}: data.labels_path applies to {format_listing(with_labels, 'and')} data; "
            f"{path} is {kind} (its targets are inside it)"
        )
    if target is not None and fmt.labels_file and require_target:
        raise UsageError(
            f"{path}: data.target names a CSV column or an NPZ array; for {kind} data "
            "give the targets file as data.labels_path"
        )
    request = ReadRequest(
        target=target,
        labels=labels,
        require_target=require_target,
        max_bytes=max_bytes,
        settings={**COLUMN_DEFAULTS, **(columns or {})},
        keep=tuple(keep),
    )
    if fmt.columns:
        return _load_table(
            fmt, path, request, task, classes, pipeline, fit_columns, source_name or str(path)
        )
    table = fmt.read(path, request)
    return make_dataset(
        table.X,
        table.y,
        task=task,
        classes=classes,
        feature_names=table.feature_names,
        target_name=table.target_name,
        source=str(path),
        locate=table.locate,
        target_where=table.target_where,
        target_at=table.target_at,
    )


def _load_shards(path: Path, labels_path, task, classes, require_target) -> Dataset:
    """A folder of .npy shards (nnctl data convert) read into memory, for eval and predict;
    refused with the size it needs when that is too big (train reads it memory-mapped)."""
    from nnctl.data.ondisk import is_shard_folder
    from nnctl.data.ondisk_prepare import open_dataset

    if not is_shard_folder(path):
        raise UsageError(
            f"{path}: expected a data file or a folder of .npy shards "
            "(X-00000.npy, ...), found a folder without them"
        )
    dataset = open_dataset(
        path, labels_path, task=task, classes=classes, require_target=require_target
    )
    dataset.X = np.asarray(dataset.X)
    return dataset


COLUMN_DEFAULTS = {
    "drop": [],
    "missing": "error",
    "na_values": list(DEFAULT_NA_VALUES),
    "categorical": "auto",
    "delimiter": "auto",
}


def _load_table(
    fmt: FileFormat,
    path: Path,
    request: ReadRequest,
    task,
    classes,
    pipeline,
    fit_columns,
    shown,
) -> Dataset:
    """A Dataset from a reader of named columns (CSV, Parquet): the column rules, the
    incomplete rows and the column pipeline apply the same way whatever the file format."""
    table = fmt.read(path, request)
    settings, require_target = request.settings, request.require_target
    columns = table.table
    columns.source = shown
    if pipeline is None and settings["missing"] == "drop_rows":
        columns = _without_incomplete(
            columns, incomplete_rows(columns, used_columns(columns, settings["drop"]))
        )
    elif pipeline is not None and require_target:
        columns = _without_incomplete(columns, pipeline.incomplete(columns))
    if columns is not table.table:  # rows were left out: the target follows
        kept = np.searchsorted(table.table.lines, columns.lines)
        table.y = None if table.y is None else table.y[kept]
    dataset = make_dataset(
        np.zeros((columns.n_rows, 0)),
        table.y,
        task=task,
        classes=classes,
        target_name=table.target_name,
        source=shown,
        locate=columns.locate,
        target_where=table.target_where,
        target_at=lambda i: f"{path}: {columns.locate(i)}, column {table.target_name!r}",
    )
    dataset.table = columns
    if pipeline is None and fit_columns:
        pipeline = fit_columns_on(columns, settings)
    if pipeline is None:
        dataset.X = None
        return dataset
    dataset.X = pipeline.transform(columns)
    dataset.feature_names = pipeline.output_names
    dataset.columns = pipeline
    return dataset


def _without_incomplete(table, incomplete):
    if not incomplete.any():
        return table
    warnings.warn(
        f"{table.source}: {int(incomplete.sum())} of {table.n_rows} rows have a "
        "missing cell; left out (data.missing: drop_rows)",
        stacklevel=2,
    )
    if incomplete.all():
        raise UsageError(
            f"{table.source}: every row has a missing cell; data.missing: drop_rows "
            "leaves nothing (use impute, or data.drop the emptiest columns)"
        )
    return table.take(np.flatnonzero(~incomplete))
