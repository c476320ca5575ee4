"""Stochastic gradient descent, with optional momentum, dampening, Nesterov and weight decay
(exactly torch.optim.SGD).

    g   = grad + weight_decay * w
    b_1 = g                                   (first step: the buffer is the gradient itself)
    b_t = momentum * b_{t-1} + (1 - dampening) * g          (t > 1)
    d   = g + momentum * b_t   if nesterov   else   b_t     (d = g when momentum = 0)
    w  <- w - lr * d

The lecture writes momentum as  v <- a * g + mu * v;  w <- w - v  (v_0 = 0). At a constant rate
`a` this is the same rule: v_t = a * b_t (induct: a*g_1 = a*b_1, and a*g + mu*(a*b) = a*(g + mu*b)),
so `momentum` and `nesterov` below are the lecture's methods with torch's bookkeeping. (When the
rate changes between steps the two differ: torch rescales the whole velocity at once.)
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError
from nnctl.optim.first_order.rule import FirstOrderRule, lr_hyper, register_rule, weight_decay_hyper
from nnctl.util.registry import Hyper, probability, unit_open


class SGD(FirstOrderRule):
    """Plain, momentum or Nesterov SGD; the momentum buffer exists only when momentum > 0."""

    STATE = ("momentum_buffer",)

    def __init__(self, size, dtype, lr, momentum, dampening, nesterov, weight_decay):
        super().__init__(size, dtype, lr, weight_decay)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        self.momentum_buffer = self._buffer() if momentum else None
        self._tmp = self._scratch()

    def _update(self, theta, g, lr):
        tmp, buf = self._tmp, self.momentum_buffer
        direction = g
        if buf is not None:
            if self.steps == 1:
                np.copyto(buf, g)
            else:
                buf *= self.momentum
                if self.dampening:
                    np.multiply(g, 1.0 - self.dampening, out=tmp)
                    buf += tmp
                else:
                    buf += g
            if self.nesterov:
                np.multiply(buf, self.momentum, out=tmp)
                tmp += g
                direction = tmp
            else:
                direction = buf
        np.multiply(direction, lr, out=tmp)
        theta -= tmp

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink):
        cast, buf = self.dtype.type, self.momentum_buffer
        kernels.sgd(
            theta, grad, self._unused() if buf is None else buf, buf is not None,
            self.steps == 1, bool(self.nesterov), bool(self.dampening), decay, wd, shrink,
            cast(self.momentum), cast(1.0 - self.dampening), cast(lr),
        )  # fmt: skip


def check_nesterov(settings: dict, where: str) -> None:
    """Nesterov looks ahead along the momentum buffer: it needs one, undamped (as torch)."""
    if settings["nesterov"] and (settings["momentum"] <= 0 or settings["dampening"] != 0):
        raise UsageError(
            f"{where}.nesterov: true requires {where}.momentum > 0 and {where}.dampening 0, "
            f"found momentum {settings['momentum']} and dampening {settings['dampening']}"
        )


def _sgd_hypers(momentum: float, nesterov: bool) -> tuple[Hyper, ...]:
    return (
        lr_hyper(0.01),
        Hyper(
            "momentum",
            "float",
            momentum,
            "momentum factor mu: b <- mu * b + (1 - dampening) * g",
            check=unit_open,
            expect="in [0, 1)",
        ),
        Hyper(
            "dampening",
            "float",
            0.0,
            "share of the new gradient damped out of the momentum buffer",
            check=probability,
            expect="in [0, 1]",
        ),
        Hyper(
            "nesterov",
            "bool",
            nesterov,
            "Nesterov momentum: step along g + mu * b (needs momentum > 0, dampening 0)",
        ),
        weight_decay_hyper(),
    )


register_rule(
    "sgd",
    "stochastic gradient descent (torch.optim.SGD; momentum 0 by default)",
    SGD,
    _sgd_hypers(0.0, False),
    validate=check_nesterov,
    lr_scale="gradient",
)
register_rule(
    "momentum",
    "SGD with momentum, the lecture's v <- a*g + mu*v; w <- w - v (sgd, momentum 0.9)",
    SGD,
    _sgd_hypers(0.9, False),
    validate=check_nesterov,
    lr_scale="gradient",
)
register_rule(
    "nesterov",
    "SGD with Nesterov momentum (sgd, momentum 0.9, nesterov true)",
    SGD,
    _sgd_hypers(0.9, True),
    validate=check_nesterov,
    lr_scale="gradient",
)
