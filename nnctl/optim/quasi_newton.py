"""What BFGS and L-BFGS share: one iteration of a quasi-Newton method (Nocedal & Wright 6.1, 7.2).

    d_k = -H_k g_k,     w_{k+1} = w_k + a_k d_k    (a_k: strong-Wolfe search, first trial 1)
    s = w_{k+1} - w_k,  y = g_{k+1} - g_k          (the curvature pair H learns from)

With nothing learned yet (first step, or after a reset) H = I, d = -g and the first trial step
is min(1, 1/||g||). When d is not a descent direction, or the search along it fails, what was
learned is forgotten and the step is retried along -g. A pair with y.s <= 1e-10 ||y|| ||s||
(curvature condition broken: H would lose positive definiteness) is not learned.

A subclass keeps H its own way: `_direction()` (-H g at the current point), `_has_memory()`,
`_forget()` (back to H = I) and `_learn(s, y, ys)` (a pair that passed the curvature test).
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.base import IterationInfo
from nnctl.optim.minimizer import C1, MAX_LS, FullBatchMinimizer, c2_hyper, check_wolfe_constants

CURVATURE_EPS = 1e-10
LINE_SEARCH_HYPERS = (C1, c2_hyper(0.9), MAX_LS)  # c2 0.9: a loose search suits quasi-Newton


class QuasiNewton(FullBatchMinimizer):
    def __init__(self, size, dtype=np.float64, *, c1=1e-4, c2=0.9, max_ls=25, **common):
        super().__init__(size, dtype, **common)
        check_wolfe_constants({"c1": c1, "c2": c2})
        self.c1, self.c2, self.max_ls = c1, c2, max_ls

    def step(self, theta, objective) -> IterationInfo:
        done = self.begin(theta, objective)
        if done is not None:
            return done
        d = self._direction()
        if self._has_memory() and not float(self.g @ d) < 0.0:
            d = self._restart()
        search = self.wolfe_search(objective, d, self._first_trial())
        if not search.armijo and self._has_memory():
            d = self._restart()
            search = self.wolfe_search(objective, d, self._first_trial())
        if not search.armijo:
            return self.give_up(theta)
        self._learn_if_curved(search.x - self.x, search.g - self.g)
        return self.finish(theta, search.x, search.f, search.g, search.step, d)

    def _first_trial(self) -> float:
        return 1.0 if self._has_memory() else min(1.0, 1.0 / float(np.linalg.norm(self.g)))

    def _restart(self) -> np.ndarray:
        """Forget what was learned; returns the steepest-descent direction."""
        self._forget()
        return -self.g

    def _learn_if_curved(self, s, y) -> None:
        ys = float(y @ s)
        if ys > CURVATURE_EPS * float(np.linalg.norm(y) * np.linalg.norm(s)):
            self._learn(s, y, ys)

    # -- what a subclass provides ---------------------------------------------------------
    def _direction(self) -> np.ndarray:
        raise NotImplementedError

    def _has_memory(self) -> bool:
        raise NotImplementedError

    def _forget(self) -> None:
        raise NotImplementedError

    def _learn(self, s: np.ndarray, y: np.ndarray, ys: float) -> None:
        raise NotImplementedError
