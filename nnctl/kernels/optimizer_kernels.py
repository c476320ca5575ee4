"""Fused numba loops of the first-order rules: one pass over the parameters per step.

Each loop does, element by element, exactly the operations of the rule's NumPy `_update` (and of
FirstOrderRule's weight decay), in the same order and the same dtype, so the results are the
same bits: every scalar arrives already cast to the arrays' dtype (as NumPy casts a Python float
against a float32 array, NEP 50), there is no fastmath, and LLVM does not contract a * b + c
into a fused multiply-add unless fastmath allows it (tests/test_kernels_equal.py proves all of
it with `==` over many steps).

Weight decay, `decay`: 0 none; 1 coupled, g = theta * wd + grad; 2 decoupled, theta *= shrink.
This module imports numba: import it only through nnctl.kernels.loading.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# No fastmath (it would allow reassociation and FMA); NumPy's error model: x / 0 gives inf or
# nan as NumPy does, instead of raising. nogil: a thread may run while another trains.
JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**JIT)
def _decayed(t, g, decay, wd, shrink):
    """Weight decay of one element, as FirstOrderRule applies it: (theta, g) after it."""
    if decay == 2:
        return t * shrink, g
    if decay == 1:
        return t, t * wd + g
    return t, g


@njit(**JIT)
def sgd(theta, grad, buf, has_buf, first, nesterov, damped, decay, wd, shrink, mom, keep, lr):
    """SGD, momentum, Nesterov (nnctl/optim/first_order/sgd.py); keep = 1 - dampening."""
    for i in range(theta.shape[0]):
        t, g = _decayed(theta[i], grad[i], decay, wd, shrink)
        d = g
        if has_buf:
            if first:
                b = g
            elif damped:
                b = buf[i] * mom + g * keep
            else:
                b = buf[i] * mom + g
            buf[i] = b
            d = b * mom + g if nesterov else b
        theta[i] = t - d * lr


@njit(**JIT)
def adagrad(theta, grad, total, decay, wd, shrink, eps, rate):
    """AdaGrad (adagrad.py): `total` is the squared-gradient sum G."""
    for i in range(theta.shape[0]):
        t, g = _decayed(theta[i], grad[i], decay, wd, shrink)
        s = total[i] + g * g
        total[i] = s
        theta[i] = t - (g / (np.sqrt(s) + eps)) * rate


@njit(**JIT)
def rmsprop(
    theta, grad, sq, avg, buf, centered, has_buf, decay, wd, shrink, alpha, c, eps, mom, lr
):
    """RMSProp (rmsprop.py); c = 1 - alpha; `avg` used when centered, `buf` with momentum."""
    for i in range(theta.shape[0]):
        t, g = _decayed(theta[i], grad[i], decay, wd, shrink)
        s = sq[i] * alpha + (g * g) * c
        sq[i] = s
        if centered:
            a = avg[i] + (g - avg[i]) * c
            avg[i] = a
            r = np.sqrt(s - a * a)
        else:
            r = np.sqrt(s)
        u = g / (r + eps)
        if has_buf:
            b = buf[i] * mom + u
            buf[i] = b
            u = b * lr
        else:
            u = u * lr
        theta[i] = t - u


@njit(**JIT)
def adadelta(theta, grad, sq, acc, decay, wd, shrink, rho, c, eps, lr):
    """Adadelta (adadelta.py); c = 1 - rho."""
    for i in range(theta.shape[0]):
        t, g = _decayed(theta[i], grad[i], decay, wd, shrink)
        s = sq[i] * rho + (g * g) * c
        sq[i] = s
        d = np.sqrt(acc[i] + eps) / np.sqrt(s + eps) * g
        acc[i] = acc[i] * rho + (d * d) * c
        theta[i] = t - d * lr


@njit(**JIT)
def adam(theta, grad, m, v, vmax, amsgrad, decay, wd, shrink, c1, beta2, c2, bc2, eps, step):
    """Adam / AdamW (adam.py); c1 = 1 - beta1, c2 = 1 - beta2, bc2 = sqrt(1 - beta2^t),
    step = lr / (1 - beta1^t); `vmax` used with amsgrad."""
    for i in range(theta.shape[0]):
        t, g = _decayed(theta[i], grad[i], decay, wd, shrink)
        mi = m[i] + (g - m[i]) * c1
        m[i] = mi
        vi = v[i] * beta2 + (g * g) * c2
        v[i] = vi
        if amsgrad:
            top = vmax[i]
            if vi > top or vi != vi:  # np.maximum: the larger, nan if either is nan
                top = vi
            vmax[i] = top
            vi = top
        theta[i] = t - (mi / (np.sqrt(vi) / bc2 + eps)) * step
