"""Validation at every epoch end: val_loss and the task's metrics, batched, in eval mode."""

from __future__ import annotations

from nnctl.metrics import task_metrics
from nnctl.prepare import LOSS_UNITS_SCALED
from nnctl.train.callbacks.base import Callback


def validation_scores(state) -> dict:
    """{"loss": ..., <the task's metrics>...} of the model on the validation split."""
    from nnctl.data.ondisk import model_loss, model_predict  # memory-mapped rows: in blocks

    model, y = state.model, state.data.y_val
    scores = {"loss": model_loss(model, state.X_val, y)}
    # R2, RMSE, MAE in the target's own units, whatever the model was trained on.
    prediction = model_predict(model, state.X_val)
    scores.update(task_metrics(state.data.task, *state.data.in_target_units(y, prediction)))
    return scores


class Evaluation(Callback):
    """Adds val_loss, val_<metric>... to the epoch's row, right after train_loss (the column
    order of metrics.jsonl). No validation data: nothing to add. A run trained on a standardised
    target says so in `loss_units`: its losses are in those units, its metrics in the target's."""

    HEAD = ("epoch", "step", "train_loss")

    def on_epoch_end(self, state, row: dict) -> None:
        if state.data.target_scaler is not None:
            row["loss_units"] = LOSS_UNITS_SCALED  # the losses, not the metrics
        if not state.has_val:
            return
        tail = {key: row.pop(key) for key in list(row) if key not in self.HEAD}
        row.update({f"val_{k}": v for k, v in validation_scores(state).items()})
        row.update(tail)
