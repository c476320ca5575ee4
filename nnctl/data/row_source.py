"""The rows a run prepares: one interface over an in-memory array and memory-mapped files.

A row source is either an in-memory [n, d] array (a loaded CSV, Parquet, NPZ or built-in
dataset: one block) or a RowView of memory-mapped `.npy` files or shards (nnctl.data.ondisk:
blocks read on demand). Preparing a run (split, statistics, scaling, value checks) goes through
the functions below, written once for both; only the way rows are held differs. A consumer that
reads every value (the statistics, a full-batch pass) asks for `row_blocks`: the array as
blocks of the size a RowView reads, or the view's own blocks, checked as they are read.
"""

from __future__ import annotations

import numpy as np

from nnctl.data.ondisk import array_blocks, checked_blocks, is_on_disk


def select_rows(X, positions: np.ndarray):
    """The rows at `positions`: a copy of an array's rows, a narrower view of memory-mapped
    rows (nothing read)."""
    return X.subset(positions) if is_on_disk(X) else X[positions]


def scale_rows(X, scaler):
    """X standardised by a fitted scaler: a scaled copy of an array, a view of memory-mapped
    rows that scales them as they are read."""
    return X.scaled(scaler) if is_on_disk(X) else scaler.transform(X)


def row_blocks(X, label: str | None = None):
    """X's rows in float64 blocks, in order. Memory-mapped rows are checked to be finite as
    they are read (a UsageError names the file, row and column; `label` shows progress on big
    files); an array's values were checked when it was loaded."""
    if is_on_disk(X):
        return checked_blocks(X, label)
    return array_blocks(np.asarray(X, dtype=np.float64))


def check_values(X, label: str | None = None) -> None:
    """Every value of X is finite (one pass over memory-mapped rows; an array's values were
    checked by its loader)."""
    if is_on_disk(X):
        for _ in row_blocks(X, label):
            pass
