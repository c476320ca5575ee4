"""Layers: `forward(x, train)` caches what `backward(dout)` needs; backward WRITES (never adds)
the parameter gradients into the grad views and returns dL/dx.

Shapes follow the lecture: x is [batch, features], W is [features, outputs], b is [outputs].
Outputs and input gradients live in per-layer buffers reused while the batch shape stays the
same, so a training step allocates (almost) nothing; a layer's output is only valid until its
next forward.
"""

from __future__ import annotations

import numpy as np

from nnctl.nn.params import ParamSpec


class Layer:
    """Base: no parameters, buffer helper. `name` prefixes the parameter names ("linear0")."""

    name = ""

    def param_specs(self) -> list[ParamSpec]:
        return []

    def bind(self, values: dict, grads: dict) -> None:
        """Receive the views of this layer's parameters (and their gradients)."""

    def _buffer(self, key: str, shape: tuple, dtype) -> np.ndarray:
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = buffers[key] = np.empty(shape, dtype=dtype)
        return buf

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dL/dx from dL/dout. May overwrite `dout` and return it (ReLU does: one buffer and
        one pass less): the model hands each layer the buffer of the layer above, which nothing
        reads again. A caller that keeps `dout` passes a copy."""
        raise NotImplementedError


class Linear(Layer):
    """Z = X W + b.

    dL/dX = dL/dZ W^T,   dL/dW = X^T dL/dZ,   dL/db = sum over the batch of dL/dZ.
    `needs_input_grad=False` (the first layer) skips dL/dX: nobody uses it.
    `bias=False` drops b (used before batch norm, whose beta makes it redundant).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        name: str = "linear",
        bias: bool = True,
        needs_input_grad: bool = True,
    ):
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.name = name
        self.has_bias = bias
        self.needs_input_grad = needs_input_grad
        self.weight = self.weight_grad = self.bias = self.bias_grad = None

    def param_specs(self):
        specs = [ParamSpec(f"{self.name}.weight", (self.in_features, self.out_features), True)]
        if self.has_bias:
            specs.append(ParamSpec(f"{self.name}.bias", (self.out_features,), False))
        return specs

    def bind(self, values, grads):
        self.weight, self.weight_grad = values[f"{self.name}.weight"], grads[f"{self.name}.weight"]
        if self.has_bias:
            self.bias, self.bias_grad = values[f"{self.name}.bias"], grads[f"{self.name}.bias"]

    def forward(self, x, train=False):
        self._x = x
        out = np.matmul(
            x, self.weight, out=self._buffer("out", (x.shape[0], self.out_features), x.dtype)
        )
        if self.has_bias:
            out += self.bias
        return out

    def backward(self, dout):
        np.matmul(self._x.T, dout, out=self.weight_grad)
        if self.has_bias:
            np.sum(dout, axis=0, out=self.bias_grad)
        if not self.needs_input_grad:
            return None
        return np.matmul(dout, self.weight.T, out=self._buffer("dx", self._x.shape, dout.dtype))

    def __repr__(self):
        return f"Linear({self.in_features} -> {self.out_features}{'' if self.has_bias else ', no bias'})"


class Dropout(Layer):
    """Inverted dropout: in training y = x * m / (1 - p) with m ~ Bernoulli(1 - p); identity in eval.

    dL/dx = dL/dy * m / (1 - p). The mask comes from its own Generator (the "dropout" stream).
    `freeze = True` reuses the last mask (when its shape matches) instead of drawing a new one, so
    the loss is a deterministic function of the parameters (gradient checks).
    """

    def __init__(self, p: float, rng: np.random.Generator, name: str = "dropout"):
        if not 0 <= p < 1:
            raise ValueError(f"dropout p must be in [0, 1), got {p}")
        self.p, self.rng, self.name = float(p), rng, name
        self.freeze = False
        self._keep = None  # boolean mask of the last training forward
        self._active = False

    def forward(self, x, train=False):
        self._active = train and self.p > 0
        if not self._active:
            return x
        if not (self.freeze and self._keep is not None and self._keep.shape == x.shape):
            uniform = self.rng.random(dtype=x.dtype, out=self._buffer("uniform", x.shape, x.dtype))
            self._keep = np.greater_equal(uniform, self.p, out=self._buffer("keep", x.shape, bool))
        out = np.multiply(x, self._keep, out=self._buffer("out", x.shape, x.dtype))
        out *= 1.0 / (1.0 - self.p)
        return out

    def backward(self, dout):
        if not self._active:
            return dout
        dx = np.multiply(dout, self._keep, out=self._buffer("dx", dout.shape, dout.dtype))
        dx *= 1.0 / (1.0 - self.p)
        return dx

    def __repr__(self):
        return f"Dropout(p={self.p})"


