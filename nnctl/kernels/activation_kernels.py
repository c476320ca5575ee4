"""Fused numba loops of activation backward passes (and leaky ReLU's forward), one pass where
NumPy makes two or three; the same operations in the same order and dtype as nnctl/nn/
activations.py, so the same bits. Only arithmetic and comparisons: a loop around exp, tanh or
log1p would call another implementation than NumPy's and could differ in the last bit, so those
forwards stay NumPy's. Arrays come flat (views of C-contiguous blocks); scalars in their dtype.
This module imports numba: import it only through nnctl.kernels.loading.
"""

from __future__ import annotations

from numba import njit

from nnctl.kernels.optimizer_kernels import JIT


@njit(**JIT)
def relu_backward(y, dout, one, zero):
    """dout *= (y > 0), in place, as NumPy multiplies by the mask cast to 1 or 0."""
    for i in range(y.shape[0]):
        dout[i] = dout[i] * (one if y[i] > zero else zero)


@njit(**JIT)
def sigmoid_backward(s, dout, dx, one):
    """dx = (1 - s) * s * dout."""
    for i in range(s.shape[0]):
        dx[i] = (one - s[i]) * s[i] * dout[i]


@njit(**JIT)
def tanh_backward(t, dout, dx, one):
    """dx = (1 - t * t) * dout."""
    for i in range(t.shape[0]):
        dx[i] = (one - t[i] * t[i]) * dout[i]


@njit(**JIT)
def leaky_relu_forward(x, out, positive, slope, zero):
    """out = x where x > 0, else x * slope; positive = x > 0."""
    for i in range(x.shape[0]):
        p = x[i] > zero
        positive[i] = p
        out[i] = x[i] if p else x[i] * slope


@njit(**JIT)
def leaky_relu_backward(positive, dout, dx, slope):
    """dx = dout where positive, else dout * slope."""
    for i in range(dout.shape[0]):
        dx[i] = dout[i] if positive[i] else dout[i] * slope


@njit(**JIT)
def elu_backward(y, positive, dout, dx, alpha):
    """dx = dout where positive, else (y + alpha) * dout."""
    for i in range(dout.shape[0]):
        dx[i] = dout[i] if positive[i] else (y[i] + alpha) * dout[i]
