"""`bfgs`: quasi-Newton with a dense inverse-Hessian estimate H (Nocedal & Wright 6.1).

    d_k = -H_k g_k,     w_{k+1} = w_k + a_k d_k    (a_k: strong-Wolfe search, first trial 1)
    s = w_{k+1} - w_k,  y = g_{k+1} - g_k,  rho = 1 / y.s
    H_{k+1} = (I - rho s y^T) H_k (I - rho y s^T) + rho s s^T
            = H_k - rho (s (H_k y)^T + (H_k y) s^T) + (rho^2 y.H_k y + rho) s s^T

H_0 = I for the first step (trial step min(1, 1/||g||)), rescaled to (y.s / y.y) I just before
the first update (N&W eq. 6.20). The update is skipped when y.s <= 1e-10 ||y|| ||s|| (curvature
condition broken: H would lose positive definiteness). If a search fails, H is reset to I and
the step retried along -g.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError
from nnctl.optim.base import OPTIMIZERS, IterationInfo
from nnctl.optim.minimizer import (C1, COMMON_HYPERS, MAX_LS, FullBatchMinimizer, c2_hyper,
                                   check_wolfe_constants)
from nnctl.registry import Hyper, positive

CURVATURE_EPS = 1e-10


@OPTIMIZERS.register(
    "bfgs",
    "BFGS quasi-Newton, dense inverse-Hessian estimate, strong-Wolfe line search",
    hypers=COMMON_HYPERS + (
        C1,
        c2_hyper(0.9),
        MAX_LS,
        Hyper("max_matrix_mb", "float", 1024.0,
              "refuse an inverse-Hessian matrix larger than this (MB)",
              check=positive, expect="> 0"),
    ),
    family="full_batch",
    validate=check_wolfe_constants,
)
class BFGS(FullBatchMinimizer):
    STATE = ("inverse_hessian", "n_updates")

    def __init__(self, size, dtype=np.float64, *, c1=1e-4, c2=0.9, max_ls=25,
                 max_matrix_mb=1024.0, **common):
        super().__init__(size, dtype, **common)
        megabytes = self.size**2 * 8 / 2**20
        if megabytes > max_matrix_mb:
            raise UsageError(
                f"optimizer.name: bfgs keeps a {self.size} x {self.size} matrix "
                f"({megabytes:.0f} MB), above optimizer.max_matrix_mb = {max_matrix_mb:g}; "
                "use optimizer.name: lbfgs")
        check_wolfe_constants({"c1": c1, "c2": c2})
        self.c1, self.c2, self.max_ls = c1, c2, max_ls
        self.inverse_hessian = np.eye(self.size)
        self.n_updates = 0

    def step(self, theta, objective) -> IterationInfo:
        done = self.begin(theta, objective)
        if done is not None:
            return done
        d = -(self.inverse_hessian @ self.g)
        if self.n_updates and not float(self.g @ d) < 0.0:
            d = self._forget()
        search = self.wolfe_search(objective, d, self._first_trial())
        if not search.armijo and self.n_updates:
            d = self._forget()
            search = self.wolfe_search(objective, d, self._first_trial())
        if not search.armijo:
            return self.give_up(theta)
        self._update(search.x - self.x, search.g - self.g)
        return self.finish(theta, search.x, search.f, search.g, search.step, d)

    def _first_trial(self) -> float:
        return 1.0 if self.n_updates else min(1.0, 1.0 / float(np.linalg.norm(self.g)))

    def _forget(self) -> np.ndarray:
        """H = I; returns the steepest-descent direction."""
        self.inverse_hessian = np.eye(self.size)
        self.n_updates = 0
        return -self.g

    def _update(self, s, y) -> None:
        ys = float(y @ s)
        if not ys > CURVATURE_EPS * float(np.linalg.norm(y) * np.linalg.norm(s)):
            return
        H = self.inverse_hessian
        if self.n_updates == 0:
            H[...] = 0.0
            H.flat[:: self.size + 1] = ys / float(y @ y)
        rho = 1.0 / ys
        Hy = H @ y
        H += np.outer(s, (rho * rho * float(y @ Hy) + rho) * s - rho * Hy)
        H -= np.outer(rho * Hy, s)
        self.n_updates += 1
