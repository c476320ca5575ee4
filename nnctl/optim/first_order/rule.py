"""What every first-order rule shares: buffers, the step counter, state save/restore, and
registration (so each rule file holds only its math).

A rule object updates the model's flat parameter vector in place:

    rule = OPTIMIZERS.get("adam").build(size, dtype, lr=1e-3)
    rule.step(theta, grad, lr)        # lr: this epoch's rate (the schedule's); hyper lr = base

Contract, shared by every rule:

* `grad` is never written to (weight decay goes into a scratch buffer). Writing into it would save
  no work: `g + wd * theta` costs the same two passes either way.
* State and scratch buffers are allocated once, in `dtype`; the hot path uses in-place ufuncs with
  `out=` and Python-float scalars, so float32 stays float32 (no float64 temporaries).
* `state_dict()` returns copies: `step` (0-d int64) and one flat array per buffer, with the names
  torch uses (`momentum_buffer`, `exp_avg`, ...); `load_state_dict` restores them exactly, so a
  resumed run continues bit for bit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nnctl.errors import UsageError
from nnctl.optim.base import OPTIMIZERS
from nnctl.registry import Entry, Hyper, non_negative, positive

WHERE = "optimizer"  # key path of optimizer settings in a config, used in error messages


class FirstOrderRule:
    """Base class: holds the buffers; subclasses implement `_update(theta, grad, lr)`."""

    def __init__(self, size: int, dtype, lr: float):
        self.size = int(size)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"optimizer dtype must be a float type, got {self.dtype}")
        self.lr = float(lr)  # the base rate, used when step() is given none
        self.steps = 0  # updates taken (torch's `step`); 0 means no buffer holds data yet
        self._state: dict[str, np.ndarray] = {}

    # -- buffers --------------------------------------------------------------------------------
    def _state_buffer(self, name: str, fill: float = 0.0) -> np.ndarray:
        """A saved buffer (part of state_dict), filled with `fill`."""
        buffer = np.full(self.size, fill, dtype=self.dtype)
        self._state[name] = buffer
        return buffer

    def _scratch(self) -> np.ndarray:
        """A work buffer, not saved: its content never outlives one step."""
        return np.empty(self.size, dtype=self.dtype)

    def _with_weight_decay(self, theta: np.ndarray, grad: np.ndarray, weight_decay: float,
                           out: np.ndarray | None) -> np.ndarray:
        """The L2-coupled gradient `grad + weight_decay * theta` (in `out`), or `grad` itself."""
        if not weight_decay:
            return grad
        np.multiply(theta, weight_decay, out=out)
        out += grad
        return out

    # -- the public API -------------------------------------------------------------------------
    def step(self, theta: np.ndarray, grad: np.ndarray, lr: float | None = None) -> None:
        """One update of `theta` (in place) from `grad`, at rate `lr` (default: the base lr)."""
        self.steps += 1
        self._update(theta, grad, self.lr if lr is None else float(lr))

    def _update(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"step": np.asarray(self.steps, dtype=np.int64)}
        state.update({name: buffer.copy() for name, buffer in self._state.items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        expected = {"step", *self._state}
        found = set(state)
        if found != expected:
            missing = ", ".join(sorted(expected - found)) or "none"
            extra = ", ".join(sorted(found - expected)) or "none"
            raise UsageError(
                f"optimizer state: expected entries {', '.join(sorted(expected))} for "
                f"{type(self).__name__} with these settings; missing: {missing}; unexpected: {extra} "
                "(was the checkpoint written with another optimizer or other settings?)")
        step = np.asarray(state["step"])
        if step.shape != () or step.dtype.kind not in "iu" or int(step) < 0:
            raise UsageError(f"optimizer state: expected 'step' to be a count >= 0, found {step!r}")
        for name, buffer in self._state.items():
            value = np.asarray(state[name])
            if value.shape != buffer.shape:
                raise UsageError(f"optimizer state: expected '{name}' of shape {buffer.shape}, "
                                 f"found {value.shape} (a checkpoint of another model?)")
            np.copyto(buffer, value, casting="same_kind")
        self.steps = int(step)


# -- registration -------------------------------------------------------------------------------
# Hyperparameters several rules share: one definition each, a rule-specific default and doc.
def lr_hyper(default: float) -> Hyper:
    return Hyper("lr", "float", default, "base learning rate (the schedule scales it per epoch)",
                 check=positive, expect="> 0")


def eps_hyper(default: float, doc: str) -> Hyper:
    return Hyper("eps", "float", default, doc, check=positive, expect="> 0")


def weight_decay_hyper(default: float = 0.0,
                       doc: str = "L2 penalty added to the gradient: g + weight_decay * w") -> Hyper:
    return Hyper("weight_decay", "float", default, doc, check=non_negative, expect=">= 0")


def register_rule(name: str, doc: str, rule_class: type[FirstOrderRule], hypers: tuple[Hyper, ...],
                  validate: Callable[[dict, str], None] | None = None) -> Entry:
    """Register `rule_class` under `name`; its `build(size, dtype, **settings)` fills defaults
    and validates through the registry, so each default is declared only in `hypers`.

    `validate(settings, where)` checks rules between settings (e.g. Nesterov needs momentum);
    it is also kept as `entry.info["validate"]` so config validation can run it early.
    """

    def build(size: int, dtype=np.float64, **given) -> FirstOrderRule:
        settings = OPTIMIZERS.resolve(name, given, WHERE)
        if validate is not None:
            validate(settings, WHERE)
        return rule_class(size, dtype, **settings)

    build.__doc__ = f"{doc}\n\n{rule_class.__doc__ or ''}"
    info = {"family": "first_order"}
    if validate is not None:
        info["validate"] = validate
    return OPTIMIZERS.add(Entry(name, build, doc, tuple(hypers), info=info))
