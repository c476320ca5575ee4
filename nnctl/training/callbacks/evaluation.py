"""Scores at every epoch end, batched and in eval mode, at the epoch's final weights:
train_loss and objective on the training split, val_loss and the task's metrics on the
validation split.

One meaning per number, everywhere (metrics.jsonl, summary.json, comparison tables and
targets, plots):
    train_loss  the mean data loss over the training split, no penalty
    objective   train_loss + 0.5 * l2 * ||W||^2, what the optimizer minimises
"""

from __future__ import annotations

from nnctl.nn.metrics import task_metrics
from nnctl.training.callbacks.base import Callback
from nnctl.training.prepare import LOSS_UNITS_SCALED


def training_scores(state, X_train=None) -> dict:
    """{"train_loss": ..., "objective": ...} of the model now, on the whole training split."""
    return _kept(state, "train", lambda: _training_scores(state, X_train))


def validation_scores(state) -> dict:
    """{"loss": ..., <the task's metrics>...} of the model on the validation split."""
    return _kept(state, "val", lambda: _validation_scores(state))


def _kept(state, kind: str, compute) -> dict:
    """compute()'s scores, or the last ones of this kind when the model is at the same point
    (parameters and batch-norm statistics, byte for byte): the same function of the same
    numbers, so the same bits, without a pass over the data (summary.json's final scores)."""
    from nnctl.nn.chunked import parameters_key

    model = state.model
    key = parameters_key(model.theta, *model.buffers().values())
    kept = state.scores_kept.get(kind)
    if kept is None or kept[0] != key:
        kept = state.scores_kept[kind] = (key, compute())
    return dict(kept[1])


def _training_scores(state, X_train) -> dict:
    from nnctl.training.blockwise import model_loss  # memory-mapped rows: in blocks

    model, d = state.model, state.data
    # Memory-mapped full-batch training: the objective's last passes may have computed it.
    known = state.train_loss_at(model.theta) if state.train_loss_at else None
    if known is not None:
        train_loss = float(known)
    else:
        if X_train is None:
            X_train = d.X_train.astype(state.dtype, copy=False)
        train_loss = float(model_loss(model, X_train, d.y_train))
    return {"train_loss": train_loss, "objective": train_loss + model.penalty()}


def _validation_scores(state) -> dict:
    from nnctl.training.blockwise import model_loss_and_predict  # memory-mapped rows: one pass

    model, y = state.model, state.data.y_val
    loss, prediction = model_loss_and_predict(model, state.X_val, y)
    scores = {"loss": loss}
    # R2, RMSE, MAE in the target's own units, whatever the model was trained on.
    scores.update(task_metrics(state.data.task, *state.data.in_target_units(y, prediction)))
    return scores


class Evaluation(Callback):
    """Puts train_loss, objective, val_loss, val_<metric>... into the epoch's row, right after
    epoch and step (the column order of metrics.jsonl). No validation data: no val_ columns. A
    run trained on a standardised target says so in `loss_units`: its losses are in those
    units, its metrics in the target's."""

    HEAD = ("epoch", "step")

    def __init__(self):
        self._X_train = None  # the training inputs in the model's dtype, cast once

    def on_epoch_end(self, state, row: dict) -> None:
        if self._X_train is None:
            self._X_train = state.data.X_train.astype(state.dtype, copy=False)
        tail = {key: row.pop(key) for key in list(row) if key not in self.HEAD}
        row.update(training_scores(state, self._X_train))
        if state.has_val:
            row.update({f"val_{k}": v for k, v in validation_scores(state).items()})
        if state.data.target_scaler is not None:
            row["loss_units"] = LOSS_UNITS_SCALED  # the losses, not the metrics
        row.update(tail)
