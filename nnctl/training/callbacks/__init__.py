"""The callbacks of a training run, registered in one place: `make_callbacks`.

A new monitor or stopping rule is a Callback subclass (hooks in base.py) in its own file here,
and one line in the list below, at the place its hooks should run. A caller's own callbacks
(nnctl.train(..., callbacks=[...])) run after all of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from nnctl.training.callbacks.base import Callback, CallbackList, user_callbacks
from nnctl.training.callbacks.best_weights import BestWeights
from nnctl.training.callbacks.checkpointing import Checkpointing
from nnctl.training.callbacks.divergence import DivergenceGuard
from nnctl.training.callbacks.early_stopping import EarlyStopping
from nnctl.training.callbacks.evaluation import Evaluation, validation_scores
from nnctl.training.callbacks.metrics_log import MetricsLog
from nnctl.training.callbacks.progress import ProgressReport
from nnctl.training.callbacks.schedule import ScheduleStep
from nnctl.training.callbacks.signals import StopOnSignal
from nnctl.training.callbacks.slow_run import SlowRunNote

__all__ = [
    "Callback",
    "CallbackList",
    "callbacks_for_every_run",
    "make_callbacks",
    "validation_scores",
]

# Callbacks added to every run trained in this context (see callbacks_for_every_run).
_EVERY_RUN: ContextVar[tuple] = ContextVar("nnctl_callbacks_for_every_run", default=())


@contextmanager
def callbacks_for_every_run(objects: Iterable) -> Iterator[None]:
    """Every run trained inside the block, in this thread, gets `objects` as callbacks too
    (after its own): for code that drives a command which trains (the CLI's app run in-process,
    a comparison), where no `callbacks` argument reaches the runs; tests/fault_launch.py stops
    runs at a chosen step this way."""
    token = _EVERY_RUN.set((*_EVERY_RUN.get(), *objects))
    try:
        yield
    finally:
        _EVERY_RUN.reset(token)


def make_callbacks(state, reporter, extra=()) -> list[Callback]:
    """Every callback of the run described by `state`, in the order their hooks run; `extra`:
    the caller's objects (any of the hooks), last, so they see every row complete."""
    train = state.cfg["train"]
    stopping = train["early_stopping"]
    callbacks: list[Callback] = []
    if state.cfg["logging"]["tensorboard"]:
        # Only then: the writer's module is of no use to any other run (nor its start-up time).
        from nnctl.training.callbacks.tensorboard import TensorBoardLog

        tensorboard = [TensorBoardLog(state.run_dir)]
    else:
        tensorboard = []
    # In place (+=): Checkpointing keeps this very list and saves every callback's state_dict.
    callbacks += [
        StopOnSignal(),
        DivergenceGuard(train["on_nonfinite"], train["clip_grad_norm"], state.cfg["optimizer"]),
        Evaluation(),  # completes the epoch's row: the callbacks below read it
        ScheduleStep(),
        MetricsLog(state.run_dir),
        *tensorboard,
        ProgressReport(reporter),
        SlowRunNote(train["threads"], getattr(reporter, "note", None)),  # the reporter's line
        BestWeights(stopping["min_delta"] if stopping else 0.0),
        # After BestWeights: saves its snapshot (and, with restore_best, ends on it).
        Checkpointing(state.run_dir, callbacks, bool(stopping and stopping["restore_best"])),
        *([EarlyStopping(stopping["patience"])] if stopping else []),
        *user_callbacks([*extra, *_EVERY_RUN.get()]),
    ]
    return callbacks
