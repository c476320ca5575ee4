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
from nnctl.util.registry import Hyper, positive


def _matrix_megabytes(size: int) -> float:
    return int(size) ** 2 * 8 / 2**20


def check_matrix_size(settings: dict, n_params: int, where: str) -> None:
    """The entry's `check_size`, asked where the model size is first known (prepare.py)."""
    megabytes, limit = _matrix_megabytes(n_params), settings["max_matrix_mb"]
    if megabytes > limit:
        raise UsageError(
            f"{where}.name: bfgs keeps a {n_params} x {n_params} matrix ({megabytes:.0f} MB), "
            f"above {where}.max_matrix_mb = {limit:g}; use {where}.name: lbfgs"
        )


@OPTIMIZERS.register(
    "bfgs",
    "BFGS quasi-Newton, dense inverse-Hessian estimate, strong-Wolfe line search",
    hypers=COMMON_HYPERS
    + LINE_SEARCH_HYPERS
    + (
        Hyper(
            "max_matrix_mb",
            "float",
            1024.0,
            "refuse an inverse-Hessian matrix larger than this (MB)",
            check=positive,
            expect="> 0",
        ),
    ),
    family="full_batch",
    validate=check_wolfe_constants,
    check_size=check_matrix_size,
)
class BFGS(QuasiNewton):
    STATE = ("inverse_hessian", "n_updates")

    def __init__(self, size, dtype=np.float64, *, max_matrix_mb=1024.0, **settings):
        if _matrix_megabytes(size) > max_matrix_mb:
            raise ValueError(
                f"bfgs: a {int(size)} x {int(size)} matrix is above "
                f"max_matrix_mb = {max_matrix_mb:g}"
            )
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
