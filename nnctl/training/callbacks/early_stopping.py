"""train.early_stopping: stop when the monitored value stops improving."""

from __future__ import annotations

from nnctl.training.callbacks.base import Callback


class EarlyStopping(Callback):
    """Ends training after `patience` epochs without a better state.best. (`restore_best` is
    Checkpointing's: the run's last save delivers the best weights.)"""

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, state, row: dict) -> None:
        if state.best.bad_epochs >= self.patience:
            state.stop_training = True
