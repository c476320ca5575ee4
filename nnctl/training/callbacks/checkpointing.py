"""checkpoints/last.npz (the whole state: a run resumes from it, and it holds the weights training
delivers: eval and predict use them) and best.npz (the weights of the best epoch by the monitored
value). Writes are atomic (nnctl.runs.checkpoint.save).

With early_stopping.restore_best the run ends on the best weights: the final save loads them into
the model and writes them as last.npz's parameters, its meta saying so under `delivered` (the
epoch they come from and how the run ended). Nothing else of the state changes (optimizer,
counters, RNG stay those of the last epoch). A run that stopped early or converged without
restore_best records `delivered` too (its own last epoch). A `--resume` of a finished run trains
nothing more: it only writes the same summary again.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nnctl.errors import TrainingFailed
from nnctl.runs import checkpoint
from nnctl.training.callbacks.base import Callback
from nnctl.training.loop import Interrupted

CHECKPOINT_INTERVAL_S = 2.0  # at epoch ends, a save at most this often (and at the end)


class Checkpointing(Callback):
    """Saves at the start, at epoch ends (throttled), at the end, and when training stops on a
    signal or divergence. `callbacks`: the run's callbacks, whose state_dicts are saved too.
    `restore_best`: training ends on the best weights (they become last.npz's parameters)."""

    def __init__(self, run_dir: Path, callbacks: list, restore_best: bool = False):
        self.folder = Path(run_dir) / "checkpoints"
        self.callbacks = callbacks
        self.restore_best = restore_best
        self._last_save = 0.0
        self._saved_at_epoch = -1

    def on_train_start(self, state) -> None:
        if state.counters.step == 0 and not (self.folder / "last.npz").exists():
            # The starting point, so last.npz exists (and is finite) even if the very first
            # steps diverge or the process is killed before the first epoch ends.
            self.save(state, last_only=True)
            self._last_save = 0.0  # and the first epoch's end is saved too

    def on_epoch_end(self, state, row: dict) -> None:
        last = state.counters.epoch >= state.total_epochs
        if last or time.monotonic() - self._last_save >= CHECKPOINT_INTERVAL_S:
            self.save(state)

    def on_exception(self, state, exc) -> None:
        if isinstance(exc, (Interrupted, TrainingFailed)):  # raised between steps
            self.save(state)

    def on_train_end(self, state) -> None:
        if self.restore_best:
            state.model.load_state_dict(state.best.weights, "the best weights")
            self.save(state, delivered={"epoch": state.best.epoch, "restored_best": True})
        elif state.status in ("early_stopped", "converged"):
            # Ended before its epoch budget: the meta says so, or a --resume would find epochs
            # left and train on (a run that used all its epochs needs no such mark).
            self.save(state, delivered={"epoch": state.counters.epoch, "restored_best": False})
        elif (
            self._saved_at_epoch != state.counters.epoch or not (self.folder / "best.npz").exists()
        ):
            self.save(state)

    def save(self, state, last_only: bool = False, delivered: dict | None = None) -> None:
        """Write last.npz and best.npz; nothing when the model is not all finite: a finite
        last.npz is never replaced by a diverged one. `delivered`: the run has ended on these
        weights (recorded in last.npz's meta with the run's status)."""
        model = state.model
        if not (
            np.all(np.isfinite(model.theta))
            and all(np.all(np.isfinite(b)) for b in model.buffers().values())
        ):
            return
        progress = state.progress()
        for cb in self.callbacks:
            progress.update(cb.state_dict())
        arrays, meta = state.checkpoint(progress)
        if delivered is not None:
            meta["delivered"] = {**delivered, "status": state.status}
        checkpoint.save(self.folder / "last.npz", arrays, meta)
        if not last_only and state.best.weights is not None:
            best_meta = {**meta, "best": True, "epoch": state.best.epoch}
            best_meta.pop("delivered", None)
            checkpoint.save(self.folder / "best.npz", state.best.weights, best_meta)
        self._last_save = time.monotonic()
        self._saved_at_epoch = state.counters.epoch
