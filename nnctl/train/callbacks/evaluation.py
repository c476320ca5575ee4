"""Validation at every epoch end: val_loss and the task's metrics, batched, in eval mode."""

from __future__ import annotations

from nnctl.metrics import task_metrics
from nnctl.train.callbacks.base import Callback


def validation_scores(state) -> dict:
    """{"loss": ..., <the task's metrics>...} of the model on the validation split."""
    model, y = state.model, state.data.y_val
    scores = {"loss": model.loss(state.X_val, y)}
    scores.update(task_metrics(state.data.task, y, model.predict(state.X_val)))
    return scores


class Evaluation(Callback):
    """Adds val_loss, val_<metric>... to the epoch's row, right after train_loss (the column
    order of metrics.jsonl). No validation data: nothing to add."""

    HEAD = ("epoch", "step", "train_loss")

    def on_epoch_end(self, state, row: dict) -> None:
        if not state.has_val:
            return
        tail = {key: row.pop(key) for key in list(row) if key not in self.HEAD}
        row.update({f"val_{k}": v for k, v in validation_scores(state).items()})
        row.update(tail)
