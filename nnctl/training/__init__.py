"""Training: a short loop over one TrainState; callbacks do the rest.

state.py      TrainState: inputs, model, optimizer, schedule, streams, counters, best
              snapshot; and its checkpoint form
build.py      a fresh TrainState from a resolved config
loop.py       the mini-batch loop and the full-batch loop
callbacks/    signals, divergence guard, evaluation, schedule, metrics log, progress, best
              weights, checkpoints, early stopping: one file each, registered in __init__
summary.py    summary.json
trainer.py    Trainer (one run), train() and resume()
"""

from nnctl.training.loop import Interrupted
from nnctl.training.trainer import Trainer, resume, train

__all__ = ["Interrupted", "Trainer", "resume", "train"]
