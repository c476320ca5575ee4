"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019; exactly torch.optim.Adam/AdamW).
Adam is RMSProp plus momentum, with both averages corrected for starting at zero:

    w  <- w * (1 - lr * weight_decay)                  (AdamW: decoupled decay)
    g   = grad + weight_decay * w                      (Adam: L2 in the gradient)
    m  <- beta1 * m + (1 - beta1) * g
    v  <- beta2 * v + (1 - beta2) * g * g
    vmax <- max(vmax, v);  use vmax for v              (amsgrad)
    w  <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.optim.first_order.rule import (
    FirstOrderRule,
    eps_hyper,
    lr_hyper,
    register_rule,
    weight_decay_hyper,
)
from nnctl.util.registry import Hyper, all_in_unit_open


class Adam(FirstOrderRule):
    """Adam: weight decay as L2 in g (AdamW, below, shrinks w directly instead)."""

    STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, size, dtype, lr, betas, eps, weight_decay, amsgrad):
        super().__init__(size, dtype, lr, weight_decay)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps, self.amsgrad = eps, amsgrad
        self.exp_avg = self._buffer()
        self.exp_avg_sq = self._buffer()
        self.max_exp_avg_sq = self._buffer() if amsgrad else None
        self._tmp = self._scratch()

    def _update(self, theta, g, lr):
        tmp, m, v, beta1, beta2 = self._tmp, self.exp_avg, self.exp_avg_sq, self.beta1, self.beta2
        np.subtract(g, m, out=tmp)  # m + (1 - beta1) * (g - m), torch's lerp
        tmp *= 1.0 - beta1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta2
        v *= beta2
        v += tmp
        if self.amsgrad:
            v = np.maximum(self.max_exp_avg_sq, v, out=self.max_exp_avg_sq)
        step_size = lr / (1.0 - beta1**self.steps)
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1.0 - beta2**self.steps)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        theta -= tmp

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink):
        cast, beta1, beta2, vmax = self.dtype.type, self.beta1, self.beta2, self.max_exp_avg_sq
        kernels.adam(
            theta, grad, self.exp_avg, self.exp_avg_sq, self._unused() if vmax is None else vmax,
            vmax is not None, decay, wd, shrink, cast(1.0 - beta1), cast(beta2),
            cast(1.0 - beta2), cast(math.sqrt(1.0 - beta2**self.steps)), cast(self.eps),
            cast(lr / (1.0 - beta1**self.steps)),
        )  # fmt: skip


class AdamW(Adam):
    decoupled_weight_decay = True


def _adam_hypers(weight_decay) -> tuple[Hyper, ...]:
    return (
        lr_hyper(0.001),
        Hyper(
            "betas",
            "floats",
            (0.9, 0.999),
            "decays (beta1, beta2) of the moving averages of the gradient and its square",
            check=lambda v: len(v) == 2 and all_in_unit_open(v),
            expect="of two values in [0, 1)",
        ),
        eps_hyper(1e-8, "added to the bias-corrected RMS so the division stays finite"),
        weight_decay,
        Hyper("amsgrad", "bool", False, "divide by the running maximum of v (AMSGrad)"),
    )


register_rule(
    "adam",
    "Adam: momentum plus RMS scaling, bias-corrected (weight decay as L2 in g)",
    Adam,
    _adam_hypers(weight_decay_hyper()),
    lr_scale="step",
)
register_rule(
    "adamw",
    "AdamW: Adam with decoupled weight decay w <- w * (1 - lr * weight_decay)",
    AdamW,
    _adam_hypers(
        weight_decay_hyper(
            0.01, "decoupled decay: w <- w * (1 - lr * weight_decay) before each step"
        )
    ),
    lr_scale="step",
)
