"""RMSProp (Hinton's lecture 6e; exactly torch.optim.RMSprop).

Every step gets about the same size by dividing by a moving RMS of the gradient:

    g    = grad + weight_decay * w
    s   <- alpha * s + (1 - alpha) * g * g
    m   <- alpha * m + (1 - alpha) * g                 (centered only)
    r    = sqrt(s - m * m) + eps   if centered  else   sqrt(s) + eps
    b   <- momentum * b + g / r;   w <- w - lr * b     (momentum > 0; b_0 = 0)
    w   <- w - lr * g / r                              (momentum = 0)

(The lecture's gamma is alpha here; the lecture puts eps inside the root, torch outside.)
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.first_order.rule import (
    FirstOrderRule,
    eps_hyper,
    lr_hyper,
    register_rule,
    weight_decay_hyper,
)
from nnctl.util.registry import Hyper, unit_open


class RMSprop(FirstOrderRule):
    STATE = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, size, dtype, lr, alpha, eps, weight_decay, momentum, centered):
        super().__init__(size, dtype, lr, weight_decay)
        self.alpha, self.eps = alpha, eps
        self.momentum, self.centered = momentum, centered
        self.square_avg = self._buffer()
        self.grad_avg = self._buffer() if centered else None
        self.momentum_buffer = self._buffer() if momentum else None
        self._tmp = self._scratch()

    def _update(self, theta, g, lr):
        tmp, alpha = self._tmp, self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        self.square_avg *= alpha
        self.square_avg += tmp
        if self.centered:
            np.subtract(g, self.grad_avg, out=tmp)  # m + (1 - alpha) * (g - m), torch's lerp
            tmp *= 1.0 - alpha
            self.grad_avg += tmp
            np.multiply(self.grad_avg, self.grad_avg, out=tmp)
            np.subtract(self.square_avg, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(self.square_avg, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        buf = self.momentum_buffer
        if buf is not None:
            buf *= self.momentum
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        theta -= tmp

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink):
        cast, avg, buf = self.dtype.type, self.grad_avg, self.momentum_buffer
        kernels.rmsprop(
            theta, grad, self.square_avg, self._unused() if avg is None else avg,
            self._unused() if buf is None else buf, bool(self.centered), buf is not None,
            decay, wd, shrink, cast(self.alpha), cast(1.0 - self.alpha), cast(self.eps),
            cast(self.momentum), cast(lr),
        )  # fmt: skip


register_rule(
    "rmsprop",
    "RMSProp: steps divided by a moving RMS of the gradient",
    RMSprop,
    (
        lr_hyper(0.01),
        Hyper(
            "alpha",
            "float",
            0.99,
            "decay of the moving average of squared gradients (lecture's gamma)",
            check=unit_open,
            expect="in [0, 1)",
        ),
        eps_hyper(1e-8, "added to the RMS so the division stays finite"),
        weight_decay_hyper(),
        Hyper(
            "momentum",
            "float",
            0.0,
            "momentum on the normalised step: b <- momentum * b + g / r",
            check=unit_open,
            expect="in [0, 1)",
        ),
        Hyper(
            "centered",
            "bool",
            False,
            "divide by the gradient's moving standard deviation instead of RMS",
        ),
    ),
    lr_scale="step",
)
