"""Seeded train/validation split.

Classification (stratified): each class c with n_c samples sends q_c = n_c * val_fraction of
them to validation, rounded so the total is round(n * val_fraction) (largest remainders get the
extra ones), never taking a class's last training sample. So every class's share of the
validation set is within one sample of its share of the data.
Regression (or stratify=False): one permutation; its first round(n * val_fraction) go to
validation.

The result depends only on (y, val_fraction, stratify, task) and the rng state, and the indices
are returned sorted, so the file's row order is kept inside each part.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import shown


def train_val_split(
    y: np.ndarray,
    val_fraction: float,
    rng: np.random.Generator,
    *,
    stratify: bool = True,
    task: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx), int64 and sorted. val_fraction in [0, 1); 0 gives an empty val.

    task: "regression" | "binary" | "multiclass", or "auto": integer codes mean classification.
    Any val_fraction > 0 on two or more samples puts at least one sample in validation.
    """
    if not 0 <= val_fraction < 1:  # the config layer checks data.val_fraction
        raise ValueError(f"val_fraction: expected a number in [0, 1), found {shown(val_fraction)}")
    y = np.asarray(y)
    n = len(y)
    if val_fraction == 0 or n < 2:
        return np.arange(n, dtype=np.int64), np.empty(0, dtype=np.int64)
    n_val = min(max(1, int(round(n * val_fraction))), n - 1)
    if task == "auto":
        task = "regression" if (y.ndim > 1 or y.dtype.kind == "f") else "multiclass"
    if stratify and task != "regression":
        val = _stratified_val(y, n_val, val_fraction, rng)
    else:
        val = rng.permutation(n)[:n_val]
    return _complement_and_sort(n, val)


def _stratified_val(
    y: np.ndarray, n_val: int, val_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    quota = counts * val_fraction
    per_class = np.floor(quota).astype(np.int64)
    # Largest remainders take the samples still missing; ties go to the earlier class, so the
    # counts are a function of the data alone.
    short = n_val - int(per_class.sum())
    if short > 0:
        order = np.argsort(-(quota - per_class), kind="stable")
        per_class[order[:short]] += 1
    per_class = np.minimum(per_class, counts - 1)  # keep one of each class for training
    chosen = []
    for c in range(len(classes)):
        members = np.flatnonzero(codes == c)
        chosen.append(rng.permutation(members)[: per_class[c]])
    return np.concatenate(chosen)


def _complement_and_sort(n: int, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    in_val = np.zeros(n, dtype=bool)
    in_val[val] = True
    return np.flatnonzero(~in_val).astype(np.int64), np.flatnonzero(in_val).astype(np.int64)
