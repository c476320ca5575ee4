"""Activation layers and their registry (`ACTIVATIONS`): each forward next to its derivative.

`ACTIVATIONS.get(name).build(**hypers)` returns a fresh layer (one per hidden layer: each caches
its own input). `entry.info["auto_init"]` is the init scheme `init: auto` picks for an MLP using
this activation (He for the ReLU family, Xavier/Glorot otherwise).

With compiled kernels (train.kernels: numba), `use_kernels` gives a layer the fused loops of
nnctl/kernels/activation_kernels.py for the passes that are only arithmetic (backward passes,
leaky ReLU's forward): the same operations in the same order and dtype, so the same bits. Passes
around exp, tanh or log1p stay NumPy's (another implementation could differ in the last bit).
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels import loading
from nnctl.nn.layers import Layer
from nnctl.util.registry import Hyper, Registry, non_negative, positive

ACTIVATIONS = Registry("activation")


def sigmoid(
    x: np.ndarray,
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """s(x) = 1 / (1 + e^-x), computed from e = e^-|x| <= 1 so it never overflows:
    s = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.

    `out`, `scratch` (x's shape and dtype, not x itself) and `mask` (x's shape, bool) take the
    result, 1 + e and x >= 0, so a layer calling this every step allocates nothing; the numbers
    are the same either way."""
    x = np.asarray(x)
    if out is None:  # the type of e^-|x|: float32 stays float32, integers become float64
        out = np.empty(x.shape, np.result_type(x.dtype, 1.0))
    e = np.abs(x, out=out)
    np.negative(e, out=e)
    np.exp(e, out=e)
    one_plus_e = np.add(e, 1.0, out=scratch)
    np.copyto(e, 1.0, where=np.greater_equal(x, 0, out=mask))  # numerator: 1, or e below 0
    return np.divide(e, one_plus_e, out=e)


def _flat(*arrays):
    """Flat views of same-shaped C-contiguous arrays for a kernel, or None (NumPy then)."""
    if not all(a.flags.c_contiguous and a.shape == arrays[0].shape for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


class Activation(Layer):
    """An elementwise function f: y = f(x), dL/dx = dL/dy * f'(x)."""

    compiled = False  # True when the run uses the compiled loops (a flag: layers get copied)

    def use_kernels(self, compiled: bool = True) -> None:
        """Run the passes that have a fused loop compiled (same bits), or NumPy again."""
        self.compiled = compiled

    def _kernel_for(self, *arrays):
        """(kernels, flat views, dtype scalar type) when this pass can run compiled, else None:
        kernels in use, one float dtype (float32 stays float32) and contiguous arrays."""
        if not self.compiled or arrays[0].dtype.kind != "f":
            return None
        dtype = arrays[0].dtype
        if any(a.dtype != dtype for a in arrays[1:] if a.dtype != bool):
            return None
        flat = _flat(*arrays)
        return None if flat is None else (loading.load().activation, flat, dtype.type)

    def __repr__(self):
        return type(self).__name__ + "()"


@ACTIVATIONS.register("sigmoid", "logistic sigmoid 1 / (1 + e^-x)", auto_init="xavier_uniform")
class Sigmoid(Activation):
    """s(x) = 1 / (1 + e^-x);  s'(x) = s (1 - s)."""

    def forward(self, x, train=False):
        self._s = sigmoid(
            x,
            self._buffer("out", x.shape, x.dtype),
            self._buffer("scratch", x.shape, x.dtype),
            self._buffer("mask", x.shape, bool),
        )
        return self._s

    def backward(self, dout):
        dx = self._buffer("dx", dout.shape, dout.dtype)
        fused = self._kernel_for(dout, self._s, dx)
        if fused:
            kernels, (flat_dout, s, flat_dx), cast = fused
            kernels.sigmoid_backward(s, flat_dout, flat_dx, cast(1.0))
            return dx
        np.subtract(1.0, self._s, out=dx)
        dx *= self._s
        dx *= dout
        return dx


@ACTIVATIONS.register("tanh", "hyperbolic tangent", auto_init="xavier_uniform")
class Tanh(Activation):
    """t = tanh(x);  t' = 1 - t^2."""

    def forward(self, x, train=False):
        self._t = np.tanh(x, out=self._buffer("out", x.shape, x.dtype))
        return self._t

    def backward(self, dout):
        dx = self._buffer("dx", dout.shape, dout.dtype)
        fused = self._kernel_for(dout, self._t, dx)
        if fused:
            kernels, (flat_dout, t, flat_dx), cast = fused
            kernels.tanh_backward(t, flat_dout, flat_dx, cast(1.0))
            return dx
        np.multiply(self._t, self._t, out=dx)
        np.subtract(1.0, dx, out=dx)
        dx *= dout
        return dx


