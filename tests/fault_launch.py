"""Run the real nnctl CLI in this process with a fault injected: the tests' way to interrupt a
run at a chosen step (a callback through nnctl's public door, no patched code) or to stall a
checkpoint write (numpy.savez wrapped).

    python tests/fault_launch.py interrupt-at-step N -- train cfg.yaml --out run -q
    python tests/fault_launch.py stall-checkpoint-writes N -- train cfg.yaml --out run -q

interrupt-at-step N: right after optimizer step N (a full-batch iteration counts as one), the
run's stop flag is raised exactly as a SIGINT arriving during that step would raise it, by a
callback given through nnctl's public door (nnctl.training.callbacks.callbacks_for_every_run).
stall-checkpoint-writes N: the N-th and later checkpoint writes of the process write half the
file, flush it and sleep STALL_S before the rest, so a test can kill -9 the process mid-write.
In-process tests (CliRunner) use the context managers below instead.
"""

from __future__ import annotations

import io
import signal
import sys
import time
from contextlib import contextmanager

STALL_S = 60.0


class InterruptAtStep:
    """A training callback: right after step `step`, the run's stop flag is raised exactly as a
    SIGINT arriving during that step would raise it."""

    def __init__(self, step: int):
        self.step = step

    def on_batch_end(self, state):
        if state.counters.step == self.step:
            state.stop_signal = signal.SIGINT

    def on_epoch_end(self, state, row):
        # A full-batch iteration is one step and ends with its epoch row.
        if state.full_batch and state.counters.step == self.step:
            state.stop_signal = signal.SIGINT


@contextmanager
def interrupting_at_step(step: int):
    """Every run trained inside the block (in this thread) stops, as on SIGINT, right after step
    `step`: nnctl's public door for callbacks of runs a command trains."""
    from nnctl.training.callbacks import callbacks_for_every_run

    with callbacks_for_every_run([InterruptAtStep(step)]):
        yield


@contextmanager
def stalling_checkpoint_writes(first: int):
    """Checkpoint writes number `first` and later stall half-way (see the module docstring).
    Checkpoints are the numpy.savez calls with a `meta` entry (nnctl.runs.checkpoint.save); the
    run folder's split.npz, written with numpy.savez too, is not counted."""
    import numpy as np

    real = np.savez
    writes = 0

    def savez(file, **arrays):
        nonlocal writes
        if "meta" not in arrays:
            return real(file, **arrays)
        writes += 1
        if writes < first:
            return real(file, **arrays)
        buffer = io.BytesIO()
        real(buffer, **arrays)
        data = buffer.getvalue()
        file.write(data[: len(data) // 2])
        file.flush()
        time.sleep(STALL_S)
        file.write(data[len(data) // 2 :])

    np.savez = savez
    try:
        yield
    finally:
        np.savez = real


FAULTS = {
    "interrupt-at-step": interrupting_at_step,
    "stall-checkpoint-writes": stalling_checkpoint_writes,
}


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[0] not in FAULTS or argv[2] != "--" or not argv[1].isdigit():
        sys.exit(f"usage: fault_launch.py {{{'|'.join(FAULTS)}}} N -- NNCTL ARGS...")
    from nnctl.cli.app import app

    with FAULTS[argv[0]](int(argv[1])):
        app(args=argv[3:], prog_name="nnctl")


if __name__ == "__main__":
    main(sys.argv[1:])
