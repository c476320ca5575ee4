"""What every optimizer and schedule looks like, and the registries that name them.

Two families share one registry (`OPTIMIZERS`); each entry declares its family at
registration, and the rest of nnctl asks `is_full_batch(entry)`:

* "first_order" (sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw): mini-batch
  rules. `entry.build(size, dtype, **hypers)` returns an object with
  `step(theta, grad, lr)` (updates the flat `theta` in place from the flat `grad`),
  `state_dict() -> dict[str, np.ndarray]` and `load_state_dict(d)`.
* "full_batch" (exact, gd, newton, cg, bfgs, lbfgs): minimise the whole training objective.
  `entry.build(size, dtype, **hypers)` returns an object with
  `step(theta, objective) -> IterationInfo` (one iteration, `theta` updated in place), and the
  same `state_dict` / `load_state_dict`.

Facts an entry may declare besides its family (asked by the rest of nnctl, never its name):
`lr_scale` says what `lr` scales: "gradient" (the step is lr times the gradient: sgd, momentum,
nesterov, gd) or "step" (the step is about lr long, the gradient divided by its running size:
adagrad, rmsprop, adam, adamw); `least_squares_only` marks a method that solves a least-squares
problem in closed form (exact) and applies to nothing else; `validate` and `check_size` hooks.

Every optimizer keeps its state the same way: the fields it declares in `STATE`, saved and
restored by the one implementation in state.py (`OptimizerState`).

The objective a full-batch method sees (`Objective`) is the mean training loss plus the L2 term
`0.5 * l2 * ||W||^2` as a function of the flat parameter vector.

Schedules (`SCHEDULES`): `entry.build(base_lr, epochs, **hypers)` returns an object with `lr`
(the rate for the coming epoch), `step(metric=None)` called once at each epoch end (metric: the
monitored validation loss, used by reduce_on_plateau), and JSON-serialisable
`state_dict()` / `load_state_dict(d)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nnctl.util.registry import Entry, Registry

OPTIMIZERS = Registry("optimizer")
SCHEDULES = Registry("schedule")


def is_full_batch(entry: Entry) -> bool:
    """True for the methods that minimise the whole training objective (exact, gd, newton, cg,
    bfgs, lbfgs: float64 by default, one iteration per epoch); False for mini-batch rules."""
    return entry.info.get("family") == "full_batch"


class Objective(Protocol):
    """A smooth function of the flat parameter vector (what full-batch methods minimise)."""

    size: int

    def value(self, theta: np.ndarray) -> float: ...

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Returns (f, g); g is a fresh array the caller may keep."""
        ...

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Dense (size, size) Hessian; raises NotImplementedError where there is none (MLP)."""
        ...

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Hessian-vector product H(theta) @ v."""
        ...


@dataclass
class IterationInfo:
    """What one full-batch iteration reports (a metrics.jsonl row is made from it)."""

    loss: float  # objective after the step
    grad_norm: float  # ||g|| after the step
    step_size: float  # the line-search / damping step taken (1.0 when none)
    n_fev: int  # function evaluations so far (cumulative, this optimizer)
    n_gev: int  # gradient evaluations so far (cumulative)
    stop_reason: str | None = None  # set when a stopping rule fired: "tolerance_grad", ...
