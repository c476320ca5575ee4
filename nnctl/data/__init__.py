"""Data: built-in datasets, file formats, the train/validation split, scaling and batches.

load_builtin(name, params, rng) / load_file(path, ...)  ->  Dataset
train_val_split(y, val_fraction, rng)                   ->  (train_idx, val_idx)
Standardizer().fit(X_train).transform(X)                ->  scaled copy
BatchIterator(X, y, batch_size, rng=...).epoch()        ->  (index, Xb, yb) views
"""

from __future__ import annotations

from nnctl.util.lazy import lazy_exports

# Each name and the module that defines it, imported when the name is first used: the batch
# iterator and the scaler do not import the file readers.
_HOMES = {
    "BatchIterator": "batches",
    "BUNDLED": "builtin",
    "DATASETS": "builtin",
    "bundled_path": "builtin",
    "describe": "builtin",
    "load_builtin": "builtin",
    "MAX_AUTO_CLASSES": "dataset",
    "TASKS": "dataset",
    "Dataset": "dataset",
    "check_features": "dataset",
    "encode_labels": "dataset",
    "infer_task": "dataset",
    "make_dataset": "dataset",
    "parse_target": "dataset",
    "MAX_FILE_BYTES": "files",
    "FORMATS": "formats",
    "detect_format": "formats",
    "load_file": "formats",
    "Standardizer": "scaling",
    "train_val_split": "split",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "BUNDLED",
    "BatchIterator",
    "DATASETS",
    "Dataset",
    "FORMATS",
    "MAX_AUTO_CLASSES",
    "MAX_FILE_BYTES",
    "Standardizer",
    "TASKS",
    "bundled_path",
    "check_features",
    "describe",
    "detect_format",
    "encode_labels",
    "infer_task",
    "load_builtin",
    "load_file",
    "make_dataset",
    "parse_target",
    "train_val_split",
]