class BatchNorm(Layer):
    """1-D batch normalisation over the batch axis, per feature.

    Train: mu, var = batch mean and (biased) variance; xhat = (x - mu) / sqrt(var + eps);
    y = gamma * xhat + beta; running <- (1 - momentum) * running + momentum * batch stat, with the
    unbiased variance var * n / (n - 1) (torch's convention). Eval: the running statistics.
    Backward (train), with dbeta = sum dL/dy and dgamma = sum dL/dy * xhat over the batch:
        dL/dx = gamma / sqrt(var + eps) * (dL/dy - dbeta / n - xhat * dgamma / n)
    `track_running = False` leaves the running statistics alone (objective / gradient checks);
    `momentum_override` replaces the momentum (1.0: running = the statistics of this batch).
    """

    def __init__(
        self, features: int, name: str = "batchnorm", momentum: float = 0.1, eps: float = 1e-5
    ):
        self.features, self.name = int(features), name
        self.momentum, self.eps = float(momentum), float(eps)
        self.track_running = True
        self.momentum_override: float | None = None
        self.running_mean = np.zeros(self.features)
        self.running_var = np.ones(self.features)

    def param_specs(self):
        return [
            ParamSpec(f"{self.name}.gamma", (self.features,), False),
            ParamSpec(f"{self.name}.beta", (self.features,), False),
        ]

    def bind(self, values, grads):
        self.gamma, self.gamma_grad = values[f"{self.name}.gamma"], grads[f"{self.name}.gamma"]
        self.beta, self.beta_grad = values[f"{self.name}.beta"], grads[f"{self.name}.beta"]
        self.gamma[...] = 1.0
        self.beta[...] = 0.0
        self.running_mean = np.zeros(self.features, dtype=self.gamma.dtype)
        self.running_var = np.ones(self.features, dtype=self.gamma.dtype)

    def forward(self, x, train=False):
        n = x.shape[0]
        self._train = train
        if train:
            mean = x.mean(axis=0)
            xhat = np.subtract(x, mean, out=self._buffer("xhat", x.shape, x.dtype))
            var = np.einsum("ij,ij->j", xhat, xhat) / n
            if self.track_running:
                m = self.momentum if self.momentum_override is None else self.momentum_override
                self.running_mean *= 1 - m
                self.running_mean += m * mean
                self.running_var *= 1 - m
                self.running_var += (m * n / max(n - 1, 1)) * var  # n = 1: no spread to correct
        else:
            xhat = np.subtract(x, self.running_mean, out=self._buffer("xhat", x.shape, x.dtype))
            var = self.running_var
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= self._inv_std
        self._xhat = xhat
        out = np.multiply(xhat, self.gamma, out=self._buffer("out", x.shape, x.dtype))
        out += self.beta
        return out

    def backward(self, dout):
        n = dout.shape[0]
        np.sum(dout, axis=0, out=self.beta_grad)
        np.einsum("ij,ij->j", dout, self._xhat, out=self.gamma_grad)
        dx = self._buffer("dx", dout.shape, dout.dtype)
        if self._train:  # mu and var depend on x too
            np.multiply(self._xhat, self.gamma_grad / n, out=dx)
            np.subtract(dout, dx, out=dx)
            dx -= self.beta_grad / n
        else:
            dx[...] = dout
        dx *= self.gamma * self._inv_std
        return dx

    def __repr__(self):
        return f"BatchNorm({self.features}, momentum={self.momentum}, eps={self.eps})"
