"""config + memory-mapped data (.npy files, shard folders) -> PreparedData whose features are
RowViews: read in blocks, never copied whole. The prepare layer's half of the on-disk work; the
data layer's half (opening, statistics, row views) is nnctl/data/ondisk*.py."""

from __future__ import annotations

from pathlib import Path

from nnctl.data.ondisk import checked_blocks
from nnctl.data.ondisk_prepare import is_on_disk_source, open_dataset
from nnctl.errors import UsageError


def prepare_on_disk(cfg: dict, streams, base_dir: Path | None = None, recorded_split=None):
    """PreparedData with RowView features, or None when the data is not memory-mapped.
    recorded_split: as for prepare_data."""
    import numpy as np

    from nnctl.data import Standardizer
    from nnctl.data.scaling import fit_target_scaler, scale_target
    from nnctl.training.data_files import locate_files
    from nnctl.training.prepare_split import split_positions
    from nnctl.training.prepared_data import PreparedData

    data_cfg = cfg["data"]
    if data_cfg["name"] is not None or data_cfg["path"] in (None, "-"):
        return None
    path, labels = locate_files(data_cfg, "path", base_dir)
    if not is_on_disk_source(path, data_cfg["format"]):
        return None
    if data_cfg["target"] is not None and not path.is_dir():
        raise UsageError(
            f"{path}: data.target names a CSV column or an NPZ array; for npy data "
            "give the targets file as data.labels_path"
        )
    full = open_dataset(path, labels, task=data_cfg["task"])
    if data_cfg["val_path"] is not None:
        val_path, val_labels = locate_files(data_cfg, "val_path", base_dir)
        if not is_on_disk_source(val_path):
            raise UsageError(
                f"{val_path}: data.val_path must be .npy (or a shard folder) too "
                f"when data.path is ({path})"
            )
        val = open_dataset(val_path, val_labels, task=full.task, classes=full.classes)
        if val.X.shape[1] != full.X.shape[1]:
            raise UsageError(
                f"{val_path}: data.val_path has {val.X.shape[1]} features, the "
                f"training data has {full.X.shape[1]}"
            )
        X_train, y_train, X_val, y_val = full.X, full.y, val.X, val.y
        train_rows, val_rows = np.arange(len(y_train)), np.arange(len(y_val))
    else:
        train_idx, val_idx, train_rows, val_rows = split_positions(
            full, data_cfg, streams, recorded_split
        )
        X_train, X_val = full.X.subset(train_idx), full.X.subset(val_idx)
        y_train, y_val = full.y[train_idx], full.y[val_idx]
    if len(X_train) == 0:
        raise UsageError(f"{full.source}: no training rows left after the validation split")
    scaler = None
    if data_cfg["standardize"]:
        scaler = Standardizer().fit(X_train)  # one chunked pass, which checks every value too
        X_train, X_val = X_train.scaled(scaler), X_val.scaled(scaler)
    else:
        for _ in checked_blocks(X_train, "checking features"):
            pass
    for _ in checked_blocks(X_val, "checking validation features"):
        pass
    target_scaler = fit_target_scaler(full.task, data_cfg["standardize_target"], y_train)
    y_train, y_val = scale_target(target_scaler, y_train), scale_target(target_scaler, y_val)
    return PreparedData(
        X_train,
        y_train,
        X_val,
        y_val,
        full.task,
        full.classes,
        full.feature_names,
        scaler,
        full.source,
        full.columns,
        target_scaler,
        np.asarray(train_rows, dtype=np.int64),
        np.asarray(val_rows, dtype=np.int64),
        data_cfg["val_path"] is not None,
    )
