"""`load_file`: any supported data file to a Dataset.

Formats (`format="auto"` picks one from the name, then from the content):
  csv  `.csv`, `.tsv`, `.txt` (gzipped too: `.csv.gz`); header row required; see csv_reader.
  npz  `.npz` with arrays `X` and `y` (`target` names another array for y).
  npy  `.npy`: `path` holds X, `labels_path` holds y.
  idx  a name containing "idx" or "-ubyte", or IDX magic bytes (MNIST); `labels_path` = labels.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnctl.data.csv_reader import read_csv
from nnctl.data.dataset import TASKS, Dataset, make_dataset
from nnctl.data.files import MAX_FILE_BYTES, check_file, head_bytes
from nnctl.data.idx_reader import looks_like_idx, read_idx
from nnctl.data.npz_reader import read_npy_pair, read_npz
from nnctl.errors import UsageError

FORMATS = ("auto", "csv", "npz", "npy", "idx")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")


def detect_format(path: Path) -> str:
    """The format of `path` from its name, else from its first bytes."""
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".npy"):
        return "npy"
    if "idx" in name or "-ubyte" in name:
        return "idx"
    head = head_bytes(path)
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if looks_like_idx(head):
        return "idx"
    if head and b"\x00" not in head:
        return "csv"
    raise UsageError(f"{path}: cannot tell the file format from its name or content; set data.format "
                     "to one of csv, npz, npy, idx")


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
    """
    path = Path(path)
    # Both validated with the config (or read from a checked checkpoint).
    assert format in FORMATS and task in ("auto",) + TASKS, (format, task)
    check_file(path, max_bytes)
    labels = Path(labels_path) if labels_path is not None else None
    if labels is not None:
        check_file(labels, max_bytes, "labels file")
    kind = detect_format(path) if format == "auto" else format
    if labels is not None and kind not in ("npy", "idx"):
        raise UsageError(f"{labels}: data.labels_path applies to npy and idx data; {path} is {kind} "
                         "(its targets are inside it)")
    if target is not None and kind in ("npy", "idx") and require_target:
        raise UsageError(f"{path}: data.target names a CSV column or an NPZ array; for {kind} data "
                         "give the targets file as data.labels_path")

    if kind == "csv":
        table = read_csv(path, target=target, require_target=require_target, max_bytes=max_bytes)
    elif kind == "npz":
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
