"""Two-dimensional test functions, and nnctl's optimizers run on them.

    rosenbrock  f = (1 - x)^2 + 100 (y - x^2)^2           minimum (1, 1): a curved, flat valley
    beale       f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2
                                                          minimum (3, 0.5): flat plateaus, steep walls
    canyon      f = (x^2 + 100 y^2) / 2                   minimum (0, 0): the lecture's canyon, 100
                                                          times steeper across than along
    saddle      f = x^2 + y^4 / 4 - y^2 / 2               saddle (0, 0), minima (0, +-1)

The update rules are nnctl's own (`OPTIMIZERS`): a first-order rule takes `step(theta, grad)` at
its base rate, one step per gradient; a full-batch method (gd, cg, bfgs, lbfgs, newton) takes one
iteration per step on the function as its objective (Hessian by central differences of the
gradient). A run "reaches the minimum" at the first step from which it stays within `TOL` of a
minimum until the end of the run.

Each landscape suggests settings (mostly `lr`) under which the classic rules make progress in a
few hundred steps; settings given in a spec override them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError

TOL = 1e-3  # distance to a minimum that counts as reaching it
BLOW_UP = 1e8  # |theta| beyond this is divergence


@dataclass(frozen=True)
class Rates:
    """A landscape's suggested `lr` by what an optimizer's lr scales (its entry's `lr_scale`):
    `gradient` for the rules whose step is lr times the gradient (sgd, momentum, nesterov, gd),
    `step` (about a step length) for those that divide by a running gradient size (adagrad,
    rmsprop, adam, adamw); the others (adadelta, line searches) keep their defaults."""

    gradient: float
    step: float

    def suggested(self, entry) -> dict:
        """The settings suggested for the optimizer registry `entry`."""
        scale = entry.info.get("lr_scale")
        return {"lr": getattr(self, scale)} if scale in ("gradient", "step") else {}


@dataclass(frozen=True)
class Landscape:
    name: str
    doc: str
    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    bounds: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the plot
    steps: int  # default number of steps
    rates: Rates  # the suggested lr of each kind of rule

    @property
    def f_min(self) -> float:
        return float(self.value(np.array(self.minima[0], dtype=np.float64)))

    def distance(self, p: np.ndarray) -> float:
        """Distance to the nearest minimum."""
        return float(min(np.hypot(p[0] - mx, p[1] - my) for mx, my in self.minima))


def _rosenbrock(p):
    x, y = p
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def _beale_terms(p):
    x, y = p
    return 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3


def _beale(p):
    a, b, c = _beale_terms(p)
    return a * a + b * b + c * c


def _beale_grad(p):
    x, y = p
    a, b, c = _beale_terms(p)
    return np.array(
        [
            2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
            2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
        ]
    )


CANYON_STEEPNESS = 100.0


def _canyon(p):
    x, y = p
    return 0.5 * (x * x + CANYON_STEEPNESS * y * y)


def _canyon_grad(p):
    x, y = p
    return np.array([x, CANYON_STEEPNESS * y])


def _saddle(p):
    x, y = p
    return x * x + y**4 / 4 - y * y / 2


def _saddle_grad(p):
    x, y = p
    return np.array([2 * x, y**3 - y])


LANDSCAPES = {
    "rosenbrock": Landscape(
        "rosenbrock",
        "(1 - x)^2 + 100 (y - x^2)^2, minimum (1, 1)",
        _rosenbrock,
        _rosenbrock_grad,
        ((1.0, 1.0),),
        (-1.2, 1.0),
        (-2.0, 2.0, -1.0, 3.0),
        5000,
        Rates(1e-3, 0.02),
    ),
    "beale": Landscape(
        "beale",
        "Beale's function, minimum (3, 0.5)",
        _beale,
        _beale_grad,
        ((3.0, 0.5),),
        (1.0, 1.0),
        (-1.0, 4.5, -1.5, 2.0),
        5000,
        Rates(1e-2, 0.05),
    ),
    "canyon": Landscape(
        "canyon",
        "(x^2 + 100 y^2) / 2, minimum (0, 0)",
        _canyon,
        _canyon_grad,
        ((0.0, 0.0),),
        (-8.0, 1.0),
        (-9.0, 2.0, -1.5, 1.5),
        1000,
        Rates(0.012, 0.1),
    ),
    "saddle": Landscape(
        "saddle",
        "x^2 + y^4/4 - y^2/2, saddle (0, 0), minima (0, +-1)",
        _saddle,
        _saddle_grad,
        ((0.0, 1.0), (0.0, -1.0)),
        (-1.5, 1e-3),
        (-2.0, 2.0, -1.6, 1.6),
        1000,
        Rates(0.05, 0.05),
    ),
}


def get_landscape(name: str) -> Landscape:
    if name not in LANDSCAPES:
        from nnctl.errors import unknown_name

        raise unknown_name("landscape", name, LANDSCAPES, "--landscape")
    return LANDSCAPES[name]


class LandscapeObjective:
    """A landscape as the objective of a full-batch method (the `Objective` protocol)."""

    size = 2

    def __init__(self, landscape: Landscape):
        self.landscape = landscape

    def value(self, theta):
        return float(self.landscape.value(theta))

    def value_and_grad(self, theta):
        return float(self.landscape.value(theta)), np.asarray(
            self.landscape.grad(theta), dtype=np.float64
        )

    def hessian(self, theta, h: float = 1e-5):
        """Central differences of the analytic gradient, symmetrised."""
        H = np.empty((2, 2))
        for i in range(2):
            e = np.zeros(2)
            e[i] = h
            H[:, i] = (self.landscape.grad(theta + e) - self.landscape.grad(theta - e)) / (2 * h)
        return 0.5 * (H + H.T)

    def hvp(self, theta, v):
        return self.hessian(theta) @ v


@dataclass
class LandscapeRun:
    label: str
    optimizer: str
    settings: dict
    path: np.ndarray  # (steps taken + 1, 2): the start, then the point after each step
    steps_to_min: int | None
    diverged: bool

    def record(self, landscape: Landscape) -> dict:
        end = self.path[-1]
        finite = bool(np.all(np.isfinite(end))) and not self.diverged
        return {
            "label": self.label,
            "optimizer": self.optimizer,
            "settings": self.settings,
            "steps": len(self.path) - 1,
            "steps_to_min": self.steps_to_min,
            "diverged": self.diverged,
            "final_x": float(end[0]) if finite else None,
            "final_y": float(end[1]) if finite else None,
            "final_value": float(landscape.value(end)) if finite else None,
            "final_distance": landscape.distance(end) if finite else None,
        }


def steps_to_minimum(landscape: Landscape, path: np.ndarray, tol: float = TOL) -> int | None:
    """The first step from which the path stays within tol of a minimum; None if it ends outside."""
    inside = [landscape.distance(p) <= tol for p in path]
    if not inside[-1]:
        return None
    outside = [i for i, ok in enumerate(inside) if not ok]
    return outside[-1] + 1 if outside else 0


def run_optimizer(landscape: Landscape, spec, start, steps: int) -> LandscapeRun:
    """Run one optimizer spec (nnctl.compare.specs.OptimizerSpec) from `start` for `steps` steps."""
    from nnctl.optim import OPTIMIZERS, is_full_batch

    entry = OPTIMIZERS.get(spec.name)
    settings = {**landscape.rates.suggested(entry), **spec.settings}
    if entry.info.get("least_squares_only"):
        raise UsageError(
            f"--optimizer {spec.label!r}: {entry.name} solves least squares; it has no "
            "landscape counterpart"
        )
    full_batch = is_full_batch(entry)
    optimizer = entry.build(2, np.float64, **settings)
    theta = np.array(start, dtype=np.float64)
    objective = LandscapeObjective(landscape) if full_batch else None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned
        path, diverged = _iterate(landscape, optimizer, objective, theta, steps)
    reached = None if diverged else steps_to_minimum(landscape, path)
    return LandscapeRun(spec.label, entry.name, settings, path, reached, diverged)


def _iterate(landscape, optimizer, objective, theta, steps):
    path, diverged, full_batch = [theta.copy()], False, objective is not None
    for _ in range(steps):
        if full_batch:
            info = optimizer.step(theta, objective)
        else:
            optimizer.step(theta, np.asarray(landscape.grad(theta), dtype=np.float64))
        path.append(theta.copy())
        if not np.all(np.isfinite(theta)) or np.max(np.abs(theta)) > BLOW_UP:
            diverged = True
            break
        if full_batch and info.stop_reason:
            break  # converged (or stuck): later iterations would repeat the point
    return np.array(path), diverged


def run_landscape(
    name: str, specs: list, start: tuple[float, float] | None = None, steps: int | None = None
) -> tuple[Landscape, list[LandscapeRun]]:
    """Every spec on the landscape `name` (defaults: the first-order rules of the lecture)."""
    from nnctl.compare.specs import OptimizerSpec

    landscape = get_landscape(name)
    steps = landscape.steps if steps is None else steps
    if steps < 1:
        raise UsageError(f"--steps: expected an integer >= 1, found {steps}")
    start = landscape.start if start is None else start
    specs = specs or [OptimizerSpec(n, n, {}) for n in default_optimizers()]
    return landscape, [run_optimizer(landscape, spec, start, steps) for spec in specs]


def default_optimizers() -> list[str]:
    """The first-order rules that, at their defaults, minimise the function as given (in
    registry order): adamw's default decoupled weight decay would pull towards 0 as well."""
    from nnctl.optim import OPTIMIZERS, is_full_batch

    return [
        entry.name
        for entry in OPTIMIZERS.entries()
        if not is_full_batch(entry) and entry.defaults().get("weight_decay", 0) == 0
    ]


def parse_start(text: str) -> tuple[float, float]:
    """'--start -1.5,2' -> (-1.5, 2.0)."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = (float(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"--start: expected two numbers X,Y (e.g. --start -1.5,2), found {text!r}"
        ) from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise UsageError(f"--start: expected finite numbers, found {text!r}")
    return x, y


@dataclass
class LandscapeComparison:
    """What `compare-optimizers --landscape` made: landscape.json's content and the runs."""

    data: dict  # what landscape.json holds
    surface: Landscape
    runs: list[LandscapeRun]
    out_dir: Path

    def gaps(self) -> dict[str, list[float]]:
        """label -> f(point) - f_min after every step (floored at 1e-12 for a log scale), one
        entry per step of the budget: a method that stopped early stays where it stopped."""
        total = self.data["steps"] + 1
        gaps = {}
        with np.errstate(over="ignore", invalid="ignore"):
            for run in self.runs:
                curve = [max(self.surface.value(p) - self.surface.f_min, 1e-12) for p in run.path]
                if not run.diverged:
                    curve += curve[-1:] * (total - len(curve))
                gaps[run.label] = curve
        return gaps


def compare_on_landscape(
    name: str, optimizers: list[str], start: str | None, steps: int | None, out: Path | None
) -> LandscapeComparison:
    """Every `--optimizer` spec on the landscape `name`; writes <out>/landscape.json."""
    from nnctl.compare.comparison import make_out_dir
    from nnctl.compare.specs import parse_spec
    from nnctl.runs.run_folder import to_json
    from nnctl.util.atomic import write_text

    get_landscape(name)  # an unknown name is the first thing to report
    specs = [parse_spec(s) for s in optimizers]
    point = parse_start(start) if start is not None else None
    surface, runs = run_landscape(name, specs, point, steps)
    out_dir = make_out_dir(out, Path("runs") / f"landscape-{name}")
    data = {
        "landscape": name,
        "doc": surface.doc,
        "start": list(point or surface.start),
        "steps": steps or surface.steps,
        "tol": TOL,
        "f_min": surface.f_min,
        "out": str(out_dir),
        "runs": [run.record(surface) for run in runs],
    }
    write_text(out_dir / "landscape.json", to_json(data, indent=2) + "\n")
    return LandscapeComparison(data, surface, runs, out_dir)
