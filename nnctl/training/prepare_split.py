"""The train/validation split of a run: drawn from the seed, or read back from its split.npz.

A split is recorded as 0-based row numbers of the source table (its data rows, in file order,
before rows without a target or with a missing cell were left out), so another tool can rebuild
it. `nnctl eval --split` and the API read the record instead of drawing the split again; run
folders from before split.npz draw it again from the seed (the same rows, by construction).
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError


def source_rows(full) -> np.ndarray:
    """Row numbers of the source table for each row of a loaded Dataset (int64)."""
    table = getattr(full, "table", None)
    if table is not None and table.n_rows == len(full.y):
        return np.asarray(table.rows, dtype=np.int64)
    return np.arange(len(full.y), dtype=np.int64)


def split_positions(full, data_cfg: dict, streams, recorded=None):
    """(train_idx, val_idx, train_rows, val_rows): positions in `full` and the source rows
    they are. recorded: (train_rows, val_rows) from split.npz, used instead of the seed."""
    from nnctl.data import train_val_split

    rows = source_rows(full)
    if recorded is None:
        train_idx, val_idx = train_val_split(
            full.y,
            data_cfg["val_fraction"],
            streams["split"],
            stratify=data_cfg["stratify"],
            task=full.task,
        )
        return train_idx, val_idx, rows[train_idx], rows[val_idx]
    train_rows, val_rows = recorded
    return _positions(rows, train_rows), _positions(rows, val_rows), train_rows, val_rows


def _positions(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    at = np.searchsorted(rows, wanted)
    found = (at < len(rows)) & (rows[np.minimum(at, len(rows) - 1)] == wanted)
    if not np.all(found):
        missing = wanted[~found]
        raise UsageError(
            f"split.npz: row {int(missing[0])} of the recorded split is not in the data "
            f"({len(missing)} recorded rows are missing); has the data file changed since "
            "training?"
        )
    return at.astype(np.int64)
