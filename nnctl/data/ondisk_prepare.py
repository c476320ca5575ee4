"""Training inputs from memory-mapped data: an `.npy` file (targets in `labels_path`) or a
folder of shards (`X-00000.npy`..., `y-00000.npy`..., and the `dataset.json` that
`nnctl data convert` writes).

The result is the same PreparedData as the in-memory path, except that X_train and X_val are
RowViews (nnctl.data.ondisk): the split is a set of indices, the standardisation is fitted in one
chunked pass and applied as rows are gathered. Targets are small (one value per row) and are
read into memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nnctl.data.dataset import Dataset, make_dataset
from nnctl.data.files import check_file
from nnctl.data.ondisk import (
    DiskRows,
    RowView,
    is_shard_folder,
    open_npy,
    shard_files,
)
from nnctl.errors import UsageError

UNBOUNDED = 1 << 62  # memory-mapped files are not read whole: no size limit
DESCRIPTION_FILE = "dataset.json"  # a converted folder's columns, encodings and target


def is_on_disk_source(path: Path, format: str = "auto") -> bool:
    """Data that is memory-mapped rather than loaded: an .npy file or a shard folder."""
    if path.is_dir():
        return is_shard_folder(path)
    return format in ("auto", "npy") and path.suffix.lower() == ".npy" and path.is_file()


def read_description(folder: Path) -> dict | None:
    path = folder / DESCRIPTION_FILE
    if not path.exists():
        return None
    try:
        description = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable dataset description ({exc})") from None
    if not isinstance(description, dict):
        raise UsageError(f"{path}: expected a JSON object describing the dataset")
    for key, value in description.items():
        check = DESCRIPTION_FIELDS.get(key)
        if check is not None and not check[0](value):
            found = "null" if value is None else f"{type(value).__name__} {value!r:.60}"
            raise UsageError(f"{path}: {key}: expected {check[1]}, found {found}")
    return description


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


DESCRIPTION_FIELDS = {  # key of dataset.json -> (check, what it must be); others are ignored
    "source": (lambda v: isinstance(v, str), "a string (the CSV converted)"),
    "rows": (_is_count, "a count of rows (an integer >= 0)"),
    "shards": (_is_count, "a count of shards (an integer >= 0)"),
    "dtype": (lambda v: v in ("float32", "float64"), "float32 or float64"),
    "target": (lambda v: v is None or isinstance(v, str), "the target column's name or null"),
    "target_kind": (lambda v: v in ("numeric", "labels"), "numeric or labels"),
    "feature_names": (_is_names, "a list of feature names (strings)"),
    "columns": (lambda v: v is None or isinstance(v, dict), "the column pipeline (a mapping)"),
}


def open_dataset(
    path: Path, labels_path=None, *, task: str = "auto", classes=None, require_target: bool = True
) -> Dataset:
    """A Dataset whose X is a RowView of the memory-mapped file or shards (nothing read yet
    but the targets)."""
    description = None
    if path.is_dir():
        features, labels = shard_files(path)
        description = read_description(path)
        if labels_path is not None:
            raise UsageError(
                f"{labels_path}: data.labels_path does not apply to a shard folder; "
                f"{path} holds its targets as y-NNNNN.npy"
            )
    else:
        features = [path]
        labels = None if labels_path is None else [Path(labels_path)]
        check_file(path, UNBOUNDED)
        if labels is not None:
            check_file(labels[0], UNBOUNDED, "labels file")
    source = DiskRows([open_npy(p) for p in features], [str(p) for p in features])
    if labels is None and require_target:
        raise UsageError(
            f"{path}: an .npy file holds only the features; give the targets file "
            "as data.labels_path (an .npy of shape [n])"
        )
    raw_y = None if labels is None else _read_targets(labels, source)
    description = description or {}
    names = description.get("feature_names") or [f"x{j}" for j in range(source.shape[1])]
    if len(names) != source.shape[1]:
        raise UsageError(
            f"{path / DESCRIPTION_FILE}: lists {len(names)} feature names, the "
            f"shards have {source.shape[1]} columns"
        )
    target_name = description.get("target")
    where = f"{labels[0]}: targets" if labels else f"{path}: targets"
    dataset = make_dataset(
        np.zeros((source.shape[0], 0)),
        raw_y,
        task=task,
        classes=classes,
        feature_names=[],
        target_name=target_name,
        source=str(path),
        locate=source.locate,
        target_where=where,
        target_at=lambda i: f"{where}: {source.locate(i)}",
    )
    dataset.X = RowView(source)
    dataset.feature_names = list(names)
    if description.get("columns") is not None:
        from nnctl.data.columns import ColumnPipeline

        dataset.columns = ColumnPipeline.from_dict(
            description["columns"], f"{path / DESCRIPTION_FILE}: columns"
        )
    return dataset


def _read_targets(labels: list[Path], source: DiskRows) -> np.ndarray:
    parts = [np.asarray(open_npy(p, "targets")) for p in labels]
    for part, p, block in zip(parts, labels, source.blocks):
        if part.ndim not in (1, 2) or part.shape[0] != block.shape[0]:
            raise UsageError(
                f"{p}: targets: expected shape [{block.shape[0]}] (one target per "
                f"sample of the features), found shape {tuple(part.shape)}"
            )
        if part.dtype.kind not in "fiubUS":
            raise UsageError(f"{p}: targets: expected numbers or labels, found dtype {part.dtype}")
    y = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    return np.char.strip(y) if y.dtype.kind == "U" else y
