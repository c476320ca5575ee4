"""What every iterative full-batch method (gd, newton, cg, bfgs, lbfgs) shares.

* The hyperparameters they all take, declared once (`COMMON_HYPERS`), plus the line-search ones
  (`C1`, `MAX_LS`, `c2_hyper`).
* `FullBatchMinimizer`: the last evaluated point `(x, f, g)` is cached between steps, so an
  iteration costs only the evaluations its line search makes; evaluation counters; the stopping
  rules; and its state (state.py) over fixed-shape arrays, cache included, so that a run saved
  mid-way continues bit for bit.

A subclass implements `step(theta, objective)` as:
    done = self.begin(theta, objective)       # (x, f, g) at theta, or an IterationInfo if done
    ... compute a direction, search along it ...
    return self.finish(theta, x_new, f_new, g_new, step, direction)  # or self.give_up(theta)
and lists its own state attributes in `STATE` (added to the cache and counters listed here). `wolfe_search` / `armijo_search` read the
subclass's `c1`, `c2` and `max_ls` attributes.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError
from nnctl.optim.base import IterationInfo
from nnctl.optim.line_search import LineSearchResult, backtracking, strong_wolfe
from nnctl.optim.state import OptimizerState
from nnctl.util.registry import Hyper, non_negative, positive


def _in_open_unit(v) -> bool:
    return 0 < v < 1


COMMON_HYPERS = (
    Hyper(
        "max_iter",
        "int",
        None,
        "iterations to run; null means the run's train.epochs",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
    Hyper(
        "tolerance_grad",
        "float",
        1e-7,
        "stop when max |gradient| <= this",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper(
        "tolerance_change",
        "float",
        1e-9,
        "stop when |loss change| or step * max |direction| is <= this",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper(
        "max_eval",
        "int",
        None,
        "budget of objective evaluations (null: no limit)",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
)
C1 = Hyper(
    "c1",
    "float",
    1e-4,
    "line search sufficient-decrease (Armijo) constant",
    check=_in_open_unit,
    expect="in (0, 1)",
)
MAX_LS = Hyper(
    "max_ls", "int", 25, "most objective evaluations per line search", check=positive, expect="> 0"
)


def c2_hyper(default: float) -> Hyper:
    """The strong-Wolfe curvature constant; its default depends on the method (0.9 quasi-Newton,
    0.1 conjugate gradients, as Nocedal & Wright recommend)."""
    return Hyper(
        "c2",
        "float",
        default,
        "line search strong-Wolfe curvature constant (> c1)",
        check=_in_open_unit,
        expect="in (0, 1)",
    )


def check_wolfe_constants(settings: dict, where: str = "optimizer") -> None:
    """0 < c1 < c2 < 1: a step meeting both strong-Wolfe conditions exists only then.
    Registered as the entries' `validate`, so `config validate` catches it before training."""
    c1, c2 = settings["c1"], settings["c2"]
    if not c2 > c1:
        raise UsageError(f"{where}.c2: expected a number > c1 ({c1:g}), found {c2:g}")


class FullBatchMinimizer(OptimizerState):
    """Cache of the current point, counters, stopping rules and state for one run."""

    STATE = ("x", "f", "g", "has_point", "n_fev", "n_gev", "n_iter")

    def __init__(
        self,
        size,
        dtype=np.float64,
        *,
        max_iter=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        max_eval=None,
    ):
        self.size = int(size)
        self.dtype = dtype  # recorded; the arithmetic is float64 whatever the model's dtype
        self.max_iter = max_iter  # the trainer runs the iterations; recorded here
        self.tolerance_grad = tolerance_grad
        self.tolerance_change = tolerance_change
        self.max_eval = max_eval
        self.x = np.zeros(self.size)
        self.f = float("nan")
        self.g = np.zeros(self.size)
        self.has_point = False
        self.n_fev = 0
        self.n_gev = 0
        self.n_iter = 0

    # -- evaluations -----------------------------------------------------------------------
    def evaluate(self, objective, x):
        f, g = objective.value_and_grad(x)
        self.n_fev += 1
        self.n_gev += 1
        return float(f), np.asarray(g, dtype=np.float64)

    def budget(self, per_search: int) -> int:
        """Evaluations a line search may make: max_ls, capped by what max_eval leaves."""
        if self.max_eval is None:
            return per_search
        return max(1, min(per_search, self.max_eval - self.n_fev))

    def wolfe_search(self, objective, direction, step0) -> LineSearchResult:
        result = strong_wolfe(
            objective.value_and_grad,
            self.x,
            direction,
            self.f,
            self.g,
            step0,
            self.c1,
            self.c2,
            self.budget(self.max_ls),
        )
        self.n_fev += result.n_evals
        self.n_gev += result.n_evals
        return result

    def armijo_search(self, objective, direction, step0) -> LineSearchResult:
        result = backtracking(
            objective.value_and_grad,
            self.x,
            direction,
            self.f,
            self.g,
            step0,
            self.c1,
            self.budget(self.max_ls),
        )
        self.n_fev += result.n_evals
        self.n_gev += result.n_evals
        return result

    # -- one iteration's frame ------------------------------------------------------------
    def begin(self, theta, objective) -> IterationInfo | None:
        """Makes (self.x, self.f, self.g) the point theta, evaluating only if theta is not the
        cached point; returns an IterationInfo (with its stop reason) when nothing is to do."""
        if not (self.has_point and np.array_equal(theta, self.x)):
            self.x = np.array(theta, dtype=np.float64)  # our own copy: theta may be overwritten
            self.f, self.g = self.evaluate(objective, self.x)
            self.has_point = True
        if np.max(np.abs(self.g), initial=0.0) <= self.tolerance_grad:
            return self._report(0.0, "tolerance_grad")
        if self.max_eval is not None and self.n_fev >= self.max_eval:
            return self._report(0.0, "max_eval")
        return None

    def finish(self, theta, x_new, f_new, g_new, step, direction) -> IterationInfo:
        """Accepts the new point, writes it into theta and applies the stopping rules."""
        f_old = self.f
        self.x, self.f, self.g = x_new, float(f_new), g_new
        theta[...] = x_new
        self.n_iter += 1
        moved = step * np.max(np.abs(direction), initial=0.0)
        if np.max(np.abs(g_new), initial=0.0) <= self.tolerance_grad:
            reason = "tolerance_grad"
        elif abs(self.f - f_old) <= self.tolerance_change or moved <= self.tolerance_change:
            reason = "tolerance_change"
        elif self.max_eval is not None and self.n_fev >= self.max_eval:
            reason = "max_eval"
        else:
            reason = None
        return self._report(step, reason)

    def give_up(self, theta) -> IterationInfo:
        """No acceptable point: theta stays (is put back) at the current point."""
        theta[...] = self.x
        self.n_iter += 1
        out_of_budget = self.max_eval is not None and self.n_fev >= self.max_eval
        return self._report(0.0, "max_eval" if out_of_budget else "line_search_failed")

    def _report(self, step, reason) -> IterationInfo:
        return IterationInfo(
            self.f, float(np.linalg.norm(self.g)), float(step), self.n_fev, self.n_gev, reason
        )
