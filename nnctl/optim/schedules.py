"""Learning-rate schedules: the rate for each epoch (the lecture: "learning rate should decrease").

    schedule = SCHEDULES.get("cosine").build(base_lr, epochs, **settings)
    lr = schedule.lr            # the rate for the coming epoch
    schedule.step(metric)       # at each epoch end (metric: monitored validation value or None)

Every schedule has `warmup_epochs` W (default 0), implemented once in `Schedule`: the first W
epochs ramp linearly, epoch k = 1..W trains at base_lr * k / (W + 1), and then the schedule runs
from its own start as if warmup had not been there (its clock t counts epochs since warmup; a
cosine with T_max null anneals over the epochs - W that remain). The schedule rates, for t epochs
done since warmup (t = 0 for the first):

    constant            lr0
    step                lr0 * gamma ** (t // step_size)                      (torch StepLR)
    exponential         lr0 * gamma ** t                                     (torch ExponentialLR)
    inverse_time        lr0 / (1 + decay * t) ** power
    cosine              eta_min + (lr0 - eta_min) * (1 + cos(pi * min(t, T_max) / T_max)) / 2
    reduce_on_plateau   multiply by factor after `patience` epochs without relative improvement
                        (torch ReduceLROnPlateau, threshold_mode "rel")

Cosine stays at eta_min after T_max epochs (torch's would climb back up). State dicts are plain
JSON (ints, floats, None) for the checkpoint's meta.
"""

from __future__ import annotations

import math

from nnctl.errors import UsageError, shown
from nnctl.optim.base import SCHEDULES
from nnctl.util.registry import Entry, Hyper, non_negative, positive

WHERE = "schedule"
WARMUP = Hyper(
    "warmup_epochs",
    "int",
    0,
    "epochs of linear warmup before the schedule starts: epoch k <= W uses lr * k / (W + 1)",
    check=non_negative,
    expect=">= 0",
)


class Schedule:
    """Warmup, the epoch counter and state; subclasses give `rate(t)` and may `observe` metrics."""

    def __init__(self, base_lr: float, epochs: int, warmup_epochs: int = 0):
        self.base_lr = float(base_lr)
        self.epochs = int(epochs)
        self.warmup_epochs = int(warmup_epochs)
        self.epoch = 0  # epochs finished

    @property
    def lr(self) -> float:
        """The rate for the coming epoch."""
        if self.epoch < self.warmup_epochs:
            return self.base_lr * (self.epoch + 1) / (self.warmup_epochs + 1)
        return self.rate(self.epoch - self.warmup_epochs)

    def step(self, metric: float | None = None) -> None:
        """Called once at each epoch end; warmup epochs' metrics are not shown to the schedule."""
        if self.epoch >= self.warmup_epochs:
            self.observe(metric)
        self.epoch += 1

    def rate(self, t: int) -> float:
        """The scheduled rate after t epochs since warmup."""
        raise NotImplementedError

    def observe(self, metric: float | None) -> None:
        """Adaptive schedules update here; closed-form ones need nothing."""

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, **self._extra_state()}

    def load_state_dict(self, state: dict) -> None:
        expected = {"epoch", *self._extra_state()}
        if not isinstance(state, dict) or set(state) != expected:
            found = sorted(state) if isinstance(state, dict) else state
            raise UsageError(
                f"schedule state: expected keys {sorted(expected)} for "
                f"{type(self).__name__}, found {found} (a checkpoint of another schedule?)"
            )
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise UsageError(
                f"schedule state: expected 'epoch' to be a count >= 0, found {shown(epoch)}"
            )
        self.epoch = epoch
        self._load_extra(state)

    def _extra_state(self) -> dict:
        return {}

    def _load_extra(self, state: dict) -> None:
        pass


class Constant(Schedule):
    def rate(self, t):
        return self.base_lr


class StepDecay(Schedule):
    def __init__(self, base_lr, epochs, step_size, gamma, warmup_epochs=0):
        super().__init__(base_lr, epochs, warmup_epochs)
        self.step_size, self.gamma = step_size, gamma

    def rate(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class Exponential(Schedule):
    def __init__(self, base_lr, epochs, gamma, warmup_epochs=0):
        super().__init__(base_lr, epochs, warmup_epochs)
        self.gamma = gamma

    def rate(self, t):
        return self.base_lr * self.gamma**t


class InverseTime(Schedule):
    def __init__(self, base_lr, epochs, decay, power, warmup_epochs=0):
        super().__init__(base_lr, epochs, warmup_epochs)
        self.decay, self.power = decay, power

    def rate(self, t):
        return self.base_lr / (1.0 + self.decay * t) ** self.power


class Cosine(Schedule):
    def __init__(self, base_lr, epochs, T_max, eta_min, warmup_epochs=0):  # noqa: N803 (torch's name)
        super().__init__(base_lr, epochs, warmup_epochs)
        self.T_max = T_max if T_max is not None else max(1, self.epochs - self.warmup_epochs)
        self.eta_min = eta_min

    def rate(self, t):
        progress = min(t, self.T_max) / self.T_max
        return (
            self.eta_min
            + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * progress)) / 2.0
        )


