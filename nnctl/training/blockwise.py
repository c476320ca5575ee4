"""A model's loss and predictions on rows that may be memory-mapped (nnctl.data.ondisk's
RowView): read in blocks, never as one array. In-memory rows go straight to the model."""

from __future__ import annotations

import numpy as np

from nnctl.data.ondisk import chunk_rows, is_on_disk
from nnctl.errors import UsageError
from nnctl.nn.model import EVAL_CHUNK_ROWS


def model_loss(model, X, y) -> float:
    """model.loss(X, y), reading a RowView X in blocks: the same sum over EVAL_CHUNK_ROWS-row
    pieces as Model.loss, so small data gives its value exactly."""
    if not is_on_disk(X):
        return model.loss(X, y)
    n = len(X)
    if n == 0:
        raise UsageError("cannot compute a loss on 0 rows")
    targets = model._targets(y, n)
    step = EVAL_CHUNK_ROWS * max(1, chunk_rows(X.shape[1]) // EVAL_CHUNK_ROWS)
    total = 0.0
    for start, stop, block in X.astype(model.dtype).chunks(step, label="evaluation"):
        block = model._inputs(block)
        for lo in range(0, stop - start, EVAL_CHUNK_ROWS):
            hi = min(lo + EVAL_CHUNK_ROWS, stop - start)
            logits = model._forward(block[lo:hi], False)
            total += model.loss_fn.value(logits, targets[start + lo : start + hi]) * (hi - lo)
    return total / n


def model_predict(model, X) -> np.ndarray:
    """model.predict(X), reading a RowView X in blocks."""
    if not is_on_disk(X):
        return model.predict(X)
    parts = [model.predict(block) for _, _, block in X.astype(model.dtype).chunks()]
    return np.concatenate(parts)
