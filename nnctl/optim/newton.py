"""`newton`: damped Newton-Raphson.

    (H_k + lambda I) p_k = -g_k,      w_{k+1} = w_k + a_k p_k

* lambda: `damping`, raised 10x at a time (Levenberg-Marquardt style) until H + lambda I is
  positive definite, so p is always a descent direction; solved by Cholesky.
* a_k: 1 when it gives sufficient decrease f(w + a p) <= f(w) + c1 a g.p, else backtracking.
* hessian "free" (or "auto" when the objective has no dense Hessian, e.g. an MLP): p_k from
  conjugate gradients on Hessian-vector products (truncated Newton, Nocedal & Wright Alg. 7.1),
  stopped when the residual is below min(0.5, sqrt(||g||)) ||g|| (superlinear convergence),
  after cg_max_iter products, or on negative curvature (then the last iterate, or -g).
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.errors import UsageError
from nnctl.optim.base import OPTIMIZERS, IterationInfo
from nnctl.optim.cholesky import cholesky_solve, damped_cholesky
from nnctl.optim.minimizer import C1, COMMON_HYPERS, MAX_LS, FullBatchMinimizer
from nnctl.util.registry import Hyper, non_negative, positive


def _hessian_megabytes(size: int) -> float:
    return int(size) ** 2 * 8 / 2**20


def check_hessian_size(settings: dict, n_params: int, where: str) -> None:
    """The entry's `check_size`, asked where the model size is first known (prepare.py)."""
    megabytes, limit = _hessian_megabytes(n_params), settings["max_hessian_mb"]
    if settings["hessian"] != "free" and megabytes > limit:
        raise UsageError(
            f"{where}.hessian: a dense Hessian of {n_params} parameters takes "
            f"{megabytes:.0f} MB, above {where}.max_hessian_mb = {limit:g}; "
            f"use {where}.hessian: free or {where}.name: lbfgs"
        )


@OPTIMIZERS.register(
    "newton",
    "Newton-Raphson: dense Hessian + Cholesky, or Hessian-free CG; Armijo line search",
    hypers=COMMON_HYPERS
    + (
        Hyper(
            "hessian",
            "str",
            "auto",
            "exact: dense Hessian; free: CG on Hessian-vector products; auto: exact when the "
            "objective has one",
            choices=("auto", "exact", "free"),
        ),
        Hyper(
            "damping",
            "float",
            0.0,
            "Levenberg-Marquardt term added to the Hessian diagonal",
            check=non_negative,
            expect=">= 0",
        ),
        Hyper(
            "cg_max_iter",
            "int",
            50,
            "most Hessian-vector products per Hessian-free step",
            check=positive,
            expect="> 0",
        ),
        Hyper(
            "max_hessian_mb",
            "float",
            2048.0,
            "refuse a dense Hessian larger than this (MB)",
            check=positive,
            expect="> 0",
        ),
        C1,
        MAX_LS,
    ),
    aliases=("newton_raphson",),
    family="full_batch",
    check_size=check_hessian_size,
    dense_hessian_when=("hessian", "exact"),  # the config layer asks the model kind for one
)
class Newton(FullBatchMinimizer):
    STATE = ("n_hev", "n_hvp")

    def __init__(
        self,
        size,
        dtype=np.float64,
        *,
        hessian="auto",
        damping=0.0,
        cg_max_iter=50,
        max_hessian_mb=2048.0,
        c1=1e-4,
        max_ls=25,
        **common,
    ):
        super().__init__(size, dtype, **common)
        if hessian != "free" and _hessian_megabytes(self.size) > max_hessian_mb:
            raise ValueError(
                f"newton: a dense Hessian of {self.size} parameters is above "
                f"max_hessian_mb = {max_hessian_mb:g}"
            )
        self.hessian, self.damping, self.cg_max_iter = hessian, damping, cg_max_iter
        self.c1, self.max_ls = c1, max_ls
        self.n_hev = 0  # dense Hessians evaluated
        self.n_hvp = 0  # Hessian-vector products evaluated

    def step(self, theta, objective) -> IterationInfo:
        done = self.begin(theta, objective)
        if done is not None:
            return done
        direction = self.direction(objective)
        if not float(self.g @ direction) < 0.0:  # round-off on a nearly flat model
            direction = -self.g
        search = self.armijo_search(objective, direction, 1.0)
        if not search.armijo:
            return self.give_up(theta)
        return self.finish(theta, search.x, search.f, search.g, search.step, direction)

    def direction(self, objective) -> np.ndarray:
        """p = -(H + lambda I)^-1 g at the current point."""
        if self.hessian != "free":
            try:
                H = objective.hessian(self.x)
            except (AttributeError, NotImplementedError):
                if self.hessian == "exact":  # the config layer refuses it for such a model
                    raise
                self.hessian = "free"  # decided once; a fresh optimizer decides the same
            else:
                self.n_hev += 1
                L, _ = damped_cholesky(np.asarray(H, dtype=np.float64), self.damping)
                return -cholesky_solve(L, self.g)
        return self._truncated_cg(objective)

    def _truncated_cg(self, objective) -> np.ndarray:
        """Conjugate gradients on (H + lambda I) p = -g, starting from p = 0."""
        g = self.g
        p = np.zeros_like(g)
        residual = -g
        search = residual.copy()
        rr = float(residual @ residual)
        tolerance = min(0.5, math.sqrt(math.sqrt(rr))) * math.sqrt(rr)
        for i in range(self.cg_max_iter):
            product = np.asarray(objective.hvp(self.x, search), dtype=np.float64)
            self.n_hvp += 1
            if self.damping:
                product = product + self.damping * search
            curvature = float(search @ product)
            if not curvature > 0.0:  # negative curvature: stop where CG got to
                return p if i > 0 else -g
            alpha = rr / curvature
            p += alpha * search
            residual -= alpha * product
            rr_new = float(residual @ residual)
            if math.sqrt(rr_new) <= tolerance:
                break
            search *= rr_new / rr
            search += residual
            rr = rr_new
        return p
