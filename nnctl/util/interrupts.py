"""Noticing Ctrl-C (and SIGTERM) inside C code that swallows it.

NumPy's string-to-float conversion runs Python's float parsing per cell; a KeyboardInterrupt
raised there by the signal handler comes out as a ValueError ("could not convert ..."), the
caller's fallback then converts the cells fine, and the interrupt is lost. `noticing_interrupts`
records every SIGINT/SIGTERM while it is active (and still raises as the previous handler did);
the caller calls `check()` between chunks of work, which raises KeyboardInterrupt if one came.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def noticing_interrupts() -> Iterator[Callable[[], None]]:
    received: list[int] = []
    previous: dict = {}

    def handler(signum, frame):
        received.append(signum)
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)  # e.g. raise KeyboardInterrupt, as before
        elif old != signal.SIG_IGN:
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            current = signal.getsignal(sig)
            if current in (signal.SIG_IGN, None):
                continue  # ignored stays ignored
            previous[sig] = current
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread: nothing to install
            pass

    def check() -> None:
        if received:
            raise KeyboardInterrupt

    try:
        yield check
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError):
                pass
