"""Stop on SIGINT/SIGTERM: the loop finishes the current step, the state is saved, exit 130."""

from __future__ import annotations

import signal

from nnctl.train.callbacks.base import Callback


class StopOnSignal(Callback):
    """Sets state.stop_signal; the loop checks it after every step. A second signal stops at
    once (KeyboardInterrupt). Outside the main thread no handler can be set: plain behaviour."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self._previous = {}

    def on_train_start(self, state) -> None:
        def handler(signum, frame):
            if state.stop_signal is not None:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            state.stop_signal = signum

        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass

    def on_exception(self, state, exc) -> None:
        self._restore()

    def on_train_end(self, state) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        self._previous = {}
