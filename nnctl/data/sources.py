"""Where a run's rows come from: the one choice between memory-mapped, streamed and loaded.

`open_rows` takes a located data file (nnctl.training.data_files) and the data section's
settings, and returns a Dataset whose X is a row source (nnctl.data.row_source):

- an `.npy` file or a shard folder: a RowView of its memory maps (nnctl.data.ondisk_prepare);
- a Parquet file or folder above the in-memory limit: a RowView of its streamed conversion
  (nnctl.data.parquet_rows);
- anything else: loaded by load_file (nnctl.data.formats); a CSV or Parquet table's columns
  are left unfitted for the training file (X None: the caller fits them on its training rows)
  and bound to `pipeline` for a validation file.
"""

from __future__ import annotations

from pathlib import Path

from nnctl.data.dataset import Dataset
from nnctl.errors import UsageError


def open_rows(
    path: Path,
    labels_path: str | None,
    data: dict,
    *,
    which: str = "path",
    classes=None,
    pipeline=None,
    mapped_with: Dataset | None = None,
) -> Dataset:
    """The rows of `data.<which>` (path: the training file; val_path: the validation file).
    data: the data section (format, target, task, column settings). mapped_with: the
    memory-mapped training Dataset that a validation file must match (memory-mapped too, with
    its task and classes)."""
    from nnctl.data.ondisk_prepare import is_on_disk_source, open_dataset

    mapped = is_on_disk_source(path, data["format"] if which == "path" else "auto")
    if mapped_with is not None:
        if not mapped:
            raise UsageError(
                f"{path}: data.val_path must be .npy (or a shard folder) too "
                f"when data.path is ({mapped_with.source})"
            )
        return open_dataset(path, labels_path, task=mapped_with.task, classes=classes)
    if mapped:
        if data["target"] is not None and not path.is_dir():
            raise UsageError(
                f"{path}: data.target names a CSV column or an NPZ array; for npy data "
                "give the targets file as data.labels_path"
            )
        return open_dataset(path, labels_path, task=data["task"])
    if which == "path" and _too_big_to_load(path, data["format"]):
        from nnctl.data.parquet_rows import open_streamed_parquet

        return open_streamed_parquet(path, target=data["target"], settings=data, task=data["task"])
    from nnctl.data.formats import load_file

    return load_file(
        path,
        target=data["target"],
        labels_path=labels_path,
        format=data["format"],
        task=data["task"],
        classes=classes,
        columns=data,
        pipeline=pipeline,
        fit_columns=which != "path",  # a validation file binds the training columns
    )


def _too_big_to_load(path: Path, format: str) -> bool:
    """A Parquet file (or folder) above the in-memory limit: streamed instead of refused."""
    from nnctl.data import files, formats
    from nnctl.data.parquet_rows import parquet_bytes

    if not path.exists():
        return False
    try:
        kind = formats.detect_format(path) if format == "auto" else format
    except UsageError:
        return False  # not a format known by its bytes: load_file says so
    return kind == "parquet" and parquet_bytes(path) > files.MAX_FILE_BYTES
