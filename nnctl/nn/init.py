"""Weight init schemes and their registry (`INITS`).

`INITS.get(name).build(rng, shape, fan_in, fan_out, **hypers)` returns a float64 array of
`shape` (the builder casts it into the weight view, so float32 and float64 models start from the
same numbers). For a Linear layer W is [fan_in, fan_out]. Biases are not drawn: they start at the
constant `init.bias`. Batch-norm gamma starts at 1, beta at 0.

Formulas (fan_in = inputs of the layer, fan_out = its outputs):
  xavier_normal   N(0, std^2),  std = sqrt(2 / (fan_in + fan_out))          (Glorot & Bengio)
  xavier_uniform  U(-a, a),     a   = sqrt(6 / (fan_in + fan_out))
  he_normal       N(0, std^2),  std = sqrt(2 / fan_in)                      (He et al., ReLU gain)
  he_uniform      U(-a, a),     a   = sqrt(6 / fan_in)
`auto` is resolved by the model builder (`auto_scheme`): zeros for one-layer models (the
lecture's w0 = 0), he_normal for ReLU/leaky ReLU/ELU MLPs, xavier_uniform for the others.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError
from nnctl.util.registry import Hyper, Registry, non_negative

INITS = Registry("init scheme")


@INITS.register(
    "auto",
    "zeros for linreg/logreg/softmax; he_normal for relu-family MLPs, "
    "xavier_uniform for other MLPs",
)
def auto(rng, shape, fan_in, fan_out):
    raise TypeError("init scheme 'auto' is resolved by build_model (see auto_scheme)")


@INITS.register("zeros", "all weights 0 (an MLP's hidden units then stay identical)")
def zeros(rng, shape, fan_in, fan_out):
    return np.zeros(shape)


@INITS.register(
    "constant",
    "all weights the same value",
    hypers=(Hyper("value", "float", 0.01, "the value every weight starts at"),),
)
def constant(rng, shape, fan_in, fan_out, value=0.01):
    return np.full(shape, float(value))


@INITS.register(
    "normal",
    "N(0, std^2)",
    hypers=(Hyper("std", "float", 0.01, "standard deviation", check=non_negative, expect=">= 0"),),
)
def normal(rng, shape, fan_in, fan_out, std=0.01):
    return std * rng.standard_normal(shape)


def check_uniform_bounds(settings: dict, where: str) -> None:
    """U(low, high) needs high > low; the config layer calls this (the entry's `validate`)."""
    if not settings["high"] > settings["low"]:
        raise UsageError(
            f"{where}.high: expected a number > {where}.low ({settings['low']}), "
            f"found {settings['high']}"
        )


@INITS.register(
    "uniform",
    "U(low, high)",
    hypers=(
        Hyper("low", "float", -0.05, "lower bound"),
        Hyper("high", "float", 0.05, "upper bound (> low)"),
    ),
    validate=check_uniform_bounds,
)
def uniform(rng, shape, fan_in, fan_out, low=-0.05, high=0.05):
    return rng.uniform(low, high, size=shape)


@INITS.register(
    "xavier_normal", "Glorot normal: std = sqrt(2 / (fan_in + fan_out))", aliases=("glorot_normal",)
)
def xavier_normal(rng, shape, fan_in, fan_out):
    return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)


@INITS.register(
    "xavier_uniform",
    "Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))",
    aliases=("glorot_uniform",),
)
def xavier_uniform(rng, shape, fan_in, fan_out):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


@INITS.register(
    "he_normal", "He/Kaiming normal: std = sqrt(2 / fan_in)", aliases=("kaiming_normal",)
)
def he_normal(rng, shape, fan_in, fan_out):
    return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


@INITS.register(
    "he_uniform", "He/Kaiming uniform: U(-a, a), a = sqrt(6 / fan_in)", aliases=("kaiming_uniform",)
)
def he_uniform(rng, shape, fan_in, fan_out):
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


# Schemes under which every hidden unit of an MLP starts (and so stays) identical.
SYMMETRIC = ("zeros", "constant")


def auto_scheme(n_hidden_layers: int, activation_auto_init: str) -> str:
    """What `init: auto` means for a model with this many hidden layers and this activation."""
    return "zeros" if n_hidden_layers == 0 else activation_auto_init
