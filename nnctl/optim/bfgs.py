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
from nnctl.optim.base import OPTIMIZERS
from nnctl.optim.minimizer import COMMON_HYPERS, check_wolfe_constants
from nnctl.optim.quasi_newton import LINE_SEARCH_HYPERS, QuasiNewton
from nnctl.registry import Hyper, positive


@OPTIMIZERS.register(
    "bfgs",
    "BFGS quasi-Newton, dense inverse-Hessian estimate, strong-Wolfe line search",
    hypers=COMMON_HYPERS + LINE_SEARCH_HYPERS + (
        Hyper("max_matrix_mb", "float", 1024.0,
              "refuse an inverse-Hessian matrix larger than this (MB)",
              check=positive, expect="> 0"),
    ),
    family="full_batch",
    validate=check_wolfe_constants,
)
class BFGS(QuasiNewton):
    STATE = ("inverse_hessian", "n_updates")

    def __init__(self, size, dtype=np.float64, *, max_matrix_mb=1024.0, **settings):
        megabytes = int(size)**2 * 8 / 2**20
        if megabytes > max_matrix_mb:
            raise UsageError(
                f"optimizer.name: bfgs keeps a {int(size)} x {int(size)} matrix "
                f"({megabytes:.0f} MB), above optimizer.max_matrix_mb = {max_matrix_mb:g}; "
                "use optimizer.name: lbfgs")
        super().__init__(size, dtype, **settings)
        self.inverse_hessian = np.eye(self.size)
        self.n_updates = 0

    def _direction(self) -> np.ndarray:
        return -(self.inverse_hessian @ self.g)

    def _has_memory(self) -> bool:
        return bool(self.n_updates)

    def _forget(self) -> None:
        self.inverse_hessian = np.eye(self.size)
        self.n_updates = 0

    def _learn(self, s, y, ys) -> None:
        H = self.inverse_hessian
        if self.n_updates == 0:
            H[...] = 0.0
            H.flat[:: self.size + 1] = ys / float(y @ y)
        rho = 1.0 / ys
        Hy = H @ y
        H += np.outer(s, (rho * rho * float(y @ Hy) + rho) * s - rho * Hy)
        H -= np.outer(rho * Hy, s)
        self.n_updates += 1
