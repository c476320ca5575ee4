"""`lbfgs`: limited-memory BFGS (Nocedal & Wright Algorithm 7.4 / 7.5).

    d_k = -H_k g_k,     w_{k+1} = w_k + a_k d_k    (a_k: strong-Wolfe search, first trial 1)

H_k is never formed: it is BFGS applied to H_0 = gamma I, gamma = s.y / y.y of the newest pair,
with the last m = history_size pairs s_i = w_{i+1} - w_i, y_i = g_{i+1} - g_i, rho_i = 1/y_i.s_i.
Two-loop recursion:
    q = g;  for i newest..oldest: alpha_i = rho_i s_i.q;  q -= alpha_i y_i
    r = gamma q;  for i oldest..newest: beta = rho_i y_i.r;  r += (alpha_i - beta) s_i
    d = -r
With no pairs (first step, or after a failed search resets the memory): d = -g and the first
trial step is min(1, 1/||g||). A pair with y.s <= 1e-10 ||y|| ||s|| is not stored.
The pairs live in a ring buffer (fixed-shape arrays, so the state is a few arrays and counters).
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.base import OPTIMIZERS
from nnctl.optim.minimizer import COMMON_HYPERS, check_wolfe_constants
from nnctl.optim.quasi_newton import LINE_SEARCH_HYPERS, QuasiNewton
from nnctl.util.registry import Hyper, positive


@OPTIMIZERS.register(
    "lbfgs",
    "limited-memory BFGS (two-loop recursion), strong-Wolfe line search",
    hypers=COMMON_HYPERS
    + (
        Hyper(
            "history_size",
            "int",
            10,
            "curvature pairs (s, y) remembered",
            check=positive,
            expect="> 0",
        ),
    )
    + LINE_SEARCH_HYPERS,
    aliases=("l-bfgs", "l_bfgs"),
    family="full_batch",
    validate=check_wolfe_constants,
)
class LBFGS(QuasiNewton):
    STATE = ("steps", "grad_changes", "rho", "count", "newest")
    SIGNED = ("newest",)  # -1: no pair stored yet

    def __init__(self, size, dtype=np.float64, *, history_size=10, **settings):
        super().__init__(size, dtype, **settings)
        self.history_size = history_size
        self.steps = np.zeros((history_size, self.size))  # s_i (ring buffer rows)
        self.grad_changes = np.zeros((history_size, self.size))  # y_i
        self.rho = np.zeros(history_size)
        self.count = 0  # pairs stored
        self.newest = -1  # row of the newest pair

    def direction(self, g: np.ndarray) -> np.ndarray:
        """-H g by the two-loop recursion over the stored pairs."""
        q = np.array(g, dtype=np.float64)
        if self.count == 0:
            return -q
        m = self.history_size
        newest_first = [(self.newest - j) % m for j in range(self.count)]
        alphas = {}
        for i in newest_first:
            alphas[i] = self.rho[i] * float(self.steps[i] @ q)
            q -= alphas[i] * self.grad_changes[i]
        y = self.grad_changes[self.newest]
        q *= 1.0 / (self.rho[self.newest] * float(y @ y))  # gamma = s.y / y.y
        for i in reversed(newest_first):
            beta = self.rho[i] * float(self.grad_changes[i] @ q)
            q += (alphas[i] - beta) * self.steps[i]
        return -q

    def _direction(self) -> np.ndarray:
        return self.direction(self.g)

    def _has_memory(self) -> bool:
        return bool(self.count)

    def _forget(self) -> None:
        self.count, self.newest = 0, -1

    def _learn(self, s, y, ys) -> None:
        self.newest = (self.newest + 1) % self.history_size
        self.steps[self.newest] = s
        self.grad_changes[self.newest] = y
        self.rho[self.newest] = 1.0 / ys
        self.count = min(self.count + 1, self.history_size)
