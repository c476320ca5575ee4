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
    (nnctl/training/callbacks/__init__.py)."""

    def on_train_start(self, state) -> None:
        """Before the first step (of this session: a resumed run starts again here)."""

    def on_nonfinite(self, state, event) -> None:
        """A step whose loss, gradient or iterate is not finite was not applied (`event`: a
        nnctl.training.loop.NonFinite). Raise TrainingFailed to stop; return to skip the batch.
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

    def hook(self, name: str):
        """The bound hook `name` when this callback defines it, else None (not called)."""
        return _defined_hook(self, name)


USER_STATE_PREFIX = "callback:"  # meta["progress"] key of a user callback's state_dict


def _defined_hook(obj, name: str):
    """obj's bound method `name` (a hook, state_dict, ...), or None when it has none (or only
    Callback's empty one)."""
    if isinstance(obj, Callback) and getattr(type(obj), name) is getattr(Callback, name):
        return None
    hook = getattr(obj, name, None)
    return hook if callable(hook) else None


def callback_key(obj) -> str:
    """The name a user callback's checkpoint state is saved under: its `name` attribute when it
    is a string, else its class's qualified name."""
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) and name else type(obj).__qualname__


class UserCallback(Callback):
    """A caller's object with any of the hooks (duck typing: the hooks it lacks are skipped),
    run after the built-in callbacks. Its state_dict() (JSON values), if it has one, is saved
    in the checkpoint under "callback:KEY" and given back to its load_state_dict on resume."""

    def __init__(self, obj, key: str):
        self.obj = obj
        self.key = key

    def hook(self, name: str):
        return _defined_hook(self.obj, name)  # the hooks of the object it wraps

    def state_dict(self) -> dict:
        saver = _defined_hook(self.obj, "state_dict")
        return {USER_STATE_PREFIX + self.key: saver()} if saver is not None else {}

    def load_state_dict(self, progress: dict) -> None:
        loader = _defined_hook(self.obj, "load_state_dict")
        if loader is not None and USER_STATE_PREFIX + self.key in progress:
            loader(progress[USER_STATE_PREFIX + self.key])


def user_callbacks(objects) -> list[UserCallback]:
    """The caller's callback objects wrapped, each under its own key; two objects with the same
    key would overwrite each other's saved state, so that is a UsageError."""
    from nnctl.errors import UsageError

    wrapped, seen = [], set()
    for obj in objects:
        if not any(callable(getattr(obj, name, None)) for name in HOOKS):
            raise UsageError(
                f"callbacks: {obj!r} has none of the hooks {', '.join(HOOKS)}; "
                "expected an object with at least one of them"
            )
        key = callback_key(obj)
        if key in seen:
            raise UsageError(
                f"callbacks: two callbacks are named {key!r}; their saved states would "
                "collide: give one a distinct `name` attribute"
            )
        seen.add(key)
        wrapped.append(UserCallback(obj, key))
    return wrapped


class CallbackList:
    """Calls one hook on every callback that defines it, in order."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)
        # Only the callbacks that define a hook are called: on_batch_end runs every step.
        self._hooks = {
            name: [hook for cb in self.callbacks if (hook := cb.hook(name)) is not None]
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
