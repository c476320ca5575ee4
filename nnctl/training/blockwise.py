"""A model's loss and predictions on rows that may be memory-mapped (nnctl.data.ondisk's
RowView): read in blocks, never as one array. In-memory rows go straight to the model.

The loss is summed by nnctl.nn.loss_tally.LossTally, in Model.loss's pieces whatever the block
size, so it is Model.loss's value bit for bit; predictions are made block by block, as
model.predict makes them on each block."""

from __future__ import annotations

import numpy as np

from nnctl.data.ondisk import is_on_disk
from nnctl.errors import UsageError
from nnctl.nn.loss_tally import LossTally


def model_loss(model, X, y) -> float:
    """model.loss(X, y), reading a RowView X in blocks."""
    if not is_on_disk(X):
        return model.loss(X, y)
    tally = _tally(model, X, y)
    for _, _, block in X.astype(model.dtype).chunks(label="evaluation"):
        tally.add(model._inputs(block))
    return tally.result()


def model_predict(model, X) -> np.ndarray:
    """model.predict(X), reading a RowView X in blocks."""
    if not is_on_disk(X):
        return model.predict(X)
    parts = [model.predict(block) for _, _, block in X.astype(model.dtype).chunks()]
    return np.concatenate(parts)


def model_loss_and_predict(model, X, y) -> tuple[float, np.ndarray]:
    """(model_loss(model, X, y), model_predict(model, X)) with one read of a RowView X: each
    block feeds the loss tally and the predictions (the same numbers as the two passes)."""
    if not is_on_disk(X):
        return model.loss(X, y), model.predict(X)
    tally, parts = _tally(model, X, y), []
    for _, _, block in X.astype(model.dtype).chunks(label="evaluation"):
        block = model._inputs(block)
        tally.add(block)
        parts.append(model.predict(block))
    return tally.result(), np.concatenate(parts)


def _tally(model, X, y) -> LossTally:
    if len(X) == 0:
        raise UsageError("cannot compute a loss on 0 rows")
    return LossTally(model, model._targets(y, len(X)))
