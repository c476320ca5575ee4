"""Data: built-in datasets, file formats, the train/validation split, scaling and batches.

    load_builtin(name, params, rng) / load_file(path, ...)  ->  Dataset
    train_val_split(y, val_fraction, rng)                   ->  (train_idx, val_idx)
    Standardizer().fit(X_train).transform(X)                ->  scaled copy
    BatchIterator(X, y, batch_size, rng=...).epoch()        ->  (index, Xb, yb) views
"""

from __future__ import annotations

from nnctl.data.batches import BatchIterator
from nnctl.data.builtin import BUNDLED, DATASETS, bundled_path, describe, load_builtin
from nnctl.data.dataset import (
    MAX_AUTO_CLASSES,
    TASKS,
    Dataset,
    check_features,
    encode_labels,
    infer_task,
    make_dataset,
    parse_target,
)
from nnctl.data.files import MAX_FILE_BYTES
from nnctl.data.formats import FORMATS, detect_format, load_file
from nnctl.data.scaling import Standardizer
from nnctl.data.split import train_val_split

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
