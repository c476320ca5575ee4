"""The callback protocol: every part of training that is not the loop itself."""

from __future__ import annotations

HOOKS = (
    "on_train_start",
    "on_nonfinite",
    "on_batch_end",
    "on_epoch_end",
    "on_exception",
    "on_train_end",
)


class Callback:
    """Override the hooks you need; each gets the TrainState. Hooks run in registration order
    (nnctl/train/callbacks/__init__.py)."""

    def on_train_start(self, state) -> None:
        """Before the first step (of this session: a resumed run starts again here)."""

    def on_nonfinite(self, state, event) -> None:
        """A step whose loss, gradient or iterate is not finite was not applied (`event`: a
        nnctl.train.loop.NonFinite). Raise TrainingFailed to stop; return to skip the batch.
        The counters still show the steps before it."""

    def on_batch_end(self, state) -> None:
        """After each mini-batch step (the counters include it)."""

    def on_epoch_end(self, state, row: dict) -> None:
        """After each epoch (full-batch: each iteration); `row` is its metrics.jsonl row, which
        callbacks may complete. Set state.stop_training to end training here."""

    def on_exception(self, state, exc: BaseException) -> None:
        """Training stopped on `exc` (Interrupted and TrainingFailed come between steps, with a
        consistent state; anything else may come from anywhere)."""

    def on_train_end(self, state) -> None:
        """Training ended normally (completed, early-stopped or converged)."""

    def state_dict(self) -> dict:
        """This callback's part of meta["progress"] in a checkpoint (JSON values)."""
        return {}

    def load_state_dict(self, progress: dict) -> None:
        """Take this callback's part of a checkpoint's meta["progress"] (ValueError if bad)."""


class CallbackList:
    """Calls one hook on every callback that defines it, in order."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)
        # Only the callbacks that override a hook are called: on_batch_end runs every step.
        self._hooks = {
            name: [
                getattr(cb, name)
                for cb in self.callbacks
                if getattr(type(cb), name) is not getattr(Callback, name)
            ]
            for name in HOOKS
        }

    def __iter__(self):
        return iter(self.callbacks)

    def on_train_start(self, state) -> None:
        for hook in self._hooks["on_train_start"]:
            hook(state)

    def on_nonfinite(self, state, event) -> None:
        for hook in self._hooks["on_nonfinite"]:
            hook(state, event)

    def on_batch_end(self, state) -> None:
        for hook in self._hooks["on_batch_end"]:
            hook(state)

    def on_epoch_end(self, state, row: dict) -> None:
        for hook in self._hooks["on_epoch_end"]:
            hook(state, row)

    def on_exception(self, state, exc: BaseException) -> None:
        for hook in self._hooks["on_exception"]:
            hook(state, exc)

    def on_train_end(self, state) -> None:
        for hook in self._hooks["on_train_end"]:
            hook(state)

    def state_dict(self) -> dict:
        return {key: value for cb in self.callbacks for key, value in cb.state_dict().items()}

    def load_state_dict(self, progress: dict) -> None:
        for cb in self.callbacks:
            cb.load_state_dict(progress)
