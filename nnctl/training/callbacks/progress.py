"""Live progress on stderr, through a reporter of nnctl.report.progress."""

from __future__ import annotations

from nnctl.training.callbacks.base import Callback


class ProgressReport(Callback):
    """A title line, a throttled bar or line per batch and per epoch, closed at the end."""

    def __init__(self, reporter):
        self.reporter = reporter

    def on_train_start(self, state) -> None:
        d = state.data
        self.reporter.start(
            state.total_epochs,
            f"{state.cfg['model']['kind']} on {d.source}: {state.optimizer_name}, "
            f"{state.model.n_params} parameters, {len(d.X_train)} train / "
            f"{len(d.X_val)} val",
        )

    def on_batch_end(self, state) -> None:
        c = state.counters
        self.reporter.batch(
            c.epoch + 1, c.position, state.batches.n_batches, c.loss_sum / max(c.loss_count, 1)
        )

    def on_epoch_end(self, state, row: dict) -> None:
        self.reporter.epoch(row)

    def on_exception(self, state, exc) -> None:
        self.reporter.close()

    def on_train_end(self, state) -> None:
        self.reporter.close()
