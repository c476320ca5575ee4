"""A run that becomes far slower than its first epochs predicted says why, once (issue 21).

The usual cause is not nnctl: another program takes the cores, and a BLAS that splits each
product over several threads then waits for the busiest core at every step (a run 14x slower
than with one thread was seen). The note names the likely cause and the setting that helps:

    note: epochs are taking 9x longer than at the start; another program may be using the
    cores (BLAS threads: 2); -s train.threads=1 may help

Only wall-clock times are read (the clock is injected, so tests need no real timing); no number
of the run changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nnctl.training.callbacks.base import Callback

BASELINE_EPOCHS = 3  # the first epochs of the session: what "at the start" means
SLOWDOWN = 4.0  # an epoch over this many times the baseline is slow ...
SUSTAINED = 3  # ... and this many slow epochs in a row are a slow run, not a hiccup
MIN_EXTRA_S = 2.0  # and only when they cost this many seconds more than predicted (tiny epochs
# of a full-batch method vary by microseconds: no one waits for those)


def _median(values: list[float]) -> float:
    """The median (the mean of the two middle values of an even count), as statistics.median
    gives it; that module (with decimal and fractions) is not worth its import time here."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def wall_clock() -> float:
    """Seconds on a monotonic clock: what an epoch took."""
    return time.perf_counter()


class SlowRunNote(Callback):
    """Watches epoch wall times; calls `say(line)` once when the run slows down for good.
    `threads`: the run's BLAS threads (train.threads, resolved); `clock`: seconds, monotonic."""

    def __init__(
        self,
        threads: int,
        say: Callable[[str], None] | None,
        clock: Callable[[], float] | None = None,
    ):
        self.threads = threads
        self.say = say
        self.clock = clock if clock is not None else wall_clock
        self.started: float | None = None
        self.durations: list[float] = []
        self.streak: list[float] = []
        self.said = False

    def on_train_start(self, state) -> None:
        self.started = self.clock()

    def on_epoch_end(self, state, row: dict) -> None:
        if self.said or self.say is None or self.started is None:
            return
        now = self.clock()
        duration, self.started = now - self.started, now
        if len(self.durations) < BASELINE_EPOCHS:
            self.durations.append(duration)
            return
        baseline = _median(self.durations)
        if duration <= SLOWDOWN * baseline:
            self.streak = []
            return
        self.streak.append(duration)
        extra = sum(self.streak) - baseline * len(self.streak)
        if len(self.streak) >= SUSTAINED and extra >= MIN_EXTRA_S:
            self.said = True
            self.say(self.note(_median(self.streak) / baseline if baseline else 0))

    def note(self, ratio: float) -> str:
        """The one line: how much slower, the likely cause, and what may help."""
        times = f"{ratio:.0f}x" if ratio else "far"
        line = (
            f"note: epochs are taking {times} longer than at the start; another program may "
            f"be using the cores (BLAS threads: {self.threads})"
        )
        if self.threads > 1:
            line += "; -s train.threads=1 may help"
        return line
