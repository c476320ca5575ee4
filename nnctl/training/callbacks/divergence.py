"""The divergence guard: what a non-finite loss, gradient or iterate does to the run."""

from __future__ import annotations

import warnings

from nnctl.errors import TrainingFailed
from nnctl.training.callbacks.base import Callback

SKIP_LIMIT_EPOCHS = 10  # skip_batch gives up after this many epochs' worth of skipped batches


class DivergenceGuard(Callback):
    """Stops the run with exit 1 (the state saved is the last finite one: a non-finite step is
    never applied, or is undone); with train.on_nonfinite: skip_batch, a mini-batch is skipped
    instead, until more than SKIP_LIMIT_EPOCHS epochs' worth were."""

    def __init__(self, on_nonfinite: str, clip_grad_norm, optimizer_cfg: dict):
        self.skip = on_nonfinite == "skip_batch"
        self.hint_clip = clip_grad_norm is None
        self.hint_stop = on_nonfinite == "stop"
        self.hint_armijo = "armijo" in optimizer_cfg
        self._warned = False

    def on_nonfinite(self, state, event) -> None:
        if state.full_batch or not self.skip:
            raise self._failure(state, event, event.what)
        c = state.counters
        c.skipped_batches += 1
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"epoch {c.epoch + 1}, step {c.step + 1}: {event.what}; batch skipped "
                "(train.on_nonfinite: skip_batch); the count is in summary.json",
                stacklevel=2,
            )
        if c.skipped_batches > SKIP_LIMIT_EPOCHS * state.batches.n_batches:
            raise self._failure(
                state,
                event,
                f"{event.what}, and {c.skipped_batches} batches were "
                "skipped (more than 10 epochs' worth)",
            )

    def _failure(self, state, event, detail: str) -> TrainingFailed:
        c = state.counters
        if event.lr is not None:
            options = [f"lower optimizer.lr (now {event.lr:g})"]
            if state.full_batch and self.hint_armijo:
                options.append("set optimizer.armijo: true")
            if not state.full_batch and self.hint_clip:
                options.append("set train.clip_grad_norm")
            if not state.full_batch and self.hint_stop:
                options.append("set train.on_nonfinite: skip_batch")
            hint = ", ".join(options[:-1]) + (" or " if len(options) > 1 else "") + options[-1]
        else:
            hint = "standardize the data, add loss.l2, or try another optimizer"
        last = state.run_dir / "checkpoints" / "last.npz"
        # Name last.npz only when it is there: never claim a file the run could not write.
        kept = (
            f"{last} keeps the last finite state"
            if last.exists()
            else "no checkpoint was written (no finite state to keep)"
        )
        return TrainingFailed(
            f"training diverged at epoch {c.epoch + 1}, step {c.step + 1}: {detail}; {hint}. {kept}"
        )
