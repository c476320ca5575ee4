"""Optimizers and learning-rate schedules. Importing this package registers all of them."""

from nnctl.optim import first_order, full_batch, schedules  # noqa: F401  (registration)
from nnctl.optim.base import OPTIMIZERS, SCHEDULES, IterationInfo, Objective, is_full_batch
from nnctl.optim.clip import clip_grad_norm

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "IterationInfo",
    "Objective",
    "clip_grad_norm",
    "is_full_batch",
]
