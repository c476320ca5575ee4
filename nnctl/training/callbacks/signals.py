"""Stop on SIGINT/SIGTERM/SIGHUP: the loop finishes the current step, the state is saved, exit 130."""

from __future__ import annotations

import signal

from nnctl.training.callbacks.base import Callback


class StopOnSignal(Callback):
    """Sets state.stop_signal; the loop checks it after every step. A second signal stops at
    once (KeyboardInterrupt), unless the state is already being saved: then it is ignored, so
    it cannot cut the save short. Outside the main thread no handler can be set: plain
    behaviour."""

    # SIGHUP (the terminal or SSH session closed) saves like SIGTERM; not on Windows.
    SIGNALS = tuple(
        getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
    )

    def __init__(self):
        self._previous = {}

    def on_train_start(self, state) -> None:
        def handler(signum, frame):
            if state.saving:  # stopping already: let the state be saved
                return
            if state.stop_signal is not None:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            state.stop_signal, state.stop_by_signal = signum, True

        for sig in self.SIGNALS:
            if sig == getattr(signal, "SIGHUP", None) and signal.getsignal(sig) is signal.SIG_IGN:
                continue  # a hang-up the caller ignores (nohup) stays ignored
            # SIGINT and SIGTERM always stop: an ignore inherited from a parent (a test runner
            # that is itself stopping, a background job's SIGINT) must not make nnctl unstoppable
            try:
                self._previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass

    def on_exception(self, state, exc) -> None:
        # Runs first among the callbacks, before the checkpoints and the summary are written.
        # Stopping on a real signal, the process is on its way out: a late second signal (two
        # SIGTERMs 20 ms apart) must neither cut that save short nor kill the process with 143,
        # so both stay ignored instead of going back to the default handlers.
        self._restore(signal.SIG_IGN if state.stop_by_signal else None)

    def on_train_end(self, state) -> None:
        self._restore()

    def _restore(self, instead=None) -> None:
        """Put the handlers back as they were before training (all `instead`, when given)."""
        for sig, old in self._previous.items():
            signal.signal(sig, old if instead is None else instead)
        self._previous = {}
