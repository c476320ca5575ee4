"""Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_ on one flat vector)."""

from __future__ import annotations

import math

import numpy as np


def clip_grad_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale the flat `grad` in place so its L2 norm is at most about `max_norm`; return the norm
    before clipping.

        coef = min(1, max_norm / (||grad|| + 1e-6));   grad <- coef * grad

    The 1e-6 is torch's (it keeps coef finite for a zero gradient). A non-finite norm is
    returned as is and the gradient left alone: the caller decides what to do with the batch.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    norm = math.sqrt(float(np.dot(grad, grad)))
    if math.isfinite(norm):
        coef = max_norm / (norm + 1e-6)
        if coef < 1.0:
            grad *= coef
    return norm
