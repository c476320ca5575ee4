"""The learning-rate schedule, stepped once per epoch of mini-batch training."""

from __future__ import annotations

from nnctl.training.callbacks.base import Callback


class ScheduleStep(Callback):
    """Steps state.schedule after each epoch's evaluation (full-batch methods have none).
    reduce_on_plateau watches a loss (mode min): the validation loss, else the train loss."""

    def on_epoch_end(self, state, row: dict) -> None:
        if not state.full_batch:
            state.schedule.step(row.get("val_loss", row["train_loss"]))
