"""AdaGrad (Duchi et al. 2011; exactly torch.optim.Adagrad).

Each parameter's rate shrinks with the total squared gradient it has seen (the lecture's G_t):

    g   = grad + weight_decay * w
    G  <- G + g * g                      (G_0 = initial_accumulator_value)
    w  <- w - lr_t * g / (sqrt(G) + eps),     lr_t = lr / (1 + (t - 1) * lr_decay)

(The lecture puts eps inside the root, sqrt(G + eps); torch, followed here, adds it outside.)
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
from nnctl.util.registry import Hyper, non_negative


class Adagrad(FirstOrderRule):
    STATE = ("sum",)

    def __init__(self, size, dtype, lr, lr_decay, weight_decay, initial_accumulator_value, eps):
        super().__init__(size, dtype, lr, weight_decay)
        self.lr_decay, self.eps = lr_decay, eps
        self.sum = self._buffer(initial_accumulator_value)
        self._tmp = self._scratch()

    def _update(self, theta, g, lr):
        tmp = self._tmp
        rate = lr / (1.0 + (self.steps - 1) * self.lr_decay)
        np.multiply(g, g, out=tmp)
        self.sum += tmp
        np.sqrt(self.sum, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= rate
        theta -= tmp

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink):
        cast = self.dtype.type
        rate = lr / (1.0 + (self.steps - 1) * self.lr_decay)
        kernels.adagrad(theta, grad, self.sum, decay, wd, shrink, cast(self.eps), cast(rate))


register_rule(
    "adagrad",
    "AdaGrad: per-parameter rates shrinking with the summed squared gradient",
    Adagrad,
    (
        lr_hyper(0.01),
        Hyper(
            "lr_decay",
            "float",
            0.0,
            "rate at step t is lr / (1 + (t - 1) * lr_decay)",
            check=non_negative,
            expect=">= 0",
        ),
        weight_decay_hyper(),
        Hyper(
            "initial_accumulator_value",
            "float",
            0.0,
            "starting value of the squared-gradient sum G",
            check=non_negative,
            expect=">= 0",
        ),
        eps_hyper(1e-10, "added to sqrt(G) so the first steps stay finite"),
    ),
    lr_scale="step",
)