class ReduceOnPlateau(Schedule):
    """torch.optim.lr_scheduler.ReduceLROnPlateau, threshold_mode "rel".

    An epoch improves when metric < best * (1 - threshold) (mode min) or metric > best *
    (1 + threshold) (mode max). After more than `patience` epochs in a row without improvement
    lr <- max(lr * factor, min_lr) (skipped when that changes lr by <= 1e-8, as torch), then
    `cooldown` epochs pass in which bad epochs are not counted. A missing metric (None: no
    validation data) changes nothing; NaN counts as no improvement.
    """

    MIN_CHANGE = 1e-8  # torch's eps: smaller reductions are ignored

    def __init__(
        self, base_lr, epochs, mode, factor, patience, threshold, cooldown, min_lr, warmup_epochs=0
    ):
        super().__init__(base_lr, epochs, warmup_epochs)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.cooldown, self.min_lr = threshold, cooldown, min_lr
        self.current_lr = self.base_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def rate(self, t):
        return self.current_lr

    def _improves(self, metric: float) -> bool:
        if self.mode == "min":
            return metric < self.best * (1.0 - self.threshold)
        return metric > self.best * (1.0 + self.threshold)

    def observe(self, metric):
        if metric is None:
            return
        metric = float(metric)
        if self._improves(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            reduced = max(self.current_lr * self.factor, self.min_lr)
            if self.current_lr - reduced > self.MIN_CHANGE:
                self.current_lr = reduced
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def _extra_state(self):
        # +-inf is not JSON: an unset best is stored as None.
        return {
            "lr": self.current_lr,
            "best": self.best if math.isfinite(self.best) else None,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def _load_extra(self, state):
        self.current_lr = float(state["lr"])
        best = state["best"]
        self.best = (
            float(best) if best is not None else (math.inf if self.mode == "min" else -math.inf)
        )
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])


def _register(name: str, doc: str, schedule_class: type[Schedule], hypers: tuple[Hyper, ...] = ()):
    """`build(base_lr, epochs, **settings)` fills defaults and validates through the registry."""

    def build(base_lr: float, epochs: int, **given) -> Schedule:
        settings = SCHEDULES.resolve(name, given, WHERE)
        return schedule_class(base_lr, epochs, **settings)

    build.__doc__ = doc
    SCHEDULES.add(Entry(name, build, doc, (*hypers, WARMUP)))


_register("constant", "the same rate every epoch", Constant)
_register(
    "step",
    "multiply the rate by gamma every step_size epochs",
    StepDecay,
    (
        Hyper(
            "step_size", "int", 10, "epochs between decays", check=lambda v: v >= 1, expect=">= 1"
        ),
        Hyper("gamma", "float", 0.1, "factor applied at each decay", check=positive, expect="> 0"),
    ),
)
_register(
    "exponential",
    "multiply the rate by gamma after every epoch",
    Exponential,
    (Hyper("gamma", "float", 0.95, "factor applied each epoch", check=positive, expect="> 0"),),
)
_register(
    "inverse_time",
    "lr0 / (1 + decay * t) ** power after t epochs: decreasing as the lecture asks",
    InverseTime,
    (
        Hyper(
            "decay",
            "float",
            1.0,
            "how fast the rate falls; with 1 the k-th epoch (k from 1) runs at lr0 / k ** power",
            check=non_negative,
            expect=">= 0",
        ),
        Hyper(
            "power",
            "float",
            1.0,
            "exponent: 1 gives lr0 / (1 + decay t), 0.5 its square root",
            check=positive,
            expect="> 0",
        ),
    ),
)
_register(
    "cosine",
    "cosine annealing from lr0 to eta_min over T_max epochs, then eta_min",
    Cosine,
    (
        Hyper(
            "T_max",
            "int",
            None,
            "epochs to anneal over (null: all epochs after warmup)",
            check=lambda v: v >= 1,
            expect=">= 1",
            nullable=True,
        ),
        Hyper(
            "eta_min",
            "float",
            0.0,
            "the rate reached at the end",
            check=non_negative,
            expect=">= 0",
        ),
    ),
)
_register(
    "reduce_on_plateau",
    "cut the rate by factor when the monitored metric stops improving",
    ReduceOnPlateau,
    (
        Hyper(
            "mode",
            "str",
            "min",
            "min for losses, max for metrics like accuracy",
            choices=("min", "max"),
        ),
        Hyper(
            "factor",
            "float",
            0.1,
            "multiplier applied at each cut",
            check=lambda v: 0 < v < 1,
            expect="in (0, 1)",
        ),
        Hyper(
            "patience",
            "int",
            10,
            "epochs without improvement tolerated before a cut",
            check=non_negative,
            expect=">= 0",
        ),
        Hyper(
            "threshold",
            "float",
            1e-4,
            "relative improvement that counts: best * (1 - threshold)",
            check=non_negative,
            expect=">= 0",
        ),
        Hyper(
            "cooldown",
            "int",
            0,
            "epochs after a cut in which bad epochs are not counted",
            check=non_negative,
            expect=">= 0",
        ),
        Hyper(
            "min_lr",
            "float",
            0.0,
            "the rate is never cut below this",
            check=non_negative,
            expect=">= 0",
        ),
    ),
)
