"""train.early_stopping: stop when the monitored value stops improving."""

from __future__ import annotations

from nnctl.train.callbacks.base import Callback


class EarlyStopping(Callback):
    """Ends training after `patience` epochs without a better state.best; with `restore_best`,
    the run ends on the best weights (after the checkpoints of the last state are written)."""

    def __init__(self, patience: int, restore_best: bool):
        self.patience, self.restore_best = patience, restore_best

    def on_epoch_end(self, state, row: dict) -> None:
        if state.best.bad_epochs >= self.patience:
            state.stop_training = True

    def on_train_end(self, state) -> None:
        if self.restore_best:
            state.model.load_state_dict(state.best.weights, "the best weights")
