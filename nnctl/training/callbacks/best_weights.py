"""Best-weights tracking: the best epoch by the monitored value, and the model's state then."""

from __future__ import annotations

from nnctl.nn.metrics import is_improvement
from nnctl.training.callbacks.base import Callback


class BestWeights(Callback):
    """Updates state.best after each epoch: a value of state.best.monitor better by more than
    `min_delta` takes a snapshot of the model; any other value counts an epoch without one."""

    def __init__(self, min_delta: float = 0.0):
        self.min_delta = min_delta

    def on_epoch_end(self, state, row: dict) -> None:
        best = state.best
        value = row.get(best.monitor)
        if value is not None and is_improvement(best.monitor, value, best.value, self.min_delta):
            best.value, best.epoch, best.bad_epochs = float(value), state.counters.epoch, 0
            best.weights = state.model.state_dict()
        else:
            best.bad_epochs += 1

    def on_train_end(self, state) -> None:
        if state.best.weights is None:  # no epoch ran (or none was finite): best is the start
            state.best.weights = state.model.state_dict()
