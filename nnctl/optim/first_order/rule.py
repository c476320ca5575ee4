"""What every first-order rule shares: buffers, the step counter, weight decay, state
save/restore, and registration (so each rule file holds only its math).

A rule object updates the model's flat parameter vector in place:

    rule = OPTIMIZERS.get("adam").build(size, dtype, lr=1e-3)
    rule.step(theta, grad, lr)        # lr: this epoch's rate (the schedule's); hyper lr = base

Contract, shared by every rule:

* Weight decay is applied here, before the rule's `_update(theta, g, lr)` sees the gradient:
  coupled (L2, torch's default), `g = grad + weight_decay * theta`, or decoupled (AdamW),
  `theta *= 1 - lr * weight_decay` and `g = grad`.
* `grad` is never written to (weight decay goes into a scratch buffer). Writing into it would save
  no work: `g + wd * theta` costs the same two passes either way.
* State and scratch buffers are allocated once, in `dtype`; the hot path uses in-place ufuncs with
  `out=` and Python-float scalars, so float32 stays float32 (no float64 temporaries).
* State is the fields declared in `STATE` (state.py): `step` (0-d int64) and one flat array per
  buffer, with the names torch uses (`momentum_buffer`, `exp_avg`, ...); a buffer these settings
  do not use is None and is not saved. `load_state_dict` restores them exactly, so a resumed run
  continues bit for bit.
* With compiled kernels (train.kernels: numba; `use_kernels`), `step` runs the rule's
  `_fused_update` instead: one numba loop doing the same operations in the same order and dtype
  (nnctl/kernels/optimizer_kernels.py), so the same bits. The NumPy `_update` stays the
  reference and the fallback (arrays the loops do not take: other dtypes, non-contiguous).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnctl.kernels import loading
from nnctl.optim.base import OPTIMIZERS
from nnctl.optim.state import OptimizerState
from nnctl.util.registry import Entry, Hyper, non_negative, positive

WHERE = "optimizer"  # key path of optimizer settings in a config, used in error messages


class FirstOrderRule(OptimizerState):
    """Base class: the step count and weight decay; subclasses declare their buffers in `STATE`
    and implement `_update(theta, g, lr)` with g the (weight-decayed) gradient."""

    STATE = ("step",)
    STORED_AS = {"step": "steps"}  # `step` is the method
    decoupled_weight_decay = False  # True: shrink theta directly (AdamW) instead of adding to g
    compiled = False  # True: step() runs the compiled loop (a flag: rules get copied, saved)

    def __init__(self, size: int, dtype, lr: float, weight_decay: float = 0.0):
        self.size = int(size)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"optimizer dtype must be a float type, got {self.dtype}")
        self.lr = float(lr)  # the base rate, used when step() is given none
        self.weight_decay = weight_decay
        self.steps = 0  # updates taken (torch's `step`); 0 means no buffer holds data yet
        coupled = weight_decay and not self.decoupled_weight_decay
        self._decayed = self._scratch() if coupled else None

    # -- buffers --------------------------------------------------------------------------------
    def _buffer(self, fill: float = 0.0) -> np.ndarray:
        """A state buffer (list its attribute in STATE), filled with `fill`."""
        return np.full(self.size, fill, dtype=self.dtype)

    def _scratch(self) -> np.ndarray:
        """A work buffer, not saved: its content never outlives one step."""
        return np.empty(self.size, dtype=self.dtype)

    def _with_weight_decay(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        """The gradient the rule sees: `grad + weight_decay * theta` (coupled, in a scratch
        buffer), or `grad` itself after shrinking theta (decoupled) or with no decay."""
        if not self.weight_decay:
            return grad
        if self.decoupled_weight_decay:
            theta *= 1.0 - lr * self.weight_decay
            return grad
        out = self._decayed
        np.multiply(theta, self.weight_decay, out=out)
        out += grad
        return out

    # -- compiled kernels -----------------------------------------------------------------------
    def use_kernels(self, compiled: bool = True) -> None:
        """Run `step` through the rule's fused compiled loop (same bits), or NumPy again."""
        self.compiled = compiled

    def _fits_kernels(self, theta: np.ndarray, grad: np.ndarray) -> bool:
        dtype = self.dtype
        return all(a.dtype == dtype and a.ndim == 1 and a.flags.c_contiguous for a in (theta, grad))

    def _decay_args(self, lr: float) -> tuple:
        """(mode, wd, shrink) of the kernels' weight decay, scalars cast as NumPy casts them:
        0 none; 1 coupled, g = theta * wd + grad; 2 decoupled, theta *= 1 - lr * wd."""
        cast = self.dtype.type
        if not self.weight_decay:
            return 0, cast(0.0), cast(1.0)
        if self.decoupled_weight_decay:
            return 2, cast(0.0), cast(1.0 - lr * self.weight_decay)
        return 1, cast(self.weight_decay), cast(1.0)

    def _unused(self) -> np.ndarray:
        """An empty array in the place of a buffer these settings do not use."""
        return np.empty(0, dtype=self.dtype)

    # -- the public API -------------------------------------------------------------------------
    def step(self, theta: np.ndarray, grad: np.ndarray, lr: float | None = None) -> None:
        """One update of `theta` (in place) from `grad`, at rate `lr` (default: the base lr)."""
        self.steps += 1
        lr = self.lr if lr is None else float(lr)
        if self.compiled and self._fits_kernels(theta, grad):
            kernels = loading.load().optimizer
            self._fused_update(kernels, theta, grad, lr, *self._decay_args(lr))
            return
        self._update(theta, self._with_weight_decay(theta, grad, lr), lr)

    def _update(self, theta: np.ndarray, g: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def _fused_update(self, kernels, theta, grad, lr, decay, wd, shrink) -> None:
        """The compiled twin of weight decay plus `_update` (the same bits)."""
        raise NotImplementedError


# -- registration -------------------------------------------------------------------------------
# Hyperparameters several rules share: one definition each, a rule-specific default and doc.
def lr_hyper(default: float) -> Hyper:
    return Hyper(
        "lr",
        "float",
        default,
        "base learning rate (the schedule scales it per epoch)",
        check=positive,
        expect="> 0",
    )


def eps_hyper(default: float, doc: str) -> Hyper:
    return Hyper("eps", "float", default, doc, check=positive, expect="> 0")


def weight_decay_hyper(
    default: float = 0.0, doc: str = "L2 penalty added to the gradient: g + weight_decay * w"
) -> Hyper:
    return Hyper("weight_decay", "float", default, doc, check=non_negative, expect=">= 0")


def register_rule(
    name: str,
    doc: str,
    rule_class: type[FirstOrderRule],
    hypers: tuple[Hyper, ...],
    validate: Callable[[dict, str], None] | None = None,
    **facts,
) -> Entry:
    """Register `rule_class` under `name`; its `build(size, dtype, **settings)` fills defaults
    and validates through the registry, so each default is declared only in `hypers`.

    `validate(settings, where)` checks rules between settings (e.g. Nesterov needs momentum);
    it is also kept as `entry.info["validate"]` so config validation can run it early.
    `facts` go into `entry.info` as they are (e.g. lr_scale="gradient"; see optim/base.py).
    """

    def build(size: int, dtype=np.float64, **given) -> FirstOrderRule:
        settings = OPTIMIZERS.resolve(name, given, WHERE)
        if validate is not None:
            validate(settings, WHERE)
        return rule_class(size, dtype, **settings)

    build.__doc__ = f"{doc}\n\n{rule_class.__doc__ or ''}"
    info = {"family": "first_order", **facts}
    if validate is not None:
        info["validate"] = validate
    return OPTIMIZERS.add(Entry(name, build, doc, tuple(hypers), info=info))
