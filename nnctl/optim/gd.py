"""`gd`: full-batch gradient descent.

    w_{k+1} = w_k - a_k g_k,     g_k = grad f(w_k)

a_k = lr, or with `armijo: true` the first of lr, then shrinking steps, giving sufficient
decrease f(w_k - a g_k) <= f(w_k) - c1 a ||g_k||^2 (backtracking, line_search.py).
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.base import OPTIMIZERS, IterationInfo
from nnctl.optim.minimizer import C1, COMMON_HYPERS, MAX_LS, FullBatchMinimizer
from nnctl.util.registry import Hyper, positive


@OPTIMIZERS.register(
    "gd",
    "full-batch gradient descent, fixed rate or Armijo backtracking",
    hypers=COMMON_HYPERS
    + (
        Hyper(
            "lr",
            "float",
            0.1,
            "step size (the first trial step with armijo)",
            check=positive,
            expect="> 0",
        ),
        Hyper("armijo", "bool", False, "backtrack from lr until the loss decreases enough"),
        C1,
        MAX_LS,
    ),
    family="full_batch",
    lr_scale="gradient",
)
class GradientDescent(FullBatchMinimizer):
    def __init__(
        self, size, dtype=np.float64, *, lr=0.1, armijo=False, c1=1e-4, max_ls=25, **common
    ):
        super().__init__(size, dtype, **common)
        self.lr, self.armijo, self.c1, self.max_ls = lr, armijo, c1, max_ls

    def step(self, theta, objective) -> IterationInfo:
        done = self.begin(theta, objective)
        if done is not None:
            return done
        direction = -self.g
        if not self.armijo:
            x_new = self.x + self.lr * direction
            f_new, g_new = self.evaluate(objective, x_new)
            return self.finish(theta, x_new, f_new, g_new, self.lr, direction)
        search = self.armijo_search(objective, direction, self.lr)
        if not search.armijo:
            return self.give_up(theta)
        return self.finish(theta, search.x, search.f, search.g, search.step, direction)
