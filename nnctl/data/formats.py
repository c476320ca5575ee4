"""`load_file`: any supported data file to a Dataset.

Formats (`format="auto"` picks one from the name, then from the content):
  csv  `.csv`, `.tsv`, `.txt` (gzipped too: `.csv.gz`); header row required; see csv_reader.
  npz  `.npz` with arrays `X` and `y` (`target` names another array for y).
  npy  `.npy`: `path` holds X, `labels_path` holds y.
  idx  a name containing "idx" or "-ubyte", or IDX magic bytes (MNIST); `labels_path` = labels.
  parquet  `.parquet` (`.parq`, `.pq`) or the PAR1 magic bytes, or a folder of Parquet files;
       the same columns rules as csv (see parquet_reader); needs the `nnctl[parquet]` extra.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from nnctl.data.columns import fit_columns as fit_columns_on
from nnctl.data.columns import incomplete_rows, used_columns
from nnctl.data.csv_reader import read_csv
from nnctl.data.dataset import TASKS, Dataset, make_dataset
from nnctl.data.delimiter import parse_delimiter
from nnctl.data.files import (
    MAX_FILE_BYTES,
    STDIN_NAME,
    check_file,
    head_bytes,
    is_stream,
    spooled,
)
from nnctl.data.idx_reader import looks_like_idx, read_idx
from nnctl.data.npz_reader import read_npy_pair, read_npz
from nnctl.data.parquet_reader import MAGIC as PARQUET_MAGIC
from nnctl.data.parquet_reader import is_parquet_name, parquet_files, read_parquet
from nnctl.data.table import DEFAULT_NA_VALUES
from nnctl.errors import UsageError

FORMATS = ("auto", "csv", "npz", "npy", "idx", "parquet")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")


def detect_format(path: Path) -> str:
    """The format of `path` from its name, else from its first bytes."""
    name = path.name.lower()
    if path.is_dir():
        return "parquet" if parquet_files(path) else "npy"
    if is_parquet_name(path):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".npy"):
        return "npy"
    if "idx" in name or "-ubyte" in name:
        return "idx"
    head = head_bytes(path)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if looks_like_idx(head):
        return "idx"
    if head and b"\x00" not in head:
        return "csv"
    raise UsageError(
        f"{path}: cannot tell the file format from its name or content; set data.format "
        "to one of csv, npz, npy, idx, parquet"
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
    assert format in FORMATS and task in ("auto",) + TASKS, (format, task)
    if path.is_dir():
        kind = detect_format(path) if format == "auto" else format
        if kind == "npy":
            return _load_shards(path, labels_path, task, classes, require_target)
        if kind != "parquet":
            check_file(path, max_bytes)  # refuses the folder: this format is one file
    else:
        check_file(path, max_bytes)
        kind = detect_format(path) if format == "auto" else format
    labels = Path(labels_path) if labels_path is not None else None
    if labels is not None:
        check_file(labels, max_bytes, "labels file")
    if labels is not None and kind not in ("npy", "idx"):
        raise UsageError(
            f"{labels}: data.labels_path applies to npy and idx data; {path} is {kind} "
            "(its targets are inside it)"
        )
    if target is not None and kind in ("npy", "idx") and require_target:
        raise UsageError(
            f"{path}: data.target names a CSV column or an NPZ array; for {kind} data "
            "give the targets file as data.labels_path"
        )

    if kind in ("csv", "parquet"):
        return _load_table(
            _read_csv if kind == "csv" else _read_parquet,
            path,
            target,
            task,
            classes,
            require_target,
            max_bytes,
            {**COLUMN_DEFAULTS, **(columns or {})},
            pipeline,
            fit_columns,
            keep,
            source_name or str(path),
        )
    if kind == "npz":
        table = read_npz(path, target=target, require_target=require_target)
    elif kind == "npy":
        table = read_npy_pair(path, labels, require_target=require_target)
    else:
        table = read_idx(path, labels, require_target=require_target, max_bytes=max_bytes)

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


def _read_csv(path, target, require_target, max_bytes, settings, keep):
    return read_csv(
        path,
        target=target,
        require_target=require_target,
        max_bytes=max_bytes,
        na_values=settings["na_values"],
        keep_text=keep,
        delimiter=parse_delimiter(settings["delimiter"]),
    )


def _read_parquet(path, target, require_target, max_bytes, settings, keep):
    return read_parquet(
        path,
        target=target,
        require_target=require_target,
        max_bytes=max_bytes,
        na_values=settings["na_values"],
        keep_text=keep,
    )


def _load_table(
    read,
    path,
    target,
    task,
    classes,
    require_target,
    max_bytes,
    settings,
    pipeline,
    fit_columns,
    keep,
    shown,
) -> Dataset:
    """A Dataset from a reader of named columns (CSV, Parquet): the column rules, the
    incomplete rows and the column pipeline apply the same way whatever the file format."""
    table = read(path, target, require_target, max_bytes, settings, keep)
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