@ACTIVATIONS.register("relu", "rectified linear unit max(0, x)", auto_init="he_normal")
class ReLU(Activation):
    """y = max(0, x);  y' = 1 where x > 0, else 0 (0 at the kink, as torch)."""

    def forward(self, x, train=False):
        self._y = np.maximum(x, 0, out=self._buffer("out", x.shape, x.dtype))
        return self._y

    def backward(self, dout):
        fused = self._kernel_for(dout, self._y)
        if fused:  # one pass instead of a mask and a product
            kernels, (flat_dout, y), cast = fused
            kernels.relu_backward(y, flat_dout, cast(1.0), cast(0.0))
            return dout
        positive_part = np.greater(self._y, 0, out=self._buffer("mask", dout.shape, bool))
        return np.multiply(dout, positive_part, out=dout)  # in place (see Layer.backward)


@ACTIVATIONS.register(
    "leaky_relu",
    "leaky ReLU: x for x > 0, slope * x otherwise",
    auto_init="he_normal",
    hypers=(
        Hyper(
            "slope", "float", 0.01, "slope for negative inputs", check=non_negative, expect=">= 0"
        ),
    ),
)
class LeakyReLU(Activation):
    """y = x if x > 0 else slope * x;  y' = 1 if x > 0 else slope."""

    def __init__(self, slope: float = 0.01):
        self.slope = float(slope)

    def forward(self, x, train=False):
        self._positive = self._buffer("positive", x.shape, bool)
        out = self._buffer("out", x.shape, x.dtype)
        fused = self._kernel_for(x, out, self._positive)
        if fused:
            kernels, (flat_x, flat_out, positive), cast = fused
            kernels.leaky_relu_forward(flat_x, flat_out, positive, cast(self.slope), cast(0.0))
            return out
        np.greater(x, 0, out=self._positive)
        np.multiply(x, self.slope, out=out)
        np.copyto(out, x, where=self._positive)
        return out

    def backward(self, dout):
        dx = self._buffer("dx", dout.shape, dout.dtype)
        fused = self._kernel_for(dout, self._positive, dx)
        if fused:
            kernels, (flat_dout, positive, flat_dx), cast = fused
            kernels.leaky_relu_backward(positive, flat_dout, flat_dx, cast(self.slope))
            return dx
        np.multiply(dout, self.slope, out=dx)
        np.copyto(dx, dout, where=self._positive)
        return dx

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


@ACTIVATIONS.register(
    "elu",
    "exponential linear unit: x for x > 0, alpha * (e^x - 1) otherwise",
    auto_init="he_normal",
    hypers=(
        Hyper(
            "alpha",
            "float",
            1.0,
            "saturation value -alpha for large negative inputs",
            check=positive,
            expect="> 0",
        ),
    ),
)
class ELU(Activation):
    """y = x if x > 0 else alpha (e^x - 1);  y' = 1 if x > 0 else alpha e^x = y + alpha."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, x, train=False):
        self._positive = np.greater(x, 0, out=self._buffer("positive", x.shape, bool))
        # min(x, 0) keeps e^x finite for large positive x, whose branch is not taken anyway
        y = np.minimum(x, 0, out=self._buffer("out", x.shape, x.dtype))
        np.expm1(y, out=y)
        y *= self.alpha
        np.copyto(y, x, where=self._positive)
        self._y = y
        return y

    def backward(self, dout):
        dx = self._buffer("dx", dout.shape, dout.dtype)
        fused = self._kernel_for(dout, self._y, self._positive, dx)
        if fused:
            kernels, (flat_dout, y, positive, flat_dx), cast = fused
            kernels.elu_backward(y, positive, flat_dout, flat_dx, cast(self.alpha))
            return dx
        np.add(self._y, self.alpha, out=dx)
        dx *= dout
        np.copyto(dx, dout, where=self._positive)
        return dx

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


@ACTIVATIONS.register("softplus", "smooth ReLU log(1 + e^x)", auto_init="xavier_uniform")
class Softplus(Activation):
    """y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (no overflow);  y' = sigmoid(x)."""

    def forward(self, x, train=False):
        self._x = x
        tail = np.abs(x, out=self._buffer("scratch", x.shape, x.dtype))
        np.negative(tail, out=tail)
        np.exp(tail, out=tail)
        np.log1p(tail, out=tail)
        out = np.maximum(x, 0, out=self._buffer("out", x.shape, x.dtype))
        out += tail
        return out

    def backward(self, dout):
        dx = sigmoid(
            self._x,
            self._buffer("dx", dout.shape, dout.dtype),
            self._buffer("scratch", dout.shape, dout.dtype),
            self._buffer("mask", dout.shape, bool),
        )
        dx *= dout
        return dx


@ACTIVATIONS.register(
    "identity",
    "no nonlinearity (an MLP then collapses to a linear model)",
    auto_init="xavier_uniform",
)
class Identity(Activation):
    """y = x;  y' = 1."""

    def forward(self, x, train=False):
        return x

    def backward(self, dout):
        return dout
