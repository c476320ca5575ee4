"""Adadelta (Zeiler 2012; exactly torch.optim.Adadelta): AdaGrad with a window, and units
fixed by a moving RMS of past updates, so lr = 1 works.

    g   = grad + weight_decay * w
    s  <- rho * s + (1 - rho) * g * g
    d   = sqrt(u + eps) / sqrt(s + eps) * g
    u  <- rho * u + (1 - rho) * d * d
    w  <- w - lr * d
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
from nnctl.util.registry import Hyper, probability


class Adadelta(FirstOrderRule):
    STATE = ("square_avg", "acc_delta")

    def __init__(self, size, dtype, lr, rho, eps, weight_decay):
        super().__init__(size, dtype, lr, weight_decay)
        self.rho, self.eps = rho, eps
        self.square_avg = self._buffer()
        self.acc_delta = self._buffer()
        self._tmp = self._scratch()
        self._delta = self._scratch()

    def _update(self, theta, g, lr):
        tmp, delta, rho, eps = self._tmp, self._delta, self.rho, self.eps
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        self.square_avg *= rho
        self.square_avg += tmp
        np.add(self.square_avg, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(self.acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= tmp
        delta *= g
        np.multiply(delta, delta, out=tmp)
        tmp *= 1.0 - rho
        self.acc_delta *= rho
        self.acc_delta += tmp
        np.multiply(delta, lr, out=tmp)
        theta -= tmp

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink):
        cast = self.dtype.type
        kernels.adadelta(
            theta, grad, self.square_avg, self.acc_delta, decay, wd, shrink, cast(self.rho),
            cast(1.0 - self.rho), cast(self.eps), cast(lr),
        )  # fmt: skip


register_rule(
    "adadelta",
    "Adadelta: windowed AdaGrad with update-sized units (lr 1 works)",
    Adadelta,
    (
        lr_hyper(1.0),
        Hyper(
            "rho",
            "float",
            0.9,
            "decay of the moving averages of squared gradients and updates",
            check=probability,
            expect="in [0, 1]",
        ),
        eps_hyper(1e-6, "added inside both roots; also sets the size of the first steps"),
        weight_decay_hyper(),
    ),
)
