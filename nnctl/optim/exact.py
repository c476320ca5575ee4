"""`exact`: the closed-form least-squares solution of linear regression, in one iteration.

    theta* = argmin 1/(n k) ||X W + 1 b^T - Y||^2 + l2/2 ||W||^2      (see closed_form.py)

The objective must offer `linear_problem() -> (X, Y, l2)`; only linreg does.
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.base import OPTIMIZERS, IterationInfo
from nnctl.optim.closed_form import solve_least_squares
from nnctl.optim.normal_equations import solve_normal_equations
from nnctl.optim.state import OptimizerState


@OPTIMIZERS.register(
    "exact",
    "closed-form least squares for linreg (lstsq; Cholesky with l2), one iteration",
    hypers=(),
    aliases=("closed_form",),
    family="full_batch",
    least_squares_only=True,  # the model kind must be a least-squares problem (kind.least_squares)
)
class ExactLeastSquares(OptimizerState):
    STATE = ("n_fev", "n_gev")

    def __init__(self, size, dtype=np.float64):
        self.size = int(size)
        self.dtype = dtype
        self.n_fev = 0
        self.n_gev = 0

    def step(self, theta, objective) -> IterationInfo:
        # Data read in chunks (nnctl.nn.chunked) offers the accumulated sums instead of X. The
        # config layer allows exact only for a least-squares kind; any other objective has no
        # linear_problem (AttributeError / NotImplementedError, left to propagate).
        chunked = getattr(objective, "normal_equations", None)
        if chunked:
            solution = solve_normal_equations(*chunked())
        else:
            solution = solve_least_squares(*objective.linear_problem())
        if solution.size != theta.size:
            raise ValueError(
                f"exact: the solution has {solution.size} parameters, theta has {theta.size}"
            )
        theta[...] = solution
        f, g = objective.value_and_grad(np.asarray(theta, dtype=np.float64))
        self.n_fev += 1
        self.n_gev += 1
        return IterationInfo(
            float(f), float(np.linalg.norm(g)), 1.0, self.n_fev, self.n_gev, "converged"
        )
