"""The callbacks of a training run, registered in one place: `make_callbacks`.

A new monitor or stopping rule is a Callback subclass (hooks in base.py) in its own file here,
and one line in the list below, at the place its hooks should run.
"""

from __future__ import annotations

from nnctl.train.callbacks.base import Callback, CallbackList
from nnctl.train.callbacks.best_weights import BestWeights
from nnctl.train.callbacks.checkpointing import Checkpointing
from nnctl.train.callbacks.divergence import DivergenceGuard
from nnctl.train.callbacks.early_stopping import EarlyStopping
from nnctl.train.callbacks.evaluation import Evaluation, validation_scores
from nnctl.train.callbacks.metrics_log import MetricsLog
from nnctl.train.callbacks.progress import ProgressReport
from nnctl.train.callbacks.schedule import ScheduleStep
from nnctl.train.callbacks.signals import StopOnSignal

__all__ = ["Callback", "CallbackList", "make_callbacks", "validation_scores"]


def make_callbacks(state, reporter) -> list[Callback]:
    """Every callback of the run described by `state`, in the order their hooks run."""
    train = state.cfg["train"]
    stopping = train["early_stopping"]
    callbacks: list[Callback] = []
    # In place (+=): Checkpointing keeps this very list and saves every callback's state_dict.
    callbacks += [
        StopOnSignal(),
        DivergenceGuard(train["on_nonfinite"], train["clip_grad_norm"], state.cfg["optimizer"]),
        Evaluation(),  # completes the epoch's row: the callbacks below read it
        ScheduleStep(),
        MetricsLog(state.run_dir),
        ProgressReport(reporter),
        BestWeights(stopping["min_delta"] if stopping else 0.0),
        # After BestWeights: saves its snapshot (and, with restore_best, ends on it).
        Checkpointing(state.run_dir, callbacks, bool(stopping and stopping["restore_best"])),
        *([EarlyStopping(stopping["patience"])] if stopping else []),
    ]
    return callbacks
