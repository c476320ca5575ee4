"""`cg`: nonlinear conjugate gradients.

    d_k = -g_k + beta_k d_{k-1},         w_{k+1} = w_k + a_k d_k   (a_k: strong-Wolfe search)
    polak_ribiere (PR+):  beta_k = max(0, g_k . (g_k - g_{k-1}) / ||g_{k-1}||^2)
    fletcher_reeves:      beta_k = ||g_k||^2 / ||g_{k-1}||^2

Restarts (d_k = -g_k) on the first iteration, every `restart` iterations (null: every `size`,
the number of parameters, as in Nocedal & Wright 5.2) and whenever d_k is not a descent
direction. First trial step: a_{k-1} g_{k-1}.d_{k-1} / g_k.d_k (N&W eq. 3.60); at the start,
min(1, 1/||g||). c2 defaults to 0.1: CG needs a more exact line search than quasi-Newton.
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.base import OPTIMIZERS, IterationInfo
from nnctl.optim.minimizer import (
    C1,
    COMMON_HYPERS,
    MAX_LS,
    FullBatchMinimizer,
    c2_hyper,
    check_wolfe_constants,
)
from nnctl.util.registry import Hyper, positive


@OPTIMIZERS.register(
    "cg",
    "nonlinear conjugate gradients (PR+ or Fletcher-Reeves), strong-Wolfe line search",
    hypers=COMMON_HYPERS
    + (
        Hyper(
            "beta",
            "str",
            "polak_ribiere",
            "conjugacy formula",
            choices=("polak_ribiere", "fletcher_reeves"),
        ),
        Hyper(
            "restart",
            "int",
            None,
            "restart with -gradient every this many iterations (null: the number of parameters)",
            check=positive,
            expect="> 0",
            nullable=True,
        ),
        C1,
        c2_hyper(0.1),
        MAX_LS,
    ),
    aliases=("conjugate_gradients",),
    family="full_batch",
    validate=check_wolfe_constants,
)
class ConjugateGradients(FullBatchMinimizer):
    STATE = ("direction", "previous_grad", "previous_step", "has_direction", "since_restart")

    def __init__(
        self,
        size,
        dtype=np.float64,
        *,
        beta="polak_ribiere",
        restart=None,
        c1=1e-4,
        c2=0.1,
        max_ls=25,
        **common,
    ):
        super().__init__(size, dtype, **common)
        check_wolfe_constants({"c1": c1, "c2": c2})
        self.beta, self.c1, self.c2, self.max_ls = beta, c1, c2, max_ls
        self.restart = restart if restart is not None else max(self.size, 1)
        self.direction = np.zeros(self.size)  # d_{k-1}
        self.previous_grad = np.zeros(self.size)  # g_{k-1}
        self.previous_step = 0.0  # a_{k-1}
        self.has_direction = False
        self.since_restart = 0

    def step(self, theta, objective) -> IterationInfo:
        done = self.begin(theta, objective)
        if done is not None:
            return done
        g, g_old, d_old = self.g, self.previous_grad, self.direction
        d = None
        if self.has_direction and self.since_restart < self.restart:
            if self.beta == "polak_ribiere":
                beta = max(0.0, float(g @ (g - g_old)) / float(g_old @ g_old))
            else:
                beta = float(g @ g) / float(g_old @ g_old)
            d = beta * d_old - g
            if not float(g @ d) < 0.0:
                d = None
        if d is None:
            d, self.since_restart = -g, 0
        if self.has_direction:
            step0 = self.previous_step * float(g_old @ d_old) / float(g @ d)
        else:
            step0 = min(1.0, 1.0 / float(np.linalg.norm(g)))
        search = self.wolfe_search(objective, d, step0)
        if not search.armijo and self.since_restart > 0:  # a conjugate d failed: try -g
            d, self.since_restart = -g, 0
            search = self.wolfe_search(objective, d, min(1.0, 1.0 / float(np.linalg.norm(g))))
        if not search.armijo:
            return self.give_up(theta)
        self.previous_grad, self.direction, self.previous_step = g, d, search.step
        self.has_direction = True
        self.since_restart += 1
        return self.finish(theta, search.x, search.f, search.g, search.step, d)
