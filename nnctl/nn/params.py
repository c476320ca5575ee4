"""One flat parameter vector and one flat gradient, with every layer's arrays as views into them.

Optimizers see only `theta` and `grad` (1-D, the model's dtype) and update the whole model with a
few vectorised calls; layers see their weight, bias, gamma, beta as reshaped views of the same
memory, so nothing is ever packed or copied.

Layout: every L2-penalised block (the Linear weights, in layer order) comes first, then the rest
(biases, batch-norm gamma/beta) in layer order. The penalised entries are therefore the single
slice `theta[:n_penalised]`, and the penalty `0.5 * l2 * ||W||^2` and its gradient `l2 * W` are
one vectorised op on a view. For a one-layer model this is `W.ravel()` (row-major [in, out]) then
`b`, the layout the closed-form solver relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParamSpec:
    """A parameter block a layer asks for: its full name, shape and whether L2 applies to it."""

    name: str
    shape: tuple[int, ...]
    penalised: bool

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class FlatParameters:
    """`theta` and `grad` plus the named views into them (`values[name]`, `grads[name]`)."""

    def __init__(self, specs: list[ParamSpec], dtype=np.float64):
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")
        self.dtype = np.dtype(dtype)
        self.specs = list(specs)  # declaration (layer) order: the order of named_parameters()
        placed = [s for s in specs if s.penalised] + [s for s in specs if not s.penalised]
        self.slices: dict[str, slice] = {}
        offset = 0
        for spec in placed:
            self.slices[spec.name] = slice(offset, offset + spec.size)
            offset += spec.size
        self.size = offset
        self.n_penalised = sum(s.size for s in specs if s.penalised)
        self.theta = np.zeros(self.size, dtype=self.dtype)
        self.grad = np.zeros(self.size, dtype=self.dtype)
        self.values = {s.name: self.theta[self.slices[s.name]].reshape(s.shape) for s in specs}
        self.grads = {s.name: self.grad[self.slices[s.name]].reshape(s.shape) for s in specs}

    @property
    def weight_mask(self) -> np.ndarray:
        """Boolean over theta: True at the L2-penalised (weight) entries."""
        mask = np.zeros(self.size, dtype=bool)
        mask[: self.n_penalised] = True
        return mask


def allocate(layers, dtype=np.float64) -> FlatParameters:
    """Create the flat vectors for `layers` (in order) and bind each layer to its views."""
    specs = [spec for layer in layers for spec in layer.param_specs()]
    params = FlatParameters(specs, dtype)
    for layer in layers:
        layer.bind(params.values, params.grads)
    return params
